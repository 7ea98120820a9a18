"""Web archives (`mixedcontent scan FILE.warc.gz`): WARCs made by a real archiver (Debian's wget
crawling a loopback TLS site) compared with a live crawl of the same site, and WARCs written with
warcio for the odd records a crawl rarely makes on purpose (truncated, corrupt gzip, non-HTTP,
Content-Encoding, chunked, header-only charset, CSP header, revisits).

Expectations are written by hand from the bytes each test puts in the archive: offsets are counted
in the payload as the browser received it (de-chunked, decompressed).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from conftest import ROOT
from servers import Server, serve
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter
from warcs import http_response, write_warc

from mixedcontent.sources.warc import index_archive

CDN = "http://cdn.example"


# ---- writing archives with warcio ------------------------------------------------------------------



def scan_json(run: Callable[..., Any], *args: str) -> dict[str, Any]:
    r = run("scan", *args, "--format", "json", "--fail-on", "never")
    assert r.code == 0, r.err
    return json.loads(r.out)


def img_page(url: str) -> bytes:
    return f'<!doctype html><title>t</title><img src="{url}">'.encode()


# ---- odd records (warcio writer) -------------------------------------------------------------------

def test_finding_location_is_archive_record_offset_and_target_uri(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "a.warc.gz")
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/one.html", img_page(f"{CDN}/1.png")),
        http_response(w, "https://site.example/two.html", img_page(f"{CDN}/2.png")),
    ])
    report = scan_json(run, path)
    got = [(f["file"], f["page"], f["record"], f["offset"], f["raw"]) for f in report["findings"]]
    prefix = len('<!doctype html><title>t</title><img src="')
    assert got == [
        (path, "https://site.example/one.html", {"offset": offsets[0], "target_uri": "https://site.example/one.html"},
         prefix, f"{CDN}/1.png"),
        (path, "https://site.example/two.html", {"offset": offsets[1], "target_uri": "https://site.example/two.html"},
         prefix, f"{CDN}/2.png"),
    ]
    assert report["target"] == {"kind": "warc", "inputs": [path], "base_url": None}


def test_archive_report_validates_against_the_schema(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "a.warc.gz")
    write_warc(path, lambda w: [
        http_response(w, "https://site.example/a.html", b'<link rel="stylesheet" href="/s.css"><img src="http://x.example/">'),
        http_response(w, "https://site.example/s.css", b"p{background:url(http://x.example/b.png)}",
                      [("Content-Type", "text/css")])])
    report = scan_json(run, path)
    assert [f["record"]["target_uri"] for f in report["findings"]] == ["https://site.example/a.html",
                                                                       "https://site.example/s.css"]
    schema = json.loads(resources.files("mixedcontent.report").joinpath("schema.json").read_text())
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
    broken = {**report, "findings": [{**report["findings"][0], "record": {"offset": -1, "target_uri": "x"}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_text_report_names_archive_offset_and_uri(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "a.warc")
    offsets = write_warc(path, lambda w: [http_response(w, "https://site.example/x.html", img_page(f"{CDN}/1.png"))],
                         gz=False)
    r = run("scan", path)
    assert r.out.splitlines()[0].startswith(f"{path}@{offsets[0]} https://site.example/x.html:1:42: MC101 ")


def test_content_encoding_gzip_offsets_index_the_decoded_payload(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = b'<p>compressed</p><script src="http://cdn.example/app.js"></script>'
    path = str(tmp_path / "gz.warc.gz")
    write_warc(path, lambda w: [http_response(w, "https://site.example/gz.html", gzip.compress(page),
                                              [("Content-Type", "text/html"), ("Content-Encoding", "gzip")])])
    [f] = scan_json(run, path)["findings"]
    assert (f["code"], f["offset"], f["length"], f["raw"]) == ("MC102", page.index(b"http://"), 25,
                                                               "http://cdn.example/app.js")


def test_chunked_transfer_encoding_is_removed_before_offsets(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = b'<p>chunked</p><img srcset="http://cdn.example/c.png 2x">'
    wire = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (page[:20], page[20:])) + b"0\r\n\r\n"
    path = str(tmp_path / "ch.warc.gz")
    write_warc(path, lambda w: [http_response(w, "https://site.example/ch.html", wire,
                                              [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")])])
    [f] = scan_json(run, path)["findings"]
    assert (f["code"], f["offset"], f["raw"]) == ("MC103", page.index(b"http://"), "http://cdn.example/c.png")


def test_charset_only_in_the_header_decides_the_decoding(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # b"\xc3\xa9" is "é" in UTF-8 (what an unlabelled page would be read as) but "Ã©" in windows-1252
    page = b'<p>caf\xc3\xa9</p><img src="http://cdn.example/\xc3\xa9.png">'
    path = str(tmp_path / "cp.warc.gz")
    write_warc(path, lambda w: [http_response(w, "https://site.example/cp.html", page,
                                              [("Content-Type", "text/html; charset=windows-1252")])])
    [f] = scan_json(run, path)["findings"]
    assert (f["raw"], f["offset"], f["column"]) == ("http://cdn.example/Ã©.png", 22, 23)


def test_csp_header_with_upgrade_insecure_requests_leaves_nothing_mixed(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = b'<img src="http://cdn.example/a.png"><script src="http://cdn.example/b.js"></script>'
    path = str(tmp_path / "csp.warc.gz")
    write_warc(path, lambda w: [
        http_response(w, "https://site.example/uir.html", page,
                      [("Content-Type", "text/html"), ("Content-Security-Policy", "upgrade-insecure-requests")]),
        http_response(w, "https://site.example/ro.html", page,
                      [("Content-Type", "text/html"),
                       ("Content-Security-Policy-Report-Only", "upgrade-insecure-requests")]),
    ])
    report = scan_json(run, path)
    assert [(f["page"], f["code"]) for f in report["findings"]] == [
        ("https://site.example/ro.html", "MC101"), ("https://site.example/ro.html", "MC102")]
    assert report["summary"]["pages"] == 2


def test_page_archived_over_http_is_judged_as_served(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "http.warc.gz")
    write_warc(path, lambda w: [http_response(w, "http://site.example/plain.html", img_page(f"{CDN}/1.png"))])
    report = scan_json(run, path)
    # nothing on an http page is mixed content; the page itself is MC508, as a crawl reports it
    assert [(f["code"], f["page"]) for f in report["findings"]] == [("MC508", "http://site.example/plain.html")]


def test_truncated_record_at_end_of_file_is_reported_and_skipped(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "cut.warc")
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/ok.html", img_page(f"{CDN}/ok.png")),
        http_response(w, "https://site.example/cut.html", img_page(f"{CDN}/cut.png") + b" " * 500),
    ], gz=False)
    with open(path, "r+b") as f:
        f.truncate(offsets[1] + 300)  # inside the second record's payload
    report = scan_json(run, path)
    assert [f["page"] for f in report["findings"]] == ["https://site.example/ok.html"]
    assert report["errors"] == [{"file": path, "url": "https://site.example/cut.html",
                                 "message": f"record at offset {offsets[1]} is truncated: the file ends inside "
                                            f"it; skipped"}]


def test_record_truncated_by_the_crawler_is_reported_and_skipped(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "wt.warc.gz")
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/big.html", img_page(f"{CDN}/a.png"), extra={"WARC-Truncated": "length"}),
    ])
    report = scan_json(run, path)
    assert report["findings"] == []
    assert [e["message"] for e in report["errors"]] == [
        f"record at offset {offsets[0]} was truncated by the crawler (WARC-Truncated: length): skipped"]


def test_corrupt_gzip_member_is_reported_and_the_next_records_are_read(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "bad.warc.gz")
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/1.html", img_page(f"{CDN}/1.png")),
        http_response(w, "https://site.example/2.html", img_page(f"{CDN}/2.png")),
        http_response(w, "https://site.example/3.html", img_page(f"{CDN}/3.png")),
    ])
    with open(path, "r+b") as f:
        f.seek(offsets[1] + 30)  # past the member's gzip header, into its deflate data
        f.write(b"\xff" * 40)
    report = scan_json(run, path)
    assert [f["page"] for f in report["findings"]] == ["https://site.example/1.html", "https://site.example/3.html"]
    [error] = report["errors"]
    assert error["file"] == path
    assert error["message"].startswith(f"unreadable data at offset {offsets[1]}: ")
    assert error["message"].endswith(f"; reading resumed at offset {offsets[2]}")


def test_garbage_between_records_of_a_plain_warc_is_skipped(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clean = str(tmp_path / "clean.warc")
    offsets = write_warc(clean, lambda w: [
        http_response(w, "https://site.example/1.html", img_page(f"{CDN}/1.png")),
        http_response(w, "https://site.example/2.html", img_page(f"{CDN}/2.png")),
    ], gz=False)
    with open(clean, "rb") as f:
        data = f.read()
    path = str(tmp_path / "garbage.warc")
    junk = b"this is not a record\r\n"
    with open(path, "wb") as f:
        f.write(data[:offsets[1]] + junk + data[offsets[1]:])
    report = scan_json(run, path)
    assert [(f["page"], f["record"]["offset"]) for f in report["findings"]] == [
        ("https://site.example/1.html", offsets[0]), ("https://site.example/2.html", offsets[1] + len(junk))]
    assert len(report["errors"]) == 1


def test_non_http_resource_record_is_reported_and_skipped(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "res.warc.gz")
    offsets = write_warc(path, lambda w: [
        w.create_warc_record("https://site.example/saved.html", "resource",
                             payload=io.BytesIO(img_page(f"{CDN}/r.png")), warc_content_type="text/html"),
        w.create_warc_record("metadata://example/crawl-log.txt", "resource",
                             payload=io.BytesIO(b"log"), warc_content_type="text/plain"),
        http_response(w, "https://site.example/real.html", img_page(f"{CDN}/h.png")),
    ])
    report = scan_json(run, path)
    assert [f["page"] for f in report["findings"]] == ["https://site.example/real.html"]
    assert report["errors"] == [{"file": path, "url": "https://site.example/saved.html",
                                 "message": f"record at offset {offsets[0]} is a resource record without an HTTP "
                                            f"response: skipped"}]


def test_records_that_are_not_pages_are_skipped_silently(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "mixed.warc.gz")
    write_warc(path, lambda w: [
        http_response(w, "https://site.example/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, [("Content-Type", "image/png")]),
        http_response(w, "https://site.example/gone.html", img_page(f"{CDN}/g.png"), status="404 Not Found"),
        http_response(w, "https://site.example/moved", b"", [("Location", "/x.html")], status="301 Moved"),
        w.create_warc_record("https://site.example/page.html", "request",
                             payload=io.BytesIO(b"GET /page.html HTTP/1.1\r\nHost: site.example\r\n\r\n"),
                             warc_content_type="application/http; msgtype=request"),
        http_response(w, "https://site.example/page.html", img_page(f"{CDN}/p.png")),
    ])
    report = scan_json(run, path)
    assert [f["page"] for f in report["findings"]] == ["https://site.example/page.html"]
    assert report["errors"] == []
    assert report["summary"]["pages"] == 1


def test_revisit_is_scanned_with_its_originals_payload_and_its_own_headers(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = img_page(f"{CDN}/same.png")
    path = str(tmp_path / "rv.warc.gz")

    def build(w: WARCWriter) -> list[Any]:
        original = http_response(w, "https://site.example/day1.html", page)
        digest = original.rec_headers.get_header("WARC-Payload-Digest")
        revisit = w.create_revisit_record(
            "https://site.example/day2.html", digest, "https://site.example/day1.html",
            original.rec_headers.get_header("WARC-Date"),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html"),
                                                     ("Content-Security-Policy", "upgrade-insecure-requests")],
                                          protocol="HTTP/1.1"))
        revisit.rec_headers.add_header("WARC-Refers-To", original.rec_headers.get_header("WARC-Record-ID"))
        return [original, revisit]

    offsets = write_warc(path, build)
    report = scan_json(run, path)
    # day2's own header upgrades its requests: only day1's image is mixed
    assert [(f["page"], f["record"]["offset"], f["offset"]) for f in report["findings"]] == [
        ("https://site.example/day1.html", offsets[0], page.index(b"http://"))]
    assert report["summary"]["pages"] == 2


def test_revisit_without_its_original_is_reported(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "orphan.warc.gz")
    offsets = write_warc(path, lambda w: [w.create_revisit_record(
        "https://site.example/again.html", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "https://site.example/first.html",
        "2020-01-01T00:00:00Z",
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"))])
    report = scan_json(run, path)
    assert [e["message"] for e in report["errors"]] == [
        f"record at offset {offsets[0]} is a revisit whose original record is not in the archive: skipped"]


def test_stylesheet_is_resolved_from_the_same_archive_through_a_redirect(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    css = b"body{background:url(http://cdn.example/bg.png)}"
    path = str(tmp_path / "css.warc.gz")
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/a.html", b'<link rel="stylesheet" href="/old.css">'),
        http_response(w, "https://site.example/old.css", b"", [("Location", "/new.css")], status="301 Moved"),
        http_response(w, "https://site.example/new.css", css, [("Content-Type", "text/css")]),
    ])
    [f] = scan_json(run, path)["findings"]
    assert (f["file"], f["page"], f["record"], f["offset"], f["referrers"]) == (
        path, "https://site.example/new.css", {"offset": offsets[2], "target_uri": "https://site.example/new.css"},
        css.index(b"http://"), ["https://site.example/a.html"])


def test_stylesheet_is_judged_with_referrers_from_every_archive(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    css = b"p{background:url(http://cdn.example/bg.png)}"
    one, two = str(tmp_path / "one.warc.gz"), str(tmp_path / "two.warc.gz")
    write_warc(one, lambda w: [
        http_response(w, "https://site.example/up.html", b'<link rel="stylesheet" href="/s.css">',
                      [("Content-Type", "text/html"), ("Content-Security-Policy", "upgrade-insecure-requests")]),
        http_response(w, "https://site.example/s.css", css, [("Content-Type", "text/css")])])
    write_warc(two, lambda w: [http_response(w, "https://site.example/plain.html",
                                             b'<link rel="stylesheet" href="/s.css">')])
    # alone, the first archive's only referrer upgrades: nothing is mixed
    assert scan_json(run, one)["findings"] == []
    [f] = scan_json(run, one, two)["findings"]
    assert (f["file"], f["page"], f["referrers"]) == (one, "https://site.example/s.css",
                                                       ["https://site.example/plain.html"])


def test_stylesheet_not_served_as_css_is_an_error_entry(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "ct.warc.gz")
    write_warc(path, lambda w: [
        http_response(w, "https://site.example/a.html", b'<link rel="stylesheet" href="/s.css">'),
        http_response(w, "https://site.example/s.css", b"p{background:url(http://cdn.example/x.png)}",
                      [("Content-Type", "text/plain")])])
    report = scan_json(run, path)
    assert report["findings"] == []
    assert [(e["url"], e["message"]) for e in report["errors"]] == [
        ("https://site.example/s.css",
         "not scanned: served as text/plain, which browsers do not apply as a stylesheet")]


def test_gzip_magic_inside_a_members_deflate_data_is_not_a_record_start() -> None:
    """fixtures/warc/gzip-magic-inside-a-member.warc.gz: two sound records written by warcio, the
    first of whose deflate data holds the bytes 1f 8b 08 at offset 28 (found by the fuzz test, where
    random gzip headers made it happen once in ~400 archives). warcio fails to inflate from there
    and reads the raw bytes as a lenient ARC line, so taking that for a record start reported two
    damaged records in a sound archive."""
    path = os.path.join(ROOT, "fixtures", "warc", "gzip-magic-inside-a-member.warc.gz")
    with open(path, "rb") as f:
        assert f.read().find(b"\x1f\x8b\x08", 1) == 28
    index = index_archive(path)
    assert index.errors == ()
    assert [e.uri for e in index.entries] == ["https://site.example/0.html", "https://site.example/1.html"]


def _arc_gz(pages: list[tuple[str, bytes]]) -> tuple[bytes, list[int]]:
    """An ARC v1 file, one gzip member per record (what the Internet Archive's older crawls hold)."""
    version = b"1 0 Test\nURL IP-address Archive-date Content-type Archive-length\n"
    members = [gzip.compress(b"filedesc://t.arc 0.0.0.0 20050614070144 text/plain %d\n%s\n" % (len(version), version))]
    for url, body in pages:
        http = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
        members.append(gzip.compress(b"%s 127.0.0.1 20050614070144 text/html %d\n%s\n" % (url.encode(), len(http), http)))
    offsets = [sum(len(m) for m in members[:i]) for i in range(len(members))]
    return b"".join(members), offsets


def test_corrupt_member_of_an_arc_file_is_reported_and_the_next_records_are_read(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, offsets = _arc_gz([(f"https://site.example/{i}.html", img_page(f"{CDN}/{i}.png")) for i in range(3)])
    damaged = bytearray(data)
    damaged[offsets[2] + 30 : offsets[2] + 50] = b"\xff" * 20  # the second page's deflate data
    path = str(tmp_path / "old.arc.gz")
    with open(path, "wb") as f:
        f.write(damaged)
    report = scan_json(run, path)
    assert [f["url"] for f in report["findings"]] == [f"{CDN}/0.png", f"{CDN}/2.png"]
    assert [f["record"]["offset"] for f in report["findings"]] == [offsets[1], offsets[3]]
    [error] = report["errors"]
    assert error["message"].startswith(f"unreadable data at offset {offsets[2]}: ")
    assert error["message"].endswith(f"; reading resumed at offset {offsets[3]}")


def test_index_lists_records_with_offsets_and_http_status(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "i.warc.gz")
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/a.html", b"<p>a</p>", [("Content-Type", "text/html; charset=utf-8")]),
        http_response(w, "https://site.example/b", b"", [("Location", "https://site.example/a.html")],
                      status="302 Found")])
    index = index_archive(path)
    assert [(e.offset, e.kind, e.uri, e.status, e.media, e.location) for e in index.entries] == [
        (offsets[0], "response", "https://site.example/a.html", 200, "text/html", None),
        (offsets[1], "response", "https://site.example/b", 302, None, "https://site.example/a.html")]
    assert index.errors == ()


