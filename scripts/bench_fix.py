#!/usr/bin/env python3
"""Benchmark: `fix --unsafe` of a generated N-page site against `scan` of the same site, in one run.

    python scripts/bench_fix.py [--pages 2000] [--repeat 3]

Each fix runs on a fresh copy of the site (the copy is not timed); scan and fix runs alternate and the
best of each is kept (the host is noisy). Prints MB/s and pages/s of both and the ratio fix/scan speed
(target >= 0.5), for durable writes (the default: each chunk of temp files made durable with one
syncfs, or an fsync per file where there is no syncfs) and with --no-fsync. Also prints the
filesystem's floor: the time to read each page, create a temp file beside it and rename it over the
page, which any atomic rewrite pays whatever its parser (on a VM's disk this varies run to run and
can exceed the whole scan). Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench_scan import make_site  # noqa: E402


def _scan(site: str) -> tuple[float, int]:
    from mixedcontent.scan import ScanSettings
    from mixedcontent.scan import scan_files as scan_paths

    start = time.perf_counter()
    result = scan_paths([site], ScanSettings())
    return time.perf_counter() - start, len(result.findings)


def _fix(site: str, durable: bool) -> tuple[float, int]:
    from mixedcontent.fixer import FixOptions, fix_paths
    from mixedcontent.settings import ScanSettings

    start = time.perf_counter()
    result = fix_paths([site], ScanSettings(), FixOptions(unsafe=True, durable=durable))
    return time.perf_counter() - start, len(result.edits)


def _floor(site: str) -> float:
    """The filesystem's own cost of what fix must do to every page, whatever the tool: create a temp
    file beside it, write the bytes back, rename it over the page (no parsing, no fsync)."""
    pages = [os.path.join(d, f) for d, _, fs in os.walk(site) for f in fs if f.endswith(".html")]
    start = time.perf_counter()
    for i, path in enumerate(pages):
        with open(path, "rb") as f:
            data = f.read()
        tmp = os.path.join(os.path.dirname(path), f".floor-{i}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mc-bench-fix-") as tmp:
        template = os.path.join(tmp, "site")
        total = make_site(template, args.pages)
        mb = total / 1e6
        best = {"scan": float("inf"), "fix": float("inf"), "fix-nofsync": float("inf"), "fs-floor": float("inf")}
        counts: dict[str, int] = {}
        for r in range(args.repeat):
            t, n = _scan(template)
            best["scan"], counts["scan"] = min(best["scan"], t), n
            for name, durable in (("fix", True), ("fix-nofsync", False), ("fs-floor", None)):
                copy = os.path.join(tmp, f"copy-{name}-{r}")
                shutil.copytree(template, copy)
                os.sync()  # the fresh copy's dirty pages would otherwise be flushed inside the timed run
                if durable is None:
                    best[name] = min(best[name], _floor(copy))
                else:
                    t, n = _fix(copy, durable)
                    best[name], counts[name] = min(best[name], t), n
                shutil.rmtree(copy)
                os.sync()
        print(f"site: {args.pages} pages, {mb:.1f} MB; {counts['scan']} findings, {counts['fix']} edits per fix")
        for name in ("scan", "fix", "fix-nofsync", "fs-floor"):
            t = best[name]
            print(f"{name:<12} {t:7.3f} s  {mb / t:7.1f} MB/s  {args.pages / t:8.0f} pages/s")
        print(f"(fs-floor: only reading, creating a temp file beside and renaming over each page, as any "
              f"atomic rewrite must: {1e6 * best['fs-floor'] / args.pages:.0f} us a page on this filesystem)")
        print(f"ratio fix/scan speed: {best['scan'] / best['fix']:.2f} (durable), "
              f"{best['scan'] / best['fix-nofsync']:.2f} (--no-fsync); target >= 0.5")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
