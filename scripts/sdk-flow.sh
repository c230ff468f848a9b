#!/usr/bin/env bash
# `make sdk-flow`: the generated clients against a live agora.
#
#   1. Python: sdk/python_flow.py drives the client `make sdk-check` generated into
#      .tools/sdk-check/agora_sdk (register, log in, purchase, checkout with an
#      Idempotency-Key and its replay) against a private, seeded service started
#      by scripts/live-service.sh (stopped on exit).
#   2. TypeScript: openapi-typescript turns openapi/openapi.json into
#      .tools/sdk-check/agora.d.ts; tsc --noEmit --strict type-checks it together
#      with sdk/typescript_usage.ts, which uses the generated types.
#   3. /docs: sdk/docs_padlocks.js loads Swagger UI from the same live service in jsdom
#      and checks every operation's padlock before and after authorizing.
# Run `make sdk-check` first (the Makefile target does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SDK_OUT="$ROOT/.tools/sdk-check"
NPM_BIN="$ROOT/.tools/npm/node_modules/.bin"
export LIVE_DIR="$ROOT/.tools/sdk-flow/live"

test -d "$SDK_OUT/agora_sdk" || { echo "error: no generated client in $SDK_OUT (run: make sdk-check)" >&2; exit 1; }
scripts/ensure-npmtools.sh

echo "==> sdk-flow: TypeScript types with openapi-typescript"
"$NPM_BIN/openapi-typescript" openapi/openapi.json -o "$SDK_OUT/agora.d.ts" >"$SDK_OUT/openapi-typescript.log" 2>&1 \
    || { cat "$SDK_OUT/openapi-typescript.log" >&2; exit 1; }
test -s "$SDK_OUT/agora.d.ts" || { echo "error: openapi-typescript wrote nothing" >&2; exit 1; }
"$NPM_BIN/tsc" --noEmit --strict --target es2022 --module es2022 --moduleResolution bundler \
    "$SDK_OUT/agora.d.ts" sdk/typescript_usage.ts
echo "sdk-flow: $(grep -cE '^    "/[^"]*": \{' "$SDK_OUT/agora.d.ts" || true) paths typed in .tools/sdk-check/agora.d.ts; tsc --noEmit --strict OK"

echo "==> sdk-flow: Python client against a live service"
scripts/build-debug.sh
trap 'scripts/live-service.sh stop' EXIT
url="$(scripts/live-service.sh start)"
PYTHONPATH="$SDK_OUT" "$ROOT/.tools/venv/bin/python" sdk/python_flow.py "$url"

echo "==> sdk-flow: /docs padlocks in Swagger UI (jsdom)"
NODE_PATH="$ROOT/.tools/npm/node_modules" node sdk/docs_padlocks.js "$url"
