"""The public library API: an explicit __all__, and the same findings as the command line."""

from __future__ import annotations

import json
import os
import types

import pytest
from conftest import ROOT

import mixedcontent


def test_public_names_are_exactly_all() -> None:
    public = {n for n, v in vars(mixedcontent).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)} - {"annotations"}
    # the module's __getattr__ imports the fix stage and the network layer on first use
    lazy = {"FixOptions", "FixResult", "NetSettings", "ProbeSettings"}
    assert public | lazy == set(mixedcontent.__all__) - {"__version__"}
    for name in mixedcontent.__all__:
        assert hasattr(mixedcontent, name)


def test_py_typed_is_shipped() -> None:
    assert os.path.exists(os.path.join(os.path.dirname(mixedcontent.__file__), "py.typed"))


def test_api_returns_what_the_cli_reports(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    cli = json.loads(run("scan", "fixtures/example-site", "--format", "json", "--select", "MC1").out)
    result = mixedcontent.scan(["fixtures/example-site"], select=("MC1",))
    assert [(f.file, f.offset, f.code, f.fingerprint) for f in result.findings] == [
        (f["file"], f["offset"], f["code"], f["fingerprint"]) for f in cli["findings"]]


def test_api_raises_input_error_for_missing_path() -> None:
    with pytest.raises(mixedcontent.InputError, match="no such file"):
        mixedcontent.scan(["/nonexistent/site"])
