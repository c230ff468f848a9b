#!/usr/bin/env bash
# Install Debian/Ubuntu packages with apt-get, as root or through sudo:
#   scripts/apt-install.sh PACKAGE...
# The one place the scripts install system packages (redis-server, a C compiler,
# python3-venv, nodejs/npm, wrk). Fails with a message naming the packages when it
# cannot (not root and no sudo, or no apt-get), so the caller can say what to do.
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get is not available; install by hand: $*" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: need to install $* but not root and sudo is not available" >&2
        exit 1
    fi
fi
echo "apt-install: installing $*" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
