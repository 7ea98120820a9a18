"""Web archives as a source (``mixedcontent scan crawl.warc.gz``): WARC 1.0/1.1 and ARC files, plain
or gzip-compressed (a member per record, or the whole file), read with warcio.

index    one pass over a file: an ``Entry`` for every response, revisit and resource record with an
         http(s) target URI (its offset, HTTP status, media type, digests). A stretch that cannot be
         read (a corrupt gzip member, garbage, a record cut short by the end of the file) becomes an
         errors entry, and the reader resynchronises on the next record start after it;
Archive  the entries of every input: which records are pages (2xx, HTML or XHTML, as the crawler
         decides), revisits resolved to their originals, stylesheet URLs located (redirects
         followed inside the archive), and records that cannot be judged (non-HTTP, truncated)
         reported;
read     one record at its offset, as a ``net.Response``: its HTTP headers and its payload as the
         browser received it (chunked transfer-coding removed, Content-Encoding decoded), so that
         finding offsets index into the same bytes as a live crawl's.

Why warcio: it reads ARC as well as WARC and decodes payloads as served; FastWARC reads records
about three times faster, but reading is a small part of a scan (scripts/bench_warc.py measures
both: README "Web archives and clusters").
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import urls
from ..model import ArchiveRecord, Document, DocumentKind, ScanError
from ..net import Hop, Response, media_type
from . import ARCHIVE_SUFFIXES, is_archive  # told apart by name in the package (start-up: issue 19)
from .crawl import PAGE_TYPES, page_kind

if TYPE_CHECKING:
    from warcio.recordloader import ArcWarcRecord  # type: ignore[import-untyped]


def ArchiveIterator(fh: Any, **kw: Any) -> Any:  # noqa: N802 - warcio's, imported on first use
    """warcio's ArchiveIterator, imported when an archive is first read (warcio and what it pulls in
    cost ~30 ms of start-up that scans of sites never need)."""
    from warcio.archiveiterator import ArchiveIterator as Iterator  # type: ignore[import-untyped]

    return Iterator(fh, **kw)


MAX_REDIRECTS = 10  # followed inside the archive when a stylesheet URL was captured as a redirect
_DOCUMENT_TYPES = (*PAGE_TYPES, "text/css")
_RESYNC_WINDOW = 1 << 20  # bytes read at a time while looking for the next record start
_RECORD_START = re.compile(rb"(?:^|\n)(WARC/[01]\.[0-9]\r?\n)")
_GZIP_MEMBER = b"\x1f\x8b\x08"
_BLANK = re.compile(rb"[\r\n\t \x00]*\Z")


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of an archive file, as the index keeps it (no payload)."""

    offset: int  # byte offset of the record in the file as stored (its gzip member's start)
    length: int  # bytes the record takes in the file as stored
    kind: str  # WARC-Type: response, revisit, resource
    uri: str  # WARC-Target-URI, WHATWG-normalised, fragment dropped
    record_id: str | None
    date: str | None  # WARC-Date
    status: int | None  # HTTP status; None without an HTTP response in the record
    media: str | None  # media type of the HTTP Content-Type (resource records: the WARC Content-Type)
    location: str | None  # the Location header
    digest: str | None  # WARC-Payload-Digest
    refers_to: str | None  # revisits: WARC-Refers-To (a record id)
    refers_to_uri: str | None  # revisits: WARC-Refers-To-Target-URI
    refers_to_date: str | None  # revisits: WARC-Refers-To-Date
    truncated: str | None  # WARC-Truncated: the crawler cut the payload short (length, time, ...)


@dataclass(frozen=True, slots=True)
class ArchiveIndex:
    path: str  # where it is read from
    name: str  # how reports name it (the path as given)
    entries: tuple[Entry, ...]
    errors: tuple[ScanError, ...]
    records: int  # records read, of any type


