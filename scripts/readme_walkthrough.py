#!/usr/bin/env python3
"""`make readme`: run the README's curl walk-through against a live service and check it.

The walk-through is every ```sh block of README.md that directly follows the line
`<!-- walkthrough -->`. Its commands (a line, with `\\` continuations) run in order in
one bash shell, so a variable one sets (`TOKEN=...`) is there for the next, against a
private agora started from a fresh seed by scripts/live-service.sh.

What a command promises is written in its comment (on its line, or the comment lines
just above it) after an arrow, and checked:

    curl ... localhost:8080/v1/users/me -H "..."   # → 200 `username`, `email`

- `→ NNN`: the command makes exactly one HTTP request and its status is NNN;
- each `name` in backticks after the arrow: a key of the JSON answer (at any depth);
- `Name: value` in backticks: a response header that starts with that value;
- text in backticks that holds a `"`: a substring of the body (`"role":"admin"`);
- a command that makes no request (`cargo run ...`): it exits 0, and backticked text
  after its arrow must appear in what it printed.

A command that sends a request without stating its status fails the run: every example
says what it answers. How the README's addresses reach the private service: `curl` and
`cargo` are shell functions here; `curl` sends `localhost:8080` to the private port and
records status, headers and body; `cargo run --release -- ...` runs the debug binary the
tests built (no release build) and needs `REDIS_URL` to name `make run`'s Redis
(`redis://127.0.0.1:<AGORA_REDIS_PORT from the Makefile>`), which it replaces with the
private one.

Exit status 0 when every command ran and every stated fact held; the log and each
answer stay in .tools/readme/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".tools" / "readme"
MARKER = "<!-- walkthrough -->"
README_NAME = "README.md"  # the file checked, for messages
README_HOSTPORT = "localhost:8080"


@dataclass
class Step:
    line: int  # 1-based line in README.md of the command's first line
    command: str
    comment: str
    status: int | None = None
    checks: list[str] = field(default_factory=list)


def walkthrough_blocks(readme: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each marked ```sh block."""
    lines = readme.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == MARKER:
            if i + 1 >= len(lines) or lines[i + 1].strip() != "```sh":
                sys.exit(f"README.md:{i + 1}: {MARKER} must be followed by a ```sh block")
            start = i + 2
            end = start
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            blocks.append((start + 1, lines[start:end]))
            i = end
        i += 1
    return blocks


