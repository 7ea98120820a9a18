#!/usr/bin/env python3
"""Benchmark: the browser pass (`scan --render`) against loading the same pages one at a time in one tab.

    python scripts/bench_render.py [--pages 40] [--jobs 4] [--timeout 15] [--memory]

A site of N realistic 40 KB pages (scripts/bench_scan.py's page maker: figures with lazy images, some
over http, a stylesheet, links) plus an inline loader that builds an http script element, as comment
widgets do. Both sides load the pages through the tool's own loopback https server with every other
host mapped to the sink, in the same Chromium with the same flags, and wait for the same settling
(load event, scroll to the bottom, network quiet):

- baseline: one tab, navigated to each page in turn (what a script driving one browser tab does);
- ours: ``render_site`` with ``--render-jobs`` tabs, each worker in its own browser context.

Prints pages/s for each and the ratio (target: >= 4 pages/s on 2 cores), and the peak RSS of the tool
process and the PSS of Chromium's process tree (sampled every 100 ms). With --memory, also the peak RSS for N
and 3N pages: it should not grow with the number of pages (one tab per worker, closed after each
page; the tool keeps only the verdicts). Nothing here leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import resource
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mixedcontent.sources import browser as B  # noqa: E402 - after the sys.path line above
from mixedcontent.sources.files import collect  # noqa: E402

BASE = "https://example.invalid/"
LOADER = (
    "<script>(function () { var s = document.createElement('script');"
    " s.src = 'http://comments.example/embed.js?page=%d'; document.head.appendChild(s); })();</script>\n"
)


def _bench_scan() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_scan", os.path.join(ROOT, "scripts", "bench_scan.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_site(root: str, pages: int) -> None:
    make_page = _bench_scan().make_page
    os.makedirs(os.path.join(root, "posts"), exist_ok=True)
    os.makedirs(os.path.join(root, "css"), exist_ok=True)
    with open(os.path.join(root, "css", "site.css"), "w") as f:
        f.write("body{font:16px/1.5 serif;margin:0 auto;max-width:48em}.hero{height:10em}\n")
    for i in range(pages):
        html = make_page(random.Random(i), i, 40_000).replace("</body>", LOADER % i + "</body>")
        with open(os.path.join(root, "posts", f"{i}.html"), "w", encoding="utf-8") as f:
            f.write(html)


class TreeRSS:
    """Peak memory (bytes) of a process and its descendants, sampled from /proc: the sum of each
    process's PSS (proportional set size: shared pages split among the processes sharing them; a sum
    of RSS would count Chromium's shared libraries and zygote pages once per process)."""

    def __init__(self) -> None:
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _tree(pid: int) -> int:
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(name))
        total, stack = 0, [pid]
        while stack:
            p = stack.pop()
            try:
                with open(f"/proc/{p}/smaps_rollup") as f:
                    total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
            except (OSError, StopIteration, ValueError):
                pass
            stack.extend(children.get(p, ()))
        return total

    def watch(self, browser: B.Browser) -> None:
        async def sample() -> None:
            while True:
                proc = browser._proc  # the bench reads the process it measures
                if proc is not None and proc.returncode is None:
                    self.peak = max(self.peak, self._tree(proc.pid))
                await asyncio.sleep(0.1)

        self._task = asyncio.create_task(sample())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
        cpu[int(name)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        total += cpu.get(p, 0.0)
        stack.extend(children.get(p, ()))
    return total


async def one_tab(browser: B.Browser, jobs: list[B.PageToRender], settings: B.RenderSettings) -> int:
    """The baseline: one tab, navigated to each page in turn, settled as ours settles pages."""
    assert browser.cdp is not None
    cdp = browser.cdp
    target = (await cdp.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
    session = (await cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
    loaded = 0
    for job in jobs:
        watch = B._PageWatch()  # the same settling rule as ours
        cdp.listen(session, watch.on_event)
        if loaded == 0:
            for method in ("Network.enable", "Audits.enable", "Page.enable", "Log.enable"):
                await cdp.send(method, session_id=session)
        await cdp.send("Page.navigate", {"url": job.loaded}, session_id=session)
        error = await browser._settle(session, watch, time.monotonic() + settings.timeout)
        loaded += error is None
    await cdp.send("Target.closeTarget", {"targetId": target})
    return loaded


async def run(
    site: str, pages: int, settings: B.RenderSettings, baseline: bool
) -> tuple[float, int, int, float]:
    """(seconds, peak PSS of Chromium's tree, pages loaded without error, Chromium CPU seconds a page)."""
    found, _, _ = collect([site], BASE)
    cert = B.RunCertificate.make(["example.invalid"])
    roots = list({id(r): r for r, _ in found}.values())
    server, sink = B.SiteServer(roots, BASE, cert.context), B.Sink(cert.context)
    await server.start()
    await sink.start()
    rules = f"MAP example.invalid 127.0.0.1:{server.port}, MAP * 127.0.0.1:{sink.port}"
    jobs = [B.PageToRender(f.url, f.url, f.rel, f.path) for _, f in found][:pages]
    rss = TreeRSS()
    try:
        async with B.Browser(settings, resolver_rules=rules, trust_spki=[cert.spki_sha256]) as browser:
            rss.watch(browser)
            assert browser._proc is not None
            cpu = tree_cpu(browser._proc.pid)
            start = time.perf_counter()
            if baseline:
                ok = await one_tab(browser, jobs, settings)
            else:
                ok = sum(p.error is None for p in await B.render_pages(browser, jobs))
            took = time.perf_counter() - start
            cpu = (tree_cpu(browser._proc.pid) - cpu) / max(1, len(jobs))
            rss.stop()
    finally:
        await server.close()
        await sink.close()
    return took, rss.peak, ok, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=B.DEFAULT_JOBS)
    ap.add_argument("--timeout", type=float, default=B.DEFAULT_TIMEOUT)
    ap.add_argument("--memory", action="store_true", help="also peak RSS for N and 3N pages")
    args = ap.parse_args()
    settings = B.RenderSettings(timeout=args.timeout, jobs=args.jobs)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as site:
        counts = [args.pages, 3 * args.pages] if args.memory else [args.pages]
        make_site(site, max(counts))
        print(f"{args.pages} pages of ~40 KB, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        base_s, base_rss, base_ok, base_cpu = asyncio.run(run(site, args.pages, settings, baseline=True))
        ours_s, ours_rss, ours_ok, ours_cpu = asyncio.run(run(site, args.pages, settings, baseline=False))
        print(
            f"baseline (one tab, one page at a time): {base_ok / base_s:5.2f} pages/s  ({base_s:.1f} s, "
            f"{base_ok} loaded, Chromium {base_cpu:.2f} CPU-s a page, peak PSS {base_rss / 2**20:.0f} MiB)"
        )
        print(
            f"--render ({args.jobs} tabs):{' ' * 18}{ours_ok / ours_s:5.2f} pages/s  ({ours_s:.1f} s, "
            f"{ours_ok} loaded, Chromium {ours_cpu:.2f} CPU-s a page, peak PSS {ours_rss / 2**20:.0f} MiB)"
        )
        print(f"ratio: {(ours_ok / ours_s) / (base_ok / base_s):.2f}x   (target: >= 4 pages/s)")
        if args.memory:
            for n in counts:
                took, peak, ok, _ = asyncio.run(run(site, n, settings, baseline=False))
                tool = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"memory: {n:4d} pages  Chromium peak PSS {peak / 2**20:6.0f} MiB  tool peak RSS "
                    f"{tool:5.0f} MiB (cumulative max)  {ok / took:5.2f} pages/s"
                )


if __name__ == "__main__":
    main()