@dataclass(frozen=True, slots=True)
class Doc:
    """A record to scan as a page: the record itself, and where its payload is (a revisit's is its
    original's, possibly in another file)."""

    path: str
    offset: int
    uri: str
    length: int  # of the record in the file: what a range of work is sized by
    payload: tuple[str, int] | None = None  # (path, offset) of the original, for a revisit
    headers_from_payload: bool = False  # a revisit without its own 2xx headers: the original's count


@dataclass(frozen=True, slots=True)
class _Effective:
    head: Entry  # whose HTTP status and media type count
    payload: tuple[str, int] | None  # where the payload is, when not in the record itself
    headers_from_payload: bool
    truncated: str | None  # WARC-Truncated of the record or of its original


@dataclass(frozen=True, slots=True)
class Located:
    """Where a stylesheet URL leads in the archive: the record (a revisit: with its original)."""

    url: str  # final URL, after redirects captured in the archive
    path: str
    entry: Entry  # the capture at ``url``
    headers_from: Entry  # whose HTTP status and media type count (a revisit's original when it has none)
    payload: tuple[str, int] | None  # a revisit's original
    headers_from_payload: bool
    redirects: tuple[Hop, ...] = ()


# ---- reading ------------------------------------------------------------------------------------


def _normal_uri(raw: str | None) -> str | None:
    """A target URI as the crawler names pages: WHATWG-normalised, without fragment. WARC 1.0
    writers sometimes put it in angle brackets."""
    if not raw:
        return None
    raw = raw.strip()
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    resolved = urls.resolve(raw, "about:blank")
    if resolved is None or urls.scheme(resolved) not in ("http:", "https:"):
        return None
    return urls.without_fragment(resolved)


def _status(record: ArcWarcRecord) -> int | None:
    if record.http_headers is None:
        return None
    try:
        return int(record.http_headers.get_statuscode())
    except (TypeError, ValueError):
        return None


def _entry(record: ArcWarcRecord, offset: int, length: int, uri: str) -> Entry:
    h = record.rec_headers
    http = record.http_headers
    if record.rec_type == "resource" or http is None:
        media = media_type(h.get_header("Content-Type"))
        location = None
    else:
        media = media_type(http.get_header("Content-Type"))
        location = http.get_header("Location")
    refers_uri = h.get_header("WARC-Refers-To-Target-URI")
    return Entry(offset=offset, length=length, kind=record.rec_type, uri=uri,
                 record_id=h.get_header("WARC-Record-ID"), date=h.get_header("WARC-Date"),
                 status=_status(record) if record.rec_type != "resource" else None, media=media,
                 location=location, digest=h.get_header("WARC-Payload-Digest"),
                 refers_to=h.get_header("WARC-Refers-To"),
                 refers_to_uri=_normal_uri(refers_uri) if refers_uri else None,
                 refers_to_date=h.get_header("WARC-Refers-To-Date"), truncated=h.get_header("WARC-Truncated"))


def _cut_short(record: ArcWarcRecord) -> bool:
    """The file ended before the record's Content-Length did (read after ``read_to_end``)."""
    limit = getattr(record.raw_stream, "limit", 0)
    return isinstance(limit, int) and limit > 0


def _next_start(f: object, pos: int, size: int, gz: bool) -> int | None:
    """The offset of the first readable record that starts at or after ``pos``: a gzip member header
    (in a compressed file) or a ``WARC/1.x`` line (in a plain one) where a record really begins."""
    fh = f  # a binary file object
    start = pos
    while start < size:
        fh.seek(start)  # type: ignore[attr-defined]
        window = fh.read(_RESYNC_WINDOW + 16)  # type: ignore[attr-defined]
        if not window:
            return None
        candidates: list[int] = []
        if gz:
            i = window.find(_GZIP_MEMBER)
            while i >= 0:
                candidates.append(start + i)
                i = window.find(_GZIP_MEMBER, i + 1)
        else:
            candidates = [start + m.start(1) for m in _RECORD_START.finditer(window)]
        for cand in candidates:
            if cand >= pos and _readable_at(fh, cand, gz):
                return cand
        start += _RESYNC_WINDOW
    return None


