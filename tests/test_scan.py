"""One pipeline behind every entry point (mixedcontent/scan.py): the same small site gives the same
findings whether it is scanned as a directory, as a list of files, one file at a time, through the
library API, as a crawl of it served on loopback, as a web archive of that crawl, or on a 2-worker
local Dask cluster. And the seams between entry points: stylesheets given on their own, names that
open from the working directory, baselines that match however the files were named, pages on their
own following their stylesheets inside --root."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from servers import make_ca, serve
from warcs import http_response, write_warc

import mixedcontent
from mixedcontent.engine import EngineSettings
from mixedcontent.model import Finding, ScanResult
from mixedcontent.net import NetSettings, parse_resolve
from mixedcontent.scan import scan_archives, scan_files, scan_site
from mixedcontent.settings import ScanSettings
from mixedcontent.sources.crawl import CrawlSettings

SITE = {
    "index.html": b'<!doctype html><html><head><link rel="stylesheet" href="css/site.css">\n'
                  b'<script src="http://cdn.example/x.js"></script></head>\n'
                  b'<body><img src="http://cdn.example/a.png" srcset="http://cdn.example/a2.png 2x">\n'
                  b'<a href="blog/post.html">post</a> <img src="https://cdn.example/ok.png"></body></html>\n',
    "blog/post.html": b'<!doctype html><html><head><link rel="stylesheet" href="../css/site.css"></head>\n'
                      b'<body><iframe src="http://maps.example/embed"></iframe>\n'
                      b'<form action="http://forms.example/send"></form></body></html>\n',
    "css/site.css": b'@import "more.css";\nbody { background: url(http://cdn.example/bg.png) }\n',
    "css/more.css": b'a { background-image: url("http://cdn.example/more.png") }\n',
}
PAGES = ("index.html", "blog/post.html")
# what a browser does with this site, by rule (SPEC §3-4), independent of the code under test
EXPECTED = {
    ("MC102", "http://cdn.example/x.js"),  # script: blockable
    ("MC103", "http://cdn.example/a.png"),  # img src beside srcset: chosen through the set, never upgraded
    ("MC103", "http://cdn.example/a2.png"),
    ("MC102", "http://maps.example/embed"),
    ("MC201", "http://forms.example/send"),
    ("MC101", "http://cdn.example/bg.png"),  # CSS url(): an image, upgradable
    ("MC101", "http://cdn.example/more.png"),
}


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _write(tmp_path / "site", SITE)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "site"


def _triples(result: ScanResult) -> set[tuple[str, str | None, int | None]]:
    return {(f.code, f.url, f.offset) for f in result.findings}


def _fingerprints(result: ScanResult, attr: str) -> set[tuple[str, str | None, int | None, str]]:
    return {(f.code, f.url, f.offset, getattr(f, attr)) for f in result.findings}


def _merge(results: list[ScanResult]) -> list[Finding]:
    """Runs one file at a time each report the stylesheets their page loads: the same findings, once."""
    return list({f.path_fingerprint: f for r in results for f in r.findings}.values())


@pytest.fixture
def served(site: Path) -> Iterator[tuple[str, list[str], str]]:
    """The site over https at site.example on loopback: (start URL, --resolve entries, CA file)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.path.lstrip("/") or "index.html"
        data = SITE.get(name)
        if data is None:
            return web.Response(status=404)
        ctype = "text/css" if name.endswith(".css") else "text/html"
        return web.Response(body=data, content_type=ctype)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    with serve(app, ca=make_ca(), hostnames=["site.example"]) as srv:
        assert srv.ca_file is not None
        yield srv.url("site.example", "/"), srv.resolve("site.example"), srv.ca_file


FILE_BASED = ("directory", "files", "one at a time", "api", "dask")
URL_BASED = ("crawl", "warc")


