#!/usr/bin/env bash
# Start or stop the project-local Redis used by `make run`.
#   scripts/local-redis.sh start|stop
# Port: $AGORA_REDIS_PORT (default 6380). Data (AOF), pidfile and log in .data/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${AGORA_REDIS_PORT:-6380}"
DATA="$ROOT/.data"

ping_ok() {
    [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = "PONG" ]
}

case "${1:-}" in
start)
    if ping_ok; then
        echo "local-redis: already answering on 127.0.0.1:$PORT"
        exit 0
    fi
    mkdir -p "$DATA"
    redis-server \
        --bind 127.0.0.1 \
        --port "$PORT" \
        --dir "$DATA" \
        --appendonly yes \
        --appendfsync everysec \
        --save "" \
        --daemonize yes \
        --pidfile "$DATA/redis-$PORT.pid" \
        --logfile "$DATA/redis-$PORT.log"
    for _ in $(seq 1 50); do
        if ping_ok; then
            echo "local-redis: started on 127.0.0.1:$PORT (data in .data/)"
            exit 0
        fi
        sleep 0.1
    done
    echo "error: local redis on 127.0.0.1:$PORT did not answer PING within 5 s;" >&2
    echo "       see $DATA/redis-$PORT.log" >&2
    tail -n 20 "$DATA/redis-$PORT.log" >&2 2>/dev/null || true
    exit 1
    ;;
stop)
    if ! ping_ok; then
        echo "local-redis: not running on 127.0.0.1:$PORT"
        exit 0
    fi
    # AOF is on, so nothing is lost by skipping the final RDB save.
    redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
        ping_ok || { echo "local-redis: stopped (127.0.0.1:$PORT)"; exit 0; }
        sleep 0.1
    done
    echo "error: local redis on 127.0.0.1:$PORT still answers after shutdown" >&2
    exit 1
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
