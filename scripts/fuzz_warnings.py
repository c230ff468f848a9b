#!/usr/bin/env python3
"""Check the warnings of a schemathesis log against the explained ones.

    python3 scripts/fuzz_warnings.py scripts/fuzz-warnings.tsv .tools/fuzz/main.log ...

Each warning schemathesis prints names operations ("Schema validation mismatch: ... -
POST /v1/users"). scripts/fuzz-warnings.tsv lists the (warning, operation) pairs that
remain with the reason (README "make fuzz: the warnings that remain"). Prints how many
warnings were explained and every one that is not; exit status 1 when any is not, so
a new warning is either fixed (schema, examples, test data) or explained there.
"""

import re
import sys
from pathlib import Path

METHOD = r"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)"


def warnings_in(log: str) -> set[tuple[str, str]]:
    found = set()
    section = log.split("=== WARNINGS ===", 1)
    if len(section) < 2:
        return found
    body = section[1].split("=== SUMMARY ===", 1)[0]
    title = None
    for line in body.splitlines():
        heading = re.match(r"^(\S[^:]*): \d+ (?:operation|configured)", line)
        if heading:
            title = heading.group(1)
            continue
        op = re.match(rf"^\s+- ({METHOD} \S+)", line)
        if op and title:
            found.add((title, op.group(1)))
    return found


def main() -> int:
    table, logs = Path(sys.argv[1]), sys.argv[2:]
    explained = {}
    for line in table.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        title, op, reason = line.split("\t", 2)
        explained[(title, op)] = reason
    seen = set()
    for log in logs:
        seen |= warnings_in(Path(log).read_text(errors="replace"))
    unexplained = sorted(seen - explained.keys())
    print(f"fuzz warnings: {len(seen) - len(unexplained)} explained (scripts/fuzz-warnings.tsv), "
          f"{len(unexplained)} unexplained")
    for title, op in unexplained:
        print(f"  unexplained: {title}: {op}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
