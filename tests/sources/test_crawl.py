"""Live-site crawls (`mixedcontent scan https://site.example/`) against real loopback servers.

Every site here is an aiohttp app from tests/servers.py, reached through `--resolve` with a trustme
certificate. The server counts the requests it answers by (host, path), so fetch-once and scope are
asserted on what really went over the wire. Links only ever point at hosts and ports that a
`--resolve` entry routes to loopback, or at hosts out of scope (which are never contacted).
"""

from __future__ import annotations

import gzip
import json
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import Server, serve
from test_properties import FRAGMENTS

from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import decode_html
from mixedcontent.sources.crawl import gunzip, page_kind, parse_sitemap


@dataclass
class Page:
    body: bytes | str
    content_type: str = "text/html"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def raw(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class Site:
    """A site's routes (path -> Page) and the requests it answered ((host, path) -> count)."""

    routes: dict[str, Page] = field(default_factory=dict)
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)

    def app(self) -> web.Application:
        async def handler(request: web.Request) -> web.StreamResponse:
            self.hits[(request.host.rsplit(":", 1)[0], request.path_qs)] += 1
            page = self.routes.get(request.path_qs) or self.routes.get(request.path)
            if page is None:
                return web.Response(status=404, text="not found")
            headers = {"Content-Type": page.content_type, **page.headers}
            return web.Response(body=page.raw(), status=page.status, headers=headers)

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        return app

    def fetched(self, path: str, host: str = "site.example") -> int:
        return self.hits[(host, path)]


@contextmanager
def hosting(routes: dict[str, Page], *hostnames: str) -> Iterator[tuple[Site, Server]]:
    site = Site(routes)
    with serve(site.app(), hostnames=list(hostnames or ("site.example",))) as srv:
        yield site, srv


@dataclass
class Crawl:
    code: int
    report: dict  # type: ignore[type-arg]  # the JSON report ({} unless --format json)
    out: str
    err: str


def crawl(run: Callable[..., object], srv: Server, *args: str, hosts: tuple[str, ...] = ("site.example",),
          start: str = "/", fmt: str = "json") -> Crawl:
    assert srv.ca_file is not None
    r = run("scan", srv.url("site.example", start), *srv.resolve(*hosts), "--cacert", srv.ca_file,
            "--format", fmt, *args)
    out, err, code = r.out, r.err, r.code  # type: ignore[attr-defined]
    return Crawl(code, json.loads(out) if fmt == "json" and out else {}, out, err)