def _skip_blank(f: object, pos: int, size: int) -> int:
    """``pos`` moved past the blank lines that separate records."""
    f.seek(pos)  # type: ignore[attr-defined]
    chunk = f.read(4096)  # type: ignore[attr-defined]
    return min(size, pos + len(chunk) - len(chunk.lstrip(b"\r\n\t \x00")))


def _partial_head(f: object, pos: int, gz: bool) -> bytes | None:
    """The first bytes of a record that starts at ``pos`` (decompressed as far as they go), or None
    when no record starts there."""
    f.seek(pos)  # type: ignore[attr-defined]
    data = f.read(64 * 1024)  # type: ignore[attr-defined]
    if gz:
        if not data.startswith(_GZIP_MEMBER):
            return None
        try:
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 64 * 1024)
        except zlib.error:
            return None
    return data if data.startswith(b"WARC/") else None


def _header(head: bytes, name: bytes) -> str | None:
    m = re.search(rb"\r?\n" + re.escape(name) + rb":[ \t]*([^\r\n]*)", head, re.IGNORECASE)
    return m.group(1).decode("utf-8", "replace").strip() if m else None


def _member_inside(fh: object, offset: int, length: int) -> int | None:
    """The first offset strictly inside the record at [offset, offset+length) where a readable
    record (gzip member) starts, if any."""
    fh.seek(offset + 1)  # type: ignore[attr-defined]
    data = fh.read(max(0, length - 1))  # type: ignore[attr-defined]
    i: int = data.find(_GZIP_MEMBER)
    while i >= 0:
        cand = offset + 1 + i
        if _readable_at(fh, cand):
            return cand
        i = data.find(_GZIP_MEMBER, i + 1)
    return None


# how a record begins once decompressed: a WARC version line, or an ARC header line (URL, IP address,
# 14-digit date, media type, length; ARC v2 adds fields after them)
_RECORD_HEAD = re.compile(rb"WARC/[01]\.[0-9]\r?\n|\S+ \S+ [0-9]{14} \S* ?[0-9]+")


def _looks_like_record(fh: object, offset: int) -> bool:
    """A gzip member starts at ``offset`` and what it inflates to begins like a record. Bytes that
    merely look like a gzip header occur inside compressed data by chance (about once in 16 M
    positions), and warcio, failing to inflate them, may read the raw bytes as a lenient ARC line."""
    fh.seek(offset)  # type: ignore[attr-defined]
    data = fh.read(4096)  # type: ignore[attr-defined]
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 256)
    except zlib.error:
        return False
    return _RECORD_HEAD.match(head) is not None


def _readable_at(fh: object, offset: int, gz: bool = True) -> bool:
    if gz and not _looks_like_record(fh, offset):
        return False
    try:
        fh.seek(offset)  # type: ignore[attr-defined]
        record = next(iter(ArchiveIterator(fh, arc2warc=True)))
        return bool(record.rec_type)
    except Exception:  # noqa: BLE001 - any failure means "no record starts here"
        return False


def _describe(e: Exception) -> str:
    """What went wrong, in words (never the garbage bytes themselves)."""
    from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]

    if isinstance(e, ArchiveLoadFailed):
        return "not the start of a WARC or ARC record"
    if isinstance(e, (zlib.error, EOFError, OSError)):
        return f"corrupt compressed data ({type(e).__name__})"
    return f"a corrupt or truncated record ({type(e).__name__})"


