"""Bad input never gives a traceback: each problem is one error entry, the rest is scanned."""

from __future__ import annotations

import json
import os

from contract import check_report


def _scan_json(run, *args):  # type: ignore[no-untyped-def]
    r = run("scan", *args, "--format", "json")
    assert r.code in (0, 1), r.err
    assert "Traceback" not in r.err
    return json.loads(r.out)


def _good(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "good.html").write_text('<img src="http://cdn.example/ok.png">')


def test_binary_file_named_html(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _good(tmp_path)
    (tmp_path / "logo.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    rep = _scan_json(run, str(tmp_path))
    assert rep["errors"] == [{"file": "logo.html", "path": os.path.relpath(tmp_path / "logo.html"), "url": None,
                              "message": "not an HTML file: binary content"}]
    assert rep["summary"]["findings"] == 1


def test_invalid_utf8_bytes_keep_spans_exact(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.html").write_bytes(b'<meta charset=utf-8>\xff\xfe\xc3<img src="http://cdn.example/a.png">\x80')
    rep = _scan_json(run, str(tmp_path))
    f = rep["findings"][0]
    data = (tmp_path / "bad.html").read_bytes()
    assert data[f["offset"]:f["offset"] + f["length"]] == b"http://cdn.example/a.png"


def test_truncated_markup(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "cut.html").write_text('<img src="http://cdn.example/a.png"><img src="http://cdn.example/b.pn')
    rep = _scan_json(run, str(tmp_path))
    assert [f["raw"] for f in rep["findings"]] == ["http://cdn.example/a.png"]


def test_deeply_nested_tags(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    html = "<div>" * 200_000 + '<img src="http://cdn.example/deep.png">' + "</div>" * 200_000
    (tmp_path / "deep.html").write_text(html)
    rep = _scan_json(run, str(tmp_path))
    assert [f["raw"] for f in rep["findings"]] == ["http://cdn.example/deep.png"]


def test_absurd_markup(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    html = "<" * 100_000 + "<a " + "b=" * 50_000 + "<!--" * 10_000 + '"' * 10_001 + "<img src=http://x.example/a.png>"
    (tmp_path / "absurd.html").write_text(html)
    _scan_json(run, str(tmp_path))


def test_large_page_is_scanned_and_limit_is_an_error_entry(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = ("<p>" + "lorem ipsum " * 80 + "</p>\n") * 20_000  # ~20 MB
    (tmp_path / "big.html").write_text(body + '<img src="http://cdn.example/end.png">')
    rep = _scan_json(run, str(tmp_path))
    assert [f["raw"] for f in rep["findings"]] == ["http://cdn.example/end.png"]
    rep = _scan_json(run, str(tmp_path), "--max-file-size", "1")
    assert rep["findings"] == [] and "over the 1 MB limit" in rep["errors"][0]["message"]


def test_a_file_longer_than_its_stat_size_is_read_whole_and_held_to_the_limit() -> None:
    """files.read sizes its read by fstat; a file that grew since (here a /proc file, whose size says 0)
    is read on to the end, or to the limit, past which it is an error entry's message."""
    from mixedcontent.sources.files import read

    assert os.stat("/proc/self/mountinfo").st_size == 0
    with open("/proc/self/mountinfo", "rb") as f:
        whole = f.read()
    assert len(whole) > 20
    data = read("/proc/self/mountinfo", "mountinfo", 10_000_000)
    assert isinstance(data, bytes) and data.split(b"\n")[0] == whole.split(b"\n")[0]
    assert len(data) > 20
    assert read("/proc/self/mountinfo", "mountinfo", 10) == "file grew over the 0 MB limit while being read"


def test_symlink_loop_and_outside_links(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    site.mkdir()
    _good(site)
    (site / "loop").symlink_to(site, target_is_directory=True)
    (site / "self.html").symlink_to(site / "self.html")
    outside = tmp_path / "secret.html"
    outside.write_text('<img src="http://cdn.example/outside.png">')
    (site / "leak.html").symlink_to(outside)
    rep = _scan_json(run, str(site), "--follow-symlinks")
    messages = {e["file"]: e["message"] for e in rep["errors"]}
    assert "symlink" in messages["leak.html"] and "outside" in messages["leak.html"]
    assert "self.html" in messages
    assert [f["raw"] for f in rep["findings"]] == ["http://cdn.example/ok.png"]
    rep = _scan_json(run, str(site), "--follow-symlinks-outside")
    assert "http://cdn.example/outside.png" in [f["raw"] for f in rep["findings"]]


def test_broken_symlink_and_directory_named_html(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _good(tmp_path)
    (tmp_path / "gone.html").symlink_to(tmp_path / "missing.html")
    (tmp_path / "dir.html").mkdir()
    rep = _scan_json(run, str(tmp_path))
    assert [e["file"] for e in rep["errors"]] == ["gone.html"]
    assert rep["summary"]["pages"] == 1


def test_strict_makes_errors_exit_2(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _good(tmp_path)
    (tmp_path / "logo.html").write_bytes(b"GIF89a\x00\x00")
    assert run("scan", str(tmp_path), "--fail-on", "never").code == 0
    r = run("scan", str(tmp_path), "--strict", "--fail-on", "never")
    assert r.code == 2


def test_utf16_and_legacy_encodings_pass_the_contract_checker(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    img = '<img src="http://cdn.example/{}.png">'
    (tmp_path / "u16.html").write_bytes("\ufeff<p>日本</p>".encode("utf-16-le") + img.format("u16").encode("utf-16-le"))
    (tmp_path / "u8bom.html").write_bytes(b"\xef\xbb\xbf<p>\xc3\xa9</p>" + img.format("bom").encode())
    (tmp_path / "w1252.html").write_bytes(b"<meta charset=windows-1252><p>caf\xe9 \x80</p>" + img.format("w").encode())
    (tmp_path / "sjis.html").write_bytes('<meta charset="Shift_JIS"><p>日本語</p>'.encode("cp932") + img.format("s").encode())
    (tmp_path / "l2.html").write_bytes(
        b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2"><p>\xb1\xe6</p>' + img.format("l2").encode())
    report = tmp_path / "r.json"
    r = run("scan", str(tmp_path), "--format", "json", "--output", str(report))
    assert r.code == 0
    checked = check_report(json.loads(report.read_text()), tmp_path)
    assert (checked.findings, checked.spans) == (5, 5)


def test_shift_jis_duplicate_codes_keep_a_valid_span(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # cp932 decodes both 0x8790 (NEC row 13) and 0x81E0 to U+2252; re-encoding gives 0x81E0, so a span
    # check by encoding would reject this correct span
    data = b'<meta charset=shift_jis><img src="http://cdn.example/a' + bytes([0x87, 0x90]) + b'.png">'
    (tmp_path / "p.html").write_bytes(data)
    rep = _scan_json(run, str(tmp_path))
    assert rep["errors"] == []
    f = rep["findings"][0]
    assert data[f["offset"]:f["offset"] + f["length"]] == b"http://cdn.example/a\x87\x90.png"
    assert f["raw"] == "http://cdn.example/a\u2252.png"


# ---- issue 15 items 5, 6, 11: every report stays valid UTF-8, stderr stays inert ----------------------

_SCAN_FORMATS = ("json", "sarif", "junit", "github", "text", "html")


def _undecodable_site(tmp_path):  # type: ignore[no-untyped-def]
    """A UTF-8 stylesheet and style attribute whose CSS property name holds the byte 0x9f, invalid in UTF-8."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_bytes(b'<meta charset=utf-8><link rel=stylesheet href=s.css>'
                                      b'<p style="b\x9f:url(http://cdn.example/p.png)">x</p>\n')
    (site / "s.css").write_bytes(b"a{b\x9f:url(http://cdn.example/s.png)}\n")
    return site


def test_an_undecodable_byte_in_a_css_property_keeps_every_report_valid_utf8(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = _undecodable_site(tmp_path)
    for fmt in _SCAN_FORMATS:
        r = run("scan", str(site), "--format", fmt)
        assert r.code == 0, (fmt, r.err)
        r.out.encode("utf-8")  # strict: a lone surrogate here would raise (and be invalid UTF-8 on stdout)
        out = tmp_path / f"report.{fmt}"
        r = run("scan", str(site), "--format", fmt, "--output", str(out))
        assert r.code == 0, (fmt, r.err)
        out.read_bytes().decode("utf-8")
        assert "http://cdn.example/s.png" in out.read_text(), fmt
    # the shown form: a visible escape in text-like formats, U+FFFD in SARIF
    assert "b\\udc9f" in run("scan", str(site), "--format", "text").out
    assert "b\\udc9f" in run("scan", str(site), "--format", "github").out
    assert "b\\udc9f" in run("scan", str(site), "--format", "junit").out
    assert "b\ufffd" in run("scan", str(site), "--format", "sarif").out


def test_json_report_writes_an_undecodable_byte_as_an_escape_that_round_trips(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = _undecodable_site(tmp_path)
    r = run("scan", str(site), "--format", "json")
    assert "\\udc9f" in r.out  # the JSON escape, ASCII on the wire
    rep = json.loads(r.out)
    sheet = next(f for f in rep["findings"] if f["file"] == "s.css")
    assert sheet["attribute"] == "b\udc9f"  # U+DC80 + 0x9f: the byte, as documented in the schema
    data = (site / "s.css").read_bytes()
    assert sheet["raw"] == "http://cdn.example/s.png"
    assert data[sheet["offset"]:sheet["offset"] + sheet["length"]] == sheet["raw"].encode("utf-8", "surrogateescape")


def _latin1_named_site(tmp_path):  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    site.mkdir()
    name = b"caf\xe9.html"  # Latin-1: not valid UTF-8
    with open(os.path.join(os.fsencode(str(site)), name), "wb") as fh:
        fh.write(b'<img src="http://cdn.example/a.png">\n')
    (site / "ok.html").write_text('<img src="http://cdn.example/b.png">\n')
    return site, os.path.join(os.fsencode(str(site)), name)


def test_a_file_name_that_is_not_utf8_is_scanned_and_named_in_valid_utf8(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site, _ = _latin1_named_site(tmp_path)
    for fmt in _SCAN_FORMATS:
        r = run("scan", str(site), "--format", fmt)
        assert r.code == 0, (fmt, r.err)
        r.out.encode("utf-8")
    rep = json.loads(run("scan", str(site), "--format", "json").out)
    assert rep["summary"]["pages"] == 2 and rep["summary"]["findings"] == 2
    named = next(f for f in rep["findings"] if f["raw"] == "http://cdn.example/a.png")
    assert os.fsencode(named["file"]) == b"caf\xe9.html"  # the escape round-trips to the real name
    assert named["page"] == "https://example.invalid/caf%E9.html"  # the bytes a server would be asked for
    again = json.loads(run("scan", str(site), "--format", "json").out)
    assert [f["fingerprint"] for f in again["findings"]] == [f["fingerprint"] for f in rep["findings"]]
    assert "caf\\udce9.html:1:11: MC101" in run("scan", str(site)).out


def test_a_stylesheet_whose_name_is_not_utf8_is_found_from_its_percent_encoded_url(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site, _ = _latin1_named_site(tmp_path)
    (site / "ok.html").write_text('<link rel=stylesheet href="st%E9.css">')
    with open(os.path.join(os.fsencode(str(site)), b"st\xe9.css"), "wb") as fh:
        fh.write(b"a{background:url(http://cdn.example/s.png)}")
    rep = json.loads(run("scan", str(site), "--format", "json").out)
    sheet = [f for f in rep["findings"] if f["raw"] == "http://cdn.example/s.png"]
    assert len(sheet) == 1 and os.fsencode(sheet[0]["file"]) == b"st\xe9.css"
    assert sheet[0]["page"] == "https://example.invalid/st%E9.css"


def test_fix_rewrites_a_file_whose_name_is_not_utf8(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site, path = _latin1_named_site(tmp_path)
    r = run("fix", str(site), "--unsafe", "--format", "json")
    assert r.code == 0, r.err
    r.out.encode("utf-8")
    files = {os.fsencode(f["file"]): f["status"] for f in json.loads(r.out)["files"]}
    assert files == {b"caf\xe9.html": "rewritten", b"ok.html": "rewritten"}
    with open(path, "rb") as fh:
        assert fh.read() == b'<img src="https://cdn.example/a.png">\n'


def test_error_entries_echoed_to_stderr_are_escaped(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _good(tmp_path)
    hostile = "\x1b]0;owned\x07\x1b[2J.html"
    os.symlink(str(tmp_path / "missing"), str(tmp_path / hostile))  # a broken symlink: an error entry
    for fmt in ("json", "sarif", "github"):
        r = run("scan", str(tmp_path), "--format", fmt)
        assert r.code == 0, r.err
        assert "\x1b" not in r.err and "\x07" not in r.err, r.err
        assert "\\x1b]0;owned\\x07\\x1b[2J.html: broken symlink" in r.err
    r = run("fix", str(tmp_path), "--unsafe")
    assert "\x1b" not in r.err + r.out


def test_csp_suggestion_stays_valid_utf8_with_a_file_name_that_is_not_utf8(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site, _ = _latin1_named_site(tmp_path)
    for fmt in ("json", "text"):
        r = run("csp", str(site), "--format", fmt)
        assert r.code == 0, r.err
        r.out.encode("utf-8")


def test_shards_stay_valid_utf8_with_an_undecodable_byte(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from warcs import http_response, write_warc

    def records(w):  # type: ignore[no-untyped-def]
        body = b'<meta charset=utf-8><p style="b\x9f:url(http://cdn.example/p.png)">x</p>'
        return [http_response(w, "https://site.example/p.html", body, [("Content-Type", "text/html")])]

    archive = str(tmp_path / "a.warc.gz")
    write_warc(archive, records)
    shards = tmp_path / "shards"
    r = run("scan", archive, "--shards", str(shards), "--format", "json")
    assert r.code == 0, r.err
    lines = [line for p in sorted(shards.glob("*.jsonl")) for line in p.read_bytes().decode("utf-8").splitlines()]
    assert any(json.loads(line).get("finding", {}).get("attribute") == "style" for line in lines)
    assert "b\\udc9f" in "".join(lines)