def codes(report: dict) -> list[tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return [(f["code"], f["page"], f["url"]) for f in report["findings"]]


# ---- scope --------------------------------------------------------------------------------------------

def test_links_to_other_hosts_are_not_followed(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<a href="https://other.example/p.html">o</a><a href="/b.html">b</a>'),
              "/b.html": Page("<p>b</p>"), "/p.html": Page('<img src="http://cdn.example/o.png">')}
    with hosting(routes, "site.example", "other.example") as (site, srv):
        # other.example is routed to the same server: had it been followed, the server would know
        routes["/"] = Page(f'<a href="{srv.url("other.example", "/p.html")}">o</a><a href="/b.html">b</a>')
        c = crawl(run, srv, hosts=("site.example", "other.example"))
    assert c.code == 0, c.err
    assert [h for h in site.hits if h[0] == "other.example"] == []
    assert c.report["summary"]["pages"] == 2 and c.report["findings"] == []


def test_allow_host_puts_another_host_in_scope(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/p.html": Page('<img src="http://cdn.example/o.png">')}
    with hosting(routes, "site.example", "other.example") as (site, srv):
        routes["/"] = Page(f'<a href="{srv.url("other.example", "/p.html")}">o</a>')
        c = crawl(run, srv, "--allow-host", "OTHER.example", hosts=("site.example", "other.example"))
    assert c.code == 0, c.err
    assert site.fetched("/p.html", "other.example") == 1
    assert codes(c.report) == [("MC101", srv.url("other.example", "/p.html"), "http://cdn.example/o.png")]


def test_path_prefix_limits_the_pages_followed(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/docs/": Page('<a href="/docs/a.html">a</a><a href="/blog/b.html">b</a>'),
              "/docs/a.html": Page("a"), "/blog/b.html": Page("b")}
    with hosting(routes) as (site, srv):
        c = crawl(run, srv, "--path-prefix", "/docs/", start="/docs/")
    assert c.code == 0, c.err
    assert site.fetched("/docs/a.html") == 1 and site.fetched("/blog/b.html") == 0


# ---- politeness ---------------------------------------------------------------------------------------

def test_robots_txt_disallow_is_honoured(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/robots.txt": Page("User-agent: *\nDisallow: /private/\n", "text/plain"),
              "/": Page('<a href="/private/x.html">x</a><a href="/public.html">p</a>'),
              "/private/x.html": Page('<script src="http://cdn.example/x.js"></script>'),
              "/public.html": Page("p")}
    with hosting(routes) as (site, srv):
        c = crawl(run, srv)
    assert c.code == 0, c.err
    assert site.fetched("/private/x.html") == 0 and site.fetched("/public.html") == 1
    assert c.report["findings"] == [] and c.report["summary"]["pages"] == 2


def test_robots_txt_group_for_our_user_agent_wins_over_the_star_group(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/robots.txt": Page("User-agent: *\nDisallow: /\n\nUser-agent: mixedcontent\nDisallow: /no/\n",
                                  "text/plain"),
              "/": Page('<a href="/yes.html">y</a><a href="/no/n.html">n</a>'),
              "/yes.html": Page("y"), "/no/n.html": Page("n")}
    with hosting(routes) as (site, srv):
        c = crawl(run, srv)
    assert c.code == 0, c.err
    assert (site.fetched("/"), site.fetched("/yes.html"), site.fetched("/no/n.html")) == (1, 1, 0)


def test_max_pages_stops_the_crawl_breadth_first(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page("".join(f'<a href="/p{i}.html">{i}</a>' for i in range(6)))}
    for i in range(6):
        routes[f"/p{i}.html"] = Page(f'<a href="/deep{i}.html">d</a>')
        routes[f"/deep{i}.html"] = Page("d")
    with hosting(routes) as (site, srv):
        c = crawl(run, srv, "--max-pages", "3")
    assert c.code == 0, c.err
    pages = sorted(path for (_, path), n in site.hits.items() if path.endswith(".html") or path == "/")
    assert pages == ["/", "/p0.html", "/p1.html"]
    assert c.report["summary"]["pages"] == 3


def test_max_depth_limits_link_steps_from_the_start(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<a href="/a.html">a</a>'), "/a.html": Page('<a href="/b.html">b</a>'),
              "/b.html": Page('<a href="/c.html">c</a>'), "/c.html": Page("c")}
    with hosting(routes) as (site, srv):
        c = crawl(run, srv, "--max-depth", "2")
    assert c.code == 0, c.err
    assert [site.fetched(p) for p in ("/", "/a.html", "/b.html", "/c.html")] == [1, 1, 1, 0]


# ---- discovery and dedup --------------------------------------------------------------------------------

def test_sitemap_index_and_gzip_sitemap_lead_to_unlinked_pages(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page("<p>no links</p>"),
              "/orphan.html": Page('<img src="http://cdn.example/orphan.png">')}
    with hosting(routes) as (site, srv):
        def u(p: str) -> str:
            return srv.url("site.example", p)

        routes["/robots.txt"] = Page(f"User-agent: *\nAllow: /\nSitemap: {u('/sitemap_index.xml')}\n", "text/plain")
        routes["/sitemap_index.xml"] = Page(
            '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f'<sitemap><loc>{u("/pages.xml.gz")}</loc></sitemap></sitemapindex>', "application/xml")
        routes["/pages.xml.gz"] = Page(gzip.compress(
            ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f'<url><loc>{u("/orphan.html")}</loc></url><url><loc>https://elsewhere.example/x</loc></url>'
             '</urlset>').encode()), "application/gzip")
        c = crawl(run, srv)
    assert c.code == 0, c.err
    assert codes(c.report) == [("MC101", srv.url("site.example", "/orphan.html"), "http://cdn.example/orphan.png")]
    assert site.fetched("/pages.xml.gz") == 1


def test_sitemap_xml_is_read_when_robots_txt_names_none(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page("<p>no links</p>"), "/orphan.html": Page('<img src="http://cdn.example/o.png">')}
    with hosting(routes) as (site, srv):
        routes["/sitemap.xml"] = Page(f'<urlset><url><loc>{srv.url("site.example", "/orphan.html")}</loc></url>'
                                      '</urlset>', "text/xml")
        c = crawl(run, srv)
    assert site.fetched("/orphan.html") == 1 and c.report["summary"]["pages"] == 2


def test_no_sitemaps_flag_reads_no_sitemap(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page("<p>no links</p>"), "/orphan.html": Page("o")}
    with hosting(routes) as (site, srv):
        routes["/sitemap.xml"] = Page(f'<urlset><url><loc>{srv.url("site.example", "/orphan.html")}</loc></url>'
                                      '</urlset>', "text/xml")
        crawl(run, srv, "--no-sitemaps")
    assert site.fetched("/sitemap.xml") == 0 and site.fetched("/orphan.html") == 0


def test_each_page_and_stylesheet_is_fetched_once(run) -> None:  # type: ignore[no-untyped-def]
    nav = ('<link rel=stylesheet href="/s.css"><link rel=stylesheet href="/s.css#again">'
           '<a href="/a.html#top">a</a><a href="/./b.html">b</a><a href="/a.html">a</a><a href="/">home</a>'
           '<iframe src="/b.html"></iframe>')
    routes = {"/": Page(nav), "/a.html": Page(nav), "/b.html": Page(nav),
              "/s.css": Page("body{background:url(http://cdn.example/bg.png)}", "text/css")}
    with hosting(routes) as (site, srv):
        routes["/a.html"] = Page(nav + f'<a href="{srv.url("SITE.EXAMPLE", "/b.html")}">B</a>')
        c = crawl(run, srv)
    assert c.code == 0, c.err
    assert {path: n for (_, path), n in site.hits.items()} == {
        "/robots.txt": 1, "/sitemap.xml": 1, "/": 1, "/a.html": 1, "/b.html": 1, "/s.css": 1}
    assert c.report["summary"]["pages"] == 3 and c.report["summary"]["stylesheets"] == 1


def test_followed_elements_are_a_area_link_next_and_frames(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<link rel=next href="/n.html"><map><area href="/ar.html"></map>'
                        '<frameset><frame src="/fr.html"></frameset>'),
              "/n.html": Page('<iframe src="/if.html"></iframe>'), "/ar.html": Page("a"), "/fr.html": Page("f"),
              "/if.html": Page("i")}
    with hosting(routes) as (site, srv):
        crawl(run, srv)
    assert [site.fetched(p) for p in ("/n.html", "/ar.html", "/fr.html", "/if.html")] == [1, 1, 1, 1]