def _scan_as(entry: str, site: Path, served: tuple[str, list[str], str], tmp_path: Path) -> list[Finding]:
    """The findings of the site scanned through one entry point."""
    base, resolve, ca_file = served
    settings = ScanSettings(base_url=base, jobs=1, root=str(site))
    if entry == "directory":
        return list(scan_files(["site"], settings).findings)
    if entry == "files":
        return list(scan_files([f"site/{p}" for p in PAGES], settings).findings)
    if entry == "one at a time":
        return _merge([scan_files([f"site/{p}"], settings) for p in PAGES])
    if entry == "api":
        return list(mixedcontent.scan(["site"], settings=settings).findings)
    if entry == "dask":
        return list(scan_files(["site"], settings, EngineSettings(workers=2)).findings)
    if entry == "crawl":
        net = NetSettings(resolve=tuple(parse_resolve(r) for r in resolve[1::2]), cacert=ca_file)
        return list(scan_site(CrawlSettings(start=(base + "index.html",), sitemaps=False), net,
                              ScanSettings()).findings)
    assert entry == "warc"
    warc = str(tmp_path / "crawl.warc.gz")  # the archive a crawl of the same site records
    write_warc(warc, lambda w: [http_response(w, base + name, data, [
        ("Content-Type", "text/css" if name.endswith(".css") else "text/html")]) for name, data in SITE.items()])
    return list(scan_archives([warc], ScanSettings()).findings)


@pytest.mark.parametrize("entry", [e for e in FILE_BASED + URL_BASED if e != "directory"])
def test_every_entry_point_gives_the_same_findings(entry: str, site: Path, served: tuple[str, list[str], str],
                                                   tmp_path: Path) -> None:
    directory = _scan_as("directory", site, served, tmp_path)
    findings = _scan_as(entry, site, served, tmp_path)
    assert {(f.code, f.url) for f in directory} == EXPECTED and len(directory) == len(EXPECTED)
    assert {(f.code, f.url) for f in findings} == EXPECTED
    assert len(findings) == len(EXPECTED)  # the shared stylesheet is judged once
    # the same bytes: the same offsets, whatever the entry point
    assert sorted((f.code, f.url, f.offset) for f in findings) == sorted((f.code, f.url, f.offset) for f in directory)
    if entry in FILE_BASED:
        # file-based entry points among themselves: by working-directory path (docs/json-report.md's
        # fingerprint names the file as the report does, relative to the scanned root)
        assert sorted(f.path_fingerprint for f in findings) == sorted(f.path_fingerprint for f in directory)
        if entry in ("api", "dask"):
            assert sorted(f.fingerprint for f in findings) == sorted(f.fingerprint for f in directory)
    else:
        # URL-based among themselves: by page URL (a baseline of a crawl matches its archive)
        other = _scan_as("warc" if entry == "crawl" else "crawl", site, served, tmp_path)
        assert sorted(f.fingerprint for f in findings) == sorted(f.fingerprint for f in other)


def test_a_stylesheet_given_on_its_own_is_judged_as_a_stylesheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 run: Callable[..., Any]) -> None:
    monkeypatch.chdir(tmp_path)
    css = b'@import "http://cdn.example/theme.css";\np { background: url(http://cdn.example/p.png) }\n'
    Path("style.css").write_bytes(css)
    report = json.loads(run("scan", "style.css", "--format", "json", "--fail-on", "never").out)
    assert [(f["code"], f["url"], f["context"], f["file"]) for f in report["findings"]] == [
        ("MC102", "http://cdn.example/theme.css", "stylesheet", "style.css"),  # an http @import is blocked
        ("MC101", "http://cdn.example/p.png", "stylesheet", "style.css")]
    assert report["summary"]["stylesheets"] == 1 and report["summary"]["pages"] == 0
    f = report["findings"][1]
    assert css[f["offset"]:f["offset"] + f["length"]] == b"http://cdn.example/p.png"
    r = run("fix", "--unsafe", "style.css")
    assert r.code == 0, r.err
    assert Path("style.css").read_bytes() == css.replace(b"http://cdn.example/p.png", b"https://cdn.example/p.png") \
        .replace(b"http://cdn.example/theme.css", b"https://cdn.example/theme.css")


def test_a_page_on_its_own_names_its_stylesheet_by_a_path_that_opens(site: Path, run: Callable[..., Any]) -> None:
    report = json.loads(run("scan", "site/blog/post.html", "--root", "site", "--format", "json",
                            "--fail-on", "never").out)
    sheets = {f["file"] for f in report["findings"] if f["context"] == "stylesheet"}
    assert sheets == {"site/css/site.css", "site/css/more.css"}
    assert all(os.path.isfile(name) for name in sheets)
    assert {f["file"] for f in report["findings"] if f["context"] != "stylesheet"} == {"site/blog/post.html"}