def index_archive(path: str, name: str | None = None) -> ArchiveIndex:
    """Read every record header of one archive file. Never raises for bad content: unreadable
    stretches become errors entries (named ``name``, else ``path``) and reading resumes at the next
    record start. Raises OSError only when the file cannot be opened."""
    name = path if name is None else name
    entries: list[Entry] = []
    errors: list[ScanError] = []
    records = 0
    size = os.path.getsize(path)
    with open(path, "rb") as f, open(path, "rb") as raw:
        gz = f.read(2) == _GZIP_MEMBER[:2]
        pos: int | None = 0
        while pos is not None and pos < size:
            f.seek(pos)
            it = ArchiveIterator(f, arc2warc=True)
            end = pos  # where the last good record ended
            problem: str | None = None
            jump: int | None = None
            try:
                for record in it:
                    offset = it.get_record_offset()  # reads the record to its end
                    length = it.get_record_length()
                    # a corrupt gzip member can inflate to garbage whose lengths swallow the next
                    # members: in a .warc.gz each record is one member, so a readable record starting
                    # inside this one means this one is damaged
                    inner = _member_inside(raw, offset, length) if gz else None
                    if inner is not None:
                        errors.append(ScanError(name, None, f"unreadable data at offset {offset}: a damaged "
                                                            f"record; reading resumed at offset {inner}"))
                        jump = inner
                        break
                    uri = _normal_uri(record.rec_headers.get_header("WARC-Target-URI"))
                    if _cut_short(record):
                        errors.append(ScanError(name, uri, f"record at offset {offset} is truncated: the file ends "
                                                           f"inside it; skipped"))
                        end = size
                        break
                    end = offset + length
                    records += 1
                    if uri is not None and record.rec_type in ("response", "revisit", "resource"):
                        entries.append(_entry(record, offset, length, uri))
            except Exception as e:  # noqa: BLE001 - a corrupt record: report it and resynchronise
                problem = _describe(e)
            if jump is not None and problem is None:
                pos = jump
                continue
            if problem is None and end < size:
                f.seek(end)
                rest = f.read(64 * 1024)
                if _BLANK.match(rest) and end + len(rest) >= size:
                    break  # trailing padding
                problem = "data that is not a complete record"
            if problem is None:
                break
            bad = _skip_blank(f, end, size)
            # resume at the first record start from there (from the next byte when this pass read nothing)
            resume = _next_start(f, bad if end > pos else pos + 1, size, gz)
            head = _partial_head(f, bad, gz)
            if resume is None and head is not None:
                uri = _normal_uri(_header(head, b"WARC-Target-URI"))
                errors.append(ScanError(name, uri, f"record at offset {bad} is truncated: the file ends inside it; "
                                                   f"skipped"))
            elif resume == bad:
                # the reader lost its place on junk just before a good record: nothing here is lost
                errors.append(ScanError(name, None, f"unreadable data just before offset {bad} ({problem}); reading "
                                                    f"resumed there"))
            else:
                then = f"reading resumed at offset {resume}" if resume is not None else "nothing after it could be read"
                errors.append(ScanError(name, None, f"unreadable data at offset {bad}: {problem}; {then}"))
            pos = resume
    return ArchiveIndex(path, name, tuple(entries), tuple(errors), records)


def read_response(path: str, offset: int, max_size: int, payload: tuple[str, int] | None = None,
                  headers_from_payload: bool = False) -> Response | str:
    """The record at ``offset`` of ``path`` as the response the browser received, or why it cannot
    be read (one line). ``payload``: read the body from that (path, offset) instead (a revisit's
    original); ``headers_from_payload``: take the status and headers from there too. The body is
    decoded as served: chunked transfer-coding removed, Content-Encoding (gzip, deflate, br) undone,
    so that offsets index into the bytes a browser parses."""
    try:
        with ExitStack() as stack:
            record = _load(stack, path, offset)
            uri = _normal_uri(record.rec_headers.get_header("WARC-Target-URI")) or ""
            source = record if payload is None else _load(stack, *payload)
            head = source if headers_from_payload else record
            status = _status(head)
            headers = tuple(head.http_headers.headers) if head.http_headers is not None else ()
            body = source.content_stream().read(max_size + 1)
    except Exception as e:  # noqa: BLE001 - bad content is a value, not a crash
        return f"cannot be read: {type(e).__name__}: {e}"[:300]
    if len(body) > max_size:
        return f"payload over the {max_size / 1e6:.0f} MB limit (--max-file-size)"
    return Response(url=uri, final_url=uri, status=status, headers=headers, body=body, redirects=(), error=None,
                    detail=None, tls=bool(uri) and urls.scheme(uri) == "https:")


