"""The pipeline, top to bottom: sources → extract → classify → (probe) → select → result.

CPU fan-out happens here and only here: pages are scanned in worker processes in chunks, results
stream back in input order (so output is deterministic), and page bodies never leave the worker.
Stylesheets are scanned afterwards, once each, when every page that loads them is known.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

from . import __version__, urls
from .classify import decide, finding_for
from .extract import css
from .extract.html import PageContext, StylesheetLoad, extract_html, header_upgrades
from .extract.source import SourceText, decode_css, decode_html, decode_xml, looks_binary
from .model import Context, Finding, RefKind, Reference, ScanError, ScanResult, Span, Target
from .rewrite import propose_fix
from .settings import DEFAULT_BASE_URL, ScanSettings
from .sources.files import Root, collect
from .suppress import css_marker_lines, inline_reason, path_ignored, selected

_CHUNK_BYTES = 1024 * 1024
_INLINE_LIMIT_BYTES = 3 * 1024 * 1024  # below this much input, worker processes cost more than they save


@dataclass(frozen=True, slots=True)
class _Policy:
    """What decides whether a finding is reported (sent to workers once per chunk)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path: tuple[tuple[str, tuple[str, ...]], ...] = ()
    baseline: frozenset[str] = frozenset()
    inline: bool = True

    @classmethod
    def of(cls, s: ScanSettings) -> _Policy:
        return cls(s.select, s.ignore, s.per_path_ignores, s.baseline, s.inline_ignores)


@dataclass(frozen=True, slots=True)
class _PageJob:
    path: str
    rel: str
    url: str
    xml: bool
    secure: bool
    upgrade: bool
    scripting: bool
    max_size: int


@dataclass(slots=True)
class _PageOutcome:
    rel: str
    findings: list[Finding] = field(default_factory=list)
    stylesheets: list[StylesheetLoad] = field(default_factory=list)
    error: ScanError | None = None


def _read(path: str, rel: str, max_size: int) -> bytes | ScanError:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_size:
                return ScanError(rel, None, f"file is {size / 1e6:.1f} MB, over the "
                                            f"{max_size / 1e6:.0f} MB limit (--max-file-size)")
            data = f.read(max_size + 1)
    except IsADirectoryError:
        return ScanError(rel, None, "is a directory, not a file")
    except OSError as e:
        return ScanError(rel, None, f"cannot read: {e.strerror or e}")
    if len(data) > max_size:
        return ScanError(rel, None, f"file grew over the {max_size / 1e6:.0f} MB limit while being read")
    return data


def _findings(refs: Iterable[Reference], src: SourceText, file: str | None, policy: _Policy) -> list[Finding]:
    """Judge one document's references; findings come out sorted, each with its fingerprint (the
    fingerprint's key names the document, so counting identical tuples per document suffices) and,
    when a marker, a per-path ignore or the baseline covers it, ``suppressed_by``."""
    judged = []
    for ref in refs:
        code = decide(ref)
        if code is None or not selected(code, policy.select, policy.ignore):
            continue
        # the span is the contract: check it against the stored bytes before reporting it
        if src.decode(src.data[ref.span.start:ref.span.end]) != ref.raw:
            raise AssertionError(f"span {ref.span} does not hold {ref.raw!r}")
        judged.append((ref.span.start, code, ref))
    judged.sort(key=lambda t: (t[0], t[1]))
    css_markers = css_marker_lines(src.text) if policy.inline and judged and "ignore" in src.text else []
    seen: Counter[tuple[str, str, str, str, str]] = Counter()
    out = []
    for _, code, ref in judged:
        key = (code, file or ref.page, ref.url or "", ref.element or "", ref.attribute or "")
        fp = fingerprint(key, seen[key])
        seen[key] += 1
        why = inline_reason(ref, code, css_markers) if policy.inline else None
        if why is None and path_ignored(code, file, policy.per_path):
            why = "per-path-ignores"
        if why is None and fp in policy.baseline:
            why = "baseline"
        out.append(finding_for(ref, file, code, propose_fix(ref, file), fp, why))
    return out


