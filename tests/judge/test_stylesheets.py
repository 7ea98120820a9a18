"""Same-site stylesheets: found through pages, @import chains followed once each, cycle-safe,
judged by the pages that load them."""

from __future__ import annotations

import json


def _scan(run, site, *args):  # type: ignore[no-untyped-def]
    r = run("scan", str(site), "--format", "json", *args)
    assert r.code in (0, 1), r.err
    return json.loads(r.out)


def _write(site, files):  # type: ignore[no-untyped-def]
    for name, text in files.items():
        p = site / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_import_chain_with_cycle_is_scanned_once_each(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, {
        "index.html": '<link rel=stylesheet href="css/a.css"><style>@import "/css/b.css";</style>',
        "other.html": '<link rel=stylesheet href="/css/a.css?v=2">',
        "css/a.css": '@import url(b.css);\nbody{background:url(http://cdn.example/a.png)}',
        "css/b.css": '@import "a.css";\n@font-face{src:url(http://fonts.example/b.woff2)}',
        "css/unused.css": 'x{background:url(http://cdn.example/unused.png)}',
    })
    rep = _scan(run, tmp_path)
    got = [(f["file"], f["code"], f["raw"]) for f in rep["findings"]]
    assert got == [("css/a.css", "MC101", "http://cdn.example/a.png"),
                   ("css/b.css", "MC102", "http://fonts.example/b.woff2")]
    assert rep["summary"]["stylesheets"] == 2
    b = rep["findings"][1]
    assert b["referrers"] == ["index.html", "other.html"]
    assert b["page"] == "https://example.invalid/css/b.css"


def test_relative_urls_in_a_stylesheet_resolve_against_it(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, {
        "index.html": '<link rel=stylesheet href="/css/a.css">',
        "css/a.css": 'a{background:url(../img/x.png)} b{background:url(//cdn.example/y.png)}',
    })
    assert _scan(run, tmp_path)["findings"] == []


def test_late_import_is_ignored_like_browsers_do(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, {
        "index.html": '<link rel=stylesheet href="/a.css">',
        "a.css": 'a{color:red}\n@import "http://cdn.example/late.css";\n@import "b.css";',
        "b.css": 'b{background:url(http://cdn.example/b.png)}',
    })
    rep = _scan(run, tmp_path)
    assert rep["findings"] == [] and rep["summary"]["stylesheets"] == 1


def test_stylesheet_loaded_only_by_upgrading_pages_is_not_mixed(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    meta = '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
    _write(tmp_path, {
        "a.html": f'<head>{meta}<link rel=stylesheet href="/s.css"></head>',
        "b.html": f'<head>{meta}<link rel=stylesheet href="http://example.invalid/s.css"></head>',
        "s.css": 'x{background:url(http://cdn.example/x.png)}',
    })
    rep = _scan(run, tmp_path)
    assert rep["findings"] == [] and rep["summary"]["stylesheets"] == 1
    # a third page without the policy makes it mixed again, for that page
    (tmp_path / "c.html").write_text('<link rel=stylesheet href="/s.css">')
    rep = _scan(run, tmp_path)
    assert [(f["file"], f["referrers"]) for f in rep["findings"]] == [("s.css", ["c.html"])]


def test_blocked_http_stylesheet_is_not_followed(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, {
        "index.html": '<link rel=stylesheet href="http://example.invalid/s.css">',
        "s.css": 'x{background:url(http://cdn.example/x.png)}',
    })
    rep = _scan(run, tmp_path)
    assert [(f["file"], f["code"]) for f in rep["findings"]] == [("index.html", "MC102")]


def test_stylesheet_outside_base_path_is_not_followed(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write(tmp_path, {
        "index.html": '<link rel=stylesheet href="/elsewhere/s.css"><link rel=stylesheet href="s.css">',
        "s.css": 'x{background:url(http://cdn.example/x.png)}',
        "elsewhere/s.css": 'x{background:url(http://cdn.example/y.png)}',
    })
    rep = _scan(run, tmp_path, "--base-url", "https://example.invalid/docs/")
    assert [f["raw"] for f in rep["findings"]] == ["http://cdn.example/x.png"]


def test_stylesheet_encoding_and_crlf_spans(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_text('<link rel=stylesheet href="/s.css">')
    css = '@charset "windows-1252";\r\n/* caf\u00e9 */\r\na{background:url( "http://cdn.example/\u00e9.png" )}'
    (tmp_path / "s.css").write_bytes(css.encode("cp1252"))
    rep = _scan(run, tmp_path)
    f = rep["findings"][0]
    data = (tmp_path / "s.css").read_bytes()
    assert data[f["offset"]:f["offset"] + f["length"]].decode("cp1252") == f["raw"] == "http://cdn.example/\u00e9.png"
    assert (f["line"], f["column"]) == (3, 20)  # a{background:url( " is 19 code points
