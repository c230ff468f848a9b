#!/usr/bin/env bash
# Install the two runners of the official RealWorld (Conduit) suites that `make
# realworld` drives: Hurl 8.0.1 (cargo; 8.1 needs a newer rustc than ours) and newman
# 6.2.2 (npm). Both live under the project-local, gitignored .tools/ so a rerun is
# instant and nothing is installed globally. Idempotent: silent when both are there.
#
# Hurl links libcurl and libxml2 and its build runs bindgen (libclang); the Debian
# packages are installed with apt-get only when one is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HURL_ROOT="$ROOT/.tools/hurl"
HURL="$HURL_ROOT/bin/hurl"
NEWMAN_PREFIX="$ROOT/.tools/newman"
NEWMAN="$NEWMAN_PREFIX/node_modules/.bin/newman"
HURL_VERSION=8.0.1
NEWMAN_VERSION=6.2.2

log() { echo "ensure-realworld-tools: $*" >&2; }

hurl_ok() { [ -x "$HURL" ] && "$HURL" --version 2>/dev/null | head -n1 | grep -q "hurl $HURL_VERSION"; }
newman_ok() { [ -x "$NEWMAN" ] && [ "$("$NEWMAN" --version 2>/dev/null)" = "$NEWMAN_VERSION" ]; }

if ! hurl_ok; then
    missing=()
    for pkg in libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null || { log "missing build packages ${missing[*]} and no apt-get"; exit 1; }
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO=sudo
        log "installing build packages: ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
    log "building hurl $HURL_VERSION into .tools/hurl (a few minutes on 2 cores)"
    cargo install hurl --version "$HURL_VERSION" --locked --root "$HURL_ROOT" --quiet
    hurl_ok || { log "hurl $HURL_VERSION did not install"; exit 1; }
fi

if ! newman_ok; then
    command -v npm >/dev/null || { log "npm not found on PATH (install Node.js >= 18)"; exit 1; }
    log "installing newman $NEWMAN_VERSION into .tools/newman"
    mkdir -p "$NEWMAN_PREFIX"
    npm install --prefix "$NEWMAN_PREFIX" --no-audit --no-fund --silent "newman@$NEWMAN_VERSION"
    newman_ok || { log "newman $NEWMAN_VERSION did not install"; exit 1; }
fi
