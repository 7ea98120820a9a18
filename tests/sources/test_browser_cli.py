"""``scan --render`` and ``csp --render`` from the command line: the JSON report with the added fields
(valid against the schema), a page that hangs as an error entry while the run goes on, flags checked
at the edge, and a one-line error when Chromium is not installed. One browser run for the module."""

from __future__ import annotations

import json
import os
from importlib import resources
from typing import Any

import jsonschema
import pytest
from conftest import needs_chromium

PAGES = {
    "index.html": """<!DOCTYPE html><html><head><title>home</title></head><body>
<img src="http://cdn.example/logo.png" alt="logo">
<script>
var s = document.createElement('script'); s.src = 'http://comments.example/embed.js';
document.head.appendChild(s);
</script>
</body></html>
""",
    "hang.html": "<!DOCTYPE html><title>hang</title><script>while (true) {}</script>\n",
    # loads, then its script never yields again: read as it is at the deadline, not an error
    "after-load.html": """<!DOCTYPE html><title>after load</title>
<img src="http://cdn.example/early.png" alt="">
<script>addEventListener('load', function () { setTimeout(function () { while (true) {} }, 0); });</script>
""",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("render-cli")
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    return str(root)


@pytest.fixture(scope="module")
def report(site: str) -> tuple[int, dict[str, Any], str]:
    import io

    from mixedcontent.cli import main

    needs_chromium()
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "scan",
            site,
            "--render",
            "--render-timeout",
            "8",
            "--render-jobs",
            "2",
            "--format",
            "json",
            "--no-config",
        ],
        stdout=out,
        stderr=err,
    )
    return code, json.loads(out.getvalue()), err.getvalue()


def test_render_report_has_confirmed_and_runtime_findings(report: tuple[int, dict[str, Any], str]) -> None:
    code, doc, _ = report
    assert code == 1
    by_url = {(f["code"], f["url"]): f for f in doc["findings"]}
    assert by_url[("MC101", "http://cdn.example/logo.png")]["confirmed_by"] == "chromium"
    mc402 = by_url[("MC402", "http://comments.example/embed.js")]
    assert (mc402["category"], mc402["severity"], mc402["file"]) == ("blockable", "error", "index.html")
    loc = mc402["initiator_location"]
    assert loc["url"] == "https://example.invalid/index.html" and loc["line"] == 5 and mc402["line"] == 5
    assert loc["offset"] == mc402["offset"] == PAGES["index.html"].encode().index(b"appendChild(s)")
    assert "confirmed_by" not in by_url[("MC401", "http://comments.example/embed.js")]
    assert doc["summary"]["by_code"]["MC402"] == 1


def test_render_report_validates_against_the_schema(report: tuple[int, dict[str, Any], str]) -> None:
    schema = json.loads(resources.files("mixedcontent.report").joinpath("schema.json").read_text())
    jsonschema.validate(report[1], schema, cls=jsonschema.Draft202012Validator)


def test_a_page_that_hangs_is_an_error_entry_and_the_run_goes_on(
    report: tuple[int, dict[str, Any], str],
) -> None:
    _, doc, err = report
    assert doc["errors"] == [
        {"file": "hang.html", "url": None, "message": "--render: did not load within 8 s"}
    ]
    assert "mixedcontent: rendered 2 pages in Chromium (1 could not be rendered)" in err
    assert doc["summary"]["pages"] == 3


def test_a_page_that_hangs_after_its_load_event_keeps_its_verdicts(
    report: tuple[int, dict[str, Any], str],
) -> None:
    _, doc, _ = report
    [early] = [f for f in doc["findings"] if f["file"] == "after-load.html"]
    assert (early["code"], early["confirmed_by"]) == ("MC101", "chromium")


def test_without_chromium_render_is_a_one_line_error(
    site: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, run: Any
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on PATH
    r = run("scan", site, "--render", "--no-config")
    assert r.code == 2 and r.out == ""
    assert r.err == (
        "mixedcontent: --render needs Chromium: install the Debian package chromium-headless-shell "
        "(apt-get install chromium-headless-shell) or chromium\n"
    )
    r = run("csp", site, "--render", "--no-config")
    assert r.code == 2 and "Debian package chromium" in r.err and r.err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--render-timeout", "3"), "--render-timeout needs --render"),
        (("--render", "--render-jobs", "0"), "--render-jobs must be 1 or more, got 0"),
        (
            ("--render", "--render-timeout", "0"),
            "--render-timeout must be a positive number of seconds, got 0.0",
        ),
        (
            ("--render", "--no-scripting"),
            "--render runs the pages' scripts: it cannot judge as --no-scripting does",
        ),
        (
            ("--render", "--workers", "2"),
            "--render does not run on --workers/--scheduler: scan without them to render",
        ),
    ],
)
def test_render_flags_are_checked_at_the_edge(
    site: str, run: Any, argv: tuple[str, ...], message: str
) -> None:
    r = run("scan", site, "--no-config", *argv)
    assert (r.code, r.err) == (2, f"mixedcontent: {message}\n")


def test_render_of_web_archives_does_not_run_on_a_cluster(tmp_path: Any, run: Any) -> None:
    archive = tmp_path / "site.warc"
    archive.write_bytes(b"")
    r = run("scan", str(archive), "--render", "--workers", "2", "--no-config")
    assert (r.code, r.out) == (2, "")
    assert r.err == "mixedcontent: --render does not run on --workers/--scheduler: scan without them to render\n"


def test_scan_without_render_writes_no_added_fields(site: str, run: Any) -> None:
    r = run("scan", os.path.join(site, "index.html"), "--format", "json", "--no-config")
    assert all(
        "confirmed_by" not in f and "initiator_location" not in f for f in json.loads(r.out)["findings"]
    )


@pytest.mark.parametrize("target", ["https://site.example/", "site.warc.gz", "index.html"])
def test_scan_with_render_needs_chromium_before_any_work(target: str, tmp_path: Any) -> None:
    """``scan(targets, render=...)`` runs the browser pass for every kind of target; without the browser
    it stops before crawling, indexing or reading anything (nothing here exists, nothing is contacted)."""
    from mixedcontent.errors import UsageError
    from mixedcontent.scan import scan
    from mixedcontent.sources.browser import RenderSettings

    missing = RenderSettings(chromium=str(tmp_path / "no-chromium"))
    with pytest.raises(UsageError, match="^--render needs Chromium: install the Debian package chromium"):
        scan([str(tmp_path / target) if "://" not in target else target], render=missing)
