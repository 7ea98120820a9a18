"""The browser pass over web archives (``scan x.warc --render``, docs/render.md): the archived pages
replayed to Chromium by the tool itself, as a directory is served.

Two servers on loopback ports answer for every host and port the archive holds captures of, one over
TLS (with the run's certificate, which the browser trusts by its public key) for the https captures,
one in plain http for the http captures; each request is answered with the capture of its URL as it
was served (status, headers, the payload decoded; a captured redirect as that redirect), and with 404
when the archive holds none. Every other host goes to the sink. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Sequence
from typing import Any

from .. import urls
from .browser import (
    Browser,
    LoopbackServer,
    PageToRender,
    RenderedPage,
    RenderRun,
    RenderSettings,
    RunCertificate,
    Sink,
    find_chromium,
    hostport,
    render_pages,
)
from .warc import Archive, read_response

# hop-by-hop and framing headers, and the payload's encoding (read_response decodes it): not replayed
_DROPPED = frozenset(
    ("content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive", "upgrade",
     "trailer", "te", "proxy-connection", "set-cookie", "alt-svc")
)


class ReplayServer(LoopbackServer):
    """Answers each request with the archive's capture of its URL (``scheme`` tells which captures:
    the server's own scheme). GET and HEAD only."""

    def __init__(self, archive: Archive, scheme: str, max_size: int, context: Any = None) -> None:
        super().__init__(context)
        self._archive = archive
        self._scheme = scheme
        self._max_size = max_size
        self.served: list[str] = []

    async def start(self) -> None:
        from aiohttp import web

        async def handle(request: web.Request) -> web.StreamResponse:
            url = urls.resolve(f"{self._scheme}//{request.host}{request.path_qs}", "about:blank")
            self.served.append(url or request.path_qs)
            found = self._archive.locate(url) if url is not None else "not a URL"
            if isinstance(found, str):
                return web.Response(status=404, headers={"Cache-Control": "no-store"})
            if found.redirects:  # the first captured redirect, as it was served; the browser follows it
                hop = found.redirects[0]
                return web.Response(status=hop.status, headers={"Location": hop.location or "/", "Cache-Control": "no-store"})
            resp = await asyncio.to_thread(
                read_response, found.path, found.entry.offset, self._max_size, found.payload,
                found.headers_from_payload,
            )
            if isinstance(resp, str):
                return web.Response(status=404, headers={"Cache-Control": "no-store"})
            headers = [(k, v) for k, v in resp.headers if k.lower() not in _DROPPED]
            out = web.Response(status=resp.status or 200, body=resp.body)
            if not any(k.lower() == "content-type" for k, _ in headers):
                # captured without one (the static pass sniffs such a page as HTML): what a browser would
                # sniff, rather than the server library's application/octet-stream, which downloads
                guess = mimetypes.guess_type(request.path)[0]
                sniffed = "text/html" if resp.body.lstrip()[:1] == b"<" else "application/octet-stream"
                headers.append(("Content-Type", guess or sniffed))
            for k, v in headers:
                out.headers.add(k, v)
            out.headers["Cache-Control"] = "no-store"
            return out

        await self._serve(handle)


def _origins(archive: Archive) -> dict[tuple[str, int], str]:
    """(host, port) -> scheme of every origin the archive holds captures of (the first scheme wins when
    one host and port was captured under both)."""
    from ada_url import URL

    out: dict[tuple[str, int], str] = {}
    for index in archive.indexes:
        for e in index.entries:
            u = URL(e.uri)
            if u.protocol not in ("http:", "https:") or not u.hostname:
                continue
            port = int(u.port) if u.port else (443 if u.protocol == "https:" else 80)
            out.setdefault((u.hostname.strip("[]"), port), u.protocol)
    return out


async def render_replay(archive: Archive, pages: Sequence[str], settings: RenderSettings,
                        max_size: int) -> RenderRun:
    """Load each archived page (its target URI) in Chromium, the archive replayed from loopback."""
    cert = RunCertificate.make(["*.invalid", "localhost"])
    secure = ReplayServer(archive, "https:", max_size, cert.context)
    plain = ReplayServer(archive, "http:", max_size)
    sink = Sink(cert.context)
    for server in (secure, plain, sink):
        await server.start()
    try:
        rules = [
            f"MAP {hostport(h, p)} 127.0.0.1:{secure.port if scheme == 'https:' else plain.port}"
            for (h, p), scheme in _origins(archive).items()
        ]
        rules.append(f"MAP * 127.0.0.1:{sink.port}")
        jobs = [PageToRender(u, u) for u in pages]
        async with Browser(settings, resolver_rules=", ".join(rules), trust_spki=[cert.spki_sha256]) as browser:
            rendered: list[RenderedPage] = await render_pages(browser, jobs)
    finally:
        for server in (secure, plain, sink):
            await server.close()
    return RenderRun(tuple(rendered), tuple(sink.requests), (*secure.served, *plain.served))


def render_archive(archive: Archive, pages: Sequence[str], settings: RenderSettings, max_size: int) -> RenderRun:
    """The pages of web archives (target URIs of page records, each once), replayed from the archive."""
    find_chromium(settings)
    pages = list(dict.fromkeys(pages))
    if not pages:
        return RenderRun(())
    return asyncio.run(render_replay(archive, pages, settings, max_size))


__all__ = ["ReplayServer", "render_archive", "render_replay"]
