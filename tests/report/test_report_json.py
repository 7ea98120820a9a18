"""The JSON report contract (SPEC §6): schema, the contract checker (tests/contract.py), spans, fixes and fingerprints."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import types
import typing
from importlib import resources
from typing import Any, Callable

import jsonschema
import pytest
from conftest import EXAMPLE, ROOT
from contract import check_report
from hypothesis import given, settings
from hypothesis import strategies as st

from mixedcontent.model import Finding
from mixedcontent.report.json import Later, Lazy, dump, dumps, finding_dict, finding_json


@pytest.fixture(scope="module")
def report() -> dict:  # type: ignore[type-arg]
    import io

    from mixedcontent.cli import main

    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        main(["scan", "fixtures/example-site", "--format", "json"], stdout=out, stderr=io.StringIO())
    finally:
        os.chdir(cwd)
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


def test_report_validates_against_the_schema(report) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads(resources.files("mixedcontent.report").joinpath("schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)


def test_report_keeps_the_contract(report) -> None:  # type: ignore[no-untyped-def]
    checked = check_report(report, EXAMPLE)
    assert checked.findings == checked.spans == checked.positions > 0


def test_every_span_holds_raw(report) -> None:  # type: ignore[no-untyped-def]
    for f in report["findings"]:
        data = open(os.path.join(EXAMPLE, f["file"]), "rb").read()
        assert data[f["offset"]:f["offset"] + f["length"]].decode("utf-8") == f["raw"]


def test_findings_are_ordered_and_fingerprints_unique(report) -> None:  # type: ignore[no-untyped-def]
    keys = [(f["file"] or f["page"], f["offset"], f["code"]) for f in report["findings"]]
    assert keys == sorted(keys)
    prints = [f["fingerprint"] for f in report["findings"]]
    assert len(set(prints)) == len(prints)


def test_summary_counts(report) -> None:  # type: ignore[no-untyped-def]
    s = report["summary"]
    assert (s["pages"], s["stylesheets"], s["documents"], s["findings"]) == (6, 2, 8, 26)
    assert s["by_code"] == {"MC101": 11, "MC102": 7, "MC103": 3, "MC104": 1, "MC105": 1, "MC201": 2, "MC401": 1}
    assert s["by_severity"] == {"error": 14, "warning": 11, "info": 1}


def _one(report, raw):  # type: ignore[no-untyped-def]
    return next(f for f in report["findings"] if f["raw"] == raw)


def test_fix_rewrites_only_the_scheme(report) -> None:  # type: ignore[no-untyped-def]
    f = _one(report, "HTTP://IMAGES.EXAMPLE/photo-3.jpg")
    assert f["fix"]["replacement"] == "https://IMAGES.EXAMPLE/photo-3.jpg"
    assert f["fix"]["applicability"] == "unsafe"
    assert f["fix"]["edits"] == [{"file": "gallery.html", "offset": f["offset"], "length": f["length"],
                                  "new": "https://IMAGES.EXAMPLE/photo-3.jpg"}]


def test_escaped_scheme_is_fixed_at_its_raw_text(report) -> None:  # type: ignore[no-untyped-def]
    f = _one(report, "http&#58;//images.example/photo-4.jpg")
    assert f["url"] == "http://images.example/photo-4.jpg"
    assert f["fix"]["applicability"] == "unsafe"
    assert f["fix"]["replacement"] == "https://images.example/photo-4.jpg"  # "http&#58;" -> "https:"


def test_relative_reference_under_http_base_is_fixed_at_the_base(report) -> None:  # type: ignore[no-untyped-def]
    img = _one(report, "images/scan-1996.gif")
    base = _one(report, "http://old.example/archive/")
    assert img["url"] == "http://old.example/archive/images/scan-1996.gif"
    assert img["fix"]["edits"] == [{"file": "legacy/old-page.html", "offset": base["offset"],
                                    "length": base["length"], "new": "https://old.example/archive/"}]


def test_stylesheet_findings_name_their_referrers(report) -> None:  # type: ignore[no-untyped-def]
    f = _one(report, "http://images.example/texture.png")
    assert f["file"] == "css/site.css" and f["page"] == "https://example.invalid/css/site.css"
    assert f["context"] == "stylesheet"
    # the hello-world page sends upgrade-insecure-requests, so it is not a referrer for which it is mixed
    assert f["referrers"] == ["about.html", "contact.html", "gallery.html", "index.html", "legacy/old-page.html"]


def test_script_literal_fix_is_display_only(report) -> None:  # type: ignore[no-untyped-def]
    f = _one(report, "http://api.example/v1/")
    assert f["code"] == "MC401" and f["fix"]["applicability"] == "display-only"
    assert f["destination"] is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.integers(min_value=0, max_value=4))
def test_report_writer_reads_back_as_the_same_value(doc: object, levels: int) -> None:
    import io

    from mixedcontent.report.json import dump

    out = io.StringIO()
    dump(doc, out, levels=levels)
    assert json.loads(out.getvalue()) == doc
    # the outer levels are laid out as json.dump(indent=2) does, each deeper value on one line
    if levels == 0 or not isinstance(doc, (dict, list)) or not doc:
        assert out.getvalue() == json.dumps(doc, ensure_ascii=False)
    else:
        assert out.getvalue().count("\n") >= len(doc) + 1


def test_report_has_one_finding_per_line(report) -> None:  # type: ignore[no-untyped-def]
    import io

    from mixedcontent.report.json import dump

    out = io.StringIO()
    dump(report, out)
    lines = out.getvalue().splitlines()
    finding_lines = [line for line in lines if line.startswith('    {"code": ')]
    assert len(finding_lines) == len(report["findings"]) > 0
    assert [json.loads(line.rstrip(",")) for line in finding_lines] == report["findings"]


def test_a_lazy_array_is_written_as_the_list_it_stands_for() -> None:
    import io

    from mixedcontent.report.json import Lazy, dump

    doc = {"a": [{"x": 1}, {"y": [2, 3]}], "b": []}
    lazy = {"a": Lazy([1, 2], lambda i: doc["a"][i - 1]), "b": Lazy([], str)}
    for levels in range(4):
        a, b = io.StringIO(), io.StringIO()
        dump(doc, a, levels=levels)
        dump(lazy, b, levels=levels)
        assert a.getvalue() == b.getvalue()


def test_the_report_makes_each_finding_dict_as_it_writes_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Memory (issue 19): a report's findings are turned into text one at a time, each after the one
    before it was written, so writing a report never holds every finding twice."""
    from mixedcontent.report import json as json_report
    from mixedcontent.scan import scan_files

    result = scan_files([EXAMPLE])
    out = io.StringIO()
    written_before: list[int] = []
    make = json_report.finding_json

    def finding_json(f):  # type: ignore[no-untyped-def]
        written_before.append(out.getvalue().count('\n    {"code": '))
        return make(f)

    monkeypatch.setattr(json_report, "finding_json", finding_json)
    json_report.write(result, out)
    assert len(result.findings) > 2 and written_before == list(range(len(result.findings)))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


