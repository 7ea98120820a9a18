"""`mixedcontent audit --hosts FILE` (SPEC §11.6): 50 host names mapped with --resolve to one real nginx
on loopback that serves five TLS postures on five ports (and redirects each name from its plain-http
port to its posture's port), plus lines that cannot be judged. One run, every row asserted against a
table written from the postures; the same run on a 2-worker local Dask cluster gives identical rows
and an identical report."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from realservers import LeafFiles, TlsSite, TlsSites, free_port, issue, make_pki, nginx_tls_sites
from test_audit_tls import LEGACY_NGINX, nginx_cert, nginx_profile

from mixedcontent.cli import main

POSTURES = ("good", "legacy", "expired", "noh2", "nochain")
HSTS = 'add_header Strict-Transport-Security "max-age=63072000" always;'


@dataclass(frozen=True)
class Fleet:
    sites: TlsSites
    names: dict[str, str]  # host name -> posture
    leaves: dict[str, LeafFiles]  # posture -> its leaf
    hosts_file: str
    args: list[str]  # everything after `audit`
    refused_port: int
    directory: str


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(d)
        names = {f"h{i:02d}.fleet.example": POSTURES[i % len(POSTURES)] for i in range(50)}
        of = {p: [n for n, q in names.items() if q == p] for p in POSTURES}
        good = issue(pki, "good", *of["good"], *of["legacy"], *of["noh2"], days_left=60)
        leaves = {
            "good": good,
            "legacy": good,
            "noh2": good,
            "expired": issue(pki, "expired", *of["expired"], days_left=-3),
            "nochain": issue(pki, "nochain", *of["nochain"], days_left=40, chain=False),
        }
        sites = [
            TlsSite("good", nginx_profile(good), http2=True),
            TlsSite("legacy", f"{nginx_cert(good)}\n{LEGACY_NGINX}\n{HSTS}"),
            TlsSite("expired", nginx_profile(leaves["expired"]), http2=True),
            TlsSite("noh2", nginx_profile(good)),
            TlsSite("nochain", nginx_profile(leaves["nochain"]), http2=True),
        ]
        with nginx_tls_sites(sites, names) as running:
            refused = free_port()
            resolve: list[str] = []
            lines = ["# the fleet", ""]
            for n, posture in names.items():
                port = running.ports[posture]
                lines.append(f"https://{n}:{port}/")
                resolve += [
                    "--resolve",
                    f"{n}:{port}:127.0.0.1",
                    "--resolve",
                    f"{n}:{running.http_port}:127.0.0.1",
                ]
            lines += [
                f"https://refused.fleet.example:{refused}/",
                "https://192.0.2.1/",
                "ftp://files.fleet.example/",
            ]
            resolve += [
                "--resolve",
                f"refused.fleet.example:{refused}:127.0.0.1",
                # nothing listens on the http port at 127.0.0.2 either
                "--resolve",
                f"refused.fleet.example:{running.http_port}:127.0.0.2",
            ]
            hosts_file = os.path.join(d, "hosts.txt")
            with open(hosts_file, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            args = [
                "--hosts",
                hosts_file,
                "--http-port",
                str(running.http_port),
                "--cacert",
                pki.ca_file,
                "--retries",
                "0",
                "--connect-timeout",
                "5",
                *resolve,
            ]
            yield Fleet(running, names, leaves, hosts_file, args, refused, d)


def expected_row(fleet: Fleet, name: str, posture: str) -> dict[str, object]:
    """What SPEC §11.6 says the row of a host of this posture holds (written from the postures)."""
    good_tls = ["TLSv1.2", "TLSv1.3"]
    table: dict[str, dict[str, object]] = {
        "good": {
            "https": True,
            "redirects_to_https": True,
            "hsts": "valid",
            "tls_versions": good_tls,
            "worst": "ok",
            "codes": [],
        },
        "legacy": {
            "https": True,
            "redirects_to_https": True,
            "hsts": "valid",
            "tls_versions": ["TLSv1", "TLSv1.1", "TLSv1.2"],
            "worst": "error",
            "codes": ["MC510", "MC511", "MC514", "MC515"],
        },
        "expired": {
            "https": False,
            "redirects_to_https": True,
            "hsts": "",
            "tls_versions": good_tls,
            "worst": "error",
            "codes": ["MC501", "MC512"],
        },
        "noh2": {
            "https": True,
            "redirects_to_https": True,
            "hsts": "valid",
            "tls_versions": good_tls,
            "worst": "info",
            "codes": ["MC515"],
        },
        "nochain": {
            "https": False,
            "redirects_to_https": True,
            "hsts": "",
            "tls_versions": good_tls,
            "worst": "error",
            "codes": ["MC501", "MC512"],
        },
    }
    row: dict[str, object] = {
        "host": f"{name}:{fleet.sites.ports[posture]}",
        **table[posture],
        "certificate_expires": fleet.leaves[posture].not_after,
        "error": "",
    }
    return row


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["audit", *args], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def local_run(fleet: Fleet) -> tuple[int, str, str, str]:
    rows = os.path.join(fleet.directory, "rows.jsonl")
    code, out, err = run([*fleet.args, "--rows", rows, "--rows-format", "jsonl", "--format", "json"])
    with open(rows, encoding="utf-8") as f:
        return code, f.read(), out, err


def test_every_mapped_host_has_the_row_of_its_posture_in_input_order(fleet: Fleet, local_run) -> None:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in local_run[1].splitlines()]
    assert len(rows) == 53
    for row, (name, posture) in zip(rows[:50], fleet.names.items(), strict=True):
        assert row == expected_row(fleet, name, posture)


def test_hosts_that_cannot_be_judged_are_rows_with_their_reason(fleet: Fleet, local_run) -> None:  # type: ignore[no-untyped-def]
    refused, blocked, ftp = [json.loads(line) for line in local_run[1].splitlines()][50:]
    assert refused["host"] == f"refused.fleet.example:{fleet.refused_port}"
    assert "connect-refused" in refused["error"] and refused["worst"] == "" and refused["codes"] == []
    assert blocked["host"] == "192.0.2.1" and "blocked-address" in blocked["error"]
    assert ftp == {
        "host": "ftp://files.fleet.example/",
        "https": None,
        "redirects_to_https": None,
        "hsts": "",
        "tls_versions": [],
        "certificate_expires": "",
        "worst": "",
        "codes": [],
        "error": f"{fleet.hosts_file} line 53: not a host name or http(s) URL",
    }


def test_the_usual_report_holds_every_hosts_findings(fleet: Fleet, local_run) -> None:  # type: ignore[no-untyped-def]
    code, _, out, err = local_run
    report = json.loads(out)
    by_code = report["summary"]["by_code"]
    assert by_code["MC510"] == 10 and by_code["MC512"] == 20 and by_code["MC515"] == 20
    assert code == 1
    assert "3 of 53 hosts could not be judged" in err


def test_rows_as_csv_have_the_spec_header_and_empty_cells_for_unknowns(fleet: Fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    hosts = tmp_path / "two.txt"
    first = next(iter(fleet.names))
    hosts.write_text(f"https://{first}:{fleet.sites.ports['good']}/\nftp://x.example/\n", encoding="utf-8")
    args = [a if a != fleet.hosts_file else str(hosts) for a in fleet.args]
    _code, out, _err = run([*args, "--rows", "-", "--output", str(tmp_path / "report.txt")])
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == [
        "host",
        "https",
        "redirects_to_https",
        "hsts",
        "tls_versions",
        "certificate_expires",
        "worst",
        "codes",
        "error",
    ]
    assert table[1] == [
        f"{first}:{fleet.sites.ports['good']}",
        "true",
        "true",
        "valid",
        "TLSv1.2 TLSv1.3",
        fleet.leaves["good"].not_after,
        "ok",
        "",
        "",
    ]
    assert table[2][:8] == ["ftp://x.example/", "", "", "", "", "", "", ""]


def test_hosts_from_stdin(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    first = next(iter(fleet.names))
    monkeypatch.setattr(
        sys, "stdin", io.StringIO(f"# one host\n\nhttps://{first}:{fleet.sites.ports['good']}/\n")
    )
    args = [a if a != fleet.hosts_file else "-" for a in fleet.args]
    code, out, err = run([*args, "--format", "json"])
    assert code == 0, err
    assert json.loads(out)["target"]["inputs"] == [f"https://{first}:{fleet.sites.ports['good']}/"]


def test_a_2_worker_dask_cluster_gives_identical_rows_and_report(fleet: Fleet, local_run) -> None:  # type: ignore[no-untyped-def]
    rows = os.path.join(fleet.directory, "rows-dask.jsonl")
    code, out, _err = run(
        [*fleet.args, "--rows", rows, "--rows-format", "jsonl", "--format", "json", "--workers", "2"]
    )
    with open(rows, encoding="utf-8") as f:
        assert f.read() == local_run[1]
    assert out == local_run[2]
    assert code == local_run[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--parallel", "0"], "--parallel must be 1 or more"),
        (["--host-timeout", "0"], "--host-timeout must be a positive number"),
        (
            ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
            "--workers and --scheduler exclude each other",
        ),
    ],
)
def test_bad_fleet_flags_are_one_line_usage_errors(fleet: Fleet, extra: list[str], message: str) -> None:
    code, out, err = run([*fleet.args, *extra])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_url_and_hosts_together_are_refused() -> None:
    code, _, err = run(["https://a.example/", "--hosts", "x.txt"])
    assert code == 2 and "not both" in err


def test_fleet_only_flags_without_hosts_are_refused() -> None:
    code, _, err = run(["https://a.example/", "--rows", "r.csv"])
    assert code == 2 and "--rows applies only with --hosts" in err


def test_missing_hosts_file_is_an_input_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["--hosts", str(tmp_path / "none.txt")])
    assert code == 2 and "none.txt" in err and err.count("\n") == 1


def test_a_host_that_never_answers_is_a_timeout_row(fleet: Fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket
    import time

    with socket.socket() as silent:  # accepts TCP connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        hosts = tmp_path / "slow.txt"
        hosts.write_text(f"https://slow.fleet.example:{port}/\n", encoding="utf-8")
        args = ["--hosts", str(hosts), "--http-port", str(fleet.sites.http_port), "--retries", "0",
                "--resolve", f"slow.fleet.example:{port}:127.0.0.1",
                "--resolve", f"slow.fleet.example:{fleet.sites.http_port}:127.0.0.2",
                "--host-timeout", "2", "--rows", "-", "--rows-format", "jsonl", "--output", str(tmp_path / "r.txt")]
        started = time.monotonic()
        code, out, _err = run(args)
        elapsed = time.monotonic() - started
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["error"] == "timeout: the audit took more than 2 s"
    assert code == 2  # no host could be judged
    assert elapsed < 9  # the hanging TLS scan (connect timeout 10 s) does not hold the run back


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_and_not_elsewhere(fleet: Fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    hosts = tmp_path / "one.txt"
    hosts.write_text("ftp://x.example/\n", encoding="utf-8")
    args = [a if a != fleet.hosts_file else str(hosts) for a in fleet.args]
    out, err = io.StringIO(), Terminal()
    assert main(["audit", *args], out, err) == 2
    assert "auditing hosts" in err.getvalue() and "1/1" in err.getvalue()
    out, plain = io.StringIO(), io.StringIO()
    assert main(["audit", *args], out, plain) == 2
    assert "auditing hosts" not in plain.getvalue()
    assert plain.getvalue() == "mixedcontent: 1 of 1 host could not be judged (see the rows' error)\n"


def test_hosts_are_started_only_as_outcomes_are_handed_out() -> None:
    """Bounded by construction (docs/audit.md#hosts): with 2 hosts audited at once, no more than
    WINDOW x 2 entries are taken from the list before the first row is handed out, and each row is
    handed out in input order while later hosts are still to come."""
    import asyncio

    from mixedcontent.fleet import WINDOW, FleetSettings, HostEntry, audit_in_order
    from mixedcontent.net import NetSettings
    from mixedcontent.posture import AuditOptions

    taken: list[int] = []

    def entries() -> Iterator[HostEntry]:
        for i in range(100):
            taken.append(i)
            yield HostEntry(i, f"line {i}", None, f"line {i}: not a host")

    settings = FleetSettings(options=AuditOptions(), net=NetSettings(), parallel=2)

    async def first_rows() -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        async for outcome in audit_in_order(entries(), settings):
            seen.append((outcome.index, len(taken)))
        return seen

    seen = asyncio.run(first_rows())
    assert [index for index, _ in seen] == list(range(100))
    assert seen[0][1] <= WINDOW * 2 and max(t - i for i, t in seen) <= WINDOW * 2


def test_rows_file_is_replaced_whole_and_a_bad_rows_path_is_a_one_line_error(fleet: Fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = tmp_path / "rows.csv"
    rows.write_text("old\n", encoding="utf-8")
    hosts = tmp_path / "bad.txt"
    hosts.write_text("ftp://x.example/\nftp://y.example/\n", encoding="utf-8")
    code, _, _ = run(["--hosts", str(hosts), "--rows", str(rows), "--quiet"])
    assert code == 2
    assert rows.read_text(encoding="utf-8").splitlines()[0].startswith("host,https,")
    assert len(rows.read_text(encoding="utf-8").splitlines()) == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    code, _, err = run(["--hosts", str(hosts), "--rows", str(tmp_path / "missing" / "rows.csv")])
    assert code == 2 and "--rows" in err and err.count("\n") == 1
