"""``--exclude-url REGEX`` / ``exclude-urls`` (docs/configuration.md#excluding-urls): an excluded URL gives no
finding, is not counted, is never probed (a counting loopback server proves it), never read as a stylesheet,
never followed by a crawl and never rewritten by ``fix``. Patterns are ``re.search``-ed in the absolute URL
as the report's ``url`` field shows it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from conftest import Run
from servers import make_ca, serve

from mixedcontent.errors import SettingError
from mixedcontent.settings import ScanSettings
from mixedcontent.suppress import url_excluded

CA = make_ca()

PAGE = """<!doctype html><title>t</title>
<img src="http://legacy.example.com/a.png">
<img src="//cdn.example/b.png">
<script src="http://cdn.example/c.js"></script>
<img src="http://other.example/d.png">
<img src="http://not-legacy.example.com/e.png">
"""


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    for name, text in pages.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _urls(r: Run) -> list[str]:
    assert r.code in (0, 1), r.err
    return [f["url"] for f in json.loads(r.out)["findings"]]


def test_patterns_are_searched_in_the_absolute_url() -> None:
    anchored = ("^http://legacy\\.example\\.com/",)
    assert url_excluded("http://legacy.example.com/a.png", anchored)
    assert not url_excluded("http://not-legacy.example.com/a.png", anchored)
    assert not url_excluded("https://x.example/?u=http://legacy.example.com/", anchored)
    assert url_excluded("https://x.example/?u=http://legacy.example.com/", ("legacy\\.example",))
    assert not url_excluded(None, ("x",)) and not url_excluded("http://x.example/", ())


def test_excluded_urls_give_no_finding_in_a_directory_scan(run: Callable[..., Run], tmp_path: Path) -> None:
    root = _site(tmp_path, {"a.html": PAGE})
    assert _urls(run("scan", str(root), "--no-config", "--format", "json")) == [
        "http://legacy.example.com/a.png", "http://cdn.example/c.js", "http://other.example/d.png",
        "http://not-legacy.example.com/e.png"]
    r = run("scan", str(root), "--no-config", "--format", "json",
            "--exclude-url", "^http://legacy\\.example\\.com/", "--exclude-url", "cdn\\.example")
    assert _urls(r) == ["http://other.example/d.png", "http://not-legacy.example.com/e.png"]
    summary = json.loads(r.out)["summary"]
    assert summary["findings"] == 2 and summary["suppressed"] == 0  # not counted, not even as suppressed


def test_a_protocol_relative_url_is_matched_as_resolved(run: Callable[..., Run], tmp_path: Path) -> None:
    # //cdn.example/b.png on an http page is http://cdn.example/b.png (MC101 once judged as https)
    root = _site(tmp_path, {"a.html": '<img src="//cdn.example/b.png">'})
    base = ("--no-config", "--format", "json", "--base-url", "http://site.example/", "--assume-https")
    assert _urls(run("scan", str(root), *base)) == ["http://cdn.example/b.png"]
    assert _urls(run("scan", str(root), *base, "--exclude-url", "^http://cdn\\.example/")) == []
    assert _urls(run("scan", str(root), *base, "--exclude-url", "^//cdn")) == ["http://cdn.example/b.png"]


def test_an_excluded_stylesheet_is_not_read(run: Callable[..., Run], tmp_path: Path) -> None:
    root = _site(tmp_path, {"a.html": '<link rel="stylesheet" href="old/s.css"><link rel="stylesheet" href="t.css">',
                            "t.css": "a { background: url(http://cdn.example/t.png) }"})
    (root / "old").mkdir()
    (root / "old" / "s.css").write_text("a { background: url(http://cdn.example/s.png) }")
    r = run("scan", str(root), "--no-config", "--format", "json")
    assert _urls(r) == ["http://cdn.example/s.png", "http://cdn.example/t.png"]
    r = run("scan", str(root), "--no-config", "--format", "json", "--exclude-url", "/old/")
    assert _urls(r) == ["http://cdn.example/t.png"]
    assert json.loads(r.out)["summary"]["stylesheets"] == 1


def test_the_config_file_key_is_exclude_urls(run: Callable[..., Run], tmp_path: Path) -> None:
    root = _site(tmp_path, {"a.html": PAGE})
    config = tmp_path / "mixedcontent.toml"
    config.write_text('exclude-urls = ["^http://legacy\\\\.example\\\\.com/", "cdn\\\\.example"]\n')
    r = run("scan", str(root), "--config", str(config), "--format", "json")
    assert _urls(r) == ["http://other.example/d.png", "http://not-legacy.example.com/e.png"]
    # the flag wins over the file
    r = run("scan", str(root), "--config", str(config), "--format", "json", "--exclude-url", "other")
    assert _urls(r) == ["http://legacy.example.com/a.png", "http://cdn.example/c.js",
                        "http://not-legacy.example.com/e.png"]


def test_an_invalid_pattern_is_one_line_naming_the_option(run: Callable[..., Run], tmp_path: Path) -> None:
    root = _site(tmp_path, {"a.html": PAGE})
    r = run("scan", str(root), "--no-config", "--exclude-url", "cdn(")
    assert (r.code, r.err) == (2, "mixedcontent: exclude-url: 'cdn(' is not a valid regular expression: "
                                  "missing ), unterminated subpattern at position 3\n")
    config = tmp_path / "mixedcontent.toml"
    config.write_text('exclude-urls = ["[z-a]"]\n')
    r = run("scan", str(root), "--config", str(config))
    assert (r.code, r.err) == (2, f"mixedcontent: config {config}: exclude-urls: '[z-a]' is not a valid regular "
                                  "expression: bad character range z-a at position 1\n")
    config.write_text('exclude-urls = "cdn"\n')
    r = run("scan", str(root), "--config", str(config))
    assert (r.code, r.err) == (2, f"mixedcontent: config {config}: exclude-urls must be a list, got 'cdn'\n")
    with pytest.raises(SettingError) as refused:
        ScanSettings(exclude_urls=("(",))
    assert refused.value.key == "exclude-url"


def _cdn(counts: Counter[str]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        counts[request.path] += 1
        return web.Response(body=b"img", content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def test_an_excluded_url_is_never_probed(run: Callable[..., Run], tmp_path: Path) -> None:
    counts: Counter[str] = Counter()
    with serve(_cdn(counts), ca=CA, hostnames=["cdn.example"]) as srv:
        assert srv.ca_file is not None
        cdn = f"http://cdn.example:{srv.port}"
        root = _site(tmp_path, {"a.html": f'<img src="{cdn}/keep.png"><img src="{cdn}/legacy/skip.png">'})
        r = run("scan", str(root), "--no-config", "--probe", *srv.resolve("cdn.example"), "--cacert", srv.ca_file,
                "--format", "json", "--exclude-url", "/legacy/")
    assert _urls(r) == [f"{cdn}/keep.png"]
    assert counts["/keep.png"] >= 1
    assert counts["/legacy/skip.png"] == 0


def test_fix_leaves_an_excluded_url_as_it_is(run: Callable[..., Run], tmp_path: Path) -> None:
    root = _site(tmp_path, {"a.html": '<img src="http://cdn.example/a.png"><img src="http://legacy.example/b.png">'})
    r = run("fix", str(root), "--no-config", "--unsafe", "--exclude-url", "legacy\\.example")
    assert r.code == 0, r.err
    assert (root / "a.html").read_text() == ('<img src="https://cdn.example/a.png">'
                                             '<img src="http://legacy.example/b.png">')
    assert "legacy" not in r.out  # not even listed as left alone: it is not a finding


def test_a_crawl_does_not_follow_or_report_excluded_urls(run: Callable[..., Run]) -> None:
    hits: Counter[str] = Counter()
    pages = {
        "/": '<a href="/keep.html">k</a><a href="/legacy/old.html">o</a>'
             '<link rel="stylesheet" href="/legacy/old.css"><img src="http://cdn.example/x.png">',
        "/keep.html": "<p>kept</p>", "/legacy/old.html": '<img src="http://cdn.example/old.png">',
        "/legacy/old.css": "a { background: url(http://cdn.example/old-css.png) }",
    }

    async def handle(request: web.Request) -> web.Response:
        hits[request.path] += 1
        if request.path not in pages:
            return web.Response(status=404)
        kind = "text/css" if request.path.endswith(".css") else "text/html"
        return web.Response(text=pages[request.path], content_type=kind)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    with serve(app, ca=CA, hostnames=["site.example"]) as srv:
        assert srv.ca_file is not None
        r = run("scan", srv.url("site.example", "/"), *srv.resolve("site.example"), "--cacert", srv.ca_file,
                "--no-config", "--format", "json", "--no-sitemaps", "--exclude-url", "/legacy/",
                "--exclude-url", "cdn\\.example/x")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["findings"] == [] and report["summary"]["pages"] == 2
    assert hits["/keep.html"] == 1
    assert hits["/legacy/old.html"] == 0 and hits["/legacy/old.css"] == 0


def test_a_web_archive_scan_honours_exclusions(run: Callable[..., Run], tmp_path: Path) -> None:
    from warcs import http_response, write_warc

    warc = str(tmp_path / "site.warc.gz")
    body = b'<img src="http://cdn.example/a.png"><img src="http://legacy.example/b.png">'
    write_warc(warc, lambda w: [http_response(w, "https://site.example/", body)])
    assert _urls(run("scan", warc, "--no-config", "--format", "json")) == [
        "http://cdn.example/a.png", "http://legacy.example/b.png"]
    r = run("scan", warc, "--no-config", "--format", "json", "--exclude-url", "legacy")
    assert _urls(r) == ["http://cdn.example/a.png"]