def test_mixing_archives_and_directories_is_a_usage_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "a.warc.gz")
    write_warc(path, lambda w: [http_response(w, "https://site.example/a.html", b"<p>")])
    r = run("scan", path, str(tmp_path))
    assert (r.code, r.out) == (2, "")
    assert r.err == ("mixedcontent: give either web archives (.warc, .warc.gz, .arc, .arc.gz) or site paths, "
                     "not both\n")


def test_base_url_with_an_archive_is_a_usage_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "a.warc.gz")
    write_warc(path, lambda w: [http_response(w, "https://site.example/a.html", b"<p>")])
    r = run("scan", path, "--base-url", "https://x.example/")
    assert r.code == 2
    assert r.err == ("mixedcontent: --base-url does not apply to web archives: each archived page is judged as "
                     "it was served\n")


def test_missing_archive_is_a_one_line_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", str(tmp_path / "nope.warc.gz"))
    assert (r.code, r.err) == (2, f"mixedcontent: {tmp_path / 'nope.warc.gz'}: no such file\n")


# ---- a real archiver: wget against a loopback TLS site, compared with a live crawl ---------------

SITE_CSS = b'@import "more.css";\nbody{background:url(http://cdn.example/bg.png)}\n.x{color:red}\n'
MORE_CSS = b'@font-face{font-family:f;src:url("http://cdn.example/f.woff2")}\n'
# bytes that are valid UTF-8 ("é") but served as windows-1252 ("Ã©"): only the header says so
LATIN = b'<!doctype html><title>caf\xc3\xa9</title><p>caf\xc3\xa9</p><img src="http://cdn.example/\xc3\xa9.png">\n'


