#!/usr/bin/env python3
"""Benchmark: `mixedcontent scan https://site.example/` (the crawler) against fetching the same pages
one at a time with aiohttp, over loopback only.

    python scripts/bench_crawl.py [--pages 1000] [--repeat 3] [--memory] [--delay-ms 5 10] [--per-host N] [-- scan flags]

A generated site of N realistic pages (scripts/bench_scan.py's page maker, 20-60 KB each, linked so
that a breadth-first crawl from /posts/0.html reaches every page) is served over TLS by an aiohttp
server on 127.0.0.1 with a trustme certificate; each response waits a few milliseconds (default 5-10
ms, fixed per page) to model a real server. The server runs in its own process, so its work does not
compete with the crawler for one interpreter lock (it still shares the machine's cores).

Prints our pages/s and peak RSS (the crawl runs in a fresh process; its time is measured around
main(), after imports, and also in all with interpreter start-up), the sequential baseline's pages/s
(same URLs, one at a time, one aiohttp session, bodies read, nothing parsed) and the ratio (target
>= 5). One host serves everything, so by Little's law the crawl has at most ``--per-host`` requests
in flight and the ratio cannot exceed that number: the bench runs with the tool's default (8;
--per-host N to try others). With --memory,
also the crawler's peak RSS for N and 4N pages, each in a fresh process, for the crawl alone and with
every finding kept for the report: the first should not grow with the size of the site. Nothing
here leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from typing import Any

HOST = "site.example"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bench_scan() -> Any:
    spec = importlib.util.spec_from_file_location("bench_scan", os.path.join(ROOT, "scripts", "bench_scan.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_MAKE = _bench_scan().make_page


def make_page(i: int, pages: int) -> bytes:
    """Page ``i`` of a site of ``pages``: bench_scan's realistic page, its post links kept inside the
    site, its other links (sections, tags) pointed off-site, plus links to pages 2i+1 and 2i+2."""
    rng = random.Random(i)
    html = _MAKE(rng, i, rng.randint(20_000, 60_000))
    html = re.sub(r'href="/posts/(\d+)\.html"', lambda m: f'href="/posts/{int(m.group(1)) % pages}.html"', html)
    html = re.sub(r'href="/(section|tags)', r'href="https://elsewhere.example/\1', html)
    children = "".join(f'<a href="/posts/{c}.html">next {c}</a>' for c in (2 * i + 1, 2 * i + 2) if c < pages)
    return html.replace("<main>", f"<nav class=\"tree\">{children}</nav><main>", 1).encode()


_CSS = b"body{font:16px sans-serif}\n.hero{background:url(http://cdn.example/hero.jpg)}\n" * 50


def _serve(pages: int, cert: str, key: str, delay: tuple[float, float], ready: Any) -> None:
    """The site, in its own process: TLS on 127.0.0.1, a fixed per-page delay, 404 elsewhere."""
    from aiohttp import web

    # every page made before the first request: a page made on demand would slow whichever client
    # asks first (the sequential baseline, which runs first, would look slower than it is)
    made = [make_page(i, pages) for i in range(pages)]
    lo, hi = delay

    async def handler(request: web.Request) -> web.StreamResponse:
        m = re.fullmatch(r"/posts/(\d+)\.html", request.path)
        if m is not None and int(m.group(1)) < pages:
            i = int(m.group(1))
            await asyncio.sleep(lo + (hi - lo) * ((i * 7919) % 101) / 100)
            return web.Response(body=made[i], content_type="text/html", charset="utf-8")
        await asyncio.sleep(lo)
        if request.path == "/css/site.css":
            return web.Response(body=_CSS, content_type="text/css")
        return web.Response(status=404, text="not found")

    async def main() -> None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        ready.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


_TIMED = ("import sys, time\nfrom mixedcontent.cli import main\nstart = time.perf_counter()\ncode = main(sys.argv[1:])\n"
          "print(f'crawl-seconds {time.perf_counter() - start}', file=sys.stderr)\nsys.exit(code)\n")


def our_crawl(port: int, ca: str, pages: int, extra: list[str]) -> tuple[float, float, float, int]:
    """(seconds in all, seconds in main() after imports, peak RSS MB, pages scanned) of one crawl in
    a fresh process."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        report = out.name
    cmd = [sys.executable, "-c", _TIMED, "scan", f"https://{HOST}:{port}/posts/0.html",
           "--resolve", f"{HOST}:{port}:127.0.0.1", "--cacert", ca, "--max-pages", str(pages),
           "--format", "json", "--output", report, "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"crawl failed ({code}): {err}")
    inner = float(re.search(r"crawl-seconds (\S+)", err).group(1))  # type: ignore[union-attr]
    with open(report) as f:
        scanned = json.load(f)["summary"]["pages"]
    os.unlink(report)
    return elapsed, inner, usage.ru_maxrss / 1024, scanned


async def _sequential(port: int, ca: str, pages: int) -> float:
    import aiohttp
    from aiohttp.abc import AbstractResolver

    class Loopback(AbstractResolver):
        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
            return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                     "flags": socket.AI_NUMERICHOST}]

        async def close(self) -> None:
            pass

    ctx = ssl.create_default_context(cafile=ca)
    start = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=Loopback(), ssl=ctx)) as session:
        for i in range(pages):
            async with session.get(f"https://{HOST}:{port}/posts/{i}.html") as resp:
                await resp.read()
    return time.perf_counter() - start


