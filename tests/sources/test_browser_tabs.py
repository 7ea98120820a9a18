"""A tab that hangs or crashes is an error entry and the run goes on, in the real Chromium: one worker
(``jobs=1``) loads a page whose script never yields, then a page that kills its renderer
(``chrome://crash``, a test-only way to crash a tab: the tool itself only loads http(s) pages), then
pages that must load and get their verdicts as if nothing had happened. The site is an https server on loopback
reached through ``--resolve``-style pins; every other host goes to the sink."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from conftest import needs_chromium
from servers import Server, serve

from mixedcontent.net import NetSettings
from mixedcontent.sources.browser import RenderRun, RenderSettings, Verdict, render_urls

TIMEOUT = 8.0

PAGES = {
    "/": """<!DOCTYPE html><title>home</title>
<a href="/hang.html">hang</a> <a href="/one.html">one</a> <a href="/two.html">two</a>
""",
    "/hang.html": "<!DOCTYPE html><title>hang</title><script>while (true) {}</script>\n",
    "/one.html": """<!DOCTYPE html><title>one</title>
<script>fetch('http://api.example/one.json').catch(function () {});</script>
""",
    "/two.html": """<!DOCTYPE html><title>two</title>
<script>new Image().src = 'http://img.example/two.png';</script>
""",
}



@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    needs_chromium()

    async def handle(request: web.Request) -> web.Response:
        if request.path in PAGES:
            return web.Response(text=PAGES[request.path], content_type="text/html")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    with serve(app, hostnames=["site.example"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def rendered(site: Server) -> RenderRun:
    url = site.url
    net = NetSettings(resolve=(("site.example", site.port, "127.0.0.1"),), cacert=site.ca_file)
    # about:blank stays in the renderer chrome://crash kills (the next page of a site would stay in its
    # site's renderer the same way)
    pages = [url("site.example", "/hang.html"), "chrome://crash", "about:blank", url("site.example", "/one.html"),
             url("site.example", "/two.html")]
    return render_urls(pages, RenderSettings(timeout=TIMEOUT, jobs=1), net)


def test_a_page_that_loops_forever_times_out_as_an_error(rendered: RenderRun) -> None:
    hang = rendered.pages[0]
    assert (hang.error, hang.verdicts) == (f"did not load within {TIMEOUT:g} s", ())


def test_a_crashed_tab_is_an_error_of_its_own_page(rendered: RenderRun) -> None:
    crash = rendered.pages[1]
    assert crash.page == "chrome://crash" and crash.error is not None


def test_the_pages_after_a_hang_and_a_crash_get_their_verdicts(rendered: RenderRun) -> None:
    """The same worker goes on in a fresh tab: the crash is not blamed on the next page (it was: the
    renderer died after the navigation had answered, and the tab was used again)."""
    blank, one, two = rendered.pages[2:]
    assert (blank.error, one.error, two.error) == (None, None, None)
    assert [(v.url, v.verdict) for v in one.verdicts] == [("http://api.example/one.json", Verdict.BLOCKED)]
    assert [(v.url, v.verdict) for v in two.verdicts] == [("http://img.example/two.png", Verdict.UPGRADED)]


def test_a_crawl_with_render_reports_the_hung_page_and_goes_on(site: Server, run: Any) -> None:
    """From the command line: the crawled page that hangs is an errors entry named by its URL, and the
    other pages' requests are merged."""
    assert site.ca_file is not None
    r = run("scan", site.url("site.example", "/"), *site.resolve("site.example"), "--cacert", site.ca_file,
            "--render", "--render-timeout", f"{TIMEOUT:g}", "--render-jobs", "2", "--format", "json",
            "--no-config", "--quiet")
    doc = json.loads(r.out)
    assert r.code == 1, r.err
    assert doc["errors"] == [{"file": None, "url": site.url("site.example", "/hang.html"),
                              "message": f"--render: did not load within {TIMEOUT:g} s"}]
    assert "rendered 3 pages in Chromium (1 could not be rendered)" in r.err
    assert {(f["code"], f["url"]) for f in doc["findings"] if f["code"] == "MC402"} == {
        ("MC402", "http://api.example/one.json"), ("MC402", "http://img.example/two.png")}
