#!/usr/bin/env python3
"""Benchmark: `fix --unsafe` of a generated N-page site against `scan` of the same site, in one run.

    python scripts/bench_fix.py [--pages 2000] [--repeat 3]

Each fix runs on a fresh copy of the site (the copy is not timed); scan and fix runs alternate and the
best of each is kept (the host is noisy). Prints MB/s and pages/s of both and the ratio fix/scan speed
(target >= 0.5), for durable writes (the default: each chunk of temp files made durable with one
syncfs, or an fsync per file where there is no syncfs) and with --no-fsync.
Nothing here touches the network.
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
    from mixedcontent.pipeline import ScanSettings, scan_paths

    start = time.perf_counter()
    result = scan_paths([site], ScanSettings())
    return time.perf_counter() - start, len(result.findings)


def _fix(site: str, durable: bool) -> tuple[float, int]:
    from mixedcontent.fixer import FixOptions, fix_paths
    from mixedcontent.settings import ScanSettings

    start = time.perf_counter()
    result = fix_paths([site], ScanSettings(), FixOptions(unsafe=True, durable=durable))
    return time.perf_counter() - start, len(result.edits)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mc-bench-fix-") as tmp:
        template = os.path.join(tmp, "site")
        total = make_site(template, args.pages)
        mb = total / 1e6
        best = {"scan": float("inf"), "fix": float("inf"), "fix-nofsync": float("inf")}
        counts: dict[str, int] = {}
        for r in range(args.repeat):
            t, n = _scan(template)
            best["scan"], counts["scan"] = min(best["scan"], t), n
            for name, durable in (("fix", True), ("fix-nofsync", False)):
                copy = os.path.join(tmp, f"copy-{name}-{r}")
                shutil.copytree(template, copy)
                os.sync()  # the fresh copy's dirty pages would otherwise be flushed inside the timed run
                t, n = _fix(copy, durable)
                best[name], counts[name] = min(best[name], t), n
                shutil.rmtree(copy)
        print(f"site: {args.pages} pages, {mb:.1f} MB; {counts['scan']} findings, {counts['fix']} edits per fix")
        for name in ("scan", "fix", "fix-nofsync"):
            t = best[name]
            print(f"{name:<12} {t:7.3f} s  {mb / t:7.1f} MB/s  {args.pages / t:8.0f} pages/s")
        print(f"ratio fix/scan speed: {best['scan'] / best['fix']:.2f} (durable), "
              f"{best['scan'] / best['fix-nofsync']:.2f} (--no-fsync); target >= 0.5")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
