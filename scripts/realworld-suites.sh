#!/usr/bin/env bash
# Runs the official RealWorld (Conduit) suites, unchanged, against a live agora:
# Hurl (the 13 files of ../shared/realworld/api/hurl, or $REALWORLD_DIR) and the
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
REALWORLD_DIR="${REALWORLD_DIR:-$ROOT/../shared/realworld}"
HURL="$ROOT/.tools/hurl/bin/hurl"
NEWMAN="$ROOT/.tools/newman/node_modules/.bin/newman"
"$ROOT/scripts/ensure-realworld-tools.sh"

uid="$(date +%s)$RANDOM"
echo "== hurl ($REALWORLD_DIR/api/hurl, uid $uid)"
"$HURL" --test --jobs 1 --variable "host=$URL" --variable "uid=$uid" \
    "$REALWORLD_DIR"/api/hurl/*.hurl

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
"$NEWMAN" run "$collection" --bail failure --color off \
    --global-var "APIURL=$URL/api" --global-var "USERNAME=u$uid" \
    --global-var "EMAIL=u$uid@example.com" --global-var "PASSWORD=password123"