def _page(title: str, body: str) -> bytes:
    return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{title}</title>\n'
            f'<link rel="stylesheet" href="/css/site.css"></head>\n<body>\n{body}\n</body></html>\n').encode()


PAGES: dict[str, tuple[bytes, dict[str, str]]] = {
    "/": (_page("home", '<a href="/a.html">a</a> <a href="/uir.html">uir</a> <a href="/latin.html">latin</a>\n'
                        '<a href="/chunked.html">chunked</a> <a href="/gz.html">gz</a>\n'
                        '<img src="http://cdn.example/hero.jpg" srcset="http://cdn.example/hero-2x.jpg 2x">\n'
                        '<form action="http://forms.example/post"></form>'), {}),
    "/a.html": (_page("a", '<script src="http://cdn.example/app.js"></script>\n'
                           '<img src="http://192.0.2.7/pixel.gif">\n'
                           '<script>fetch("http://api.example/v1")</script>'), {}),
    "/uir.html": (_page("uir", '<img src="http://cdn.example/u.png"><iframe src="http://cdn.example/f"></iframe>'),
                  {"Content-Security-Policy": "upgrade-insecure-requests"}),
    "/latin.html": (LATIN, {"Content-Type": "text/html; charset=windows-1252"}),
    "/chunked.html": (_page("chunked", '<video poster="http://cdn.example/poster.jpg"></video>' + "<p>x</p>" * 300),
                      {}),
    "/gz.html": (_page("gz", '<audio src="http://cdn.example/a.mp3"></audio>' + "<p>y</p>" * 50), {}),
}


