"""net.py, the one I/O seam: --resolve, address safety, TLS verdicts, timeouts, redirects by hand, body
caps (gzip bombs), retries with Retry-After, per-host bounds. Real loopback servers only
(tests/servers.py); fake host names reach them through --resolve entries."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import os
import socket
import struct
import threading
import time
import tracemalloc
from collections import Counter

import pytest
from aiohttp import web
from servers import make_ca, raw_server, serve

from mixedcontent.errors import UsageError
from mixedcontent.net import Net, NetSettings, is_public_address, parse_resolve, retry_after

CA = make_ca()
FAST = {"connect_timeout": 2.0, "total_timeout": 5.0, "read_timeout": 5.0, "backoff": 0.05}


def _settings(srv, *hosts: str, **kw) -> NetSettings:  # type: ignore[no-untyped-def]
    """Route ``hosts`` (at the server's port) to the server, trusting its CA."""
    base = dict(FAST)
    base.update(kw)
    return NetSettings(resolve=tuple((h, srv.port, srv.address) for h in hosts), cacert=srv.ca_file,
                       **base)  # type: ignore[arg-type]


async def _fetch(settings: NetSettings, url: str, **kw):  # type: ignore[no-untyped-def]
    async with Net(settings) as net:
        return await net.fetch(url, **kw)


def _app(counts: Counter[str] | None = None) -> web.Application:
    """A small site: /ok (image/png), /status/N, /dup-headers; every request counted by path."""
    counts = counts if counts is not None else Counter()

    @web.middleware
    async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
        counts[f"{request.method} {request.path}"] += 1
        return await handler(request)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG....", content_type="image/png")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["n"]), text="status")

    async def dup(request: web.Request) -> web.Response:
        r = web.Response(text="x", content_type="text/plain", charset="iso-8859-1")
        r.headers.add("Set-Cookie", "a=1")
        r.headers.add("Set-Cookie", "b=2")
        return r

    app = web.Application(middlewares=[count])
    app.router.add_route("*", "/ok", ok)
    app.router.add_route("*", "/status/{n}", status)
    app.router.add_route("*", "/dup-headers", dup)
    return app


# --- parse_resolve and address safety (pure) ---------------------------------------------------

def test_parse_resolve_reads_host_port_address() -> None:
    assert parse_resolve("CDN.Example:8443:127.0.0.1") == ("cdn.example", 8443, "127.0.0.1")


def test_parse_resolve_takes_bracketed_ipv6() -> None:
    assert parse_resolve("cdn.example:443:[::1]") == ("cdn.example", 443, "::1")


@pytest.mark.parametrize("text", ["cdn.example:443", "cdn.example:0:127.0.0.1", "cdn.example:http:127.0.0.1",
                                  "cdn.example:443:localhost", ":443:127.0.0.1", "cdn.example:70000:127.0.0.1"])
def test_parse_resolve_rejects_malformed_entries(text: str) -> None:
    with pytest.raises(UsageError, match="--resolve"):
        parse_resolve(text)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "::", "fe80::1",
                                     "fc00::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                                     "2002:a00:1::", "64:ff9b::a00:1", "192.0.2.7", "2001:db8::1"])
def test_non_public_addresses_are_unsafe(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14"])
def test_global_addresses_are_safe(address: str) -> None:
    assert is_public_address(address) is True


def test_retry_after_reads_seconds() -> None:
    assert retry_after("7") == 7.0


def test_retry_after_reads_an_http_date() -> None:
    now = 1_700_000_000.0
    assert retry_after(email.utils.formatdate(now + 12, usegmt=True), now=now) == pytest.approx(12.0)


def test_retry_after_ignores_garbage() -> None:
    assert retry_after("soon") is None


# --- resolve, headers --------------------------------------------------------------------------

async def test_resolve_entry_routes_a_fake_host_to_the_server() -> None:
    counts: Counter[str] = Counter()
    with serve(_app(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/ok"))
    assert (r.status, r.error, r.content_type, r.body, r.tls) == (200, None, "image/png", b"\x89PNG....", True)
    assert counts["GET /ok"] == 1


async def test_resolve_entry_to_ipv6_loopback_is_used() -> None:
    with serve(_app(), ca=CA, hostnames=["cdn.example"], address="::1") as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/ok"))
    assert (r.status, r.error) == (200, None)


async def test_head_reads_no_body() -> None:
    with serve(_app(), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/ok"), method="HEAD")
    assert (r.status, r.body) == (200, b"")


async def test_duplicate_headers_are_kept_in_order() -> None:
    with serve(_app(), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/dup-headers"))
    assert r.header_all("set-cookie") == ["a=1", "b=2"]
    assert (r.header("SET-COOKIE"), r.content_type, r.charset) == ("a=1", "text/plain", "iso-8859-1")


async def test_http_error_status_is_a_response_not_an_error() -> None:
    with serve(_app(), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/status/500"))
    assert (r.status, r.error, r.attempts) == (500, None, 1)


# --- address safety ------------------------------------------------------------------------------

def _counting_raw_server():  # type: ignore[no-untyped-def]
    """A raw server that only counts the connections it accepts."""
    seen: list[int] = []

    def handler(conn: socket.socket) -> None:
        seen.append(1)

    return raw_server(handler), seen


# Which ranges are non-public is checked above without any network; the requests below use loopback
# and documentation addresses only, so that even a regression could not send a packet to a private
# network (the project's network rule). The refusal is the same code path for every non-public range.
@pytest.mark.parametrize("host", ["192.0.2.7", "[2001:db8::1]", "[::ffff:192.0.2.7]"])
async def test_non_public_literals_are_blocked(host: str) -> None:
    t0 = time.monotonic()
    r = await _fetch(NetSettings(**FAST), f"https://{host}/latest/meta-data/")  # type: ignore[arg-type]
    assert (r.status, r.error) == (None, "blocked-address")
    assert time.monotonic() - t0 < 1.0  # refused before any connection attempt, not timed out


async def test_loopback_literal_without_resolve_is_blocked_and_never_connected() -> None:
    ctx, seen = _counting_raw_server()
    with ctx as port:
        r = await _fetch(NetSettings(**FAST), f"http://127.0.0.1:{port}/x")  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
    assert r.error == "blocked-address"
    assert seen == []


async def test_name_resolving_to_loopback_is_blocked_and_never_connected() -> None:
    ctx, seen = _counting_raw_server()
    with ctx as port:
        r = await _fetch(NetSettings(**FAST), f"http://localhost:{port}/x")  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
    assert r.error == "blocked-address"
    assert seen == []


async def test_allow_private_permits_a_loopback_literal() -> None:
    with serve(_app(), tls=False) as srv:
        r = await _fetch(NetSettings(allow_private=True, **FAST),  # type: ignore[arg-type]
                         f"http://127.0.0.1:{srv.port}/ok")
    assert (r.status, r.error) == (200, None)


async def test_resolve_permits_only_its_own_host_and_port() -> None:
    with serve(_app(), tls=False) as srv:
        # the entry pins other.example:PORT; 127.0.0.1:PORT itself is still refused
        settings = NetSettings(resolve=(("other.example", srv.port, "127.0.0.1"),), **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, f"http://127.0.0.1:{srv.port}/ok")
    assert r.error == "blocked-address"


# --- TLS -----------------------------------------------------------------------------------------

async def test_certificate_from_an_unknown_ca_is_untrusted() -> None:
    with serve(_app(), ca=CA, hostnames=["cdn.example"]) as srv:
        settings = NetSettings(resolve=(("cdn.example", srv.port, "127.0.0.1"),), **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, srv.url("cdn.example", "/ok"))
    assert (r.status, r.error) == (None, "tls-untrusted")
    # plain words and what to do about it (the reason word is the machine-readable part)
    assert r.detail == ("TLS certificate not trusted for cdn.example (unable to get local issuer certificate; "
                        "use --cacert FILE to trust its CA, or --insecure)")


async def test_expired_certificate_is_named() -> None:
    with serve(_app(), ca=CA, hostnames=["cdn.example"], not_after_expired=True) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/ok"))
    assert (r.status, r.error, r.detail) == (None, "tls-expired", "TLS certificate of cdn.example has expired")


async def test_certificate_for_another_host_is_a_hostname_mismatch() -> None:
    with serve(_app(), ca=CA, hostnames=["other.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/ok"))
    assert (r.status, r.error) == (None, "tls-hostname-mismatch")
    assert r.detail == "TLS certificate is not valid for the name cdn.example (it was issued for other names)"


async def test_insecure_skips_certificate_checks() -> None:
    with serve(_app(), ca=CA, hostnames=["other.example"]) as srv:
        settings = NetSettings(resolve=(("cdn.example", srv.port, "127.0.0.1"),), insecure=True,
                               **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, srv.url("cdn.example", "/ok"))
    assert (r.status, r.error) == (200, None)


async def test_plain_http_server_on_a_tls_url_is_a_tls_error() -> None:
    with serve(_app(), tls=False) as srv:
        settings = NetSettings(resolve=(("cdn.example", srv.port, "127.0.0.1"),), **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, f"https://cdn.example:{srv.port}/ok")
    assert r.error == "tls-error"
    assert r.detail == f"TLS handshake with cdn.example:{srv.port} failed (wrong version number)"


# --- connection failures and timeouts -------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_closed_port_is_connect_refused() -> None:
    port = _free_port()
    settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=0, **FAST)  # type: ignore[arg-type]
    r = await _fetch(settings, f"http://cdn.example:{port}/x")
    assert (r.status, r.error, r.detail) == (None, "connect-refused", f"connection refused by cdn.example:{port}")


def _reset(conn: socket.socket) -> None:
    conn.recv(65536)
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def test_connection_reset_is_named_and_retried() -> None:
    accepted: list[int] = []

    def handler(conn: socket.socket) -> None:
        accepted.append(1)
        _reset(conn)

    with raw_server(handler) as port:
        settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=2, **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, f"http://cdn.example:{port}/x")
    assert (r.status, r.error, r.attempts) == (None, "connection-reset", 3)
    assert r.detail in (f"cdn.example:{port} reset the connection",
                        f"cdn.example:{port} closed the connection before answering")
    # aiohttp itself re-sends an idempotent request once after a reset (RFC 9112 §9.3.1), so each of
    # our three attempts costs two connections
    assert len(accepted) == 6


async def test_stalled_response_times_out() -> None:
    def stall(conn: socket.socket) -> None:
        conn.recv(65536)
        time.sleep(3)

    with raw_server(stall) as port:
        settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), total_timeout=0.5,
                               connect_timeout=0.5, read_timeout=5.0)
        t0 = time.monotonic()
        r = await _fetch(settings, f"http://cdn.example:{port}/x")
        elapsed = time.monotonic() - t0
    assert (r.status, r.error, r.detail) == (None, "timeout",
                                             f"timed out after 0.5 s waiting for cdn.example:{port} to answer")
    assert elapsed < 2.0


async def test_garbage_instead_of_http_is_a_bad_response() -> None:
    def garbage(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    with raw_server(garbage) as port:
        settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=0, **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, f"http://cdn.example:{port}/x")
    assert (r.status, r.error) == (None, "bad-response")
    assert r.detail == f"cdn.example:{port} did not answer in HTTP (bad status line)"


# --- retries ---------------------------------------------------------------------------------------

def _flaky_app(status: int, retry_after_value: str | None, failures: int, counts: Counter[str]) -> web.Application:
    async def flaky(request: web.Request) -> web.Response:
        counts["hits"] += 1
        if counts["hits"] <= failures:
            headers = {"Retry-After": retry_after_value} if retry_after_value is not None else {}
            return web.Response(status=status, text="busy", headers=headers)
        return web.Response(text="fine")

    app = web.Application()
    app.router.add_get("/x", flaky)
    return app


async def test_503_with_retry_after_is_retried_after_the_delay() -> None:
    counts: Counter[str] = Counter()
    with serve(_flaky_app(503, "1", 1, counts), ca=CA, hostnames=["cdn.example"]) as srv:
        t0 = time.monotonic()
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/x"))
        elapsed = time.monotonic() - t0
    assert (r.status, r.error, r.body, r.attempts) == (200, None, b"fine", 2)
    assert counts["hits"] == 2
    assert elapsed >= 0.95


async def test_429_is_retried_with_backoff() -> None:
    counts: Counter[str] = Counter()
    with serve(_flaky_app(429, None, 2, counts), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/x"))
    assert (r.status, r.attempts, counts["hits"]) == (200, 3, 3)


async def test_retry_after_beyond_the_cap_is_a_failure_not_a_wait() -> None:
    # the server asks for an hour; the cap is 60 s by default: no retry, the 503 is the answer
    counts: Counter[str] = Counter()
    with serve(_flaky_app(503, "3600", 1, counts), ca=CA, hostnames=["cdn.example"]) as srv:
        t0 = time.monotonic()
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/x"))
        elapsed = time.monotonic() - t0
    assert (r.status, r.error, r.attempts, counts["hits"]) == (503, None, 1, 1)
    assert elapsed < 5.0


def test_retry_after_cap_is_a_published_default_of_60_seconds() -> None:
    assert NetSettings().retry_after_cap == 60.0


async def test_retry_after_within_the_cap_is_honoured() -> None:
    counts: Counter[str] = Counter()
    with serve(_flaky_app(503, "1", 1, counts), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example", retry_after_cap=1.0), srv.url("cdn.example", "/x"))
    assert (r.status, r.attempts, counts["hits"]) == (200, 2, 2)


async def test_retries_stop_at_the_limit_and_return_the_last_answer() -> None:
    counts: Counter[str] = Counter()
    with serve(_flaky_app(503, "0", 10, counts), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example", retries=1), srv.url("cdn.example", "/x"))
    assert (r.status, r.error, r.attempts, counts["hits"]) == (503, None, 2, 2)


async def test_500_is_not_retried() -> None:
    counts: Counter[str] = Counter()
    with serve(_flaky_app(500, None, 10, counts), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/x"))
    assert (r.status, r.attempts, counts["hits"]) == (500, 1, 1)


# --- redirects -------------------------------------------------------------------------------------

def _redirect_app(routes: dict[str, tuple[int, str]], counts: Counter[str] | None = None) -> web.Application:
    """path -> (status, Location); other paths answer 200."""
    counts = counts if counts is not None else Counter()

    async def handle(request: web.Request) -> web.Response:
        counts[f"{request.method} {request.path}"] += 1
        if request.path in routes:
            status, location = routes[request.path]
            return web.Response(status=status, headers={"Location": location})
        return web.Response(text="end", content_type="text/plain")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def test_redirects_are_followed_and_recorded() -> None:
    routes = {"/a": (301, "/b"), "/b": (302, "https://cdn.example:{port}/c")}
    app_routes: dict[str, tuple[int, str]] = {}
    with serve(_redirect_app(app_routes), ca=CA, hostnames=["cdn.example"]) as srv:
        app_routes.update({k: (s, loc.format(port=srv.port)) for k, (s, loc) in routes.items()})
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/a"))
        start = srv.url("cdn.example", "/a")
    assert (r.status, r.error, r.body) == (200, None, b"end")
    assert r.final_url == start.replace("/a", "/c")
    assert [(h.url, h.status, h.location) for h in r.redirects] == [
        (start, 301, "/b"), (start.replace("/a", "/b"), 302, start.replace("/a", "/c"))]


async def test_redirect_loop_is_detected() -> None:
    with serve(_redirect_app({"/a": (302, "/b"), "/b": (302, "/a")}), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/a"))
    assert (r.status, r.error, len(r.redirects)) == (302, "redirect-loop", 2)


async def test_http_https_ping_pong_is_a_loop() -> None:
    routes_tls: dict[str, tuple[int, str]] = {}
    routes_plain: dict[str, tuple[int, str]] = {}
    with serve(_redirect_app(routes_tls), ca=CA, hostnames=["cdn.example"]) as tls, \
            serve(_redirect_app(routes_plain), tls=False) as plain:
        routes_tls["/x"] = (301, f"http://cdn.example:{plain.port}/x")
        routes_plain["/x"] = (301, f"https://cdn.example:{tls.port}/x")
        settings = NetSettings(resolve=(("cdn.example", tls.port, "127.0.0.1"), ("cdn.example", plain.port, "127.0.0.1")),
                               cacert=tls.ca_file, **FAST)  # type: ignore[arg-type]
        r = await _fetch(settings, f"https://cdn.example:{tls.port}/x")
    assert r.error == "redirect-loop"
    assert [h.url.split(":")[0] for h in r.redirects] == ["https", "http"]


async def test_too_many_redirects_stop_at_the_cap() -> None:
    routes = {f"/r{i}": (307, f"/r{i + 1}") for i in range(20)}
    with serve(_redirect_app(routes), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example", max_redirects=3), srv.url("cdn.example", "/r0"))
    assert (r.status, r.error, len(r.redirects)) == (307, "too-many-redirects", 4)


async def test_redirect_is_not_followed_when_asked() -> None:
    with serve(_redirect_app({"/a": (301, "/b")}), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/a"), follow_redirects=False)
    assert (r.status, r.error, r.header("location"), r.redirects) == (301, None, "/b", ())


async def test_each_redirect_hop_is_checked_for_address_safety() -> None:
    # the hop goes to a loopback literal that no --resolve entry names: refused, never connected
    ctx, seen = _counting_raw_server()
    with ctx as port, serve(_redirect_app({"/a": (302, f"http://127.0.0.1:{port}/latest/meta-data/")}), ca=CA,
                            hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example"), srv.url("cdn.example", "/a"))
        await asyncio.sleep(0.3)
    assert (r.error, r.final_url) == ("blocked-address", f"http://127.0.0.1:{port}/latest/meta-data/")
    assert seen == []


# --- bodies ----------------------------------------------------------------------------------------

_GZIP_MEMBER = gzip.compress(bytes(16 << 20), compresslevel=9)


def _streaming_app(sent: Counter[str]) -> web.Application:
    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        block = b"x" * 65536
        try:
            for _ in range(800):  # 50 MiB
                await resp.write(block)
                sent["big"] += len(block)
        except (ConnectionResetError, RuntimeError):
            pass
        return resp

    async def bomb(request: web.Request) -> web.StreamResponse:
        # 1 GiB of zeros as 64 gzip members of 16 MiB each (RFC 1952 §2.2: a gzip file is a series
        # of members), about 1 MB on the wire
        resp = web.StreamResponse(headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        await resp.prepare(request)
        try:
            for _ in range(64):
                await resp.write(_GZIP_MEMBER)
                sent["bomb"] += len(_GZIP_MEMBER)
        except (ConnectionResetError, RuntimeError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/bomb", bomb)
    return app


async def test_body_over_the_cap_is_never_handed_out_as_whole() -> None:
    # the default every caller gets: over the cap, the response says too-large and carries no body
    sent: Counter[str] = Counter()
    with serve(_streaming_app(sent), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example", max_body=1 << 20), srv.url("cdn.example", "/big"))
    assert (r.status, r.error, r.body) == (200, "too-large", b"")


async def test_body_over_the_cap_stops_at_the_cap_when_the_prefix_is_asked_for() -> None:
    sent: Counter[str] = Counter()
    with serve(_streaming_app(sent), ca=CA, hostnames=["cdn.example"]) as srv:
        r = await _fetch(_settings(srv, "cdn.example", max_body=1 << 20), srv.url("cdn.example", "/big"),
                         partial=True)
    assert (r.status, r.error, len(r.body)) == (200, "too-large", 1 << 20)


def _endless_app() -> web.Application:
    """An endless chunked body of dense mixed content: it ends only when the client hangs up (or,
    so that a test server always stops, after 64 MiB: six times the default cap)."""

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        block = b'<img src="http://a.example/x.png">' * 1000
        try:
            for _ in range((64 << 20) // len(block)):
                if request.transport is None or request.transport.is_closing():
                    break
                await resp.write(block)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/", endless)
    return app


async def test_endless_chunked_body_stops_at_the_cap_and_hands_out_no_body() -> None:
    with serve(_endless_app(), ca=CA, hostnames=["site.example"]) as srv:
        r = await _fetch(_settings(srv, "site.example", max_body=256 << 10), srv.url("site.example", "/"))
    assert (r.status, r.error, r.body) == (200, "too-large", b"")


async def test_gzip_bomb_stops_at_the_decompressed_cap_without_memory_blow_up() -> None:
    sent: Counter[str] = Counter()
    cap = 8 << 20
    with serve(_streaming_app(sent), ca=CA, hostnames=["cdn.example"]) as srv:
        tracemalloc.start()
        try:
            r = await _fetch(_settings(srv, "cdn.example", max_body=cap, total_timeout=30.0),
                             srv.url("cdn.example", "/bomb"), partial=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (r.status, r.error, len(r.body)) == (200, "too-large", cap)
    assert r.body == bytes(cap)
    # the whole body would be 1 GiB; reading stopped near the cap (body + chunk list + buffers)
    assert peak < 5 * cap, peak


# --- politeness ------------------------------------------------------------------------------------

def _slow_app(state: dict[str, float], lock: threading.Lock, starts: list[float]) -> web.Application:
    async def slow(request: web.Request) -> web.Response:
        with lock:
            starts.append(time.monotonic())
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.2)
        with lock:
            state["now"] -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{n}", slow)
    return app


async def test_per_host_bound_limits_requests_in_flight() -> None:
    state = {"now": 0.0, "max": 0.0}
    with serve(_slow_app(state, threading.Lock(), []), ca=CA, hostnames=["cdn.example"]) as srv:
        async with Net(_settings(srv, "cdn.example", per_host=2, concurrency=16)) as net:
            rs = await asyncio.gather(*(net.fetch(srv.url("cdn.example", f"/{i}")) for i in range(6)))
    assert [r.status for r in rs] == [200] * 6
    assert state["max"] == 2


async def test_global_bound_limits_requests_across_hosts() -> None:
    state = {"now": 0.0, "max": 0.0}
    hosts = ["a.example", "b.example", "c.example"]
    with serve(_slow_app(state, threading.Lock(), []), ca=CA, hostnames=hosts) as srv:
        async with Net(_settings(srv, *hosts, per_host=4, concurrency=3)) as net:
            rs = await asyncio.gather(*(net.fetch(srv.url(h, f"/{i}")) for h in hosts for i in range(3)))
    assert [r.status for r in rs] == [200] * 9
    assert state["max"] == 3


async def test_min_interval_spaces_request_starts_to_one_host() -> None:
    starts: list[float] = []
    with serve(_slow_app({"now": 0.0, "max": 0.0}, threading.Lock(), starts), ca=CA,
               hostnames=["cdn.example"]) as srv:
        async with Net(_settings(srv, "cdn.example", min_interval=0.15)) as net:
            began = time.monotonic()
            await asyncio.gather(*(net.fetch(srv.url("cdn.example", f"/{i}")) for i in range(4)))
            elapsed = time.monotonic() - began
    # four request starts 0.15 s apart: the last cannot be sent before 0.45 s, and the server holds each
    # answer 0.2 s. A lower bound, so no load can fail it; unpaced, the four are sent together and the
    # whole takes about 0.2 s
    assert len(starts) == 4
    assert elapsed >= 3 * 0.15 + 0.2


async def test_user_agent_is_sent() -> None:
    seen: list[str] = []

    async def ua(request: web.Request) -> web.Response:
        seen.append(request.headers.get("User-Agent", ""))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ua)
    with serve(app, ca=CA, hostnames=["cdn.example"]) as srv:
        await _fetch(_settings(srv, "cdn.example", user_agent="probe-test/1"), srv.url("cdn.example", "/"))
    assert seen == ["probe-test/1"]


# --- command-line edge -----------------------------------------------------------------------------

def test_bad_resolve_flag_is_a_usage_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text("<p>hi</p>")
    r = run("scan", str(tmp_path), "--resolve", "cdn.example:443")
    assert r.code == 2
    assert r.err.count("\n") == 1 and "--resolve 'cdn.example:443'" in r.err


def test_missing_cacert_file_is_a_usage_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text("<p>hi</p>")
    r = run("scan", str(tmp_path), "--probe", "--cacert", str(tmp_path / "nope.pem"))
    assert r.code == 2
    assert r.err == f"mixedcontent: cacert {tmp_path / 'nope.pem'}: no such file\n"


def test_cacert_that_is_not_pem_is_a_usage_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text("<p>hi</p>")
    (tmp_path / "ca.pem").write_text("not a certificate")
    r = run("scan", str(tmp_path), "--probe", "--cacert", str(tmp_path / "ca.pem"))
    assert r.code == 2
    assert r.err.count("\n") == 1 and r.err.startswith(f"mixedcontent: cacert {tmp_path / 'ca.pem'}: not a readable PEM")


@pytest.mark.parametrize("flag,value", [("--timeout", "0"), ("--connect-timeout", "-1"), ("--concurrency", "0"),
                                        ("--per-host", "0"), ("--retries", "-1"), ("--delay", "-0.5")])
def test_out_of_range_network_numbers_are_usage_errors(run, tmp_path, flag, value) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.html").write_text("<p>hi</p>")
    r = run("scan", str(tmp_path), "--probe", flag, value)
    assert r.code == 2
    # settings name the value by its option name, as the library API's message does
    assert r.err.count("\n") == 1 and r.err.startswith(f"mixedcontent: {flag[2:]} must be ")


# --- every caller gets the cap: the audit's page scan ------------------------------------------------

def test_audit_does_not_scan_a_page_cut_at_the_body_cap() -> None:
    # the audit used to scan the first 10 MB of an endless body (308,404 findings, 977 MB); a body
    # over the cap is an error entry, as in a crawl, and nothing of it is scanned
    from mixedcontent.posture import AuditOptions, run_audit

    closed = _free_port()  # plain http is asked at a closed loopback port: refused at once
    with serve(_endless_app(), ca=CA, hostnames=["site.example"]) as srv:
        settings = NetSettings(resolve=(("site.example", srv.port, "127.0.0.1"), ("site.example", closed, "127.0.0.1")),
                               cacert=srv.ca_file, max_body=256 << 10, retries=0, **FAST)  # type: ignore[arg-type]
        result, _ = run_audit(srv.url("site.example", "/"), AuditOptions(check_www=False, http_port=closed), settings)
    assert [f.code for f in result.findings if f.code.startswith("MC1")] == []
    assert [(e.url, e.message.split(":")[0]) for e in result.errors if "too-large" in e.message] == [
        (srv.url("site.example", "/"), "page not scanned")]
    assert result.pages == 0


# --- the per-host failure budget ---------------------------------------------------------------------

def _failing_app(counts: Counter[str], status: int = 503, headers: dict[str, str] | None = None,
                 ok_every: int = 0) -> web.Application:
    """Answers ``status`` to everything on failing.example (every ``ok_every``-th request 200 when
    set); other host names get 200. Requests counted by host."""

    async def handle(request: web.Request) -> web.Response:
        host = request.host.rsplit(":", 1)[0]
        counts[host] += 1
        if host != "failing.example" or ok_every and counts[host] % ok_every == 0:
            return web.Response(text="fine")
        return web.Response(status=status, text="busy", headers=headers or {})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def test_host_failing_every_request_is_given_up_after_its_budget() -> None:
    counts: Counter[str] = Counter()
    with serve(_failing_app(counts), ca=CA, hostnames=["failing.example"]) as srv:
        async with Net(_settings(srv, "failing.example", per_host=2)) as net:
            rs = await asyncio.gather(*(net.fetch(srv.url("failing.example", f"/{i}")) for i in range(40)))
            given_up = net.given_up()
    refused = [r for r in rs if r.error == "host-failing"]
    # 5 failed attempts in a row (the published default) spend the budget; the requests already in
    # flight finish, every other one ends at once without being sent
    assert counts["failing.example"] <= 5 + 2
    assert len(refused) >= 40 - 7 and all(r.status is None for r in refused)
    assert refused[0].detail == (f"not requested: {srv.url('failing.example', '')} failed 5 times in a row "
                                 f"(last: HTTP 503), so this run stopped asking it")
    assert given_up == {srv.url("failing.example", ""): "HTTP 503"}


def test_host_failure_budget_is_a_published_default_of_5() -> None:
    assert NetSettings().host_failures == 5


async def test_an_answer_resets_the_failure_count() -> None:
    # 503, 503, 503, 200, 503, 503, 503, 200, ...: never 5 failures in a row, never given up
    counts: Counter[str] = Counter()
    with serve(_failing_app(counts, ok_every=4), ca=CA, hostnames=["failing.example"]) as srv:
        async with Net(_settings(srv, "failing.example", retries=0)) as net:
            rs = [await net.fetch(srv.url("failing.example", f"/{i}")) for i in range(16)]
    assert [r.status for r in rs] == [503, 503, 503, 200] * 4
    assert counts["failing.example"] == 16


async def test_other_hosts_are_not_affected_by_a_failing_one() -> None:
    counts: Counter[str] = Counter()
    with serve(_failing_app(counts), ca=CA, hostnames=["failing.example", "fine.example"]) as srv:
        async with Net(_settings(srv, "failing.example", "fine.example", retries=0)) as net:
            bad = [await net.fetch(srv.url("failing.example", f"/{i}")) for i in range(8)]
            good = await net.fetch(srv.url("fine.example", "/x"))
    assert [r.error for r in bad] == [None] * 5 + ["host-failing"] * 3
    assert (good.status, good.error) == (200, None)


async def test_timeouts_spend_the_budget_too() -> None:
    accepted: list[int] = []

    def stall(conn: socket.socket) -> None:
        accepted.append(1)
        conn.recv(65536)
        time.sleep(1.5)

    with raw_server(stall) as port:
        settings = NetSettings(resolve=(("slow.example", port, "127.0.0.1"),), total_timeout=0.3,
                               connect_timeout=0.3, read_timeout=5.0, retries=0, host_failures=3)
        async with Net(settings) as net:
            rs = [await net.fetch(f"http://slow.example:{port}/{i}") for i in range(6)]
    assert [r.error for r in rs] == ["timeout"] * 3 + ["host-failing"] * 3
    assert len(accepted) == 3


async def test_a_retry_wait_ends_when_the_host_is_given_up_meanwhile() -> None:
    # every answer asks for 30 s (within the cap): the first failures spend the budget, and the
    # requests waiting to retry give up then, with the answer they had, instead of waiting
    counts: Counter[str] = Counter()
    with serve(_failing_app(counts, headers={"Retry-After": "30"}), ca=CA, hostnames=["failing.example"]) as srv:
        t0 = time.monotonic()
        async with Net(_settings(srv, "failing.example", per_host=8)) as net:
            rs = await asyncio.gather(*(net.fetch(srv.url("failing.example", f"/{i}")) for i in range(8)))
        elapsed = time.monotonic() - t0
    assert [(r.status, r.attempts) for r in rs] == [(503, 1)] * 8
    assert elapsed < 10.0


# --- whose failure is it: the resolver's answer, or our own side --------------------------------------

async def test_invalid_names_are_answered_here_as_no_such_name() -> None:
    # RFC 6761 §6.4: .invalid names never exist; the answer comes without asking DNS
    async with Net(NetSettings(**FAST)) as net:  # type: ignore[arg-type]
        r = await net.fetch("https://cdn.invalid/a.png")
        resolved = net.resolved
    assert (r.status, r.error, resolved) == (None, "dns-failure", 0)
    assert r.detail == "no address for cdn.invalid (.invalid names never exist, RFC 6761 §6.4)"


async def test_running_out_of_sockets_is_our_own_limit_not_the_host() -> None:
    import resource

    port = _free_port()
    settings = NetSettings(resolve=(("cdn.example", port, "127.0.0.1"),), retries=0, **FAST)  # type: ignore[arg-type]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    async with Net(settings) as net:
        # no descriptor left for a socket (the limit is the lowest free descriptor number, so every
        # one below it is taken): socket() fails with EMFILE and connect() is never reached
        lowest_free = os.dup(0)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
        try:
            r = await net.fetch(f"http://cdn.example:{port}/x")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        given_up = net.given_up()
    assert (r.status, r.error) == (None, "local-limit")
    assert given_up == {}  # our limits never count against the host


async def test_host_with_a_label_too_long_for_dns_is_no_such_name_not_a_crash() -> None:
    # the URL parser takes a 64-octet label; Python's IDNA codec refuses it before any DNS query
    # (it used to escape Net.fetch as a UnicodeError: an internal error for the whole run)
    async with Net(NetSettings(**FAST)) as net:  # type: ignore[arg-type]
        r = await net.fetch("https://" + "a" * 64 + ".test/x.png")
    assert (r.status, r.error) == (None, "dns-failure")
    assert r.detail is not None and "longer than 63 octets" in r.detail
