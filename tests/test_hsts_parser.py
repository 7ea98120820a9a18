"""The Strict-Transport-Security parser against a table written by hand from RFC 6797 §6.1.

Grammar (§6.1, with RFC 2616 implied LWS between words and separators):

    Strict-Transport-Security = "Strict-Transport-Security" ":" [ directive ] *( ";" [ directive ] )
    directive       = directive-name [ "=" directive-value ]
    directive-name  = token
    directive-value = token | quoted-string

Rules: directive names are case-insensitive (§6.1 rule 3); max-age is required and is delta-seconds
= 1*DIGIT, which may be written as a quoted-string (§6.1.1); includeSubDomains is valueless
(§6.1.2); max-age and includeSubDomains may appear once (§6.1 rule 2); unknown directives are
ignored (§6.1 rule 5); anything else that breaks the grammar makes the UA ignore the header (rule 4).
Unknown directives that repeat or carry a value (``preload; preload``, ``preload=1``) are ignored by
Chromium and Firefox, so they stay valid here (NOTES.md).

Each row: header, expected validity, the reason key (``ok`` for valid headers without oddities), the
max-age a browser would store (valid headers only).
"""

from __future__ import annotations

import pytest

from mixedcontent.posture import parse_sts

ONE_YEAR = 31536000

TABLE: list[tuple[str, bool, str, int | None]] = [
    # --- valid --------------------------------------------------------------------------------
    ("max-age=31536000", True, "ok", ONE_YEAR),
    ("max-age=31536000; includeSubDomains", True, "ok", ONE_YEAR),
    ("max-age=31536000; includeSubDomains; preload", True, "ok", ONE_YEAR),
    ("max-age=0", True, "ok", 0),  # valid: "forget this host" (§6.1.1)
    ("MAX-AGE=300", True, "ok", 300),  # names are case-insensitive
    ("Max-Age=300; INCLUDESUBDOMAINS", True, "ok", 300),
    ('max-age="31536000"', True, "ok", ONE_YEAR),  # quoted-string form of delta-seconds
    ("max-age = 600", True, "ok", 600),  # implied LWS around "="
    ("  max-age=600  ", True, "ok", 600),  # leading/trailing LWS
    ("max-age=600;", True, "ok", 600),  # a trailing empty directive
    (";max-age=600", True, "ok", 600),  # a leading empty directive
    ("max-age=600;;includeSubDomains", True, "ok", 600),  # empty directives in between
    ("includeSubDomains; max-age=600", True, "ok", 600),  # order is not significant (rule 1)
    ("max-age=600\t;\tincludeSubDomains", True, "ok", 600),  # tabs are LWS
    ("max-age=600; foo", True, "ok", 600),  # unknown valueless directive: ignored
    ("max-age=600; foo=bar", True, "ok", 600),  # unknown directive with a token value
    ('max-age=600; foo="a;b=c"', True, "ok", 600),  # ";" and "=" inside a quoted-string
    ('max-age=600; foo="say \\"hi\\""', True, "ok", 600),  # quoted-pair inside a quoted-string
    ("max-age=0600", True, "ok", 600),  # leading zeros are still 1*DIGIT
    ("max-age=99999999999999999999", True, "ok", 99999999999999999999),  # 1*DIGIT has no upper bound
    ("max-age=600; preload; preload", True, "repeated-unknown", 600),  # browsers ignore it; RFC rule 2 note
    ("max-age=600; preload=yes", True, "preload-value", 600),  # unknown directive with a value: ignored
    ("max-age=600; x-custom='1'", True, "ok", 600),  # "'" is a token character
    # --- invalid: max-age ---------------------------------------------------------------------
    ("", False, "max-age-missing", None),
    ("includeSubDomains", False, "max-age-missing", None),
    ("includeSubDomains; preload", False, "max-age-missing", None),
    (";", False, "max-age-missing", None),
    ("maxage=600", False, "max-age-missing", None),  # misspelt: an unknown directive, so no max-age
    ("max-age", False, "max-age-value", None),  # no value at all
    ('max-age=""', False, "max-age-value", None),  # an empty quoted-string is not 1*DIGIT
    ("max-age=-1", False, "max-age-value", None),  # "-" is a token char but not a DIGIT
    ("max-age=+600", False, "max-age-value", None),
    ("max-age=1.5", False, "max-age-value", None),
    ("max-age=1y", False, "max-age-value", None),
    ("max-age='600'", False, "max-age-value", None),  # single quotes are token chars, not quoting
    ("max-age=\uff16\uff10\uff10", False, "syntax", None),  # fullwidth digits are not token chars
    # --- invalid: repeated known directives -----------------------------------------------------
    ("max-age=600; max-age=600", False, "repeated", None),
    ("max-age=600; MAX-AGE=700", False, "repeated", None),  # case-insensitive repetition
    ("max-age=600; includeSubDomains; includesubdomains", False, "repeated", None),
    # --- invalid: includeSubDomains with a value ----------------------------------------------
    ("max-age=600; includeSubDomains=true", False, "includesubdomains-value", None),
    ('max-age=600; includeSubDomains=""', False, "includesubdomains-value", None),
    # --- invalid: syntax ------------------------------------------------------------------------
    ("max-age=600, includeSubDomains", False, "syntax", None),  # "," is a separator
    ("max-age=600, max-age=600", False, "syntax", None),  # two headers folded into one by a proxy
    ("max-age=600 includeSubDomains", False, "syntax", None),  # missing ";"
    ("max-age: 600", False, "syntax", None),  # ":" is a separator
    ('"max-age"=600', False, "syntax", None),  # a directive name must be a token
    ('max-age="600', False, "syntax", None),  # unterminated quoted-string
    ("max-age=600; foo bar", False, "syntax", None),  # two tokens in one directive
    ("max-age=600; foo={x}", False, "syntax", None),  # braces are separators
    ("max-age=600; =bar", False, "syntax", None),  # a value without a name
    ("max-age=600; foo=", False, "syntax", None),  # "=" must be followed by a token or quoted-string
    ("max-age=600; f\u00f6o", False, "syntax", None),  # non-ASCII is not a token character
    ("max-age=600; foo\x01", False, "syntax", None),  # a control character
]


def test_table_has_at_least_forty_rows() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("header", "valid", "reason", "max_age"), TABLE, ids=[repr(r[0]) for r in TABLE])
def test_sts_header_verdict(header: str, valid: bool, reason: str, max_age: int | None) -> None:
    policy = parse_sts(header)
    assert policy.valid is valid
    keys = {p.key for p in policy.problems} | {n.key for n in policy.notes}
    if reason == "ok":
        assert keys == set()
    else:
        assert reason in keys
    assert policy.max_age == max_age


def test_every_problem_is_named_when_several() -> None:
    policy = parse_sts("max-age=1y; includeSubDomains=1; includeSubDomains")
    assert {p.key for p in policy.problems} == {"max-age-value", "includesubdomains-value", "repeated"}


def test_valid_header_sets_include_subdomains_and_preload() -> None:
    policy = parse_sts("max-age=1; includesubdomains; PRELOAD")
    assert (policy.include_subdomains, policy.preload) == (True, True)


def test_preload_with_a_value_is_not_preload() -> None:
    policy = parse_sts("max-age=1; preload=1")
    assert (policy.valid, policy.preload, policy.preload_with_value) == (True, False, True)


def test_quoted_max_age_is_remembered() -> None:
    assert parse_sts('max-age="5"').max_age_quoted is True
