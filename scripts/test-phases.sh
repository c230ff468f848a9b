#!/usr/bin/env bash
# `make test`: every phase of the suite in order, each announced with its name and
# timed, then a summary table. A failing phase does not stop the others (the table
# shows what failed and what still passed); the exit status is non-zero when any
# phase failed. Each phase's whole output is also in .tools/test-logs/<phase>.log.
#
#   scripts/test-phases.sh                       # all phases
#   TEST_PHASES="readme fuzz" scripts/test-phases.sh   # some, in the order given
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LOGS="$ROOT/.tools/test-logs"
mkdir -p "$LOGS"
MAKE="${MAKE:-make}"

ALL_PHASES=(standalone cluster readme compose-check sdk-check sdk-flow fuzz realworld)

describe() {
    case "$1" in
    standalone) echo "cargo test on a private standalone redis-server" ;;
    cluster) echo "cargo test on a private 3-master + 3-replica Redis Cluster" ;;
    readme) echo "the README's curl walk-through on a live, freshly seeded service" ;;
    compose-check) echo "docker-compose.yml against the compose spec" ;;
    sdk-check) echo "Python client generated from openapi/openapi.json, no warning" ;;
    sdk-flow) echo "generated Python client on a live service; TypeScript types + tsc" ;;
    fuzz) echo "schemathesis on a live service from openapi/openapi.json" ;;
    realworld) echo "official RealWorld suites (Hurl, Postman) on standalone and 3+3 cluster" ;;
    *) return 1 ;;
    esac
}

run_phase() {
    case "$1" in
    # No backtraces: a failure's own message (assertion, left/right) stays next to its
    # test name instead of under some thirty frames of tokio.
    standalone) env -u AGORA_TEST_CLUSTER RUST_BACKTRACE=0 cargo test --locked --no-fail-fast ;;
    cluster) AGORA_TEST_CLUSTER=1 RUST_BACKTRACE=0 cargo test --locked --no-fail-fast ;;
    readme) scripts/build-debug.sh && python3 scripts/readme_walkthrough.py ;;
    compose-check | sdk-check) "$MAKE" --no-print-directory "$1" ;;
    sdk-flow) scripts/sdk-flow.sh ;;
    fuzz) scripts/fuzz.sh ;;
    realworld) "$MAKE" --no-print-directory realworld ;;
    esac
}

# One line saying what a phase's log shows it did.
detail() {
    local phase="$1" log="$2"
    case "$phase" in
    standalone | cluster)
        # Sum every "test result:" line of the test binaries.
        grep -E '^test result:' "$log" | awk '
            { for (i = 2; i <= NF; i++) {
                  word = $i
                  gsub(/[;.]/, "", word)
                  if (word == "passed") p += $(i - 1)
                  if (word == "failed") f += $(i - 1)
                  if (word == "ignored") g += $(i - 1) } }
            END { printf "%d passed, %d failed, %d ignored\n", p, f, g }' ;;
    readme) grep -E '^walkthrough: all ' "$log" | tail -n 1 | sed 's/^walkthrough: //' ;;
    compose-check) grep -iE 'ok|valid' "$log" | tail -n 1 ;;
    sdk-check) grep -E '^sdk-check:' "$log" | tail -n 1 | sed 's/^sdk-check: //' ;;
    sdk-flow) grep -E '^(sdk-flow|docs-padlocks):' "$log" | sed 's/^[a-z-]*: //' | paste -sd ';' - ;;
    fuzz) grep -E '^fuzz (main|ending|warnings):' "$log" | sed 's/^fuzz //; s/  */ /g' | paste -sd ';' - ;;
    realworld) grep -E '^(hurl:|==> realworld)|│ +(requests|assertions)' "$log" | sed 's/│//g; s/  */ /g' | paste -sd ';' - ;;
    esac
}

phases=("${ALL_PHASES[@]}")
if [ -n "${TEST_PHASES:-}" ]; then
    read -r -a phases <<<"$TEST_PHASES"
fi
for phase in "${phases[@]}"; do
    describe "$phase" >/dev/null || { echo "error: unknown phase '$phase' (phases: ${ALL_PHASES[*]})" >&2; exit 2; }
done

results=()
failed=0
suite_start=$(date +%s)
n=0
for phase in "${phases[@]}"; do
    n=$((n + 1))
    log="$LOGS/$phase.log"
    echo
    echo "==> phase $n/${#phases[@]}: $phase — $(describe "$phase")"
    start=$(date +%s)
    run_phase "$phase" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    secs=$(($(date +%s) - start))
    if [ "$status" -eq 0 ]; then result=pass; else result="FAIL"; failed=1; fi
    echo "<== phase $phase: $result in ${secs}s (exit $status; log .tools/test-logs/$phase.log)"
    results+=("$phase|$result|$secs|$(detail "$phase" "$log")")
done

total=$(($(date +%s) - suite_start))
echo
echo "make test summary ($(nproc) cores; times include builds)"
printf '  %-14s %-6s %7s  %s\n' phase result time detail
for row in "${results[@]}"; do
    IFS='|' read -r phase result secs what <<<"$row"
    printf '  %-14s %-6s %6ss  %s\n' "$phase" "$result" "$secs" "$what"
done
printf '  %-14s %-6s %6ss\n' total "$([ "$failed" -eq 0 ] && echo pass || echo FAIL)" "$total"
exit "$failed"
