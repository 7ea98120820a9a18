"""Scans on Dask (`--workers N`, `--scheduler tcp://…`, `--shards DIR`): the findings of a cluster
run equal those of the single-process scan byte for byte, also when a worker dies mid-run.

Clusters here listen on 127.0.0.1 only, have no dashboard and small workers; every test that starts
one checks that no process is left behind.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import EXAMPLE
from dask_crash import CrashOnce
from distributed import Client, LocalCluster
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter
from warcs import http_response, write_warc

PAGES = 48


def _site_records(w: WARCWriter) -> list[Any]:
    """48 pages over two hosts: each loads /s.css (which @imports /t.css), every third one with an
    upgrade-insecure-requests header; a few identical pages archived again as revisits."""
    records = []
    originals = {}
    for i in range(PAGES):
        host = "site.example" if i % 2 else "www.site.example"
        body = (f'<!doctype html><title>{i}</title><link rel="stylesheet" href="/s.css">'
                f'<img src="http://cdn.example/{i}.png"><script src="http://cdn.example/{i % 5}.js"></script>'
                f'<img srcset="http://cdn.example/{i}-2x.png 2x">').encode()
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if i % 3 == 0:
            headers.append(("Content-Security-Policy", "upgrade-insecure-requests"))
        rec = http_response(w, f"https://{host}/p/{i}.html", body, headers)
        originals[i] = rec
        records.append(rec)
        if i % 10 == 9:  # the same page captured again later: a revisit of the original
            orig = originals[i]
            records.append(w.create_revisit_record(
                f"https://{host}/p/{i}.html?again", orig.rec_headers.get_header("WARC-Payload-Digest"),
                f"https://{host}/p/{i}.html", orig.rec_headers.get_header("WARC-Date"),
                http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")))
    for host in ("site.example", "www.site.example"):
        records.append(http_response(w, f"https://{host}/s.css",
                                     b'@import "t.css"; p{background:url(http://cdn.example/bg.png)}',
                                     [("Content-Type", "text/css")]))
        records.append(http_response(w, f"https://{host}/t.css",
                                     b"@font-face{font-family:x;src:url(http://cdn.example/x.woff)}",
                                     [("Content-Type", "text/css")]))
    return records


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp = tmp_path_factory.mktemp("warcs")
    one, two = str(tmp / "one.warc.gz"), str(tmp / "two.warc")
    offsets = write_warc(one, _site_records)
    with open(one, "r+b") as f:  # one corrupt member: an errors entry the cluster must report too
        f.seek(offsets[5] + 40)
        f.write(b"\xff" * 16)
    write_warc(two, lambda w: [http_response(w, "https://other.example/x.html",
                                             b'<link rel="stylesheet" href="https://site.example/s.css">'
                                             b'<iframe src="http://cdn.example/frame"></iframe>')], gz=False)
    return [one, two]


def _children() -> list[psutil.Process]:
    """Our child processes, except Python's multiprocessing resource tracker (one per process that
    ever spawned a child; it exits with us and holds no cluster)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "multiprocessing.resource_tracker" not in " ".join(p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture
def no_leftover_processes() -> Iterator[None]:
    before = {p.pid for p in _children()}
    yield
    left = psutil.wait_procs([p for p in _children() if p.pid not in before], timeout=10)[1]
    assert left == [], f"processes left behind: {[(p.pid, p.cmdline()) for p in left]}"


@pytest.fixture
def cluster(no_leftover_processes: None) -> Iterator[LocalCluster]:
    """Two small worker processes on loopback, owned by the test (so it can make one of them die)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                      dashboard_address=None, host="127.0.0.1", silence_logs=50) as c:
        yield c


def _json(run: Callable[..., Any], *args: str) -> str:
    r = run("scan", *args, "--format", "json", "--fail-on", "never")
    assert r.code == 0, r.err
    return str(r.out)


def test_local_cluster_findings_equal_the_single_process_scan(run, archives, no_leftover_processes) -> None:  # type: ignore[no-untyped-def]
    single = _json(run, *archives)
    report = json.loads(single)
    # the archive holds what the test wrote: otherwise equal reports would prove little
    assert report["summary"]["pages"] > 40 and report["summary"]["stylesheets"] == 4
    assert len(report["errors"]) == 1 and report["summary"]["by_code"]["MC102"] > PAGES // 2
    assert _json(run, *archives, "--workers", "2") == single


def test_worker_killed_mid_run_loses_and_duplicates_nothing(run, archives, cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    single = _json(run, *archives)
    marker = str(tmp_path / "crashed")
    shards = str(tmp_path / "shards")
    with Client(cluster, set_as_default=False) as client:
        client.register_plugin(CrashOnce(marker, "mixedcontent-pages-"))
        distributed = _json(run, *archives, "--scheduler", cluster.scheduler_address, "--shards", shards)
    assert os.path.exists(marker), "no worker died: the test proved nothing"
    assert distributed == single
    # one shard per task, each written once: every finding sits in exactly one shard
    manifest = json.loads(Path(shards, "manifest.json").read_text())
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(shards, "*.jsonl"))) == manifest["shards"]
    lines = [line for name in manifest["shards"] for line in Path(shards, name).read_text().splitlines()]
    findings = [json.loads(line)["finding"] for line in lines if '"finding"' in line]
    assert len(findings) == len(json.loads(single)["findings"]) == manifest["summary"]["findings"]


def test_directory_scan_on_a_cluster_equals_the_single_process_scan(run, cluster) -> None:  # type: ignore[no-untyped-def]
    single = _json(run, EXAMPLE)
    assert json.loads(single)["summary"]["findings"] > 10
    assert _json(run, EXAMPLE, "--scheduler", cluster.scheduler_address) == single


def test_shards_have_the_same_names_and_bytes_on_every_run(run, archives, tmp_path) -> None:  # type: ignore[no-untyped-def]
    shards = str(tmp_path / "s")
    _json(run, *archives, "--shards", shards)
    first = {name: Path(shards, name).read_bytes() for name in os.listdir(shards)}
    _json(run, *archives, "--shards", shards)  # again into the same directory: rewritten, not added to
    second = {name: Path(shards, name).read_bytes() for name in os.listdir(shards)}
    assert len(first) > 3 and "manifest.json" in first
    assert second == first


def test_shard_lines_are_findings_of_the_json_contract(run, archives, tmp_path) -> None:  # type: ignore[no-untyped-def]
    shards = str(tmp_path / "s")
    report = json.loads(_json(run, *archives, "--shards", shards))
    from_shards = [json.loads(line) for name in sorted(glob.glob(os.path.join(shards, "*.jsonl")))
                   for line in Path(name).read_text().splitlines()]
    findings = sorted((d["finding"] for d in from_shards if "finding" in d), key=lambda f: f["fingerprint"])
    for f in findings:  # edits carry their old text in shards, beyond the contract
        for edit in (f["fix"] or {"edits": []})["edits"]:
            edit.pop("old")
    assert findings == sorted(report["findings"], key=lambda f: f["fingerprint"])
    assert [d["error"] for d in from_shards if "error" in d] == []  # the index's errors are the client's


def test_workers_and_scheduler_together_are_a_usage_error(run, archives) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", *archives, "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786")
    assert (r.code, r.out) == (2, "")
    assert r.err == ("mixedcontent: --workers and --scheduler exclude each other (--scheduler uses that cluster's "
                     "workers)\n")


def test_scheduler_address_without_a_scheme_is_a_usage_error(run, archives) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", *archives, "--scheduler", "127.0.0.1:8786")
    assert r.code == 2
    assert r.err == ("mixedcontent: --scheduler wants a Dask scheduler address such as tcp://127.0.0.1:8786, "
                     "got '127.0.0.1:8786'\n")


def test_shards_for_a_directory_need_a_cluster(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--shards", str(tmp_path / "s"))
    assert (r.code, r.err) == (2, ("mixedcontent: --shards needs --workers or --scheduler when scanning a "
                                   "directory\n"))


def test_workers_for_a_crawl_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "https://site.example/", "--workers", "2")
    assert (r.code, r.err) == (2, ("mixedcontent: --workers applies to directories and web archives, not to a "
                                   "crawl\n"))
