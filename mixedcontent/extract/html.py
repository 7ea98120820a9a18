"""HTML extraction: one pass of a tokenizer of our own over the decoded text, References out.

No HTML parser gives attribute-value positions, so this module tokenizes start tags itself
(HTML §13.2.5, the tokenization states that decide where tags, attributes, comments and raw text
are) and keeps the small part of tree construction (§13.2.6) that changes what is fetched: <head>
(for <meta> CSP), <template> contents (inert), foreign content (<svg>/<math>), and the parent of
<img>/<source> (for <picture> and media elements).

Speed: a page is scanned by C-backed regular expressions that swallow text, comments and every tag
that cannot yield a reference ("boring": a tag whose name changes no parser state and none of whose
attribute values contains ``http`` other than ``https`` or an http URL with a loopback host, a
character reference or a backslash), and whole <template> elements (their contents are inert).
Python code runs only for the remaining tags, and a Reference is made only for an http URL that is
not potentially trustworthy. Wherever relative URLs could turn into http (an http <base href>, an
http page) or the tree shape matters (<head>, <picture>, media elements, foreign content), every tag
is handled (inside a <template>, every tag but those that change the tokenizer's state is skipped).

All positions here are code-point indexes into ``SourceText.text``; they become byte spans only
when a Reference is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from .. import urls
from ..model import Context, Reference, RefKind, Span, pickled_by_fields
from ..rules import RULES
from . import charrefs, css, script, srcset
from .source import SourceText

_WS = "\t\n\f\r "

# End tags that never pop the stack of open elements (HTML §13.2.6.4.7): </body> and </html> move to the
# "after body" modes, </br> is read as <br>, </form> removes only the form element
_ENDS_NOTHING = frozenset(("body", "html", "br", "form"))

# Names whose start tag changes tokenizer or tree state we track, so they are never "boring".
_STATEFUL = (
    "script style xmp iframe noembed noframes noscript textarea title plaintext template svg math "
    "picture video audio base meta link"
).split()


def _trie(words: list[str], ignore_case: bool = True) -> str:
    """A regex for ``words`` (ASCII case-insensitive unless told), factored by common prefixes: much
    faster in Python's re than a plain alternation (measured 62 → 89 MB/s for the whole skip pattern).

    Branches come in the order of ``words`` (list the commonest first: re tries them one by one), and
    a word that is a prefix of others ends in an empty alternative, ``(?:…|)``: the same as an optional
    group, ``(?:…)?``, without the repeat, which costs a context per try (measured -9% instructions for
    the whole fast skip pattern)."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:  # type: ignore[type-arg]
        alts = [(f"[{ch}{ch.upper()}]" if ignore_case and ch.isalpha() else re.escape(ch)) + emit(node[ch])
                for ch in node if ch]
        if "" in node:
            return "(?:" + "|".join(alts) + "|)" if alts else ""
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(tree)


_STATEFUL_RE = _trie(_STATEFUL)

def _star(body: str) -> str:
    """``(?:body)*+``, a possessive repeat of a group, written so that no iteration can fail:
    ``(?:body|)*+``. The same language (an iteration that matches nothing ends a repeat), and the
    same speed; but CPython 3.11.2 (Debian 12's python3) runs a possessive repeat whose iteration
    fails after it has moved wrongly (gh-100061: a look-ahead inside it fails; gh-106052: backtracking
    inside it), going on from where the failed iteration stopped: a tag with an http value was then
    skipped as boring. An iteration that ends the loop by matching nothing is right on every 3.11+.
    (The atomic group ``(?>(?:body)*)`` is right too, but measured 25% slower on the whole scan: a
    greedy repeat keeps a frame per iteration, the possessive one loops in place.)"""
    return f"(?:{body}|)*+"


def _opt(body: str) -> str:
    """``(?:body)?+`` written so that its iteration cannot fail: ``(?:body|)?+`` (see ``_star``)."""
    return f"(?:{body}|)?+"


def _or_empty(body: str) -> str:
    """``(?:body|)``: ``body`` or nothing, the same as ``_opt(body)`` where nothing after it can fail
    before the iteration of a possessive repeat it ends (an attribute's value, last in its iteration),
    and a context cheaper (no repeat around the alternation)."""
    return f"(?:{body}|)"


# "h" that does not start "http" (tabs and newlines inside are removed by the URL parser); "https" is fine;
# and "http://" with a loopback host ended by the path, query or fragment (Secure Contexts §3.2 steps
# 3-4: 127.0.0.0/8 and localhost are potentially trustworthy, never mixed content): "127." and three
# decimal parts is loopback or no URL at all (a part over 255 fails the IPv4 parser), and userinfo
# ("127.0.0.1:80@evil.example") or a longer host ("localhost.evil.example") does not match
_LOOPBACK_HTTP = (r"[tT][tT][pP]://(?:127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|"
                  r"[lL][oO][cC][aA][lL][hH][oO][sS][tT])(?::[0-9]*+)?[/?#]")
_TTP_NOT_S = r"[\t\n\r]*+[tT][\t\n\r]*+[tT][\t\n\r]*+[pP](?![\t\n\r]*+[sS])"  # (after an "h": "ttp", no "s")
_H_NOT_HTTP = rf"[hH](?!{_TTP_NOT_S})"
# (the same, with a plain "https" first, taken whole: most values that hold an "h" start with it, and five
# letters cost less than the look-ahead; not where "s" is special: _LINK_VALUE)
_H_NOT_HTTP_FAST = rf"[hH](?:[tT][tT][pP][sS]|(?!{_TTP_NOT_S}))"
_H_NOT_INSECURE = rf"[hH](?:[tT][tT][pP][sS]|(?!{_TTP_NOT_S})|{_LOOPBACK_HTTP})"


def _quoted_values(plain: str, special: str) -> str:
    """A quoted or unquoted attribute value made of characters outside ``plain``'s class and the
    look-ahead-guarded ``special`` alternatives (``plain`` is the inside of a negated class)."""
    # (unrolled: a run of plain characters, then each special one with the run after it, so that the
    # repeat turns once per special character, not twice plus once per run)
    dq = f'[^"{plain}]*+' + _star(f'(?:{special})[^"{plain}]*+')
    sq = f"[^'{plain}]*+" + _star(f"(?:{special})[^'{plain}]*+")
    unq = f"[^\\t\\n\\f\\r >\"'{plain}]*+" + _star(f"(?:{special})[^\\t\\n\\f\\r >\"'{plain}]*+")
    return f"""(?:"{dq}"|'{sq}'|(?!["']){unq}(?=[\\t\\n\\f\\r >]))"""


# (a quoted value without any "h" first: most are, and that branch is one C loop)
_BORING_VALUE = r'(?:"[^"&\\hH]*+"|' + _quoted_values(r"&\\hH", _H_NOT_HTTP_FAST) + ")"
# (an unquoted value never starts with a quote: an unterminated quoted value runs to the end of the
# document, so the tag must not match)
_ANY_VALUE = r"""(?:"[^"]*+"|'[^']*+'|(?!["'])[^\t\n\f\r >]*+)"""
_BORING_ATTR = r"[^\t\n\f\r />=][^\t\n\f\r /=>]*+" + _or_empty(r"[\t\n\f\r ]*+=[\t\n\f\r ]*+" + _BORING_VALUE)
# (loopback http values are boring too in the branches of the commonest tags: the loopback alternative
# is kept out of the other copies of _BORING_ATTR, each of which costs compile time at import)
_BORING_ATTR_LOOPBACK = (r"[^\t\n\f\r />=][^\t\n\f\r /=>]*+" + _or_empty(
    r"[\t\n\f\r ]*+=[\t\n\f\r ]*+" + r'(?:"[^"&\\hH]*+"|' + _quoted_values(r"&\\hH", _H_NOT_INSECURE) + ")"))
_ANY_ATTR = r"[^\t\n\f\r />=][^\t\n\f\r /=>]*+" + _or_empty(r"[\t\n\f\r ]*+=[\t\n\f\r ]*+" + _ANY_VALUE)

# HTML §13.2.5.43-46 comment states: <!--> and <!---> close at once; otherwise the first --> or --!>
_COMMENT = r"<!--(?:-?>|" + _star(r"[^-]++|-(?!-!?>)") + r"(?:--!?>|\Z))"
_BOGUS = r"<\?[^>]*+(?:>|\Z)|<!(?!--)(?!\[CDATA\[)[^>]*+(?:>|\Z)|</(?![A-Za-z])[^>]*+(?:>|\Z)"
_BOGUS_ALL = r"<\?[^>]*+(?:>|\Z)|<!(?!--)[^>]*+(?:>|\Z)|</(?![A-Za-z])[^>]*+(?:>|\Z)"


