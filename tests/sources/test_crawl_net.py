"""What a crawl asks of the network when hosts misbehave (issue 15): every redirect hop is checked
against the scope and robots.txt *before* it is requested, and a host that fails every request is
given up after its failure budget. Real loopback servers only; fake host names reach them through
--resolve, and each server counts the requests it answers, so what went over the wire is asserted."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from aiohttp import web
from servers import Server, make_ca, serve

CA = make_ca()
MIXED = '<img src="http://cdn.example/a.png">'


def _app(routes: dict[str, tuple[int, str, dict[str, str]]], hits: Counter[str]) -> web.Application:
    """path -> (status, body, headers); anything else 404. Every request is counted as host + path."""

    async def handle(request: web.Request) -> web.Response:
        hits[request.host.rsplit(":", 1)[0] + request.path] += 1
        status, body, headers = routes.get(request.path, (404, "not found", {}))
        return web.Response(status=status, text=body, headers={"Content-Type": "text/html", **headers})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _crawl(run: Callable[..., object], site: Server, *extra: str, other: Server | None = None) -> dict:  # type: ignore[type-arg]
    assert site.ca_file is not None
    args = [*site.resolve("site.example"), "--cacert", site.ca_file]
    if other is not None:
        args += other.resolve("other.example")
    r = run("scan", site.url("site.example", "/"), *args, "--format", "json", "--no-sitemaps", *extra)
    assert r.code in (0, 1), r.err  # type: ignore[attr-defined]
    return json.loads(r.out)  # type: ignore[attr-defined,no-any-return]


def _errors(report: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e["url"], e["message"]) for e in report["errors"]]


# ---- redirects are followed hop by hop, each hop checked first ------------------------------------

def test_page_redirecting_off_scope_is_an_error_and_the_other_host_gets_no_request(run) -> None:  # type: ignore[no-untyped-def]
    site_hits: Counter[str] = Counter()
    other_hits: Counter[str] = Counter()
    routes: dict[str, tuple[int, str, dict[str, str]]] = {"/": (200, '<a href="/away">away</a>', {})}
    with serve(_app(routes, site_hits), ca=CA, hostnames=["site.example"]) as site, \
            serve(_app({"/": (200, MIXED, {}), "/robots.txt": (404, "", {})}, other_hits), ca=CA,
                  hostnames=["other.example"]) as other:
        target = other.url("other.example", "/")
        routes["/away"] = (302, "", {"Location": target})
        report = _crawl(run, site, other=other)
    assert other_hits == Counter()
    assert _errors(report) == [(site.url("site.example", "/away"), (
        f"redirect-refused: redirect 1 from {site.url('site.example', '/away')} to {target} not followed: "
        f"other.example is outside the crawl's scope (see --allow-host)"))]
    assert report["findings"] == []


def test_stylesheet_redirecting_off_scope_is_not_fetched_nor_reported(run) -> None:  # type: ignore[no-untyped-def]
    site_hits: Counter[str] = Counter()
    other_hits: Counter[str] = Counter()
    routes: dict[str, tuple[int, str, dict[str, str]]] = {"/": (200, '<link rel="stylesheet" href="/s.css">', {})}
    css = ("a{background:url(http://cdn.example/s.png)}", {"Content-Type": "text/css"})
    with serve(_app(routes, site_hits), ca=CA, hostnames=["site.example"]) as site, \
            serve(_app({"/s.css": (200, *css), "/robots.txt": (404, "", {})}, other_hits), ca=CA,
                  hostnames=["other.example"]) as other:
        target = other.url("other.example", "/s.css")
        routes["/s.css"] = (301, "", {"Location": target})
        report = _crawl(run, site, other=other)
    assert other_hits == Counter()
    assert report["findings"] == []
    [(url, message)] = _errors(report)
    assert url == site.url("site.example", "/s.css")
    assert message.startswith("redirect-refused: redirect 1 from") and "other.example is outside" in message


def test_allow_host_lets_a_redirect_reach_that_host(run) -> None:  # type: ignore[no-untyped-def]
    other_hits: Counter[str] = Counter()
    routes: dict[str, tuple[int, str, dict[str, str]]] = {"/": (200, '<a href="/away">away</a>', {})}
    with serve(_app(routes, Counter()), ca=CA, hostnames=["site.example"]) as site, \
            serve(_app({"/p": (200, MIXED, {}), "/robots.txt": (404, "", {})}, other_hits), ca=CA,
                  hostnames=["other.example"]) as other:
        routes["/away"] = (302, "", {"Location": other.url("other.example", "/p")})
        report = _crawl(run, site, "--allow-host", "other.example", other=other)
    assert other_hits == Counter({"other.example/robots.txt": 1, "other.example/p": 1})
    assert [(f["code"], f["page"]) for f in report["findings"]] == [("MC101", other.url("other.example", "/p"))]


def test_redirect_hop_that_robots_txt_disallows_is_not_requested(run) -> None:  # type: ignore[no-untyped-def]
    hits: Counter[str] = Counter()
    routes: dict[str, tuple[int, str, dict[str, str]]] = {
        "/": (200, '<a href="/a">a</a>', {}),
        "/robots.txt": (200, "User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}),
        "/a": (302, "", {"Location": "/private/x"}),
        "/private/x": (200, MIXED, {})}
    with serve(_app(routes, hits), ca=CA, hostnames=["site.example"]) as site:
        report = _crawl(run, site)
    assert hits["site.example/private/x"] == 0
    assert _errors(report) == [(site.url("site.example", "/a"), (
        f"redirect-refused: redirect 1 from {site.url('site.example', '/a')} to "
        f"{site.url('site.example', '/private/x')} not followed: robots.txt disallows it for "
        f"mixedcontent/{__import__('mixedcontent').__version__}"))]


def test_robots_txt_redirecting_off_scope_is_not_followed(run) -> None:  # type: ignore[no-untyped-def]
    # a host brought in with --allow-host whose robots.txt redirects to a third host: that host is not
    # asked, and (RFC 9309 §2.3.1.4, unreachable) nothing on the allowed host is crawled
    other_hits: Counter[str] = Counter()
    third_hits: Counter[str] = Counter()
    site_routes: dict[str, tuple[int, str, dict[str, str]]] = {}
    other_routes: dict[str, tuple[int, str, dict[str, str]]] = {"/": (200, MIXED, {})}
    with serve(_app(site_routes, Counter()), ca=CA, hostnames=["site.example"]) as site, \
            serve(_app(other_routes, other_hits), ca=CA, hostnames=["other.example"]) as other, \
            serve(_app({"/robots.txt": (200, "", {})}, third_hits), ca=CA, hostnames=["third.example"]) as third:
        site_routes["/"] = (200, f'<a href="{other.url("other.example", "/")}">o</a>', {})
        other_routes["/robots.txt"] = (301, "", {"Location": third.url("third.example", "/robots.txt")})
        report = _crawl(run, site, "--allow-host", "other.example", *third.resolve("third.example"), other=other)
    assert third_hits == Counter()
    assert other_hits == Counter({"other.example/robots.txt": 1})
    [(url, message)] = _errors(report)
    assert url == other.url("other.example", "/robots.txt")
    assert "redirect-refused" in message and "third.example is outside the crawl's scope" in message
    assert report["findings"] == []


def test_start_url_redirect_to_another_host_is_still_followed(run) -> None:  # type: ignore[no-untyped-def]
    # the documented exception: a start URL's redirect brings its host into scope (example.org ->
    # www.example.org), its robots.txt read first
    other_hits: Counter[str] = Counter()
    routes: dict[str, tuple[int, str, dict[str, str]]] = {}
    with serve(_app(routes, Counter()), ca=CA, hostnames=["site.example"]) as site, \
            serve(_app({"/home": (200, MIXED, {}), "/robots.txt": (404, "", {})}, other_hits), ca=CA,
                  hostnames=["other.example"]) as other:
        routes["/"] = (301, "", {"Location": other.url("other.example", "/home")})
        report = _crawl(run, site, other=other)
    assert other_hits == Counter({"other.example/robots.txt": 1, "other.example/home": 1})
    assert [f["page"] for f in report["findings"]] == [other.url("other.example", "/home")]


# ---- a failing host is given up after its failure budget -------------------------------------------

def test_200_pages_on_a_host_answering_503_end_at_once_as_error_entries(run) -> None:  # type: ignore[no-untyped-def]
    hits: Counter[str] = Counter()
    links = "".join(f'<a href="/p{i}">{i}</a>' for i in range(200))
    routes: dict[str, tuple[int, str, dict[str, str]]] = {"/": (200, links, {})}
    routes.update({f"/p{i}": (503, "busy", {"Retry-After": "1"}) for i in range(200)})
    with serve(_app(routes, hits), ca=CA, hostnames=["site.example"]) as site:
        report = _crawl(run, site)
    page_hits = sum(n for path, n in hits.items() if path.startswith("site.example/p"))
    errors = _errors(report)
    assert len(errors) == 200
    given_up = [m for _, m in errors if m.startswith("host-failing: not requested: ")]
    # 5 failures in a row spend the budget; the 8 requests in flight then (--per-host) end with the
    # answer they had, without their retries; no other page is requested
    assert page_hits <= 5 + 8
    assert len(given_up) >= 200 - page_hits
    assert given_up[0] == (f"host-failing: not requested: {site.url('site.example', '')} failed 5 times in a "
                           f"row (last: HTTP 503), so this run stopped asking it")
    assert {m for _, m in errors if not m.startswith("host-failing")} <= {"HTTP 503"}
