#!/usr/bin/env bash
# Start or stop a throw-away live agora for black-box tools (schemathesis, the
# generated SDK flow, load and fault scripts): its own redis-server on a free
# port, seeded with `agora seed`, and `agora serve` on another free port with the
# API limiter off (AGORA_RATE_LIMIT=0).
#
#   scripts/live-service.sh start    # prints the base URL, e.g. http://127.0.0.1:41234
#   scripts/live-service.sh stop     # stops both processes, removes the state folder
#   scripts/live-service.sh url      # prints the base URL of the running instance
#
# Environment:
#   LIVE_DIR    state folder (pids, ports, logs, Redis data); default .tools/live.
#               Use a different one per concurrent instance.
#   AGORA_BIN   agora binary; default target/debug/agora (built by scripts/build-debug.sh,
#               the way cargo test builds it, when missing).
#   LIVE_ENV    extra VAR=value pairs (space separated) passed to `agora serve`.
#   LIVE_SEED   1 (default) seeds the demo data; 0 starts empty (suites that count
#               every article, such as the RealWorld Postman collection).
#   LIVE_CLUSTER  1 runs agora on a private 3-master + 3-replica Redis Cluster (six
#               redis-servers on free ports) instead of one redis-server.
#
# It never touches the Redis on 127.0.0.1:6379: the port is always a fresh free one
# and the agora process is given its REDIS_URL explicitly. Logs stay in $LIVE_DIR
# until `stop` (on a failed start they are printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIVE_DIR="${LIVE_DIR:-$ROOT/.tools/live}"
AGORA_BIN="${AGORA_BIN:-$ROOT/target/debug/agora}"

log() { echo "live-service: $*" >&2; }

