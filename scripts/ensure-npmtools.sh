#!/usr/bin/env bash
# Install the npm tools of `make sdk-flow` (openapi-typescript, typescript) into the
# project-local .tools/npm (never globally). Idempotent: silent when both are there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.tools/npm"
BIN="$PREFIX/node_modules/.bin"

if [ -x "$BIN/openapi-typescript" ] && [ -x "$BIN/tsc" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm not found on PATH (install Node.js >= 18, e.g. apt-get install nodejs npm)" >&2
    exit 1
fi
echo "ensure-npmtools: installing openapi-typescript and typescript into .tools/npm" >&2
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --silent openapi-typescript@7 typescript@5
