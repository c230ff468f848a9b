#!/usr/bin/env bash
# Benchmarks: hot endpoints through Agora next to redis-benchmark running the equivalent
# Redis command on the same machine, in the same run. Prints figures; asserts nothing.
#
#   scripts/bench.sh            (or: make bench)
# Env: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50).
#
# It starts its own Redis (a free port, no persistence) and its own `agora serve`
# (release build, workers off), restarting Agora between runs that need a different
# API limiter setting, and stops everything at the end. wrk, Agora and Redis share this
# machine's cores: the figures compare layers on one box; they are not the capacity of
# a deployment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_RUN="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-50}"

scripts/ensure-redis.sh
if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
HTTP_PORT=$(free_port)
WORK=$(mktemp -d)
AGORA_PID=""
stop_agora() {
    if [ -n "$AGORA_PID" ]; then
        kill "$AGORA_PID" 2>/dev/null || true
        wait "$AGORA_PID" 2>/dev/null || true
        AGORA_PID=""
    fi
}
cleanup() {
    stop_agora
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked --quiet
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" --daemonize yes --logfile "$WORK/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT" RUST_LOG=warn
BASE="http://127.0.0.1:$HTTP_PORT"

# start_agora RATE_LIMIT: (re)starts Agora with that API limit per second (0 = off).
start_agora() {
    stop_agora
    AGORA_RATE_LIMIT="$1" AGORA_RATE_LIMIT_WINDOW_MS=1000 target/release/agora serve --no-workers --addr "127.0.0.1:$HTTP_PORT" &
    AGORA_PID=$!
    for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && return; sleep 0.1; done
    echo "bench: agora did not start" >&2; exit 1
}

# run_wrk NAME PATH [LUA]: warm up 2 s, then measure; output in $WORK/NAME.wrk
run_wrk() {
    local script=()
    [ -n "${3:-}" ] && script=(-s "$3")
    wrk -t2 -c"$CONNS" -d2s "${script[@]}" "$BASE$2" >/dev/null
    wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "${script[@]}" "$BASE$2" > "$WORK/$1.wrk"
}

# run_rb NAME ARGS...: redis-benchmark of one command; output in $WORK/NAME.rb
run_rb() {
    local name=$1; shift
    redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n $(( 60000 * SECONDS_RUN / 2 )) -r 1000000000 --csv "$@" > "$WORK/$name.rb"
}

target/release/agora seed >/dev/null
start_agora 0
TOKEN=$(curl -sf "$BASE/v1/sessions" -H 'content-type: application/json' \
    -d '{"login":"bob","password":"bob-demo-password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
cat > "$WORK/check.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.body = '{"key":"bench","limit":100000,"window_ms":1000}'
LUA

# 1. GET /v1/users/{id}, API limiter off; 2. rate-limit check (limiter off, so only the
# endpoint's own script runs); 3. GET /v1/users/{id} with the limiter on, with a limit
# too high to reject, so what is measured is its cost. All wrk connections come from
# one IP, so they share one bucket, which at ~20k req/s holds rate x window members:
# the window is 1 s here to keep that sorted set near real-world sizes (a client at
# the default 600/min holds at most 600).
run_wrk get_user_off /v1/users/2
run_wrk check /v1/rate-limits/check "$WORK/check.lua"
start_agora 1000000000
run_wrk get_user_on /v1/users/2
stop_agora

SHA=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$(cat lua/rate_limit.lua)")
run_rb hgetall HGETALL 'user:{2}'
run_rb ratelimit EVALSHA "$SHA" 1 'ratelimit:check:{rb}' 100000 1000 1 __rand_int__

python3 - "$WORK" "$CONNS" "$(redis-server --version | awk '{print $3}')" <<'PY'
import csv, os, re, sys
work, conns, version = sys.argv[1:4]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
def wrk(name):
    text = open(os.path.join(work, name + ".wrk")).read()
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            ms(re.search(r"\s50%\s+(\S+)", text).group(1)),
            ms(re.search(r"\s99%\s+(\S+)", text).group(1)),
            int(bad.group(1)) if bad else 0)
def rb(name):
    rows = list(csv.reader(open(os.path.join(work, name + ".rb"))))
    row = dict(zip(rows[0], rows[1]))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]), 0
rows = [
    ("GET /v1/users/{id} (limiter off)", wrk("get_user_off"), "HGETALL user:{id}", rb("hgetall")),
    ("GET /v1/users/{id} (limiter on)", wrk("get_user_on"), "HGETALL user:{id}", rb("hgetall")),
    ("POST /v1/rate-limits/check", wrk("check"), "EVALSHA rate_limit.lua", rb("ratelimit")),
]
print(f"\nc={conns}, Redis {version}, one 2-core machine (load generator included)\n")
print("| agora endpoint | req/s | p50 ms | p99 ms | redis-benchmark | req/s | p50 ms | p99 ms | ratio |")
print("|---|---|---|---|---|---|---|---|---|")
for name, (a_rps, a50, a99, bad), rb_name, (r_rps, r50, r99, _) in rows:
    note = f" ({bad} non-2xx!)" if bad else ""
    print(f"| {name}{note} | {a_rps:.0f} | {a50:.2f} | {a99:.2f} | {rb_name} | {r_rps:.0f} | {r50:.2f} | {r99:.2f} | {a_rps / r_rps:.2f} |")
off, on = wrk("get_user_off")[0], wrk("get_user_on")[0]
print(f"\nAPI limiter overhead on GET /v1/users/{{id}}: {off:.0f} -> {on:.0f} req/s ({(on - off) / off * 100:+.1f}%)")
PY
