#!/usr/bin/env bash
# Create .tools/venv with the Python tools used by `make compose-check`,
# `make sdk-check` and `make fuzz` (check-jsonschema, openapi-python-client,
# schemathesis).
# Idempotent: a re-run with all tools present does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/venv"

# A venv whose interpreter no longer runs (e.g. its base python was removed)
# is rebuilt from scratch.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    echo "ensure-pytools: .tools/venv is broken; recreating it" >&2
    rm -rf "$VENV"
fi

if [ -x "$VENV/bin/check-jsonschema" ] && [ -x "$VENV/bin/openapi-python-client" ] \
    && [ -x "$VENV/bin/schemathesis" ]; then
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "ensure-pytools: python3 not found; installing it" >&2
    "$ROOT/scripts/apt-install.sh" python3 python3-venv
fi

if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$ROOT/.tools"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        echo "ensure-pytools: 'python3 -m venv' failed; installing python3-venv" >&2
        rm -rf "$VENV"
        "$ROOT/scripts/apt-install.sh" python3-venv
        python3 -m venv "$VENV"
    fi
fi

echo "ensure-pytools: installing check-jsonschema, openapi-python-client and schemathesis into .tools/venv" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    check-jsonschema openapi-python-client 'schemathesis>=4,<5'
"$VENV/bin/pip" --disable-pip-version-check list 2>/dev/null \
    | grep -Ei '^(check-jsonschema|openapi-python-client|schemathesis) ' >&2 || true
