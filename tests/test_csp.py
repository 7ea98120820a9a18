"""`mixedcontent csp`: the upgrade-insecure-requests verdict, the Report-Only allowlist, HSTS, and the
snippets' content. Probed twins come from a real aiohttp https server on loopback (cdn.example via
--resolve); the snippets are proven by real servers in test_csp_servers.py and test_csp_iis.py."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web
from servers import Server, make_ca, serve

ASSETS = {"/a.png": "image/png", "/b.png": "image/png", "/app.js": "application/javascript",
          "/site.css": "text/css", "/font.woff2": "font/woff2"}


async def _asset(request: web.Request) -> web.Response:
    ctype = ASSETS.get(request.path)
    if ctype is None:
        raise web.HTTPNotFound()
    return web.Response(body=b"x", content_type=ctype)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """One CA for every https server here, so one --cacert trusts them all."""
    return make_ca()


@pytest.fixture(scope="module")
def cdn(ca: trustme.CA) -> Iterator[Server]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _asset)
    with serve(app, ca=ca, hostnames=["cdn.example"]) as srv:
        yield srv


def site(tmp_path: Path, html: str, name: str = "index.html") -> str:
    root = tmp_path / "public"
    root.mkdir(exist_ok=True)
    (root / name).write_text(html, encoding="utf-8")
    return str(root)


def csp_json(run: Callable[..., object], *argv: str) -> dict[str, object]:
    r = run("csp", *argv, "--format", "json")
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    return json.loads(r.out)  # type: ignore[attr-defined, no-any-return]


def probe_args(cdn: Server) -> list[str]:
    return ["--probe", *cdn.resolve("cdn.example"), "--cacert", str(cdn.ca_file)]


# --- 1. upgrade-insecure-requests ------------------------------------------------------------------

def test_upgrade_is_safe_when_every_twin_works(run, tmp_path, cdn) -> None:
    html = (f'<img src="http://cdn.example:{cdn.port}/a.png">'
            f'<script src="http://cdn.example:{cdn.port}/app.js"></script>')
    d = csp_json(run, site(tmp_path, html), *probe_args(cdn))
    up = d["upgrade_insecure_requests"]
    assert up["readiness"] == "safe"
    assert [r["status"] for r in up["references"]] == ["works", "works"]
    assert {"name": "Content-Security-Policy", "value": "upgrade-insecure-requests", "enabled": True,
            "why": None} in d["headers"]


def test_upgrade_lists_what_would_still_break(run, tmp_path, cdn) -> None:
    html = (f'<img src="http://cdn.example:{cdn.port}/a.png">'
            f'<script src="http://cdn.example:{cdn.port}/gone.js"></script>')
    d = csp_json(run, site(tmp_path, html), *probe_args(cdn))
    up = d["upgrade_insecure_requests"]
    assert up["readiness"] == "unsafe"
    broken = [r for r in up["references"] if r["status"] == "breaks"]
    assert [(r["url"], r["reason"], r["where"]) for r in broken] == [
        (f"http://cdn.example:{cdn.port}/gone.js", "http-404", ["index.html"])]


def test_upgrade_header_is_left_out_when_it_would_break(run, tmp_path, cdn) -> None:
    html = f'<script src="http://cdn.example:{cdn.port}/gone.js"></script>'
    d = csp_json(run, site(tmp_path, html), *probe_args(cdn))
    header = next(h for h in d["headers"] if h["name"] == "Content-Security-Policy")
    assert header["enabled"] is False
    assert "# add_header Content-Security-Policy \"upgrade-insecure-requests\" always;" in d["snippets"]["nginx"]["text"]


def test_upgrade_is_unknown_without_probe(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, '<img src="http://cdn.example/a.png">'))
    up = d["upgrade_insecure_requests"]
    assert (up["readiness"], up["references"][0]["status"]) == ("unknown", "unchecked")


def test_upgrade_is_safe_with_nothing_insecure(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, '<img src="https://cdn.example/a.png">'))
    assert (d["upgrade_insecure_requests"]["readiness"], d["upgrade_insecure_requests"]["references"]) == ("safe", [])


def test_form_targets_are_unchecked_even_with_probe(run, tmp_path, cdn) -> None:
    html = '<form action="http://forms.example/send"></form>'
    d = csp_json(run, site(tmp_path, html), *probe_args(cdn))
    ref = d["upgrade_insecure_requests"]["references"][0]
    assert (ref["status"], ref["directive"], d["upgrade_insecure_requests"]["readiness"]) == (
        "unchecked", "form-action", "unknown")


def test_text_output_names_each_breaking_url_and_why(run, tmp_path, cdn) -> None:
    html = f'<script src="http://cdn.example:{cdn.port}/gone.js"></script>'
    r = run("csp", site(tmp_path, html), *probe_args(cdn))
    assert r.code == 0
    assert (f"- http://cdn.example:{cdn.port}/gone.js → https://cdn.example:{cdn.port}/gone.js: http-404 "
            f"[MC302; index.html]") in r.out


def test_text_output_counts_agree_with_their_nouns(run, tmp_path, cdn) -> None:
    html = f'<script src="http://cdn.example:{cdn.port}/gone.js"></script>'
    unsafe = run("csp", site(tmp_path, html), *probe_args(cdn))
    assert "   Not yet: 1 of 1 insecure URL would still break after the upgrade (it would be MC303):\n" in unsafe.out
    header = next(h for h in csp_json(run, site(tmp_path, html), *probe_args(cdn))["headers"]
                  if h["name"] == "Content-Security-Policy")
    assert header["why"] == "1 insecure URL has no working https twin: fix it first"
    html = f'<img src="http://cdn.example:{cdn.port}/a.png"><script>fetch("http://api.example/x")</script>'
    safe = run("csp", site(tmp_path, html), *probe_args(cdn))
    assert "   Safe to deploy: the one insecure URL has a working https twin (probed).\n" in safe.out
    assert "1 http:// literal in inline scripts (MC401) is not in the allowlist: whatever it fetches" in safe.out
    unknown = run("csp", site(tmp_path, '<img src="http://cdn.example/a.png"><img src="http://cdn.example/b.png">'))
    assert "   Unknown: 2 of 2 insecure URLs are not proven to work over https (run with --probe):\n" in unknown.out


# --- 2. the Report-Only allowlist ------------------------------------------------------------------

ALL_KINDS = """<!doctype html><html><head>
<link rel="stylesheet" href="http://styles.example/site.css">
<link rel="prefetch" href="http://next.example/page">
<link rel="manifest" href="http://app.example/manifest.json">
<script src="http://js.example/app.js"></script>
<style>@font-face { font-family: x; src: url(http://fonts.example/x.woff2); }</style>
</head><body>
<img src="http://img.example/a.png">
<video src="http://media.example/v.webm"></video>
<iframe src="http://frames.example/embed"></iframe>
<object data="http://plugins.example/x.swf"></object>
<a href="/x" ping="http://ping.example/p">x</a>
<form action="http://forms.example/send"></form>
</body></html>"""


def test_allowlist_has_one_directive_per_destination(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, ALL_KINDS))
    assert d["report_only"]["directives"] == {
        "default-src": ["'self'", "https://next.example"],  # CSP3: prefetch answers to default-src
        "img-src": ["'self'", "https://img.example"],
        "media-src": ["'self'", "https://media.example"],
        "script-src": ["'self'", "https://js.example"],
        "style-src": ["'self'", "https://styles.example"],
        "font-src": ["'self'", "https://fonts.example"],
        "frame-src": ["'self'", "https://frames.example"],
        "object-src": ["'self'", "https://plugins.example"],
        "manifest-src": ["'self'", "https://app.example"],
        "connect-src": ["'self'", "https://ping.example"],
        "form-action": ["'self'", "https://forms.example"],
    }


def test_same_origin_reference_is_self(run, tmp_path) -> None:
    html = '<img src="http://site.example/logo.png"><img src="http://cdn.example/a.png">'
    d = csp_json(run, site(tmp_path, html), "--base-url", "https://site.example/")
    assert d["report_only"]["directives"]["img-src"] == ["'self'", "https://cdn.example"]


def test_non_default_port_stays_in_the_source(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, '<img src="http://cdn.example:8080/a.png">'))
    assert d["report_only"]["directives"]["img-src"] == ["'self'", "https://cdn.example:8080"]


def test_policy_ends_with_the_report_endpoint_placeholder(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, '<img src="http://cdn.example/a.png">'))
    assert d["report_only"]["header"]["value"] == (
        "default-src 'self'; img-src 'self' https://cdn.example; form-action 'self'; "
        "report-uri https://csp-report.invalid/report; report-to csp-endpoint")


def test_report_uri_option_sets_report_uri_and_reporting_endpoints(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"), "--report-uri", "https://reports.example/csp")
    headers = {h["name"]: h["value"] for h in d["headers"]}
    assert headers["Reporting-Endpoints"] == 'csp-endpoint="https://reports.example/csp"'
    assert headers["Content-Security-Policy-Report-Only"].endswith(
        "; report-uri https://reports.example/csp; report-to csp-endpoint")


def test_report_uri_separators_are_percent_encoded(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"), "--report-uri", "https://reports.example/a;b,c")
    assert d["report_only"]["report_uri"] == "https://reports.example/a%3Bb%2Cc"


def test_report_uri_must_be_an_http_url(run, tmp_path) -> None:
    r = run("csp", site(tmp_path, "<p>x"), "--report-uri", "javascript:alert(1)")
    assert (r.code, r.out, r.err.count("\n")) == (2, "", 1)
    assert "--report-uri must be an absolute http(s) URL" in r.err


# --- 3. HSTS ------------------------------------------------------------------------------------------

def test_hsts_is_the_preload_form_with_caveats(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"))
    assert d["hsts"]["header"] == {"name": "Strict-Transport-Security",
                                   "value": "max-age=31536000; includeSubDomains; preload"}
    caveats = " ".join(d["hsts"]["caveats"])
    assert "every subdomain" in caveats and "Removal from the preload list takes months" in caveats


# --- snippets -------------------------------------------------------------------------------------------

def test_every_server_has_a_snippet(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"))
    assert sorted(d["snippets"]) == ["apache", "caddy", "haproxy", "iis", "meta", "nginx"]


def test_nginx_snippet_uses_add_header_always(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"))
    assert ('add_header Strict-Transport-Security "max-age=31536000; includeSubDomains; preload" always;'
            in d["snippets"]["nginx"]["text"])


def test_apache_snippet_uses_header_always_set(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"))
    assert ('Header always set Strict-Transport-Security "max-age=31536000; includeSubDomains; preload"'
            in d["snippets"]["apache"]["text"])


def test_meta_snippet_says_what_a_meta_policy_cannot_do(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"))
    notes = " ".join(d["snippets"]["meta"]["notes"])
    for word in ("Report-Only", "report-uri", "frame-ancestors", "sandbox", "only to content after it",
                 "HSTS cannot be set from HTML"):
        assert word in notes


def test_snippet_comments_show_their_text_as_written(run, tmp_path) -> None:
    # a comment decodes nothing: "csp command's" is written with its quote, not as &#x27;
    d = csp_json(run, site(tmp_path, '<img src="http://cdn.example/a.png">'))
    why = "not proven safe: the https twins were not checked (the csp command's probe option checks them)"
    assert d["snippets"]["meta"]["text"] == (
        f"<!-- not yet: {why} -->\n"
        '<!-- <meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests"> -->\n')
    iis = d["snippets"]["iis"]["text"]
    assert f'<!-- not yet: {why}. <add name="Content-Security-Policy" value="upgrade-insecure-requests" /> -->' in iis
    assert "&#x27;" not in iis and "&#x27;" not in d["snippets"]["meta"]["text"]
    assert "'self'" in iis  # the Report-Only policy's quotes, in an attribute value, stay as they are


def test_origins_a_policy_cannot_name_are_left_out_and_said(run, tmp_path) -> None:
    html = '<img src="http://a;b.example/x.png"><img src="http://a$b.example/y.png"><img src="http://ok.example/z.png">'
    d = csp_json(run, site(tmp_path, html))
    policy = next(h["value"] for h in d["headers"] if h["name"] == "Content-Security-Policy-Report-Only")
    assert policy.startswith("default-src 'self'; img-src 'self' https://ok.example; form-action 'self'; report-uri ")
    assert "$" not in d["snippets"]["nginx"]["text"]
    assert ("2 origins are left out of the allowlist: a CSP source can only name host names of letters, digits and "
            "hyphens ('https://a$b.example', 'https://a;b.example').") in d["notes"]


def test_meta_snippet_carries_upgrade_when_safe(run, tmp_path) -> None:
    d = csp_json(run, site(tmp_path, "<p>x"))
    assert d["snippets"]["meta"]["text"] == (
        '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">\n')


def test_json_output_is_deterministic(run, tmp_path) -> None:
    root = site(tmp_path, ALL_KINDS)
    first, second = run("csp", root, "--format", "json"), run("csp", root, "--format", "json")
    assert first.out == second.out


def test_output_file_holds_the_report(run, tmp_path) -> None:
    out = tmp_path / "csp.json"
    r = run("csp", site(tmp_path, "<p>x"), "--format", "json", "--output", str(out))
    assert (r.code, r.out) == (0, "")
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == 1


# --- inputs ---------------------------------------------------------------------------------------------

def test_csp_of_a_url_scans_the_crawled_site(run) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text='<img src="http://img.example/a.png"><img src="http://site.example/b.png">',
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    with serve(app, hostnames=["site.example"]) as srv:
        d = csp_json(run, srv.url("site.example", "/"), *srv.resolve("site.example"), "--cacert", str(srv.ca_file))
    # the page's own origin includes its port, so http://site.example/ (port 80 → 443) is another origin
    assert d["report_only"]["directives"]["img-src"] == ["'self'", "https://img.example", "https://site.example"]
    assert d["origin"] == f"https://site.example:{srv.port}"


def test_csp_of_a_url_with_probe_proves_the_upgrade(run, cdn, ca) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f'<img src="http://cdn.example:{cdn.port}/a.png">', content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    with serve(app, ca=ca, hostnames=["site.example"]) as srv:
        d = csp_json(run, srv.url("site.example", "/"), *srv.resolve("site.example"), "--cacert", str(srv.ca_file),
                     "--probe", *cdn.resolve("cdn.example"))
    assert d["upgrade_insecure_requests"]["readiness"] == "safe"


def test_csp_of_a_page_served_over_http_judges_it_as_https(run) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text='<script src="http://js.example/a.js"></script>', content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    with serve(app, tls=False) as srv:
        d = csp_json(run, srv.url("site.example", "/"), *srv.resolve("site.example"))
    assert d["report_only"]["directives"]["script-src"] == ["'self'", "https://js.example"]


def test_csp_of_an_unreachable_url_exits_2(run) -> None:
    r = run("csp", "https://site.example:9/", "--resolve", "site.example:9:127.0.0.1", "--retries", "0")
    assert (r.code, r.out, r.err.count("\n")) == (2, "", 1)
    assert r.err.startswith("mixedcontent: nothing could be scanned from https://site.example:9/")


def test_csp_takes_a_url_or_paths_not_both(run, tmp_path) -> None:
    r = run("csp", site(tmp_path, "<p>x"), "https://site.example/")
    assert (r.code, r.err.strip()) == (2, "mixedcontent: give either URLs to crawl or paths to scan, not both")


def test_csp_of_a_missing_path_exits_2(run, tmp_path) -> None:
    r = run("csp", os.path.join(str(tmp_path), "nope"))
    assert (r.code, r.out, r.err.count("\n")) == (2, "", 1)
