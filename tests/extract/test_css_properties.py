"""Fuzz properties of CSS extraction: on any stylesheet or declaration list (nested rules,
at-rules, functions, escapes, strings, comments, unclosed blocks) it never raises, every URL's
``raw`` is exactly ``text[start:end]``, and spans come in source order without overlapping."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixedcontent.extract.css import CssUrl, extract_declarations, extract_stylesheet

PIECES = [
    "a{",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    ";",
    ":",
    ",",
    " ",
    "\n",
    "\r\n",
    "\f",
    "\t",
    "\\",
    "\\\n",
    "\\68",
    "\\68 ",
    "\\000068",
    "\\,",
    "'",
    '"',
    "/*",
    "*/",
    "<!--",
    "-->",
    "@import ",
    "@media screen{",
    "@supports (x:y){",
    "@font-face{src:",
    "@layer x;",
    '@charset "utf-8";',
    "@namespace url(x);",
    "url(",
    "URL(",
    "u\\72l(",
    "url( ",
    "src(",
    "image-set(",
    "-webkit-image-set(",
    "var(--x,",
    "local(",
    "background:",
    "--bg:",
    "http://cdn.example/a.png",
    "HTTP://X.example/",
    "h\tttp://t.example/",
    "//cdn.example/b",
    "x.png",
    " 2x",
    "&{",
    "&:hover{",
    "é",
    "日本",
    "😀",
    "\x00",
    "\ufffd",
]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=60).map("".join)


def check(found: list[CssUrl], text: str) -> None:
    last = 0
    for u in found:
        assert text[u.start : u.end] == u.raw, u
        assert u.start >= last, (u, last)
        last = u.end


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_stylesheet_extraction_never_raises_and_spans_equal_raw(text: str) -> None:
    check(extract_stylesheet(text), text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_declaration_extraction_never_raises_and_spans_equal_raw(text: str) -> None:
    check(extract_declarations(text), text)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(["a{", "(", "@media screen{", "image-set(", "var(--x,", "[", "&{"]), st.integers(1, 3000)
)
def test_any_nesting_depth_is_walked(opener: str, depth: int) -> None:
    text = "x{y:" + opener * depth + "url(http://deep.example/a.png)"
    check(extract_stylesheet(text), text)