def main() -> int:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--delay-ms", type=float, nargs=2, default=(5.0, 10.0), metavar=("LOW", "HIGH"),
                    help="per-response delay range of the server, in milliseconds (default: 5 10)")
    ap.add_argument("--memory", action="store_true", help="also compare the crawler's peak RSS at N and 4N pages")
    ap.add_argument("--per-host", type=int, default=None,
                    help="the crawl's --per-host (default: the tool's, 8; with one host, at most this many "
                         "requests are in flight, so the ratio can never exceed it)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="alternating runs of the baseline and the crawl; the best of each counts (default 3; "
                         "the host is noisy)")
    args = ap.parse_args(argv)
    extra = (["--per-host", str(args.per_host)] if args.per_host is not None else []) + extra
    import trustme

    ca = trustme.CA()
    with tempfile.TemporaryDirectory(prefix="mc-bench-crawl-") as tmp:
        ca_file, cert, key = (os.path.join(tmp, n) for n in ("ca.pem", "cert.pem", "key.pem"))
        ca.cert_pem.write_to_path(ca_file)
        leaf = ca.issue_cert(HOST)
        leaf.cert_chain_pems[0].write_to_path(cert)
        leaf.private_key_pem.write_to_path(key)
        servers = []

        def start(pages: int) -> int:
            parent, child = multiprocessing.Pipe()
            proc = multiprocessing.get_context("fork").Process(
                target=_serve, args=(pages, cert, key, (args.delay_ms[0] / 1000, args.delay_ms[1] / 1000), child),
                daemon=True)
            proc.start()
            servers.append(proc)
            return int(parent.recv())

        try:
            port = start(args.pages)
            asyncio.run(_sequential(port, ca_file, min(args.pages, 20)))  # warm the server's page cache a little
            t_seq = t_all = t_ours = float("inf")
            rss, scanned = 0.0, 0
            for _ in range(max(1, args.repeat)):
                t_seq = min(t_seq, asyncio.run(_sequential(port, ca_file, args.pages)))
                run_all, run_ours, run_rss, scanned = our_crawl(port, ca_file, args.pages, extra)
                t_all, t_ours, rss = min(t_all, run_all), min(t_ours, run_ours), max(rss, run_rss)
            print(f"site: {args.pages} pages over TLS on 127.0.0.1, {args.delay_ms[0]:g}-{args.delay_ms[1]:g} ms "
                  f"per response, cpus: {os.cpu_count()}; scan flags: {' '.join(extra) or '(defaults)'}; "
                  f"best of {max(1, args.repeat)} alternating runs")
            print(f"sequential aiohttp fetch:  {args.pages / t_seq:8.0f} pages/s  ({t_seq:.2f} s)")
            print(f"mixedcontent scan (crawl): {scanned / t_ours:8.0f} pages/s  ({t_ours:.2f} s crawl and report, "
                  f"{t_all:.2f} s with interpreter start-up; {scanned} pages scanned, peak RSS {rss:.0f} MB)")
            print(f"ratio (ours / sequential): {(scanned / t_ours) / (args.pages / t_seq):.1f}  (target >= 5; "
                  f"{(scanned / t_all) / (args.pages / t_seq):.1f} with start-up)")
            if args.memory:
                big = start(4 * args.pages)
                # the report holds every finding, so it grows with them; "--select MC508" (nothing to
                # report on an all-https site) leaves the crawl's own memory
                for label, flags in (("crawl alone (--select MC508)", ["--select", "MC508"]),
                                     ("with every finding kept", [])):
                    _, _, r1, n1 = our_crawl(port, ca_file, args.pages, extra + flags)
                    _, _, r4, n4 = our_crawl(big, ca_file, 4 * args.pages, extra + flags)
                    print(f"peak RSS, {label}: N={n1}: {r1:.0f} MB, 4N={n4}: {r4:.0f} MB, "
                          f"ratio 4N/N: {r4 / r1:.2f} (flat is ~1.0)")
        finally:
            for proc in servers:
                proc.terminate()
                proc.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
