#!/usr/bin/env bash
# Commerce benchmark: `POST /v1/products/{id}/purchase` through Agora next to
# `redis-benchmark` running the same Lua script (EVALSHA purchase_stock) and a bare
# HINCRBY, in the same run; then `POST /v1/orders` (checkout of 5 products, a new
# Idempotency-Key per request) p50/p99. Prints figures; asserts nothing.
#
#   scripts/bench-commerce.sh
# Env: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50).
#
# Like scripts/bench.sh it starts its own Redis (a free port, no persistence) and its own
# `agora serve` (release build, rate limiter off, workers off so billing does not compete
# for the 2 cores), and stops both at the end. wrk, Agora and Redis share the machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_RUN="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-50}"

scripts/ensure-redis.sh
command -v wrk >/dev/null 2>&1 || { echo "bench: wrk is needed (apt-get install wrk)" >&2; exit 1; }

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
BASE="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done

json() { python3 -c 'import sys,json; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
TOKEN=$(curl -sf "$BASE/v1/sessions" -H 'content-type: application/json' \
    -d '{"login":"alice","password":"alice-demo-password"}' | json token)
new_product() {
    curl -sf "$BASE/v1/products" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
        -d "{\"name\":\"Bench $1\",\"price_cents\":1000,\"stock\":1000000000,\"category\":\"bench\",\"sku\":\"BENCH-$1\"}" | json id
}
PURCHASE_ID=$(new_product purchase)
CHECKOUT_IDS=()
for i in 1 2 3 4 5; do CHECKOUT_IDS+=("$(new_product "cart-$i")"); done
ITEMS=$(printf '{"product_id":"%s","quantity":1},' "${CHECKOUT_IDS[@]}")
ORDER_BODY="{\"items\":[${ITEMS%,}]}"

cat > "$WORK/purchase.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"quantity":1}'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $TOKEN"
LUA
# A fresh Idempotency-Key for every request (each one is a new order): RUN is replaced
# per wrk run, and each thread numbers its own requests.
cat > "$WORK/checkout.lua.in" <<LUA
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "RUN-" .. threads)
end
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/orders", {
    ["content-type"] = "application/json",
    ["authorization"] = "Bearer $TOKEN",
    ["idempotency-key"] = prefix .. "-" .. counter,
  }, '$ORDER_BODY')
end
LUA

run_wrk() { # name, connections, script, url
    local threads=$(( $2 < 2 ? $2 : 2 ))
    local script="$3"
    if [ "${script%.in}" != "$script" ]; then   # a template: a run id per wrk run
        sed "s/RUN-/$1-warm-/" "$3" > "$WORK/$1-warm.lua"
        sed "s/RUN-/$1-/" "$3" > "$WORK/$1.lua"
        wrk -t"$threads" -c"$2" -d2s -s "$WORK/$1-warm.lua" "$4" >/dev/null
        script="$WORK/$1.lua"
    else
        wrk -t"$threads" -c"$2" -d2s -s "$script" "$4" >/dev/null   # warm-up
    fi
    wrk -t"$threads" -c"$2" -d"${SECONDS_RUN}s" --latency -s "$script" "$4" > "$WORK/$1.txt"
}
run_wrk purchase "$CONNS" "$WORK/purchase.lua" "$BASE/v1/products/$PURCHASE_ID/purchase"
run_wrk checkout "$CONNS" "$WORK/checkout.lua.in" "$BASE/v1/orders"
run_wrk checkout1 1 "$WORK/checkout.lua.in" "$BASE/v1/orders"

SHA=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$(cat lua/purchase_stock.lua)")
N=$(( 60000 * SECONDS_RUN / 2 ))
redis-cli -p "$REDIS_PORT" HSET 'product:{rb}' stock 1000000000 >/dev/null
redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$N" --csv EVALSHA "$SHA" 1 'product:{rb}' 1 > "$WORK/rb-eval.csv"
redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$N" --csv HINCRBY 'product:{rb}' stock -1 > "$WORK/rb-hincrby.csv"
ORDERS=$(redis-cli -p "$REDIS_PORT" XLEN events:orders)

python3 - "$WORK" "$CONNS" "$(redis-server --version | awk '{print $3}')" "$ORDERS" <<'PY'
import csv, re, sys
work, conns, version, orders = sys.argv[1:5]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
def wrk(name):
    out = open(f"{work}/{name}.txt").read()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
            ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
            int(errors.group(1)) if errors else 0)
def rb(name):
    rows = list(csv.reader(open(f"{work}/{name}.csv")))
    row = dict(zip(rows[0], rows[1]))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]), 0
rows = [
    (f"POST /v1/products/{{id}}/purchase (agora, wrk, c={conns})", wrk("purchase")),
    (f"EVALSHA purchase_stock (redis-benchmark, c={conns})", rb("rb-eval")),
    (f"HINCRBY stock -1 (redis-benchmark, c={conns})", rb("rb-hincrby")),
    (f"POST /v1/orders, 5 items (agora, wrk, c={conns})", wrk("checkout")),
    ("POST /v1/orders, 5 items (agora, wrk, c=1)", wrk("checkout1")),
]
print(f"\nRedis {version}, one 2-core machine (load generator included)\n")
print(f"| {'what':<52} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} |")
print(f"|{'-'*54}|{'-'*11}|{'-'*9}|{'-'*9}|")
for name, (rps, p50, p99, _) in rows:
    print(f"| {name:<52} | {rps:>9.0f} | {p50:>7.2f} | {p99:>7.2f} |")
print(f"\npurchase: agora / EVALSHA = {rows[0][1][0] / rows[1][1][0]:.2f}")
print(f"orders created during the run: {orders}")
for name, (_, _, _, errors) in rows:
    if errors:
        print(f"WARNING: {errors} non-2xx responses in: {name}")
PY
