#!/usr/bin/env python3
"""Benchmark: the browser pass (`scan --render`) against loading the same pages one at a time in one tab.

    python scripts/bench_render.py [--pages 20] [--jobs 4] [--timeout 15] [--rounds 2] [--floor]

A site of N realistic 40 KB pages (scripts/bench_scan.py's page maker: figures with lazy images, some
over http, a stylesheet, links) plus an inline loader that builds an http script element, as comment
widgets do. Both sides load the pages through the tool's own loopback https server with every other
host mapped to the sink, in the same Chromium with the same flags, and settle them the same way:

- baseline: one tab, navigated to each page in turn (what a script driving one browser tab does);
- ours: ``render_pages`` with ``--render-jobs`` tabs, each worker in its own browser context.

The two alternate ``--rounds`` times and the best of each is kept (the machine is shared). Printed:
pages/s of each and the ratio (target: >= 4 pages/s on 2 cores), Chromium's CPU seconds a page (its
whole process tree, with the children it reaped) and what that allows on two idle cores, the peak PSS
of Chromium's process tree (sampled every 100 ms) and the tool's peak RSS, and the same for 3N pages:
memory must not grow with the number of pages. With --floor, the same measure for pages that cost
Chromium the least: ``about:blank`` and the same 40 KB pages with every subresource and script taken
out (what loading alone costs). Nothing here leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import re
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
    """CPU seconds (user + system) used so far by a process and its descendants, with the children
    they reaped (a renderer that exited counts in its zygote's)."""
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
        cpu[int(name)] = sum(int(f) for f in fields[11:15]) / tick
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        total += cpu.get(p, 0.0)
        stack.extend(children.get(p, ()))
    return total


class Browser(B.Browser):
    """The run's browser, keeping the CPU seconds of each process it replaced (RESTART_EVERY)."""

    retired = 0.0

    async def restart(self) -> None:
        if self._proc is not None:
            self.retired += tree_cpu(self._proc.pid)
        await super().restart()


async def one_tab(browser: Browser, jobs: list[B.PageToRender]) -> int:
    """The baseline: one tab, navigated to each page in turn, settled as ours settles pages."""
    tab = await browser.open_tab()
    loaded = 0
    for job in jobs:
        loaded += (await browser.render(job, tab)).error is None
    await browser.close_tab(tab)
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
    jobs = [B.PageToRender(f.url, f.url, f.rel, f.path) for _, f in found if not f.stylesheet][:pages]
    rss = TreeRSS()
    try:
        async with Browser(settings, resolver_rules=rules, trust_spki=[cert.spki_sha256]) as browser:
            rss.watch(browser)
            assert browser._proc is not None
            cpu = tree_cpu(browser._proc.pid)
            start = time.perf_counter()
            if baseline:
                ok = await one_tab(browser, jobs)
            else:
                ok = sum(p.error is None for p in await B.render_pages(browser, jobs))
            took = time.perf_counter() - start
            assert browser._proc is not None
            cpu = (tree_cpu(browser._proc.pid) + browser.retired - cpu) / max(1, len(jobs))
            rss.stop()
    finally:
        await server.close()
        await sink.close()
    return took, rss.peak, ok, cpu


def strip_subresources(site: str) -> None:
    """The pages without a subresource or a script: what loading a 40 KB page alone costs."""
    posts = os.path.join(site, "posts")
    for name in os.listdir(posts):
        with open(os.path.join(posts, name), encoding="utf-8") as f:
            html = f.read()
        html = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
        html = re.sub(r"<(img|source|link)\b[^>]*>", "", html)
        html = re.sub(r"url\([^)]*\)", "none", html)
        with open(os.path.join(posts, name), "w", encoding="utf-8") as f:
            f.write(html)


async def blank(pages: int, settings: B.RenderSettings) -> tuple[float, int, float]:
    """(seconds, pages loaded, Chromium CPU seconds a page) for ``about:blank`` pages."""
    jobs = [B.PageToRender("about:blank", "about:blank")] * pages
    async with Browser(settings) as browser:
        assert browser._proc is not None
        cpu = tree_cpu(browser._proc.pid)
        start = time.perf_counter()
        ok = sum(p.error is None for p in await B.render_pages(browser, jobs))
        took = time.perf_counter() - start
        assert browser._proc is not None
        return took, ok, (tree_cpu(browser._proc.pid) + browser.retired - cpu) / pages


def line(label: str, took: float, ok: int, cpu: float, peak: int | None = None) -> str:
    cores = os.cpu_count() or 1
    memory = f", Chromium peak PSS {peak / 2**20:.0f} MiB" if peak is not None else ""
    return (
        f"{label:38s} {ok / took:5.2f} pages/s  ({took:5.1f} s, {ok} loaded; Chromium {cpu:.2f} CPU-s a page: "
        f"{cores / cpu:.1f} pages/s on {cores} idle cores{memory})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=B.DEFAULT_JOBS)
    ap.add_argument("--timeout", type=float, default=B.DEFAULT_TIMEOUT)
    ap.add_argument("--rounds", type=int, default=2, help="alternations of baseline and ours (best kept)")
    ap.add_argument("--floor", action="store_true", help="also about:blank and pages without subresources")
    ap.add_argument("--chromium", help="the browser binary (default: what --render picks, see find_chromium)")
    args = ap.parse_args()
    settings = B.RenderSettings(timeout=args.timeout, jobs=args.jobs, chromium=args.chromium)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as site:
        make_site(site, 3 * args.pages)
        print(
            f"{args.pages} pages of ~40 KB, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
            f"browser {B.find_chromium(settings)}"
        )
        base: list[tuple[float, int, int, float]] = []
        ours: list[tuple[float, int, int, float]] = []
        for _ in range(args.rounds):
            base.append(asyncio.run(run(site, args.pages, settings, baseline=True)))
            ours.append(asyncio.run(run(site, args.pages, settings, baseline=False)))
        b = min(base, key=lambda r: r[0] / max(1, r[2]))
        o = min(ours, key=lambda r: r[0] / max(1, r[2]))
        print(line("baseline (one tab, one page at a time):", b[0], b[2], b[3], b[1]))
        print(line(f"--render ({args.jobs} tabs):", o[0], o[2], o[3], o[1]))
        print(f"ratio: {(o[2] / o[0]) / (b[2] / b[0]):.2f}x   (target: >= 4 pages/s)")
        for n in (args.pages, 3 * args.pages):
            took, peak, ok, _ = asyncio.run(run(site, n, settings, baseline=False))
            tool = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"memory: {n:4d} pages  Chromium peak PSS {peak / 2**20:6.0f} MiB  tool peak RSS "
                f"{tool:5.0f} MiB (cumulative max)  {ok / took:5.2f} pages/s"
            )
        if args.floor:
            took, ok, cpu = asyncio.run(blank(args.pages, settings))
            print(line(f"floor: about:blank ({args.jobs} tabs):", took, ok, cpu))
            strip_subresources(site)
            took, _, ok, cpu = asyncio.run(run(site, args.pages, settings, baseline=False))
            print(line(f"floor: bare 40 KB ({args.jobs} tabs):", took, ok, cpu))


if __name__ == "__main__":
    main()
