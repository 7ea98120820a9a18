"""The HTML report: self-contained, escaped against hostile input, and working in a real browser
(Debian's headless Chromium; .ci/run installs it)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess

import lxml.html
import pytest
from conftest import EXAMPLE

from mixedcontent.scan import scan_files as scan_paths
from mixedcontent.report import FORMATS
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
    # every finding is shown, with its URL as text
    urls = [td.text_content() for td in doc.xpath("//td[@class='url']")]
    assert sorted(urls) == sorted(f.url for f in result.findings)


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
    exe = _chromium()
    res = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120)
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
