#!/usr/bin/env python3
"""Benchmark: `mixedcontent audit --hosts FILE` against auditing the same hosts one at a time, over
loopback only.

    python scripts/bench_audit.py [--hosts 200] [--sample 20] [--parallel 16] [--rounds 2] [--memory 50 200]

One real nginx from Debian (tests/realservers.py, two worker processes) serves four TLS postures
(Mozilla intermediate with HTTP/2, TLS 1.0/1.1 enabled, no HTTP/2, an expired certificate), each on
its own loopback port, with certificates made now (trustme); N host names are spread over them and
reach loopback through --resolve only, and a plain-http port redirects each name to its posture.

Prints, each run in a fresh process and timed whole (interpreter start-up to exit):
- the fleet: `audit --hosts` over all N hosts (rows and JSON report written): hosts/s and peak RSS;
- one at a time, as the shell loop it replaces: `mixedcontent audit URL` per host, sequentially, on
  --sample hosts spread over the postures (interpreter start-up included, as a loop pays it):
  hosts/s, and the ratio (target >= 10), with the CPU seconds a host of each (steadier than the wall
  clock on a loaded machine). Fleet and loop alternate for --rounds rounds; the best of each is kept;
- one at a time inside one process (`--hosts` with --parallel 1), to show what concurrency alone buys;
- the fleet's peak RSS for each --memory N (it should not grow with N).
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

from realservers import TlsSite, issue, make_pki, nginx_tls_sites  # noqa: E402 - after the sys.path line above

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
        default=[50, 200],
        metavar="N",
        help="the fleet's peak RSS for each N hosts (default: 50 200, N and 4N; none: --memory)",
    )
    ap.add_argument("--rounds", type=int, default=2, help="alternated rounds of fleet and loop (best kept)")
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

            # alternate the fleet and the one-at-a-time loop, best of each (the machine is shared)
            step = max(1, most // args.sample)
            sample = list(names)[: args.hosts : step][: args.sample]
            best_fleet = best_seq = float("inf")
            fleet_cpu = seq_cpu = float("inf")
            rss = 0.0
            for _ in range(args.rounds):
                t_fleet, rss_now = fleet(args.hosts, args.parallel)
                rss = max(rss, rss_now)
                best_fleet = min(best_fleet, t_fleet)
                fleet_cpu = min(fleet_cpu, CPU[0])
                t_seq = cpu_seq = 0.0
                for h in sample:
                    one = ["audit", url(h), *common, *resolve([h]), "--format", "json"]
                    elapsed, _ = _run(one, os.devnull)
                    t_seq += elapsed
                    cpu_seq += CPU[0]
                best_seq = min(best_seq, t_seq)
                seq_cpu = min(seq_cpu, cpu_seq)
            fleet_rate = args.hosts / best_fleet
            seq_rate = len(sample) / best_seq
            print(
                f"fleet: {args.hosts} hosts in {best_fleet:.1f} s = {fleet_rate:.2f} hosts/s "
                f"(--parallel {args.parallel}), peak RSS {rss:.0f} MB, "
                f"CPU {fleet_cpu / args.hosts:.3f} s a host (load average: {os.getloadavg()[0]:.1f})"
            )
            print(
                f"one at a time (`mixedcontent audit URL`, a process per host, as a shell loop): "
                f"{len(sample)} hosts in {best_seq:.1f} s = {seq_rate:.2f} hosts/s, "
                f"CPU {seq_cpu / len(sample):.3f} s a host"
            )
            print(
                f"ratio: {fleet_rate / seq_rate:.1f}x hosts/s (target >= 10); "
                f"CPU a host {seq_cpu / len(sample) / (fleet_cpu / args.hosts):.1f}x less "
                f"(best of {args.rounds} alternated rounds each)"
            )
            if args.workers:
                t_dask, _ = fleet(args.hosts, args.parallel, ["--workers", str(args.workers)])
                print(
                    f"fleet on a local Dask cluster of {args.workers} workers: "
                    f"{args.hosts / t_dask:.2f} hosts/s"
                )
            if not args.no_inprocess:
                n = min(args.hosts, max(args.sample, 8))
                t_one, _ = fleet(n, 1)
                print(
                    f"one at a time in one process (--parallel 1): {n} hosts in {t_one:.1f} s = "
                    f"{n / t_one:.2f} hosts/s; concurrency alone: {fleet_rate / (n / t_one):.1f}x"
                )
            for n in args.memory:
                _, rss_n = fleet(n, args.parallel)
                print(f"peak RSS with {n} hosts: {rss_n:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
