"""The browser pass (``--render``): pages loaded in Debian's headless Chromium over the DevTools
protocol, with the browser's own mixed-content verdicts recorded (docs/rules/index.md, docs/json-report.md).

A directory is served by the tool itself: an https server on a loopback port answers for the
``--base-url`` host with the files under the root, with a certificate made for the run that the
browser is told to trust (by its public key hash), and Chromium's host resolver sends every other host
to a loopback *sink* that records the request and answers 404. The browser judges a request before it
leaves, so nothing leaves the machine during a directory render. The pages of a crawl (``render_urls``)
are loaded from the live site as a visitor's browser loads them, within the crawl's reach: the hosts and
ports the crawl fetched pages from, ``--allow-host`` hosts and ``--resolve`` entries, each at the address
the crawler connects to; every other host goes to the sink (``live_access``, docs/render.md).

Pages settle before their verdicts are read: the load event, a scroll to the bottom one viewport at a
time when a script on the page watches the scroll (native lazy loading is turned off, so lazy images
and iframes need none), then network quiet (``idle`` seconds without a request in flight), all within
``timeout`` seconds a page; ``jobs`` pages load at once, each worker navigating its own tab in its own
browser context. A page that does not reach its load event in time or crashes its tab is an error, and
the run goes on; one that loads but never settles is read as it is at the deadline.

Everything the browser reports is kept as data (``RuntimeVerdict``); ``judge/runtime.py`` merges it
with the static findings.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import mimetypes
import os
import re
import shutil
import signal
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self

from ..errors import UsageError
from ..model import InitiatorLocation
from ..settings import DEFAULT_RENDER_JOBS, DEFAULT_RENDER_TIMEOUT
from .cdp import CDPError, Connection

if TYPE_CHECKING:
    from ..net import NetSettings
    from .files import Root, SiteFile

DEFAULT_TIMEOUT = DEFAULT_RENDER_TIMEOUT  # seconds a page may take to load and settle
DEFAULT_JOBS = DEFAULT_RENDER_JOBS  # tabs loading at once: on 2 cores more tabs only queue for the CPU
DEFAULT_IDLE = 0.25  # seconds without a request in flight that count as network idle
VIEWPORT = (1280, 900)  # CSS pixels; the device scale factor is 2 (srcset picks its 2x candidates)
RESTART_EVERY = 50  # pages one browser process renders before the run replaces it (memory bounded)
MAX_SCROLL_STEPS = 80  # viewports scrolled at most on one page (72,000 CSS pixels)
CHROMIUM_PACKAGE = "chromium"
# Debian's build of Chromium's headless shell (same source and Blink as `chromium`, without the desktop
# browser around it): preferred when installed. The full browser draws a window with tab strip and
# toolbar for every tab and animates them while a page loads (measured: 0.1 CPU-s a second a loading
# tab, browser and GPU processes, against none in the shell); a 40 KB page with twenty subresources
# costs about 0.45 CPU-s in the shell against 0.75 in `chromium`, and 40% less memory. The one
# difference in what loads: the shell fetches no favicon (docs/render.md).
HEADLESS_SHELL = "chromium-headless-shell"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Chromium's flags for a contained, quiet run on this kind of machine (no sandbox: CI runs as root in
# containers; no GPU, no QUIC (the sink speaks TCP), nothing phoning home).
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--mute-audio",
    "--no-default-browser-check",
    # no spare renderer: Chromium keeps one started for the next navigation, and as each worker's tab
    # lives in its own browser context the spare is never the one used (measured: 57 renderer processes
    # started for 24 pages, 12 without; a quarter of Chromium's CPU a page). No WebUI omnibox popups
    # preloaded: each window (one a worker) started two renderer processes for them (chrome://omnibox-popup)
    "--disable-features=MediaRouter,OptimizationHints,Translate,AutofillServerCommunication,"
    "SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup,"
    "PreloadTopChromeWebUI",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--force-device-scale-factor=2",
    # native lazy loading off: `loading=lazy` images and iframes are requested at parse time, as eager
    # ones, with no scroll and no painting of the page below the fold (docs/judging.md)
    "--blink-settings=lazyLoadEnabled=false",
    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
    "--remote-debugging-port=0",
)


class Verdict(StrEnum):
    """The Audits domain's MixedContentResolutionStatus, in the tool's words."""

    UPGRADED = "upgraded"  # MixedContentAutomaticallyUpgraded
    BLOCKED = "blocked"  # MixedContentBlocked
    WARNED = "warned"  # MixedContentWarning: loaded (or, for forms, submitted) over http, with a warning

    @property
    def rank(self) -> int:
        """A request reported twice keeps its strongest verdict (an IPv4-literal image is first
        "warned" (not upgraded), then "blocked"): blocked 3 > upgraded 2 > warned 1."""
        return {"blocked": 3, "upgraded": 2, "warned": 1}[self.value]


_STATUS = {
    "MixedContentAutomaticallyUpgraded": Verdict.UPGRADED,
    "MixedContentBlocked": Verdict.BLOCKED,
    "MixedContentWarning": Verdict.WARNED,
}


@dataclass(frozen=True, slots=True)
class RuntimeVerdict:
    """One mixed-content verdict of the browser on one page (docs/json-report.md).

    ``url`` is the insecure URL as requested; ``resource_type`` the Audits MixedContentResourceType
    (``Image``, ``Script``, ``XMLHttpRequest``, ``Frame``, ``Form``, ``Resource`` for fetch() and
    WebSockets, ...); ``frame_url`` the document that made the request (the page, or a frame in it);
    ``initiator`` the top of the initiator stack (None when the browser names none)."""

    url: str
    verdict: Verdict
    resource_type: str
    frame_url: str
    initiator: InitiatorLocation | None = None
    by_script: bool = False  # the initiator is a script's call stack (not the parser)


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """What one page load showed. ``page`` and ``file`` name the page as the static scan does;
    ``loaded`` is the URL the browser loaded (https); ``requests`` every URL the browser asked for
    while loading it (Network.requestWillBeSent, in order); ``error`` why it did not load or settle."""

    page: str
    file: str | None
    loaded: str
    verdicts: tuple[RuntimeVerdict, ...] = ()
    requests: tuple[str, ...] = ()
    error: str | None = None
    path: str | None = None  # the page's file as it opens from the working directory (the report's ``path``)


@dataclass(frozen=True, slots=True)
class SinkRequest:
    """A request that reached the sink: ``host`` from the Host header (or TLS server name), ``target``
    the request target, ``tls`` whether it came over TLS. ``line`` is None when nothing HTTP arrived."""

    host: str | None
    method: str | None
    target: str | None
    tls: bool


@dataclass(frozen=True, slots=True)
class RenderRun:
    pages: tuple[RenderedPage, ...]
    sink: tuple[SinkRequest, ...] = ()  # what reached the sink (directory renders)
    served: tuple[str, ...] = ()  # request targets the site server answered (directory renders)


@dataclass(frozen=True, slots=True)
class RenderSettings:
    timeout: float = DEFAULT_TIMEOUT
    jobs: int = DEFAULT_JOBS
    idle: float = DEFAULT_IDLE
    chromium: str | None = None  # the browser binary; default: `chromium` on PATH

    def __post_init__(self) -> None:
        if not 0 < self.timeout < float("inf"):
            raise UsageError(f"--render-timeout must be a positive number of seconds, got {self.timeout!r}")
        if self.jobs < 1:
            raise UsageError(f"--render-jobs must be 1 or more, got {self.jobs}")


@dataclass(slots=True)
class Tab:
    """One tab a worker navigates from page to page (``healthy`` until a page hangs or crashes it)."""

    target_id: str
    session: str
    healthy: bool = True


@dataclass(frozen=True, slots=True)
class PageToRender:
    """One page to load."""

    loaded: str  # the URL the browser loads
    page: str  # the page as the static scan names it
    file: str | None = None  # report path
    path: str | None = None  # file on disk (to locate inline initiators)
    shown: str | None = None  # the report's ``path``: as the file opens from the working directory


def find_chromium(settings: RenderSettings) -> str:
    """The browser binary: ``settings.chromium``, else Debian's headless shell, else its ``chromium``
    (HEADLESS_SHELL says why); or a one-line UsageError naming the Debian packages."""
    found = (
        settings.chromium
        or shutil.which(HEADLESS_SHELL)
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not found or not os.access(found, os.X_OK):
        raise UsageError(
            f"--render needs Chromium: install the Debian package {HEADLESS_SHELL} "
            f"(apt-get install {HEADLESS_SHELL}) or {CHROMIUM_PACKAGE}"
        )
    return found


# ---- the run's certificate ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunCertificate:
    """A certificate made for this run (trustme), and the base64 SHA-256 of its public key, which
    Chromium's --ignore-certificate-errors-spki-list trusts (it honours the flag only with a
    --user-data-dir, which every run has)."""

    context: ssl.SSLContext
    spki_sha256: str

    @classmethod
    def make(cls, hosts: Sequence[str]) -> RunCertificate:
        import trustme
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        leaf = trustme.CA().issue_cert(*hosts)
        cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(context)
        return cls(context, base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"))


# ---- the sink: every host but the served one -----------------------------------------------------------

_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_HEAD_LIMIT = 16 * 1024


def _request_head(data: bytes) -> tuple[str | None, str | None, str | None]:
    """(method, target, Host) of an HTTP/1 request head, as far as it arrived."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    method, target = (parts[0], parts[1]) if len(parts) >= 3 else (None, None)
    host = next(
        (line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("host:")), None
    )
    return method, target, host


