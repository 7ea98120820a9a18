"""Golden fixture cases: fixtures/cases/<CODE>/<case>/expected.txt beside each input.

Regenerate after a deliberate change with `python3 scripts/regen_expected.py` and review the diff.
"""

from __future__ import annotations

import os
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from regen_expected import case_dirs, render  # noqa: E402

CASES = case_dirs()


def test_there_is_a_case_for_every_static_rule() -> None:
    names = {os.path.basename(os.path.dirname(c)) for c in CASES}
    assert {"MC101", "MC102", "MC103", "MC104", "MC105", "MC201", "MC401"} <= names


@pytest.mark.parametrize("case", CASES, ids=[os.path.relpath(c, os.path.join(ROOT, "fixtures", "cases"))
                                             for c in CASES])
def test_case_matches_expected_report(case: str) -> None:
    with open(os.path.join(case, "expected.txt"), encoding="utf-8") as f:
        expected = f.read()
    assert render(case) == expected
