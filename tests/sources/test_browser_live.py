"""``render_urls``: live pages loaded as a visitor's browser loads them (the API a crawl with --render
will use). The "live" site is an aiohttp https server on loopback with a trustme certificate; Chromium's
host resolver maps its name there and every other name to nowhere, so nothing leaves loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mixedcontent.judge.runtime import merge_runtime
from mixedcontent.model import ScanResult, Target
from mixedcontent.settings import ScanSettings
from mixedcontent.sources.browser import RenderSettings, Verdict, render_urls

PAGE = """<!DOCTYPE html><title>live</title>
<script>fetch('http://api.example/live.json').catch(function () {});</script>
"""


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[int, str]]:
    """(port, SPKI hash of its certificate) of an https server on 127.0.0.1 answering every path."""
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install Debian's chromium")
        pytest.skip("chromium not installed (CI installs it)")
    leaf = trustme.CA().issue_cert("site.example")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/{tail:.*}", page)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port.append(runner.addresses[0][1])
        return runner

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(30)
    yield port[0], base64.b64encode(hashlib.sha256(spki).digest()).decode()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def test_live_pages_are_rendered_as_a_visitor_loads_them(live: tuple[int, str]) -> None:
    port, spki = live
    url = f"https://site.example:{port}/docs/"
    # every other name resolves to nothing: the blocked fetch never needed a connection anyway
    run = render_urls(
        [url],
        RenderSettings(timeout=30),
        resolver_rules=f"MAP site.example 127.0.0.1:{port}, MAP * ~NOTFOUND",
        trust_spki=[spki],
    )
    [page] = run.pages
    assert page.error is None and (page.page, page.file) == (url, None)
    assert [(v.url, v.verdict, v.resource_type) for v in page.verdicts] == [
        ("http://api.example/live.json", Verdict.BLOCKED, "Resource")
    ]
    empty = ScanResult(Target("site", (url,), None), (), (), 1, 1, 0)
    [f] = merge_runtime(empty, run.pages, ScanSettings()).findings
    assert (f.code, f.file, f.page, f.offset) == ("MC402", None, url, None)
    assert f.initiator_location is not None and (f.initiator_location.url, f.initiator_location.line) == (
        url,
        2,
    )
