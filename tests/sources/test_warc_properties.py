"""Fuzz properties of the WARC reader (mixedcontent/sources/warc.py): an archive made of generated
records (pages with generated markup, chunked or gzip-encoded or neither, plain or gzip members),
then damaged at random (bytes flipped, cut short, garbage inserted), is indexed without raising;
every entry is read as a Response or a one-line reason, never an exception; and every reference
extracted from a payload read back has span bytes that decode to exactly its raw text."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import FRAGMENTS
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import decode_html
from mixedcontent.net import Response
from mixedcontent.sources.warc import index_archive, read_response

bodies = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)
records = st.lists(
    st.tuples(
        bodies,
        st.sampled_from(["plain", "chunked", "gzip"]),
        st.sampled_from(["200 OK", "404 Not Found", "301 Moved"]),
    ),
    min_size=1,
    max_size=4,
)
damage = st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.floats(0, 1), st.binary(max_size=8)), max_size=3
)


def _chunked(data: bytes) -> bytes:
    return (
        b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + 7]), data[i : i + 7]) for i in range(0, len(data), 7))
        + b"0\r\n\r\n"
    )


def _archive(recs: list[tuple[str, str, str]], gz: bool) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    for i, (body, coding, status) in enumerate(recs):
        data = body.encode("utf-8", "surrogatepass")
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if coding == "chunked":
            data, headers = _chunked(data), [*headers, ("Transfer-Encoding", "chunked")]
        elif coding == "gzip":
            data, headers = gzip.compress(data), [*headers, ("Content-Encoding", "gzip")]
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                f"https://site.example/{i}.html", "response", payload=io.BytesIO(data), http_headers=http
            )
        )
    return out.getvalue()


def _damaged(data: bytes, edits: list[tuple[str, float, bytes]]) -> bytes:
    for kind, where, junk in edits:
        i = int(where * len(data))
        if kind == "flip" and data:
            i = min(i, len(data) - 1)
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
        elif kind == "cut":
            data = data[:i]
        else:
            data = data[:i] + junk + data[i:]
    return data


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(records, st.booleans(), damage)
def test_damaged_archives_are_read_without_raising_and_spans_equal_raw(
    tmp_path: Path, recs: list[tuple[str, str, str]], gz: bool, edits: list[tuple[str, float, bytes]]
) -> None:
    path = tmp_path / "fuzz.warc.gz"
    path.write_bytes(_damaged(_archive(recs, gz), edits))
    index = index_archive(str(path))
    if not edits:
        assert [e.offset for e in index.entries] and index.errors == ()
    for entry in index.entries:
        resp = read_response(str(path), entry.offset, 10_000_000)
        if isinstance(resp, str):
            assert "\n" not in resp
            continue
        assert isinstance(resp, Response)
        src = decode_html(resp.body)
        for ref in extract_html(src, PageContext(entry.uri, True)).references:
            assert src.decode(src.data[ref.span.start : ref.span.end]) == ref.raw, ref