def test_a_page_on_its_own_follows_its_stylesheets_inside_root_only(site: Path, run: Callable[..., Any]) -> None:
    # ../css/site.css from blog/: found inside --root (it used to be looked for in blog/ only)
    report = json.loads(run("scan", "site/blog/post.html", "--root", "site", "--format", "json",
                            "--fail-on", "never").out)
    assert ("MC101", "http://cdn.example/more.png") in {(f["code"], f["url"]) for f in report["findings"]}
    # a stylesheet outside --root is never read, even where the URL leads to a file
    Path("outside.css").write_bytes(b"p{background:url(http://cdn.example/out.png)}")
    (site / "up.html").write_bytes(b'<link rel=stylesheet href="/../../outside.css"><link rel=stylesheet '
                                   b'href="../outside.css">')
    report = json.loads(run("scan", "site/up.html", "--root", "site", "--format", "json", "--fail-on", "never").out)
    assert report["findings"] == [] and report["summary"]["stylesheets"] == 0


def test_root_defaults_to_the_configuration_files_directory(site: Path, run: Callable[..., Any]) -> None:
    Path("mixedcontent.toml").write_text('root = "site"\n')
    os.chdir("site/blog")  # from a subdirectory: the configuration still says where the site is
    report = json.loads(run("scan", "post.html", "--format", "json", "--fail-on", "never").out)
    assert {f["url"] for f in report["findings"] if f["context"] == "stylesheet"} == {
        "http://cdn.example/bg.png", "http://cdn.example/more.png"}
    pages = {f["page"] for f in report["findings"] if f["context"] != "stylesheet"}
    assert pages == {"https://example.invalid/blog/post.html"}


def test_a_baseline_of_the_directory_matches_the_files_named_one_by_one(site: Path, run: Callable[..., Any]) -> None:
    r = run("scan", "site", "--write-baseline", "baseline.json")
    assert r.code == 0, r.err
    # as pre-commit calls the hook: the changed files, from the same place
    r = run("scan", *(f"site/{p}" for p in PAGES), "--root", "site", "--baseline", "baseline.json",
            "--format", "json")
    report = json.loads(r.out)
    assert r.code == 0 and report["findings"] == [], report["findings"]
    assert report["summary"]["suppressed"] == len(EXPECTED)
    # a finding that is not in the baseline still comes back
    (site / "blog/post.html").write_bytes(SITE["blog/post.html"] + b'<script src="http://new.example/n.js"></script>')
    r = run("scan", "site/blog/post.html", "--root", "site", "--baseline", "baseline.json", "--format", "json")
    assert r.code == 1
    assert [f["url"] for f in json.loads(r.out)["findings"]] == ["http://new.example/n.js"]


def test_library_and_command_line_refuse_a_bad_root_alike(tmp_path: Path, run: Callable[..., Any]) -> None:
    with pytest.raises(mixedcontent.UsageError) as e:
        ScanSettings(root=str(tmp_path / "nope"))
    r = run("scan", str(tmp_path), "--root", str(tmp_path / "nope"))
    assert r.code == 2 and r.err.strip() == f"mixedcontent: {e.value}"


def test_the_pre_commit_hook_passes_stylesheets_too(site: Path, run: Callable[..., Any]) -> None:
    import re

    import yaml

    hooks = yaml.safe_load(Path(__file__).parent.parent.joinpath(".pre-commit-hooks.yaml").read_text())
    pattern = re.compile(hooks[0]["files"])
    changed = ["site/index.html", "site/css/more.css", "site/logo.png", "site/notes.md"]
    passed = [name for name in changed if pattern.search(name)]
    assert passed == ["site/index.html", "site/css/more.css"]
    # what the hook then runs: a commit adding url(http://…) to a stylesheet fails
    r = run("scan", *passed, "--root", "site", "--fail-on", "never")
    assert r.code == 0 and "site/css/more.css:1:" in r.out and "site/index.html:2:" in r.out
    r = run("scan", "site/css/more.css", "--root", "site", "--fail-on", "warning")
    assert r.code == 1 and r.out.startswith("site/css/more.css:1:28: MC101 ")
