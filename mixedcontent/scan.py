"""The pipeline, top to bottom, for every entry point: source → judge → stylesheets → probe → result.

``scan(targets, settings)`` reads what the targets are (a built site or files on disk, a live site, web
archives) and runs the one pipeline over them:

1. the source yields ``Document`` values (sources/files.py, sources/crawl.py, sources/warc.py);
2. each is judged by ``judge.document.judge_document`` — in the engine's workers for files and
   archives (engine/local.py: a process pool; engine/dask.py: a Dask cluster), in the event loop for a
   crawl;
3. the stylesheets the pages load are read through the source (its ``locate``/``fetch``) by the one
   stylesheet driver (``judge.stylesheets.drive``) and judged with every page that loads them;
4. with ``--probe``, the https twins are probed once each and the held references judged;
5. ``judge.findings.assemble`` makes the ``ScanResult``, the only place one is made.

``fix``, ``csp`` and ``audit`` consume this pipeline; they do not copy it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .engine import Engine, EngineSettings, open_engine
from .errors import InputError, UsageError
from .extract.html import prepare_bulk
from .extract.source import SourceText
from .judge.document import Judged, judge_document, stylesheet_loads
from .judge.findings import Held, Policy, assemble, probe_and_judge
from .judge.stylesheets import StylesheetPhase, drive
from .model import (
    ArchiveRecord,
    Finding,
    ScanError,
    ScanResult,
    Sheet,
    SheetPlace,
    Target,
    TargetKind,
    pickled_by_fields,
)
from .report.json import dumps, error_dict, finding_dict, finding_from_dict, summary
from .rewrite import replace_file
from .settings import ScanSettings
from .sources import files as file_source
from .sources.files import FileSheets, SiteFile
from .version import __version__
from .wording import plural

if TYPE_CHECKING:
    from .net import NetSettings
    from .probe import ProbeSettings
    from .sources.browser import RenderedPage, RenderSettings
    from .sources.crawl import CrawlSettings, CrawlStats
    from .sources.warc import Archive, ArchiveIndex, Doc, Located

# Start-up (issue 19): a scan of files on disk (a pre-commit run: one page) imports neither the
# network stack (asyncio, ssl, aiohttp: net, probe, sources/crawl) nor the archive readers; those
# modules are imported where a crawl, a probe or an archive needs them.

T = TypeVar("T")

_DEFAULTS = ScanSettings()
_CHUNK_BYTES = 1024 * 1024
_MIN_CHUNK_BYTES = 128 * 1024
_INLINE_LIMIT_BYTES = 3 * 1024 * 1024  # below this much input, worker processes cost more than they save
RANGE_RECORDS = 256  # page records (or a tree's pages) per Dask task at most
MIN_PER_TASK = 4
RANGE_BYTES = 16 * 1024 * 1024  # bytes of records (as stored) per Dask task at most
SHEETS_PER_TASK = 64
MANIFEST = "manifest.json"


class PageAction(Protocol):
    """Work done on each page in the worker process that scanned it, while its bytes and decoded text
    are at hand (``fix`` rewrites files this way, overlapping writes with the scanning of other pages
    and never reading or decoding a file twice). Must pickle (a module-level class's instance); its
    return value must pickle too and reaches the ``on_page`` callback of ``scan_files``. Not run for
    a page that could not be scanned."""

    def __call__(self, path: str, rel: str, url: str, root: str, src: SourceText,
                 findings: list[Finding]) -> object: ...

    def settle(self, acted: list[object]) -> list[object]:
        """Called in the worker once per chunk of pages, with what ``__call__`` returned for each
        (in order), before the chunk's outcomes leave it; returns the values to hand on (``fix``
        makes a whole chunk's rewrites durable with one filesystem sync here)."""
        ...


# ---- tasks: what runs on an engine -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Judging:
    """How the documents of a run are judged (sent to workers with each task)."""

    policy: Policy
    scripting: bool
    probing: bool
    max_size: int
    tls: bool = True  # files: judged as https pages
    csp: str | None = None  # files: the header the site is served with


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _FilesTask:
    """A chunk of a site's files, judged by one worker."""

    key: str
    files: tuple[tuple[SiteFile, str], ...]  # (file, real path of its root)
    judging: _Judging
    shards: str | None = None
    action: PageAction | None = None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _ArchiveTask:
    """A range of one archive's page records, judged by one worker."""

    key: str
    name: str  # the archive as given
    docs: tuple[Doc, ...]  # page records of one file, by offset (paths absolute)
    judging: _Judging
    shards: str | None = None


@pickled_by_fields
@dataclass(slots=True)
class _Done:
    """What a task hands back: its findings and errors (or the shard holding them), the documents it
    judged, the stylesheets their pages load as (page, URL, upgrades), held references (probe) and
    what a page action returned for each page, in order."""

    key: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    loads: list[tuple[str, str, bool]] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    acted: list[object] = field(default_factory=list)
    shard: str | None = None


def _take(done: _Done, judged: Judged, loads: list[tuple[str, bool]]) -> None:
    done.pages.append(judged.name)
    done.findings.extend(judged.findings)
    if judged.held is not None:
        done.held.append(judged.held)
    done.loads.extend((judged.name, url, upgrade) for url, upgrade in loads)


def _files_task(task: _FilesTask) -> _Done:
    """Judge a chunk of a site's files (read here, in the worker: page bodies never travel)."""
    j = task.judging
    done = _Done(task.key)
    acted: list[object] = []
    for f, root in task.files:
        data = file_source.read(f.path, f.rel, j.max_size)
        if isinstance(data, str):
            done.errors.append(ScanError(f.rel, None, data, f.shown or None))
            continue
        doc = file_source.document(f, data, tls=j.tls, csp=j.csp)
        judged, src = judge_document(doc, j.policy, scripting=j.scripting, probing=j.probing)
        if judged.error is not None:
            done.errors.append(judged.error)
            continue
        _take(done, judged, stylesheet_loads(doc, judged))
        if task.action is not None and src is not None:
            acted.append(task.action(f.path, f.rel, f.url, root, src, judged.findings))
    if task.action is not None:
        done.acted = task.action.settle(acted)
    return _finish(done, task.shards)


def _archive_task(task: _ArchiveTask) -> _Done:
    """Judge the page records of one range of an archive, each as it was served."""
    from .sources.warc import document as archived_document
    from .sources.warc import read_response

    j = task.judging
    done = _Done(task.key)
    for d in task.docs:
        where = f"record at offset {d.offset}"
        resp = read_response(d.path, d.offset, j.max_size, d.payload, d.headers_from_payload)
        if isinstance(resp, str):
            done.errors.append(ScanError(task.name, d.uri, f"{where} {resp}"))
            continue
        record = ArchiveRecord(d.offset, d.uri)
        doc = archived_document(resp, record)
        if doc is None:
            continue  # no Content-Type and binary: not a page after all (crawl's dispatch)
        judged, _ = judge_document(doc, j.policy, scripting=j.scripting)
        if judged.error is not None:
            done.errors.append(ScanError(task.name, d.uri, f"{where}: {judged.error.message}"))
            continue
        judged.name = d.uri
        judged.findings = [replace(f, file=task.name, record=record) for f in judged.findings]
        _take(done, judged, stylesheet_loads(doc, judged))
    return _finish(done, task.shards)


def _sheets_task(reads: tuple[tuple[str, Located, int], ...]) -> tuple[tuple[str, Any], ...]:
    """Archived stylesheets' bytes, as responses (or why they cannot be read)."""
    from .sources.warc import read_response

    return tuple((key, read_response(loc.path, loc.entry.offset, max_size, loc.payload, loc.headers_from_payload))
                 for key, loc, max_size in reads)


# ---- shards: a task's findings on disk (Dask runs) ------------------------------------------------------


def _shard_line(f: Finding) -> dict[str, Any]:
    d = finding_dict(f)
    if f.fix is not None:  # the contract leaves out each edit's old text; the merge wants it back
        for edit, e in zip(d["fix"]["edits"], f.fix.edits, strict=True):
            edit["old"] = e.old
    return {"finding": d, "path_fingerprint": f.path_fingerprint}


def _finish(done: _Done, shards: str | None) -> _Done:
    """With a shard directory, a task's findings and errors go to ``<key>.jsonl`` there, written
    whole or not at all (the same bytes whenever the task runs)."""
    if shards is None:
        return done
    findings = sorted(done.findings, key=lambda f: f.sort_key)
    errors = sorted(done.errors, key=lambda e: (e.sort_key, e.message))
    lines = [dumps(_shard_line(f), sort_keys=True) for f in findings]  # lone surrogates escaped: valid UTF-8
    lines += [dumps({"error": error_dict(e)}, sort_keys=True) for e in errors]
    name = f"{done.key}.jsonl"
    replace_file(os.path.join(shards, name), "".join(line + "\n" for line in lines).encode("utf-8"))
    done.findings, done.errors, done.shard = [], [], name
    return done


def read_shard(path: str) -> tuple[list[Finding], list[ScanError]]:
    """Findings and errors of one JSON Lines shard."""
    findings: list[Finding] = []
    errors: list[ScanError] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if "finding" in item:
                findings.append(replace(finding_from_dict(item["finding"]),
                                        path_fingerprint=item.get("path_fingerprint", "")))
            else:
                e = item["error"]
                errors.append(ScanError(e["file"], e["url"], e["message"], e.get("path")))
    return findings, errors


def _merge(done: Sequence[_Done], shards: str | None) -> tuple[list[Finding], list[ScanError]]:
    """Every task's findings and errors (read back from the shards), deduplicated: a task that ran
    twice (a worker died, a retry) counts once, by its key (the same work under the same settings has
    the same key: ``task_key``), so no per-finding set is built."""
    findings: list[Finding] = []
    errors: list[ScanError] = []
    seen: set[str] = set()
    for d in sorted(done, key=lambda d: d.key):
        if d.key in seen:
            continue
        seen.add(d.key)
        if d.shard is not None:
            assert shards is not None
            fs, es = read_shard(os.path.join(shards, d.shard))
        else:
            fs, es = d.findings, d.errors
        findings.extend(fs)
        errors.extend(es)
    return findings, errors


def _check_shards(shards: str | None) -> None:
    if shards is None:
        return
    try:
        os.makedirs(shards, exist_ok=True)
    except OSError as e:
        raise InputError(f"--shards {shards}: {e.strerror or e}") from None
    if not os.access(shards, os.W_OK):
        raise InputError(f"--shards {shards}: not writable")


def _write_manifest(shards: str | None, done: Sequence[_Done], result: ScanResult) -> None:
    if shards is None:
        return
    names = sorted(d.shard for d in done if d.shard is not None)
    body = {"version": 1, "shards": names, "summary": summary(result)}
    replace_file(os.path.join(shards, MANIFEST), (json.dumps(body, indent=2) + "\n").encode("utf-8"))


# ---- keys and work split ---------------------------------------------------------------------------------


def _settings_digest(settings: ScanSettings, shards: str | None) -> str:
    d = asdict(settings)
    d["baseline"] = sorted(settings.baseline)
    return json.dumps([d, shards, __version__], sort_keys=True, default=list)


def task_key(phase: str, what: object, settings_digest: str) -> str:
    """A task's deterministic key: the same work under the same settings has the same key."""
    digest = hashlib.sha256(f"{phase}\x1f{what!r}\x1f{settings_digest}".encode("utf-8", "surrogatepass"))
    return f"mixedcontent-{phase}-{digest.hexdigest()[:24]}"


def _digest(items: Iterable[object]) -> str:
    """A digest of many items for a task key, made an item at a time (``task_key`` of the items' tuple
    would hold the repr of all of them at once: a stylesheet load per page of a run)."""
    h = hashlib.sha256()
    for item in items:
        h.update(repr(item).encode("utf-8", "surrogatepass") + b"\x1e")
    return h.hexdigest()


def _ranges(items: Sequence[T], size: Callable[[T], int], max_items: int, max_bytes: int) -> list[list[T]]:
    out: list[list[T]] = []
    cur: list[T] = []
    total = 0
    for item in items:
        if cur and (len(cur) >= max_items or total + size(item) > max_bytes):
            out.append(cur)
            cur, total = [], 0
        cur.append(item)
        total += size(item)
    if cur:
        out.append(cur)
    return out


def _per_task(n: int, workers: int) -> int:
    """Items per Dask task: about four tasks per worker (so a slow or lost task does not leave the
    others idle at the end), between MIN_PER_TASK and RANGE_RECORDS."""
    return max(MIN_PER_TASK, min(RANGE_RECORDS, -(-n // (4 * workers))))


def _chunks(items: Sequence[T], sizes: Sequence[int], workers: int) -> Iterator[list[T]]:
    """Local engine: consecutive items in chunks of about ``_CHUNK_BYTES`` (64 at most), shrinking
    towards the end (a quarter of what is left per worker, 128 KB at least) so that the workers finish
    together."""
    remaining = sum(sizes)
    chunk: list[T] = []
    size = 0
    for item, n in zip(items, sizes, strict=True):
        chunk.append(item)
        size += n
        if size >= max(_MIN_CHUNK_BYTES, min(_CHUNK_BYTES, remaining // (4 * workers))) or len(chunk) >= 64:
            yield chunk
            remaining -= size
            chunk, size = [], 0
    if chunk:
        yield chunk


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _complete(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits for anything (the stylesheet stage over files on disk, whose
    ``fetch`` reads them synchronously) to its end, without an event loop. Raises RuntimeError if it
    does wait: such a source needs ``asyncio.run``."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the stylesheet source waited for I/O: it needs an event loop")


def _log(log: Callable[[str], None] | None, message: str) -> None:
    if log is not None:
        log(message)


# ---- built sites and files -------------------------------------------------------------------------------


def scan_files(inputs: Sequence[str], settings: ScanSettings = _DEFAULTS,
               engine: EngineSettings | None = None, *, show_suppressed: bool = False,
               probe: ProbeSettings | None = None, log: Callable[[str], None] | None = None,
               page_action: PageAction | None = None,
               on_page: Callable[[object], None] | None = None) -> ScanResult:
    """Scan built sites, pages and stylesheets on disk. Raises InputError only when an input does not
    exist at all.

    With ``probe`` the https twins of the insecure requests are checked after extraction (docs/probe.md);
    without it nothing touches the network. ``log`` receives one-line progress and warnings.
    ``page_action`` runs on each page judged without error, in the process that judged it, with its
    findings (not with ``probe``: they are final only after the probe stage; only on the local
    engine); ``on_page`` receives what it returned, in page order, as the scan goes."""
    engine = engine or EngineSettings(jobs=settings.jobs)
    if page_action is not None and (probe is not None or engine.distributed):
        raise UsageError("a page action needs final findings on this machine: not with the probe stage or Dask")
    _check_shards(engine.shards)
    return _scan_collected(inputs, _collect(inputs, settings), settings, engine, show_suppressed=show_suppressed,
                           probe=probe, log=log, page_action=page_action, on_page=on_page)


def _collect(inputs: Sequence[str], settings: ScanSettings) -> file_source.Collected:
    """The files of ``inputs`` (sources/files.py): the one place a run decides which files it reads."""
    return file_source.collect(list(inputs), settings.base_url, root=settings.root,
                               follow_symlinks=settings.follow_symlinks, follow_outside=settings.follow_outside)


def _scan_collected(inputs: Sequence[str], collected: file_source.Collected, settings: ScanSettings,
                    engine: EngineSettings, *, show_suppressed: bool, probe: ProbeSettings | None,
                    log: Callable[[str], None] | None, page_action: PageAction | None = None,
                    on_page: Callable[[object], None] | None = None) -> ScanResult:
    found, errors, kind = collected
    errors = list(errors)
    tls = settings.base_url.startswith("https:") or settings.assume_https
    judging = _Judging(Policy.of(settings), settings.scripting, probe is not None, settings.max_file_size, tls,
                       settings.csp_header)
    sheets = FileSheets(settings.max_file_size)
    pages: list[tuple[SiteFile, str]] = []
    given_sheets: list[SheetPlace] = []
    for root, f in found:
        if f.stylesheet:
            given_sheets.append(sheets.given(root, f))
        else:
            pages.append((f, root.directory))
            sheets.add(f.rel, root)
    del found  # memory: the listing is held once, in ``pages``, for the rest of the scan
    digest = _settings_digest(settings, engine.shards)
    sizes = [_size(f.path) for f, _ in pages]
    done: list[_Done] = []
    with open_engine(engine) as runner:
        if runner.local:
            parts = list(_chunks(pages, sizes, runner.workers))
            inline = sum(sizes) < _INLINE_LIMIT_BYTES or len(pages) < 4
            if sum(sizes) > _INLINE_LIMIT_BYTES:
                prepare_bulk()  # the fast skip patterns compiled once, here, before workers fork
        else:
            size_of = {f.path: n for (f, _), n in zip(pages, sizes, strict=True)}
            parts = _ranges(pages, lambda p: size_of[p[0].path], _per_task(len(pages), runner.workers), RANGE_BYTES)
            inline = False
            _log(log, f"scanning {plural(len(pages), 'page')} in {plural(len(parts), 'task')} {runner.where}")
        tasks = [_FilesTask(task_key("tree", tuple((f.path, f.rel) for f, _ in part), digest),
                            tuple(part), judging, engine.shards, page_action) for part in parts]
        for d in runner.run(_files_task, tasks, [t.key for t in tasks], inline=inline):
            if on_page is not None:
                for acted in d.acted:
                    on_page(acted)
            done.append(d)
    loads = [load for d in done for load in d.loads]
    # files are read synchronously: no event loop (asyncio is not even imported for a scan of files)
    phase = (_complete(drive(sheets, loads, given_sheets, judging.policy)) if loads or given_sheets
             else StylesheetPhase())
    held = [h for d in done for h in d.held]
    sheet_findings, sheet_errors, sheet_keys = phase.finish(judging.policy, held if probe is not None else None)
    done.append(_finish(_Done(task_key("stylesheets", _digest(loads), digest), sheet_findings, sheet_errors),
                        engine.shards))
    findings, task_errors = _merge(done, engine.shards)
    if probe is not None:
        findings.extend(probe_and_judge(held, judging.policy, probe, log))
    result = assemble(Target(kind=TargetKind(kind), inputs=tuple(inputs), base_url=settings.base_url), findings,
                      errors + task_errors, [p for d in done for p in d.pages], sheet_keys,
                      show_suppressed=show_suppressed)
    _write_manifest(engine.shards, done, result)
    return result


def scan_rendered(inputs: Sequence[str], settings: ScanSettings, render: RenderSettings,
                  engine: EngineSettings | None = None, *, crawl: CrawlSettings | None = None,
                  net: NetSettings | None = None, show_suppressed: bool = False,
                  probe: ProbeSettings | None = None, log: Callable[[str], None] | None = None,
                  progress: Callable[[CrawlStats], None] | None = None) -> ScanResult:
    """``--render`` (docs/render.md): the static scan, then the browser pass over the same pages
    (sources/browser.py), merged by judge/runtime.py. Files: the pages collected once for both passes,
    served by the tool on loopback. A crawl (``crawl`` given; ``inputs`` its start URLs): the pages it
    fetched, loaded from the live site within the crawl's reach (``--resolve``, ``--cacert`` honoured).
    Web archives: the page records, replayed to the browser from the archive on loopback
    (sources/replay.py); an MC402 is named by the archive and record of its page.
    The static scan keeps every finding (no selection, suppressed ones shown) so a verdict is matched
    against what the markup says, whatever is reported; ``merge_runtime`` then applies the selection and
    suppression to static and runtime findings alike."""
    from .judge.runtime import merge_runtime
    from .net import NetSettings
    from .sources import is_archive
    from .sources.browser import find_chromium, render_paths, render_urls

    find_chromium(render)  # no browser: one line naming the package, before any work
    everything = replace(settings, select=(), ignore=())
    if crawl is not None:
        result, pages = _crawl_site(crawl, net or NetSettings(), everything, show_suppressed=True, probe=probe,
                                    log=log, progress=progress)
        run = render_urls(pages, render, net or NetSettings(), allow_hosts=crawl.allow_hosts)
    elif inputs and all(is_archive(t) for t in inputs):
        from .sources.replay import render_archive

        result, archive, docs = _scan_archives(inputs, everything, engine, show_suppressed=True, log=log)
        run = render_archive(archive, [d.uri for d in docs], render, settings.max_file_size)
        # an MC402 is named by its archive and record, as the page's static findings are
        names = {index.path: index.name for index in archive.indexes}
        records = {d.uri: (names.get(d.path, d.path), ArchiveRecord(d.offset, d.uri)) for d in reversed(docs)}
        _log_rendered(log, run.pages)
        return merge_runtime(result, run.pages, settings, show_suppressed=show_suppressed, records=records)
    else:
        if any(is_archive(t) for t in inputs):
            raise UsageError("give either web archives (.warc, .warc.gz, .arc, .arc.gz) or site paths, not both")
        engine = engine or EngineSettings(jobs=settings.jobs)
        _check_shards(engine.shards)
        collected = _collect(inputs, settings)  # one collection: the browser loads the pages the static pass read
        result = _scan_collected(inputs, collected, everything, engine, show_suppressed=True, probe=probe, log=log)
        run = render_paths(collected[0], settings.base_url, render, csp_header=settings.csp_header)
    _log_rendered(log, run.pages)
    return merge_runtime(result, run.pages, settings, show_suppressed=show_suppressed)


def _log_rendered(log: Callable[[str], None] | None, pages: Sequence[RenderedPage]) -> None:
    if log is not None:
        failed = sum(1 for p in pages if p.error is not None)
        log(f"rendered {len(pages) - failed} page{'' if len(pages) - failed == 1 else 's'} in Chromium"
            + (f" ({failed} could not be rendered)" if failed else ""))


# ---- live sites ------------------------------------------------------------------------------------------


def scan_site(crawl: CrawlSettings, net: NetSettings, settings: ScanSettings = _DEFAULTS, *,
              show_suppressed: bool = False, probe: ProbeSettings | None = None,
              log: Callable[[str], None] | None = None,
              progress: Callable[[CrawlStats], None] | None = None) -> ScanResult:
    """Crawl a live site and judge each page as it was served (docs/judging.md): https or not by the scheme it
    came over (``assume_https`` judges http pages as https), upgrade-insecure-requests from its
    ``Content-Security-Policy`` header (never Report-Only) or a <meta> in it, its charset from the
    Content-Type header. Stylesheets are fetched once each and judged by every page that loads them,
    as in a directory scan. Findings name the page by URL (``file`` is null) and their spans index
    into the response body as received (decompressed)."""
    return _crawl_site(crawl, net, settings, show_suppressed=show_suppressed, probe=probe, log=log,
                       progress=progress)[0]


def _crawl_site(crawl: CrawlSettings, net: NetSettings, settings: ScanSettings, *, show_suppressed: bool,
                probe: ProbeSettings | None, log: Callable[[str], None] | None,
                progress: Callable[[CrawlStats], None] | None) -> tuple[ScanResult, list[str]]:
    """``scan_site``, and the pages it judged (their final URLs, in crawl order)."""
    import asyncio

    from .sources.crawl import Crawl

    policy = Policy.of(settings)
    probing = probe is not None

    async def run() -> tuple[_Done, StylesheetPhase, list[ScanError], list[str]]:
        done = _Done("site")
        async with Crawl(crawl, net, tls_assumed=settings.assume_https, progress=progress,
                         excluded=policy.excludes if policy.exclude else None) as source:
            async for doc, follow in source.documents():
                judged, _ = judge_document(doc, policy, scripting=settings.scripting, probing=probing,
                                           links=follow)
                source.found(judged.links)
                if judged.error is not None:
                    done.errors.append(judged.error)
                    continue
                _take(done, judged, stylesheet_loads(doc, judged))
            phase = await drive(source, done.loads, policy=policy)
            return done, phase, source.errors, source.pages

    done, phase, crawl_errors, _ = asyncio.run(run())
    pages = list(done.pages)
    sheet_findings, sheet_errors, sheet_keys = phase.finish(policy, done.held if probing else None)
    findings = done.findings + sheet_findings
    if probe is not None:
        findings.extend(probe_and_judge(done.held, policy, probe, log))
    return assemble(Target(kind=TargetKind.SITE, inputs=crawl.start, base_url=None), findings,
                    [*crawl_errors, *done.errors, *sheet_errors], done.pages, sheet_keys,
                    show_suppressed=show_suppressed), pages


# ---- web archives ----------------------------------------------------------------------------------------


class _ArchiveSheets:
    """The stylesheet source of web archives: stylesheets on hosts the archive holds, read from their
    records by the engine's tasks, a batch at a time."""

    def __init__(self, archive: Archive, runner: Engine, digest: str, max_size: int) -> None:
        self.archive = archive
        self.runner = runner
        self.digest = digest
        self.max_size = max_size
        self.located: dict[str, Located] = {}

    def locate(self, url: str, referrer: str) -> SheetPlace | None:
        return SheetPlace(url, url) if self.archive.in_scope(url) else None

    async def fetch(self, places: Sequence[SheetPlace]) -> list[tuple[SheetPlace, Sheet | str]]:
        out: list[tuple[SheetPlace, Sheet | str]] = []
        reads: list[tuple[str, Located, int]] = []
        by_key = {p.key: p for p in places}
        for place in places:
            loc = self.archive.locate(place.key)
            if isinstance(loc, str):
                out.append((place, loc))
                continue
            head = loc.headers_from
            if head.status is None or not 200 <= head.status < 300:
                out.append((place, f"HTTP {head.status}" + (f" (after redirects, at {loc.url})" if loc.redirects
                                                            else "")))
                continue
            if head.media not in (None, "text/css"):
                # HTML §4.6.7.5 (rel=stylesheet): a style sheet not served as text/css is not applied
                out.append((place, f"not scanned: served as {head.media}, which browsers do not apply as a "
                                   f"stylesheet"))
                continue
            self.located[place.key] = loc
            reads.append((place.key, loc, self.max_size))
        batches = [tuple(b) for b in _ranges(reads, lambda r: 1, SHEETS_PER_TASK, SHEETS_PER_TASK)]
        keys = [task_key("stylesheet-bytes", tuple((k, loc.path, loc.entry.offset) for k, loc, _ in b), self.digest)
                for b in batches]
        for got in self.runner.run(_sheets_task, batches, keys):
            for key, resp in got:
                loc = self.located[key]
                if isinstance(resp, str):
                    out.append((by_key[key], f"record at offset {loc.entry.offset} {resp}"))
                else:
                    out.append((by_key[key], Sheet(resp.body, loc.url, resp.charset)))
        return out

    def name(self, path: str) -> str:
        for index in self.archive.indexes:
            if index.path == path:
                return index.name
        return path


def scan_archives(inputs: Sequence[str], settings: ScanSettings = _DEFAULTS,
                  engine: EngineSettings | None = None, *, show_suppressed: bool = False,
                  log: Callable[[str], None] | None = None) -> ScanResult:
    """Scan WARC/ARC files: every archived page as it was served (its target URI, its response
    headers, CSP included, its charset), the stylesheets they load resolved from the same archives.
    Findings name the archive (``file``, as given), the page (``page``, the target URI) and the
    record (``record``); their offsets index into the record's HTTP payload as the browser received
    it (de-chunked, Content-Encoding decoded). Raises InputError when an input does not exist."""
    return _scan_archives(inputs, settings, engine, show_suppressed=show_suppressed, log=log)[0]


def _scan_archives(inputs: Sequence[str], settings: ScanSettings, engine: EngineSettings | None, *,
                   show_suppressed: bool, log: Callable[[str], None] | None
                   ) -> tuple[ScanResult, Archive, list[Doc]]:
    """``scan_archives``, and the archive and the page records it judged (for ``--render``)."""
    import asyncio

    from .sources.warc import Archive

    engine = engine or EngineSettings(jobs=settings.jobs)
    names = list(dict.fromkeys(inputs))
    for name in names:
        if not os.path.isfile(name):
            raise InputError(f"{name}: no such file" if not os.path.exists(name) else f"{name}: not a file")
    _check_shards(engine.shards)
    digest = _settings_digest(settings, engine.shards)
    policy = Policy.of(settings)
    judging = _Judging(policy, settings.scripting, False, settings.max_file_size)
    jobs = [(os.path.abspath(n), n) for n in names]
    with open_engine(engine) as runner:
        _log(log, f"indexing {len(jobs)} archive{'s' if len(jobs) != 1 else ''} {runner.where}")
        indexed: dict[str, ArchiveIndex] = {}
        errors: list[ScanError] = []
        for got in runner.run(_index_task, jobs, [task_key("index", j, digest) for j in jobs]):
            if isinstance(got, ScanError):
                errors.append(got)
            else:
                indexed[got.name] = got
        archive = Archive([indexed[n] for n in names if n in indexed])
        for index in archive.indexes:
            errors.extend(index.errors)
        docs = archive.documents(errors)
        by_file: dict[str, list[Doc]] = {}
        for doc in docs:
            by_file.setdefault(doc.path, []).append(doc)
        tasks: list[_ArchiveTask] = []
        per_task = _per_task(len(docs), runner.workers)
        for index in archive.indexes:
            for part in _ranges(by_file.get(index.path, []), lambda d: d.length, per_task, RANGE_BYTES):
                what = (index.path, tuple((d.offset, d.payload) for d in part))
                tasks.append(_ArchiveTask(task_key("pages", what, digest), index.name, tuple(part), judging,
                                          engine.shards))
        records = sum(i.records for i in archive.indexes)
        _log(log, f"{plural(records, 'record')}, {plural(len(docs), 'page')}; scanning them in "
                  f"{plural(len(tasks), 'task')} {runner.where}")
        done = list(runner.run(_archive_task, tasks, [t.key for t in tasks]))
        loads = sorted({load for d in done for load in d.loads})
        source = _ArchiveSheets(archive, runner, digest, settings.max_file_size)
        phase = asyncio.run(drive(source, loads, policy=policy))
    findings, sheet_errors, sheet_keys = phase.finish(policy)
    # name each stylesheet's findings and errors by its archive and record, like the pages'
    where = {found.url: found for found in source.located.values()}
    named: list[Finding] = []
    for f in findings:
        sheet = where.get(f.page)
        named.append(f if sheet is None else replace(f, file=source.name(sheet.path),
                                                      record=ArchiveRecord(sheet.entry.offset, sheet.url)))
    named_errors = []
    for e in sheet_errors:
        sheet = where.get(e.url or "") or source.located.get(e.url or "")
        named_errors.append(e if sheet is None else replace(e, file=source.name(sheet.path)))
    done.append(_finish(_Done(task_key("stylesheets", _digest(loads), digest), named, named_errors), engine.shards))
    merged, task_errors = _merge(done, engine.shards)
    result = assemble(Target(kind=TargetKind.WARC, inputs=tuple(inputs), base_url=None), merged, errors + task_errors,
                      [p for d in done for p in d.pages], sheet_keys, show_suppressed=show_suppressed)
    _write_manifest(engine.shards, done, result)
    return result, archive, docs


def _index_task(job: tuple[str, str]) -> ArchiveIndex | ScanError:
    from .sources.warc import index_archive

    path, name = job
    try:
        return index_archive(path, name)
    except OSError as e:
        return ScanError(name, None, f"cannot read: {e.strerror or e}")


# ---- one entry -----------------------------------------------------------------------------------------


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://|(?i:https?):")


def is_url(text: str) -> bool:
    """Is a target a URL to crawl (``https://…``; also ``ftp://…``, so that it can be refused)?"""
    return _URL.match(text) is not None


def scan(targets: Sequence[str], settings: ScanSettings = _DEFAULTS, *,
         engine: EngineSettings | None = None, crawl: CrawlSettings | None = None, net: NetSettings | None = None,
         probe: ProbeSettings | None = None, show_suppressed: bool = False,
         log: Callable[[str], None] | None = None,
         progress: Callable[[CrawlStats], None] | None = None,
         render: RenderSettings | None = None) -> ScanResult:
    """Scan targets of one kind: built sites, pages and stylesheets on disk; web archives (.warc,
    .warc.gz, .arc, .arc.gz); or live sites (http(s) URLs, crawled with ``crawl``, default limits
    when None, over ``net``). With ``render``, the browser pass too (``scan_rendered``; not for web
    archives)."""
    targets = list(targets)
    if not targets:
        raise InputError("nothing to scan: give a directory, files, web archives or URLs")
    from .sources import is_archive

    if all(is_url(t) for t in targets):
        from .net import NetSettings
        from .sources.crawl import CrawlSettings, start_url

        crawl = crawl or CrawlSettings(start=tuple(dict.fromkeys(start_url(t) for t in targets)))
        if render is not None:
            return scan_rendered(targets, settings, render, crawl=crawl, net=net, show_suppressed=show_suppressed,
                                 probe=probe, log=log, progress=progress)
        return scan_site(crawl, net or NetSettings(), settings, show_suppressed=show_suppressed, probe=probe,
                         log=log, progress=progress)
    if any(is_url(t) for t in targets):
        raise UsageError("give either URLs to crawl or paths to scan, not both")
    if all(is_archive(t) for t in targets):
        if probe is not None:
            raise UsageError("--probe does not apply to web archives yet")
        if render is not None:
            return scan_rendered(targets, settings, render, engine, show_suppressed=show_suppressed, log=log)
        return scan_archives(targets, settings, engine, show_suppressed=show_suppressed, log=log)
    if any(is_archive(t) for t in targets):
        raise UsageError("give either web archives (.warc, .warc.gz, .arc, .arc.gz) or site paths, not both")
    if render is not None:
        return scan_rendered(targets, settings, render, engine, show_suppressed=show_suppressed, probe=probe,
                             log=log)
    return scan_files(targets, settings, engine, show_suppressed=show_suppressed, probe=probe, log=log)


__all__ = ["PageAction", "read_shard", "scan", "scan_archives", "scan_files", "scan_rendered", "scan_site",
           "task_key"]
