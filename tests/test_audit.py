"""`mixedcontent audit URL` against real aiohttp servers on loopback: site.example serves plain http on
one port and https on another (tests cannot bind 80/443), both reached through --resolve. "Same host"
compares host names only, so http://site.example:A/ → https://site.example:B/ is a same-host redirect.
The TLS checks (MC510–MC515) are left out here (--no-tls-check): tests/test_audit_tls.py proves them
on real servers.

Each test sets how the two servers answer (``Site.http`` / ``Site.https``: functions of the request)."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import jsonschema
import pytest
import trustme
from aiohttp import web
from conftest import ROOT
from multidict import CIMultiDict
from servers import Server, make_ca, serve

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GOOD_STS = "max-age=31536000; includeSubDomains; preload"
PAGE = "<!doctype html><title>ok</title><p>hello</p>"


@dataclass
class Site:
    http_srv: Server
    https_srv: Server
    ca: trustme.CA
    http: Handler | None = None
    https: Handler | None = None
    extra: list[str] = field(default_factory=list)

    def http_url(self, path: str = "/", host: str = "site.example") -> str:
        return self.http_srv.url(host, path)

    def https_url(self, path: str = "/", host: str = "site.example") -> str:
        return self.https_srv.url(host, path)

    def args(self) -> list[str]:
        hosts = ("site.example", "www.site.example", "app.site.example")
        return [*self.http_srv.resolve(*hosts), *self.https_srv.resolve(*hosts),
                "--cacert", str(self.https_srv.ca_file), "--retries", "0", "--no-tls-check", *self.extra]


def page(sts: str | None = GOOD_STS, *, cookies: tuple[str, ...] = (), body: str = PAGE,
         status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict()
        if sts is not None:
            headers.add("Strict-Transport-Security", sts)
        for c in cookies:
            headers.add("Set-Cookie", c)
        return web.Response(text=body, status=status, content_type="text/html", headers=headers)
    return handler


def redirect(to: Callable[[web.Request], str], status: int = 301, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": to(request), **(headers or {})})
    return handler


@pytest.fixture(scope="module")
def servers() -> Iterator[Site]:
    ca = make_ca()
    holder: dict[str, Site] = {}

    def dispatch(kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            h = getattr(holder["site"], kind)
            if h is None:
                raise web.HTTPServiceUnavailable()
            return await h(request)
        return handler

    def app(kind: str) -> web.Application:
        a = web.Application()
        a.router.add_route("*", "/{tail:.*}", dispatch(kind))
        return a

    names = ["site.example", "www.site.example", "app.site.example"]
    with serve(app("https"), ca=ca, hostnames=names) as https_srv, serve(app("http"), tls=False) as http_srv:
        holder["site"] = Site(http_srv, https_srv, ca)
        yield holder["site"]


@pytest.fixture
def site(servers: Site) -> Site:
    """The module's servers, answering a good configuration until a test says otherwise."""
    servers.https = page()
    servers.http = redirect(lambda r: servers.https_url(r.path_qs))
    servers.extra = []
    return servers


def audit(run: Callable[..., object], site: Site, url: str | None = None, *extra: str):  # type: ignore[no-untyped-def]
    r = run("audit", url or site.http_url(), *site.args(), *extra, "--format", "json")
    report = json.loads(r.out) if r.out else None  # type: ignore[attr-defined]
    return r, report


def codes(report: dict) -> list[str]:
    return [f["code"] for f in report["findings"]]


def only(report: dict, code: str) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == code]


# --- a good site ---------------------------------------------------------------------------------------

def test_good_site_has_no_findings_and_exits_0(run, site) -> None:
    r, report = audit(run, site)
    assert (r.code, codes(report)) == (0, [])


def test_redirect_to_https_on_another_port_counts_as_same_host(run, site) -> None:
    assert site.http_srv.port != site.https_srv.port
    _, report = audit(run, site)
    assert only(report, "MC507") == []


def test_audit_of_the_https_url_checks_http_on_the_given_port(run, site) -> None:
    site.http = page(sts=None)
    _, report = audit(run, site, site.https_url(), "--http-port", str(site.http_srv.port))
    assert [f["url"] for f in only(report, "MC501")] == [site.http_url()]