def test_an_empty_frame_src_is_about_blank_and_not_crawled(run) -> None:  # type: ignore[no-untyped-def]
    # it resolves to the base URL, which the browser never loads for it (HTML §4.8.5: about:blank)
    routes = {"/": Page('<base href="/b/"><iframe src=""></iframe><iframe src="  "></iframe>'
                        '<frameset><frame src=" "></frameset><iframe src="if.html"></iframe>'),
              "/b/": Page("b"), "/b/if.html": Page("i")}
    with hosting(routes) as (site, srv):
        crawl(run, srv)
    assert site.fetched("/b/") == 0 and site.fetched("/b/if.html") == 1


def test_links_in_comments_and_templates_are_not_followed(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<!-- <a href="/c.html">c</a> --><template><a href="/t.html">t</a></template>'),
              "/c.html": Page("c"), "/t.html": Page("t")}
    with hosting(routes) as (site, srv):
        crawl(run, srv)
    assert site.fetched("/c.html") == 0 and site.fetched("/t.html") == 0


# ---- how a page is served decides how it is judged --------------------------------------------------------

MIXED = '<img src="http://cdn.example/a.png"><script src="http://cdn.example/a.js"></script>'


def test_header_csp_upgrade_insecure_requests_means_nothing_is_mixed(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page(MIXED, headers={"Content-Security-Policy": "default-src https:; upgrade-insecure-requests"})}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    assert c.code == 0, c.err
    assert c.report["findings"] == [] and c.report["summary"]["pages"] == 1


def test_report_only_csp_header_upgrades_nothing(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page(MIXED, headers={"Content-Security-Policy-Report-Only": "upgrade-insecure-requests"})}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    assert c.code == 1
    assert [f["code"] for f in c.report["findings"]] == ["MC101", "MC102"]


