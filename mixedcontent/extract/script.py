"""The script heuristic (docs/judging.md#script, MC401): http:// string literals in inline script text and in
``on…=`` handler attributes. A literal may or may not be fetched; this is never certain and never
auto-fixed.

A literal counts when it starts right after a quote or backtick: ``"http://…"``, ``'http://…'``,
`` `http://…` ``; JSON-style escaped slashes (``http:\\/\\/``) count too. URLs in comments or
prose inside scripts do not.
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"[hH][tT][tT][pP]:")
_LITERAL = re.compile(r"""(?<=["'`])[hH][tT][tT][pP]:(?://|\\/\\/)[^"'`\s<>]*""")


def has_candidate(text: str) -> bool:
    return _CANDIDATE.search(text) is not None


def literals(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of each literal: ``text[start:end]`` is the raw literal, ``url`` its value."""
    out = []
    for m in _LITERAL.finditer(text):
        raw = m.group(0)
        # trailing punctuation of prose-like strings is not part of a URL
        end = m.end()
        while end > m.start() + 8 and text[end - 1] in ".,;:)]}":
            end -= 1
        raw = text[m.start():end]
        out.append((m.start(), end, raw.replace("\\/", "/")))
    return out