def _attrs(*attr: str) -> str:
    """Attributes (each one of ``attr``) up to the tag's ">": the same language as
    ``_star("[\t\n\f\r /]*+(?:attr|…)") + "[\t\n\f\r /]*+>"``, with every alternative starting with a
    character class (each ``attr`` does), which re tests before entering the alternative: at the ">"
    the repeat ends without a try of each (with ``_or_empty``, measured -8% instructions for the fast
    skip pattern on dense pages)."""
    alts = "|".join(attr)
    return _star(rf"[\t\n\f\r /][\t\n\f\r /]*+(?:{alts})|{alts}") + r"[\t\n\f\r /]*+>"


_BORING_ATTRS = _attrs(_BORING_ATTR_LOOPBACK)
_ANY_ATTRS = _attrs(_ANY_ATTR)
# an <a> start tag: its href is a navigation, never fetched, so its value is skipped unread (an
# <a href="http://…"> costs no trip through Python); ping, style and on* are still read
_HREF_ANY = r"[hH][rR][eE][fF](?=[\t\n\f\r /=>])" + _or_empty(r"[\t\n\f\r ]*+=[\t\n\f\r ]*+" + _ANY_VALUE)
_A_ATTRS = _attrs(_HREF_ANY, _BORING_ATTR)
_WSC = r"[\t\n\f\r />]"