def test_page_served_over_plain_http_is_mc508_and_nothing_on_it_is_mixed(run) -> None:  # type: ignore[no-untyped-def]
    old = Site({"/old.html": Page(MIXED)})
    with serve(old.app(), tls=False) as plain, hosting({}) as (site, srv):
        old_url = plain.url("site.example", "/old.html")
        site.routes["/"] = Page(f'<a href="{old_url}">old</a>')
        c = crawl(run, srv, *plain.resolve("site.example"))
    assert c.code == 1, c.err
    assert [(f["code"], f["page"], f["file"], f["offset"]) for f in c.report["findings"]] == [("MC508", old_url, None, None)]
    assert old.fetched("/old.html") == 1


def test_http_page_that_redirects_to_https_is_not_mc508(run) -> None:  # type: ignore[no-untyped-def]
    old = Site()
    with serve(old.app(), tls=False) as plain, hosting({"/new.html": Page("new")}) as (site, srv):
        old.routes["/old.html"] = Page("", status=301, headers={"Location": srv.url("site.example", "/new.html")})
        site.routes["/"] = Page(f'<a href="{plain.url("site.example", "/old.html")}">old</a>')
        c = crawl(run, srv, *plain.resolve("site.example"))
    assert c.code == 0, c.err
    assert c.report["findings"] == [] and site.fetched("/new.html") == 1


def test_charset_from_the_header_wins_and_spans_are_exact(run) -> None:  # type: ignore[no-untyped-def]
    # these bytes are valid UTF-8 (and say so in <meta>), but the header says windows-1252, which wins
    # (HTML §13.2.3.1 step 4 before the prescan): "Ã©€" is three code points before the URL, not two
    body = '<meta charset="utf-8"><p>Ã©€ <img src="http://cdn.example/caf\u00e9.png">'.encode("cp1252")
    assert body.decode("utf-8", "replace") != body.decode("cp1252")
    routes = {"/": Page(body, "text/html; charset=windows-1252")}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    (f,) = c.report["findings"]
    assert body[f["offset"]:f["offset"] + f["length"]].decode("cp1252") == f["raw"] == "http://cdn.example/caf\u00e9.png"
    text = body.decode("cp1252")
    assert f["column"] == text.index("http://") + 1


def test_gzip_encoded_page_spans_index_the_decompressed_body(run) -> None:  # type: ignore[no-untyped-def]
    body = ("<p>" + "filler " * 200 + "</p>" + MIXED).encode()
    routes = {"/": Page(gzip.compress(body), headers={"Content-Encoding": "gzip"})}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    assert [f["code"] for f in c.report["findings"]] == ["MC101", "MC102"]
    for f in c.report["findings"]:
        assert body[f["offset"]:f["offset"] + f["length"]].decode() == f["raw"]


def test_stylesheet_import_cycle_is_fetched_once_each(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<link rel=stylesheet href="/a.css">'),
              "/a.css": Page('@import "b.css";\nbody{background:url(http://cdn.example/a.png)}', "text/css"),
              "/b.css": Page('@import url(/a.css);\n@font-face{src:url(http://cdn.example/b.woff)}', "text/css")}
    with hosting(routes) as (site, srv):
        c = crawl(run, srv)
    assert (site.fetched("/a.css"), site.fetched("/b.css")) == (1, 1)
    a, b = srv.url("site.example", "/a.css"), srv.url("site.example", "/b.css")
    assert codes(c.report) == [("MC101", a, "http://cdn.example/a.png"), ("MC102", b, "http://cdn.example/b.woff")]
    assert c.report["findings"][1]["referrers"] == [srv.url("site.example", "/")]


def test_stylesheet_is_judged_by_every_page_that_loads_it(run) -> None:  # type: ignore[no-untyped-def]
    csp = {"Content-Security-Policy": "upgrade-insecure-requests"}
    routes = {"/": Page('<link rel=stylesheet href="/s.css"><a href="/plain.html">p</a>', headers=csp),
              "/plain.html": Page('<link rel=stylesheet href="/s.css">'),
              "/s.css": Page("body{background:url(http://cdn.example/bg.png)}", "text/css")}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    (f,) = c.report["findings"]
    assert (f["code"], f["referrers"]) == ("MC101", [srv.url("site.example", "/plain.html")])