def _load(stack: ExitStack, path: str, offset: int) -> ArcWarcRecord:
    """The record at ``offset``; its stream reads from a file that stays open until ``stack`` closes."""
    f = stack.enter_context(open(path, "rb"))  # noqa: SIM115 - closed by the stack
    f.seek(offset)
    return next(iter(ArchiveIterator(f, arc2warc=True)))


def document(resp: Response, record: ArchiveRecord) -> Document | None:
    """An archived 2xx response as a Document, judged as it was served, or None when it is not a page
    (the crawl's content-type dispatch). Its findings are named by the page URL (as a crawl's, so
    that fingerprints match the crawl's), and by the archive and ``record`` in reports."""
    if resp.status is None or not 200 <= resp.status < 300:
        return None
    xml = page_kind(resp.content_type, resp.body)
    if xml is None:
        return None
    # CSP3 §3.1: only Content-Security-Policy is enforced (Report-Only never is); several headers are
    # one comma-separated list of policies
    csp = ", ".join(resp.header_all("Content-Security-Policy")) or None
    return Document(data=resp.body, url=resp.url, kind=DocumentKind.XHTML if xml else DocumentKind.HTML,
                    tls=resp.tls, served=True, csp=csp, charset=resp.charset, record=record)


# ---- the archive as a whole ---------------------------------------------------------------------


class _Originals:
    """Response records (the only ones a revisit can refer to) by record id, URI and date, payload
    digest, and URI; the first of each in input order."""

    def __init__(self, indexes: Sequence[ArchiveIndex]) -> None:
        self.by_id: dict[str, tuple[str, Entry]] = {}
        self.by_uri_date: dict[tuple[str, str], tuple[str, Entry]] = {}
        self.by_digest: dict[str, tuple[str, Entry]] = {}
        self.by_uri: dict[str, tuple[str, Entry]] = {}
        for index in indexes:
            for e in index.entries:
                if e.kind != "response" or e.status is None:
                    continue
                where = (index.path, e)
                if e.record_id:
                    self.by_id.setdefault(e.record_id, where)
                if e.date:
                    self.by_uri_date.setdefault((e.uri, e.date), where)
                if e.digest:
                    self.by_digest.setdefault(e.digest, where)
                self.by_uri.setdefault(e.uri, where)


