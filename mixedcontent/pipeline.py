"""The pipeline, top to bottom: sources → extract → classify → (probe) → select → result.

CPU fan-out happens here and only here: pages are scanned in worker processes in chunks, results
stream back in input order (so output is deterministic), and page bodies never leave the worker.
Stylesheets are scanned afterwards, once each, when every page that loads them is known.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

from . import __version__, urls
from .classify import decide, finding_for, needs_probe
from .extract import css
from .extract.html import PageContext, StylesheetLoad, extract_html, header_upgrades
from .extract.source import SourceText, decode_css, decode_html, decode_xml, looks_binary
from .model import (
    Applicability,
    Context,
    Finding,
    Fix,
    ProbeResult,
    Reference,
    RefKind,
    ScanError,
    ScanResult,
    Span,
    Target,
    pickled_by_fields,
)
from .net import NetSettings
from .posture import Issue, is_exempt_host, to_findings
from .probe import ProbeSettings, probe_key, run_probes
from .rewrite import propose_fix
from .settings import DEFAULT_BASE_URL, ScanSettings
from .sources.crawl import CrawlSettings, CrawlStats, Scanned, Served, crawl
from .sources.files import Root, collect
from .suppress import css_marker_lines, inline_reason, path_ignored, selected

_CHUNK_BYTES = 1024 * 1024
_MIN_CHUNK_BYTES = 128 * 1024
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


@pickled_by_fields
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
    probing: bool = False  # keep references for the probe stage instead of judging them now
    root: str = ""  # real path of the root directory the page belongs to
    action: PageAction | None = None  # run on the page in the worker that scanned it


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _Pending:
    """One document's judgeable references (spans checked, document order), held until the probe
    results are in (SPEC §8): with ``--probe`` the final code depends on the https twin."""

    file: str | None
    refs: tuple[Reference, ...]
    css_markers: tuple[tuple[int, str], ...] = ()
    referrers: tuple[str, ...] | None = None  # for stylesheets: the pages that load it
    codes: tuple[str | None, ...] = ()  # decide(ref) without a probe result, one per ref


@pickled_by_fields
@dataclass(slots=True)
class _PageOutcome:
    rel: str
    findings: list[Finding] = field(default_factory=list)
    stylesheets: list[StylesheetLoad] = field(default_factory=list)
    error: ScanError | None = None
    pending: _Pending | None = None
    links: list[str] = field(default_factory=list)  # scan_document(links=True): what a crawler follows
    acted: object = None  # what the job's PageAction returned


class PageAction(Protocol):
    """Work done on each page in the worker process that scanned it, while its bytes and decoded text
    are at hand (``fix`` rewrites files this way, overlapping writes with the scanning of other pages
    and never reading or decoding a file twice). Must pickle (a module-level class's instance); its
    return value must pickle too and reaches the ``on_page`` callback of ``scan_paths``. Not run for
    a page that could not be scanned."""

    def __call__(self, path: str, rel: str, url: str, root: str, src: SourceText,
                 findings: list[Finding]) -> object: ...

    def settle(self, acted: list[object]) -> list[object]:
        """Called in the worker once per chunk of pages, with what ``__call__`` returned for each
        (in order), before the chunk's outcomes leave it; returns the values to hand on (``fix``
        makes a whole chunk's rewrites durable with one filesystem sync here)."""
        ...


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
    return _judge(_pending(refs, src, file, policy, probing=False), policy)


def _pending(refs: Iterable[Reference], src: SourceText, file: str | None, policy: _Policy, *,
             probing: bool) -> _Pending:
    """The references that can become findings, spans checked. Without probing, only those whose code
    is selected; with it, also every request the probe may turn into MC301/302/303 (SPEC §5)."""
    kept = []
    codes = []
    for ref in refs:
        code = decide(ref)
        if probing:
            if code is None and not needs_probe(ref):
                continue
        elif code is None or not selected(code, policy.select, policy.ignore):
            continue
        # the span is the contract: check it against the stored bytes before reporting it
        if src.decode(src.data[ref.span.start:ref.span.end]) != ref.raw:
            raise AssertionError(f"span {ref.span} does not hold {ref.raw!r}")
        kept.append(ref)
        codes.append(code)
    css_markers = css_marker_lines(src.text) if policy.inline and kept and "ignore" in src.text else []
    return _Pending(file, tuple(kept), tuple(css_markers), codes=tuple(codes))


def _probed_fix(fix: Fix | None, code: str, probe: ProbeResult | None, ref: Reference) -> Fix | None:
    """SPEC §6 fix.applicability: ``safe`` when the probe proved the https twin; a twin that does not
    work is never offered as an automatic fix (MC301-MC303: display-only)."""
    if fix is None or probe is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return fix
    if code in ("MC301", "MC302", "MC303"):
        return replace(fix, applicability=Applicability.DISPLAY_ONLY,
                       note=f"the https twin does not work ({probe.reason}); rewriting to it would not help")
    # a fix on an http <base href> changes every URL under it: one working twin does not prove them all
    if probe.works and fix.applicability is Applicability.UNSAFE and ref.via_base is None:
        return replace(fix, applicability=Applicability.SAFE)
    return fix


def _judge(pending: _Pending, policy: _Policy,
           probes: Mapping[tuple[str, str], ProbeResult] | None = None) -> list[Finding]:
    """Codes (with the probe results when ``--probe`` ran), selection, fingerprints, suppression, fixes."""
    file = pending.file
    judged = []
    for i, ref in enumerate(pending.refs):
        probe = None
        if probes is not None and needs_probe(ref):
            assert ref.url is not None
            probe = probes.get(probe_key(ref.url, ref.destination))
        code = decide(ref, probe) if probe is not None or not pending.codes else pending.codes[i]
        if code is None or not selected(code, policy.select, policy.ignore):
            continue
        judged.append((ref.span.start, code, ref, probe))
    judged.sort(key=lambda t: (t[0], t[1]))
    css_markers = list(pending.css_markers)
    seen: Counter[tuple[str, str, str, str, str]] = Counter()
    out = []
    for _, code, ref, probe in judged:
        key = (code, file or ref.page, ref.url or "", ref.element or "", ref.attribute or "")
        fp = fingerprint(key, seen[key])
        seen[key] += 1
        why = inline_reason(ref, code, css_markers) if policy.inline else None
        if why is None and path_ignored(code, file, policy.per_path):
            why = "per-path-ignores"
        if why is None and fp in policy.baseline:
            why = "baseline"
        fix = _probed_fix(propose_fix(ref, file), code, probe, ref)
        finding = finding_for(ref, file, code, fix, fp, why, https=probe)
        out.append(finding if pending.referrers is None else replace(finding, referrers=pending.referrers))
    return out


def scan_page(job: _PageJob, policy: _Policy = _Policy()) -> _PageOutcome:
    """Scan one HTML/XHTML file. Never raises for bad input: problems become the outcome's error."""
    data = _read(job.path, job.rel, job.max_size)
    if isinstance(data, ScanError):
        return _PageOutcome(job.rel, error=data)
    page = PageContext(job.url, job.secure, job.upgrade, job.scripting)
    out, src = _scan_bytes(data, page, file=job.rel, xml=job.xml, policy=policy, probing=job.probing)
    if job.action is not None and src is not None and out.error is None:
        out.acted = job.action(job.path, job.rel, job.url, job.root, src, out.findings)
    return out


def scan_document(data: bytes, page: PageContext, *, file: str | None = None, xml: bool = False,
                  transport_charset: str | None = None, policy: _Policy = _Policy(), probing: bool = False,
                  links: bool = False) -> _PageOutcome:
    """Scan one HTML/XHTML document held in memory: a file's bytes, or a response body as received
    (decompressed), so that spans index into ``data``. ``page`` says how it is judged (its URL, https
    or not, the header policy); ``file`` is its report path (None for a crawled page, which the
    report names by URL); ``transport_charset`` the Content-Type charset it was served with (HTML
    §13.2.3.1 step 4); ``links`` also collects the links a crawler follows. Never raises for bad
    input: problems become the outcome's error (named by ``file``, else by URL)."""
    return _scan_bytes(data, page, file=file, xml=xml, transport_charset=transport_charset, policy=policy,
                       probing=probing, links=links)[0]


def _scan_bytes(data: bytes, page: PageContext, *, file: str | None = None, xml: bool = False,
                transport_charset: str | None = None, policy: _Policy = _Policy(), probing: bool = False,
                links: bool = False) -> tuple[_PageOutcome, SourceText | None]:
    """``scan_document``, also handing back the decoded document (None if it could not be decoded)."""
    out = _PageOutcome(file if file is not None else page.url)
    src = None

    def error(message: str) -> ScanError:
        return ScanError(file, None if file is not None else page.url, message)

    if looks_binary(data):
        out.error = error("not an HTML file: binary content")
        return out, None
    try:
        if xml:
            src = decode_xml(data, transport_charset=transport_charset)
        else:
            src = decode_html(data, transport_charset=transport_charset)
        extraction = extract_html(src, page, xml=xml, links=links)
        if probing:
            out.pending = _pending(extraction.references, src, file, policy, probing=True)
        else:
            out.findings = _findings(extraction.references, src, file, policy)
        out.stylesheets = extraction.stylesheets
        out.links = extraction.links
    except (RecursionError, MemoryError, ValueError, LookupError, AssertionError) as e:
        out.findings = []
        out.pending = None
        out.error = error(f"could not be scanned: {type(e).__name__}: {e}"[:300])
    return out, src


def _scan_chunk(work: tuple[_Policy, list[_PageJob]]) -> list[_PageOutcome]:
    policy, jobs = work
    outcomes = [scan_page(j, policy) for j in jobs]
    action = jobs[0].action if jobs else None
    if action is not None:
        acted = [o for o in outcomes if o.acted is not None]
        for outcome, value in zip(acted, action.settle([o.acted for o in acted]), strict=True):
            outcome.acted = value
    return outcomes


def _sizes(jobs: list[_PageJob]) -> list[int]:
    sizes = []
    for job in jobs:
        try:
            sizes.append(os.path.getsize(job.path))
        except OSError:
            sizes.append(0)
    return sizes


def _chunks(jobs: list[_PageJob], sizes: list[int], workers: int = 1) -> Iterator[list[_PageJob]]:
    """Consecutive jobs in chunks of about ``_CHUNK_BYTES`` (64 pages at most), shrinking towards the
    end (a quarter of what is left per worker, 128 KB at least) so that the workers finish together."""
    remaining = sum(sizes)
    chunk: list[_PageJob] = []
    size = 0
    for job, n in zip(jobs, sizes, strict=True):
        chunk.append(job)
        size += n
        if size >= max(_MIN_CHUNK_BYTES, min(_CHUNK_BYTES, remaining // (4 * workers))) or len(chunk) >= 64:
            yield chunk
            remaining -= size
            chunk, size = [], 0
    if chunk:
        yield chunk


def _run_pages(jobs: list[_PageJob], workers: int, policy: _Policy) -> Iterator[_PageOutcome]:
    sizes = _sizes(jobs)
    if workers <= 1 or sum(sizes) < _INLINE_LIMIT_BYTES or len(jobs) < 4:
        for chunk in _chunks(jobs, sizes):
            yield from _scan_chunk((policy, chunk))
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        try:
            for outcomes in pool.map(_scan_chunk, ((policy, chunk) for chunk in _chunks(jobs, sizes, workers))):
                yield from outcomes
        except BaseException:
            # an interrupt (or a consumer that stops): chunks not yet begun are never run
            pool.shutdown(wait=True, cancel_futures=True)
            raise


@dataclass(slots=True)
class _Sheet:
    url: str  # what its relative URLs resolve against, and ``page`` in its findings
    file: str | None  # report path (directory scans); None for a fetched stylesheet, named by URL
    refs: list[Reference] = field(default_factory=list)
    src: SourceText | None = None  # kept only while it has references to judge
    error: str | None = None  # why it could not be scanned
    referrers: dict[str, bool] = field(default_factory=dict)  # page -> page upgrades insecure requests


class StylesheetPhase:
    """SPEC §4.2 and NOTES.md item 6: the stylesheets pages load, each scanned once (``@import``
    chains followed, cycle-safe), judged at the end by every page that loads it, directly or through
    ``@import``.

    Incremental, so that any source can feed it (files read from disk, responses a crawl fetched):
    tell it what a page loads (``page_load``) and what a stylesheet imports (``import_load``); each
    returns True the first time it meets a stylesheet, and the caller then hands over its bytes
    (``add``, which answers with the URLs it @imports) or why there are none (``add_error``). Keys
    name stylesheets (a report path, or a URL) and are the caller's choice. The verdict does not
    depend on the order of the calls, so a concurrent source stays deterministic.
    """

    def __init__(self) -> None:
        self._sheets: dict[str, _Sheet] = {}
        self._edges: set[tuple[str, str, bool]] = set()  # (importer, imported, written as http)

    def __len__(self) -> int:
        return len(self._sheets)

    @staticmethod
    def page_target(url: str, upgrade: bool) -> str | None:
        """The URL a page's stylesheet load fetches: None when the browser blocks it (an http
        stylesheet on a page without upgrade-insecure-requests is MC102 on the page and its content
        never loads), else the URL with http upgraded to https (SPEC §3 step 4)."""
        if urls.is_http(url):
            return urls.https_twin(url) if upgrade else None
        return url

    @staticmethod
    def import_target(url: str) -> tuple[str, bool]:
        """The URL an @import fetches, and whether it is written as http: then only pages that
        upgrade insecure requests load it (on the others it is blocked, SPEC §3 step 7)."""
        if urls.is_http(url):
            return urls.https_twin(url), True
        return url, False

    def page_load(self, key: str, url: str, file: str | None, page: str, upgrade: bool) -> bool:
        """``page`` loads stylesheet ``key`` (at ``url``); True when the stylesheet is new."""
        sheet = self._sheets.get(key)
        new = sheet is None
        if sheet is None:
            sheet = self._sheets[key] = _Sheet(url, file)
        prev = sheet.referrers.get(page)
        sheet.referrers[page] = upgrade if prev is None else (prev and upgrade)
        return new

    def import_load(self, key: str, url: str, file: str | None, importer: str, via_http: bool) -> bool:
        """Stylesheet ``importer`` @imports ``key`` (at ``url``); True when the stylesheet is new."""
        self._edges.add((importer, key, via_http))
        if key in self._sheets:
            return False
        self._sheets[key] = _Sheet(url, file)
        return True

    def add(self, key: str, data: bytes, *, url: str | None = None, transport_charset: str | None = None,
            environment: str | None = None) -> list[str]:
        """Stylesheet ``key``'s bytes (``url``: where it was finally found, after redirects): extract
        its references; returns the URLs it @imports (resolved, any scheme, in source order)."""
        sheet = self._sheets[key]
        if url is not None:
            sheet.url = url
        if looks_binary(data):
            sheet.error = "not a stylesheet: binary content"
            return []
        src = decode_css(data, transport_charset=transport_charset, environment=environment)
        imports: list[str] = []
        if not css.has_candidate(src.text):
            return imports
        for u, resolved in css.fetched(css.extract_stylesheet(src.text), sheet.url):
            if u.destination == "style":
                imports.append(resolved)
            if not urls.is_http(resolved):
                continue
            line, column = src.line_column(u.start)
            span = Span(src.byte_offset(u.start), src.byte_offset(u.end), line, column)
            sheet.refs.append(Reference(
                kind=RefKind.REQUEST, raw=u.raw, url=resolved, span=span, element=u.element,
                attribute=u.property, context=Context.STYLESHEET, destination=u.destination, initiator="",
                secure=True, upgrade_insecure=False, page=sheet.url, detail=u.property))
        if sheet.refs:
            sheet.src = src
        return imports

    def add_error(self, key: str, message: str) -> None:
        """Stylesheet ``key`` could not be read; reported only if some page really loads it."""
        self._sheets[key].error = message

    def _loaded_by(self) -> dict[str, dict[str, bool]]:
        """Every page that loads each stylesheet, directly or through @import (a fixpoint, so cycles
        end), with whether it upgrades insecure requests (False as soon as one load does not)."""
        loaded = {key: dict(sheet.referrers) for key, sheet in self._sheets.items()}
        edges = sorted(self._edges)
        changed = True
        while changed:
            changed = False
            for importer, imported, via_http in edges:
                dst = loaded[imported]
                for page, up in loaded[importer].items():
                    if via_http and not up:
                        continue  # an http @import is blocked on a page that does not upgrade it
                    prev = dst.get(page)
                    new = up if prev is None else (prev and up)
                    if prev != new:
                        dst[page] = new
                        changed = True
        return loaded

    def finish(self, secure: bool, policy: _Policy,
               pending: list[_Pending] | None = None) -> tuple[list[Finding], list[ScanError], list[str]]:
        """Judge every stylesheet some page loads: (findings, errors, keys of the stylesheets). A
        reference is mixed when one page that loads the stylesheet does not upgrade insecure
        requests; ``referrers`` names those pages (else the pages that load it), five at most. With
        ``pending`` (probing) the judgeable references are appended there instead."""
        findings: list[Finding] = []
        errors: list[ScanError] = []
        keys: list[str] = []
        loaded = self._loaded_by()
        for key in sorted(self._sheets):
            sheet = self._sheets[key]
            by = loaded[key]
            if not by:
                continue  # reached only through http @imports that every page blocks
            keys.append(key)
            where = (sheet.file, None if sheet.file is not None else sheet.url)
            if sheet.error is not None:
                errors.append(ScanError(*where, sheet.error))
                continue
            if not sheet.refs or sheet.src is None:
                continue
            mixed_for = sorted(p for p, up in by.items() if not up)
            referrers = tuple(mixed_for[:5]) if mixed_for else tuple(sorted(by)[:5])
            refs = [replace(r, secure=secure, upgrade_insecure=not mixed_for) for r in sheet.refs]
            try:
                if pending is not None:
                    held = _pending(refs, sheet.src, sheet.file, policy, probing=True)
                    pending.append(replace(held, referrers=referrers))
                else:
                    for f in _findings(refs, sheet.src, sheet.file, policy):
                        findings.append(replace(f, referrers=referrers))
            except AssertionError as e:
                errors.append(ScanError(*where, f"could not be scanned: {e}"[:300]))
            sheet.src = None
        return findings, errors, keys


def _scan_stylesheets(loads: list[tuple[Root, str, StylesheetLoad]], settings: ScanSettings,
                      errors: list[ScanError], pending: list[_Pending] | None = None) -> tuple[list[Finding], list[str]]:
    """Findings of every same-site stylesheet the pages load, read from the files of their root;
    with ``pending`` (probing) the judgeable references are appended there instead, to be judged
    after the probe stage."""
    phase = StylesheetPhase()
    queue: deque[tuple[Root, str, str]] = deque()  # (root, path, rel) of stylesheets to read
    located_cache: dict[tuple[int, str], tuple[str, str] | None] = {}

    def locate(root: Root, url: str) -> tuple[str, str] | None:
        key = (id(root), url)
        if key not in located_cache:
            located_cache[key] = root.file_for(url)
        return located_cache[key]

    for root, page_rel, load in loads:
        target = phase.page_target(load.url, load.upgrade_insecure)
        if target is None:
            continue  # an http stylesheet is blocked (MC102 on the page); its content never loads
        located = locate(root, target)
        if located is not None and phase.page_load(located[1], target, located[1], page_rel,
                                                   load.upgrade_insecure):
            queue.append((root, *located))
    while queue:
        root, path, rel = queue.popleft()
        data = _read(path, rel, settings.max_file_size)
        if isinstance(data, ScanError):
            phase.add_error(rel, data.message)
            continue
        for imported in phase.add(rel, data):
            target, via_http = phase.import_target(imported)
            located = locate(root, target)
            if located is not None and phase.import_load(located[1], target, located[1], rel, via_http):
                queue.append((root, *located))
    secure = settings.base_url.startswith("https:") or settings.assume_https
    findings, sheet_errors, sheets = phase.finish(secure, _Policy.of(settings), pending)
    errors.extend(sheet_errors)
    return findings, sheets


def fingerprint(key: tuple[str, str, str, str, str], index: int) -> str:
    """SPEC §6: stable digest of (code, file or page, url, element, attribute) and the index among
    identical tuples. No line numbers or paths outside the report's own: survives line moves."""
    text = "\x1f".join((*key, str(index)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def finalize(findings: list[Finding]) -> tuple[Finding, ...]:
    """Sort (file|page, offset, code); fingerprints were given per document."""
    findings.sort(key=lambda f: f.sort_key)
    return tuple(findings)


def _probe_stage(pending: list[_Pending], policy: _Policy, probe: ProbeSettings,
                 log: Callable[[str], None] | None) -> list[Finding]:
    """SPEC §8: probe the https twin of each unique insecure URL once (one event loop and one Net for
    the run), then judge every held reference with the results, fanned back to each finding."""
    keys = {probe_key(ref.url, ref.destination) for p in pending for ref in p.refs
            if ref.url is not None and needs_probe(ref)}
    outcome = run_probes(keys, probe)
    if log is not None:
        for warning in outcome.warnings:
            log(warning)
        log(f"probed {outcome.probed} https twin{'' if outcome.probed == 1 else 's'}"
            + (f" ({outcome.cached} more from --probe-cache)" if outcome.cached else ""))
    findings: list[Finding] = []
    for p in pending:
        findings.extend(_judge(p, policy, outcome.results))
    return findings


def page_jobs(inputs: list[str], settings: ScanSettings, *, probing: bool = False,
              action: PageAction | None = None) -> tuple[list[_PageJob], dict[str, Root], list[ScanError], str]:
    """The pages of built sites and files, each as a job for ``scan_page``: (jobs in a stable order,
    the root of each page by report path, errors met while walking, target kind)."""
    pages, errors, kind = collect(list(inputs), settings.base_url, follow_symlinks=settings.follow_symlinks,
                                  follow_outside=settings.follow_outside)
    upgrade = settings.csp_header is not None and header_upgrades(settings.csp_header)
    jobs: list[_PageJob] = []
    roots: dict[str, Root] = {}
    for root, f in pages:
        secure = f.url.startswith("https:") or settings.assume_https
        jobs.append(_PageJob(f.path, f.rel, f.url, f.xml, secure, upgrade, settings.scripting,
                             settings.max_file_size, probing, root.directory, action))
        roots[f.rel] = root
    return jobs, roots, errors, kind


def scan_paths(inputs: list[str], settings: ScanSettings = ScanSettings(), *,
               show_suppressed: bool = False, probe: ProbeSettings | None = None,
               log: Callable[[str], None] | None = None, page_action: PageAction | None = None,
               on_page: Callable[[object], None] | None = None) -> ScanResult:
    """Scan built sites and files. Raises InputError only when an input does not exist at all.

    With ``probe`` the https twins of the insecure requests are checked after extraction (SPEC §8);
    without it nothing touches the network. ``log`` receives one-line progress and warnings.
    ``page_action`` runs on each page scanned without error, in the process that scanned it, with its
    findings (not with ``probe``: they are final only after the probe stage); ``on_page`` receives what
    it returned, in page order, as the scan goes."""
    if page_action is not None and probe is not None:
        raise ValueError("a page action needs final findings: not with the probe stage")
    jobs, roots, errors, kind = page_jobs(inputs, settings, probing=probe is not None, action=page_action)
    workers = settings.jobs or os.cpu_count() or 1
    findings: list[Finding] = []
    loads: list[tuple[Root, str, StylesheetLoad]] = []
    scanned: list[str] = []
    pending: list[_Pending] = []
    for outcome in _run_pages(jobs, workers, _Policy.of(settings)):
        if outcome.error is not None:
            errors.append(outcome.error)
            continue
        scanned.append(outcome.rel)
        findings.extend(outcome.findings)
        if outcome.pending is not None:
            pending.append(outcome.pending)
        if page_action is not None and on_page is not None:
            on_page(outcome.acted)
        root = roots[outcome.rel]
        for load in outcome.stylesheets:
            loads.append((root, outcome.rel, load))
    sheet_findings, sheets = _scan_stylesheets(loads, settings, errors, pending if probe is not None else None)
    findings.extend(sheet_findings)
    if probe is not None:
        findings.extend(_probe_stage(pending, _Policy.of(settings), probe, log))
    reported = [f for f in findings if f.suppressed_by is None or show_suppressed]
    return ScanResult(
        target=Target(kind=kind, inputs=tuple(inputs), base_url=settings.base_url),
        findings=finalize(reported),
        errors=tuple(sorted(errors, key=lambda e: e.sort_key)),
        documents=len(scanned) + len(sheets), pages=len(scanned), stylesheets=len(sheets),
        suppressed=sum(1 for f in findings if f.suppressed_by is not None), tool_version=__version__,
        scanned=tuple(sorted(scanned + sheets)),
    )


def _insecure_page(url: str, policy: _Policy) -> Finding | None:
    """MC508 (SPEC §5): a crawled page in scope that answered over plain http without redirecting to
    https. Loopback and localhost pages are exempt (they are potentially trustworthy)."""
    if is_exempt_host(url) or not selected("MC508", policy.select, policy.ignore):
        return None
    finding = to_findings([Issue("MC508", f"page {url} is served over plain http without a redirect to "
                                          f"https: nothing on it, forms included, is protected", url)])[0]
    return replace(finding, suppressed_by="baseline") if finding.fingerprint in policy.baseline else finding


def scan_served(served: Served, settings: ScanSettings, policy: _Policy, *, probing: bool = False,
                links: bool = False) -> Scanned[_PageOutcome]:
    """Scan one page as it was served (a crawled response, or an archived one): its findings, the
    links it has (with ``links``) and the stylesheets it loads as (URL, page upgrades insecure
    requests), ready for ``StylesheetPhase.page_load``."""
    secure = served.tls or settings.assume_https
    # CSP3 §4.2: an enforced header policy with upgrade-insecure-requests (SPEC §3 step 4)
    upgrade = served.csp is not None and header_upgrades(served.csp)
    page = PageContext(served.url, secure, upgrade, settings.scripting)
    out = scan_document(served.body, page, xml=served.xml, transport_charset=served.charset, policy=policy,
                        probing=probing, links=links and served.follow)
    if not served.tls:
        mc508 = _insecure_page(served.url, policy)
        if mc508 is not None:
            out.findings.append(mc508)
    if secure:
        loads = tuple((load.url, load.upgrade_insecure) for load in out.stylesheets)
    else:
        # nothing is mixed content for an http page: it loads its https stylesheets as one that
        # upgrades would (no verdict from it), and its http ones are nobody else's business
        loads = tuple((load.url, True) for load in out.stylesheets if not urls.is_http(load.url))
    found = tuple(out.links)
    out.links, out.stylesheets = [], []
    return Scanned(out, found, loads)


def scan_site(crawl_settings: CrawlSettings, net: NetSettings, settings: ScanSettings = ScanSettings(), *,
              show_suppressed: bool = False, probe: ProbeSettings | None = None,
              log: Callable[[str], None] | None = None,
              progress: Callable[[CrawlStats], None] | None = None) -> ScanResult:
    """Crawl a live site and scan each page as it was served (SPEC §1): https or not by the scheme it
    came over (``assume_https`` judges http pages as https), upgrade-insecure-requests from its
    ``Content-Security-Policy`` header (never Report-Only) or a <meta> in it, its charset from the
    Content-Type header, then the document. Stylesheets are fetched once each and judged by every
    page that loads them, as in a directory scan. Findings name the page by URL (``file`` is null)
    and their spans index into the response body as received (decompressed)."""
    policy = _Policy.of(settings)
    phase = StylesheetPhase()

    def scan(served: Served) -> Scanned[_PageOutcome]:
        return scan_served(served, settings, policy, probing=probe is not None, links=True)

    crawled = asyncio.run(crawl(crawl_settings, net, scan, phase, progress))
    errors = list(crawled.errors)
    findings: list[Finding] = []
    pending: list[_Pending] = []
    pages: list[str] = []
    for url, outcome in crawled.pages:
        if outcome.error is not None:
            errors.append(outcome.error)
            continue
        pages.append(url)
        findings.extend(outcome.findings)
        if outcome.pending is not None:
            pending.append(outcome.pending)
    sheet_findings, sheet_errors, sheets = phase.finish(True, policy, pending if probe is not None else None)
    findings.extend(sheet_findings)
    errors.extend(sheet_errors)
    if probe is not None:
        findings.extend(_probe_stage(pending, policy, probe, log))
    reported = [f for f in findings if f.suppressed_by is None or show_suppressed]
    return ScanResult(
        target=Target(kind="site", inputs=crawl_settings.start, base_url=None),
        findings=finalize(reported),
        errors=tuple(sorted(errors, key=lambda e: e.sort_key)),
        documents=len(pages) + len(sheets), pages=len(pages), stylesheets=len(sheets),
        suppressed=sum(1 for f in findings if f.suppressed_by is not None), tool_version=__version__,
        scanned=tuple(sorted(pages + sheets)),
    )


__all__ = ["PageAction", "ScanSettings", "scan_paths", "scan_page", "scan_document", "scan_served", "scan_site",
           "StylesheetPhase", "finalize", "fingerprint", "DEFAULT_BASE_URL"]
