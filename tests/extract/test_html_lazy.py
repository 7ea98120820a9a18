"""The fast skip patterns are compiled on first need (html._FAST_AFTER): a process reads its first
documents the exhaustive way, which finds the same references, and a one-page scan never pays for
compiling them (issue 19, start-up). Each case runs in a fresh interpreter, where nothing is compiled
yet (this test process compiled them in conftest)."""

from __future__ import annotations

import subprocess
import sys

from conftest import EXAMPLE, ROOT

_PROBE = """
import sys
from mixedcontent.cli import main
from mixedcontent.extract import html
code = main(sys.argv[1:])
print(html._fast_skips.cache_info().currsize, html._read_exhaustively, file=sys.stderr)
"""


def _compiled_after(*argv: str) -> tuple[bool, int]:
    r = subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    compiled, read = r.stderr.strip().splitlines()[-1].split()
    return compiled == "1", int(read)


def test_a_one_page_scan_compiles_no_fast_pattern() -> None:
    compiled, read = _compiled_after("scan", f"{EXAMPLE}/index.html", "--format", "json")
    assert not compiled and 0 < read < 128_000


def test_past_the_threshold_the_fast_patterns_are_compiled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = "<p>" + "x" * 1000 + '<img src="http://cdn.example/a.png"></p>\n'
    for i in range(3):
        (tmp_path / f"p{i}.html").write_text(page * 60)  # ~60,000 code points each
    compiled, read = _compiled_after("scan", str(tmp_path), "--format", "json", "--jobs", "1")
    assert compiled and read <= 128_000


def test_the_references_are_the_same_either_way(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mixedcontent.extract.html import PageContext, extract_html
    from mixedcontent.extract.source import decode_html

    with open(f"{EXAMPLE}/index.html", "rb") as f:
        src = decode_html(f.read())
    page = PageContext("https://example.test/", True)
    assert extract_html(src, page).references == extract_html(src, page, exhaustive=True).references != []
