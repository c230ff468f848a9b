#!/usr/bin/env bash
# Make sure the tools the build and the test suite need are on this machine:
# cargo (from rustup) and redis-server / redis-cli / redis-benchmark (apt).
# Idempotent and silent when everything is already there.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found on PATH; install Rust with rustup: https://rustup.rs" >&2
    exit 1
fi

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: redis-server is missing and we are not root (and sudo is not available);" >&2
        echo "       install the Debian package 'redis-server' by hand" >&2
        exit 1
    fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: redis-server is missing and apt-get is not available; install Redis >= 7 by hand" >&2
    exit 1
fi

echo "ensure-redis: installing redis-server with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null

# The Debian package starts a system-wide redis on 6379; we neither need nor
# touch it (tests start their own private servers).
if ! command -v redis-server >/dev/null 2>&1; then
    echo "error: redis-server still not on PATH after apt-get install" >&2
    exit 1
fi
echo "ensure-redis: $(redis-server --version)" >&2