class Sink:
    """One loopback port for every host the run does not serve: plain HTTP and TLS alike (the first
    byte tells them apart), each request recorded and answered 404, then the connection closed."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self.requests: list[SinkRequest] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await asyncio.wait_for(reader.read(_HEAD_LIMIT), 10)
            if first[:1] == b"\x16":  # a TLS handshake record
                await self._tls(first, reader, writer)
            elif first:
                data = first
                while b"\r\n\r\n" not in data and len(data) < _HEAD_LIMIT:
                    more = await asyncio.wait_for(reader.read(_HEAD_LIMIT), 10)
                    if not more:
                        break
                    data += more
                self.requests.append(SinkRequest(*_host_first(_request_head(data)), tls=False))
                writer.write(_NOT_FOUND)
                await writer.drain()
        except (OSError, TimeoutError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _tls(self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self._context.wrap_bio(incoming, outgoing, server_side=True)
        incoming.write(first)

        async def pump() -> bool:
            if outgoing.pending:
                writer.write(outgoing.read())
                await writer.drain()
            more = await asyncio.wait_for(reader.read(_HEAD_LIMIT), 10)
            if not more:
                return False
            incoming.write(more)
            return True

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if not await pump():
                    self.requests.append(SinkRequest(None, None, None, tls=True))
                    return
        data = b""
        while b"\r\n\r\n" not in data and len(data) < _HEAD_LIMIT:
            try:
                data += tls.read(_HEAD_LIMIT)
            except ssl.SSLWantReadError:
                if not await pump():
                    break
            except ssl.SSLZeroReturnError:
                break
        method, target, host = _request_head(data) if data else (None, None, None)
        self.requests.append(SinkRequest(host, method, target, tls=True))
        tls.write(_NOT_FOUND)
        writer.write(outgoing.read())
        await writer.drain()


def _host_first(head: tuple[str | None, str | None, str | None]) -> tuple[str | None, str | None, str | None]:
    method, target, host = head
    return host, method, target


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# ---- the site server: the --base-url host ---------------------------------------------------------------


class LoopbackServer:
    """An aiohttp server on a loopback port for the browser (https with ``context``, else plain http),
    answering every GET with ``handle``; the directory's server and the archive's replay are two."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self._context = context
        self.port = 0
        self._runner: Any = None

    async def _serve(self, handle: Callable[[Any], Awaitable[Any]]) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class SiteServer(LoopbackServer):
    """Serves the files of the scanned roots over https on a loopback port (GET/HEAD only). A URL
    names a file the way the static scan's stylesheet lookup does (``Root.file_for``)."""

    def __init__(
        self, roots: Sequence[Root], base_url: str, context: ssl.SSLContext, csp_header: str | None = None
    ) -> None:
        super().__init__(context)
        self._roots = list(roots)
        self._scheme = base_url.split(":", 1)[0]
        self._csp = csp_header
        self.served: list[str] = []

    async def start(self) -> None:
        from aiohttp import web

        async def handle(request: web.Request) -> web.StreamResponse:
            self.served.append(request.path_qs)
            url = f"{self._scheme}://{request.host}{request.path_qs}"
            for root in self._roots:
                found = root.file_for(url)
                if found is not None:
                    break
            else:
                return web.Response(status=404)
            path = found[0]
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
            if path.lower().endswith((".html", ".htm", ".shtml")):
                kind = "text/html"
            headers = {"Content-Type": kind, "Cache-Control": "no-store"}
            if self._csp:
                headers["Content-Security-Policy"] = self._csp
            try:
                body = await asyncio.to_thread(_read_file, path)
            except OSError:
                return web.Response(status=404)
            return web.Response(body=body, headers=headers)

        await self._serve(handle)


