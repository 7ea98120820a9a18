"""HTML §4.8.4.3.10 "parse a srcset attribute", reduced to what we need: each candidate URL and
where it sits (code-point indexes into the decoded attribute value). A comma inside a URL belongs to
the URL; trailing commas end it."""

from __future__ import annotations

_WS = "\t\n\f\r "


def candidates(value: str) -> list[tuple[int, int]]:
    """Return (start, end) of every candidate URL in ``value``, in order."""
    out: list[tuple[int, int]] = []
    n = len(value)
    pos = 0
    while True:
        # step 4: skip ASCII whitespace and commas
        while pos < n and (value[pos] in _WS or value[pos] == ","):
            pos += 1
        if pos >= n:
            return out
        # step 6: collect a sequence of code points that are not ASCII whitespace -> url
        start = pos
        while pos < n and value[pos] not in _WS:
            pos += 1
        end = pos
        if value[end - 1] == ",":
            # step 7.1: remove all trailing commas; no descriptors follow
            while end > start and value[end - 1] == ",":
                end -= 1
        else:
            # step 8: descriptor tokenizer: runs to a comma outside parentheses (or the end)
            in_parens = False
            while pos < n:
                c = value[pos]
                if in_parens:
                    if c == ")":
                        in_parens = False
                elif c == "(":
                    in_parens = True
                elif c == ",":
                    pos += 1
                    break
                pos += 1
        if end > start:
            out.append((start, end))
