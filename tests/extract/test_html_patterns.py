"""The tokenizer's regular expressions mean the same on every Python the package supports.

CPython 3.11.2 (Debian 12's python3) runs a possessive repeat of a group wrongly when an iteration
fails after it has moved (gh-100061, gh-106052): the match goes on from where the failed iteration
stopped. The skip patterns used that construct, and on 3.11.2 a tag holding an http value was skipped
as boring: ``<img src=http://…>`` alone gave no finding. These tests run on every Python (CI runs
them on 3.11.2 and on the newest), and the first two fail on 3.11.2 against the old patterns.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import pytest

import mixedcontent
from mixedcontent.extract import html
from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import decode_html

# CPython's own regression examples for the bug (Lib/test/test_re.py, test_bug_gh106052), written
# with the helpers that every repeated group in the tokenizer goes through: (body, text, match end)
CPYTHON_CASES = [
    (".(?!D)", "ABCDE", 2),   # gh-100061: a look-ahead fails inside the repeated group
    ("ab?c", "aca", 2),       # gh-106052: backtracking inside the repeated group
]


@pytest.mark.parametrize("body,text,end", CPYTHON_CASES)
def test_repeat_helper_stops_where_the_last_whole_iteration_ended(body: str, text: str, end: int) -> None:
    m = re.match(html._star(body), text)
    assert m is not None and m.end() == end


@pytest.mark.parametrize("body,text", [(".(?!D)", "CDE"), ("ab?c", "a")])
def test_optional_helper_matches_nothing_when_its_group_fails(body: str, text: str) -> None:
    m = re.match(html._opt(body), text)
    assert m is not None and m.end() == 0


@pytest.mark.parametrize("snippet,url", [
    ("<img src=http://cdn.example/a.png>", "http://cdn.example/a.png"),
    ('<img src="http://cdn.example/a.png">', "http://cdn.example/a.png"),
    ("<img src='http://cdn.example/a.png'>", "http://cdn.example/a.png"),
    ('<p>text <img alt="h" src="http://cdn.example/a.png"></p>', "http://cdn.example/a.png"),
    ('<div><span>x</span><script src="http://cdn.example/a.js"></script></div>', "http://cdn.example/a.js"),
    ('<picture><img src="http://cdn.example/a.png"></picture>', "http://cdn.example/a.png"),
    ('<link rel=stylesheet href="http://cdn.example/a.css">', "http://cdn.example/a.css"),
    ("<style>p{background:url(http://cdn.example/a.png)}</style>", "http://cdn.example/a.png"),
    ('<a href="/x" style="background:url(http://cdn.example/a.png)">x</a>', "http://cdn.example/a.png"),
    ("<!-- c --><meta http-equiv=refresh content=0><img src=http://cdn.example/a.png>", "http://cdn.example/a.png"),
    # look-alikes of a loopback host that are not one
    ('<img src="http://127.0.0.1:80@cdn.example/a.png">', "http://127.0.0.1:80@cdn.example/a.png"),
    ('<img src="http://localhost@cdn.example/a.png">', "http://localhost@cdn.example/a.png"),
    ('<img src="http://127.0.0.1.example/a.png">', "http://127.0.0.1.example/a.png"),
    ('<img src="http://localhost.example/a.png">', "http://localhost.example/a.png"),
    ('<img src="http://127.0.0.1\t.example/a.png">', "http://127.0.0.1.example/a.png"),
    ('<img src="http://127.0.0.1/a.png" srcset="http://cdn.example/b.png 2x">', "http://cdn.example/b.png"),
    ("<img src='http://127.0.0.1\"x/a.png'>", "http://127.0.0.1\"x/a.png"),
])
def test_a_tag_holding_an_http_value_is_never_skipped(snippet: str, url: str) -> None:
    page = PageContext("https://example.invalid/p.html", True)
    refs = extract_html(decode_html(snippet.encode()), page).references
    assert [r.url for r in refs] == [url]


@pytest.mark.parametrize("tag", [
    '<img src="http://127.0.0.1/a.png">',
    "<img src=http://localhost:8080/a.png alt=x>",
    "<IMG SRC='HTTP://LOCALHOST/a.png'>",
    '<div style="background:url(http://127.0.0.1/bg.png)">',
    '<img srcset="http://127.0.0.1/a.png 1x, http://localhost/b.png 2x">',
])
def test_a_tag_whose_http_values_are_loopback_is_skipped_in_c(tag: str) -> None:
    # Secure Contexts §3.2: loopback and localhost are potentially trustworthy, never mixed content
    assert html._fast_skips()[0].match(tag + "<p>text</p>").end() == len(tag) + len("<p>text</p>")


@pytest.mark.parametrize("tag", [
    "<a href=/t/1>", '<a href="http://cdn.example/a.html">', "<a href=http://cdn.example/a\"b>", "<a href=''>",
    "<a HREF='http://cdn.example/'>", '<a href="/x" class=c>',
])
def test_a_link_is_skipped_in_c(tag: str) -> None:
    # an <a href> is a navigation, never fetched: whatever its value, the tag needs no Python
    assert html._fast_skips()[0].match(tag + "<p>text</p>").end() == len(tag) + len("<p>text</p>")


@pytest.mark.parametrize("snippet,url", [
    ('<a href="/x" ping="http://p.example/">x</a>', "http://p.example/"),
    ('<a href=/x style="background:url(http://c.example/a.png)">x</a>', "http://c.example/a.png"),
    ("<a href=\"x\"><img src=http://i.example/a.png></a>", "http://i.example/a.png"),
])
def test_what_an_a_tag_fetches_is_still_found(snippet: str, url: str) -> None:
    page = PageContext("https://example.invalid/p.html", True)
    assert [r.url for r in extract_html(decode_html(snippet.encode()), page).references] == [url]


@pytest.mark.parametrize("template", [
    '<template><img src="http://cdn.example/a.png"><p style="background:url(http://c.example/b.png)">x</p></template>',
    "<TEMPLATE><div><a href='http://cdn.example/'>x</a><img src=http://cdn.example/a.png></div></TEMPLATE >",
])
def test_a_template_is_skipped_whole_in_c(template: str) -> None:
    # HTML §4.12.3: the contents of <template> are inert, nothing in them is fetched
    assert html._fast_skips()[0].match(template + "<p>text</p>").end() == len(template) + len("<p>text</p>")


def test_raw_text_in_a_template_is_skipped_in_c() -> None:
    content = "<script>var u = 'http://cdn.example/a.js'</script><style>p{background:url(http://c.example/)}</style>"
    assert html._skip_template().match(content + "</template>").end() == len(content)


def test_no_reference_is_made_for_a_trustworthy_http_url() -> None:
    page = PageContext("https://example.invalid/p.html", True)
    snippet = '<img src="http://127.0.0.1/a.png"><script src="http://localhost/a.js"></script>'
    assert extract_html(decode_html(snippet.encode()), page, exhaustive=True).references == []


# ---- a guard over every pattern in the package ----------------------------------------------------

def _patterns() -> list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    found: list[tuple[str, Any]] = []
    for info in pkgutil.walk_packages(mixedcontent.__path__, "mixedcontent."):
        if info.name.endswith("__main__"):
            continue  # running it is the CLI
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            values = value.values() if isinstance(value, dict) else [value]
            found += [(f"{info.name}.{name}", v) for v in values if isinstance(v, re.Pattern)]
    found += [(f"html._link_skips()[{i}]", p) for i, p in enumerate(html._link_skips())]
    found += [("html._fast_skips()[0]", html._fast_skips()[0]),
              ("html._fast_skips()[1]", html._fast_skips()[1])]  # compiled on first use
    found.append(("html._skip_template()", html._skip_template()))
    return found


_SINGLE = {"LITERAL", "NOT_LITERAL", "ANY", "IN", "RANGE", "CATEGORY"}


def _risky_repeats(items: Any) -> list[str]:
    """Possessive repeats of a group whose iteration can fail (no empty alternative), as text."""
    bad: list[str] = []
    for op, av in items:
        name = str(op)
        if name == "POSSESSIVE_REPEAT":
            body = list(av[2])
            while len(body) == 1 and str(body[0][0]) == "SUBPATTERN" and body[0][1][0] is None:
                body = list(body[0][1][-1])
            single = len(body) == 1 and str(body[0][0]) in _SINGLE
            can_be_empty = len(body) == 1 and str(body[0][0]) == "BRANCH" and any(
                len(alt) == 0 for alt in body[0][1][1])
            if not (single or can_be_empty):
                bad.append(str(body)[:120])
        for sub in _children(name, av):
            bad += _risky_repeats(sub)
    return bad


def _children(name: str, av: Any) -> list[Any]:
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return [av[2]]
    if name == "SUBPATTERN":
        return [av[-1]]
    if name in ("ASSERT", "ASSERT_NOT"):
        return [av[1]]
    if name == "ATOMIC_GROUP":
        return [av]
    if name == "BRANCH":
        return list(av[1])
    if name == "GROUPREF_EXISTS":
        return [x for x in av[1:] if x is not None]
    return []


def test_every_pattern_in_the_package_was_found() -> None:
    names = {n for n, _ in _patterns()}
    assert {"html._fast_skips()[0]", "mixedcontent.extract.html._ATTR",
            "html._link_skips()[2]"} <= names  # (the last holds _SIMPLE_FOLLOWED, compiled only there)


@pytest.mark.parametrize("name,pattern", _patterns(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_possessive_repeat_of_a_group_can_fail_an_iteration(name: str, pattern: re.Pattern[str]) -> None:
    parser = re._parser  # type: ignore[attr-defined]
    tree = parser.parse(pattern.pattern, pattern.flags)
    assert _risky_repeats(tree.data) == [], f"{name}: write (?:X)*+ as html._star(X), (?:X)?+ as html._opt(X)"