# ---- the browser -----------------------------------------------------------------------------------------


class Browser:
    """One headless Chromium for the run, its own temporary profile, driven over one DevTools
    connection (``async with Browser(...) as b: await b.render(page)``)."""

    def __init__(
        self, settings: RenderSettings, *, resolver_rules: str | None = None, trust_spki: Sequence[str] = ()
    ) -> None:
        self.settings = settings
        self._binary = find_chromium(settings)
        self._rules = resolver_rules
        self._spki = tuple(trust_spki)
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self.cdp: Connection | None = None

    async def __aenter__(self) -> Self:
        self._profile = tempfile.TemporaryDirectory(
            prefix="mixedcontent-chromium-", ignore_cleanup_errors=True
        )
        args = [self._binary, *_FLAGS, f"--user-data-dir={self._profile.name}"]
        if self._rules:
            args.append(f"--host-resolver-rules={self._rules}")
        if self._spki:
            args.append(f"--ignore-certificate-errors-spki-list={','.join(self._spki)}")
        args.append("about:blank")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as e:
            self._profile.cleanup()
            raise UsageError(f"--render: cannot start {self._binary}: {e.strerror or e}") from None
        try:
            ws_url = await self._endpoint()
            self.cdp = await Connection(ws_url).__aenter__()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        closing = False
        if self.cdp is not None:
            try:
                await asyncio.wait_for(self.cdp.send("Browser.close"), 5)
                closing = True
            except (CDPError, TimeoutError):
                pass
            await self.cdp.close()
        await self._stop(closing)

    async def restart(self) -> None:
        """Replace the browser process with a fresh one (a new profile, the same flags and rules).
        Chromium's memory grows with the pages one process has loaded, whatever is closed or disposed
        (measured: peak PSS 712 / 894 / 1039 MiB at 20 / 60 / 180 pages with `chromium`, with tabs
        replaced or not); render_pages restarts it every RESTART_EVERY pages."""
        await self.__aexit__(None, None, None)
        self.cdp = None
        self._proc = None
        await self.__aenter__()

    async def _endpoint(self) -> str:
        """The browser writes its DevTools port and path to DevToolsActivePort in the profile."""
        assert self._profile is not None and self._proc is not None
        marker = os.path.join(self._profile.name, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.returncode is not None:
                break
            try:
                lines = _read_file(marker).decode("ascii").split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{int(lines[0])}{lines[1]}"
            except (OSError, ValueError):
                pass
            await asyncio.sleep(0.05)
        raise UsageError(f"--render: {self._binary} did not start (no DevTools endpoint within 30 s)")

    async def _stop(self, closing: bool = False) -> None:
        proc = self._proc
        if proc is not None:
            if proc.returncode is None and closing:
                # after Browser.close the browser exits by itself; Debian's launcher is a shell script
                # that waits for it, and a launcher terminated first would leave the browser orphaned
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    pass
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    pass
            # the browser leads its own process group (start_new_session): nothing of it outlives the
            # run (a replaced browser's processes never overlap the next one's, render_pages)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            await proc.wait()
        if self._profile is not None:
            self._profile.cleanup()

    async def context(self) -> str:
        """A new browser context (its own renderer processes, cookies and cache). Each worker renders in
        its own: Chromium would otherwise put same-site tabs in one renderer process, where they share
        one core and a page that hangs stalls the others."""
        assert self.cdp is not None
        return str((await self.cdp.send("Target.createBrowserContext", {}, timeout=10))["browserContextId"])

    async def dispose(self, context: str) -> None:
        assert self.cdp is not None
        try:
            await self.cdp.send("Target.disposeBrowserContext", {"browserContextId": context}, timeout=10)
        except (CDPError, TimeoutError):
            pass

    async def open_tab(self, context: str | None = None) -> Tab:
        """A new tab (in ``context``), attached, with the domains the pass reads enabled."""
        assert self.cdp is not None
        cdp = self.cdp
        create: dict[str, Any] = {"url": "about:blank"}
        if context is not None:
            create["browserContextId"] = context
        target_id = (await cdp.send("Target.createTarget", create, timeout=10))["targetId"]
        tab = Tab(target_id, "")
        try:
            tab.session = (
                await cdp.send("Target.attachToTarget", {"targetId": target_id, "flatten": True}, timeout=10)
            )["sessionId"]
            await asyncio.gather(
                # no response bodies kept for Network.getResponseBody (never asked for; by default up to
                # 100 MB a tab on sites with large resources)
                cdp.send(
                    "Network.enable",
                    {"maxTotalBufferSize": 0, "maxResourceBufferSize": 0},
                    session_id=tab.session,
                    timeout=10,
                ),
                *(
                    cdp.send(method, session_id=tab.session, timeout=10)
                    for method in ("Audits.enable", "Page.enable", "Log.enable")
                ),
                cdp.send(
                    "Page.addScriptToEvaluateOnNewDocument",
                    {"source": _WATCH_SCROLL},
                    session_id=tab.session,
                    timeout=10,
                ),
            )
        except BaseException:
            await self.close_tab(tab)
            raise
        return tab

    async def close_tab(self, tab: Tab) -> None:
        assert self.cdp is not None
        if tab.session:
            self.cdp.listen(tab.session, None)
        if not self.cdp.closed:
            try:
                await self.cdp.send("Target.closeTarget", {"targetId": tab.target_id}, timeout=10)
            except (CDPError, TimeoutError):
                pass

    async def render(self, job: PageToRender, tab: Tab | None = None) -> RenderedPage:
        """Load one page, let it settle, read the verdicts. In ``tab`` when given (a worker navigates its
        tab from page to page: a same-site navigation keeps the renderer process, where a new tab would
        start one), which is then ``tab.healthy`` unless the page hung or crashed it; else in a tab of
        its own, closed afterwards."""
        assert self.cdp is not None
        cdp = self.cdp
        watch = _PageWatch()
        deadline = time.monotonic() + self.settings.timeout
        own = tab is None
        error: str | None = None
        try:
            if tab is None:
                tab = await self.open_tab()
            cdp.listen(tab.session, watch.on_event)
            nav = await cdp.send(
                "Page.navigate", {"url": job.loaded}, session_id=tab.session, timeout=_left(deadline)
            )
            if nav.get("errorText"):
                error = f"could not load {job.loaded}: {nav['errorText']}"
            else:
                error = await self._settle(tab.session, watch, deadline)
        except TimeoutError:
            error = f"did not load within {self.settings.timeout:g} s"
        except CDPError as e:
            error = f"the browser failed: {e}"
        if watch.crashed:
            error = "the tab crashed"
        if tab is not None:
            cdp.listen(tab.session, None)
            # a tab that hung, crashed or failed a navigation is not used again; the worker opens a fresh
            # one (a renderer can die after its navigation answered, as chrome://crash does: used again,
            # its crash was blamed on the next page)
            tab.healthy = error is None and not watch.overran
            if own:
                await self.close_tab(tab)
        return RenderedPage(
            job.page, job.file, job.loaded, watch.verdicts(), tuple(watch.requests), error, job.shown
        )

    async def _settle(self, session: str, watch: _PageWatch, deadline: float) -> str | None:
        """Load event, scroll to the bottom two viewports at a time, network quiet; within ``deadline``."""
        assert self.cdp is not None
        try:
            await asyncio.wait_for(watch.loaded.wait(), _left(deadline))
        except TimeoutError:
            return f"did not load within {self.settings.timeout:g} s"
        if watch.crashed:
            return "the tab crashed"
        # past the load event the page counts as rendered: a scroll or network that does not settle by the
        # deadline leaves the verdicts as they are then (a page that polls forever never goes quiet)
        try:
            await self.cdp.send(
                "Runtime.evaluate",
                {"expression": _SCROLL, "awaitPromise": True},
                session_id=session,
                timeout=_left(deadline),
            )
        except TimeoutError:
            watch.overran = True
            return "the tab crashed" if watch.crashed else None
        while time.monotonic() < deadline and not watch.crashed:
            quiet = watch.quiet_for()
            if quiet >= self.settings.idle:
                break
            await asyncio.sleep(max(0.02, self.settings.idle - quiet))
        return "the tab crashed" if watch.crashed else None


# Scrolling paints the page (at scale factor 2) viewport after viewport: it is done only for pages
# whose scripts can see it. Native lazy loading needs none (lazyLoadEnabled=false in _FLAGS); what is
# left are script loaders, which learn of the scroll from an IntersectionObserver or a scroll listener.
# This script, run in every frame before the page's own, marks a page that sets either up.
_SCROLL_MARK = "__mixedcontentWatchesScroll"
_WATCH_SCROLL = f"""(() => {{
  const mark = () => {{
    for (const w of [window, window.top]) {{
      try {{ Object.defineProperty(w, '{_SCROLL_MARK}', {{value: true, configurable: true}}); }} catch (e) {{}}
    }}
  }};
  const IO = window.IntersectionObserver;
  if (IO) {{
    const observe = IO.prototype.observe;
    IO.prototype.observe = function () {{ mark(); return observe.apply(this, arguments); }};
  }}
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type) {{
    if (type === 'scroll' || type === 'scrollend') mark();
    return add.apply(this, arguments);
  }};
}})();"""

# scroll down to the bottom one viewport per animation frame (an observer with no margin sees every
# element come into view), at most MAX_SCROLL_STEPS steps; -1: nothing on the page watches the scroll.
# Each position is held until its frame has run: observers are computed after the frame's
# requestAnimationFrame callbacks, so a scroll made in one of them would replace the position unseen.
_SCROLL = f"""(async () => {{
  const el = document.scrollingElement || document.documentElement;
  if (!el || !(window.{_SCROLL_MARK} || window.onscroll || document.onscroll)) return -1;
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r)));  // after the frame
  let steps = 0;
  for (let y = innerHeight; y < el.scrollHeight && steps < {MAX_SCROLL_STEPS}; y += innerHeight, steps++) {{
    scrollTo(0, y); await frame();
  }}
  scrollTo(0, el.scrollHeight); await frame();
  return steps;
}})()"""


def _left(deadline: float) -> float:
    return max(0.001, deadline - time.monotonic())


@dataclass(slots=True)
class _Issue:
    url: str
    verdict: Verdict
    resource_type: str
    frame_url: str
    request_id: str | None
    frame_id: str | None


@dataclass(slots=True)
class _PageWatch:
    """The events of one tab, as they arrive."""

    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    crashed: bool = False
    overran: bool = False  # the scroll was still running at the deadline (the renderer may be busy for good)
    requests: list[str] = field(default_factory=list)
    inflight: set[str] = field(default_factory=set)
    last_activity: float = field(default_factory=time.monotonic)
    issues: list[_Issue] = field(default_factory=list)
    initiators: dict[str, tuple[InitiatorLocation, bool]] = field(default_factory=dict)  # by request id
    frames: dict[str, tuple[InitiatorLocation, bool]] = field(default_factory=dict)  # by frame id
    console: list[tuple[str, InitiatorLocation]] = field(default_factory=list)  # security messages

    def quiet_for(self) -> float:
        return 0.0 if self.inflight else time.monotonic() - self.last_activity

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            rid = params.get("requestId", "")
            self.requests.append(params.get("request", {}).get("url", ""))
            self.inflight.add(rid)
            self.last_activity = time.monotonic()
            where = _initiator(params.get("initiator") or {})
            if where is not None and rid not in self.initiators:
                self.initiators[rid] = where
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            self.inflight.discard(params.get("requestId", ""))
            self.last_activity = time.monotonic()
        elif method == "Audits.issueAdded":
            issue = params.get("issue", {})
            if issue.get("code") != "MixedContentIssue":
                return
            d = issue.get("details", {}).get("mixedContentIssueDetails", {})
            verdict = _STATUS.get(d.get("resolutionStatus", ""))
            if verdict is None or not d.get("insecureURL"):
                return
            self.issues.append(
                _Issue(
                    d["insecureURL"],
                    verdict,
                    d.get("resourceType", "Resource"),
                    d.get("mainResourceURL", ""),
                    (d.get("request") or {}).get("requestId"),
                    (d.get("frame") or {}).get("frameId"),
                )
            )
        elif method == "Page.frameAttached":
            top = _stack_top(params.get("stack"))
            if top is not None:
                self.frames[params.get("frameId", "")] = (top, True)
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            top = _stack_top(entry.get("stackTrace"))
            if entry.get("source") == "security" and top is not None:
                self.console.append((entry.get("text", ""), top))
        elif method == "Page.loadEventFired":
            self.loaded.set()
        elif method in ("Inspector.targetCrashed", "Target.targetCrashed"):
            self.crashed = True
            self.loaded.set()

    def verdicts(self) -> tuple[RuntimeVerdict, ...]:
        """One verdict per request (its strongest), requests without an id (forms, WebSockets, frames)
        once per (URL, type, frame); each with the initiator the browser named for it."""
        by_request: dict[str, _Issue] = {}
        others: dict[tuple[str, str, str | None, Verdict], _Issue] = {}
        for issue in self.issues:
            if issue.request_id is not None:
                seen = by_request.get(issue.request_id)
                if seen is None or issue.verdict.rank > seen.verdict.rank:
                    by_request[issue.request_id] = issue
            else:
                others.setdefault((issue.url, issue.resource_type, issue.frame_id, issue.verdict), issue)
        out = []
        for issue in [*by_request.values(), *others.values()]:
            where = None
            if issue.request_id is not None:
                where = self.initiators.get(issue.request_id)
            if where is None and issue.frame_id is not None and issue.resource_type == "Frame":
                where = self.frames.get(issue.frame_id)
            if where is None:  # WebSockets: the console message names the URL and carries the stack
                quoted = f"'{issue.url}'"
                where = next(((loc, True) for text, loc in self.console if quoted in text), None)
            loc, by_script = where if where is not None else (None, False)
            out.append(
                RuntimeVerdict(issue.url, issue.verdict, issue.resource_type, issue.frame_url, loc, by_script)
            )
        return tuple(out)


def _stack_top(stack: dict[str, Any] | None) -> InitiatorLocation | None:
    """The innermost call frame of a (possibly async) stack trace, 1-based."""
    while stack:
        frames = stack.get("callFrames") or []
        for frame in frames:
            if frame.get("url"):
                return InitiatorLocation(
                    frame["url"], int(frame.get("lineNumber", 0)) + 1, int(frame.get("columnNumber", 0)) + 1
                )
        stack = stack.get("parent")
    return None


def _initiator(initiator: dict[str, Any]) -> tuple[InitiatorLocation, bool] | None:
    """Network.Initiator: a script's stack, else the parser position (``url``, ``lineNumber``)."""
    where = _stack_top(initiator.get("stack"))
    if where is not None:
        return where, True
    if initiator.get("url") and "lineNumber" in initiator:
        return InitiatorLocation(
            initiator["url"], int(initiator["lineNumber"]) + 1, int(initiator.get("columnNumber", 0)) + 1
        ), False
    return None


# ---- runs ---------------------------------------------------------------------------------------------


async def render_pages(browser: Browser, jobs: Sequence[PageToRender]) -> list[RenderedPage]:
    """Render every page, ``settings.jobs`` tabs at a time; results in input order. Memory is bounded
    by the number of tabs and RESTART_EVERY, not by the number of pages: the pages go in batches of
    RESTART_EVERY, each in a fresh browser process once the one before has finished every page it had
    (so no page is in flight when the browser is replaced)."""
    out: list[RenderedPage] = []
    for start in range(0, len(jobs), RESTART_EVERY):
        if start:
            try:
                await browser.restart()
            except (UsageError, CDPError, OSError, TimeoutError):
                pass  # no browser: the pages left are error entries ("the browser is gone")
        out.extend(await _render_batch(browser, jobs[start : start + RESTART_EVERY]))
    return out


async def _render_batch(browser: Browser, jobs: Sequence[PageToRender]) -> list[RenderedPage]:
    """Render ``jobs`` in one browser process, each worker navigating its own tab from page to page."""
    results: list[RenderedPage | None] = [None] * len(jobs)
    queue = iter(range(len(jobs)))

    async def worker() -> None:
        context = tab = None
        try:
            for i in queue:
                job = jobs[i]
                if browser.cdp is None or browser.cdp.closed:
                    results[i] = RenderedPage(
                        job.page, job.file, job.loaded, error="the browser is gone", path=job.shown
                    )
                    continue
                try:
                    if context is None:
                        context = await browser.context()
                    if tab is None:
                        tab = await browser.open_tab(context)
                except (CDPError, TimeoutError) as e:
                    results[i] = RenderedPage(
                        job.page, job.file, job.loaded, error=f"the browser failed: {e}", path=job.shown
                    )
                    continue
                results[i] = await browser.render(job, tab)
                if not tab.healthy:  # a hung renderer is left behind with its context
                    await browser.close_tab(tab)
                    await browser.dispose(context)
                    tab = context = None
        finally:
            if browser.cdp is not None and not browser.cdp.closed:
                if tab is not None:
                    await browser.close_tab(tab)
                if context is not None:
                    await browser.dispose(context)

    await asyncio.gather(*(worker() for _ in range(min(browser.settings.jobs, len(jobs)) or 1)))
    return [r for r in results if r is not None]


def _https(url: str) -> str:
    return "https:" + url.split(":", 1)[1] if url.startswith("http:") else url


async def render_site(
    pages: Sequence[tuple[Root, SiteFile]],
    base_url: str,
    settings: RenderSettings,
    *,
    csp_header: str | None = None,
) -> RenderRun:
    """Render the pages of built sites (``(Root, SiteFile)`` pairs from ``sources.files.collect``),
    served by the tool itself at the https form of ``base_url``; every other host goes to the sink."""
    from ada_url import URL

    host = URL(base_url).hostname
    cert = RunCertificate.make([host, "*.invalid", "localhost"])
    roots = list({id(root): root for root, _ in pages}.values())
    server = SiteServer(roots, base_url, cert.context, csp_header)
    sink = Sink(cert.context)
    await server.start()
    await sink.start()
    try:
        # Chromium's host mapping rules: the first MAP that matches wins; "*" also matches IP literals
        # (measured: an http://[2001:db8::1]/ image reached the sink), so nothing resolves outside
        rules = f"MAP {host} 127.0.0.1:{server.port}, MAP * 127.0.0.1:{sink.port}"
        jobs = [PageToRender(_https(f.url), f.url, f.rel, f.path, f.shown or None) for _, f in pages]
        async with Browser(settings, resolver_rules=rules, trust_spki=[cert.spki_sha256]) as browser:
            rendered = await render_pages(browser, jobs)
    finally:
        await server.close()
        await sink.close()
    located = [locate_inline(r, j.path) for r, j in zip(rendered, jobs, strict=True)]
    return RenderRun(tuple(located), tuple(sink.requests), tuple(server.served))


def hostport(host: str, port: int) -> str:
    """HOST:PORT as Chromium's host mapping rules write it (IPv6 in brackets)."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def spki_sha256(der: bytes) -> str:
    """The base64 SHA-256 of a certificate's public key (DER): what --ignore-certificate-errors-spki-list names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class LiveAccess:
    """Where the browser may connect during a live render: ``addresses`` as (host, port, address)
    triples (each HOST:PORT connects to ADDRESS, every other host to the sink), and ``trust_spki`` the
    public keys of server certificates the run trusts besides the system store."""

    addresses: tuple[tuple[str, int, str], ...] = ()
    trust_spki: tuple[str, ...] = ()


async def live_access(urls: Sequence[str], allow_hosts: Sequence[str], net: NetSettings) -> LiveAccess:
    """The reach of a crawl's browser pass, the crawl's own (sources/crawl.py: other hosts are never
    contacted): every ``--resolve`` entry, the host and port of each page, and the ``--allow-host`` hosts
    on port 443, each at the address the crawler would connect to (``net.address_of``: address safety
    applies). With ``--cacert`` or ``--insecure`` the certificate each https page's host presents is
    checked as the crawler checks it (one handshake) and its public key trusted by the browser."""
    from ada_url import URL

    from ..net import address_of, peer_certificate

    pairs: dict[tuple[str, int], bool] = {}  # (host, port) -> an https origin
    for u in urls:
        parsed = URL(u)
        if parsed.protocol in ("http:", "https:"):
            default = 443 if parsed.protocol == "https:" else 80
            key = (parsed.hostname.strip("[]"), int(parsed.port) if parsed.port else default)
            pairs[key] = pairs.get(key, False) or parsed.protocol == "https:"
    for h in allow_hosts:
        pairs.setdefault((h.strip("[]"), 443), True)
    for h, p, _ in net.resolve:
        pairs.setdefault((h, p), p == 443)  # a pin on 443 is taken for an https origin
    keys = list(pairs)
    found = await asyncio.gather(*(address_of(net, h, p) for h, p in keys))
    addresses = tuple((h, p, a) for (h, p), a in zip(keys, found, strict=True) if a is not None)
    trust: list[str] = []
    if net.cacert is not None or net.insecure:
        tls = [(h, p, a) for h, p, a in addresses if pairs[(h, p)]]
        certs = await asyncio.gather(*(peer_certificate(net, h, p, a) for h, p, a in tls))
        trust = list(dict.fromkeys(spki_sha256(der) for der in certs if der is not None))
    return LiveAccess(addresses, tuple(trust))


async def render_live(
    urls: Sequence[str],
    settings: RenderSettings,
    access: LiveAccess = LiveAccess(),
) -> RenderRun:
    """Render live pages as a visitor's browser would, within ``access``: each of its HOST:PORT pairs
    connects to its address, every other host (IP literals and Chromium's own services included) to the
    loopback sink, which records the request and answers 404. A request's mixed-content verdict is made
    before it leaves the browser, so the verdicts are a visitor's; a third-party https script outside
    the reach does not run (``--allow-host`` lets it)."""
    cert = RunCertificate.make(["*.invalid", "localhost"])
    sink = Sink(cert.context)
    await sink.start()
    try:
        # the first MAP that matches wins: a pair's own rule, else the sink
        rules = ", ".join(
            [*(f"MAP {hostport(h, p)} {hostport(a, p)}" for h, p, a in access.addresses),
             f"MAP * 127.0.0.1:{sink.port}"]
        )
        jobs = [PageToRender(u, u) for u in urls]
        trust = [*access.trust_spki, cert.spki_sha256]
        async with Browser(settings, resolver_rules=rules, trust_spki=trust) as browser:
            rendered = await render_pages(browser, jobs)
    finally:
        await sink.close()
    return RenderRun(tuple(rendered), tuple(sink.requests))


def render_paths(
    files: Sequence[tuple[Root, SiteFile]],
    base_url: str,
    settings: RenderSettings,
    *,
    csp_header: str | None = None,
) -> RenderRun:
    """Render the pages among ``files``, the files ``sources.files.collect`` found for the run (the
    same the static pass judged: one way to collect files, with its include rules, root and symlink
    safety); stylesheets given on their own are served, not loaded as pages."""
    find_chromium(settings)
    pages = [(r, f) for r, f in files if not f.stylesheet]
    if not pages:
        return RenderRun(())
    return asyncio.run(render_site(pages, base_url, settings, csp_header=csp_header))


def render_urls(
    urls: Sequence[str],
    settings: RenderSettings,
    net: NetSettings | None = None,
    *,
    allow_hosts: Sequence[str] = (),
) -> RenderRun:
    """Render the pages of a crawl (their final URLs) within the crawl's reach (``live_access``)."""
    from ..net import NetSettings

    find_chromium(settings)

    async def run() -> RenderRun:
        access = await live_access(urls, allow_hosts, net or NetSettings())
        return await render_live(urls, settings, access)

    return asyncio.run(run())


# ---- inline initiators -----------------------------------------------------------------------------


def locate_inline(rendered: RenderedPage, path: str | None) -> RenderedPage:
    """Give each initiator inside the page's own file (an inline script, or the parser) its byte
    offset in the file as stored (docs/json-report.md), decoding the file as the static scan does."""
    if path is None or not any(
        v.initiator is not None and v.initiator.url == rendered.loaded for v in rendered.verdicts
    ):
        return rendered
    from dataclasses import replace

    from ..extract.source import decode_html

    try:
        with open(path, "rb") as f:
            src = decode_html(f.read())
    except (OSError, ValueError, LookupError):
        return rendered
    text = src.text
    # line starts: LF, CRLF and CR each end a line (HTML's input stream preprocessing)
    starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
    verdicts = []
    for v in rendered.verdicts:
        loc = v.initiator
        if loc is not None and loc.url == rendered.loaded and loc.line <= len(starts):
            index = min(starts[loc.line - 1] + loc.column - 1, len(text))
            loc = replace(loc, offset=src.byte_offset(index))
            v = replace(v, initiator=loc)
        verdicts.append(v)
    return replace(rendered, verdicts=tuple(verdicts))
