"""The HTML report: self-contained, escaped against hostile input, and working in a real browser
(Debian's headless Chromium; .ci/run installs it)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import replace

import lxml.html
import pytest
from conftest import EXAMPLE, ROOT
from servers import raw_server

from mixedcontent.model import Applicability, ProbeResult
from mixedcontent.report import FORMATS
from mixedcontent.report.text import safe
from mixedcontent.scan import scan_files as scan_paths
from mixedcontent.settings import ScanSettings

HOSTILE_NAME = "<script>alert(1)<\\script>\"'&.html"
HOSTILE_PAGE = """<!DOCTYPE html><title>x</title>
<img src="http://cdn.example/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.png">
<img src="http://cdn.example/</script><script>alert(2)</script>.png">
<script src="http://evil.example/'onmouseover='alert(3)'.js"></script>
<img src="http://cdn.example/\u202e\u0007\x1b[31m.png">
<iframe srcdoc="<img src=&quot;http://cdn.example/&amp;lt;b&amp;gt;.png&quot;>"></iframe>
"""


def render(result) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    FORMATS["html"](result, out)
    return out.getvalue()


@pytest.fixture
def hostile(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / HOSTILE_NAME).write_text(HOSTILE_PAGE)
    result = scan_paths([str(tmp_path)], ScanSettings(jobs=1))
    assert len(result.findings) == 5
    path = tmp_path / "report.html"
    path.write_text(render(result), encoding="utf-8")
    return result, path


def test_report_is_self_contained_and_escaped(hostile) -> None:  # type: ignore[no-untyped-def]
    result, path = hostile
    html = path.read_text(encoding="utf-8")
    doc = lxml.html.fromstring(html)
    assert len(doc.xpath("//script")) == 1  # ours, and nothing a finding smuggled in
    assert not doc.xpath("//img | //iframe | //link | //object | //embed")
    assert not [a for el in doc.iter() if isinstance(el.tag, str) for a in el.attrib if a.startswith("on")]
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)  # no fetches of any kind
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert csp.startswith("default-src 'none'")
    assert "\x1b" not in html and "\x07" not in html and "\u202e" not in html
    # every finding is shown, its reference highlighted as text
    rows = doc.xpath("//tr[contains(@class, 'finding')]")
    assert sorted(tr.get("data-url") for tr in rows) == sorted(f.url for f in result.findings)
    assert sorted(m.text_content() for m in doc.xpath("//td[@class='src']//mark")) == sorted(
        safe(f.raw) for f in result.findings)


def test_summary_tables_count_codes_categories_and_hosts() -> None:
    result = scan_paths([EXAMPLE], ScanSettings(jobs=1))
    doc = lxml.html.fromstring(render(result))
    by_code = {tr[0].text_content(): int(tr[1].text_content()) for tr in doc.xpath("//table[@id='by-code']/tbody/tr")}
    assert by_code["MC101 upgradable-request"] == 11 and sum(by_code.values()) == 26
    hosts = {tr[0].text_content(): int(tr[1].text_content()) for tr in doc.xpath("//table[@id='by-host']/tbody/tr")}
    assert hosts["images.example"] >= 5
    assert doc.xpath("//span[@id='total']")[0].text_content() == "26"


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install Debian's chromium")
        pytest.skip("chromium not installed (CI installs it)")
    return exe


def _dump_dom(path, tmp_path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return _dump_dom_url(path.as_uri(), tmp_path)


def _dump_dom_url(url: str, tmp_path, extra: list[str] | None = None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    exe = _chromium()
    res = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=3000", *(extra or []), "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout, res.stderr


def test_chromium_loads_the_hostile_report_without_console_errors(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result, path = hostile
    dom, log = _dump_dom(path, tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Refused to" in line or "Uncaught" in line]
    assert console == []
    doc = lxml.html.fromstring(dom)
    assert doc.xpath("//body/@data-ready") == ["1"]  # our script ran under the page's own CSP
    assert doc.xpath("//span[@id='shown']")[0].text_content() == str(len(result.findings))
    assert len(doc.xpath("//script")) == 1 and not doc.xpath("//img")


# ---- what each finding shows -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example():  # type: ignore[no-untyped-def]
    cwd = os.getcwd()
    os.chdir(ROOT)  # the report reads source lines from the inputs as named, from the working directory
    try:
        result = scan_paths(["fixtures/example-site"], ScanSettings(jobs=1))
        return result, lxml.html.fromstring(render(result))
    finally:
        os.chdir(cwd)


def _row(doc, page: str, where: str):  # type: ignore[no-untyped-def]
    # pages are named as they open from the working directory (the scan ran from the repository root)
    [tr] = [tr for tr in doc.xpath(f"//tr[@data-page='fixtures/example-site/{page}']")
            if tr.xpath("string(td[1])") == where]
    return tr


def test_bars_are_inline_svg_proportional_to_the_counts(example) -> None:  # type: ignore[no-untyped-def]
    _, doc = example
    bars = {tr[0].text_content(): float(tr.xpath("td[3]/svg/rect/@width")[0])
            for tr in doc.xpath("//table[@id='by-code']/tbody/tr")}
    assert bars["MC101 upgradable-request"] == 180  # the largest count fills the bar
    assert bars["MC102 blockable-request"] == round(180 * 7 / 11)
    assert bars["MC105 insecure-base-href"] == round(180 / 11)


def test_each_finding_shows_its_source_line_with_the_reference_highlighted(example) -> None:  # type: ignore[no-untyped-def]
    _, doc = example
    with open(os.path.join(EXAMPLE, "index.html"), encoding="utf-8") as f:
        line24 = f.read().splitlines()[23]  # index.html:24 (1-based), read independently of the report
    tr = _row(doc, "index.html", "24:15")
    code = tr.xpath("td[@class='src']/code")[0]
    assert code.text_content() == line24.strip()
    assert code.xpath("mark")[0].text_content() == "http://images.example/hero.jpg"
    # a reference resolved through <base href>: the raw text is highlighted, the requested URL said
    tr = _row(doc, "legacy/old-page.html", "19:15")
    assert tr.xpath("string(td[@class='src']/code/mark)") == "images/scan-1996.gif"
    assert tr.xpath("string(td[@class='src']//span[@class='url'])") == "http://old.example/archive/images/scan-1996.gif"
    # a stylesheet's line
    tr = _row(doc, "css/site.css", "7:25")
    assert "url(" in tr.xpath("string(td[@class='src']/code)")


def test_rule_explanation_probe_and_fix_badges(example) -> None:  # type: ignore[no-untyped-def]
    _, doc = example
    tr = _row(doc, "index.html", "11:16")
    why = tr.xpath("td[@class='code']/details")[0]
    assert why.xpath("string(summary)") == "why"
    # the first paragraph of rules/docs/MC102.md, its Markdown rendered, and a link to the full page below
    assert why.xpath("string(div)").startswith("An http:// subresource that browsers block on an https page.")
    assert why.xpath("div/code/text()") == ["http://"]
    assert why.xpath(".//a/@href") == ["#rule-MC102"]
    assert doc.xpath("//section[@id='rules']/details[@id='rule-MC102']/summary")[0].text_content() == \
        "MC102 blockable-request"
    assert tr.xpath("string(td[@class='https'])") == "not probed"
    assert "fixable by mixedcontent fix once https is proven" in tr.xpath("string(td[@class='fix'])")
    tr = _row(doc, "index.html", "41:29")  # MC401: shown, never rewritten
    assert tr.xpath("string(td[@class='fix']/span)") == "fix by hand"
    assert "never rewritten" in tr.xpath("string(td[@class='fix'])")


def test_probe_verdicts_and_proven_fixes_as_badges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.html").write_text('<img src="http://a.example/1.png"><img src="http://b.example/2.png">')
    result = scan_paths([str(tmp_path)], ScanSettings(jobs=1))
    a, b = result.findings
    assert a.fix is not None
    a = replace(a, https=ProbeResult("available", "ok", 200), fix=replace(a.fix, applicability=Applicability.SAFE))
    b = replace(b, https=ProbeResult("unavailable", "http-404", 404))
    doc = lxml.html.fromstring(render(replace(result, findings=(a, b))))
    rows = doc.xpath("//tr[contains(@class, 'finding')]")
    assert rows[0].xpath("string(td[@class='https'])") == "https works"
    assert rows[0].xpath("string(td[@class='fix']/span)") == "fixable by mixedcontent fix"
    assert rows[1].xpath("string(td[@class='https'])") == "https unavailable: http-404"
    assert rows[1].xpath("td[@class='https']/span/@class") == ["badge probe-bad"]


def test_suppressed_findings_are_marked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.html").write_text('<img src="http://a.example/1.png">\n<script src="http://b.example/x.js"></script>')
    first = scan_paths([str(tmp_path)], ScanSettings(jobs=1))
    baseline = frozenset({first.findings[0].fingerprint})
    result = scan_paths([str(tmp_path)], ScanSettings(jobs=1, baseline=baseline), show_suppressed=True)
    doc = lxml.html.fromstring(render(result))
    rows = doc.xpath("//tr[contains(@class, 'finding')]")
    assert [r.get("class") for r in rows] == ["finding warning suppressed", "finding error"]
    assert rows[0].xpath("string(.//span[contains(@class, 'suppressed-badge')])") == "suppressed (baseline)"
    assert doc.xpath("string(//span[@id='total'])") == "1"  # counts are of what is not suppressed


def test_source_line_is_shown_only_while_the_file_still_holds_the_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.html"
    page.write_text('<p>text <img src="http://a.example/1.png" alt="x"></p>')
    result = scan_paths([str(page)], ScanSettings(jobs=1))
    doc = lxml.html.fromstring(render(result))
    assert doc.xpath("string(//td[@class='src']/code)") == '<p>text <img src="http://a.example/1.png" alt="x"></p>'
    page.write_text('<p>changed <img src="https://a.example/1.png"></p>')  # changed since the scan
    doc = lxml.html.fromstring(render(result))
    assert doc.xpath("string(//td[@class='src']/code)") == "http://a.example/1.png"
    crawled = replace(result, findings=tuple(replace(f, file=None) for f in result.findings))  # no file on disk
    assert lxml.html.fromstring(render(crawled)).xpath("string(//td[@class='src']/code)") == "http://a.example/1.png"


def test_long_lines_are_cut_around_the_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "min.html"
    page.write_text("<p>" + "a" * 5000 + '<img src="http://a.example/1.png">' + "b" * 5000 + "</p>")
    doc = lxml.html.fromstring(render(scan_paths([str(page)], ScanSettings(jobs=1))))
    text = doc.xpath("string(//td[@class='src']/code)")
    # 120 characters on each side: 110 a's and '<img src="' before, '">' and 118 b's after
    assert text == "…" + "a" * 110 + '<img src="http://a.example/1.png">' + "b" * 118 + "…"


# ---- in a real browser: filters, and nothing loaded ----------------------------------------------------

def test_chromium_filters_by_code_host_and_page_from_the_fragment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = scan_paths([EXAMPLE], ScanSettings(jobs=1))
    path = tmp_path / "report.html"
    path.write_text(render(result), encoding="utf-8")
    for fragment, expected in (("code=MC102", 7), ("host=images.example", 10), ("page=fixtures/example-site/gallery.html", 5),
                               ("category=upgradable&page=fixtures/example-site/index.html", 2), ("q=favicon", 1)):
        dom, _ = _dump_dom_url(path.as_uri() + "#" + fragment, tmp_path)
        doc = lxml.html.fromstring(dom)
        shown = [tr for tr in doc.xpath("//tr[contains(@class, 'finding')]") if tr.get("hidden") is None]
        assert doc.xpath("string(//span[@id='shown'])") == str(expected) == str(len(shown)), fragment
        visible_pages = {s.get("data-page") for s in doc.xpath("//section[@class='page']") if s.get("hidden") is None}
        assert visible_pages == {tr.get("data-page") for tr in shown}, fragment


def _counting_server(body: bytes, requests: list[str]):  # type: ignore[no-untyped-def]
    """Loopback HTTP that records the first line (or first bytes) of every connection it gets."""
    def handler(conn) -> None:  # type: ignore[no-untyped-def]
        conn.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
            if not head.startswith((b"GET", b"HEAD", b"POST", b"OPTIONS")):
                break  # a TLS handshake or anything else: recorded as it came
        first = head.split(b"\r\n", 1)[0]
        host = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"host:")]
        # the page's hosts only (an HTTP Host header, or the server name in a TLS ClientHello): Chromium's
        # own background requests (network time, updates) reach this server too, under Google's names
        if b".example" in head or b"report.test" in head:
            requests.append((first + b" " + (host[0] if host else b"")).decode("latin-1"))
        if first.startswith(b"GET /report.html"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    return raw_server(handler)


def _requests_made(body: bytes, tmp_path) -> list[str]:  # type: ignore[no-untyped-def]
    """Every request Chromium makes while loading ``body`` from http://report.test/report.html: each
    host name resolves to one loopback server that counts what reaches it."""
    requests: list[str] = []
    with _counting_server(body, requests) as port:
        _dump_dom_url("http://report.test/report.html", tmp_path,
                      extra=[f"--host-resolver-rules=MAP * 127.0.0.1:{port}"])
    return requests


def test_chromium_loading_the_report_makes_no_request_but_its_own(hostile, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, path = hostile
    # the harness sees loads: a page with the same hostile markup, unescaped, makes requests
    control = _requests_made(HOSTILE_PAGE.encode(), tmp_path / "control")
    assert len(control) > 1 and any("cdn.example" in r for r in control), control
    requests = _requests_made(path.read_bytes(), tmp_path / "report")
    assert requests == ["GET /report.html HTTP/1.1 Host: report.test"], requests