class Archive:
    """The records of every input archive, found by target URI, record id and payload digest. The
    first capture of a URI (in input order, then by offset) is the one a stylesheet URL resolves to."""

    def __init__(self, indexes: Sequence[ArchiveIndex]) -> None:
        self.indexes = list(indexes)
        self._by_uri: dict[str, tuple[str, Entry]] = {}
        self.hosts: set[str] = set()
        for index in self.indexes:
            for e in index.entries:
                self.hosts.add(urls.host(e.uri))
                if e.kind in ("response", "revisit"):
                    self._by_uri.setdefault(e.uri, (index.path, e))
        self._originals: _Originals | None = None  # built when the first revisit asks (most archives have few)

    def original(self, e: Entry) -> tuple[str, Entry] | None:
        """A revisit's original response record (WARC 1.1 §6.7): by WARC-Refers-To, else by the
        referred target URI and date, else by payload digest, else the first response capture of
        the referred (or its own) URI."""
        if self._originals is None:
            self._originals = _Originals(self.indexes)
        o = self._originals
        found = o.by_id.get(e.refers_to) if e.refers_to else None
        if found is None and e.refers_to_uri and e.refers_to_date:
            found = o.by_uri_date.get((e.refers_to_uri, e.refers_to_date))
        if found is None and e.digest:
            found = o.by_digest.get(e.digest)
        if found is None:
            found = o.by_uri.get(e.refers_to_uri or e.uri)
        return found

    def _effective(self, e: Entry) -> _Effective | str:
        """How a response or revisit record was served, or why that cannot be told (one line)."""
        if e.kind == "response":
            return _Effective(e, None, False, e.truncated)
        original = self.original(e)
        if original is None:
            return "is a revisit whose original record is not in the archive"
        path, orig = original
        # identical-payload-digest revisits carry the new response's headers; server-not-modified
        # ones (304) and header-less ones take the original's
        own = e.status is not None and 200 <= e.status < 300
        return _Effective(e if own else orig, (path, orig.offset), not own, e.truncated or orig.truncated)

    def documents(self, errors: list[ScanError]) -> list[Doc]:
        """Every page record (2xx, HTML/XHTML or no media type), in input order and by offset; records
        that would be documents but cannot be judged as served are reported in ``errors``."""
        docs: list[Doc] = []
        for index in self.indexes:
            for e in index.entries:
                found = self._page(e)
                if isinstance(found, str):
                    errors.append(ScanError(index.name, e.uri, f"record at offset {e.offset} {found}: skipped"))
                elif found is not None:
                    docs.append(Doc(index.path, e.offset, e.uri, e.length, found.payload, found.headers_from_payload))
        return docs

    def _page(self, e: Entry) -> _Effective | str | None:
        """How a page record was served; None when the record is not a page; a string when it
        would be a document but cannot be judged as served."""
        if e.kind == "resource":
            return "is a resource record without an HTTP response" if e.media in _DOCUMENT_TYPES else None
        if e.kind == "response" and e.status is None:
            return "is not an HTTP response"
        eff = self._effective(e)
        if isinstance(eff, str):
            return eff if e.status is None or e.media is None or e.media in _DOCUMENT_TYPES else None
        head = eff.head
        if head.status is None or not 200 <= head.status < 300:
            return None
        if head.media is not None and head.media not in PAGE_TYPES:
            return None
        if eff.truncated:
            return f"was truncated by the crawler (WARC-Truncated: {eff.truncated})"
        return eff

    def in_scope(self, url: str) -> bool:
        """A URL on a host the archive holds captures of (the crawl's scope, as far as it shows)."""
        return urls.host(url) in self.hosts

    def locate(self, url: str) -> Located | str:
        """Where a stylesheet URL leads in the archive, following captured redirects (at most
        ``MAX_REDIRECTS``), or why it leads nowhere (one line, as a crawl would say it)."""
        hops: list[Hop] = []
        seen = {url}
        while True:
            found = self._by_uri.get(url)
            if found is None:
                return "not in the archive" + (f" (after redirects, at {url})" if hops else "")
            path, e = found
            eff = self._effective(e)
            if isinstance(eff, str):
                return eff
            head = eff.head
            status = head.status
            if status is not None and 300 <= status < 400 and head.location:
                target = urls.resolve(head.location, url)
                if target is None:
                    return f"HTTP {status} with an unusable Location"
                target = urls.without_fragment(target)
                hops.append(Hop(url, status, target))
                if target in seen:
                    return "redirect-loop: the archived redirects lead back to " + target
                if len(hops) > MAX_REDIRECTS:
                    return f"too-many-redirects: more than {MAX_REDIRECTS} archived redirects"
                seen.add(target)
                url = target
                continue
            if eff.truncated:
                return f"record at offset {e.offset} was truncated by the crawler (WARC-Truncated: {eff.truncated})"
            return Located(url, path, e, head, eff.payload, eff.headers_from_payload, tuple(hops))


__all__ = ["ARCHIVE_SUFFIXES", "Archive", "ArchiveIndex", "Doc", "Entry", "Located", "index_archive", "is_archive",
           "read_response", "document"]
