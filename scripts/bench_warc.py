#!/usr/bin/env python3
"""Benchmark: scanning a web archive in one process against a 2-worker Dask LocalCluster, on the
same generated WARC in one run; warcio's read speed against FastWARC's; and a projection of the cost
of 10 million pages from the measured per-record cost.

    python scripts/bench_warc.py [--pages 2000] [--workers 2] [--repeat 2]

The WARC (gzip, one member per record, written with warcio) holds N pages of 20-60 KB made like
scripts/bench_scan.py's, each with its request record, and the stylesheet they all load. Nothing
here touches the network except the Dask cluster on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from bench_scan import make_page  # noqa: E402 - after the sys.path lines above

CSS = b"body{font:16px sans-serif}\n.hero{background:url(http://cdn.example/hero.jpg)}\n" * 50


def make_warc(path: str, pages: int, seed: int = 1) -> int:
    """Write the archive; returns the payload bytes of its pages."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(seed)
    total = 0
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for i in range(pages):
            uri = f"https://bench.example/posts/{i}.html"
            body = make_page(rng, i, rng.randint(20_000, 60_000)).encode()
            total += len(body)
            req = StatusAndHeaders(f"GET /posts/{i}.html HTTP/1.1", [("Host", "bench.example")], is_http_request=True)
            w.write_record(w.create_warc_record(uri, "request", http_headers=req))
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http))
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/css")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://bench.example/css/site.css", "response", payload=io.BytesIO(CSS),
                                            http_headers=http))
    return total


def read_warcio(path: str) -> tuple[float, int]:
    from warcio.archiveiterator import ArchiveIterator

    start = time.perf_counter()
    n = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type == "response":
                record.content_stream().read()
                n += 1
    return time.perf_counter() - start, n


def read_fastwarc(path: str) -> tuple[float, int] | None:
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        return None
    start = time.perf_counter()
    n = 0
    with open(path, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, auto_decode="all"):
            record.reader.read()
            n += 1
    return time.perf_counter() - start, n


def index_only(path: str) -> float:
    from mixedcontent.sources.warc import index_archive

    start = time.perf_counter()
    index_archive(path)
    return time.perf_counter() - start


def client_memory_per_record(path: str) -> float:
    """Bytes the client holds per record for the index (Archive and the page list)."""
    from mixedcontent.sources.warc import Archive, index_archive

    index = index_archive(path)
    tracemalloc.start()
    archive = Archive([index])
    docs = archive.documents([])
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    entries = sys.getsizeof(index.entries) + sum(_deep(e) for e in index.entries)
    return (size + entries) / max(1, len(docs))


def _deep(entry: object) -> int:
    return sys.getsizeof(entry) + sum(sys.getsizeof(getattr(entry, f)) for f in entry.__slots__)  # type: ignore[attr-defined]


def scan_once(path: str, engine: object) -> tuple[float, int]:
    from mixedcontent.scan import scan_archives

    start = time.perf_counter()
    result = scan_archives([path], engine=engine)  # type: ignore[arg-type]
    return time.perf_counter() - start, len(result.findings)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs of each; the best counts")
    args = ap.parse_args()

    from distributed import LocalCluster

    from mixedcontent.engine import EngineSettings

    with tempfile.TemporaryDirectory(prefix="mc-bench-warc-") as tmp:
        path = os.path.join(tmp, "bench.warc.gz")
        t = time.perf_counter()
        payload = make_warc(path, args.pages)
        size = os.path.getsize(path)
        print(f"generated {args.pages} pages in {time.perf_counter() - t:.1f}s: {size / 1e6:.1f} MB as stored, "
              f"{payload / 1e6:.1f} MB of page payloads, cpus: {os.cpu_count()}")
        mb = payload / 1e6

        # readers: every response record with its payload decoded
        t_warcio, n = min(read_warcio(path) for _ in range(args.repeat))
        print(f"warcio   read: {n / t_warcio:8.0f} records/s {mb / t_warcio:7.1f} MB/s")
        fast = read_fastwarc(path)
        if fast is None:
            print("FastWARC read: not installed (pip install fastwarc)")
        else:
            fast = min([fast] + [read_fastwarc(path) for _ in range(args.repeat - 1)])  # type: ignore[misc]
            t_fast, n_fast = fast
            print(f"FastWARC read: {n_fast / t_fast:8.0f} records/s {mb / t_fast:7.1f} MB/s "
                  f"({t_warcio / t_fast:.1f}x warcio)")
        t_index = min(index_only(path) for _ in range(args.repeat))
        print(f"index pass (warcio, headers only): {args.pages / t_index:8.0f} pages/s")

        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=50) as cluster:
            startup = time.perf_counter() - t0
            inline = EngineSettings()
            on_cluster = EngineSettings(scheduler=cluster.scheduler_address)
            t_single = t_cluster = float("inf")
            findings = (0, 0)
            for _ in range(args.repeat):
                t, f1 = scan_once(path, inline)
                t_single = min(t_single, t)
                t, f2 = scan_once(path, on_cluster)
                t_cluster = min(t_cluster, t)
                findings = (f1, f2)
        assert findings[0] == findings[1], findings
        print(f"single process:            {args.pages / t_single:8.0f} records/s {mb / t_single:7.1f} MB/s "
              f"({findings[0]} findings)")
        print(f"{args.workers}-worker LocalCluster:     {args.pages / t_cluster:8.0f} records/s "
              f"{mb / t_cluster:7.1f} MB/s (cluster start {startup:.1f}s, not included)")
        print(f"ratio (cluster / single): {t_single / t_cluster:.2f}")

        per_record = t_single / args.pages
        per_mb = client_memory_per_record(path)
        n10 = 10_000_000
        cpu_hours = per_record * n10 / 3600
        index_share = t_index / t_single
        print()
        print("projection for 10 million pages of this size (measured here, one core per worker):")
        print(f"  {per_record * 1e3:.2f} ms per page single-process -> {cpu_hours:.1f} CPU-hours in all "
              f"(of which the index pass {index_share:.0%})")
        for workers in (args.workers, 16, 64, 256):
            print(f"  on {workers:>3} workers at the measured efficiency: "
                  f"{cpu_hours / workers / min(1.0, (t_single / t_cluster) / args.workers):6.2f} h")
        print(f"  client memory for the index: ~{per_mb:.0f} bytes per page record -> "
              f"~{per_mb * n10 / 1e9:.1f} GB for 10M (the findings themselves come on top)")
        print("  the index pass is one task per archive file: a single 10M-page file is read serially "
              f"({n10 / (args.pages / t_index) / 3600:.1f} h here), so split crawls into many files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
