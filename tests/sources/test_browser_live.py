"""``--render`` of a crawl: the live pages loaded as a visitor's browser loads them, within the crawl's
reach. The "live" site is an aiohttp https server on loopback with a certificate from a trustme CA that
only ``--cacert`` trusts, reached under its fake name through ``--resolve``; Chromium connects to that
pair and sends every other host to the tool's loopback sink, so nothing leaves loopback."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from conftest import needs_chromium
from servers import Server, make_ca, serve

from mixedcontent.judge.runtime import merge_runtime
from mixedcontent.model import ScanResult, Target
from mixedcontent.net import NetSettings
from mixedcontent.settings import ScanSettings
from mixedcontent.sources.browser import RenderRun, RenderSettings, Verdict, render_urls

PAGES = {
    "/": """<!DOCTYPE html><title>live</title>
<img src="http://cdn.example/logo.png" alt="logo">
<a href="/second.html">second</a>
<script>
fetch('http://api.example/live.json').catch(function () {});
new Image().src = 'http://img.example/built.png';
</script>
""",
    "/second.html": """<!DOCTYPE html><title>second</title><body>
<script>
var f = document.createElement('iframe'); f.src = 'http://maps.example/embed'; document.body.appendChild(f);
</script>
""",
}



@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Server, list[tuple[str, str]]]]:
    """The site at https://site.example:PORT/ (on 127.0.0.1), and the (Host, path) of each request it got."""
    needs_chromium()
    served: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        served.append((request.host, request.path_qs))
        if request.path in PAGES:
            return web.Response(text=PAGES[request.path], content_type="text/html")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    with serve(app, hostnames=["site.example"]) as srv:
        yield srv, served


def test_crawled_pages_render_within_the_crawls_reach(live: tuple[Server, list[tuple[str, str]]]) -> None:
    """``render_urls`` with the crawl's --resolve and --cacert: the pages load (the certificate only the
    CA file trusts is trusted by the browser), the verdicts are the browser's, and every request that
    left the browser went to the site's --resolve address or to the sink."""
    srv, served = live
    assert srv.ca_file is not None
    urls = [srv.url("site.example", "/"), srv.url("site.example", "/second.html")]
    net = NetSettings(resolve=(("site.example", srv.port, "127.0.0.1"),), cacert=srv.ca_file)
    before = len(served)
    run = render_urls(urls, RenderSettings(timeout=30, jobs=2), net)
    index, second = run.pages
    assert (index.error, second.error) == (None, None)
    assert {(v.url, v.verdict, v.resource_type) for v in index.verdicts} == {
        ("http://cdn.example/logo.png", Verdict.UPGRADED, "Image"),
        ("http://api.example/live.json", Verdict.BLOCKED, "Resource"),
        ("http://img.example/built.png", Verdict.UPGRADED, "Image"),
    }
    assert [(v.url, v.verdict, v.resource_type) for v in second.verdicts] == [
        ("http://maps.example/embed", Verdict.BLOCKED, "Frame")
    ]
    assert_nothing_left_loopback(run, served[before:], srv.port)
    empty = ScanResult(Target("site", tuple(urls), None), (), (), 2, 2, 0)
    by_url = {f.url: f for f in merge_runtime(empty, run.pages, ScanSettings()).findings}
    f = by_url["http://api.example/live.json"]
    assert (f.code, f.file, f.page, f.offset) == ("MC402", None, urls[0], None)
    assert f.initiator_location is not None
    assert (f.initiator_location.url, f.initiator_location.line) == (urls[0], 5)


def assert_nothing_left_loopback(run: RenderRun, served: list[tuple[str, str]], port: int) -> None:
    sink = {(r.host, r.target) for r in run.sink}
    external = 0
    for p in run.pages:
        blocked = {v.url for v in p.verdicts if v.verdict is Verdict.BLOCKED}
        for url in p.requests:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or url in blocked:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if (parts.hostname, parts.port) == ("site.example", port):
                assert (f"site.example:{port}", target) in served, url
            else:
                assert (parts.netloc, target) in sink, url
                external += 1
    # the two upgraded images went to the sink (over TLS, as https requests), nowhere else
    assert external >= 2
    assert ("img.example", "/built.png") in sink and ("cdn.example", "/logo.png") in sink
    assert all(r.host is None or not r.host.startswith("site.example") for r in run.sink)


