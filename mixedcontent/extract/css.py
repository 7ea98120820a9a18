"""CSS extraction through tinycss2, with exact spans (SPEC §4.2).

tinycss2 tokenizes and parses; it gives each token a 1-based line and column in its *preprocessed*
input (CSS Syntax §3.3: CRLF, CR and FF become LF, NUL becomes U+FFFD). We turn that back into a
code-point index of the original text and then read the raw URL's extent from the original text
ourselves (tinycss2 gives values, not ends), following CSS Syntax §4.3 (strings, url tokens,
escapes). ``text[start:end] == raw`` holds for every result.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import tinycss2
from tinycss2 import ast

from .. import urls

_HEX = frozenset("0123456789abcdefABCDEF")
_CSS_WS = " \t\n\r\f"
_CANDIDATE = re.compile(r"[hH][tT][tT][pP]|\\|@[iI][mM][pP][oO][rR][tT]")
_IMAGE_SET = frozenset(("image-set", "-webkit-image-set"))


@dataclass(frozen=True, slots=True)
class CssUrl:
    start: int  # 0-based code-point index into the text given, of raw's first character
    end: int  # exclusive
    raw: str  # exactly text[start:end]: escapes intact, no quotes, no url( )
    value: str  # the URL as the browser sees it (escapes resolved)
    destination: str  # "style" (@import), "font" (@font-face src) or "image"
    element: str  # "@import", "@font-face" or "style"
    property: str  # lower-cased property or descriptor ("background-image", "--bg", "src", "@import")
    import_ignored: bool = False  # an @import after another rule: browsers ignore it


def has_candidate(text: str) -> bool:
    """False only when ``text`` cannot hold an http URL or an @import (conservative)."""
    return _CANDIDATE.search(text) is not None


class _Positions:
    """(line, column) of tinycss2's preprocessed text → code-point index in the original text."""

    def __init__(self, text: str) -> None:
        self.text = text
        pre = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", pre)]
        # preprocessed index of every newline that replaced a CRLF (one code point fewer each)
        self.crlf: list[int] = []
        if "\r\n" in text:
            removed = 0
            for m in re.finditer("\r\n", text):
                self.crlf.append(m.start() - removed)
                removed += 1

    def index(self, line: int, column: int) -> int:
        pre = self.line_starts[line - 1] + column - 1
        return pre + bisect_right(self.crlf, pre - 1) if self.crlf else pre


def _escape_end(text: str, pos: int) -> int:
    """CSS Syntax §4.3.7 consume an escaped code point; ``pos`` is just after the backslash."""
    n = len(text)
    if pos >= n:
        return pos
    if text[pos] in _HEX:
        end = pos
        while end < n and end - pos < 6 and text[end] in _HEX:
            end += 1
        if end < n and text[end] in _CSS_WS:
            end += 2 if text.startswith("\r\n", end) else 1
        return end
    return pos + 1


def _string_extent(text: str, quote_pos: int) -> tuple[int, int]:
    """CSS Syntax §4.3.5 consume a string token: the contents' (start, end) without quotes."""
    quote = text[quote_pos]
    pos = quote_pos + 1
    n = len(text)
    while pos < n:
        c = text[pos]
        if c == quote or c in "\n\r\f":
            return quote_pos + 1, pos
        if c == "\\":
            if pos + 1 < n and text[pos + 1] in "\n\r\f":
                pos += 3 if text.startswith("\r\n", pos + 1) else 2
                continue
            pos = _escape_end(text, pos + 1)
            continue
        pos += 1
    return quote_pos + 1, n


def _url_extent(text: str, start: int) -> tuple[int, int]:
    """CSS Syntax §4.3.6 consume a url token, from the start of its (possibly escaped) name."""
    n = len(text)
    pos = start
    while pos < n and text[pos] != "(":
        pos = _escape_end(text, pos + 1) if text[pos] == "\\" else pos + 1
    pos += 1
    while pos < n and text[pos] in _CSS_WS:
        pos += 1
    begin = pos
    last = pos
    while pos < n and text[pos] != ")":
        if text[pos] == "\\":
            pos = _escape_end(text, pos + 1)
            last = pos
            continue
        pos += 1
        if text[pos - 1] not in _CSS_WS:
            last = pos
    return begin, last


