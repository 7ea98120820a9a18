"""Counts in the words a person reads: ``plural(1, "page")`` is "1 page", ``plural(2, "page")`` "2
pages". Every text a report, a log line or an error message writes about a count says it through
here, so no output says "1 errors" or "2 file(s)"."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and the noun that agrees with it: ``nouns`` is the plural when adding "s" is wrong
    (``plural(3, "info", "info")``, ``plural(2, "was", "were")`` without the number: see ``agree``)."""
    return f"{n} {agree(n, noun, nouns)}"


def agree(n: int, singular: str, many: str | None = None) -> str:
    """The word that agrees with ``n``, without the number: ``agree(2, "has", "have")`` is "have"."""
    return singular if n == 1 else many if many is not None else singular + "s"


__all__ = ["agree", "plural"]