def _ci(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _whole(name: str, content: str, attr: str = _BORING_ATTR) -> str:
    """A whole raw-text element whose start tag and content are boring, end tag included."""
    return (rf"<{_ci(name)}(?={_WSC})" + _star(rf"[\t\n\f\r /]*+{attr}") + r"[\t\n\f\r /]*+>"
            + rf"{content}</{_ci(name)}(?={_WSC}){_ANY_ATTRS}")


# <title>/<textarea> (RCDATA): nothing inside is ever a reference
_BORING_RCDATA = "|".join(_whole(n, _star(rf"[^<]++|<(?!/{_ci(n)}{_WSC})")) for n in ("title", "textarea"))
# a <script> whose text has no http: literal and no "<!--" (which would open the escaped states)
_BORING_SCRIPT = _whole("script", _star(rf"[^<hH]++|<(?!/{_ci('script')}{_WSC}|!--)|[hH](?!{_ci('ttp:')})"))
# a <style> with no http, no escape and no @import (nothing to report, no stylesheet to follow)
_BORING_STYLE = _whole(
    "style", _star(rf"[^<hH\\@]++|<(?!/{_ci('style')}{_WSC})|{_H_NOT_HTTP}|@(?!{_ci('import')})"))
# <meta> without http-equiv (the only thing it can do for us: CSP, or refresh in srcdoc)
_BORING_META = (rf"<{_ci('meta')}(?={_WSC})"
                + _star(rf"[\t\n\f\r /]*+(?!{_ci('http-equiv')}[\t\n\f\r /=>]){_BORING_ATTR}")
                + r"[\t\n\f\r /]*+>")
# <link> that is not a stylesheet (no value mentions "stylesheet": nothing to follow)
_S_NOT_SHEET = rf"[sS](?!{_ci('tylesheet')})"
_LINK_VALUE = _quoted_values(r"&\\hHsS", f"{_H_NOT_HTTP}|{_S_NOT_SHEET}")
_BORING_LINK = (rf"<{_ci('link')}(?={_WSC})"
                + _star(r"[\t\n\f\r /]*+[^\t\n\f\r />=][^\t\n\f\r /=>]*+"
                        + _opt(rf"[\t\n\f\r ]*+=[\t\n\f\r ]*+{_LINK_VALUE}"))
                + r"[\t\n\f\r /]*+>")
_TEXT = r"[^<]++|<(?![A-Za-z!?/])"

# fast: skip everything that cannot matter; slow: skip text and comments only; head: also stop at text
_SKIP_SLOW = re.compile(_star(rf"{_TEXT}|{_COMMENT}|{_BOGUS}"))
# inside <picture>/<video>/<audio> only non-void elements change an <img>'s or <source>'s parent,
# so boring void tags can still be skipped there
_VOID = frozenset("area base basefont bgsound br col embed frame hr image img input keygen link meta param "
                  "source track wbr".split())
# The commonest tag names, matched positively before the guarded generic pattern: a plain prefix
# trie is much cheaper in Python's re than the negative look-ahead (measured +45% on the skip).
# (commonest first, as _trie wants them)
_COMMON = ("a div span td li p img tr i br ul b strong em table th tbody thead tfoot h1 h2 h3 h4 h5 h6 header hr "
           "input button form label option select small section nav main footer figure figcaption dd dl dt code "
           "cite caption blockquote abbr ol pre sub sup u").split()
assert not set(_COMMON) & set(_STATEFUL)
# (each in lower and in upper case, as pages write them: a literal is cheaper than a class per letter)
_COMMON_CASED = [w for c in _COMMON for w in (c, c.upper())]


def _skips(followed: tuple[str, ...] = ()) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The fast skip pattern (the document outside <picture>/<video>/<audio>, foreign content and
    the slow cases: text, comments and every boring tag) and the in-media one (text, comments and
    boring void tags). Start tags named in ``followed`` are never boring, and neither is any <link>
    when some are (a crawler follows rel=next). The tag branches share their "<" (one test per tag
    instead of one per branch) and come in order of frequency, end tags first (~20% faster)."""
    stateful = _STATEFUL + list(followed)
    # (<a> has a branch of its own when links are not followed)
    common = _trie([c for c in _COMMON_CASED if c.lower() not in stateful and c.lower() != "a"], ignore_case=False)
    void = _trie(sorted(_VOID - set(stateful)))
    boring_void = (rf"<(?={void}[\t\n\f\r />])[A-Za-z][^\t\n\f\r />]*+"
                   + _star(rf"[\t\n\f\r /]*+{_BORING_ATTR}") + r"[\t\n\f\r /]*+>")
    # a whole <picture>/<video>/<audio> holding only text, comments and boring void tags
    media = "|".join(_whole(n, _star(f"{_TEXT}|{boring_void}|{_COMMENT}"))
                     for n in ("picture", "video", "audio"))
    link = "" if followed else f"|{_BORING_LINK}"
    # (after a name, ">" or one delimiter consumed: the same as a look-ahead for either, without its context)
    # (and the commonest link of all first, <a href=…> with only its href, in one straight line)
    anchor = "" if "a" in followed else (
        rf"""|a(?: href=(?:"[^"]*+"|[^\t\n\f\r >"'][^\t\n\f\r >]*+)>|>|[\t\n\f\r /]{_A_ATTRS})""")
    fast = re.compile(r"[^<]*+" + _star(
        rf"(?:<(?:"
        rf"/(?:{_trie(_COMMON_CASED, ignore_case=False)}>|(?!(?i:template){_WSC})[A-Za-z][^\t\n\f\r />]*+{_ANY_ATTRS})"
        rf"{anchor}"
        rf"|{common}(?:>|[\t\n\f\r /]{_BORING_ATTRS})"
        rf"|(?!{_trie(stateful)}{_WSC})[A-Za-z][^\t\n\f\r />]*+{_BORING_ATTRS}"
        rf"|(?![A-Za-z!?/]))"  # a "<" that starts nothing is text (tried last: it is the rarest)
        rf"|{_COMMENT}|{_BOGUS_ALL}{link}|{_BORING_META}|{_BORING_SCRIPT}|{_BORING_STYLE}|{_BORING_RCDATA}"
        rf"|{media}|{_whole('template', _star(_TEMPLATE_CONTENT))})[^<]*+"))
    return fast, re.compile(_star(f"{_TEXT}|{boring_void}|{_COMMENT}|{_BOGUS_ALL}"))


# Inside <template> nothing is fetched (HTML §4.12.3: its contents are an inert document fragment), so
# every tag is skipped whatever its values, except those that change the tokenizer's state (raw text,
# foreign content, nested templates) or the tree we track (<picture>, <video>, <audio>); raw-text
# elements are skipped whole, content and end tag included, when they end in the text.
_IN_TEMPLATE_STATEFUL = ("script style xmp iframe noembed noframes noscript textarea title plaintext template "
                         "svg math picture video audio").split()


def _raw_text_whole(name: str) -> str:
    """A whole raw-text or RCDATA element, any attributes and content (a <script>'s without "<!--",
    which would open the escaped states)."""
    escape = "|!--" if name == "script" else ""
    return _whole(name, _star(rf"[^<]++|<(?!/{_ci(name)}{_WSC}{escape})"), _ANY_ATTR)


# (an alternation, repeated by _skip_template() and, without the raw-text elements, by the fast
# pattern's whole <template> element)
_TEMPLATE_CONTENT = (
    rf"[^<]++|<(?:/(?!(?i:template){_WSC})[A-Za-z][^\t\n\f\r />]*+{_ANY_ATTRS}"
    rf"|(?!{_trie(_IN_TEMPLATE_STATEFUL)}{_WSC})[A-Za-z][^\t\n\f\r />]*+{_ANY_ATTRS}"
    rf"|(?![A-Za-z!?/]))"
    rf"|{_COMMENT}|{_BOGUS_ALL}")


@cache
def _skip_template() -> re.Pattern[str]:
    """The skip pattern inside a <template> (the fast pattern swallows most templates whole: this one
    is for those holding raw text or a tag that stops it). Compiled on first use (about 10 ms)."""
    return re.compile(_star(
        f"{_TEMPLATE_CONTENT}|"
        + "|".join(_raw_text_whole(n) for n in ("script", "style", "xmp", "iframe", "noembed", "noframes",
                                                "textarea", "title"))))


@cache
def _fast_skips() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The fast and in-media skip patterns (``_skips()``), compiled on first use: the fast one takes
    ~60 ms to compile, the largest part of a one-page scan's start-up (pre-commit's case)."""
    return _skips()


# A process reads its first documents, up to this many code points in all, with every tag through
# Python (the exhaustive way, which gives the same references: tests/test_properties.py), and only then
# compiles the fast patterns: at ~0.4 ms a KB slower on URL-dense pages, that costs at most ~50 ms,
# against ~60 ms of compiling that a scan of a few pages never earns back. A scan about to fork worker
# processes compiles them first (``prepare_bulk``), so that the workers inherit them.
_FAST_AFTER = 128_000
_read_exhaustively = 0


def prepare_bulk() -> None:
    """Compile the fast skip patterns now: many documents follow (forked workers inherit them)."""
    global _read_exhaustively
    _fast_skips()
    _read_exhaustively = _FAST_AFTER


_SKIP_HEAD = re.compile(_star(rf"[\t\n\f\r ]++|{_COMMENT}|{_BOGUS_ALL}"))

# Elements whose links a crawler follows (extract_html(links=True)): besides these, <iframe> is
# stateful already and every <link> goes to Python (for rel=next).
_FOLLOWED = ("a", "area", "frame")


@cache
def _link_skips() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The skip patterns for extract_html(links=True): <a>, <area>, <frame> and <link> tags are never
    boring; and _SIMPLE_FOLLOWED followed by the fast skip, so that a simple link and the boring
    stretch after it cost one match. Compiled on first use (about 40 ms), so scans that follow no
    links never pay for it."""
    fast, tree = _skips(_FOLLOWED)
    return fast, tree, re.compile(_SIMPLE_FOLLOWED + fast.pattern)


# An <a>/<area> start tag whose only possible contribution is its href: every other attribute is
# boring (so, as for a boring tag, nothing in it can be a reference) and the href, if any, holds no
# character reference. Group 1, 2 or 3 is the href value (the first href wins, as in §13.2.5.33).
# Measured on 40 KB pages with ~190 links: link collection costs 0.4 ms a page this way, 1.4 ms
# through the general tag path.
_WITH_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*+://")
_NOT_HREF = rf"(?![hH][rR][eE][fF][\t\n\f\r /=>]){_BORING_ATTR}"
# (a pattern's text: compiled only into _link_skips' patterns, for crawls)
_SIMPLE_FOLLOWED = (
    rf"<(?:[aA][rR][eE][aA]|[aA])(?={_WSC})" + _star(rf"[\t\n\f\r /]*+{_NOT_HREF}")
    + _opt(r"[\t\n\f\r /]*+[hH][rR][eE][fF][\t\n\f\r ]*+=[\t\n\f\r ]*+"
           r"""(?:"([^"&]*+)"|'([^'&]*+)'|(?!["'])([^\t\n\f\r >&"']++)(?=[\t\n\f\r >]))"""
           + _star(rf"[\t\n\f\r /]*+{_BORING_ATTR}"))
    + r"[\t\n\f\r /]*+>")

_TAG_NAME = re.compile(r"</?([A-Za-z][^\t\n\f\r />]*+)")
_ATTR = re.compile(
    r"([\t\n\f\r /]*+)(?:(>)|([^\t\n\f\r />][^\t\n\f\r /=>]*+)"
    + _opt(r"""[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:"([^"]*+)"|'([^']*+)'|([^\t\n\f\r >]*+))""") + ")"
)
_RAW_END = {
    name: re.compile(rf"</(?i:{name})(?=[\t\n\f\r />])")
    for name in ("style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title")
}
_SCRIPT_EVENTS = re.compile(r"<!--|-->|</?(?i:script)(?=[\t\n\f\r />])")
_CDATA_END = re.compile(r"\]\]>")
MARKER_ATTRIBUTE = "data-mixedcontent-ignore"
_TAG_END = re.compile(r">")
_TEMPLATE_END = re.compile(r"</(?i:template)[^>]*>")

_HEAD_OK = frozenset("html head base basefont bgsound link meta noframes script style template title "
                     "noscript".split())
# HTML §13.2.6.5 "in foreign content": start tags that break out of <svg>/<math>
_BREAKOUT = frozenset("b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head "
                      "hr i img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup "
                      "table tt u ul var".split())
_INTEGRATION = frozenset(("foreignobject", "desc", "title", "annotation-xml"))
_JS_TYPES = frozenset(
    "application/ecmascript application/javascript application/x-ecmascript application/x-javascript "
    "text/ecmascript text/javascript text/javascript1.0 text/javascript1.1 text/javascript1.2 "
    "text/javascript1.3 text/javascript1.4 text/javascript1.5 text/jscript text/livescript "
    "text/x-ecmascript text/x-javascript module".split()
)
_PRELOAD_AS = {"image": "image", "style": "style", "script": "script", "font": "font", "fetch": "",
               "track": "track"}
_MAX_SRCDOC_DEPTH = 8


def _is_http(href: str) -> bool:
    """``urls.is_http`` for a URL as the parser serialises it (every ``urls.resolve`` result), read from
    the text without parsing it again: the serialisation starts with the scheme, lower-cased, and a colon
    (URL §4.5 "URL serializer" step 1)."""
    return href.startswith("http:")


class _Empty(StrEnum):
    """What a browser fetches for a URL attribute whose value is empty: each row below was seen in
    Chromium 156 (a loopback server logging requests, every element under an http <base href>)."""

    # empty after stripping ASCII whitespace: nothing is fetched. HTML: <img src> (§4.8.4.3.5 "update
    # the image data" selects a src "whose value is not the empty string"; Blink's ImageLoader strips
    # spaces first, as for <video poster> (§4.8.11: "no poster frame"), <input type=image>, SVG
    # <image>), <script src> (§4.12.1.1 prepare the script element: an empty src fires error, no
    # fetch), <iframe>/<frame src> (§4.8.5: about:blank), <object data>, <embed src>, <track src>,
    # <link href> (stylesheet, preload, modulepreload, prefetch), background attributes
    STRIPPED = "stripped"
    # only the empty string fetches nothing; "  " is parsed (to the base URL) and fetched: media src
    # and <source src> (§4.8.11.5 resource selection: "if the src attribute's value is the empty
    # string"), and in Chromium <link rel=icon> and <link rel=manifest>
    EXACT = "exact"
    # an empty value is the base URL, fetched: SVG <use href> and <feImage href> in Chromium
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class PageContext:
    """How a document is judged: its URL, whether it is (judged as) https, its header policy."""

    url: str
    secure: bool
    upgrade_insecure: bool = False
    scripting: bool = True


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class StylesheetLoad:
    """A stylesheet the document loads (any scheme), so the caller can follow it."""

    url: str
    upgrade_insecure: bool


@dataclass(slots=True)
class Extraction:
    """What extracting one document gave: its references, the stylesheets it loads, its links."""

    references: list[Reference] = field(default_factory=list)
    stylesheets: list[StylesheetLoad] = field(default_factory=list)
    # with extract_html(links=True): absolute URLs a crawler follows, in document order
    links: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Attr:
    """One attribute of a tag as written."""

    value: str  # raw value text as written (entities intact)
    start: int  # index of the value's first code point in the document text (-1: no value)


class _Doc:
    """State of one document's walk (the page, or one srcdoc document inside it)."""

    def __init__(self, x: _Extractor, text: str, page: PageContext, context: Context, depth: int,
                 to_outer: list[int] | None, offset: int, base: str | None = None,
                 base_ref: Reference | None = None, upgrade: bool | None = None) -> None:
        self.x = x
        self.text = text
        self.page = page
        self.context = context
        self.depth = depth
        # maps a position in ``text`` to one in the page text: outer = offset + (to_outer[i] or i)
        self.to_outer = to_outer
        self.offset = offset
        self.base = base if base is not None else page.url
        self.base_set = False
        self.base_ref = base_ref
        self.http_base = base_ref is not None or not page.url.startswith("https:")
        self.upgrade = page.upgrade_insecure if upgrade is None else upgrade
        self.body_start: int | None = None  # where the body starts (computed when a CSP <meta> asks)
        self.tag_start = 0  # position of the start tag being handled
        self.template = 0
        self.foreign: list[str] = []
        self.tree: list[str] = []  # open elements, tracked only inside <picture>/<video>/<audio>
        # inline suppression (data-mixedcontent-ignore): open elements with the markers in force
        self.ignore_stack: list[tuple[str, str | None]] = []
        self.ignore_open: dict[str, int] = {}  # how many of each name are on ignore_stack
        self.ignore: str | None = None

    # ---- positions -------------------------------------------------------------------------------
    def outer(self, i: int) -> int:
        if self.to_outer is None:
            return self.offset + i
        return self.offset + self.to_outer[i]

    # ---- the walk --------------------------------------------------------------------------------
    def run(self) -> None:
        text = self.text
        n = len(text)
        pos = 0
        xml = self.x.xml
        links = self.x.links is not None
        fast: re.Pattern[str]
        in_media: re.Pattern[str]
        link_then_skip: re.Pattern[str] | None
        if self.x.exhaustive:
            fast = in_media = _SKIP_SLOW
            link_then_skip = None
        elif links:
            fast, in_media, link_then_skip = _link_skips()
        else:
            (fast, in_media), link_then_skip = _fast_skips(), None
        skipped = False  # the text at pos was just skipped as far as the fast pattern goes
        while pos < n:
            if self.foreign or xml or self.x.exhaustive or self.x.markers:
                skip = _SKIP_SLOW
            elif self.tree:
                skip = _SKIP_SLOW if self.http_base else in_media
            elif self.template:
                skip = _skip_template()  # (under an http base too: nothing inside is fetched)
            elif self.http_base:
                skip = _SKIP_SLOW
            else:
                skip = fast
            if not skipped:
                m = skip.match(text, pos)
                pos = m.end() if m else pos
                if pos >= n:
                    break
            skipped = False
            nxt = text[pos + 1] if pos + 1 < n else ""
            if nxt in "aA" and skip is fast and link_then_skip is not None:
                # simple links, each with the boring stretch after it (the fast pattern's: the state
                # is the same after an <a> tag), in a tight loop: pages have hundreds of them
                seen, base, template = self.x.links_seen, self.base, self.template
                matched = False
                while (simple := link_then_skip.match(text, pos)) is not None:
                    matched = True
                    last = simple.lastindex
                    if last is not None and template == 0:
                        value = simple.group(last)
                        if (value, base) not in seen:  # nav links recur: skip the call
                            self.follow_value(value)
                    pos = simple.end()
                    if text[pos + 1:pos + 2] not in ("a", "A"):
                        break
                if matched:
                    skipped = True  # pos is at the next stop (or the end)
                    continue
            if nxt == "!":
                # only <![CDATA[ reaches here: CDATA in foreign content / XML, else a bogus comment
                if self.foreign or xml:
                    end = _CDATA_END.search(text, pos + 9)
                    pos = end.end() if end else n
                else:
                    gt = text.find(">", pos)
                    pos = gt + 1 if gt >= 0 else n
                continue
            if nxt == "/":
                pos = self.end_tag(pos)
                continue
            if nxt.isascii() and nxt.isalpha():
                pos = self.start_tag(pos)
                continue
            pos += 1

    def parse_tag(self, pos: int) -> tuple[str, dict[str, _Attr], bool, int] | None:
        """Tokenize the tag at ``pos``: (lower-case name, first-wins attributes, self-closing, end)."""
        text = self.text
        m = _TAG_NAME.match(text, pos)
        assert m is not None
        name = m.group(1)
        if not self.x.xml:
            name = name.lower()
        attrs: dict[str, _Attr] = {}
        p = m.end()
        attr = _ATTR
        xml = self.x.xml
        while True:
            a = attr.match(text, p)
            if a is None:
                return None  # EOF in tag: the tag is not emitted (§13.2.5.32 and friends)
            last = a.lastindex
            if last == 2:
                return name, attrs, a.group(1).endswith("/"), a.end()
            aname = a.group(3) if xml else a.group(3).lower()
            if last == 3 or last is None:
                value, start = "", -1
            else:
                # group 4: double-quoted, 5: single-quoted, 6: unquoted
                value, start = a.group(last), a.start(last)
                if last == 6 and value[:1] in ('"', "'"):
                    return None  # an unterminated quoted value runs to EOF
            # §13.2.5.33: a duplicate attribute is dropped; the first wins
            if aname not in attrs:
                attrs[aname] = _Attr(value, start)
            p = a.end()

    def track_ignore(self, name: str, attrs: dict[str, _Attr], self_closing: bool) -> None:
        """The inline markers in force for this element: its own and its open ancestors'."""
        inherited = self.ignore_stack[-1][1] if self.ignore_stack else None
        own = attrs.get(MARKER_ATTRIBUTE)
        if own is not None:
            self.ignore = markers_in_force(inherited, charrefs.decode(own.value, attribute=True)[0])
        else:
            self.ignore = inherited
        if name not in _VOID and not (self_closing and self.foreign):
            self.ignore_stack.append((name, self.ignore))
            self.ignore_open[name] = self.ignore_open.get(name, 0) + 1

    def end_tag(self, pos: int) -> int:
        parsed = self.parse_tag(pos)
        if parsed is None:
            return len(self.text)
        name, _, _, end = parsed
        if self.ignore_open.get(name):  # (a count, not a scan of the stack: deep nesting stays linear)
            while self.ignore_stack:
                popped = self.ignore_stack.pop()[0]
                self.ignore_open[popped] -= 1
                if popped == name:
                    break
            self.ignore = self.ignore_stack[-1][1] if self.ignore_stack else None
        if self.foreign and name in self.foreign:
            # §13.2.6.5 "any other end tag": pop foreign elements up to the matching one
            while self.foreign:
                if self.foreign.pop() == name:
                    break
            return end
        if name == "template" and self.template:
            self.template -= 1
        elif self.tree and name in self.tree:
            while self.tree:
                if self.tree.pop() == name:
                    break
        elif self.tree and name not in _ENDS_NOTHING:
            # an end tag for no element inside the tracked <picture>/<video>/<audio>: it closes an element
            # outside it (HTML §13.2.6.4.7: "any other end tag", and </p>, </div>, </li>… pop everything
            # above the element they close), so the <picture> is closed and later <img>s are not in it
            # (a stray end tag matching nothing would be ignored: assumed rare inside these elements)
            self.tree.clear()
        return end

    def start_tag(self, pos: int) -> int:
        self.tag_start = pos
        parsed = self.parse_tag(pos)
        if parsed is None:
            return len(self.text)
        name, attrs, self_closing, end = parsed
        if self.x.markers:
            self.track_ignore(name, attrs, self_closing)
        if self.foreign and self.foreign[-1] not in _INTEGRATION:
            breakout = name in _BREAKOUT or (name == "font" and any(k in attrs for k in ("color", "face", "size")))
            if not breakout:
                return self.foreign_start(name, attrs, self_closing, end)
            # §13.2.6.5: pop until an HTML element or an integration point, then handle as HTML
            while self.foreign and self.foreign[-1] not in _INTEGRATION:
                self.foreign.pop()
        if name == "image" and not self.x.xml:
            name = "img"  # §13.2.6.4.7: "image" is parsed as "img" (outside foreign content)
        parent = self.tree[-1] if self.tree else None
        if self.tree or name in ("picture", "video", "audio"):
            if name not in _VOID:
                self.tree.append(name)
        if name in ("svg", "math"):
            if not self_closing:
                self.foreign.append(name)
            self.element_attrs(name, attrs, parent)
            return end
        self.element_attrs(name, attrs, parent)
        if self.x.xml:
            if name == "template" and not self_closing:
                self.template += 1
            if name in ("style", "script") and not self_closing:
                return self.xml_text_element(name, attrs, end)
            return end
        # raw text and RCDATA elements: §13.2.6.4.4 / §13.2.5.2-3
        if name == "script":
            return self.script_element(attrs, end)
        if name == "style":
            return self.style_element(end)
        if name in ("xmp", "iframe", "noembed", "noframes", "textarea", "title") or (
                name == "noscript" and self.page.scripting):
            return self.skip_raw(name, end)
        if name == "plaintext":
            return len(self.text)
        if name == "template":
            self.template += 1
        return end

    def skip_raw(self, name: str, end: int) -> int:
        if name in self.tree:
            self.tree.remove(name)
        m = _RAW_END[name].search(self.text, end)
        if m is None:
            return len(self.text)
        return self.end_tag(m.start())

    def find_script_end(self, pos: int) -> tuple[int, int]:
        """§13.2.5.4-22 script data states, escaped and double-escaped: (content end, end-tag start)."""
        text = self.text
        state = 0  # 0 data, 1 escaped, 2 double escaped
        p = pos
        while True:
            m = _SCRIPT_EVENTS.search(text, p)
            if m is None:
                return len(text), len(text)
            tok = m.group(0)
            if tok == "<!--":
                if state == 0:
                    state = 1
                p = m.start() + 2  # "<!-->" leaves the escape at once: let "-->" overlap
                continue
            if tok == "-->":
                if state:
                    state = 0
                p = m.end()
                continue
            if tok[1] == "/":
                if state == 2:
                    state = 1
                    p = m.end()
                    continue
                return m.start(), m.start()
            # "<script" followed by a delimiter
            if state == 1:
                state = 2
            p = m.end()

    def in_head(self, pos: int) -> bool:
        """Is an element starting at ``pos`` still inserted into <head>? (§13.2.6.4.2-6: until a
        start tag other than the head's own, non-whitespace text, or </body>, </html>, </br>).

        Only a CSP <meta> needs this, so it is worked out on demand, once per document."""
        if self.body_start is None:
            self.body_start = self.find_body_start()
        return pos < self.body_start

    def find_body_start(self) -> int:
        text = self.text
        n = len(text)
        p = 0
        while p < n:
            m = _SKIP_HEAD.match(text, p)
            p = m.end() if m else p
            if p >= n:
                return n
            if text[p] != "<":
                return p
            nxt = text[p + 1] if p + 1 < n else ""
            if nxt == "/":
                parsed = self.parse_tag(p)
                if parsed is None:
                    return n
                if parsed[0] in ("body", "html", "br"):
                    return p
                p = parsed[3]
                continue
            if not (nxt.isascii() and nxt.isalpha()):
                return p
            parsed = self.parse_tag(p)
            if parsed is None:
                return n
            name, _, _, end = parsed
            if name not in _HEAD_OK:
                return p
            p = self.past_head_element(name, end)
        return n

    def past_head_element(self, name: str, end: int) -> int:
        """Where a head element whose start tag ends at ``end`` is over: past the end tag of a script,
        raw-text or template element (their content is not markup), else ``end``."""
        text, n = self.text, len(self.text)
        if name == "script":
            _, tag_start = self.find_script_end(end)
            close = _TAG_END.search(text, tag_start)
            return close.end() if close else n
        if name in _RAW_END and not (name == "noscript" and not self.page.scripting):
            close_m = _RAW_END[name].search(text, end)
            close = _TAG_END.search(text, close_m.end()) if close_m else None
            return close.end() if close else n
        if name == "template":
            close_m = _TEMPLATE_END.search(text, end)
            return close_m.end() if close_m else n
        return end

    def meta_insertion(self) -> tuple[int, bool]:
        """Where a CSP <meta> goes so that it governs the whole document, and whether a <meta> CSP in
        <head> already carries upgrade-insecure-requests: (code-point index, already).

        The point is just after the <head> start tag (after <html> or before the first element when
        the head is implied), moved past a charset <meta> that directly follows, so the charset
        declaration stays where the prescan finds it (HTML §13.2.3.2: the first 1024 bytes)."""
        text = self.text
        n = len(text)
        p = 0
        insert: int | None = None
        first: int | None = None
        other_since_insert = False
        already = False
        while p < n:
            m = _SKIP_HEAD.match(text, p)
            p = m.end() if m else p
            if p >= n or text[p] != "<":
                break
            nxt = text[p + 1] if p + 1 < n else ""
            if nxt == "/":
                parsed = self.parse_tag(p)
                if parsed is None or parsed[0] in ("body", "html", "br", "head"):
                    break
                p = parsed[3]
                continue
            if not (nxt.isascii() and nxt.isalpha()):
                break
            parsed = self.parse_tag(p)
            if parsed is None:
                break
            name, attrs, _, end = parsed
            if first is None and name != "html":
                first = p
            if name in ("html", "head"):
                if name == "head" or insert is None:
                    insert, other_since_insert = end, False
                p = end
                continue
            if name not in _HEAD_OK:
                break
            if name == "meta":
                equiv = attrs.get("http-equiv")
                # (not stripped: an enumerated attribute, as in _meta)
                kind = charrefs.decode(equiv.value, attribute=True)[0].lower() if equiv else ""
                content = attrs.get("content")
                if "charset" in attrs or kind == "content-type":
                    if not other_since_insert:
                        insert = end
                    p = end
                    continue
                if kind == "content-security-policy" and content is not None and policy_upgrades(
                        charrefs.decode(content.value, attribute=True)[0]):
                    already = True
            other_since_insert = True
            if first is None:
                first = p
            p = self.past_head_element(name, end)
        if insert is None:
            insert = first if first is not None else min(p, n)
        return insert, already

    # ---- elements ---------------------------------------------------------------------------------
    def script_element(self, attrs: dict[str, _Attr], end: int) -> int:
        content_end, tag_start = self.find_script_end(end)
        if self.template == 0 and self.runs_as_script(attrs) and "src" not in attrs:
            body = self.text[end:content_end]
            if script.has_candidate(body):
                for s, e, value in script.literals(body):
                    self.add_raw(RefKind.SCRIPT_LITERAL, end + s, end + e, value, "script", None,
                                 Context.SCRIPT, None, None)
        if "script" in self.tree:
            self.tree.remove("script")
        if tag_start >= len(self.text):
            return tag_start
        return self.end_tag(tag_start)

    def runs_as_script(self, attrs: dict[str, _Attr]) -> bool:
        t = attrs.get("type")
        if t is None:
            lang = attrs.get("language")
            return lang is None or lang.value == "" or ("text/" + lang.value).lower() in _JS_TYPES
        v = t.value.strip(_WS).lower()
        return v == "" or v in _JS_TYPES

    def style_element(self, end: int) -> int:
        m = _RAW_END["style"].search(self.text, end)
        close = m.start() if m else len(self.text)
        if self.template == 0:
            self.css_block(self.text[end:close], end, None, "style", Context.STYLE_ELEMENT, sheet=True)
        if "style" in self.tree:
            self.tree.remove("style")
        return self.end_tag(close) if m else close

    def xml_text_element(self, name: str, attrs: dict[str, _Attr], end: int) -> int:
        """<style>/<script> content in foreign content or XHTML: markup, CDATA and references."""
        close_re = _RAW_END["style"] if name == "style" else re.compile(r"</script(?=[\t\n\f\r />])",
                                                                        re.IGNORECASE)
        m = close_re.search(self.text, end)
        close = m.start() if m else len(self.text)
        if self.template == 0 and (name == "style" or self.runs_as_script(attrs)):
            decoded, index = _text_content(self.text[end:close], self.x.xml)
            if name == "style":
                self.css_block(decoded, end, index, "style", Context.STYLE_ELEMENT, sheet=True)
            elif script.has_candidate(decoded):
                for s, e, value in script.literals(decoded):
                    rs, re_ = charrefs.raw_range(index, s, e)
                    self.add_raw(RefKind.SCRIPT_LITERAL, end + rs, end + re_, value, "script", None,
                                 Context.SCRIPT, None, None)
        return close

    def foreign_start(self, name: str, attrs: dict[str, _Attr], self_closing: bool, end: int) -> int:
        # §13.2.6.5: foreign elements acknowledge the self-closing flag
        if not self_closing:
            self.foreign.append(name)
        if self.template == 0:
            href = attrs.get("href") or attrs.get("xlink:href")  # SVG 2: href beats xlink:href
            if href is not None:
                attr_name = "href" if "href" in attrs else "xlink:href"
                if name == "image":
                    self.url_attr(name, attr_name, href, RefKind.REQUEST, "image", "")
                elif name == "feimage" or name == "use" and not href.value.strip(_WS).startswith("#"):
                    self.url_attr(name, attr_name, href, RefKind.REQUEST, "image", "", empty=_Empty.NEVER)
                elif name == "script":
                    self.url_attr(name, attr_name, href, RefKind.REQUEST, "script", "")
            self.common_attrs(name, attrs)
        if name in ("style", "script") and not self_closing:
            return self.xml_text_element(name, attrs, end)
        return end

    def element_attrs(self, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
        if self.template:
            return
        if attrs:
            self.common_attrs(name, attrs)
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, name, attrs, parent)

    def common_attrs(self, name: str, attrs: dict[str, _Attr]) -> None:
        style = attrs.get("style")
        if style is not None and style.start >= 0:
            decoded, index = charrefs.decode(style.value, attribute=True, xml=self.x.xml)
            self.css_block(decoded, style.start, index, name, Context.STYLE_ATTRIBUTE, sheet=False)
        for aname, a in attrs.items():
            if aname.startswith("on") and a.start >= 0 and script.has_candidate(a.value):
                decoded, index = charrefs.decode(a.value, attribute=True, xml=self.x.xml)
                for s, e, value in script.literals(decoded):
                    rs, re_ = charrefs.raw_range(index, s, e)
                    self.add_raw(RefKind.SCRIPT_LITERAL, a.start + rs, a.start + re_, value, name,
                                 aname, Context.SCRIPT, None, None)

    # ---- references ---------------------------------------------------------------------------------
    def url_attr(self, element: str, attribute: str, a: _Attr, kind: RefKind, destination: str | None,
                 initiator: str | None, *, detail: str | None = None, keep: bool = False,
                 empty: _Empty = _Empty.STRIPPED) -> str | None:
        """A single-URL attribute. Returns the resolved URL; with ``keep`` whatever its scheme, else
        None when it cannot be http. An empty value fetches what ``empty`` says (None: nothing)."""
        if a.start < 0:
            return None
        decoded, index = charrefs.decode(a.value, attribute=True, xml=self.x.xml)
        s, e = urls.strip_ascii_whitespace(decoded)
        # an empty URL attribute fetches nothing (HTML's img, script, link, media, poster, track, iframe,
        # object, input type=image and background steps each stop at the empty string); whether an
        # all-whitespace one does depends on the attribute, as measured in Chromium (``_Empty``)
        if s == e and (empty is _Empty.STRIPPED or (empty is _Empty.EXACT and not decoded)):
            return None
        return self.add_url(decoded[s:e], index, a.start, s, e, element, attribute, kind, destination,
                            initiator, detail=detail, keep=keep)

    def add_url(self, value: str, index: list[int] | None, value_start: int, s: int, e: int, element: str,
                attribute: str | None, kind: RefKind, destination: str | None, initiator: str | None, *,
                context: Context | None = None, base: str | None = None, detail: str | None = None,
                keep: bool = False) -> str | None:
        """Resolve ``value`` (decoded[s:e]); record a Reference when it is http. Returns the URL."""
        if not self.http_base and base is None and not keep and not urls.may_be_http(value):
            return None
        resolved = urls.resolve(value, base or self.base)
        if resolved is None:
            return None  # docs/judging.md#steps step 1: a URL that fails to parse is not fetched
        if resolved.startswith("http:"):  # (urls.is_http, read from the serialisation: see _is_http)
            rs, re_ = charrefs.raw_range(index, s, e)
            via = None
            if self.base_ref is not None and not urls.may_be_http(value) and base is None:
                via = self.base_ref
            self.add_raw(kind, value_start + rs, value_start + re_, None, element, attribute,
                         context or self.html_context(), destination, initiator, url=resolved, via_base=via,
                         detail=detail)
        return resolved

    def follow(self, a: _Attr | None) -> None:
        """extract_html(links=True): record a navigation or frame URL, resolved against the base."""
        if a is None or a.start < 0 or self.x.links is None:
            return
        self.follow_value(charrefs.decode(a.value, attribute=True, xml=self.x.xml)[0])

    def follow_value(self, decoded: str) -> None:
        """Record a link (its attribute value, character references decoded) once per document."""
        assert self.x.links is not None
        base = self.base
        key = (decoded, base)
        if key in self.x.links_seen:
            return
        self.x.links_seen.add(key)
        value = decoded.strip(_WS)  # ASCII whitespace, as urls.strip_ascii_whitespace
        # WHATWG URL §4.4: an absolute URL with an authority ("scheme://") ignores its base, and a
        # path-absolute one ("/x") takes only the scheme and authority from it; resolving these
        # against about:blank or the base's root lets every page share urls.resolve's cache
        if "\t" not in value and "\n" not in value and "\r" not in value:
            if value[:1] == "/":
                if value[1:2] not in ("/", "\\", "") and base.startswith(("https://", "http://")):
                    base = base[:base.find("/", base.index("//") + 2) + 1]
            elif _WITH_AUTHORITY.match(value):
                base = "about:blank"
        url = urls.resolve(value, base)
        if url is not None:
            self.x.links.append(url)

    def html_context(self) -> Context:
        return Context.SRCDOC if self.depth else Context.HTML

    def add_raw(self, kind: RefKind, start: int, end: int, literal: str | None, element: str,
                attribute: str | None, context: Context, destination: str | None, initiator: str | None, *,
                url: str | None = None, via_base: Reference | None = None, detail: str | None = None) -> None:
        if url is None:
            # script literals carry their own absolute URL text
            url = urls.resolve(literal if literal is not None else self.text[start:end], self.base)
            if url is None or not _is_http(url):
                return
        if self.depth and context is not Context.SCRIPT:
            context = Context.SRCDOC
        self.x.emit(self, kind, start, end, url, element, attribute, context, destination, initiator,
                    via_base, detail)

    def css_block(self, decoded: str, value_start: int, index: list[int] | None, element: str,
                  context: Context, *, sheet: bool) -> None:
        if not self.http_base and not css.has_candidate(decoded):
            return  # under an https base only an absolute http URL or an escape can be http
        found = css.extract_stylesheet(decoded) if sheet else css.extract_declarations(decoded)
        for u, resolved in css.fetched(found, self.base):
            if u.destination == "style":
                self.x.stylesheets.append(StylesheetLoad(resolved, self.upgrade))
            if not _is_http(resolved):
                continue
            rs, re_ = charrefs.raw_range(index, u.start, u.end)
            el, attr = (u.element, u.property) if sheet else (element, "style")
            via = self.base_ref if self.base_ref is not None and not urls.may_be_http(u.value) else None
            self.add_raw(RefKind.REQUEST, value_start + rs, value_start + re_, None, el, attr, context,
                         u.destination, "", url=resolved, via_base=via, detail=u.property)

    def srcset_attr(self, element: str, attribute: str, a: _Attr) -> None:
        if a.start < 0:
            return
        decoded, index = charrefs.decode(a.value, attribute=True, xml=self.x.xml)
        for i, (s, e) in enumerate(srcset.candidates(decoded), 1):
            self.add_url(decoded[s:e], index, a.start, s, e, element, attribute, RefKind.REQUEST, "image",
                         "imageset", detail=f"candidate {i}")


# ---- per-element handlers (HTML §4 "fetch" steps reduced to destination and initiator) -------------

def _img(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    # Chromium: an <img> with a srcset attribute or a <picture> parent selects through the image set
    imageset = "srcset" in attrs or parent == "picture"
    if "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, "image", "imageset" if imageset else "")
    if "srcset" in attrs:
        d.srcset_attr(name, "srcset", attrs["srcset"])


def _source(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if parent == "picture" and "srcset" in attrs:
        d.srcset_attr(name, "srcset", attrs["srcset"])
    elif parent in ("video", "audio") and "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, parent, "", empty=_Empty.EXACT)


def _video(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, name, "", empty=_Empty.EXACT)
    if name == "video" and "poster" in attrs:
        d.url_attr(name, "poster", attrs["poster"], RefKind.REQUEST, "image", "")


def _track(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, "track", "")


def _keyword(attrs: dict[str, _Attr], name: str, default: str) -> str:
    """An enumerated attribute's value as browsers match it (HTML §2.3.3): character references decoded,
    ASCII case-insensitive, not trimmed (Chromium compares with EqualIgnoringASCIICase: type=" image "
    is an invalid value, so its default state)."""
    a = attrs.get(name)
    return default if a is None else charrefs.decode(a.value, attribute=True)[0].lower()


def _input(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    itype = _keyword(attrs, "type", "")
    if itype == "image" and "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, "image", "")
    if itype in ("submit", "image") and "formaction" in attrs:
        _form_target(d, name, "formaction", attrs["formaction"])


def _button(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    btype = _keyword(attrs, "type", "submit")
    if btype not in ("button", "reset") and "formaction" in attrs:
        _form_target(d, name, "formaction", attrs["formaction"])


def _form(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    method = _keyword(attrs, "method", "")
    if method != "dialog" and "action" in attrs:
        _form_target(d, name, "action", attrs["action"])


def _form_target(d: _Doc, name: str, attribute: str, a: _Attr) -> None:
    # an empty action submits to the document's own URL (https): nothing to report
    if a.value.strip(_WS):
        d.url_attr(name, attribute, a, RefKind.FORM, None, None)


def _script(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    # HTML §4.12.1 "prepare the script element": unknown types are not fetched, nor classic scripts with
    # nomodule (step 13: "nomodule on a module script has no effect", as in Chromium's ScriptLoader)
    module = "type" in attrs and attrs["type"].value.strip(_WS).lower() == "module"
    if "src" in attrs and ("nomodule" not in attrs or module) and d.runs_as_script(attrs):
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, "script", "")


def _link(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if "href" not in attrs and "imagesrcset" not in attrs:
        return
    rel = set(charrefs.decode(attrs["rel"].value, attribute=True)[0].lower().split()) if "rel" in attrs else set()
    href = attrs.get("href")
    if "next" in rel and d.x.links is not None:
        d.follow(href)  # HTML §4.6.7.13: the next document in a series (pagination)
    if "stylesheet" in rel:
        ltype = charrefs.decode(attrs["type"].value, attribute=True)[0].strip(_WS).lower() if "type" in attrs else ""
        if "disabled" in attrs or ltype not in ("", "text/css") or href is None:
            return
        # resolved whatever its scheme: a same-site stylesheet is followed
        url = d.url_attr(name, "href", href, RefKind.REQUEST, "style", "", detail="stylesheet", keep=True)
        if url is not None and d.template == 0:
            d.x.stylesheets.append(StylesheetLoad(url, d.upgrade))
    elif "icon" in rel:
        if href is not None:
            # Chromium fetches favicons in its own (blockable) FAVICON context
            d.url_attr(name, "href", href, RefKind.REQUEST, "image", "", detail="icon", empty=_Empty.EXACT)
    elif "preload" in rel:
        as_ = _keyword(attrs, "as", "")  # HTML "translate a preload destination": lower-cased, not trimmed
        if as_ not in _PRELOAD_AS:
            return  # no or unsupported `as`: not fetched
        if as_ == "image" and "imagesrcset" in attrs:
            d.srcset_attr(name, "imagesrcset", attrs["imagesrcset"])
            if href is not None:
                d.url_attr(name, "href", href, RefKind.REQUEST, "image", "imageset", detail="preload")
        elif href is not None:
            d.url_attr(name, "href", href, RefKind.REQUEST, _PRELOAD_AS[as_], "", detail="preload")
    elif "modulepreload" in rel:
        if href is not None:
            d.url_attr(name, "href", href, RefKind.REQUEST, "script", "", detail="modulepreload")
    elif "prefetch" in rel:
        if href is not None:
            d.url_attr(name, "href", href, RefKind.REQUEST, "", "prefetch", detail="prefetch")
    elif "manifest" in rel:
        if href is not None:
            d.url_attr(name, "href", href, RefKind.REQUEST, "manifest", "", detail="manifest",
                       empty=_Empty.EXACT)


def _iframe(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if name == "iframe" and "srcdoc" in attrs:
        # HTML §4.8.5: srcdoc wins over src; the nested document is about:srcdoc
        d.x.srcdoc(d, attrs["srcdoc"])
        return
    if "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, name, "")
        # an empty or all-whitespace src loads about:blank (HTML §4.8.5; Chromium fetches nothing for
        # either, tests/extract/test_empty_values_chromium.py): no frame document to crawl
        if d.x.links is not None and attrs["src"].value.strip(_WS):
            d.follow(attrs["src"])


def _object(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if "data" in attrs:
        d.url_attr(name, "data", attrs["data"], RefKind.REQUEST, "object", "")


def _embed(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if "src" in attrs:
        d.url_attr(name, "src", attrs["src"], RefKind.REQUEST, "embed", "")


def _ping(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if d.x.links is not None:
        d.follow(attrs.get("href"))
    a = attrs.get("ping")
    if a is None or a.start < 0:
        return
    decoded, index = charrefs.decode(a.value, attribute=True, xml=d.x.xml)
    for m in re.finditer(r"[^\t\n\f\r ]+", decoded):
        d.add_url(m.group(0), index, a.start, m.start(), m.end(), name, "ping", RefKind.REQUEST, "", "")


def _background(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    if "background" in attrs:
        d.url_attr(name, "background", attrs["background"], RefKind.REQUEST, "image", "")


def _base(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    a = attrs.get("href")
    if a is None or d.base_set or d.foreign:
        return
    d.base_set = True  # only the first <base> with an href counts (HTML §2.4.1 "document base URL")
    if a.start < 0:
        # <base href> without a value: its frozen base URL is the fallback base URL (HTML §4.2.3
        # "set the frozen base URL": the empty string parsed against it), so nothing changes and
        # there is no value to point a finding at
        return
    decoded, index = charrefs.decode(a.value, attribute=True, xml=d.x.xml)
    s, e = urls.strip_ascii_whitespace(decoded)
    fallback = d.page.url if d.depth == 0 else d.base
    resolved = urls.resolve(decoded[s:e], fallback)
    if resolved is None:
        return  # an unparseable base href is ignored
    d.base = resolved
    if _is_http(resolved):
        d.http_base = True
        rs, re_ = charrefs.raw_range(index, s, e)
        d.add_raw(RefKind.BASE, a.start + rs, a.start + re_, None, name, "href", d.html_context(), None, None,
                  url=resolved)
        if not urls.is_potentially_trustworthy(resolved) and d.x.references:
            d.base_ref = d.x.references[-1]


def _meta(d: _Doc, name: str, attrs: dict[str, _Attr], parent: str | None) -> None:
    equiv = attrs.get("http-equiv")
    content = attrs.get("content")
    if equiv is None or content is None or d.foreign:
        return
    # HTML §4.2.5.3: http-equiv is an enumerated attribute, matched ASCII case-insensitively and not
    # stripped (Chromium's HttpEquiv::Process: " Content-Security-Policy " is no pragma at all)
    kind = charrefs.decode(equiv.value, attribute=True)[0].lower()
    if kind == "content-security-policy":
        # CSP3 §3.3: only a <meta> in <head> is honoured, from its position onwards
        if policy_upgrades(charrefs.decode(content.value, attribute=True)[0]) and d.in_head(d.tag_start):
            d.upgrade = True
    elif kind == "refresh" and d.depth > 0 and content.start >= 0:
        decoded, index = charrefs.decode(content.value, attribute=True, xml=d.x.xml)
        span = refresh_url(decoded)
        if span is not None:
            s, e = span
            d.add_url(decoded[s:e], index, content.start, s, e, name, "content", RefKind.REQUEST, "iframe", "",
                      detail="refresh")


_HANDLERS = {
    "img": _img, "source": _source, "video": _video, "audio": _video, "track": _track, "input": _input,
    "button": _button, "form": _form, "script": _script, "link": _link, "iframe": _iframe, "frame": _iframe,
    "object": _object, "embed": _embed, "a": _ping, "area": _ping, "body": _background,
    "table": _background, "td": _background, "th": _background, "base": _base, "meta": _meta,
}


# the codes a marker can usefully name: every prefix of a rule code ("MC1", "MC10", "MC101", …)
_CODE_PREFIXES = frozenset(code[:i] for code in RULES for i in range(3, len(code) + 1))
_MARKER_CODE = re.compile(r"MC[0-9]+", re.IGNORECASE)  # as suppress.matches_codes reads a marker


def markers_in_force(inherited: str | None, own: str) -> str | None:
    """What an element's ``data-mixedcontent-ignore`` (``own``, decoded) and its ancestors' markers
    (``inherited``) ignore together: "" every code (a marker naming no code), None nothing, else the
    sorted distinct codes and prefixes that name a rule. Bounded whatever the nesting (at most every
    prefix of every rule code), and an ancestor's string is shared when nothing is added, so nested
    markers cost memory in proportion to the page, not to depth x depth."""
    if inherited == "":
        return ""
    listed = {c.upper() for c in _MARKER_CODE.findall(own)}
    if not listed:
        return ""
    codes = {c for c in listed if c in _CODE_PREFIXES} | set(inherited.split() if inherited else ())
    if not codes:
        return inherited  # only codes no rule has: nothing more is ignored
    joined = " ".join(sorted(codes))
    return inherited if joined == inherited else joined


def policy_upgrades(policy: str) -> bool:
    """CSP3 §2.2.1 parse a serialized CSP: does it contain upgrade-insecure-requests?"""
    seen: set[str] = set()
    for token in policy.split(";"):
        token = token.strip(_WS)
        if not token:
            continue
        directive = re.split(r"[\t\n\f\r ]", token, maxsplit=1)[0].lower()
        if not re.fullmatch(r"[a-z0-9-]+", directive) or directive in seen:
            continue  # invalid names and duplicates are ignored
        seen.add(directive)
        if directive == "upgrade-insecure-requests":
            return True
    return False


def header_upgrades(header: str) -> bool:
    """A Content-Security-Policy header value: a comma-separated list of policies (CSP3 §2.2.2)."""
    return any(policy_upgrades(p) for p in header.split(","))


def refresh_url(content: str) -> tuple[int, int] | None:
    """HTML §7.11.1 shared declarative refresh steps: where the URL sits in ``content``."""
    m = re.match(r"[\t\n\f\r ]*[0-9]*(?:\.[0-9.]*)?[\t\n\f\r ]*[;,]?[\t\n\f\r ]*"
                 r"(?:[uU][rR][lL][\t\n\f\r ]*=[\t\n\f\r ]*)?", content)
    if m is None or m.end() == 0 and not content:
        return None
    start = m.end()
    if start >= len(content) or not re.match(r"[\t\n\f\r ]*[0-9]", content):
        return None
    end = len(content)
    if content[start] in "\"'":
        quote = content[start]
        start += 1
        q = content.find(quote, start)
        end = q if q >= 0 else end
    while end > start and content[end - 1] in _WS:
        end -= 1
    return (start, end) if end > start else None


def _text_content(raw: str, xml: bool) -> tuple[str, list[int] | None]:
    """Text of an element whose content is parsed as markup (foreign <style>, XHTML): CDATA
    sections literal, character references decoded elsewhere; tags are dropped."""
    if "&" not in raw and "<" not in raw:
        return raw, None
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in re.finditer(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<[^>]*>", raw, re.S):
        seg, seg_index = charrefs.decode(raw[pos:m.start()], attribute=False, xml=xml)
        out.append(seg)
        index.extend([pos + i for i in seg_index[:-1]] if seg_index else range(pos, m.start()))
        if m.group(1) is not None:
            out.append(m.group(1))
            index.extend(range(m.start(1), m.end(1)))
        pos = m.end()
    seg, seg_index = charrefs.decode(raw[pos:], attribute=False, xml=xml)
    out.append(seg)
    index.extend([pos + i for i in seg_index[:-1]] if seg_index else range(pos, len(raw)))
    index.append(len(raw))
    return "".join(out), index


class _Extractor:
    def __init__(self, source: SourceText, page: PageContext, xml: bool, exhaustive: bool = False) -> None:
        self.exhaustive = exhaustive
        # pages without the marker text pay nothing for inline suppression
        self.markers = source.mentions_ignore_marker()
        self.source = source
        self.page = page
        self.xml = xml
        self.references: list[Reference] = []
        self.stylesheets: list[StylesheetLoad] = []
        self.links: list[str] | None = None  # collected only when asked (extract_html(links=True))
        self.links_seen: set[tuple[str, str]] = set()  # (value, base) pairs already recorded

    def span(self, start: int, end: int) -> Span:
        src = self.source
        line, column = src.line_column(start)
        return Span(src.byte_offset(start), src.byte_offset(end), line, column)

    def emit(self, d: _Doc, kind: RefKind, start: int, end: int, url: str, element: str, attribute: str | None,
             context: Context, destination: str | None, initiator: str | None, via_base: Reference | None,
             detail: str | None) -> None:
        # an https URL, or an http one that is potentially trustworthy (Secure Contexts §3.1), is never
        # mixed content nor probed (classify.decide step 3, needs_probe): no Reference is made for it
        if not urls.is_insecure_href(url):
            return
        outer_start, outer_end = d.outer(start), d.outer(end)
        self.references.append(Reference(
            kind=kind, raw=self.source.text[outer_start:outer_end], url=url,
            span=self.span(outer_start, outer_end), element=element, attribute=attribute, context=context,
            destination=destination, initiator=initiator, secure=self.page.secure, upgrade_insecure=d.upgrade,
            page=self.page.url, via_base=via_base, detail=detail, ignore=d.ignore,
        ))

    def srcdoc(self, parent: _Doc, a: _Attr) -> None:
        if a.start < 0 or parent.depth >= _MAX_SRCDOC_DEPTH:
            return
        decoded, index = charrefs.decode(a.value, attribute=True, xml=self.xml)
        to_outer: list[int] | None
        if index is not None and parent.to_outer is not None:
            to_outer = [parent.to_outer[a.start + i] - parent.to_outer[a.start] for i in index]
            offset = parent.outer(a.start)
        elif parent.to_outer is not None:
            to_outer = [parent.to_outer[a.start + i] - parent.to_outer[a.start] for i in range(len(decoded) + 1)]
            offset = parent.outer(a.start)
        else:
            to_outer = index
            offset = parent.outer(a.start)
        # HTML §7.4.1: about:srcdoc takes its parent's base URL as fallback; CSP is inherited
        nested = _Doc(self, decoded, parent.page, Context.SRCDOC, parent.depth + 1, to_outer, offset,
                      base=parent.base, base_ref=parent.base_ref, upgrade=parent.upgrade)
        if parent.ignore is not None:
            # the iframe's own marker (or an ancestor's) covers its srcdoc document
            nested.ignore_stack.append(("#srcdoc", parent.ignore))
            nested.ignore_open["#srcdoc"] = 1
            nested.ignore = parent.ignore
        nested.run()



def csp_meta_insertion(source: SourceText, page: PageContext, *, xml: bool = False) -> tuple[int, bool]:
    """(code-point index in ``source.text`` where a CSP <meta> should be inserted, whether the head
    already has a <meta> CSP with upgrade-insecure-requests). See ``_Doc.meta_insertion``."""
    x = _Extractor(source, page, xml)
    return _Doc(x, source.text, page, Context.HTML, 0, None, 0).meta_insertion()


def extract_html(source: SourceText, page: PageContext, *, xml: bool = False,
                 exhaustive: bool = False, links: bool = False) -> Extraction:
    """All http references of one document (page or XHTML), with exact spans, in document order.

    ``exhaustive`` hands every tag to the Python handlers instead of letting the fast pattern skip
    the boring ones; results must be identical (a property test checks it).

    ``links`` also collects what a crawler follows (``Extraction.links``): ``<a href>``, ``<area
    href>``, ``<link rel=next href>``, ``<iframe src>`` and ``<frame src>``, resolved against the
    document base, outside ``<template>``. It costs a few more tags through Python per page (measured
    about the same as a second parse with lxml, without a second reading of the HTML rules).
    """
    global _read_exhaustively
    if not exhaustive and _read_exhaustively + len(source.text) <= _FAST_AFTER:
        _read_exhaustively += len(source.text)
        exhaustive = True  # (see _FAST_AFTER: the same references, without compiling the fast patterns)
    x = _Extractor(source, page, xml, exhaustive)
    if links:
        x.links = []
    doc = _Doc(x, source.text, page, Context.HTML, 0, None, 0)
    doc.run()
    return Extraction(x.references, x.stylesheets, x.links or [])