@pytest.fixture(scope="module")
def crawled(live: tuple[Server, list[tuple[str, str]]]) -> dict[str, Any]:
    """``scan https://site.example:PORT/ --render --resolve ... --cacert CA`` from the command line."""
    import io

    from mixedcontent.cli import main

    srv, _ = live
    assert srv.ca_file is not None
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["scan", srv.url("site.example", "/"), *srv.resolve("site.example"), "--cacert", srv.ca_file,
         "--render", "--render-timeout", "30", "--format", "json", "--no-config", "--quiet"],
        stdout=out, stderr=err,
    )
    assert code == 1, err.getvalue()
    doc: dict[str, Any] = json.loads(out.getvalue())
    doc["stderr"] = err.getvalue()
    return doc


def test_a_crawl_with_render_merges_the_browsers_verdicts(
    live: tuple[Server, list[tuple[str, str]]], crawled: dict[str, Any]
) -> None:
    srv, _ = live
    home, second = srv.url("site.example", "/"), srv.url("site.example", "/second.html")
    assert crawled["errors"] == []
    assert "rendered 2 pages in Chromium" in crawled["stderr"]
    by = {(f["code"], f["page"], f["url"]): f for f in crawled["findings"]}
    # a static finding the browser confirms
    assert by[("MC101", home, "http://cdn.example/logo.png")]["confirmed_by"] == "chromium"
    # requests scripts build: MC402, located at the page by the initiator (the page's own URL: no file)
    fetch = by[("MC402", home, "http://api.example/live.json")]
    assert (fetch["category"], fetch["severity"], fetch["file"]) == ("blockable", "error", None)
    assert fetch["initiator_location"]["url"] == home and fetch["initiator_location"]["line"] == 5
    image = by[("MC402", home, "http://img.example/built.png")]
    assert (image["category"], image["severity"]) == ("upgradable", "warning")
    frame = by[("MC402", second, "http://maps.example/embed")]
    assert (frame["destination"], frame["category"]) == ("iframe", "blockable")
    assert "confirmed_by" not in by[("MC401", home, "http://api.example/live.json")]
    assert crawled["summary"]["by_code"]["MC402"] == 3


def test_csp_of_a_crawl_with_render_counts_the_requests_scripts_build(
    live: tuple[Server, list[tuple[str, str]]], run: Any
) -> None:
    srv, _ = live
    assert srv.ca_file is not None
    r = run("csp", srv.url("site.example", "/"), *srv.resolve("site.example"), "--cacert", srv.ca_file,
            "--render", "--render-timeout", "30", "--format", "json", "--no-config", "--quiet")
    assert r.code == 0, r.err
    text = json.dumps(json.loads(r.out))
    assert "https://api.example" in text and "https://maps.example" in text


def test_the_reach_of_a_crawls_browser_is_the_crawlers() -> None:
    """``live_access`` (no browser needed): pages' host:port pairs at the crawler's addresses (--resolve
    pins, address safety), and only a certificate that verifies under --cacert has its key trusted."""
    from mixedcontent.sources.browser import live_access, spki_sha256

    app = web.Application()
    with serve(app, hostnames=["site.example"]) as srv:
        assert srv.ca_file is not None
        pin = (("site.example", srv.port, "127.0.0.1"),)
        pages = [srv.url("site.example", "/"), "https://127.0.0.1/", "http://[::1]:8080/"]
        access = asyncio.run(live_access(pages, (), NetSettings(resolve=pin, cacert=srv.ca_file)))
        # loopback literals are refused as the crawler refuses them (no --allow-private)
        assert access.addresses == (("site.example", srv.port, "127.0.0.1"),)
        # the key trusted is the one the server presents
        pem = ssl.get_server_certificate(("127.0.0.1", srv.port))
        assert access.trust_spki == (spki_sha256(ssl.PEM_cert_to_DER_cert(pem)),)
        # --allow-host hosts on 443 (pinned here: nothing is looked up beyond loopback), private
        # literals with --allow-private; without --cacert the system store alone: no key added
        pins = (*pin, ("cdn.example", 443, "127.0.0.2"))
        opened = asyncio.run(live_access(pages, ("cdn.example",), NetSettings(resolve=pins, allow_private=True)))
        assert set(opened.addresses) == {("site.example", srv.port, "127.0.0.1"), ("cdn.example", 443, "127.0.0.2"),
                                         ("127.0.0.1", 443, "127.0.0.1"), ("::1", 8080, "::1")}
        assert opened.trust_spki == ()
        # another CA's bundle: the handshake does not verify, so the browser is not told to trust the key
        other = make_ca()
        with tempfile.TemporaryDirectory() as tmp:
            wrong = os.path.join(tmp, "other.pem")
            other.cert_pem.write_to_path(wrong)
            refused = asyncio.run(live_access(pages, (), NetSettings(resolve=pin, cacert=wrong)))
        assert refused.addresses == access.addresses and refused.trust_spki == ()
