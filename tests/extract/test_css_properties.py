"""Fuzz properties of CSS extraction: on any stylesheet or declaration list (nested rules,
at-rules, functions, escapes, strings, comments, unclosed blocks) it never raises, every URL's
``raw`` is exactly ``text[start:end]``, and spans come in source order without overlapping."""

from __future__ import annotations

import pytest
from css_pieces import CSS_PIECES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixedcontent.extract import css
from mixedcontent.extract.css import CssUrl, extract_declarations, extract_stylesheet

PIECES = CSS_PIECES
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


# ---- the plain subset read by regular expressions equals tinycss2's reading -------------------------

PLAIN_PIECES = [
    "a", ".x", "p>q", "h1,h2", "*", " ", "{", "}", ";", ":", "color", "background", "BACKGROUND-IMAGE", "--v",
    "-x", "_y", "url(", "url( ", "URL(", "Url(\t", ")", " )", "http://c.example/a.png", "HTTP://C.example/b;c",
    "'", '"', "/x.png", "rgb(1,2,3)", "calc(1px/2)", "#fff", "#", "!important", "1.5em", "-1e3", "-url(", "xurl(",
    "#url(", "5url(", "--url(", ".url(", "+url(", ",", ">", "a:hover", "-->", "<!--", "/*", "*/", "/", "é", "日",
    "e", "+", "\t", "\n", "\r\n", "\f", "\r", "src(", "image-set(", "local(", "@media x{", "[", "]", "(",
    "\x7f", "\x01", "\\", "\x00", "''", '""', "'a;b'", '"u(x)"', "url()", "url(  )", "url(a b)", "url('x' y)",
]
plain_texts = st.lists(st.sampled_from(PLAIN_PIECES), max_size=30).map("".join)
# whole value tokens and rule-shaped texts, so that most land in the plain subset and hold URLs
VALUE_TOKENS = [
    "url(http://c.example/a.png)", "url( 'x.png' )", 'url("")', "URL(a)", "url()", "url(\t/b.png\n)",
    'url("http://c.example/s;p")', "url(a;b:c)", "rgb(1,2,3)", "#fff", "1.5em", "-url(x)", "xurl(x)", "5url(x)",
    "'s'", '"u(x)"', "!important", " ", ",", "/", "url(a b)", "url('x' y)", "\t", "\n", "\r\n", "-->", "e", "+",
    ".url(x)", "#url(x)", "--url(x)", "é", "url(é.png)", "url(a\x7fb)", "url(a'b)", "calc(1px/2)", "/*c*/", "*",
]
plain_rules = st.lists(
    st.tuples(st.sampled_from(["a", ".x", "p > q", "h1, h2", "", " ", "a:hover", "-->"]),
              st.lists(st.tuples(st.sampled_from(["color", "background", "--V", "BACKGROUND-image", "src", " a ",
                                                  "-x", "--", "é"]),
                                 st.lists(st.one_of(st.sampled_from(VALUE_TOKENS[:8]), st.sampled_from(VALUE_TOKENS)),
                                          min_size=1, max_size=6).map(" ".join)),
                       min_size=1, max_size=4)),
    min_size=1, max_size=4,
).map(lambda rules: " ".join(sel + "{" + ";".join(f"{n}:{v}" for n, v in decls) + "}" for sel, decls in rules))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(plain_texts, plain_rules, texts))
def test_plain_stylesheet_reading_equals_tinycss2s(text: str) -> None:
    plain = css._plain(text, sheet=True)
    if plain is not None:
        assert plain == css.parsed_stylesheet(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(plain_texts, plain_rules.map(lambda t: t.replace("{", ";").replace("}", ";")), texts))
def test_plain_declarations_reading_equals_tinycss2s(text: str) -> None:
    plain = css._plain(text, sheet=False)
    if plain is not None:
        assert plain == css.parsed_declarations(text)


@pytest.mark.parametrize("text,sheet", [
    (".hero{background:url(http://c.example/a.jpg) center/cover} .x{color:#333;font:12px 'A B'}", True),
    ("background-image:url('http://c.example/bg.png');color:rgb(1,2,3) !important", False),
    ("--bg: url( http://c.example/a.png ); margin:0 auto", False),
])
def test_plain_css_is_read_without_tinycss2(text: str, sheet: bool) -> None:
    assert css._plain(text, sheet) is not None


@pytest.mark.parametrize("text,sheet", [
    ("@import url(http://c.example/a.css);", True),
    ("a{b{background:url(http://c.example/a.png)}}", True),
    ("a{background:image-set('http://c.example/a.png' 1x)}", True),
    ("background:url(http://c.example/\\61.png)", False),
    ("background:/* c */url(http://c.example/a.png)", False),
    ("background:#u(http://c.example/a.png)", False),
])
def test_css_outside_the_plain_subset_goes_to_tinycss2(text: str, sheet: bool) -> None:
    assert css._plain(text, sheet) is None