def split_comment(line: str) -> tuple[str, str]:
    """A shell line's code and its trailing comment (a `#` outside quotes after a blank)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def parse_steps(blocks: list[tuple[int, list[str]]]) -> list[Step]:
    steps = []
    for first, lines in blocks:
        leading: list[str] = []
        pending: list[str] = []
        pending_comments: list[str] = []
        start_line = first
        for offset, raw in enumerate(lines):
            code, comment = split_comment(raw)
            if not pending and not code:
                # A comment line (or a blank one, which ends a comment paragraph).
                leading = leading + [comment] if comment else []
                continue
            if not pending:
                start_line = first + offset
            pending.append(code[:-1].rstrip() if code.endswith("\\") else code)
            if comment:
                pending_comments.append(comment)
            if not code.endswith("\\"):
                step = Step(start_line, " ".join(pending), " ".join(leading + pending_comments))
                parse_expectations(step)
                steps.append(step)
                leading, pending, pending_comments = [], [], []
        if pending:
            sys.exit(f"README.md:{start_line}: the block ends inside a continued command")
    return steps


def parse_expectations(step: Step) -> None:
    if "→" not in step.comment:
        return
    stated = step.comment.split("→", 1)[1]
    status = re.match(r"\s*([1-5]\d\d)\b", stated)
    if status:
        step.status = int(status.group(1))
    step.checks = re.findall(r"`([^`]+)`", stated)


def json_keys(value) -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            keys.add(k)
            keys |= json_keys(v)
    elif isinstance(value, list):
        for v in value:
            keys |= json_keys(v)
    return keys


SHELL_PRELUDE = r"""
set -eo pipefail
__step() { echo "$1" > "$__W/step"; }
curl() {
    local step a code
    step="$(cat "$__W/step")"
    local args=()
    for a in "$@"; do args+=("${a//localhost:8080/$__HOSTPORT}"); done
    code="$(command curl "${args[@]}" -D "$__W/$step.headers" -o "$__W/$step.body" -w '%{http_code}')" || return
    echo "$code" >> "$__W/$step.status"
    cat "$__W/$step.body"
}
cargo() {
    if [ "$1 $2 $3" != "run --release --" ]; then
        echo "walkthrough: only 'cargo run --release -- ...' is supported here" >&2; return 2
    fi
    if [ "${REDIS_URL:-}" != "$__MAKE_RUN_REDIS" ]; then
        echo "walkthrough: REDIS_URL must name make run's Redis ($__MAKE_RUN_REDIS), got '${REDIS_URL:-}'" >&2
        return 2
    fi
    shift 3
    REDIS_URL="$__LIVE_REDIS" "$__AGORA_BIN" "$@"
}
"""


def make_run_redis() -> str:
    makefile = (ROOT / "Makefile").read_text()
    port = re.search(r"^AGORA_REDIS_PORT\s*\?=\s*(\d+)", makefile, re.M)
    if not port:
        sys.exit("Makefile: no 'AGORA_REDIS_PORT ?= <port>' line")
    return f"redis://127.0.0.1:{port.group(1)}"


def run(steps: list[Step], url: str, live_redis: str, work: Path) -> list[str]:
    script = [SHELL_PRELUDE]
    for n, step in enumerate(steps, 1):
        script.append(f"__step {n}")
        script.append(f"{{ {step.command}\n}} >{work}/{n}.stdout 2>{work}/{n}.stderr")
    env = dict(
        os.environ,
        __W=str(work),
        __HOSTPORT=url.removeprefix("http://"),
        __MAKE_RUN_REDIS=make_run_redis(),
        __LIVE_REDIS=live_redis,
        __AGORA_BIN=str(ROOT / "target" / "debug" / "agora"),
    )
    env.pop("TOKEN", None)
    (work / "walkthrough.sh").write_text("\n".join(script) + "\n")
    proc = subprocess.run(["bash", str(work / "walkthrough.sh")], env=env, cwd=work)
    failures = []
    for n, step in enumerate(steps, 1):
        failures += check(n, step, work)
        if failures:
            break
    if proc.returncode != 0 and not failures:
        failures.append(f"the walk-through shell exited {proc.returncode}")
    return failures


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def check(n: int, step: Step, work: Path) -> list[str]:
    where = f"{README_NAME}:{step.line}"
    short = step.command if len(step.command) <= 90 else step.command[:87] + "..."
    ran = (work / f"{n}.stdout").exists()
    stdout, stderr = read(work / f"{n}.stdout"), read(work / f"{n}.stderr")
    statuses = read(work / f"{n}.status").split()
    problems = []
    if not ran:
        problems.append("did not run (an earlier command stopped the walk-through)")
    elif not statuses:
        if step.status is not None:
            problems.append(f"states status {step.status} but made no request")
        for expected in step.checks:
            if expected not in stdout:
                problems.append(f"printed no `{expected}`")
    else:
        headers_text = read(work / f"{n}.headers")
        body = read(work / f"{n}.body")
        if body.startswith("HTTP/"):
            body = body.split("\n\n", 1)[-1]  # read() turned \r\n into \n
        if step.status is None:
            problems.append("sends a request but its comment states no `→ <status>`")
        elif len(statuses) != 1:
            problems.append(f"made {len(statuses)} requests; a step makes one")
        elif int(statuses[0]) != step.status:
            problems.append(f"answered {statuses[0]}, the README says {step.status}")
        try:
            keys = json_keys(json.loads(body)) if body.strip() else set()
        except json.JSONDecodeError:
            keys = set()
        headers = {}
        for line in headers_text.splitlines():
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        for expected in step.checks:
            if '"' in expected:
                ok = expected in body
            elif ": " in expected:
                name, value = expected.split(": ", 1)
                ok = headers.get(name.lower(), "").startswith(value)
            else:
                ok = expected in keys
            if not ok:
                problems.append(f"answer has no `{expected}`")
        print(f"walkthrough: {statuses[0] if statuses else '---'}  {short}")
    if not statuses and ran:
        print(f"walkthrough: ok   {short}")
    if problems:
        detail = "\n".join(f"    {p}" for p in problems)
        output = (stdout + stderr).strip()[-1500:]
        return [f"{where}: {short}\n{detail}\n    output: {output or '(none)'}"]
    return []


def main() -> int:
    # Another file may be named (to try the checker on a changed copy); README.md by default.
    global README_NAME
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "README.md"
    README_NAME = path.name if path.parent == ROOT else str(path)
    readme = path.read_text()
    steps = parse_steps(walkthrough_blocks(readme))
    if not steps:
        print("error: README.md has no walk-through blocks (<!-- walkthrough --> + ```sh)", file=sys.stderr)
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    work = OUT / "answers"
    work.mkdir(parents=True)
    env = dict(os.environ, LIVE_DIR=str(OUT / "live"))
    live = [str(ROOT / "scripts" / "live-service.sh")]
    url = subprocess.run(live + ["start"], env=env, check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    try:
        live_redis = (OUT / "live" / "redis_url").read_text().strip()
        print(f"walkthrough: {len(steps)} commands from README.md against {url} (fresh seed)")
        failures = run(steps, url, live_redis, work)
    finally:
        subprocess.run(live + ["stop"], env=env, check=False)
    if failures:
        print("\nREADME walk-through FAILED:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    stated = sum(1 for s in steps if s.status is not None)
    print(f"walkthrough: all {len(steps)} commands ran; {stated} statuses and "
          f"{sum(len(s.checks) for s in steps)} named fields as the README states")
    return 0


if __name__ == "__main__":
    sys.exit(main())
