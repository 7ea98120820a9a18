"""The package type-checks under ``mypy --strict`` (pyproject.toml [tool.mypy]); ``scripts/check`` runs the
same check with ruff. ``KNOWN`` holds the errors each file still has (the count per file): a file with more
fails, and a file with fewer must have its count lowered, so the list only shrinks to empty."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

from conftest import ROOT

# file -> errors it still has, to be fixed by the restructuring of issue 14 (then this is empty)
KNOWN: dict[str, int] = {}
_ERROR = re.compile(r"^(?P<file>[^:\s]+\.py):\d+: error: ", re.M)


def test_mypy_strict_finds_only_the_known_errors() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-color-output", "mixedcontent"],
                       cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"})
    assert r.returncode in (0, 1), r.stderr or r.stdout  # 2: mypy itself failed (bad config, crash)
    found = Counter(m.group("file").replace(os.sep, "/") for m in _ERROR.finditer(r.stdout))
    assert dict(found) == KNOWN, r.stdout


def test_names_imported_for_type_checking_only_are_not_used_at_run_time() -> None:
    # mypy cannot see it (annotations are strings): a name imported under TYPE_CHECKING, or imported
    # lazily in another function, and then called at run time is a NameError on that path only (issue
    # 19 made the network and archive imports lazy; a later function using asyncio at module level broke)
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TC004,F821", "mixedcontent"],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