def site_app() -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/css/site.css":
            return web.Response(body=SITE_CSS, content_type="text/css")
        if path == "/css/more.css":
            return web.Response(body=MORE_CSS, content_type="text/css")
        if path not in PAGES:
            return web.Response(status=404, text="not found")
        body, headers = PAGES[path]
        headers = {"Content-Type": "text/html; charset=utf-8", **headers}
        if path == "/chunked.html":  # no Content-Length: chunked transfer-coding on the wire
            resp = web.StreamResponse(headers=headers)
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for i in range(0, len(body), 700):
                await resp.write(body[i:i + 700])
            await resp.write_eof()
            return resp
        if path == "/gz.html" and "gzip" in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=gzip.compress(body), headers={**headers, "Content-Encoding": "gzip"})
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    return app


@pytest.fixture(scope="module")
def archived_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """The loopback site, live, and a WARC of it made by Debian's wget (recursive, page requisites)."""
    wget = shutil.which("wget")
    if wget is None:
        if os.environ.get("CI"):
            pytest.fail("wget is not installed (.ci/run installs it)")
        pytest.skip("wget is not installed")
    tmp = tmp_path_factory.mktemp("wget")
    with serve(site_app(), hostnames=["127.0.0.1"]) as srv:
        prefix = str(tmp / "site")
        subprocess.run([wget, "--recursive", "--level=3", "--page-requisites", "--no-verbose",
                        "--compression=auto", f"--ca-certificate={srv.ca_file}", f"--warc-file={prefix}",
                        "--directory-prefix", str(tmp / "mirror"), "--no-host-directories",
                        srv.url("127.0.0.1", "/")],
                       check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        yield srv, prefix + ".warc.gz"


def _located(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["page"], f["offset"], f["code"])


def _without_location(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if k not in ("file", "record")}


def test_wget_archive_findings_equal_a_live_crawl_of_the_same_site(run, archived_site) -> None:  # type: ignore[no-untyped-def]
    srv, warc = archived_site
    archived = scan_json(run, warc)
    live = scan_json(run, srv.url("127.0.0.1", "/"), "--cacert", srv.ca_file, "--allow-private")
    assert live["errors"] == [] and archived["errors"] == []
    a = sorted((_without_location(f) for f in archived["findings"]), key=_located)
    b = sorted((_without_location(f) for f in live["findings"]), key=_located)
    assert a == b
    assert {f["file"] for f in live["findings"]} == {None}
    assert {(f["file"], f["record"]["target_uri"]) for f in archived["findings"]} == {
        (warc, f["page"]) for f in archived["findings"]}
    assert (archived["summary"]["pages"], archived["summary"]["stylesheets"]) == (6, 2)


def test_wget_archive_findings_cover_every_kind_the_site_holds(run, archived_site) -> None:  # type: ignore[no-untyped-def]
    _, warc = archived_site
    report = scan_json(run, warc)
    base = archived_site[0].url("127.0.0.1", "")
    got = sorted((f["page"].removeprefix(base), f["code"], f["raw"]) for f in report["findings"])
    assert got == sorted([
        # an <img> with a srcset picks even its src through the set: both are imageset requests
        ("/", "MC103", "http://cdn.example/hero.jpg"), ("/", "MC103", "http://cdn.example/hero-2x.jpg"),
        ("/", "MC201", "http://forms.example/post"),
        ("/a.html", "MC102", "http://cdn.example/app.js"), ("/a.html", "MC104", "http://192.0.2.7/pixel.gif"),
        ("/a.html", "MC401", "http://api.example/v1"),
        ("/latin.html", "MC101", "http://cdn.example/Ã©.png"),
        ("/chunked.html", "MC101", "http://cdn.example/poster.jpg"),
        ("/gz.html", "MC101", "http://cdn.example/a.mp3"),
        ("/css/site.css", "MC101", "http://cdn.example/bg.png"),
        ("/css/more.css", "MC102", "http://cdn.example/f.woff2"),
    ])


def test_wget_archive_offsets_index_payloads_as_received(run, archived_site) -> None:  # type: ignore[no-untyped-def]
    _, warc = archived_site
    report = scan_json(run, warc)
    bodies = {path: body for path, (body, _) in PAGES.items()}
    bodies["/css/site.css"], bodies["/css/more.css"] = SITE_CSS, MORE_CSS
    base = archived_site[0].url("127.0.0.1", "")
    for f in report["findings"]:
        body = bodies[f["page"].removeprefix(base)]
        encoding = "windows-1252" if f["page"].endswith("latin.html") else "utf-8"
        assert body[f["offset"]:f["offset"] + f["length"]].decode(encoding) == f["raw"], f


def test_wget_archive_records_are_chunked_and_gzip_on_the_wire(archived_site) -> None:  # type: ignore[no-untyped-def]
    # the two odd pages really were archived as sent (else the tests above prove less than they say)
    _, warc = archived_site
    with gzip.open(warc, "rb") as f:
        data = f.read()
    assert b"Transfer-Encoding: chunked" in data
    assert b"Content-Encoding: gzip" in data