def test_redirect_chain_is_logged_on_stderr(run, site) -> None:
    r, _ = audit(run, site)
    assert f"redirect chain: {site.http_url()} 301 → {site.https_url()} 200" in r.err


# --- MC501 --------------------------------------------------------------------------------------------

def test_http_answering_content_is_mc501(run, site) -> None:
    site.http = page(sts=None)
    r, report = audit(run, site)
    assert r.code == 1
    assert [(f["severity"], f["context"], f["offset"]) for f in only(report, "MC501")] == [("error", "header", None)]


def test_redirect_loop_is_mc501(run, site) -> None:
    site.http = redirect(lambda r: site.http_url("/a" if r.path == "/" else "/"))
    _, report = audit(run, site)
    assert "loops" in only(report, "MC501")[0]["message"]


def test_chain_ending_on_http_is_mc501(run, site) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/":
            return web.Response(status=301, headers={"Location": site.http_url("/final")})
        return web.Response(text=PAGE, content_type="text/html")
    site.http = handler
    _, report = audit(run, site)
    assert "ends on plain http" in only(report, "MC501")[0]["message"]


def test_chain_ending_in_an_https_error_status_is_mc501(run, site) -> None:
    site.https = page(status=500)
    _, report = audit(run, site)
    assert "status 500, not 2xx" in only(report, "MC501")[0]["message"]