def scan_page(job: _PageJob, policy: _Policy = _Policy()) -> _PageOutcome:
    """Scan one HTML/XHTML file. Never raises for bad input: problems become the outcome's error."""
    out = _PageOutcome(job.rel)
    data = _read(job.path, job.rel, job.max_size)
    if isinstance(data, ScanError):
        out.error = data
        return out
    if looks_binary(data):
        out.error = ScanError(job.rel, None, "not an HTML file: binary content")
        return out
    try:
        src = decode_xml(data) if job.xml else decode_html(data)
        page = PageContext(job.url, job.secure, job.upgrade, job.scripting)
        extraction = extract_html(src, page, xml=job.xml)
        out.findings = _findings(extraction.references, src, job.rel, policy)
        out.stylesheets = extraction.stylesheets
    except (RecursionError, MemoryError, ValueError, LookupError, AssertionError) as e:
        out.findings = []
        out.error = ScanError(job.rel, None, f"could not be scanned: {type(e).__name__}: {e}"[:300])
    return out


def _scan_chunk(work: tuple[_Policy, list[_PageJob]]) -> list[_PageOutcome]:
    policy, jobs = work
    return [scan_page(j, policy) for j in jobs]


def _chunks(jobs: list[_PageJob]) -> Iterator[list[_PageJob]]:
    chunk: list[_PageJob] = []
    size = 0
    for job in jobs:
        chunk.append(job)
        try:
            size += os.path.getsize(job.path)
        except OSError:
            pass
        if size >= _CHUNK_BYTES or len(chunk) >= 64:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _run_pages(jobs: list[_PageJob], workers: int, policy: _Policy) -> Iterator[_PageOutcome]:
    total = 0
    for job in jobs:
        try:
            total += os.path.getsize(job.path)
        except OSError:
            pass
    if workers <= 1 or total < _INLINE_LIMIT_BYTES or len(jobs) < 4:
        for job in jobs:
            yield scan_page(job, policy)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for outcomes in pool.map(_scan_chunk, ((policy, chunk) for chunk in _chunks(jobs))):
            yield from outcomes


@dataclass(slots=True)
class _Sheet:
    path: str
    rel: str
    url: str
    refs: list[Reference] = field(default_factory=list)
    src: SourceText | None = None
    imports: list[str] = field(default_factory=list)  # rels of stylesheets it imports
    referrers: dict[str, bool] = field(default_factory=dict)  # page rel -> page upgrades insecure requests


def _scan_stylesheet(sheet: _Sheet, root: Root, max_size: int, environment: str | None,
                     errors: list[ScanError]) -> list[tuple[Root, str]]:
    """Extract one stylesheet's references; returns the stylesheet URLs it @imports."""
    data = _read(sheet.path, sheet.rel, max_size)
    if isinstance(data, ScanError):
        errors.append(data)
        return []
    if looks_binary(data):
        errors.append(ScanError(sheet.rel, None, "not a stylesheet: binary content"))
        return []
    src = decode_css(data, environment=environment)
    sheet.src = src
    imports: list[tuple[Root, str]] = []
    if not css.has_candidate(src.text):
        return imports
    for u, resolved in css.fetched(css.extract_stylesheet(src.text), sheet.url):
        if u.destination == "style":
            imports.append((root, resolved))
        if not urls.is_http(resolved):
            continue
        line, column = src.line_column(u.start)
        span = Span(src.byte_offset(u.start), src.byte_offset(u.end), line, column)
        sheet.refs.append(Reference(
            kind=RefKind.REQUEST, raw=u.raw, url=resolved, span=span, element=u.element, attribute=u.property,
            context=Context.STYLESHEET, destination=u.destination, initiator="", secure=True,
            upgrade_insecure=False, page=sheet.url, detail=u.property))
    return imports


