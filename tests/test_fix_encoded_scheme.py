"""``fix --unsafe`` rewrites references whose scheme is written with character references or CSS escapes
(issue 15 item 14): exactly the raw text that decodes to ``http:`` becomes ``https:``, through
character references in HTML attributes, CSS escapes in CSS, and both in a style attribute; every
other byte stays as written. The expected files are built by hand from the same pieces, never by the
code under test."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mixedcontent.model import Context
from mixedcontent.rewrite import _twin_text

# (what the browser decodes to "http:", as written) -> replaced by "https:"; the rest stays
HTML_ATTR = ["http&#x3A;", "&#104;ttp:", "&#X68;&#x74;&#116;p&colon;", "HTTP&#58;", "h&#x9;ttp:", "&#x68;ttp&#x003a;"]
SRCSET = ["&#104;ttp:", "http&#58;"]
CSS = ["\\68ttp:", "htt\\70:", "\\68 ttp:", "\\000068ttp:", "\\48TTP\\3a ", "ht\\\ntp:", "\\h\\t\\t\\p\\:"]
STYLE_ATTR = ["htt\\70&#58;", "&#92;68ttp:", "\\68 ttp:", "&#x68;tt\\70:"]


def _page(schemes: list[str]) -> tuple[bytes, bytes]:
    """A page whose references' schemes are spelled as ``schemes`` say; (as planted, as fixed)."""
    parts: list[tuple[str, str, str]] = []  # (text before, scheme, text after)
    n = iter(range(1000))
    head = '<!doctype html><html><head><meta charset=utf-8><link rel=stylesheet href="s.css">\n<style>\n'
    parts.append((head + "c{background:url(", schemes[0], f"//img.example/{next(n)}.png)}}\n</style></head><body>\n"))
    for s in HTML_ATTR:
        parts.append(("<img alt='x' src=\"", s, f'//img.example/{next(n)}.png" width=1>\n'))
    parts.append(("<img srcset=\"", SRCSET[0], f"//img.example/{next(n)}.png 1x, "))
    parts.append(("", SRCSET[1], f'//img.example/{next(n)}.png 2x">\n'))
    for s in STYLE_ATTR:
        parts.append(('<p style="color:red; background:url(', s, f'//img.example/{next(n)}.png)">p</p>\n'))
    parts.append(('<p style=\'background:url("', "&#104;tt\\70:", f"//img.example/{next(n)}.png\")'>q</p>\n"))
    parts.append(("<img src=", "http:", f"//img.example/{next(n)}.png>\n</body></html>\n"))  # plain, as ever
    before = "".join(a + s + b for a, s, b in parts)
    after = "".join(a + "https:" + b for a, s, b in parts)
    return before.encode(), after.encode()


def _sheet() -> tuple[bytes, bytes]:
    # a url token cannot hold a line continuation (it is a bad url, fetching nothing): strings only
    rules = [("a{background:url(", s, "//img.example/s{}.png)}}\r\n") for s in CSS if "\n" not in s]
    rules += [('b{background:url("', s, '//img.example/q{}.png")}}\r\n') for s in CSS]
    rules += [("@font-face{src:url('", "\\68 ttp:", "//img.example/font.woff')}}\r\n")]
    before = "".join(a + s + b.format(i) for i, (a, s, b) in enumerate(rules))
    after = "".join(a + "https:" + b.format(i) for i, (a, s, b) in enumerate(rules))
    return before.encode(), after.encode()


def test_fix_unsafe_rewrites_schemes_written_with_references_and_escapes(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page_before, page_after = _page(CSS)
    sheet_before, sheet_after = _sheet()
    (tmp_path / "index.html").write_bytes(page_before)
    (tmp_path / "s.css").write_bytes(sheet_before)
    planted = json.loads(run("scan", str(tmp_path), "--format", "json").out)
    # every planted reference is a finding: 1 <style> + 6 src + 2 srcset + 5 style attributes + 1 plain
    # on the page; 6 url tokens, 7 strings and 1 font in the stylesheet
    assert sum(f["file"] == "index.html" for f in planted["findings"]) == 15
    assert sum(f["file"] == "s.css" for f in planted["findings"]) == 14
    r = run("fix", str(tmp_path), "--unsafe")
    assert r.code == 0, r.out
    assert "left as is" in r.out and "0 findings left as is" in r.out
    assert (tmp_path / "index.html").read_bytes() == page_after
    assert (tmp_path / "s.css").read_bytes() == sheet_after
    rescan = json.loads(run("scan", str(tmp_path), "--format", "json").out)
    assert rescan["findings"] == [] and rescan["errors"] == []


def test_the_scheme_span_is_what_the_browser_decodes(tmp_path, run) -> None:  # type: ignore[no-untyped-def]
    # look-alikes: a reference that decodes to something other than http: is never touched
    page = (b'<img src="&#104;ttps://img.example/a.png"><img src="&#104;ttpx://img.example/b.png">'
            b'<p style="background:url(\\68ttps://img.example/c.png)">')
    (tmp_path / "p.html").write_bytes(page)
    r = run("fix", str(tmp_path), "--unsafe")
    assert r.code == 0
    assert (tmp_path / "p.html").read_bytes() == page


# ---- every spelling of the scheme (hypothesis): the raw text of "http:" and nothing else changes ----

@st.composite
def _html_char(draw: st.DrawFn, c: str) -> str:
    """One code point as an HTML attribute may spell it: literally (either case for letters), or as a
    decimal or hexadecimal character reference, with or without leading zeros."""
    kind = draw(st.sampled_from(["literal", "dec", "hex"]))
    if kind == "literal":
        return draw(st.sampled_from([c.lower(), c.upper()]))
    zeros = "0" * draw(st.integers(0, 3))
    if kind == "dec":
        return f"&#{zeros}{ord(c)};"
    return f"&#{draw(st.sampled_from(['x', 'X']))}{zeros}{ord(c):{draw(st.sampled_from(['x', 'X']))}};"


@st.composite
def _css_char(draw: st.DrawFn, c: str) -> str:
    """One code point as CSS may spell it: literally, as ``\\c``, or as a hex escape (2-6 digits, with
    or without its terminating space: no character of "http://" that follows one is a hex digit)."""
    kind = draw(st.sampled_from(["literal", "escaped", "hex"]))
    if kind == "literal":
        return draw(st.sampled_from([c.lower(), c.upper()]))
    if kind == "escaped" and c not in "0123456789abcdefABCDEF":
        return "\\" + c
    digits = f"{ord(c):x}".rjust(draw(st.integers(2, 6)), "0")
    return "\\" + digits + draw(st.sampled_from([" ", ""]))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_spelling_of_the_scheme_is_replaced_exactly(data: st.DataObject) -> None:
    rest = "//img.example/a.png?x=1"
    url = "http://img.example/a.png?x=1"
    context = data.draw(st.sampled_from([Context.HTML, Context.STYLESHEET, Context.STYLE_ATTRIBUTE]))
    if context is Context.HTML:
        scheme = "".join(data.draw(_html_char(c)) for c in "http:")
    else:
        scheme = "".join(data.draw(_css_char(c)) for c in "http:")
        if context is Context.STYLE_ATTRIBUTE and data.draw(st.booleans()):
            scheme = scheme.replace("\\", "&#92;")  # the backslash itself as a character reference
    new, reason = _twin_text(scheme + rest, url, "https://site.example/", context)
    assert reason is None, (scheme, reason)
    assert new == "https:" + rest
