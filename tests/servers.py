"""Real loopback test servers: aiohttp apps served on 127.0.0.1 (or ::1), over TLS with certificates
made at test time by trustme, each in its own thread and event loop.

Because the server owns its loop, a test can stay synchronous and call the CLI in-process (which
runs its own ``asyncio.run``). Fake host names reach the server through the tool's ``--resolve``:

    with serve(app, ca=ca, hostnames=["site.example", "cdn.example"]) as srv:
        run("scan", srv.url("site.example", "/"), *srv.resolve("site.example", "cdn.example"),
            "--cacert", srv.ca_file)

Nothing here ever listens on or connects to anything but loopback.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import trustme
from aiohttp import web

LOOPBACK_V4 = "127.0.0.1"
LOOPBACK_V6 = "::1"


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK_V6, 0))
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Server:
    address: str  # the loopback address it listens on
    port: int
    tls: bool
    ca_file: str | None  # PEM of the CA that signed its certificate (None without TLS)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def url(self, host: str, path: str = "/") -> str:
        """URL of ``path`` on this server under the (fake) host name ``host``."""
        default = 443 if self.tls else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{path}"

    def resolve(self, *hosts: str) -> list[str]:
        """``--resolve`` arguments routing each host name (at this port) to this server."""
        addr = f"[{self.address}]" if ":" in self.address else self.address
        out: list[str] = []
        for h in hosts:
            out += ["--resolve", f"{h}:{self.port}:{addr}"]
        return out


def make_ca() -> trustme.CA:
    return trustme.CA()


def ca_pem_file(ca: trustme.CA, directory: str) -> str:
    path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(path)
    return path


@contextmanager
def serve(app: web.Application, *, ca: trustme.CA | None = None, hostnames: Sequence[str] = ("localhost",),
          tls: bool = True, address: str = LOOPBACK_V4, port: int = 0,
          not_after_expired: bool = False) -> Iterator[Server]:
    """Serve ``app`` on a loopback address in a background thread until the block ends.

    With ``tls`` the certificate is issued by ``ca`` (a new trustme CA when None) for ``hostnames``;
    ``not_after_expired`` issues one that expired yesterday.
    """
    if address not in (LOOPBACK_V4, LOOPBACK_V6) and not address.startswith("127."):
        raise ValueError(f"test servers listen on loopback only, not {address}")
    ssl_ctx: ssl.SSLContext | None = None
    tmp = tempfile.TemporaryDirectory(prefix="mc-srv-")
    ca_file: str | None = None
    if tls:
        ca = ca or make_ca()
        ca_file = ca_pem_file(ca, tmp.name)
        if not_after_expired:
            import datetime

            leaf = ca.issue_cert(*hostnames, not_after=datetime.datetime.now(datetime.timezone.utc)
                                 - datetime.timedelta(days=1))
        else:
            leaf = ca.issue_cert(*hostnames)
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(ssl_ctx)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, address, port, ssl_context=ssl_ctx)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        holder["port"] = sock.getsockname()[1]
        holder["runner"] = runner

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as e:  # reported to the test thread below
            holder["error"] = e
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(holder["runner"].cleanup())  # type: ignore[attr-defined]
        loop.close()

    thread = threading.Thread(target=main, name="test-server", daemon=True)
    thread.start()
    started.wait(10)
    if "error" in holder:
        tmp.cleanup()
        raise holder["error"]  # type: ignore[misc]
    try:
        yield Server(address, int(holder["port"]), tls, ca_file)  # type: ignore[call-overload]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        tmp.cleanup()


@contextmanager
def raw_server(handler: "callable", address: str = LOOPBACK_V4) -> Iterator[int]:  # type: ignore[valid-type]
    """A plain TCP server for misbehaviour aiohttp will not produce (resets, garbage, stalls):
    ``handler(conn)`` runs in a thread per connection. Yields the port."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((address, 0))
    lsock.listen(16)
    lsock.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=_guard, args=(handler, conn), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield lsock.getsockname()[1]
    finally:
        stop.set()
        t.join(5)
        lsock.close()


def _guard(handler: "callable", conn: socket.socket) -> None:  # type: ignore[valid-type]
    try:
        handler(conn)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass
