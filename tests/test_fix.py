"""`mixedcontent fix`: only the URL bytes change, atomically, and a rescan finds none of what was fixed.

Expected bytes are written out by hand per file (the literal text to change and its replacement,
encoded in the file's own encoding), never computed by the code under test.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from conftest import ROOT

MIRROR = os.path.join(ROOT, "fixtures", "mirror-site", "www.example.org")
BASE = "https://www.example.org/"

# file -> (codec, [(old text, new text), ...]) for `fix --unsafe` on the mirror (no --forms)
MIRROR_UNSAFE = {
    "index.html": ("cp1252", [
        ('SRC="http://cdn.example/jquery', 'SRC="https://cdn.example/jquery'),
        ('BACKGROUND="http://img.example/bg.gif"', 'BACKGROUND="https://img.example/bg.gif"'),
        ("SRC=http://img.example/logo.gif", "SRC=https://img.example/logo.gif"),
        ('SRC="http://img.example/spacer.gif?w=1&amp;h=1"', 'SRC="https://img.example/spacer.gif?w=1&amp;h=1"'),
        ('SRC="http://media.example/intro.swf"', 'SRC="https://media.example/intro.swf"'),
        # the scheme spelled with a character reference: its raw text, entity and all, becomes "https:"
        ('SRC="http&#58;//img.example/counter.gif"', 'SRC="https://img.example/counter.gif"'),
    ]),
    "news.php?id=2.html": ("latin-1", [
        ('<base href="http://www.example.org/">', '<base href="https://www.example.org/">'),
        ('src="http://media.example/clip.mp4"', 'src="https://media.example/clip.mp4"'),
    ]),
    "css/style.css?v=3.css": ("cp1252", [
        ('url("http://fonts.example/css?family=Lobster")', 'url("https://fonts.example/css?family=Lobster")'),
        ("url( 'http://img.example/paper.jpg' )", "url( 'https://img.example/paper.jpg' )"),
        ("url(http://fonts.example/lobster.woff)", "url(https://fonts.example/lobster.woff)"),
    ]),
    "jp/index.html": ("cp932", [
        ('src="http://img.example/', 'src="https://img.example/'),
        ('src="http://maps.example/', 'src="https://maps.example/'),
    ]),
    "utf16.html": ("utf-16-le", [
        ('src="http://img.example/snow.png"', 'src="https://img.example/snow.png"'),
        ('src="http://media.example/jingle.ogg"', 'src="https://media.example/jingle.ogg"'),
    ]),
    "feed.xhtml": ("utf-8", [
        ('src="http://img.example/rss.png"', 'src="https://img.example/rss.png"'),
        ('data="http://media.example/player.swf"', 'data="https://media.example/player.swf"'),
    ]),
}


def _expected(original: bytes, codec: str, pairs: list[tuple[str, str]]) -> bytes:
    out = original
    for old, new in pairs:
        o, n = old.encode(codec), new.encode(codec)
        assert out.count(o) == 1, old
        out = out.replace(o, n)
    return out


@pytest.fixture
def mirror(tmp_path):  # type: ignore[no-untyped-def]
    site = tmp_path / "www.example.org"
    shutil.copytree(MIRROR, site)
    return str(site)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _originals(site: str) -> dict[str, bytes]:
    out = {}
    for d, _, files in os.walk(site):
        for name in files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, site).replace(os.sep, "/")] = _read(p)
    return out


def test_unsafe_fix_changes_exactly_the_url_bytes_in_every_encoding(run, mirror) -> None:  # type: ignore[no-untyped-def]
    before = _originals(mirror)
    r = run("fix", mirror, "--unsafe", "--base-url", BASE)
    assert r.code == 0, r.err
    after = _originals(mirror)
    assert set(after) == set(before)  # no file added (no temp file left), none removed
    for rel, data in before.items():
        if rel in MIRROR_UNSAFE:
            codec, pairs = MIRROR_UNSAFE[rel]
            assert after[rel] == _expected(data, codec, pairs), rel
        else:
            assert after[rel] == data, rel  # robots.txt and the wget .orig backup are untouched


def test_cp932_duplicate_bytes_beside_a_url_survive(run, mirror) -> None:  # type: ignore[no-untyped-def]
    assert b"\xed\x40" in _read(os.path.join(mirror, "jp", "index.html"))
    run("fix", mirror, "--unsafe", "--base-url", BASE)
    data = _read(os.path.join(mirror, "jp", "index.html"))
    assert b"\xed\x40" in data and b"\xfa\x5c" not in data


def test_rescan_after_fix_finds_only_what_fix_left(run, mirror) -> None:  # type: ignore[no-untyped-def]
    run("fix", mirror, "--unsafe", "--base-url", BASE)
    report = json.loads(run("scan", mirror, "--base-url", BASE, "--format", "json").out)
    left = sorted((f["file"], f["code"], f["raw"]) for f in report["findings"])
    assert left == [
        ("news.php?id=2.html", "MC201", "http://www.example.org/cgi-bin/subscribe.pl"),  # needs --forms
    ]


def test_second_fix_changes_nothing(run, mirror) -> None:  # type: ignore[no-untyped-def]
    run("fix", mirror, "--unsafe", "--base-url", BASE, "--forms")
    once = _originals(mirror)
    r = run("fix", mirror, "--unsafe", "--base-url", BASE, "--forms")
    assert r.code == 0
    assert _originals(mirror) == once
    assert "rewrote 0 references in 0 files" in r.out


def test_without_proof_nothing_is_rewritten(run, mirror) -> None:  # type: ignore[no-untyped-def]
    before = _originals(mirror)
    r = run("fix", mirror, "--base-url", BASE, "--no-probe")
    assert r.code == 0
    assert _originals(mirror) == before
    assert "not proven" in r.out


def test_dry_run_changes_nothing_and_prints_a_patch_that_applies(run, mirror, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = _originals(mirror)
    mtimes = {p: os.stat(os.path.join(mirror, p)).st_mtime_ns for p in before}
    r = run("fix", mirror, "--unsafe", "--dry-run", "--base-url", BASE)
    assert r.code == 0
    assert _originals(mirror) == before
    assert {p: os.stat(os.path.join(mirror, p)).st_mtime_ns for p in before} == mtimes
    assert "--- a/feed.xhtml\n+++ b/feed.xhtml\n" in r.out
    assert '-<body><p><img src="http://img.example/rss.png"' in r.out
    assert '+<body><p><img src="https://img.example/rss.png"' in r.out
    assert "would rewrite" in r.err and "would rewrite" not in r.out  # stdout is only the patch
    # the patch applies with git apply (UTF-8 file) and gives what fix gives
    other = tmp_path / "copy"
    shutil.copytree(MIRROR, other)
    patch = tmp_path / "feed.patch"
    chunk = r.out[r.out.index("--- a/feed.xhtml"):]
    nxt = chunk.find("\n--- a/", 1)
    patch.write_text(chunk if nxt < 0 else chunk[:nxt + 1])
    subprocess.run(["git", "apply", "--unsafe-paths", f"--directory={other}", "-p1", str(patch)],
                   check=True, cwd=str(tmp_path))
    codec, pairs = MIRROR_UNSAFE["feed.xhtml"]
    assert _read(str(other / "feed.xhtml")) == _expected(before["feed.xhtml"], codec, pairs)


def test_dry_run_json_lists_every_edit_with_exact_offsets(run, mirror) -> None:  # type: ignore[no-untyped-def]
    r = run("fix", mirror, "--unsafe", "--dry-run", "--format", "json", "--base-url", BASE)
    report = json.loads(r.out)
    assert report["dry_run"] is True
    expected_count = sum(len(pairs) for _, pairs in MIRROR_UNSAFE.values())
    assert len(report["edits"]) == expected_count
    codecs = {rel: codec for rel, (codec, _) in MIRROR_UNSAFE.items()}
    for e in report["edits"]:
        data = _read(os.path.join(mirror, *e["file"].split("/")))
        assert data[e["offset"]:e["offset"] + e["length"]].decode(codecs[e["file"]]) == e["old"]
        scheme = "http&#58;" if e["old"].startswith("http&#58;") else "http:"
        assert e["new"] == "https:" + e["old"][len(scheme):]
    assert report["summary"]["files_changed"] == len(MIRROR_UNSAFE)


def test_base_href_is_fixed_once_for_every_reference_under_it(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.html"
    page.write_bytes(b'<base href="http://cdn.example/a/"><img src="x.png" srcset="y.png 2x"><script src="z.js"></script>')
    r = run("fix", str(tmp_path), "--unsafe", "--format", "json")
    edits = json.loads(r.out)["edits"]
    assert [(e["offset"], e["old"], e["new"]) for e in edits] == [(12, "http://cdn.example/a/", "https://cdn.example/a/")]
    assert sorted(edits[0]["codes"]) == ["MC102", "MC103", "MC105"]
    assert page.read_bytes() == b'<base href="https://cdn.example/a/"><img src="x.png" srcset="y.png 2x"><script src="z.js"></script>'


def test_port_80_is_dropped_and_other_ports_kept(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.html"
    page.write_bytes(b'<img src="http://a.example:80/x.png"><img src="http://b.example:8080/y.png">')
    run("fix", str(tmp_path), "--unsafe")
    assert page.read_bytes() == b'<img src="https://a.example/x.png"><img src="https://b.example:8080/y.png">'


def test_map_rewrites_to_another_host(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.html"
    page.write_bytes(b'<img src="HTTP://Old.Example/i/a.png"><script src="http://old.example/s.js"></script>'
                     b'<img src="http://other.example/b.png">')
    r = run("fix", str(tmp_path), "--no-probe", "--map", "http://old.example=https://cdn.example/static")
    assert r.code == 0, r.err
    assert page.read_bytes() == (b'<img src="https://cdn.example/static/i/a.png"><script src="https://cdn.example/static/s.js">'
                                 b'</script><img src="http://other.example/b.png">')


@pytest.mark.parametrize("bad", ["http://a.example", "ftp://a=https://b", "http://a=http://b", "http://a=not a url"])
def test_bad_map_is_a_usage_error(run, tmp_path, bad) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.html").write_text("<p>")
    r = run("fix", str(tmp_path), "--no-probe", "--map", bad)
    assert r.code == 2 and r.err.startswith("mixedcontent: --map") and r.err.count("\n") == 1


def test_forms_only_with_the_flag(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.html"
    page.write_bytes(b'<form action="http://f.example/go"></form>')
    run("fix", str(tmp_path), "--unsafe")
    assert page.read_bytes() == b'<form action="http://f.example/go"></form>'
    run("fix", str(tmp_path), "--unsafe", "--forms")
    assert page.read_bytes() == b'<form action="https://f.example/go"></form>'


def test_script_literals_are_never_rewritten(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "p.html"
    body = b'<script>var api = "http://api.example/v1/";</script>'
    page.write_bytes(body)
    r = run("fix", str(tmp_path), "--unsafe")
    assert page.read_bytes() == body
    assert "MC401" in r.out and "never rewritten" in r.out


def test_escaped_css_scheme_is_rewritten_at_its_escape(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.html").write_bytes(b'<link rel=stylesheet href="s.css"><p>')
    css = tmp_path / "s.css"
    body = b"a { background: url(\\68ttp://img.example/a.png) } b { background: url(http://img.example/b.png) }"
    css.write_bytes(body)
    r = run("fix", str(tmp_path), "--unsafe")
    assert css.read_bytes() == (b"a { background: url(https://img.example/a.png) } "
                                b"b { background: url(https://img.example/b.png) }")
    assert "rewrote 2 references in 1 file; 0 findings left as is" in r.out


@pytest.mark.parametrize("page, expected", [
    (b"<!doctype html>\n<html>\n<head>\n<meta charset=utf-8>\n<title>t</title>",
     b"<!doctype html>\n<html>\n<head>\n<meta charset=utf-8>\n"
     b'<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">\n<title>t</title>'),
    (b"<HTML><HEAD><TITLE>t</TITLE></HEAD><BODY><img src=x.png>",
     b'<HTML><HEAD><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
     b"<TITLE>t</TITLE></HEAD><BODY><img src=x.png>"),
    (b"<!-- <head> -->\r\n<p>no head at all",
     b'<!-- <head> -->\r\n<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests"><p>no head at all'),
])
def test_add_csp_meta_goes_first_in_head_after_the_charset(run, tmp_path, page, expected) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.html"
    p.write_bytes(page)
    r = run("fix", str(tmp_path), "--add-csp-meta", "--no-probe")
    assert r.code == 0, r.err
    assert p.read_bytes() == expected
    run("fix", str(tmp_path), "--add-csp-meta", "--no-probe")
    assert p.read_bytes() == expected  # idempotent: the head now has one


def test_add_csp_meta_respects_an_existing_policy_meta(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.html"
    body = (b"<head><meta http-equiv=content-security-policy content=\"default-src https:; "
            b"upgrade-insecure-requests\"></head><img src=http://i.example/a.png>")
    p.write_bytes(body)
    run("fix", str(tmp_path), "--add-csp-meta", "--no-probe")
    assert p.read_bytes() == body


def test_add_csp_meta_does_not_count_a_padded_http_equiv(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # HTML §4.2.5.3: http-equiv is an enumerated attribute, not stripped: browsers ignore this policy
    p = tmp_path / "p.html"
    body = b'<head><meta http-equiv=" Content-Security-Policy " content="upgrade-insecure-requests"></head>'
    p.write_bytes(body)
    run("fix", str(tmp_path), "--add-csp-meta", "--no-probe")
    assert p.read_bytes() == body.replace(
        b"<head>", b'<head><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">')


def test_add_csp_meta_in_xhtml_is_well_formed(run, mirror) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    run("fix", mirror, "--add-csp-meta", "--base-url", BASE, "--no-probe")
    data = _read(os.path.join(mirror, "feed.xhtml"))
    assert b'<head><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests" /><title>' in data
    etree.fromstring(data)  # still well-formed XML


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o644, 0o664, 0o666, 0o755, 0o444, 0o2755, 0o4750])
def test_permissions_are_kept(run, tmp_path, mode: int) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.html"
    p.write_bytes(b'<img src="http://i.example/a.png">')
    os.chmod(p, mode)
    old = os.umask(0o022)  # group/other write bits must survive the umask
    try:
        run("fix", str(tmp_path), "--unsafe")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(p).st_mode) == mode
    assert p.read_bytes() == b'<img src="https://i.example/a.png">'


def test_backup_keeps_the_original_and_is_never_overwritten(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.html"
    p.write_bytes(b'<img src="http://i.example/a.png">')
    run("fix", str(tmp_path), "--unsafe", "--backup", ".orig")
    assert (tmp_path / "p.html.orig").read_bytes() == b'<img src="http://i.example/a.png">'
    p.write_bytes(b'<img src="http://i.example/b.png">')
    r = run("fix", str(tmp_path), "--unsafe", "--backup", ".orig")
    assert r.code == 1 and "already exists" in r.out
    assert p.read_bytes() == b'<img src="http://i.example/b.png">'
    assert (tmp_path / "p.html.orig").read_bytes() == b'<img src="http://i.example/a.png">'


def test_pages_and_stylesheets_with_a_future_mtime_are_rewritten(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # issue 15 item 12: files unpacked from archives often carry mtimes in the future; a date is no
    # sign that a file changed after it was scanned
    p = tmp_path / "p.html"
    p.write_bytes(b'<link rel=stylesheet href=s.css><img src="http://i.example/a.png">')
    (tmp_path / "s.css").write_bytes(b"a{background:url(http://i.example/b.png)}")
    future = os.stat(p).st_mtime_ns + 3600 * 10**9
    for name in ("p.html", "s.css"):
        os.utime(tmp_path / name, ns=(future, future))
    r = run("fix", str(tmp_path), "--unsafe")
    assert r.code == 0, r.out
    assert p.read_bytes() == b'<link rel=stylesheet href=s.css><img src="https://i.example/a.png">'
    assert (tmp_path / "s.css").read_bytes() == b"a{background:url(https://i.example/b.png)}"


def test_a_page_that_changed_after_it_was_scanned_is_not_rewritten(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mixedcontent import scan
    from mixedcontent.extract.source import decode_html
    from mixedcontent.fixer import FixOptions, _FixPage

    p = tmp_path / "p.html"
    scanned = b'<img src="http://i.example/a.png">'
    p.write_bytes(scanned)
    findings = list(scan([str(tmp_path)], jobs=1).findings)
    edited = b'<img src="http://i.example/a.png"><!-- edited meanwhile, same length as nothing -->'
    p.write_bytes(edited)  # after the scan read it, before the worker writes it
    act = _FixPage(FixOptions(unsafe=True), True, None)
    outcome, _ = act(str(p), "p.html", "https://example.invalid/p.html", os.path.realpath(tmp_path),
                     decode_html(scanned), findings)
    assert outcome is not None and outcome.status == "skipped"
    assert outcome.message == "changed on disk since it was scanned; run fix again"
    assert p.read_bytes() == edited


def test_symlinked_pages_are_never_written_through(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside.html"
    outside.write_bytes(b'<img src="http://i.example/a.png">')
    site = tmp_path / "site"
    site.mkdir()
    (site / "link.html").symlink_to(outside)
    (site / "own.html").write_bytes(b'<img src="http://i.example/b.png">')
    run("fix", str(site), "--unsafe", "--follow-symlinks-outside")
    assert outside.read_bytes() == b'<img src="http://i.example/a.png">'
    assert (site / "own.html").read_bytes() == b'<img src="https://i.example/b.png">'


def test_pages_reached_through_a_directory_symlink_outside_the_root_are_not_written(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "p.html").write_bytes(b'<img src="http://i.example/a.png">')
    site = tmp_path / "site"
    site.mkdir()
    (site / "shared").symlink_to(elsewhere, target_is_directory=True)
    r = run("fix", str(site), "--unsafe", "--follow-symlinks-outside")
    assert (elsewhere / "p.html").read_bytes() == b'<img src="http://i.example/a.png">'
    assert "outside the scanned root" in r.out and r.code == 1


def test_leftover_temp_files_are_removed_by_the_next_run(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sub").mkdir()
    left = tmp_path / "sub" / ".p.html.4242-0a1b2c3d.mixedcontent.tmp"
    left.write_bytes(b"<half")
    keep = tmp_path / "sub" / ".p.html.notours.tmp"
    keep.write_bytes(b"x")
    (tmp_path / "p.html").write_bytes(b"<p>")
    r = run("fix", str(tmp_path), "--unsafe")
    assert not left.exists() and keep.exists()
    assert "removed a temp file" in r.out


def test_fix_of_a_missing_path_is_a_one_line_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("fix", str(tmp_path / "nope"), "--unsafe")
    assert r.code == 2 and r.err.count("\n") == 1 and "no such file" in r.err


def test_fix_api_returns_the_cli_edits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import mixedcontent

    (tmp_path / "p.html").write_bytes(b'<img src="http://i.example/a.png">')
    result = mixedcontent.fix([str(tmp_path)], unsafe=True, dry_run=True)
    assert [(e.offset, e.old, e.new) for e in result.edits] == [(10, "http://i.example/a.png", "https://i.example/a.png")]
    assert (tmp_path / "p.html").read_bytes() == b'<img src="http://i.example/a.png">'


def test_fix_help_documents_the_policies(run) -> None:  # type: ignore[no-untyped-def]
    out = run("fix", "--help").out
    for flag in ("--dry-run", "--unsafe", "--map", "--forms", "--add-csp-meta", "--backup", "exit codes"):
        assert flag in out


def test_python_m_entry_point_runs_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.html").write_bytes(b'<img src="http://i.example/a.png">')
    proc = subprocess.run([sys.executable, "-m", "mixedcontent", "fix", str(tmp_path), "--unsafe"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p.html").read_bytes() == b'<img src="https://i.example/a.png">'


# ---- the default policy: only what the probe proved (real TLS server on loopback, --resolve) ------

def _cdn_app():  # type: ignore[no-untyped-def]
    from aiohttp import web

    async def image(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name.startswith("ok"):
            return web.Response(body=b"\x89PNG\r\n\x1a\n", content_type="image/png")
        return web.Response(status=404, text="no")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*/}{name}", image)
    app.router.add_route("*", "/{name}", image)
    return app


def test_default_fix_upgrades_only_what_the_probe_proved(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from servers import serve

    with serve(_cdn_app(), hostnames=["cdn.example"]) as srv:
        port = srv.port
        (tmp_path / "a.html").write_bytes(
            f'<img src="http://cdn.example:{port}/ok1.png"><img src="http://cdn.example:{port}/gone.png">'.encode())
        # every request under this base works: the base is fixed once
        (tmp_path / "b.html").write_bytes(
            f'<base href="http://cdn.example:{port}/d/"><img src="ok2.png"><img src="ok3.png">'.encode())
        # one request under this base fails: the base stays
        (tmp_path / "c.html").write_bytes(
            f'<base href="http://cdn.example:{port}/e/"><img src="ok4.png"><img src="missing.png">'.encode())
        r = run("fix", str(tmp_path), *srv.resolve("cdn.example"), "--cacert", srv.ca_file or "")
    assert r.code == 0, r.err
    assert (tmp_path / "a.html").read_bytes() == (
        f'<img src="https://cdn.example:{port}/ok1.png"><img src="http://cdn.example:{port}/gone.png">'.encode())
    assert (tmp_path / "b.html").read_bytes() == (
        f'<base href="https://cdn.example:{port}/d/"><img src="ok2.png"><img src="ok3.png">'.encode())
    assert (tmp_path / "c.html").read_bytes() == (
        f'<base href="http://cdn.example:{port}/e/"><img src="ok4.png"><img src="missing.png">'.encode())
    assert "gone.png left as is" in r.out and "http-404" in r.out


def test_bad_network_flag_is_a_usage_error_even_with_unsafe(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.html").write_bytes(b'<img src="http://i.example/a.png">')
    r = run("fix", str(tmp_path), "--unsafe", "--resolve", "bad")
    assert r.code == 2 and r.err.startswith("mixedcontent: ") and r.err.count("\n") == 1
    assert (tmp_path / "p.html").read_bytes() == b'<img src="http://i.example/a.png">'
