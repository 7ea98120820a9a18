"""Invariants of the rewrite, over generated pages in four encodings (hypothesis):
an empty edit set gives identical bytes; applying edits changes only bytes inside the edited spans;
after a rewrite, a rescan finds none of the rewritten URLs."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixedcontent
from mixedcontent.extract.source import decode_html
from mixedcontent.rewrite import apply_edits

ENCODINGS = {  # codec -> how the page declares it (BOM bytes or a meta charset)
    "utf-8": (b"", '<meta charset="utf-8">'),
    "utf-16-le": (b"\xff\xfe", ""),
    "cp1252": (b"", '<meta charset="windows-1252">'),
    "shift_jis": (b"", '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'),
}
TEXT = {"utf-8": "aé€日\u2603 \n", "utf-16-le": "aé€日\u2603 \r\n", "cp1252": "aé€ü \r\n", "shift_jis": "aア日本 \n"}

hosts = st.sampled_from(["a.example", "CDN.Example", "b.example:80", "c.example:8443"])
paths = st.sampled_from(["x.png", "p/q.js", "s.css", "v.mp4", "f.woff?x=1&amp;y=2"])
schemes = st.sampled_from(["http://", "HTTP://", "http:\\\\"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    return draw(schemes) + draw(hosts) + "/" + draw(paths)


@st.composite
def fragments(draw: st.DrawFn, codec: str) -> str:
    u = draw(urls())
    q = draw(st.sampled_from(['"', "'", ""]))
    return draw(st.sampled_from([
        f"<img src={q}{u}{q}>", f'<img srcset="{u} 1x, {draw(urls())} 2x">', f"<script src={q}{u}{q}></script>",
        f"<link rel=stylesheet href={q}{u}{q}>", f'<div style="background:url({u})">x</div>',
        f"<style>p {{ background: url('{u}') }}</style>", f"<a href={q}{u}{q}>link</a>",
        f"<video poster={q}{u}{q}></video>", f"<!-- <img src={u}> -->",
        draw(st.text(alphabet=TEXT[codec], max_size=12)),
    ]))


@st.composite
def pages(draw: st.DrawFn) -> tuple[str, bytes]:
    codec = draw(st.sampled_from(sorted(ENCODINGS)))
    bom, meta = ENCODINGS[codec]
    body = "".join(draw(st.lists(fragments(codec), min_size=1, max_size=8)))
    return codec, bom + f"<!doctype html><html><head>{meta}<title>t</title></head><body>{body}".encode(codec)


@given(pages())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_edits_give_identical_bytes(page: tuple[str, bytes]) -> None:
    _, data = page
    src = decode_html(data)
    assert apply_edits(src, []) == data


@given(pages())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_rewrite_changes_only_span_bytes_and_rescan_finds_none_of_them(page: tuple[str, bytes]) -> None:
    codec, data = page
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "p.html")
        with open(path, "wb") as f:
            f.write(data)
        planned = mixedcontent.fix([d], unsafe=True, dry_run=True).edits
        result = mixedcontent.fix([d], unsafe=True)
        with open(path, "rb") as f:
            new = f.read()
        edits = sorted(result.edits, key=lambda e: e.offset)
        assert [(e.offset, e.new) for e in edits] == [(e.offset, e.new) for e in sorted(planned, key=lambda e: e.offset)]
        # walk both files: outside the spans byte-identical, inside each span the new text
        pos = npos = 0
        for e in edits:
            gap = e.offset - pos
            assert new[npos:npos + gap] == data[pos:e.offset]
            npos += gap
            pos = e.offset + e.length
            assert data[e.offset:pos].decode(codec) == e.old
            piece_len = len(e.new.encode(codec))
            assert new[npos:npos + piece_len].decode(codec) == e.new
            npos += piece_len
        assert new[npos:] == data[pos:]
        rewritten = {e.url for e in edits}
        rescan = mixedcontent.scan([d])
        assert not rewritten & {f.url for f in rescan.findings}
        # and nothing was fixed that a rescan would still call http
        assert all(not (f.code.startswith("MC1") and f.fix and f.fix.applicability.value == "unsafe")
                   for f in rescan.findings)