def test_more_than_ten_redirects_is_mc501(run, site) -> None:
    async def handler(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        return web.Response(status=301, headers={"Location": site.http_url(f"/?n={n + 1}")})
    site.http = handler
    _, report = audit(run, site)
    assert "more than 10 redirects" in only(report, "MC501")[0]["message"]


def test_localhost_is_exempt_from_the_redirect_rule(run, site) -> None:
    site.http = page(sts=None)
    r = run("audit", site.http_srv.url("localhost", "/"), *site.http_srv.resolve("localhost"),
            "--https-port", str(site.https_srv.port), *site.https_srv.resolve("localhost"),
            "--cacert", str(site.https_srv.ca_file), "--retries", "0", "--format", "json")
    assert [f["code"] for f in json.loads(r.out)["findings"] if f["code"] in ("MC501", "MC507")] == []


def test_allow_http_host_is_exempt_from_the_redirect_rule(run, site) -> None:
    site.http = page(sts=None)
    _, report = audit(run, site, None, "--allow-http-host", "SITE.example")
    assert only(report, "MC501") == []


# --- MC507 --------------------------------------------------------------------------------------------

def test_first_hop_to_another_host_is_mc507(run, site) -> None:
    site.http = redirect(lambda r: site.https_url("/", host="www.site.example"))
    _, report = audit(run, site)
    assert [f["attribute"] for f in only(report, "MC507")] == ["first-hop"]


def test_temporary_redirect_is_mc507(run, site) -> None:
    site.http = redirect(lambda r: site.https_url(r.path_qs), status=302)
    _, report = audit(run, site)
    assert [f["attribute"] for f in only(report, "MC507")] == ["temporary"]


def test_more_than_three_hops_is_mc507(run, site) -> None:
    async def handler(request: web.Request) -> web.Response:
        n = int(request.query.get("n", "0"))
        if n < 3:
            return web.Response(status=301, headers={"Location": site.https_url(f"/?n={n + 1}")})
        return web.Response(text=PAGE, content_type="text/html",
                            headers={"Strict-Transport-Security": GOOD_STS})
    site.https = handler
    _, report = audit(run, site)
    assert [f["attribute"] for f in only(report, "MC507")] == ["hops"]


# --- HSTS: MC502, MC503, MC504, MC506, MC509 --------------------------------------------------------

def test_missing_sts_is_mc502(run, site) -> None:
    site.https = page(sts=None)
    _, report = audit(run, site)
    assert [f["url"] for f in only(report, "MC502")] == [site.https_url()]


def test_invalid_sts_is_mc503_naming_every_problem(run, site) -> None:
    site.https = page(sts="max-age=1y; includeSubDomains=yes")
    _, report = audit(run, site)
    [finding] = only(report, "MC503")
    assert "max-age=1y is not a non-negative integer" in finding["message"]
    assert "includeSubDomains takes no value" in finding["message"]


def test_second_sts_header_does_not_void_a_valid_first_one(run, site) -> None:
    async def two(request: web.Request) -> web.Response:
        headers = CIMultiDict([("Strict-Transport-Security", GOOD_STS), ("Strict-Transport-Security", "max-age=0")])
        return web.Response(text=PAGE, content_type="text/html", headers=headers)
    site.https = two
    _, report = audit(run, site)
    assert (only(report, "MC503"), only(report, "MC506")) == ([], [])
    assert [f["attribute"] for f in only(report, "MC504")] == ["count"]


def test_invalid_first_of_two_sts_headers_is_mc503(run, site) -> None:
    async def two(request: web.Request) -> web.Response:
        headers = CIMultiDict([("Strict-Transport-Security", "max-age=x"), ("Strict-Transport-Security", GOOD_STS)])
        return web.Response(text=PAGE, content_type="text/html", headers=headers)
    site.https = two
    _, report = audit(run, site)
    assert "2 Strict-Transport-Security headers were sent and only the first counts" in only(report, "MC503")[0]["message"]


def test_short_max_age_is_mc506(run, site) -> None:
    site.https = page(sts="max-age=86400; includeSubDomains; preload")
    _, report = audit(run, site)
    assert [f["severity"] for f in only(report, "MC506")] == ["warning"]


def test_max_age_zero_is_mc506_saying_it_forgets_the_host(run, site) -> None:
    site.https = page(sts="max-age=0")
    _, report = audit(run, site)
    assert "forget" in only(report, "MC506")[0]["message"]


def test_sts_over_plain_http_is_mc509(run, site) -> None:
    site.http = redirect(lambda r: site.https_url(r.path_qs), headers={"Strict-Transport-Security": GOOD_STS})
    _, report = audit(run, site)
    assert [(f["severity"], f["url"]) for f in only(report, "MC509")] == [("info", site.http_url())]


# --- preload (MC504) -------------------------------------------------------------------------------

def test_apex_without_preload_directives_is_mc504_per_missing_directive(run, site) -> None:
    site.https = page(sts="max-age=31536000")
    _, report = audit(run, site)
    assert sorted(f["attribute"] for f in only(report, "MC504")) == ["includeSubDomains", "preload"]


def test_max_age_below_a_year_is_not_preloadable(run, site) -> None:
    site.https = page(sts="max-age=20000000; includeSubDomains; preload")
    _, report = audit(run, site)
    assert [f["attribute"] for f in only(report, "MC504")] == ["max-age"]


def test_quoted_max_age_is_not_preloadable(run, site) -> None:
    site.https = page(sts='max-age="31536000"; includeSubDomains; preload')
    _, report = audit(run, site)
    assert "quoted" in only(report, "MC504")[0]["message"]


def test_subdomain_asking_for_preload_is_mc504(run, site) -> None:
    site.http = redirect(lambda r: site.https_url(r.path_qs, host="app.site.example"))
    _, report = audit(run, site, site.http_url(host="app.site.example"))
    [finding] = only(report, "MC504")
    assert (finding["attribute"], "only the registrable domain site.example" in finding["message"]) == ("domain", True)


def test_subdomain_without_preload_is_not_judged_for_preloading(run, site) -> None:
    site.https = page(sts="max-age=31536000")
    site.http = redirect(lambda r: site.https_url(r.path_qs, host="app.site.example"))
    _, report = audit(run, site, site.http_url(host="app.site.example"))
    assert only(report, "MC504") == []


def _www_args(site: Site, www_address: str) -> list[str]:
    """site.example on the test servers, www.site.example (https port) pointed at ``www_address``."""
    return [*site.http_srv.resolve("site.example"), *site.https_srv.resolve("site.example"),
            "--resolve", f"www.site.example:{site.https_srv.port}:{www_address}",
            "--cacert", str(site.https_srv.ca_file), "--retries", "0", "--format", "json"]


def test_www_with_a_certificate_for_another_name_is_mc504(run, site) -> None:
    async def other(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", other)
    # same port number as the https site, on another loopback address, certificate for other.example only
    with serve(app, ca=site.ca, hostnames=["other.example"], address="127.0.0.2", port=site.https_srv.port):
        r = run("audit", site.http_url(), *_www_args(site, "127.0.0.2"))
    [finding] = only(json.loads(r.out), "MC504")
    assert (finding["attribute"], "tls-hostname-mismatch" in finding["message"]) == ("www", True)


def test_www_that_refuses_connections_does_not_exist_for_preloading(run, site) -> None:
    r = run("audit", site.http_url(), *_www_args(site, "127.0.0.3"))
    assert only(json.loads(r.out), "MC504") == []


def test_no_www_check_makes_no_www_request(run, site) -> None:
    r = run("audit", site.http_url(), *_www_args(site, "127.0.0.3"), "--no-www-check")
    assert "www check" not in r.err


def test_https_redirect_from_the_apex_without_sts_is_not_preloadable(run, site) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/":
            return web.Response(status=301, headers={"Location": site.https_url("/home"),
                                                     "Strict-Transport-Security": GOOD_STS})
        if request.path == "/home":
            return web.Response(status=301, headers={"Location": site.https_url("/index")})
        return web.Response(text=PAGE, content_type="text/html", headers={"Strict-Transport-Security": GOOD_STS})
    site.https = handler
    _, report = audit(run, site)
    assert [f["attribute"] for f in only(report, "MC504")] == ["redirect"]


# --- cookies (MC505) ------------------------------------------------------------------------------

def test_session_cookie_without_secure_is_an_error(run, site) -> None:
    site.https = page(cookies=("sessionid=abc; Path=/; HttpOnly; SameSite=Lax",))
    r, report = audit(run, site)
    assert (r.code, [(f["attribute"], f["severity"]) for f in only(report, "MC505")]) == (1, [("sessionid", "error")])


def test_other_cookie_without_secure_is_a_warning(run, site) -> None:
    site.https = page(cookies=("theme=dark; Path=/; SameSite=Lax",))
    r, report = audit(run, site)
    assert (r.code, [(f["attribute"], f["severity"]) for f in only(report, "MC505")]) == (0, [("theme", "warning")])


def test_secure_session_cookie_without_httponly_is_advice(run, site) -> None:
    site.https = page(cookies=("auth_token=1; Secure; SameSite=Strict",))
    _, report = audit(run, site)
    [finding] = only(report, "MC505")
    assert (finding["severity"], "no HttpOnly" in finding["message"]) == ("info", True)


def test_well_made_cookie_is_not_reported(run, site) -> None:
    site.https = page(cookies=("__Host-sid=1; Path=/; Secure; HttpOnly; SameSite=Lax",))
    _, report = audit(run, site)
    assert only(report, "MC505") == []


def test_samesite_none_without_secure_is_named(run, site) -> None:
    site.https = page(cookies=("pref=1; SameSite=None",))
    _, report = audit(run, site)
    assert "SameSite=None without Secure" in only(report, "MC505")[0]["message"]


# --- the landing page's mixed content ---------------------------------------------------------------

def test_landing_page_mixed_content_is_reported(run, site) -> None:
    site.https = page(body='<!doctype html><script src="http://cdn.example/app.js"></script>')
    _, report = audit(run, site)
    [finding] = only(report, "MC102")
    assert (finding["page"], finding["line"], finding["offset"], report["summary"]["pages"]) == (
        site.https_url(), 1, 28, 1)


def test_landing_page_csp_header_upgrade_is_honoured(run, site) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text='<img src="http://cdn.example/a.png">', content_type="text/html",
                            headers={"Strict-Transport-Security": GOOD_STS,
                                     "Content-Security-Policy": "upgrade-insecure-requests"})
    site.https = handler
    _, report = audit(run, site)
    assert codes(report) == []


def test_landing_page_stylesheets_are_judged_as_a_crawl_judges_them(run, site) -> None:
    """docs/audit.md: the stylesheets the landing page loads on its host (and their @imports) go through
    the one stylesheet driver; a stylesheet on another host is not fetched."""
    sheets = {
        "/css/site.css": '@import "http://cdn.example/theme.css";\n@import url(more.css);\n'
                         "body { background: url(http://cdn.example/bg.png) }\n",
        "/css/more.css": "@font-face { font-family: f; src: url(http://cdn.example/f.woff) }\n",
    }
    asked: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        asked.append(request.path)
        if request.path in sheets:
            return web.Response(text=sheets[request.path], content_type="text/css")
        return await page(body='<!doctype html><link rel="stylesheet" href="/css/site.css">'
                               '<link rel="stylesheet" href="https://cdn.example/x.css">')(request)

    site.https = handler
    _, report = audit(run, site)
    found = {(f["page"], f["code"], f["url"]) for f in report["findings"]}
    assert found == {
        (site.https_url("/css/site.css"), "MC102", "http://cdn.example/theme.css"),
        (site.https_url("/css/site.css"), "MC101", "http://cdn.example/bg.png"),
        (site.https_url("/css/more.css"), "MC102", "http://cdn.example/f.woff"),
    }
    assert all(f["referrers"] == [site.https_url()] for f in report["findings"])
    assert (report["summary"]["pages"], report["summary"]["stylesheets"]) == (1, 2)
    assert sorted(set(asked)) == ["/", "/css/more.css", "/css/site.css"] and report["errors"] == []


def test_no_page_scan_skips_the_landing_page(run, site) -> None:
    site.https = page(body='<script src="http://cdn.example/app.js"></script>')
    _, report = audit(run, site, None, "--no-page-scan")
    assert (codes(report), report["summary"]["pages"]) == ([], 0)


# --- reports, exit codes, bad input --------------------------------------------------------------------

def test_json_report_matches_the_schema(run, site) -> None:
    site.https = page(sts="max-age=60", cookies=("sid=1",), body='<img src="http://cdn.example/a.png">')
    _, report = audit(run, site)
    with open(os.path.join(ROOT, "mixedcontent", "report", "schema.json"), encoding="utf-8") as f:
        jsonschema.validate(report, json.load(f))
    assert {"MC505", "MC506", "MC101"} <= set(codes(report))


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit", "github", "html"])
def test_every_format_writes_posture_findings(run, site, fmt) -> None:
    site.https = page(sts=None)
    r = run("audit", site.http_url(), *site.args(), "--format", fmt)
    assert (r.code, "MC502" in r.out) == (1, True)


def test_text_report_names_the_response_without_line_numbers(run, site) -> None:
    site.https = page(sts=None)
    r = run("audit", site.http_url(), *site.args())
    assert f"{site.https_url()}: MC502 {site.https_url()} sends no Strict-Transport-Security header" in r.out


def test_select_limits_the_codes(run, site) -> None:
    site.https = page(sts=None, cookies=("sid=1",))
    _, report = audit(run, site, None, "--select", "MC505")
    assert codes(report) == ["MC505"]


def test_fail_on_never_exits_0(run, site) -> None:
    site.https = page(sts=None)
    r, _ = audit(run, site, None, "--fail-on", "never")
    assert r.code == 0


def test_unreachable_site_exits_2_with_one_line(run) -> None:
    r = run("audit", "https://site.example:9/", "--resolve", "site.example:9:127.0.0.1", "--http-port", "9",
            "--retries", "0")
    assert (r.code, r.out) == (2, "")
    assert r.err.splitlines()[-1].startswith("mixedcontent: https://site.example:9/: the site could not be reached")


def test_http_unreachable_is_an_error_entry_and_https_is_still_checked(run, site) -> None:
    r = run("audit", site.https_url(), "--http-port", "9", "--resolve", "site.example:9:127.0.0.1",
            *site.args(), "--format", "json")
    report = json.loads(r.out)
    assert [e["url"] for e in report["errors"]] == ["http://site.example:9/"]
    assert codes(report) == []


def test_strict_makes_an_unchecked_part_exit_2(run, site) -> None:
    r = run("audit", site.https_url(), "--http-port", "9", "--resolve", "site.example:9:127.0.0.1",
            *site.args(), "--strict")
    assert r.code == 2


def test_non_http_url_is_a_usage_error(run) -> None:
    r = run("audit", "ftp://site.example/")
    assert (r.code, r.out, r.err.count("\n")) == (2, "", 1)


def test_bad_port_is_a_usage_error(run) -> None:
    r = run("audit", "https://site.example/", "--http-port", "70000")
    assert (r.code, r.err.strip()) == (
        2, "mixedcontent: --http-port must be a port number from 1 to 65535, got 70000")