def _scan_stylesheets(loads: list[tuple[Root, str, StylesheetLoad]], settings: ScanSettings,
                      errors: list[ScanError]) -> tuple[list[Finding], list[str]]:
    sheets: dict[str, _Sheet] = {}
    queue: deque[tuple[Root, str, str | None, str, bool]] = deque()
    for root, page_rel, load in loads:
        queue.append((root, load.url, None, page_rel, load.upgrade_insecure))
    edges: list[tuple[str, str]] = []  # (importer rel, imported rel)
    located_cache: dict[tuple[int, str], tuple[str, str] | None] = {}
    while queue:
        root, url, importer, page_rel, upgrade = queue.popleft()
        if urls.is_http(url):
            if not upgrade:
                continue  # an http stylesheet is blocked (MC102 on the page); its content never loads
            url = urls.https_twin(url)
        key = (id(root), url)
        if key not in located_cache:
            located_cache[key] = root.file_for(url)
        located = located_cache[key]
        if located is None:
            continue
        path, rel = located
        if importer is not None:
            edges.append((importer, rel))
        else:
            sheet_ref = sheets.get(rel)
            if sheet_ref is not None:
                prev = sheet_ref.referrers.get(page_rel)
                sheet_ref.referrers[page_rel] = upgrade if prev is None else (prev and upgrade)
        if rel in sheets:
            continue
        sheet = _Sheet(path, rel, url)
        if importer is None:
            sheet.referrers[page_rel] = upgrade
        sheets[rel] = sheet
        for imp_root, imp_url in _scan_stylesheet(sheet, root, settings.max_file_size, None, errors):
            queue.append((imp_root, imp_url, rel, page_rel, upgrade))
    # referrers flow down @import chains (cycle-safe: iterate to a fixpoint)
    changed = True
    while changed:
        changed = False
        for importer, imported in edges:
            src_refs = sheets[importer].referrers
            dst_refs = sheets[imported].referrers
            for page, up in src_refs.items():
                prev = dst_refs.get(page)
                new = up if prev is None else (prev and up)
                if prev != new:
                    dst_refs[page] = new
                    changed = True
    findings: list[Finding] = []
    secure = settings.base_url.startswith("https:") or settings.assume_https
    for rel in sorted(sheets):
        sheet = sheets[rel]
        if not sheet.refs or sheet.src is None:
            continue
        mixed_for = sorted(p for p, up in sheet.referrers.items() if not up)
        upgrade = bool(sheet.referrers) and not mixed_for
        referrers = tuple(mixed_for[:5]) if mixed_for else tuple(sorted(sheet.referrers)[:5])
        refs = [replace(r, secure=secure, upgrade_insecure=upgrade) for r in sheet.refs]
        try:
            for f in _findings(refs, sheet.src, rel, _Policy.of(settings)):
                findings.append(replace(f, referrers=referrers))
        except AssertionError as e:
            errors.append(ScanError(rel, None, f"could not be scanned: {e}"[:300]))
        sheet.src = None
    return findings, sorted(sheets)


def fingerprint(key: tuple[str, str, str, str, str], index: int) -> str:
    """SPEC §6: stable digest of (code, file or page, url, element, attribute) and the index among
    identical tuples. No line numbers or paths outside the report's own: survives line moves."""
    text = "\x1f".join((*key, str(index)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def finalize(findings: list[Finding]) -> tuple[Finding, ...]:
    """Sort (file|page, offset, code); fingerprints were given per document."""
    findings.sort(key=lambda f: f.sort_key)
    return tuple(findings)


def scan_paths(inputs: list[str], settings: ScanSettings = ScanSettings(), *,
               show_suppressed: bool = False) -> ScanResult:
    """Scan built sites and files. Raises InputError only when an input does not exist at all."""
    pages, errors, kind = collect(list(inputs), settings.base_url, follow_symlinks=settings.follow_symlinks,
                                  follow_outside=settings.follow_outside)
    upgrade = settings.csp_header is not None and header_upgrades(settings.csp_header)
    jobs: list[_PageJob] = []
    roots: dict[str, Root] = {}
    for root, f in pages:
        secure = f.url.startswith("https:") or settings.assume_https
        jobs.append(_PageJob(f.path, f.rel, f.url, f.xml, secure, upgrade, settings.scripting,
                             settings.max_file_size))
        roots[f.rel] = root
    workers = settings.jobs or os.cpu_count() or 1
    findings: list[Finding] = []
    loads: list[tuple[Root, str, StylesheetLoad]] = []
    scanned: list[str] = []
    for outcome in _run_pages(jobs, workers, _Policy.of(settings)):
        if outcome.error is not None:
            errors.append(outcome.error)
            continue
        scanned.append(outcome.rel)
        findings.extend(outcome.findings)
        root = roots[outcome.rel]
        for load in outcome.stylesheets:
            loads.append((root, outcome.rel, load))
    sheet_findings, sheets = _scan_stylesheets(loads, settings, errors)
    findings.extend(sheet_findings)
    reported = [f for f in findings if f.suppressed_by is None or show_suppressed]
    return ScanResult(
        target=Target(kind=kind, inputs=tuple(inputs), base_url=settings.base_url),
        findings=finalize(reported),
        errors=tuple(sorted(errors, key=lambda e: e.sort_key)),
        documents=len(scanned) + len(sheets), pages=len(scanned), stylesheets=len(sheets),
        suppressed=sum(1 for f in findings if f.suppressed_by is not None), tool_version=__version__,
        scanned=tuple(sorted(scanned + sheets)),
    )


__all__ = ["ScanSettings", "scan_paths", "scan_page", "finalize", "fingerprint", "DEFAULT_BASE_URL"]