def test_stylesheets_on_other_hosts_are_not_fetched(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/s.css": Page("body{background:url(http://cdn.example/bg.png)}", "text/css")}
    with hosting(routes, "site.example", "cdn.example") as (site, srv):
        routes["/"] = Page(f'<link rel=stylesheet href="{srv.url("cdn.example", "/s.css")}">')
        c = crawl(run, srv, hosts=("site.example", "cdn.example"))
    assert site.fetched("/s.css", "cdn.example") == 0 and c.report["summary"]["stylesheets"] == 0


# ---- failures are values ------------------------------------------------------------------------------

def test_redirect_loop_is_an_error_entry_and_the_crawl_goes_on(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<a href="/loop1">l</a><a href="/ok.html">ok</a>'), "/ok.html": Page(MIXED),
              "/loop1": Page("", status=302, headers={"Location": "/loop2"}),
              "/loop2": Page("", status=302, headers={"Location": "/loop1"})}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    assert c.code == 1
    assert [(e["file"], e["url"], e["message"].split(":")[0]) for e in c.report["errors"]] == [
        (None, srv.url("site.example", "/loop1"), "redirect-loop")]
    assert [f["page"] for f in c.report["findings"]] == [srv.url("site.example", "/ok.html")] * 2


def test_http_error_status_is_an_error_entry(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<a href="/gone.html">g</a>')}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    assert c.code == 0
    assert [(e["url"], e["message"]) for e in c.report["errors"]] == [(srv.url("site.example", "/gone.html"), "HTTP 404")]


def test_responses_that_are_not_pages_are_skipped(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page('<a href="/notes.txt">t</a><a href="/pic.png">p</a><a href="/x.xhtml">x</a>'),
              "/notes.txt": Page(MIXED, "text/plain"), "/pic.png": Page(b"\x89PNG\r\n\x1a\n", "image/png"),
              "/x.xhtml": Page('<html xmlns="http://www.w3.org/1999/xhtml"><body>'
                               '<img src="http://cdn.example/x.png"/></body></html>', "application/xhtml+xml")}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    assert codes(c.report) == [("MC101", srv.url("site.example", "/x.xhtml"), "http://cdn.example/x.png")]
    assert c.report["summary"]["pages"] == 2


def test_two_crawls_give_byte_identical_json(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/": Page("".join(f'<a href="/p{i}.html">{i}</a>' for i in range(12)) + MIXED)}
    for i in range(12):
        routes[f"/p{i}.html"] = Page(f'<link rel=stylesheet href="/s{i % 3}.css"><a href="/p{(i * 5) % 12}.html">n</a>'
                                     f'<img src="http://cdn.example/{i}.png"><a href="/gone{i % 2}.html">g</a>')
    for j in range(3):
        routes[f"/s{j}.css"] = Page(f'@import "s{(j + 1) % 3}.css"; a{{background:url(http://cdn.example/s{j}.png)}}',
                                    "text/css")
    with hosting(routes) as (_, srv):
        text1 = crawl(run, srv, "--concurrency", "8", fmt="text")
        text2 = crawl(run, srv, "--concurrency", "3", fmt="text")
        json1 = crawl(run, srv)
        json2 = crawl(run, srv, "--per-host", "1")
    assert text1.code == 1 and text1.out == text2.out
    assert json1.out == json2.out and json1.report["summary"]["pages"] == 13


def test_unreachable_start_url_is_a_one_line_error_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run("scan", f"https://site.example:{port}/", "--resolve", f"site.example:{port}:127.0.0.1", "--retries", "0")
    assert r.code == 2 and r.out == ""
    # the host's problem in plain words, said about the start URL (not about its robots.txt)
    assert r.err == (f"mixedcontent: nothing could be scanned from https://site.example:{port}/: connect-refused: "
                     f"connection refused by site.example:{port}\n")


def test_untrusted_start_url_says_so_and_suggests_cacert(run) -> None:  # type: ignore[no-untyped-def]
    with hosting({"/": Page(MIXED)}) as (site, srv):
        r = run("scan", srv.url("site.example"), *srv.resolve("site.example"), "--retries", "0")
    assert (r.code, r.out) == (2, "") and site.fetched("/") == 0
    assert r.err == (f"mixedcontent: nothing could be scanned from {srv.url('site.example')}: tls-untrusted: TLS "
                     "certificate not trusted for site.example (unable to get local issuer certificate; use --cacert "
                     "FILE to trust its CA, or --insecure)\n")


def test_an_unreachable_allowed_host_is_said_first_then_its_robots_txt(run) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    link = f'<a href="https://cdn.example:{port}/p.html">p</a>'
    with hosting({"/": Page(MIXED + link)}) as (_, srv):
        c = crawl(run, srv, "--allow-host", "cdn.example", "--resolve", f"cdn.example:{port}:127.0.0.1",
                  "--retries", "0")
    assert c.code == 1 and c.report["errors"] == [{
        "file": None, "url": f"https://cdn.example:{port}/robots.txt",
        "message": f"connect-refused: connection refused by cdn.example:{port}; robots.txt could not be read, so "
                   f"nothing on https://cdn.example:{port} is crawled (RFC 9309 §2.3.1.4)"}]


def test_ftp_start_url_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "ftp://site.example/")
    assert (r.code, r.out) == (2, "")
    assert r.err == "mixedcontent: 'ftp://site.example/': only http:// and https:// sites can be crawled\n"


def test_malformed_start_url_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "https://[site.example/")
    assert (r.code, r.err) == (2, "mixedcontent: 'https://[site.example/' is not a valid URL\n")


def test_crawl_flags_on_a_directory_scan_are_usage_errors(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_text("<p>x</p>")
    r = run("scan", str(tmp_path), "--max-pages", "3")
    assert (r.code, r.err) == (2, "mixedcontent: --max-pages applies only when scanning a URL (a live site)\n")


def test_base_url_with_a_crawl_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "https://site.example/", "--base-url", "https://example.org/")
    assert r.code == 2
    assert r.err == "mixedcontent: --base-url applies to files on disk; a crawl judges each page as it is served\n"


def test_progress_is_silent_when_stderr_is_not_a_terminal(run) -> None:  # type: ignore[no-untyped-def]
    with hosting({"/": Page(MIXED)}) as (_, srv):
        c = crawl(run, srv, fmt="text")
    assert c.code == 1 and c.err == ""
    assert c.out.splitlines()[-1].startswith("2 findings (1 error, 1 warning) in 1 page, 0 stylesheets")


# ---- pure parts ------------------------------------------------------------------------------------------

def test_sitemap_parser_expands_no_entities() -> None:
    data = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY e "https://evil.example/">]>'
            b'<urlset><url><loc>&e;</loc></url><url><loc> https://a.example/1 </loc></url></urlset>')
    sitemap = parse_sitemap(data)
    assert sitemap is not None and sitemap.locations == ("https://a.example/1",)


@pytest.mark.parametrize("data", [b"<html><body>hi</body></html>", b"not xml", b""])
def test_what_is_not_a_sitemap_is_none(data: bytes) -> None:
    assert parse_sitemap(data) is None


def test_gunzip_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000 and gunzip(bomb, 1_000_000) is None
    assert gunzip(gzip.compress(b"abc"), 3) == b"abc"


@pytest.mark.parametrize("media, body, expected", [
    ("text/html", b"", False), ("application/xhtml+xml", b"", True), (None, b"<p>hi", False),
    (None, b"\x89PNG\r\n\x1a\n....", None), ("text/css", b"a{}", None), ("application/pdf", b"%PDF", None)])
def test_content_type_dispatch(media: str | None, body: bytes, expected: bool | None) -> None:
    assert page_kind(media, body) is expected


def test_link_collection_changes_no_reference() -> None:
    html = (b'<base href="/d/"><a href="x.html" ping="http://t.example/p">x</a><img src="http://c.example/i.png">'
            b'<link rel="next stylesheet" href="http://c.example/s.css"><area href=y.html><frame src=f.html>'
            b'<video><area href=v.html><source src="http://c.example/v.mp4"></video>')
    src = decode_html(html)
    page = PageContext("https://s.example/", True)
    without, with_links = extract_html(src, page), extract_html(src, page, links=True)
    assert with_links.references == without.references and without.links == []
    assert with_links.links == ["https://s.example/d/x.html", "http://c.example/s.css", "https://s.example/d/y.html",
                                "https://s.example/d/f.html", "https://s.example/d/v.html"]


LINK_FRAGMENTS = ["<a href=", "<A HREF=", "<a href=\"", "<area href='", "<a ping=", "<a hreflang=en href=",
                  " href=", "<frame src=", "<iframe src=", "<link rel=next href=", "<a/href=x>", "<a>", "</a>",
                  "x.html", "/y.html#f", "&amp;z", "<picture>", "<template>", "</template>", "<!--", "-->",
                  "<base href=/d/>", "<svg>", "<a xlink:href=", "\"", "'", ">", " ", "\t", "http://h.example/"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LINK_FRAGMENTS + FRAGMENTS), max_size=30).map("".join))
