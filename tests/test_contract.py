"""The tests' own contract checker (tests/contract.py) rejects what the contract forbids."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import Run
from contract import ContractError, check_report


@pytest.fixture
def scanned(run: Callable[..., Run], tmp_path: Any) -> tuple[dict[str, Any], Any]:
    (tmp_path / "a.html").write_text('<p>é</p>\n<img src="http://cdn.example/a.png">\n<script src="http://cdn.example/a.js">'
                                     '</script>', encoding="utf-8")
    r = run("scan", str(tmp_path), "--format", "json")
    return json.loads(r.out), tmp_path


def test_a_real_report_passes(scanned: tuple[dict[str, Any], Any]) -> None:
    report, root = scanned
    assert check_report(report, root).spans == 2


@pytest.mark.parametrize(("change", "problem"), [
    (lambda r: r["findings"][0].update(offset=r["findings"][0]["offset"] + 1), "are not raw"),
    (lambda r: r["findings"][0].update(column=1), "the bytes say 2:11"),
    (lambda r: r["findings"].reverse(), "not ordered"),
    (lambda r: r["summary"].update(findings=3), "summary.findings"),
    (lambda r: r["summary"]["by_code"].update(MC102=2), "summary.by_code"),
    (lambda r: r["findings"][0].pop("fingerprint"), "schema"),
])
def test_a_broken_report_fails(scanned: tuple[dict[str, Any], Any], change: Callable[[dict[str, Any]], None],
                               problem: str) -> None:
    report, root = scanned
    broken = copy.deepcopy(report)
    change(broken)
    with pytest.raises(ContractError, match=problem):
        check_report(broken, root)