@given(_json_values)
def test_dumps_is_json_dumps_with_lone_surrogates_escaped(value: object) -> None:
    """``dumps`` keeps one C encoder for the run (issue 19): its text is json.dumps's, ensure_ascii=False,
    except that each lone surrogate is its \\uXXXX escape (valid UTF-8 whatever the input)."""
    text = dumps(value)
    text.encode("utf-8")  # never raises
    assert json.loads(text) == value
    expected = json.dumps(value, ensure_ascii=False)
    assert text == re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", expected)
    assert dumps(value, replace_surrogates=True) == re.sub("[\ud800-\udfff]", "\ufffd", expected)
    assert dumps(value, sort_keys=True) == re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}",
                                                  json.dumps(value, ensure_ascii=False, sort_keys=True))


_any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)  # lone surrogates too


def _every_field(cls: type) -> st.SearchStrategy[Any]:
    """Instances of a model dataclass with every field drawn, defaulted ones too (``st.builds`` alone
    leaves those at their defaults), strings with lone surrogates, nested dataclasses likewise."""
    hints = typing.get_type_hints(cls)

    def of(hint: Any) -> st.SearchStrategy[Any]:
        args = typing.get_args(hint)
        if hint is str:
            return _any_text
        if dataclasses.is_dataclass(hint):
            return _every_field(hint)  # type: ignore[arg-type]
        if typing.get_origin(hint) in (types.UnionType, typing.Union):
            return st.one_of(*(of(a) for a in args))
        if typing.get_origin(hint) is tuple:
            return st.lists(of(args[0]), max_size=3).map(tuple)
        return st.from_type(hint)

    return st.builds(cls, **{f.name: of(hints[f.name]) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


_findings = _every_field(Finding)


@settings(max_examples=300)
@given(_findings)
def test_finding_json_is_dumps_of_finding_dict(finding: Finding) -> None:
    """The report writes each finding's text directly (issue 19); it must be the very text of its dict,
    for every field, set or not (a field added to one and not the other fails here)."""
    for replace in (False, True):
        out = io.StringIO()
        dump({"findings": Lazy([finding, finding], finding_dict, finding_json)}, out, replace_surrogates=replace)
        expected = io.StringIO()
        dump({"findings": [finding_dict(finding), finding_dict(finding)]}, expected, replace_surrogates=replace)
        assert out.getvalue() == expected.getvalue()
    assert finding_json(finding) == dumps(finding_dict(finding)) or not finding_json(finding).isascii()


def _render(lazy: Lazy[Any], workers: int) -> str:
    out = io.StringIO()
    dump({"findings": lazy, "n": 1}, out, workers=workers)
    return out.getvalue()


_ITEMS = [{"i": i, "s": "é\ud800" if i % 7 == 0 else "x" * (i % 5)} for i in range(101)]


def _in_a_fresh_process(check: str) -> None:
    """Run ``check`` (a function of this module) in a new interpreter: the forked rendering needs a
    process without other threads, and pytest's may hold some that earlier tests left behind."""
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys; sys.path[:0] = {[here, os.path.dirname(here)]!r}; "
            f"import test_report_json; test_report_json.{check}()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def _pids(lazy_text: Callable[[Any], str]) -> list[int]:
    return [d["pid"] for d in json.loads(_render(Lazy(_ITEMS, dict, lazy_text), 2))["findings"]]


def _pid(d: object) -> str:
    return dumps({"pid": os.getpid()})


def _check_two_processes() -> None:
    from mixedcontent.report import json as json_report

    json_report.PARALLEL_MIN = 100
    lazy = Lazy(_ITEMS, dict, dumps)
    serial = _render(lazy, 1)
    assert _render(lazy, 2) == serial
    # into a file: the child's text copied as bytes to a UTF-8 stream's buffer, decoded for any other
    import tempfile

    for encoding in ("utf-8", "UTF8", "utf-16"):
        with tempfile.TemporaryFile("w+", encoding=encoding, newline="") as f:
            dump({"findings": lazy, "n": 1}, f, workers=2)
            f.seek(0)
            assert f.read() == serial, encoding
    assert json.loads(serial.replace("\\ud800", ""))["findings"] == [
        {**d, "s": d["s"].replace("\ud800", "")} for d in _ITEMS]
    # who rendered which: the first half here, the second in another process
    pids = _pids(_pid)
    assert pids[:50] == [os.getpid()] * 50
    assert len(set(pids[50:])) == 1 and pids[50] != os.getpid()
    # below the threshold, or with one worker, everything is rendered here
    assert {d["pid"] for d in json.loads(_render(Lazy(_ITEMS, dict, _pid), 1))["findings"]} == {os.getpid()}
    json_report.PARALLEL_MIN = 102
    assert set(_pids(_pid)) == {os.getpid()}
    json_report.PARALLEL_MIN = 100
    # a Later value (the report's summary) is made once: while the child renders when there is one (this
    # process has written only its half then), else when it is reached; the text is the same as for the value
    plain = io.StringIO()
    dump({"findings": Lazy(_ITEMS, dict, dumps), "summary": {"k": [1, 2]}, "n": 1}, plain)
    for workers, made_before in ((2, True), (1, False)):
        out = io.StringIO()
        made: list[int] = []
        later = Later(lambda: made.append(out.getvalue().count("\n")) or {"k": [1, 2]})  # noqa: B023
        dump({"findings": Lazy(_ITEMS, dict, dumps), "summary": later, "n": 1}, out, workers=workers)
        assert out.getvalue() == plain.getvalue()
        assert len(made) == 1 and (made[0] < len(_ITEMS)) is made_before, (workers, made)


def test_a_long_array_is_rendered_in_two_processes_to_the_same_text() -> None:
    """Issue 19: at PARALLEL_MIN items and more, with workers to spare, a forked child renders the second
    half of a report's findings while this process writes the first; the text is the same."""
    _in_a_fresh_process("_check_two_processes")


def _check_fallbacks() -> None:
    import tempfile
    import threading

    from mixedcontent.report import json as json_report

    json_report.PARALLEL_MIN = 100
    here = os.getpid()
    serial = _render(Lazy(_ITEMS, dict, dumps), 1)

    def fails_elsewhere(d: object) -> str:
        if os.getpid() != here:
            raise RuntimeError("the child fails")
        return dumps(d)

    # the child fails part-way: its text is dropped and the second half rendered here
    assert _render(Lazy(_ITEMS, dict, fails_elsewhere), 2) == serial
    assert len(set(_pids(_pid))) == 2  # (the two cases below would fork but for what they set up)
    # another thread is running: no fork (a child would copy its locks as they stand)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert set(_pids(_pid)) == {here}
        assert _render(Lazy(_ITEMS, dict, dumps), 2) == serial
    finally:
        stop.set()
        thread.join()

    # no temp file to be had: rendered here
    def no_space(*args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    tempfile.TemporaryFile = no_space  # type: ignore[assignment]
    assert set(_pids(_pid)) == {here}
    assert _render(Lazy(_ITEMS, dict, dumps), 2) == serial


def test_a_child_that_fails_or_cannot_be_had_leaves_the_rendering_here() -> None:
    _in_a_fresh_process("_check_fallbacks")
