#!/usr/bin/env bash
# Runs the official RealWorld (Conduit) suites, unchanged, against a live agora:
# Hurl (the 13 files of vendor/realworld/api/hurl, or $REALWORLD_DIR) and the
# Postman collection with newman, minus the one request upstream reversed after the
# collection froze ("Create Article - duplicate title", which expects 409 where the
# current spec and the Hurl suite want two 201s with different slugs).
#
#   scripts/realworld-suites.sh URL      # e.g. http://127.0.0.1:41234 (the suites add /api)
#
# The Postman collection asserts `articlesCount == 2` on the unfiltered article list,
# so URL must serve a store with no other articles (LIVE_SEED=0 scripts/live-service.sh
# start). The Hurl files make their own users per run (a fresh uid), so they can run
# again on the same data. Tools come from scripts/ensure-realworld-tools.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="${1:?usage: $0 URL}"
# The suites are vendored, unchanged, in vendor/realworld (a clean clone has no
# ../shared beside it); REALWORLD_DIR points elsewhere, e.g. at a newer upstream copy.
REALWORLD_DIR="${REALWORLD_DIR:-$ROOT/vendor/realworld}"
HURL="$ROOT/.tools/hurl/bin/hurl"
NEWMAN="$ROOT/.tools/newman/node_modules/.bin/newman"
"$ROOT/scripts/ensure-realworld-tools.sh"

uid="$(date +%s)$RANDOM"
# newman first: it counts every article, and the Hurl files leave some behind.
echo "== newman ($REALWORLD_DIR/postman, without the reversed request)"
collection="$(mktemp --suffix=.json)"
trap 'rm -f "$collection"' EXIT
python3 - "$REALWORLD_DIR/postman/Conduit.postman_collection.json" "$collection" <<'PY'
import json, sys
reversed_upstream = "Create Article - duplicate title"
collection = json.load(open(sys.argv[1]))
removed = 0
def keep(items):
    global removed
    out = []
    for item in items:
        if "item" in item:
            item["item"] = keep(item["item"])
        elif item.get("name") == reversed_upstream:
            removed += 1
            continue
        out.append(item)
    return out
collection["item"] = keep(collection["item"])
if removed != 1:
    sys.exit(f"expected one request named {reversed_upstream!r}, found {removed}")
json.dump(collection, open(sys.argv[2], "w"))
PY
"$NEWMAN" run "$collection" --color off \
    --global-var "APIURL=$URL/api" --global-var "USERNAME=u$uid" \
    --global-var "EMAIL=u$uid@example.com" --global-var "PASSWORD=password123"

echo "== hurl ($REALWORLD_DIR/api/hurl, uid $uid)"
report="$(mktemp -d)"
"$HURL" --test --jobs 1 --variable "host=$URL" --variable "uid=$uid" \
    --report-json "$report" "$REALWORLD_DIR"/api/hurl/*.hurl
# Hurl's summary counts files and requests; the assertions are counted from its report,
# one per line of a file as the suite counts them (the report checks an `HTTP 200`
# line twice: version and status).
python3 - "$report/report.json" <<'PY'
import json, sys
files = json.load(open(sys.argv[1]))
lines = {}
for f, file in enumerate(files):
    for e, entry in enumerate(file["entries"]):
        for a in entry.get("asserts", []):
            key = (f, e, a["line"])
            lines[key] = lines.get(key, True) and a.get("success", False)
passed = sum(1 for ok in lines.values() if ok)
requests = sum(len(file["entries"]) for file in files)
print(f"hurl: {len(files)} files, {requests} requests, {passed}/{len(lines)} assertions passed")
sys.exit(0 if passed == len(lines) else 1)
PY
rm -rf "$report"

