"""The table of empty URL attributes (test_html.EMPTY_CASES) is what Chromium does.

Each case is a page of its own on a loopback server, with an http <base href> that is unique to it;
one Chromium run loads them all (one iframe each; favicons and manifests are only fetched for a
top-level document, so those cases share one top-level page per value and are told apart by the
request's Sec-Fetch-Dest) and the server records which bases were requested: an empty value resolves to the base URL, so a request for it is a fetch of the empty
value. Chromium's host resolver is told to resolve nothing but loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web
from servers import serve
from test_html import EMPTY_CASES

VALUES = {"empty": "", "space": "  "}
# favicons and manifests: fetched for a top-level document only; their requests' Sec-Fetch-Dest
TOP_LEVEL_ONLY = {i: dest for i, (markup, _, _) in enumerate(EMPTY_CASES)
                  for rel, dest in (("rel=icon", "image"), ("rel=manifest", "manifest")) if rel in markup}


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install Debian's chromium")
        pytest.skip("chromium not installed (CI installs it)")
    return exe


def test_chromium_fetches_an_empty_value_exactly_where_the_table_says(tmp_path: Path) -> None:
    exe = _chromium()
    requested: set[str] = set()
    top_level: set[tuple[str, str]] = set()  # (value kind, Sec-Fetch-Dest) of requests for /top-base-*
    origin: list[str] = []

    def page(case: int, kind: str) -> str:
        markup = EMPTY_CASES[case][0].replace("https://ok.example/", f"{origin[0]}/elsewhere/")
        return (f'<!DOCTYPE html><html><head><base href="{origin[0]}/base-{case}-{kind}/">'
                + markup.format(v=VALUES[kind]) + "</html>")

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        requested.add(path)
        if path.startswith("/top-base-"):
            top_level.add((path.split("/")[1][len("top-base-"):], request.headers.get("Sec-Fetch-Dest", "")))
        if path == "/":
            frames = "".join(f'<iframe src="/page/{i}/{k}"></iframe>' for i in range(len(EMPTY_CASES))
                             for k in VALUES if i not in TOP_LEVEL_ONLY)
            return web.Response(text=f"<!DOCTYPE html><title>t</title>{frames}", content_type="text/html")
        if path.startswith("/top/"):
            kind = path.split("/")[2]
            markup = "".join(EMPTY_CASES[i][0] for i in TOP_LEVEL_ONLY).format(v=VALUES[kind])
            return web.Response(text=f'<!DOCTYPE html><html><head><base href="{origin[0]}/top-base-{kind}/">'
                                     f"{markup}</html>", content_type="text/html")
        if path.startswith("/page/"):
            _, _, case, kind = path.split("/")
            return web.Response(text=page(int(case), kind), content_type="text/html")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    def load(path: str) -> None:
        res = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
             f"{origin[0]}{path}"],
            capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]

    with serve(app, tls=False) as srv:
        origin.append(f"http://127.0.0.1:{srv.port}")
        load("/")
        for k in VALUES:
            load(f"/top/{k}")
    pages = {p for p in requested if p.startswith("/page/")}
    assert len(pages) == 2 * (len(EMPTY_CASES) - len(TOP_LEVEL_ONLY))  # every case was loaded
    seen = {(i, k): (k, TOP_LEVEL_ONLY[i]) in top_level if i in TOP_LEVEL_ONLY
            else any(p.startswith(f"/base-{i}-{k}/") for p in requested)
            for i in range(len(EMPTY_CASES)) for k in VALUES}
    expected = {(i, k): case[1 if k == "empty" else 2] for i, case in enumerate(EMPTY_CASES) for k in VALUES}
    wrong = [(EMPTY_CASES[i][0], k, "fetched" if seen[i, k] else "not fetched")
             for (i, k) in expected if seen[i, k] != expected[i, k]]
    assert wrong == []
