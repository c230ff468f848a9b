#!/usr/bin/env bash
# Build target/debug/agora for the black-box checks (readme walk-through, sdk-flow,
# fuzz, live-service) the way `cargo test` builds it, so that after `cargo test` this
# is a no-op.
#
# Why not `cargo build`: Cargo's feature resolver (v2) unifies dev-dependency features
# only when tests are built, so `cargo build` and `cargo test` compile ~26 shared crates
# with different features and each overwrites the other's target/debug/agora: a
# `cargo build` after `cargo test` spent ~85 s recompiling, and the next `cargo test`
# the same again. Building one integration test builds the binary with the test
# features (Cargo builds a package's binaries for its integration tests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)
if ! out="$(cargo test --locked --quiet --no-run --test faults 2>&1)"; then
    echo "$out" >&2
    echo "error: building target/debug/agora failed" >&2
    exit 1
fi
echo "build-debug: target/debug/agora ready ($(( $(date +%s) - start )) s; reused when cargo test built it)" >&2
