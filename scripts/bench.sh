#!/usr/bin/env bash
# Benchmark: `GET /v1/users/{id}` through Agora next to `redis-benchmark HGETALL` of the
# same hash, on this machine, in the same run. Prints figures; asserts nothing.
#
#   scripts/bench.sh            (or: make bench)
# Env: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50).
#
# It starts its own Redis (a free port, no persistence) and its own `agora serve`
# (release build, API rate limiter off, workers off), and stops both at the end. Note
# that wrk, Agora and Redis share this machine's cores: the figures are for comparing
# layers on one box, not the capacity of a deployment.
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
cleanup() {
    [ -n "$AGORA_PID" ] && kill "$AGORA_PID" 2>/dev/null || true
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked --quiet
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" --daemonize yes --logfile "$WORK/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export REDIS_URL="redis://127.0.0.1:$REDIS_PORT" AGORA_RATE_LIMIT=0 RUST_LOG=warn
target/release/agora seed >/dev/null
target/release/agora serve --no-workers --addr "127.0.0.1:$HTTP_PORT" &
AGORA_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done

URL="http://127.0.0.1:$HTTP_PORT/v1/users/2"
curl -sf "$URL" >/dev/null || { echo "bench: $URL does not answer 200" >&2; exit 1; }
wrk -t2 -c"$CONNS" -d2s "$URL" >/dev/null   # warm-up
wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "$URL" > "$WORK/wrk.txt"

N=$(( 60000 * SECONDS_RUN / 2 ))
redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$N" --csv HGETALL 'user:{2}' > "$WORK/rb.csv"

python3 - "$WORK/wrk.txt" "$WORK/rb.csv" "$CONNS" "$(redis-server --version | awk '{print $3}')" <<'PY'
import csv, re, sys
wrk = open(sys.argv[1]).read()
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", wrk).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", wrk).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
rows = list(csv.reader(open(sys.argv[2])))
header, values = rows[0], rows[1]
rb = dict(zip(header, values))
rb_rps = float(rb["rps"]); rb_p50 = float(rb["p50_latency_ms"]); rb_p99 = float(rb["p99_latency_ms"])
print(f"\nc={sys.argv[3]}, Redis {sys.argv[4]}, one 2-core machine (load generator included)\n")
print(f"| {'what':<44} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} |")
print(f"|{'-'*46}|{'-'*11}|{'-'*9}|{'-'*9}|")
print(f"| {'GET /v1/users/{id} (agora, wrk)':<44} | {rps:>9.0f} | {p50:>7.2f} | {p99:>7.2f} |")
print(f"| {'HGETALL user:{id} (redis-benchmark)':<44} | {rb_rps:>9.0f} | {rb_p50:>7.2f} | {rb_p99:>7.2f} |")
print(f"\nratio agora / redis-benchmark: {rps / rb_rps:.2f}")
if errors:
    print(f"WARNING: {errors.group(1)} non-2xx responses")
PY
