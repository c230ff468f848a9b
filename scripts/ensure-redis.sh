#!/usr/bin/env bash
# Make sure the tools the build and the test suite need are on this machine:
# cargo (from rustup), a C compiler (mimalloc is built from C), curl, and
# redis-server / redis-cli / redis-benchmark. What apt can provide is installed
# (scripts/apt-install.sh); cargo cannot be (Debian's rustc is older than the
# toolchain this crate needs), so its absence stops with the rustup hint.
# Idempotent and silent when everything is already there.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found on PATH; install Rust with rustup: https://rustup.rs" >&2
    exit 1
fi

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
{ command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; } \
    || missing+=(redis-server)
[ "${#missing[@]}" -eq 0 ] && exit 0

"$HERE/apt-install.sh" "${missing[@]}"
# The Debian redis-server package starts a system-wide redis on 6379; we neither need
# nor touch it (make run uses 6380, the tests their own private servers).
for tool in cc curl redis-server; do
    command -v "$tool" >/dev/null 2>&1 \
        || { echo "error: $tool still not on PATH after apt-get install" >&2; exit 1; }
done
echo "ensure-redis: $(redis-server --version)" >&2
