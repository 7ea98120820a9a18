"""probe.py and `scan --probe` (SPEC §8, §5 MC301-MC303, §6 https and fix.applicability), against real
loopback servers. Test pages use non-default ports (`http://cdn.example:PORT/…`): the https twin keeps
the port (SPEC §8), so it reaches the TLS test server on that port through --resolve."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import time
from collections import Counter
from importlib import resources

import jsonschema
import pytest
from aiohttp import web
from contract import check_report
from servers import make_ca, raw_server, serve

from mixedcontent.model import ProbeResult
from mixedcontent.net import Net, NetSettings
from mixedcontent.probe import (
    Prober,
    ProbeSettings,
    check_twin,
    content_type_fits,
    destination_class,
    probe_key,
    run_probes,
)

CA = make_ca()
FAST = {"connect_timeout": 2.0, "total_timeout": 5.0, "read_timeout": 5.0, "backoff": 0.05}


def _cdn(counts: Counter[str], extra: dict[str, tuple[int, str]] | None = None) -> web.Application:
    """A CDN whose paths say how it answers; every request is counted as "METHOD /path"."""
    redirects = extra if extra is not None else {}

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        counts[f"{request.method} {path}"] += 1
        if path in redirects:
            status, location = redirects[path]
            return web.Response(status=status, headers={"Location": location})
        if path.startswith("/hop/"):  # /hop/N/x redirects N more times, then serves an image
            n = int(path.split("/")[2])
            if n > 0:
                return web.Response(status=302, headers={"Location": f"/hop/{n - 1}/x"})
            return web.Response(body=b"img", content_type="image/png")
        if path.startswith("/head405/") and request.method == "HEAD":
            return web.Response(status=405)
        if path.startswith("/head501/") and request.method == "HEAD":
            return web.Response(status=501)
        if path.startswith("/head404/") and request.method == "HEAD":
            return web.Response(status=404)
        kind = path.split("/")[1]
        types = {"img": "image/png", "head405": "image/png", "head501": "image/png", "head404": "image/png",
                 "js": "text/javascript; charset=utf-8", "css": "text/css", "html": "text/html",
                 "font": "font/woff2", "video": "video/mp4"}
        if kind in types:
            return web.Response(body=b"data", headers={"Content-Type": types[kind]})
        return web.Response(status=404, text="not found")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _net(srv, *hosts: str, **kw) -> NetSettings:  # type: ignore[no-untyped-def]
    base = dict(FAST)
    base.update(kw)
    return NetSettings(resolve=tuple((h, srv.port, srv.address) for h in hosts), cacert=srv.ca_file,
                       **base)  # type: ignore[arg-type]


async def _check(settings: NetSettings, twin: str, cls: str = "image") -> ProbeResult:
    async with Net(settings) as net:
        return await check_twin(net, twin, cls)


# --- content types and destination classes (SPEC §8, pure) ---------------------------------------

@pytest.mark.parametrize("cls,ctype", [
    ("image", "image/png"), ("image", "image/svg+xml"), ("media", "audio/mpeg"), ("media", "video/mp4"),
    ("media", "application/ogg"), ("media", "application/vnd.apple.mpegurl"), ("media", "application/x-mpegurl"),
    ("media", "application/dash+xml"), ("style", "text/css"), ("script", "text/javascript"),
    ("script", "application/javascript"), ("script", "application/x-javascript"), ("font", "font/woff2"),
    ("font", "application/font-woff"), ("font", "application/x-font-ttf"), ("font", "application/vnd.ms-fontobject"),
    ("font", "application/octet-stream"), ("any", "text/html"), ("any", None)])
def test_content_type_fits_its_destination(cls: str, ctype: str | None) -> None:
    assert content_type_fits(cls, ctype) is True


@pytest.mark.parametrize("cls,ctype", [
    ("image", "text/html"), ("image", None), ("media", "text/plain"), ("style", "text/plain"),
    ("script", "text/html"), ("script", "application/json"), ("font", "text/html"), ("style", None)])
def test_content_type_that_does_not_fit_is_refused(cls: str, ctype: str | None) -> None:
    assert content_type_fits(cls, ctype) is False


@pytest.mark.parametrize("destination,cls", [("image", "image"), ("audio", "media"), ("video", "media"),
                                             ("style", "style"), ("script", "script"), ("font", "font"),
                                             ("iframe", "any"), ("object", "any"), ("track", "any"), ("", "any")])
def test_destination_classes(destination: str, cls: str) -> None:
    assert destination_class(destination) == cls


def test_probe_key_is_the_twin_keeping_a_non_default_port() -> None:
    assert probe_key("http://CDN.example:8080/a.png", "image") == ("https://cdn.example:8080/a.png", "image")


def test_probe_key_maps_port_80_to_the_default_https_port() -> None:
    assert probe_key("http://cdn.example:80/a.css", "style") == ("https://cdn.example/a.css", "style")


# --- one twin --------------------------------------------------------------------------------------

async def test_working_twin_is_available() -> None:
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        twin = srv.url("cdn.example", "/img/a.png")
        p = await _check(_net(srv, "cdn.example"), twin)
    assert p == ProbeResult("available", "ok", 200, twin, "image/png")


async def test_image_url_answering_html_is_a_content_type_mismatch() -> None:
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        twin = srv.url("cdn.example", "/html/a.png")
        p = await _check(_net(srv, "cdn.example"), twin)
    assert p == ProbeResult("unavailable", "content-type-mismatch", 200, twin, "text/html")
    assert counts == Counter({"HEAD /html/a.png": 1, "GET /html/a.png": 1})  # GET asked to confirm


async def test_script_twin_needs_a_javascript_type() -> None:
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        ok = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", "/js/a.js"), "script")
        bad = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", "/css/a.js"), "script")
    assert (ok.status, ok.content_type) == ("available", "text/javascript")
    assert (bad.status, bad.reason) == ("unavailable", "content-type-mismatch")


@pytest.mark.parametrize("refused", ["head405", "head501"])
async def test_head_refused_falls_back_to_get(refused: str) -> None:
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        p = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", f"/{refused}/a.png"))
    assert (p.status, p.reason, p.http_status) == ("available", "ok", 200)
    assert counts == Counter({f"HEAD /{refused}/a.png": 1, f"GET /{refused}/a.png": 1})


async def test_head_404_contradicted_by_get_counts_as_available() -> None:
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        p = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", "/head404/a.png"))
    assert (p.status, p.reason) == ("available", "ok")
    assert counts["GET /head404/a.png"] == 1


async def test_missing_twin_is_http_404() -> None:
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        twin = srv.url("cdn.example", "/nothing/a.png")
        p = await _check(_net(srv, "cdn.example"), twin)
    assert p == ProbeResult("unavailable", "http-404", 404, twin, "text/plain")


async def test_five_redirects_are_followed() -> None:
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        p = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", "/hop/5/x"))
    assert (p.status, p.final_url) == ("available", srv.url("cdn.example", "/hop/0/x"))


async def test_six_redirects_are_too_many() -> None:
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        p = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", "/hop/6/x"))
    assert (p.status, p.reason, p.http_status) == ("unavailable", "too-many-redirects", 302)


async def test_redirect_loop_is_too_many_redirects() -> None:
    redirects = {"/a.png": (302, "/b.png"), "/b.png": (302, "/a.png")}
    with serve(_cdn(Counter(), redirects), ca=CA, hostnames=["cdn.example"]) as srv:
        p = await _check(_net(srv, "cdn.example"), srv.url("cdn.example", "/a.png"))
    assert (p.status, p.reason) == ("unavailable", "too-many-redirects")


async def test_redirect_to_http_fails_without_contacting_http() -> None:
    plain_counts: Counter[str] = Counter()
    redirects: dict[str, tuple[int, str]] = {}
    with serve(_cdn(Counter(), redirects), ca=CA, hostnames=["cdn.example"]) as srv, \
            serve(_cdn(plain_counts), tls=False) as plain:
        target = f"http://cdn.example:{plain.port}/img/a.png"
        redirects["/img/a.png"] = (301, target)
        settings = NetSettings(resolve=(("cdn.example", srv.port, "127.0.0.1"),
                                        ("cdn.example", plain.port, "127.0.0.1")), cacert=srv.ca_file,
                               **FAST)  # type: ignore[arg-type]
        p = await _check(settings, srv.url("cdn.example", "/img/a.png"))
    assert p == ProbeResult("unavailable", "redirect-to-http", 301, target, None)
    assert plain_counts == Counter()


@pytest.mark.parametrize("hostnames,expired,trusted,reason", [
    (["cdn.example"], False, False, "tls-untrusted"),
    (["cdn.example"], True, True, "tls-expired"),
    (["other.example"], False, True, "tls-hostname-mismatch")])
async def test_certificate_problems_make_the_twin_unavailable(hostnames, expired, trusted, reason) -> None:  # type: ignore[no-untyped-def]
    with serve(_cdn(Counter()), ca=CA, hostnames=hostnames, not_after_expired=expired) as srv:
        settings = _net(srv, "cdn.example") if trusted else NetSettings(
            resolve=(("cdn.example", srv.port, "127.0.0.1"),), **FAST)  # type: ignore[arg-type]
        twin = srv.url("cdn.example", "/img/a.png")
        p = await _check(settings, twin)
    assert p == ProbeResult("unavailable", reason, None, twin, None)


async def test_refused_connection_makes_the_twin_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=0, **FAST)  # type: ignore[arg-type]
    p = await _check(settings, f"https://cdn.example:{port}/a.png")
    assert (p.status, p.reason) == ("unavailable", "connect-refused")


async def test_stalled_twin_is_a_timeout() -> None:
    def stall(conn: socket.socket) -> None:
        time.sleep(3)

    with raw_server(stall) as port:
        settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), total_timeout=0.5, connect_timeout=0.5)
        p = await _check(settings, f"https://cdn.example:{port}/a.png")
    assert (p.status, p.reason, p.http_status) == ("timeout", "timeout", None)


async def test_reset_connection_is_an_error() -> None:
    def reset(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with raw_server(reset) as port:
        settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=0, **FAST)  # type: ignore[arg-type]
        p = await _check(settings, f"https://cdn.example:{port}/a.png")
    assert (p.status, p.reason) == ("error", "connection-reset")


# documentation addresses (non-public like private ones, and unroutable): a regression could not reach
# a private network; tests/test_net.py checks which ranges are non-public without any network
@pytest.mark.parametrize("url", ["http://192.0.2.7/latest/meta-data/logo.png", "http://[2001:db8::1]/a.png",
                                 "http://[::ffff:192.0.2.7]/a.png"])
async def test_non_public_addresses_are_skipped_not_contacted(url: str) -> None:
    t0 = time.monotonic()
    async with Net(NetSettings(**FAST)) as net:  # type: ignore[arg-type]
        p = await Prober(net).probe(url, "image")
    assert (p.status, p.reason) == ("skipped", "blocked-address")
    assert time.monotonic() - t0 < 1.0


async def test_each_unique_twin_is_probed_once_per_run() -> None:
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        url = srv.url("cdn.example", "/img/a.png").replace("https:", "http:")
        async with Net(_net(srv, "cdn.example")) as net:
            prober = Prober(net)
            results = await asyncio.gather(*(prober.probe(url, "image") for _ in range(12)))
    assert {r.status for r in results} == {"available"}
    assert counts == Counter({"HEAD /img/a.png": 1})


def test_probe_verifies_certificates_even_under_insecure() -> None:
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        twin = srv.url("cdn.example", "/img/a.png")
        settings = NetSettings(resolve=(("cdn.example", srv.port, "127.0.0.1"),), insecure=True, **FAST)  # type: ignore[arg-type]
        outcome = run_probes([(twin, "image")], ProbeSettings(net=settings))
    assert outcome.results[(twin, "image")].reason == "tls-untrusted"


# --- scan --probe, end to end ---------------------------------------------------------------------

def _site(tmp_path, pages: dict[str, str]):  # type: ignore[no-untyped-def]
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    for name, text in pages.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _scan_json(run, root, srv, *extra: str):  # type: ignore[no-untyped-def]
    r = run("scan", str(root), "--probe", *srv.resolve("cdn.example"), "--cacert", srv.ca_file,
            "--format", "json", "--timeout", "5", *extra)
    assert r.code in (0, 1), r.err
    return r, json.loads(r.out)


def _by_raw(report, raw: str):  # type: ignore[no-untyped-def]
    return next(f for f in report["findings"] if f["raw"] == raw)


MIXED = """<!doctype html><title>t</title>
<img src="{cdn}/img/ok.png">
<img src="{cdn}/html/wrong.png">
<script src="{cdn}/js/ok.js"></script>
<script src="{cdn}/missing.js"></script>
<img srcset="{cdn}/nothing/2x.png 2x">
"""
UPGRADED = """<!doctype html><head><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">
<link rel="stylesheet" href="{cdn}/missing.css">
<link rel="stylesheet" href="{cdn}/css/ok.css">
</head><img src="{cdn}/img/ok.png">
"""


@pytest.fixture
def probed(run, tmp_path):  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        cdn = f"http://cdn.example:{srv.port}"
        root = _site(tmp_path, {"mixed.html": MIXED.format(cdn=cdn), "upgraded.html": UPGRADED.format(cdn=cdn)})
        r, report = _scan_json(run, root, srv)
    return cdn, root, r, report, counts


def test_scan_probe_codes_follow_the_twins(probed) -> None:  # type: ignore[no-untyped-def]
    cdn, _, _, report, _ = probed
    codes = [(f["file"], f["code"], f["raw"]) for f in report["findings"]]
    assert codes == [
        ("mixed.html", "MC101", f"{cdn}/img/ok.png"),
        ("mixed.html", "MC301", f"{cdn}/html/wrong.png"),
        ("mixed.html", "MC102", f"{cdn}/js/ok.js"),
        ("mixed.html", "MC302", f"{cdn}/missing.js"),
        ("mixed.html", "MC302", f"{cdn}/nothing/2x.png"),
        ("upgraded.html", "MC303", f"{cdn}/missing.css"),
    ]


def test_scan_probe_fills_the_https_field(probed) -> None:  # type: ignore[no-untyped-def]
    cdn, _, _, report, _ = probed
    twin = cdn.replace("http:", "https:")
    assert _by_raw(report, f"{cdn}/html/wrong.png")["https"] == {
        "status": "unavailable", "reason": "content-type-mismatch", "http_status": 200,
        "final_url": f"{twin}/html/wrong.png", "content_type": "text/html"}
    assert _by_raw(report, f"{cdn}/missing.css")["https"]["reason"] == "http-404"
    assert _by_raw(report, f"{cdn}/img/ok.png")["https"]["status"] == "available"


def test_working_twin_makes_the_fix_safe(probed) -> None:  # type: ignore[no-untyped-def]
    cdn, _, _, report, _ = probed
    for raw in (f"{cdn}/img/ok.png", f"{cdn}/js/ok.js"):
        fix = _by_raw(report, raw)["fix"]
        assert (fix["applicability"], fix["replacement"]) == ("safe", raw.replace("http:", "https:"))


def test_broken_twin_is_never_an_automatic_fix(probed) -> None:  # type: ignore[no-untyped-def]
    _, _, _, report, _ = probed
    for f in report["findings"]:
        if f["code"] in ("MC301", "MC302", "MC303"):
            assert f["fix"]["applicability"] == "display-only"


def test_each_twin_is_requested_once_with_head(probed) -> None:  # type: ignore[no-untyped-def]
    _, _, _, _, counts = probed
    heads = {k: v for k, v in counts.items() if k.startswith("HEAD")}
    # ok.png appears on both pages; the working twin of upgraded.html's css is probed too (no finding)
    assert heads == {"HEAD /img/ok.png": 1, "HEAD /html/wrong.png": 1, "HEAD /js/ok.js": 1, "HEAD /missing.js": 1,
                     "HEAD /nothing/2x.png": 1, "HEAD /missing.css": 1, "HEAD /css/ok.css": 1}


def test_probe_report_validates_against_the_schema(probed) -> None:  # type: ignore[no-untyped-def]
    _, _, _, report, _ = probed
    schema = json.loads(resources.files("mixedcontent.report").joinpath("schema.json").read_text())
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)


def test_probe_report_keeps_the_contract(probed) -> None:  # type: ignore[no-untyped-def]
    _, root, _, report, _ = probed
    checked = check_report(report, root)
    assert (checked.findings, checked.spans) == (6, 6)


def test_probe_progress_goes_to_stderr(probed) -> None:  # type: ignore[no-untyped-def]
    _, _, r, _, _ = probed
    assert r.err == "mixedcontent: probed 7 https twins\n"


def test_text_report_names_the_probe_reason(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        cdn = f"http://cdn.example:{srv.port}"
        root = _site(tmp_path, {"a.html": f'<img src="{cdn}/html/x.png">'})
        r = run("scan", str(root), "--probe", *srv.resolve("cdn.example"), "--cacert", srv.ca_file)
    assert r.code == 1
    assert r.out.splitlines()[0] == (  # the text report names the file by its path from the working directory
        f"{os.path.relpath(root / 'a.html')}:1:11: MC301 <img src> {cdn}/html/x.png is upgraded to https by browsers, but "
        f"{cdn.replace('http:', 'https:')}/html/x.png does not work (content-type-mismatch): "
        f"the upgraded request fails")


def test_without_probe_nothing_is_contacted(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        root = _site(tmp_path, {"a.html": f'<img src="http://cdn.example:{srv.port}/img/a.png">'})
        r = run("scan", str(root), *srv.resolve("cdn.example"), "--cacert", srv.ca_file, "--format", "json")
    report = json.loads(r.out)
    assert [(f["code"], f["https"], f["fix"]["applicability"]) for f in report["findings"]] == [
        ("MC101", None, "unsafe")]
    assert counts == Counter() and r.err == ""


def test_url_referenced_by_many_pages_is_probed_once(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        img = f"http://cdn.example:{srv.port}/img/shared.png"
        root = _site(tmp_path, {f"p{i:02}.html": f'<img src="{img}"><video src="{img}"></video>' for i in range(30)})
        _, report = _scan_json(run, root, srv)
    assert len(report["findings"]) == 60
    assert {f["https"]["status"] for f in report["findings"] if f["destination"] == "image"} == {"available"}
    # the video destination wants audio/video types: its own probe (one per destination class)
    assert {f["code"] for f in report["findings"] if f["destination"] == "video"} == {"MC301"}
    assert counts == Counter({"HEAD /img/shared.png": 2, "GET /img/shared.png": 1})


def test_stylesheet_references_are_probed(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        cdn = f"http://cdn.example:{srv.port}"
        root = _site(tmp_path, {"a.html": '<link rel="stylesheet" href="/s.css">',
                                "s.css": f"body {{ background: url({cdn}/gone.png) }}"})
        _, report = _scan_json(run, root, srv)
    [f] = report["findings"]
    assert (f["file"], f["code"], f["https"]["reason"], f["referrers"]) == ("s.css", "MC301", "http-404", ["a.html"])


def test_ip_literal_twin_is_skipped_and_keeps_its_code(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _site(tmp_path, {"a.html": '<img src="http://192.0.2.10/a.png">'})
    r = run("scan", str(root), "--probe", "--format", "json", "--connect-timeout", "1")
    [f] = json.loads(r.out)["findings"]
    assert (f["code"], f["https"]["status"], f["https"]["reason"], f["fix"]["applicability"]) == (
        "MC104", "skipped", "blocked-address", "unsafe")


def test_select_applies_to_the_probe_codes(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        cdn = f"http://cdn.example:{srv.port}"
        root = _site(tmp_path, {"a.html": f'<img src="{cdn}/img/a.png"><img src="{cdn}/gone.png">'})
        _, report = _scan_json(run, root, srv, "--select", "MC3")
    assert [(f["code"], f["raw"]) for f in report["findings"]] == [("MC301", f"{cdn}/gone.png")]


def test_html_report_shows_the_probe_result(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with serve(_cdn(Counter()), ca=CA, hostnames=["cdn.example"]) as srv:
        root = _site(tmp_path, {"a.html": f'<img src="http://cdn.example:{srv.port}/gone.png">'})
        r = run("scan", str(root), "--probe", *srv.resolve("cdn.example"), "--cacert", srv.ca_file,
                "--format", "html")
    assert "<span class='badge probe-bad'>https unavailable: http-404</span>" in r.out


# --- the on-disk cache -----------------------------------------------------------------------------

def _cache_run(run, root, srv, cache, *extra: str):  # type: ignore[no-untyped-def]
    return run("scan", str(root), "--probe", *srv.resolve("cdn.example"), "--cacert", srv.ca_file,
               "--probe-cache", str(cache), "--format", "json", *extra)


def test_cache_file_is_reused_by_the_next_run(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    cache = tmp_path / "probe-cache.json"
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        root = _site(tmp_path, {"a.html": f'<img src="http://cdn.example:{srv.port}/img/a.png">'})
        first = _cache_run(run, root, srv, cache)
        second = _cache_run(run, root, srv, cache)
    assert counts == Counter({"HEAD /img/a.png": 1})
    assert json.loads(first.out)["findings"] == json.loads(second.out)["findings"]
    assert second.err == "mixedcontent: probed 0 https twins (1 more from --probe-cache)\n"


def test_expired_cache_entries_are_probed_again(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    cache = tmp_path / "probe-cache.json"
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        root = _site(tmp_path, {"a.html": f'<img src="http://cdn.example:{srv.port}/img/a.png">'})
        _cache_run(run, root, srv, cache)
        time.sleep(0.05)
        _cache_run(run, root, srv, cache, "--probe-cache-ttl", "0.01")
    assert counts == Counter({"HEAD /img/a.png": 2})


def test_corrupt_cache_file_is_ignored_with_a_warning(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    cache = tmp_path / "probe-cache.json"
    cache.write_text('{"version": 1, "entries": [{"url": ')
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        root = _site(tmp_path, {"a.html": f'<img src="http://cdn.example:{srv.port}/img/a.png">'})
        r = _cache_run(run, root, srv, cache)
    assert r.code == 0
    first, second = r.err.splitlines()
    assert first.startswith(f"mixedcontent: --probe-cache {cache}: ignored, not a readable cache")
    assert second == "mixedcontent: probed 1 https twin"
    assert json.loads(r.out)["findings"][0]["https"]["status"] == "available"
    saved = json.loads(cache.read_text())  # rewritten whole
    assert [(e["url"], e["class"], e["result"]["status"]) for e in saved["entries"]] == [
        (f"https://cdn.example:{srv.port}/img/a.png", "image", "available")]


def test_cache_is_kept_apart_for_different_network_settings(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    counts: Counter[str] = Counter()
    cache = tmp_path / "probe-cache.json"
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        root = _site(tmp_path, {"a.html": f'<img src="http://cdn.example:{srv.port}/img/a.png">'})
        _cache_run(run, root, srv, cache)
        _cache_run(run, root, srv, cache, "--allow-private")  # other settings: the entry does not apply
        _cache_run(run, root, srv, cache, "--allow-private")  # ...but its own entry now does
    assert counts == Counter({"HEAD /img/a.png": 2})
    assert len(json.loads(cache.read_text())["entries"]) == 2


def test_probe_cache_needs_probe(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _site(tmp_path, {"a.html": "<p>x</p>"})
    r = run("scan", str(root), "--probe-cache", str(tmp_path / "c.json"))
    assert r.code == 2 and r.err == "mixedcontent: --probe-cache needs --probe\n"


def test_scan_help_lists_the_probe_and_network_options(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "--help")
    for option in ("--probe", "--probe-cache", "--probe-cache-ttl", "--resolve", "--cacert", "--insecure",
                   "--allow-private", "--timeout", "--connect-timeout", "--concurrency", "--per-host", "--delay",
                   "--retries", "--user-agent"):
        assert option in r.out


# --- "cannot tell": our own resolver or network failed (issue 15 item 4) ------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _entries(cache) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    if not cache.exists():
        return []
    return [(e["url"], e["result"]["status"], e["result"]["reason"]) for e in json.loads(cache.read_text())["entries"]]


def test_unresolvable_name_cannot_tell_and_a_refused_twin_does_not_work(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # cdn.invalid never resolves (RFC 6761; answered without asking DNS) and no other name resolves in
    # this run, so the "no such name" may be the resolver's fault: not cached, not MC301. The closed
    # port is a real answer (refused): MC301, cached.
    port = _closed_port()
    cache = tmp_path / "probe-cache.json"
    root = _site(tmp_path, {"a.html": f'<img src="http://cdn.invalid/a.png"><img src="http://closed.example:{port}/b.png">'})
    r = run("scan", str(root), "--probe", "--resolve", f"closed.example:{port}:127.0.0.1", "--retries", "0",
            "--probe-cache", str(cache), "--format", "json")
    report = json.loads(r.out)
    invalid, closed = report["findings"]
    assert (invalid["code"], invalid["https"], invalid["fix"]["applicability"]) == ("MC101", {
        "status": "skipped", "reason": "dns-failure", "http_status": None, "final_url": "https://cdn.invalid/a.png",
        "content_type": None}, "unsafe")
    assert (closed["code"], closed["https"]["status"], closed["https"]["reason"]) == (
        "MC301", "unavailable", "connect-refused")
    assert _entries(cache) == [(f"https://closed.example:{port}/b.png", "unavailable", "connect-refused")]
    assert r.err.splitlines() == [
        "mixedcontent: 1 of 2 https twins could not be checked (dns-failure ×1): its findings keep their codes",
        "mixedcontent: probed 2 https twins"]


def test_run_where_no_probe_could_tell_says_so_once_and_caches_nothing(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "probe-cache.json"
    root = _site(tmp_path, {f"p{i}.html": '<img src="http://cdn.invalid/a.png"><script src="http://js.invalid/a.js">'
                            '</script>' for i in range(3)})
    first = run("scan", str(root), "--probe", "--probe-cache", str(cache), "--format", "json")
    second = run("scan", str(root), "--probe", "--probe-cache", str(cache), "--format", "json")
    for r in (first, second):
        assert r.code == 1  # MC102 for the script is an error anyway; nothing became MC301/MC302
        assert sorted({f["code"] for f in json.loads(r.out)["findings"]}) == ["MC101", "MC102"]
        assert r.err.splitlines() == [
            ("mixedcontent: no https twin could be checked: every probe failed on this side of the network "
             "(dns-failure ×2); the findings keep their codes and nothing was cached"),
            "mixedcontent: probed 2 https twins"]
    assert _entries(cache) == []


def test_no_such_name_is_believed_once_the_resolver_answers_for_real(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # localhost resolves through the system resolver (/etc/hosts): the resolver answers for real, so
    # cdn.invalid's "no such name" means the twin does not exist -- as in a browser -- and is cached
    cache = tmp_path / "probe-cache.json"
    with serve(_cdn(Counter()), ca=CA, hostnames=["localhost"]) as srv:
        twin = f"https://localhost:{srv.port}/img/a.png"
        settings = NetSettings(allow_private=True, cacert=srv.ca_file, **FAST)  # type: ignore[arg-type]
        outcome = run_probes([(twin, "image"), ("https://cdn.invalid/a.png", "image")],
                             ProbeSettings(net=settings, cache_file=str(cache)))
    assert outcome.results[(twin, "image")].status == "available"
    assert outcome.results[("https://cdn.invalid/a.png", "image")] == ProbeResult(
        "unavailable", "dns-failure", None, "https://cdn.invalid/a.png", None)
    assert (outcome.warnings, outcome.undecided) == ((), 0)
    assert sorted(_entries(cache)) == [("https://cdn.invalid/a.png", "unavailable", "dns-failure"),
                                       (twin, "available", "ok")]


def test_twins_on_a_host_given_up_are_errors_not_cached(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a CDN answering 503 to everything: after 5 failures in a row its other twins are not asked
    counts: Counter[str] = Counter()

    async def busy(request: web.Request) -> web.Response:
        counts[request.method] += 1
        return web.Response(status=503)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", busy)
    cache = tmp_path / "probe-cache.json"
    with serve(app, ca=CA, hostnames=["cdn.example"]) as srv:
        keys = [(srv.url("cdn.example", f"/img/{i}.png"), "image") for i in range(30)]
        outcome = run_probes(keys, ProbeSettings(net=_net(srv, "cdn.example", retries=0, per_host=1),
                                                 cache_file=str(cache)))
    statuses = Counter((p.status, p.reason) for p in outcome.results.values())
    asked = sum(counts.values())
    assert asked <= 6  # 5 failures in a row (HEAD or GET) and at most one in flight (--per-host 1)
    assert statuses[("error", "host-failing")] >= 30 - asked
    assert set(statuses) <= {("error", "host-failing"), ("unavailable", "http-503")}
    assert {e[0] for e in _entries(cache)} == {u for (u, _), p in outcome.results.items() if p.status == "unavailable"}


async def test_our_own_socket_limit_cannot_tell() -> None:
    import resource

    port = _closed_port()
    settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=0, **FAST)  # type: ignore[arg-type]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    async with Net(settings) as net:
        lowest_free = os.dup(0)  # every descriptor below this one is taken: no socket can be made
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
        try:
            p = await check_twin(net, f"https://cdn.example:{port}/a.png", "image")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert (p.status, p.reason) == ("skipped", "local-limit")


def test_twin_host_too_long_for_dns_keeps_the_report(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a 64-octet label used to end the run with "internal error: UnicodeError" and no report
    url = "http://" + "a" * 64 + ".test/x.png"
    root = _site(tmp_path, {"a.html": f'<img src="{url}">'})
    r = run("scan", str(root), "--probe", "--format", "json")
    assert r.code == 0, r.err
    [f] = json.loads(r.out)["findings"]
    assert (f["code"], f["https"]["status"], f["https"]["reason"]) == ("MC101", "skipped", "dns-failure")
