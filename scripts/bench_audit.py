#!/usr/bin/env python3
"""Benchmark: `mixedcontent audit --hosts FILE` against auditing the same hosts one at a time, over
loopback only.

    python scripts/bench_audit.py [--hosts 200] [--sample 20] [--parallel 16] [--memory 50 100 200]

One real nginx from Debian (tests/realservers.py, two worker processes) serves four TLS postures
(Mozilla intermediate with HTTP/2, TLS 1.0/1.1 enabled, no HTTP/2, an expired certificate), each on
its own loopback port, with certificates made now (trustme); N host names are spread over them and
reach loopback through --resolve only, and a plain-http port redirects each name to its posture.

Prints, each run in a fresh process:
- the fleet: `audit --hosts` over all N hosts (rows and JSON report written): hosts/s and peak RSS;
- one at a time, as the shell loop it replaces: `mixedcontent audit URL` per host, sequentially, on
  --sample hosts spread over the postures (interpreter start-up included, as a loop pays it):
  hosts/s, and the ratio (target >= 10);
- one at a time inside one process (`--hosts` with --parallel 1), to show what concurrency alone buys;
- with --memory: the fleet's peak RSS for each given N (it should not grow with N).
Nothing here leaves loopback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from realservers import TlsSite, issue, make_pki, nginx_tls_sites

POSTURES = ("good", "legacy", "noh2", "expired")


CPU: list[float] = []  # CPU seconds of the last run (the process and its children, nginx not included)


def _run(args: list[str], out: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of ``mixedcontent ARGS`` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mixedcontent", *args], stdout=sink, stderr=subprocess.DEVNULL, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    CPU[:] = [usage.ru_utime + usage.ru_stime]
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"mixedcontent {' '.join(args[:3])}... exited {code}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--sample", type=int, default=20, help="hosts audited one at a time for the baseline")
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument(
        "--workers", type=int, default=0, help="also run the fleet on a local Dask cluster of N workers"
    )
    ap.add_argument(
        "--memory",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also the fleet's peak RSS for each N hosts (e.g. 50 100 200)",
    )
    ap.add_argument(
        "--no-inprocess", action="store_true", help="skip the one-at-a-time run inside one process"
    )
    args = ap.parse_args()
    most = max([args.hosts, *args.memory])
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(d)
        names = {f"h{i:04d}.bench.example": POSTURES[i % len(POSTURES)] for i in range(most)}
        valid = [n for n, p in names.items() if p != "expired"]
        good = issue(pki, "good", *valid, days_left=60)
        expired = issue(pki, "expired", *[n for n, p in names.items() if p == "expired"], days_left=-3)

        def nginx(leaf_cert: str, leaf_key: str, extra: str = "") -> str:
            return (
                f"ssl_certificate {leaf_cert};\nssl_certificate_key {leaf_key};\n"
                "ssl_protocols TLSv1.2 TLSv1.3;\n"
                f'add_header Strict-Transport-Security "max-age=63072000" always;\n{extra}'
            )

        sites = [
            TlsSite("good", nginx(good.cert, good.key), http2=True),
            TlsSite(
                "legacy",
                nginx(good.cert, good.key).replace("TLSv1.2 TLSv1.3", "TLSv1 TLSv1.1 TLSv1.2")
                + "ssl_ciphers DEFAULT:@SECLEVEL=0;",
            ),
            TlsSite("noh2", nginx(good.cert, good.key)),
            TlsSite("expired", nginx(expired.cert, expired.key), http2=True),
        ]
        with nginx_tls_sites(sites, names, workers=2) as running:

            def url(n: str) -> str:
                return f"https://{n}:{running.ports[names[n]]}/"

            def resolve(hosts: list[str]) -> list[str]:
                out: list[str] = []
                for n in hosts:
                    out += [
                        "--resolve",
                        f"{n}:{running.ports[names[n]]}:127.0.0.1",
                        "--resolve",
                        f"{n}:{running.http_port}:127.0.0.1",
                    ]
                return out

            common = [
                "--http-port",
                str(running.http_port),
                "--cacert",
                pki.ca_file,
                "--retries",
                "0",
                "--quiet",
            ]

            def fleet(n: int, parallel: int, extra: tuple[str, ...] | list[str] = ()) -> tuple[float, float]:
                hosts = list(names)[:n]
                path = os.path.join(d, f"hosts-{n}.txt")
                with open(path, "w", encoding="utf-8") as f:
                    f.write("".join(url(h) + "\n" for h in hosts))
                return _run(
                    [
                        "audit",
                        "--hosts",
                        path,
                        *common,
                        *resolve(hosts),
                        "--parallel",
                        str(parallel),
                        "--rows",
                        os.path.join(d, "rows.csv"),
                        "--format",
                        "json",
                        "--output",
                        os.path.join(d, "report.json"),
                        *extra,
                    ],
                    os.devnull,
                )

            t_fleet, rss = fleet(args.hosts, args.parallel)
            print(
                f"fleet: {args.hosts} hosts in {t_fleet:.1f} s = {args.hosts / t_fleet:.2f} hosts/s "
                f"(--parallel {args.parallel}), peak RSS {rss:.0f} MB, "
                f"CPU {CPU[0] / args.hosts:.2f} s a host "
                f"(load average before: {os.getloadavg()[0]:.1f})"
            )
            if args.workers:
                t_dask, _ = fleet(args.hosts, args.parallel, ["--workers", str(args.workers)])
                print(
                    f"fleet on a local Dask cluster of {args.workers} workers: "
                    f"{args.hosts / t_dask:.2f} hosts/s"
                )
            step = max(1, most // args.sample)
            sample = list(names)[: args.hosts : step][: args.sample]
            t_seq = 0.0
            for h in sample:
                elapsed, _ = _run(["audit", url(h), *common, *resolve([h]), "--format", "json"], os.devnull)
                t_seq += elapsed
            seq_rate = len(sample) / t_seq
            print(
                f"one at a time (a process per host, as a shell loop): {len(sample)} hosts "
                f"in {t_seq:.1f} s = "
                f"{seq_rate:.2f} hosts/s, CPU {CPU[0]:.2f} s for the last host"
            )
            print(f"ratio: {args.hosts / t_fleet / seq_rate:.1f}x (target >= 10)")
            if not args.no_inprocess:
                n = min(args.hosts, max(args.sample, 8))
                t_one, _ = fleet(n, 1)
                print(
                    f"one at a time in one process (--parallel 1): {n} hosts in {t_one:.1f} s = "
                    f"{n / t_one:.2f} hosts/s; concurrency alone: {args.hosts / t_fleet / (n / t_one):.1f}x"
                )
            for n in args.memory:
                _, rss_n = fleet(n, args.parallel)
                print(f"peak RSS with {n} hosts: {rss_n:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
