"""The Markdown report (job summaries, pull-request comments), rendered by a real CommonMark + GFM
table parser (markdown-it-py, which rich already brings) and read back as HTML."""

from __future__ import annotations

import io
import os

import lxml.html
import pytest
from conftest import ROOT
from markdown_it import MarkdownIt

from mixedcontent.model import ScanResult
from mixedcontent.report import FORMATS
from mixedcontent.report.markdown import FIRST_FINDINGS
from mixedcontent.scan import scan_files as scan_paths
from mixedcontent.settings import ScanSettings


def render(result: ScanResult) -> str:
    out = io.StringIO()
    FORMATS["markdown"](result, out)
    return out.getvalue()


def to_html(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring("<div>" + MarkdownIt("commonmark").enable("table").render(text) + "</div>")


def rows(doc: lxml.html.HtmlElement, first_header: str) -> list[list[str]]:
    for table in doc.xpath("//table"):
        if table.xpath("string(thead/tr/th[1])") == first_header:
            return [[td.text_content() for td in tr.xpath("td")] for tr in table.xpath("tbody/tr")]
    raise AssertionError(f"no table headed {first_header!r}")


@pytest.fixture(scope="module")
def example() -> ScanResult:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return scan_paths(["fixtures/example-site"], ScanSettings(jobs=1))
    finally:
        os.chdir(cwd)


def test_markdown_is_a_registered_format_and_the_cli_offers_it(run) -> None:  # type: ignore[no-untyped-def]
    assert "markdown" in FORMATS
    res = run("scan", os.path.join(ROOT, "fixtures", "example-site"), "--format", "markdown", "--no-config")
    assert res.code == 1
    assert res.out.startswith("## mixedcontent: 26 findings (14 errors, 11 warnings, 1 info) in 6 pages")


def test_markdown_counts_by_code_and_host(example: ScanResult) -> None:
    doc = to_html(render(example))
    by_code = {r[0]: int(r[4]) for r in rows(doc, "code")}
    # fixtures/example-site/README.md lists 11 MC101, 7 MC102, 3 MC103, 1 each of MC104, MC105, MC401, 2 MC201
    assert by_code == {"MC101": 11, "MC102": 7, "MC103": 3, "MC104": 1, "MC105": 1, "MC201": 2, "MC401": 1}
    by_host = {r[0]: int(r[1]) for r in rows(doc, "host")}
    assert by_host["images.example"] == 10 and by_host["192.0.2.10"] == 1
    findings = rows(doc, "location")
    assert len(findings) == 26
    assert ["fixtures/example-site/gallery.html:20:39", "MC103 imageset-request", "error", "<img srcset>",
            "http://images.example/photo-1@2x.jpg"] in findings


def test_hostile_urls_stay_inside_their_cells_and_never_link(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a|b`c[x](evil).html").write_text(
        '<img src="http://cdn.example/x|y``z*a*_b_<b>@octocat[l](http://evil.example/)\n.png">')
    result = scan_paths([str(tmp_path)], ScanSettings(jobs=1))
    assert len(result.findings) == 1
    doc = to_html(render(result))
    [row] = rows(doc, "location")
    assert len(row) == 5  # the pipes in the path and URL did not add cells
    # named as it opens from the working directory
    assert row[0] == os.path.relpath(tmp_path / "a|b`c[x](evil).html").replace(os.sep, "/") + ":1:11"
    # the URL as the WHATWG parser gives it: backticks and <> percent-encoded, the newline dropped
    assert row[4] == "http://cdn.example/x|y%60%60z*a*_b_%3Cb%3E@octocat[l](http://evil.example/).png"
    assert not doc.xpath("//a | //b | //em | //strong")  # nothing links, nothing formats


def test_long_scans_list_only_the_first_findings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "many.html").write_text("".join(f'<img src="http://h{i}.example/{i}.png">\n' for i in range(80)))
    result = scan_paths([str(tmp_path)], ScanSettings(jobs=1))
    assert len(result.findings) == 80
    text = render(result)
    doc = to_html(text)
    assert len(rows(doc, "location")) == FIRST_FINDINGS
    assert f"### First {FIRST_FINDINGS} of 80 findings" in text
    hosts = rows(doc, "host")
    assert hosts[-1] == ["65 more hosts", "65"]


def test_a_clean_scan_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ok.html").write_text('<img src="https://cdn.example/a.png">')
    text = render(scan_paths([str(tmp_path)], ScanSettings(jobs=1)))
    assert text.startswith("## mixedcontent: 0 findings in 1 page and 0 stylesheets\n")
    assert "No mixed content found." in text


def test_css_and_header_findings_are_labelled_as_a_person_reads_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mixedcontent.judge.findings import header_finding
    from mixedcontent.report.text import label

    (tmp_path / "site.css").write_text("@import 'http://c.example/i.css';\n"
                                       "@font-face { font-family: f; src: url(http://c.example/f.woff) }\n"
                                       "body { background-image: url(http://c.example/b.png) }\n")
    (tmp_path / "index.html").write_text(
        "<link rel=stylesheet href=site.css>"
        "<style>@import 'http://c.example/j.css'; @font-face { font-family: g; src: url(http://c.example/g.woff) }\n"
        "p { background-image: url(http://c.example/p.png) }</style>"
        "<div style='background-image: url(http://c.example/d.png)'></div>"
        "<iframe srcdoc=\"<style>a{cursor:url(http://c.example/c.cur),auto}</style><img src=http://c.example/i.png>\">"
        "</iframe><img src=http://c.example/x.png>")
    result = scan_paths([str(tmp_path)], ScanSettings(jobs=1, base_url="https://site.example/"))
    labels = {f.url.rsplit("/", 1)[1]: label(f) for f in result.findings if f.url}
    assert labels == {
        "i.css": "@import in stylesheet", "f.woff": "@font-face src in stylesheet",
        "b.png": "CSS background-image in stylesheet",
        "j.css": "@import in <style>", "g.woff": "@font-face src in <style>", "p.png": "CSS background-image in <style>",
        "d.png": "style attribute of <div>",
        "c.cur": "CSS cursor in <style> in <iframe srcdoc>", "i.png": "<img src> in <iframe srcdoc>",
        "x.png": "<img src>"}
    table = rows(to_html(render(result)), "location")
    assert sorted(r[3] for r in table) == sorted(labels.values())
    hsts = header_finding("MC506", "m", "https://site.example/", element="Strict-Transport-Security",
                          attribute="max-age")
    redirect = header_finding("MC501", "m", "http://site.example/", element="http", attribute="redirect")
    tls = header_finding("MC510", "m", "https://site.example/", element="tls", attribute="versions")
    assert [label(f) for f in (hsts, redirect, tls)] == ["Strict-Transport-Security: max-age", "http redirect",
                                                         "TLS versions"]