# A TCP port nobody listens on now (the kernel picks it; tiny race accepted).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A port for a cluster node: its cluster bus listens on port + 10000, so both must be
# free and below 65536 (the kernel's ephemeral ports often are not).
free_cluster_port() {
    python3 -c '
import random, socket
while True:
    port = random.randint(20000, 45000)
    try:
        for p in (port, port + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
    except OSError:
        continue
    print(port)
    break'
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

stop_pid() {
    local pid="$1" name="$2"
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        alive "$pid" || return 0
        sleep 0.1
    done
    log "$name (pid $pid) ignored SIGTERM for 5 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

do_stop() {
    [ -d "$LIVE_DIR" ] || return 0
    local pid
    pid="$(cat "$LIVE_DIR/agora.pid" 2>/dev/null || true)"
    stop_pid "$pid" agora
    for pidfile in "$LIVE_DIR"/redis*.pid; do
        [ -e "$pidfile" ] || continue
        stop_pid "$(cat "$pidfile" 2>/dev/null || true)" redis-server
    done
    rm -rf "$LIVE_DIR"
}

fail_start() {
    log "start failed: $*"
    for f in "$LIVE_DIR"/redis.log "$LIVE_DIR"/cluster-create.log "$LIVE_DIR"/agora.log "$LIVE_DIR"/seed.log; do
        [ -s "$f" ] || continue
        echo "---- $(basename "$f") (last 30 lines) ----" >&2
        tail -n 30 "$f" >&2
    done
    do_stop
    exit 1
}

# Six cluster-enabled redis-servers on free ports joined as 3 masters + 3 replicas;
# prints their URLs, comma-separated (REDIS_CLUSTER_URLS).
start_cluster() {
    local ports=() port
    for _ in 1 2 3 4 5 6; do
        port="$(free_cluster_port)"
        mkdir -p "$LIVE_DIR/cluster/$port"
        redis-server --bind 127.0.0.1 --port "$port" --dir "$LIVE_DIR/cluster/$port" \
            --cluster-enabled yes --cluster-config-file nodes.conf \
            --save "" --appendonly no --daemonize no \
            >"$LIVE_DIR/redis-cluster-$port.log" 2>&1 &
        echo $! >"$LIVE_DIR/redis-cluster-$port.pid"
        ports+=("$port")
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 50); do
            [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
            sleep 0.1
        done
    done
    local nodes=()
    for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
        >"$LIVE_DIR/cluster-create.log" 2>&1 || return 1
    for _ in $(seq 1 100); do
        if redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
            local urls=()
            for port in "${ports[@]}"; do urls+=("redis://127.0.0.1:$port"); done
            (IFS=,; echo "${urls[*]}")
            return 0
        fi
        sleep 0.1
    done
    return 1
}

do_start() {
    if [ -f "$LIVE_DIR/agora.pid" ] && alive "$(cat "$LIVE_DIR/agora.pid")"; then
        log "already running"
        cat "$LIVE_DIR/url"
        return 0
    fi
    do_stop
    command -v redis-server >/dev/null || { log "redis-server not found (run scripts/ensure-redis.sh)"; exit 1; }
    if [ ! -x "$AGORA_BIN" ]; then
        log "building $AGORA_BIN"
        "$ROOT/scripts/build-debug.sh"
    fi
    mkdir -p "$LIVE_DIR/data"
    # A start interrupted half-way leaves nothing running.
    trap 'fail_start "interrupted"' INT TERM

    local redis_port http_port
    redis_port="$(free_port)"
    [ "$redis_port" != 6379 ] || redis_port="$(free_port)"
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$LIVE_DIR/data" \
        --save "" --appendonly no --daemonize no \
        >"$LIVE_DIR/redis.log" 2>&1 &
    echo $! >"$LIVE_DIR/redis.pid"
    local ok=""
    for _ in $(seq 1 50); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]; then ok=1; break; fi
        sleep 0.1
    done
    [ -n "$ok" ] || fail_start "redis-server on port $redis_port did not answer PING in 5 s"

    local redis_url="redis://127.0.0.1:$redis_port"
    local cluster_urls=""
    if [ "${LIVE_CLUSTER:-0}" = 1 ]; then
        cluster_urls="$(start_cluster)" || fail_start "the 3+3 cluster did not form"
    fi
    # Standalone unless the cluster runs: an empty REDIS_CLUSTER_URLS is not "unset".
    local cluster_env=(-u REDIS_CLUSTER_URLS)
    [ -z "$cluster_urls" ] || cluster_env=("REDIS_CLUSTER_URLS=$cluster_urls")
    if [ "${LIVE_SEED:-1}" = 1 ]; then
        (cd "$ROOT" && env -u KEY_PREFIX "${cluster_env[@]}" REDIS_URL="$redis_url" \
            "$AGORA_BIN" seed --dir "$ROOT/migrations-free-seed") >"$LIVE_DIR/seed.log" 2>&1 \
            || fail_start "agora seed failed"
    fi

    # Retry a port another process grabbed between free_port and bind.
    local url=""
    for _attempt in 1 2 3; do
        http_port="$(free_port)"
        # shellcheck disable=SC2086 # LIVE_ENV is a list of VAR=value words
        env -u KEY_PREFIX "${cluster_env[@]}" \
            REDIS_URL="$redis_url" AGORA_ADDR="127.0.0.1:$http_port" AGORA_RATE_LIMIT=0 \
            RUST_LOG="${RUST_LOG:-warn}" ${LIVE_ENV:-} \
            "$AGORA_BIN" serve >"$LIVE_DIR/agora.log" 2>&1 &
        echo $! >"$LIVE_DIR/agora.pid"
        for _ in $(seq 1 100); do
            if curl -fsS -o /dev/null "http://127.0.0.1:$http_port/healthz" 2>/dev/null; then
                url="http://127.0.0.1:$http_port"
                break 2
            fi
            alive "$(cat "$LIVE_DIR/agora.pid")" || break
            sleep 0.1
        done
        stop_pid "$(cat "$LIVE_DIR/agora.pid")" agora
    done
    [ -n "$url" ] || fail_start "agora serve did not answer /healthz"
    trap - INT TERM
    echo "$url" >"$LIVE_DIR/url"
    echo "$redis_url" >"$LIVE_DIR/redis_url"
    log "agora at $url (redis $redis_url, state in $LIVE_DIR)"
    echo "$url"
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
url) cat "$LIVE_DIR/url" ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
