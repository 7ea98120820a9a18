"""Fuzz properties of the HTML tokenizer and extractor: on any input (malformed, any encoding,
markup or XHTML, links collected or not, under an http base or not) extraction never raises, and
every reference's span, read from the stored bytes and decoded, is exactly its ``raw``.
(tests/test_properties.py adds: the fast path finds what the exhaustive one finds, determinism.)"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import FRAGMENTS

from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import SourceText, decode_html, decode_xml

MORE = [
    "<base href=http://old.example/>",
    "<base href=",
    "data-mixedcontent-ignore=",
    "<a href=",
    "<area href=",
    "<link rel=next href=",
    "<frame src=",
    "\x00",
    "\x0b",
    "\ufffd",
    "&",
    "&#",
    "&#x",
    "&#x68;",
    "&am",
    "<svg><image href=",
    "<use xlink:href=",
    "<feImage href=",
    "<math><mi>",
    "<![CDATA[x",
    "<plaintext>",
    "<xmp>",
    "</xmp>",
    "<noembed>",
    "<noframes>",
    "<iframe srcdoc='<img src=http://s.example/>'>",
    "<meta charset=shift_jis>",
    "<meta charset=utf-16>",
    "<?xml version='1.0' encoding='windows-1252'?>",
]
pieces = st.one_of(st.sampled_from(FRAGMENTS + MORE), st.text(max_size=6))
documents = st.lists(pieces, max_size=50).map("".join)
encodings = st.sampled_from(["utf-8", "utf-16-le", "cp1252", "shift_jis", "euc-jp", "iso-2022-jp", "gb18030"])
pages = st.sampled_from(
    [
        PageContext("https://example.invalid/d/p.html", True),
        PageContext("https://example.invalid/d/p.html", True, upgrade_insecure=True),
        PageContext("https://example.invalid/d/p.html", True, scripting=False),
        PageContext("http://example.invalid/d/p.html", False),
    ]
)


def assert_spans_equal_raw(src: SourceText, page: PageContext, *, xml: bool, links: bool) -> None:
    for ref in extract_html(src, page, xml=xml, links=links).references:
        assert src.decode(src.data[ref.span.start : ref.span.end]) == ref.raw, ref


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, encodings, pages, st.booleans(), st.booleans())
def test_html_extraction_never_raises_and_spans_equal_raw(
    text: str, encoding: str, page: PageContext, xml: bool, links: bool
) -> None:
    data = text.encode(encoding, "replace")
    src = decode_xml(data) if xml else decode_html(data)
    assert_spans_equal_raw(src, page, xml=xml, links=links)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), pages)
def test_arbitrary_bytes_never_raise(data: bytes, page: PageContext) -> None:
    assert_spans_equal_raw(decode_html(data), page, xml=False, links=True)
