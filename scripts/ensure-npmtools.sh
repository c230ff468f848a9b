#!/usr/bin/env bash
# Install the npm tools of `make sdk-flow` (openapi-typescript, typescript, and jsdom for
# sdk/docs_padlocks.js) into the project-local .tools/npm (never globally). Idempotent:
# silent when all are there. Installs Node.js and npm with apt when they are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.tools/npm"
BIN="$PREFIX/node_modules/.bin"

if [ -x "$BIN/openapi-typescript" ] && [ -x "$BIN/tsc" ] && [ -f "$PREFIX/node_modules/jsdom/package.json" ]; then
    exit 0
fi
# Node's major version, or 0 when node is missing.
node_major() {
    local v
    v="$(node --version 2>/dev/null || true)"
    v="${v#v}"
    echo "${v%%.*}" | grep -E '^[0-9]+$' || echo 0
}

if ! command -v npm >/dev/null 2>&1 || [ "$(node_major)" -lt 18 ]; then
    echo "ensure-npmtools: Node.js >= 18 with npm not found; installing nodejs and npm" >&2
    "$ROOT/scripts/apt-install.sh" nodejs npm
fi
if [ "$(node_major)" -lt 18 ] || ! command -v npm >/dev/null 2>&1; then
    echo "error: need Node.js >= 18 with npm; this system's package has $(node --version 2>/dev/null || echo none)" >&2
    echo "       (install a current Node.js, e.g. from https://nodejs.org or NodeSource)" >&2
    exit 1
fi
echo "ensure-npmtools: installing openapi-typescript, typescript and jsdom into .tools/npm" >&2
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --silent openapi-typescript@7 typescript@5 jsdom@24