def test_fast_link_collection_equals_the_general_path_and_changes_no_reference(html: str) -> None:
    src = decode_html(html.encode("utf-8", "surrogatepass"))
    page = PageContext("https://s.example/p.html", True)
    plain = extract_html(src, page)
    fast = extract_html(src, page, links=True)
    slow = extract_html(src, page, links=True, exhaustive=True)
    assert fast.references == plain.references
    assert fast.links == slow.links


def test_robots_txt_server_error_means_nothing_is_crawled(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/robots.txt": Page("oops", "text/plain", status=500), "/": Page(MIXED)}
    with hosting(routes) as (site, srv):
        c = crawl(run, srv, "--retries", "0")
    assert c.code == 2 and c.out == "" and site.fetched("/") == 0
    assert c.err.startswith("mixedcontent: nothing could be scanned from") and "robots.txt unreachable (HTTP 500)" in c.err


def test_probe_checks_the_https_twins_of_what_the_crawl_found(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/a.png": Page(b"\x89PNG\r\n\x1a\n", "image/png")}
    with hosting(routes, "site.example", "cdn.example") as (site, srv):
        img = srv.url("cdn.example", "/a.png").replace("https://", "http://")
        routes["/"] = Page(f'<img src="{img}">')
        c = crawl(run, srv, "--probe", hosts=("site.example", "cdn.example"))
    (f,) = c.report["findings"]
    assert (f["code"], f["https"]["status"], f["fix"]["applicability"]) == ("MC101", "available", "safe")
    assert site.fetched("/a.png", "cdn.example") >= 1 and site.fetched("/", "cdn.example") == 0


def test_start_url_redirecting_to_another_host_takes_it_into_scope(run) -> None:  # type: ignore[no-untyped-def]
    routes = {"/a.html": Page(MIXED)}
    with hosting(routes, "site.example", "www.site.example") as (site, srv):
        routes["/"] = Page("", status=301, headers={"Location": srv.url("www.site.example", "/home.html")})
        routes["/home.html"] = Page('<a href="/a.html">a</a>')
        c = crawl(run, srv, hosts=("site.example", "www.site.example"))
    assert site.fetched("/a.html", "www.site.example") == 1
    assert {f["page"] for f in c.report["findings"]} == {srv.url("www.site.example", "/a.html")}


def test_crawl_report_validates_against_the_json_schema(run) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources

    import jsonschema

    routes = {"/": Page('<link rel=stylesheet href="/s.css"><a href="/gone.html">g</a>' + MIXED),
              "/s.css": Page("a{background:url(http://cdn.example/s.png)}", "text/css")}
    with hosting(routes) as (_, srv):
        c = crawl(run, srv)
    schema = json.loads(resources.files("mixedcontent.report").joinpath("schema.json").read_text())
    jsonschema.validate(c.report, schema, cls=jsonschema.Draft202012Validator)
    assert c.report["target"] == {"kind": "site", "inputs": [srv.url("site.example", "/")], "base_url": None}
    assert len(c.report["findings"]) == 3 and len(c.report["errors"]) == 1


def test_a_page_that_could_not_be_fetched_is_a_url_not_a_file(run) -> None:  # type: ignore[no-untyped-def]
    with hosting({"/": Page(MIXED + '<a href="/gone.html">g</a>')}) as (_, srv):
        c = crawl(run, srv, "--retries", "0", fmt="text")
    lines = c.out.splitlines()
    assert f"{srv.url('site.example', '/gone.html')}: error: HTTP 404" in lines
    assert lines[-1].endswith("; 1 URL could not be scanned") and "file" not in lines[-1]


def test_progress_line_counts_agree_with_their_nouns() -> None:
    from mixedcontent.progress import describe
    from mixedcontent.sources.crawl import CrawlStats

    assert describe(CrawlStats(pages=1, queued=0, stylesheets=1, errors=1, requests=1)) == \
        "1 page, 0 queued, 1 stylesheet, 1 request, 1 error"
    assert describe(CrawlStats(pages=2, stylesheets=0, errors=3, requests=5)) == \
        "2 pages, 0 queued, 0 stylesheets, 5 requests, 3 errors"
