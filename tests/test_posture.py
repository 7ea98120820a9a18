"""The pure parts of the posture audit, on recorded exchanges (values, written by hand): cookies per
RFC 6265 §5.2, exempt hosts, same-host comparison, and the preload rules that need no server."""

from __future__ import annotations

import pytest

from mixedcontent.posture import (
    Chain,
    Exchange,
    is_exempt_host,
    judge_cookies,
    judge_redirects,
    looks_sensitive,
    parse_set_cookie,
    parse_sts,
    preload_issues,
    same_host,
)

GOOD = "max-age=31536000; includeSubDomains; preload"


@pytest.mark.parametrize(("header", "name", "secure", "http_only", "same_site"), [
    ("sid=1; Secure; HttpOnly; SameSite=Lax", "sid", True, True, "Lax"),
    ("sid=1; secure; httponly; samesite=strict", "sid", True, True, "strict"),  # attribute names: any case
    ("sid=1;Secure", "sid", True, False, None),
    ("sid=1; SameSite=Lax; SameSite=None", "sid", False, False, "None"),  # the last attribute wins
    ("sid=; Path=/", "sid", False, False, None),  # an empty value is still a cookie
    ("  sid = 1 ; Secure", "sid", True, False, None),  # whitespace around the name is trimmed
    ("sid=1; Secure=no", "sid", True, False, None),  # Secure's value is ignored
])
def test_set_cookie_attributes(header: str, name: str, secure: bool, http_only: bool, same_site: str | None) -> None:
    c = parse_set_cookie(header)
    assert c is not None
    assert (c.name, c.secure, c.http_only, c.same_site) == (name, secure, http_only, same_site)


@pytest.mark.parametrize("header", ["novalue", "=1; Secure", "  =x"])
def test_set_cookie_that_browsers_ignore(header: str) -> None:
    assert parse_set_cookie(header) is None


@pytest.mark.parametrize(("name", "sensitive"), [
    ("sessionid", True), ("PHPSESSID", True), ("auth", True), ("csrf_token", True), ("login_state", True),
    ("sid", True), ("__Host-x", True), ("__secure-x", True), ("theme", False), ("lang", False), ("_ga", False),
])
def test_sensitive_cookie_names(name: str, sensitive: bool) -> None:
    assert looks_sensitive(name) is sensitive


def test_cookie_on_plain_http_response_is_not_judged() -> None:
    ex = Exchange("http://site.example/", 200, (("Set-Cookie", "sessionid=1"),))
    assert judge_cookies([ex]) == []


def test_host_prefixed_cookie_without_secure_is_rejected_by_browsers() -> None:
    ex = Exchange("https://site.example/", 200, (("Set-Cookie", "__Host-id=1; Path=/; SameSite=Lax; HttpOnly"),))
    [issue] = judge_cookies([ex])
    assert "browsers reject a __Host- cookie without Secure" in issue.message


@pytest.mark.parametrize(("url", "exempt"), [
    ("http://localhost:8080/", True), ("http://LOCALHOST./", True), ("http://dev.localhost/", True),
    ("http://127.0.0.1/", True), ("http://127.9.9.9:81/", True), ("http://[::1]/", True),
    ("http://site.example/", False), ("http://10.0.0.1/", False), ("http://localhost.example/", False),
])
def test_exempt_hosts(url: str, exempt: bool) -> None:
    assert is_exempt_host(url) is exempt


def test_allowed_host_is_exempt_case_insensitively() -> None:
    assert is_exempt_host("http://Staging.Example/", ["staging.example"]) is True


@pytest.mark.parametrize(("a", "b", "same"), [
    ("http://site.example:8080/", "https://site.example:8443/", True),  # ports are not compared
    ("http://SITE.example/", "https://site.example./", True),
    ("http://site.example/", "https://www.site.example/", False),
])
def test_same_host_compares_names_only(a: str, b: str, same: bool) -> None:
    assert same_host(a, b) is same


def _ok(url: str) -> Exchange:
    return Exchange(url, 200, (("Strict-Transport-Security", GOOD),))


def test_www_that_does_not_resolve_is_no_obstacle_to_preloading() -> None:
    response = _ok("https://site.example/")
    www = Exchange("https://www.site.example/", None, error="dns-failure")
    assert preload_issues(parse_sts(GOOD), response, "site.example", None, None, www) == []


def test_public_suffix_host_is_not_preloadable() -> None:
    [issue] = preload_issues(parse_sts(GOOD), _ok("https://github.io/"), None, None, None, None)
    assert (issue.attribute, "public suffix" in issue.message) == ("domain", True)


def test_max_age_over_ten_years_is_flagged_for_preloading() -> None:
    policy = parse_sts("max-age=400000000; includeSubDomains; preload")
    [issue] = preload_issues(policy, _ok("https://site.example/"), "site.example", None, None, None)
    assert "above ten years" in issue.message


def test_http_redirecting_first_to_www_is_not_preloadable() -> None:
    hop = Exchange("http://site.example/", 301, (("Location", "https://www.site.example/"),))
    chain = Chain("http://site.example/", (hop, _ok("https://www.site.example/")), "done")
    [issue] = preload_issues(parse_sts(GOOD), _ok("https://site.example/"), "site.example", chain, None, None)
    assert (issue.attribute, "must redirect first to https://site.example/" in issue.message) == ("redirect", True)


def test_redirect_chain_over_three_hops_is_weak() -> None:
    hops = tuple(Exchange(f"https://site.example/{i}", 301, (("Location", f"https://site.example/{i + 1}"),))
                 for i in range(4))
    first = Exchange("http://site.example/", 301, (("Location", "https://site.example/0"),))
    chain = Chain("http://site.example/", (first, *hops, _ok("https://site.example/4")), "done")
    assert [i.attribute for i in judge_redirects(chain)] == ["hops"]


def test_redirect_to_a_non_http_scheme_is_mc501() -> None:
    first = Exchange("http://site.example/", 301, (("Location", "ftp://site.example/"),))
    [issue] = judge_redirects(Chain("http://site.example/", (first,), "bad-location"))
    assert (issue.code, "not an http(s) URL" in issue.message) == ("MC501", True)
