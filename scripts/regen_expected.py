#!/usr/bin/env python3
"""Regenerate the expected text reports of the fixture cases after a deliberate change.

    python3 scripts/regen_expected.py            # rewrite fixtures/cases/*/*/expected.txt
    python3 scripts/regen_expected.py --check    # exit 1 if any differs (what the tests do)

Read every regenerated diff (git diff fixtures/cases) before committing it.
"""

from __future__ import annotations

import io
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from mixedcontent.cli import main  # noqa: E402

CASES = os.path.join(ROOT, "fixtures", "cases")


def case_dirs() -> list[str]:
    out = []
    for dirpath, _, files in os.walk(CASES):
        if "input.html" in files or "input.xhtml" in files:
            out.append(dirpath)
    return sorted(out)


def render(case: str) -> str:
    """The text report of ``scan .`` run in the case's directory (the text report names files by their
    path from the working directory, SPEC §12, so the expected output does not depend on where the
    checkout is)."""
    out = io.StringIO()
    err = io.StringIO()
    cwd = os.getcwd()
    os.chdir(case)
    try:
        code = main(["scan", ".", "--jobs", "1"], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return out.getvalue() + f"exit {code}\n"


def main_(argv: list[str]) -> int:
    check = "--check" in argv
    differ = 0
    for case in case_dirs():
        path = os.path.join(case, "expected.txt")
        new = render(case)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != new:
            differ += 1
            print(("differs: " if check else "rewrote: ") + os.path.relpath(case, ROOT))
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
    return 1 if check and differ else 0


if __name__ == "__main__":
    sys.exit(main_(sys.argv[1:]))