class _Walker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = _Positions(text)
        self.out: list[CssUrl] = []

    def _start(self, token: ast.Node) -> int:
        return self.pos.index(token.source_line, token.source_column)

    def add_string(self, token: ast.StringToken, destination: str, element: str, prop: str,
                   ignored: bool = False) -> None:
        start = self._start(token)
        if start >= len(self.text) or self.text[start] not in "\"'":
            return
        s, e = _string_extent(self.text, start)
        self.out.append(CssUrl(s, e, self.text[s:e], token.value, destination, element, prop, ignored))

    def add_url(self, token: ast.URLToken, destination: str, element: str, prop: str,
                ignored: bool = False) -> None:
        s, e = _url_extent(self.text, self._start(token))
        self.out.append(CssUrl(s, e, self.text[s:e], token.value, destination, element, prop, ignored))

    def value(self, tokens: list[ast.Node] | None, destination: str, element: str, prop: str,
              in_image_set: bool = False) -> None:
        """Every URL in a component value list (CSS Values §4.5 url(), CSS Images §2.2 image-set())."""
        for token in tokens or ():
            if isinstance(token, ast.URLToken):
                self.add_url(token, destination, element, prop)
            elif isinstance(token, ast.FunctionBlock):
                name = token.lower_name
                if name in ("url", "src"):
                    arg = next((a for a in token.arguments if not isinstance(a, (ast.WhitespaceToken,
                                                                                 ast.Comment))), None)
                    if isinstance(arg, ast.StringToken):
                        self.add_string(arg, destination, element, prop)
                else:
                    self.value(token.arguments, destination, element, prop, name in _IMAGE_SET)
            elif isinstance(token, ast.StringToken) and in_image_set:
                self.add_string(token, destination, element, prop)
            elif isinstance(token, (ast.ParenthesesBlock, ast.SquareBracketsBlock, ast.CurlyBracketsBlock)):
                self.value(token.content, destination, element, prop)

    def block(self, content: list[ast.Node] | None, font_face: bool = False) -> None:
        """A block's contents: declarations and nested rules (CSS Nesting, conditional rules)."""
        if not content:
            return
        for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
            if isinstance(item, ast.Declaration):
                name = item.name if item.name.startswith("--") else item.lower_name
                if font_face and name == "src":
                    self.value(item.value, "font", "@font-face", "src")
                elif not font_face:
                    self.value(item.value, "image", "style", name)
            elif isinstance(item, ast.QualifiedRule):
                self.block(item.content)
            elif isinstance(item, ast.AtRule):
                self.at_rule(item, nested=True)

    def at_rule(self, rule: ast.AtRule, nested: bool) -> None:
        kw = rule.lower_at_keyword
        if kw in ("namespace", "import", "charset"):
            return  # @namespace names no resource; a nested @import is invalid
        if kw == "font-face":
            self.block(rule.content, font_face=True)
        elif rule.content is not None:
            self.block(rule.content)

    def import_rule(self, rule: ast.AtRule, ignored: bool) -> None:
        for token in rule.prelude:
            if isinstance(token, ast.StringToken):
                self.add_string(token, "style", "@import", "@import", ignored)
                return
            if isinstance(token, ast.URLToken):
                self.add_url(token, "style", "@import", "@import", ignored)
                return
            if isinstance(token, ast.FunctionBlock) and token.lower_name == "url":
                arg = next((a for a in token.arguments if isinstance(a, ast.StringToken)), None)
                if arg is not None:
                    self.add_string(arg, "style", "@import", "@import", ignored)
                return
            if not isinstance(token, (ast.WhitespaceToken, ast.Comment)):
                return


def extract_stylesheet(text: str) -> list[CssUrl]:
    """Every URL of a stylesheet (a .css file or a <style> element's text), in source order."""
    w = _Walker(text)
    other_rule_seen = False
    for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
        if isinstance(rule, ast.AtRule):
            kw = rule.lower_at_keyword
            if kw == "import":
                # CSS Cascade §2.1: @import after any rule other than @charset/@layer statements is ignored
                w.import_rule(rule, other_rule_seen)
                continue
            if kw == "charset" or (kw == "layer" and rule.content is None):
                continue
            other_rule_seen = True
            w.at_rule(rule, nested=False)
        elif isinstance(rule, ast.QualifiedRule):
            other_rule_seen = True
            w.block(rule.content)
    w.out.sort(key=lambda u: u.start)
    return w.out


def extract_declarations(text: str) -> list[CssUrl]:
    """Every URL in a declaration list (the value of a style="" attribute)."""
    w = _Walker(text)
    for item in tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True):
        if isinstance(item, ast.Declaration):
            name = item.name if item.name.startswith("--") else item.lower_name
            w.value(item.value, "image", "style", name)
    w.out.sort(key=lambda u: u.start)
    return w.out


def fetched(found: Iterable[CssUrl], base: str) -> Iterator[tuple[CssUrl, str]]:
    """The URLs a browser would fetch, resolved against ``base`` (the stylesheet's URL, or the
    document base for inline CSS): ignored @imports and unparseable URLs are dropped."""
    for u in found:
        if u.import_ignored:
            continue
        resolved = urls.resolve(u.value, base)
        if resolved is not None:
            yield u, resolved
