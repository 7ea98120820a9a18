"""Deeply nested CSS and markup cost memory in proportion to the input, never the Python stack.

CSS sets no nesting limit, so a URL is reported however deep it sits. Each construct is tried at a
depth far past Python's recursion limit in a linked stylesheet, a <style> element and a style
attribute, and the URLs before and after it are found too. Memory is checked with tracemalloc: the
peak per input character must not grow with the depth (a timer would be flaky on a shared machine).
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable

import pytest

from mixedcontent.extract.css import extract_declarations, extract_stylesheet
from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import decode_html

DEEP = "http://deep.example/a.png"
AFTER = "http://after.example/b.png"

# the innermost part of each construct holds url(DEEP); (prefix per level, innermost, close per level)
CONSTRUCTS = {
    "style rules": ("a{", f"b:url({DEEP})", "}"),
    "parentheses": ("(", f"url({DEEP})", ")"),
    "@media": ("@media screen{", f"a{{b:url({DEEP})}}", "}"),
    "image-set()": ("image-set(", f"url({DEEP}) 1x", ")"),
    "var() fallbacks": ("var(--x,", f"url({DEEP})", ")"),
}
VALUE_CONSTRUCTS = ("parentheses", "image-set()", "var() fallbacks")


def stylesheet(name: str, depth: int, closed: bool = True) -> str:
    open_, inner, close = CONSTRUCTS[name]
    body = open_ * depth + inner + (close * depth if closed else "")
    if name in VALUE_CONSTRUCTS:
        body = f"x{{y:{body}}}"
    return f"p{{background:url(http://before.example/0.png)}}{body}q{{background:url({AFTER})}}"


def declarations(name: str, depth: int) -> str:
    open_, inner, close = CONSTRUCTS[name]
    return f"color:red;background:{open_ * depth}{inner}{close * depth};border-image:url({AFTER})"


@pytest.mark.parametrize("name", CONSTRUCTS)
@pytest.mark.parametrize("closed", [True, False], ids=["closed", "unclosed"])
def test_a_deep_construct_in_a_stylesheet_is_walked_to_the_bottom(name: str, closed: bool) -> None:
    text = stylesheet(name, 3000, closed)
    found = [u.value for u in extract_stylesheet(text)]
    if closed:
        assert found == ["http://before.example/0.png", DEEP, AFTER]
    else:  # the rest of the sheet is inside the deepest block, parsed as browsers parse it
        assert found[0] == "http://before.example/0.png"


@pytest.mark.parametrize("name", VALUE_CONSTRUCTS)
def test_a_deep_construct_in_a_style_attribute_is_walked_to_the_bottom(name: str) -> None:
    assert [u.value for u in extract_declarations(declarations(name, 3000))] == [DEEP, AFTER]


def _page_urls(html: str) -> list[str]:
    page = PageContext("https://example.invalid/p.html", True)
    return [r.url for r in extract_html(decode_html(html.encode()), page).references]


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_a_deep_style_element_keeps_the_pages_other_findings(name: str) -> None:
    html = (f'<img src="http://img.example/1.png"><style>{stylesheet(name, 3000)}</style>'
            f'<img src="http://img.example/2.png">')
    urls = _page_urls(html)
    assert urls[0] == "http://img.example/1.png" and urls[-1] == "http://img.example/2.png"
    assert DEEP in urls and AFTER in urls


@pytest.mark.parametrize("name", VALUE_CONSTRUCTS)
def test_a_deep_style_attribute_keeps_the_pages_other_findings(name: str) -> None:
    html = f'<div style="{declarations(name, 3000)}"></div><img src="http://img.example/2.png">'
    assert _page_urls(html) == [DEEP, AFTER, "http://img.example/2.png"]


def _peak_per_char(fn: Callable[[str], object], text: str) -> float:
    tracemalloc.start()
    try:
        fn(text)
        return tracemalloc.get_traced_memory()[1] / len(text)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_memory_grows_in_proportion_to_the_depth(name: str) -> None:
    small = _peak_per_char(extract_stylesheet, stylesheet(name, 1000))
    large = _peak_per_char(extract_stylesheet, stylesheet(name, 4000))
    assert large < 1.5 * small, (small, large)


def test_a_deep_linked_stylesheet_and_style_element_leave_no_error_entry(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "deep.css").write_text(stylesheet("style rules", 3000) + stylesheet("var() fallbacks", 3000))
    (tmp_path / "index.html").write_text(
        f'<link rel=stylesheet href="deep.css"><style>{stylesheet("@media", 3000)}</style>'
        f'<img src="http://img.example/1.png">')
    rep = json.loads(run("scan", str(tmp_path), "--format", "json").out)
    assert rep["errors"] == []
    urls = [f["url"] for f in rep["findings"]]
    assert urls.count(DEEP) == 3 and "http://img.example/1.png" in urls
