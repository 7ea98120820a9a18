"""The engine for large scans: web archives, and built trees with ``--workers``/``--scheduler``.

Work is cut into tasks that run in this process, on a Dask ``LocalCluster`` (``--workers N``) or on
an existing Dask cluster (``--scheduler tcp://…``); the same functions run in all three, so one
laptop and a real cluster take the same code path. The phases:

1. index (archives only): a task per archive file reads every record header (``sources.warc``);
   the client then knows every page record, and every URL's captures, revisits resolved.
2. pages: a task per range of page records of one file (or per chunk of a tree's pages) scans each
   page as served and writes its findings and errors to a JSON Lines shard of its own, named by
   its task key, atomically (temp file + rename): a task that runs twice (a worker died, a retry)
   writes the same bytes to the same name. It returns the stylesheets its pages load.
3. stylesheets: judged on the client with every page that loads them, across all tasks
   (``pipeline.StylesheetPhase``, or the tree's own stylesheet stage); archived stylesheet bytes
   are read by tasks in batches, level by level of ``@import``.
4. merge: the shards of this run are read back, sorted and deduplicated by fingerprint and
   location, so the findings equal a single-process scan's exactly.

Task keys are digests of what a task does (its phase, files, record offsets, settings, shard
directory), so they are the same on every run and for every retry. Nothing here opens a network
connection except the Dask client and workers (a ``LocalCluster`` listens on 127.0.0.1 only).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

from . import __version__, urls
from .errors import InputError, UsageError
from .extract.html import StylesheetLoad
from .model import ArchiveRecord, Finding, ScanError, ScanResult, Target
from .pipeline import (
    StylesheetPhase,
    _PageJob,
    _Policy,
    _scan_stylesheets,
    finalize,
    page_jobs,
    scan_page,
    scan_served,
)
from .report.json import dumps, error_dict, finding_dict, finding_from_dict, summary
from .rewrite import replace_file
from .settings import ScanSettings
from .sources.warc import Archive, ArchiveIndex, Doc, Located, index_archive, read_response, served

T = TypeVar("T")
R = TypeVar("R")

RANGE_RECORDS = 256  # page records (or a tree's pages) per task at most
MIN_PER_TASK = 4
RANGE_BYTES = 16 * 1024 * 1024  # bytes of records (as stored) per task at most
SHEETS_PER_TASK = 64
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Where the tasks run: in this process (no workers, no scheduler), on a LocalCluster of
    ``workers`` processes, or on the cluster whose scheduler is at ``scheduler``."""

    workers: int | None = None
    scheduler: str | None = None
    shards: str | None = None  # directory for the JSON Lines shards (and manifest.json)
    retries: int = 3  # a task that raises is run again this many times (a dead worker's tasks always are)
    memory_limit: str | None = None  # per LocalCluster worker (Dask's "auto" when None)

    @property
    def distributed(self) -> bool:
        return self.workers is not None or self.scheduler is not None


# ---- task payloads (plain frozen values: they travel to workers pickled) ---------------------------


@dataclass(frozen=True, slots=True)
class _IndexJob:
    path: str  # absolute: workers need not share our working directory
    name: str  # as given: how reports name the archive


@dataclass(frozen=True, slots=True)
class _RangeJob:
    key: str
    name: str  # the archive as given
    docs: tuple[Doc, ...]  # page records of one file, by offset (paths absolute)
    settings: ScanSettings
    shards: str | None


@dataclass(frozen=True, slots=True)
class _ChunkJob:
    key: str
    jobs: tuple[_PageJob, ...]  # pages of a tree (paths absolute)
    settings: ScanSettings
    shards: str | None


@dataclass(frozen=True, slots=True)
class _SheetRead:
    key: str  # the stylesheet's key in the phase
    located: Located
    max_size: int


@dataclass(frozen=True, slots=True)
class _Done:
    """What a page task hands back: its findings and errors (or the shard holding them), the
    documents it scanned, and the stylesheets their pages load as (page, URL, upgrades)."""

    key: str
    findings: tuple[Finding, ...]
    errors: tuple[ScanError, ...]
    shard: str | None
    pages: tuple[str, ...]
    loads: tuple[tuple[str, str, bool], ...]


# ---- tasks ------------------------------------------------------------------------------------------


def _index_task(job: _IndexJob) -> ArchiveIndex | ScanError:
    try:
        return index_archive(job.path, job.name)
    except OSError as e:
        return ScanError(job.name, None, f"cannot read: {e.strerror or e}")


def _range_task(job: _RangeJob) -> _Done:
    """Scan the page records of one range, each as it was served (``pipeline.scan_served``)."""
    settings = job.settings
    policy = _Policy.of(settings)
    findings: list[Finding] = []
    errors: list[ScanError] = []
    pages: list[str] = []
    loads: list[tuple[str, str, bool]] = []
    for doc in job.docs:
        where = f"record at offset {doc.offset}"
        resp = read_response(doc.path, doc.offset, settings.max_file_size, doc.payload, doc.headers_from_payload)
        if isinstance(resp, str):
            errors.append(ScanError(job.name, doc.uri, f"{where} {resp}"))
            continue
        page = served(resp)
        if page is None:
            continue  # no Content-Type and binary: not a page after all (crawl's dispatch)
        scanned = scan_served(page, settings, policy)
        outcome = scanned.result
        if outcome.error is not None:
            errors.append(ScanError(job.name, doc.uri, f"{where}: {outcome.error.message}"))
            continue
        record = ArchiveRecord(doc.offset, doc.uri)
        findings.extend(replace(f, file=job.name, record=record) for f in outcome.findings)
        pages.append(doc.uri)
        loads.extend((doc.uri, url, upgrade) for url, upgrade in scanned.stylesheets)
    return _finish(job.key, job.shards, findings, errors, pages, loads)


def _chunk_task(job: _ChunkJob) -> _Done:
    """Scan a chunk of a tree's pages (``pipeline.scan_page``)."""
    policy = _Policy.of(job.settings)
    findings: list[Finding] = []
    errors: list[ScanError] = []
    pages: list[str] = []
    loads: list[tuple[str, str, bool]] = []
    for page_job in job.jobs:
        outcome = scan_page(page_job, policy)
        if outcome.error is not None:
            errors.append(outcome.error)
            continue
        pages.append(outcome.rel)
        findings.extend(outcome.findings)
        loads.extend((outcome.rel, load.url, load.upgrade_insecure) for load in outcome.stylesheets)
    return _finish(job.key, job.shards, findings, errors, pages, loads)


def _sheets_task(reads: tuple[_SheetRead, ...]) -> tuple[tuple[str, Any], ...]:
    """Archived stylesheets' bytes, as responses (or why they cannot be read)."""
    out = []
    for r in reads:
        loc = r.located
        out.append((r.key, read_response(loc.path, loc.entry.offset, r.max_size, loc.payload,
                                         loc.headers_from_payload)))
    return tuple(out)


# ---- shards -----------------------------------------------------------------------------------------


def _shard_line(f: Finding) -> dict[str, Any]:
    d = finding_dict(f)
    if f.fix is not None:  # the contract leaves out each edit's old text; the merge wants it back
        for edit, e in zip(d["fix"]["edits"], f.fix.edits):
            edit["old"] = e.old
    return {"finding": d}


def _finish(key: str, shards: str | None, findings: list[Finding], errors: list[ScanError], pages: list[str],
            loads: list[tuple[str, str, bool]]) -> _Done:
    """A task's result; with a shard directory, its findings and errors go to ``<key>.jsonl`` there,
    written whole or not at all (the same bytes whenever the task runs)."""
    findings.sort(key=lambda f: f.sort_key)
    errors.sort(key=lambda e: (e.sort_key, e.message))
    if shards is None:
        return _Done(key, tuple(findings), tuple(errors), None, tuple(pages), tuple(loads))
    lines = [dumps(_shard_line(f), sort_keys=True) for f in findings]  # lone surrogates escaped: valid UTF-8
    lines += [dumps({"error": error_dict(e)}, sort_keys=True) for e in errors]
    name = f"{key}.jsonl"
    replace_file(os.path.join(shards, name), "".join(line + "\n" for line in lines).encode("utf-8"))
    return _Done(key, (), (), name, tuple(pages), tuple(loads))


def read_shard(path: str) -> tuple[list[Finding], list[ScanError]]:
    """Findings and errors of one JSON Lines shard."""
    findings: list[Finding] = []
    errors: list[ScanError] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if "finding" in item:
                findings.append(finding_from_dict(item["finding"]))
            else:
                e = item["error"]
                errors.append(ScanError(e["file"], e["url"], e["message"]))
    return findings, errors


def _location(f: Finding) -> tuple[object, ...]:
    return (f.file, f.page, f.record.offset if f.record else None, f.offset, f.code)


def _merge(done: Sequence[_Done], shards: str | None) -> tuple[list[Finding], list[ScanError]]:
    """Every task's findings and errors, read back from the shards, deduplicated (a finding by its
    fingerprint and location, an error by all it says)."""
    findings: list[Finding] = []
    errors: list[ScanError] = []
    seen: set[tuple[object, ...]] = set()
    seen_errors: set[ScanError] = set()
    for d in sorted(done, key=lambda d: d.key):
        if d.shard is not None:
            assert shards is not None
            fs, es = read_shard(os.path.join(shards, d.shard))
        else:
            fs, es = list(d.findings), list(d.errors)
        for f in fs:
            k = (f.fingerprint, *_location(f))
            if k not in seen:
                seen.add(k)
                findings.append(f)
        for e in es:
            if e not in seen_errors:
                seen_errors.add(e)
                errors.append(e)
    return findings, errors


# ---- where tasks run --------------------------------------------------------------------------------


class _Runner:
    """Runs a task function over items: here, one after another (the same functions a cluster runs)."""

    workers = 1

    def run(self, fn: Callable[[T], R], items: Sequence[T], keys: Sequence[str]) -> Iterator[R]:
        for item in items:
            yield fn(item)

    @property
    def where(self) -> str:
        return "in this process"


class _DaskRunner(_Runner):
    """Runs tasks on a Dask cluster under their deterministic keys, results as they complete. A task
    that raises is retried; the tasks of a worker that dies are rescheduled by the scheduler."""

    def __init__(self, client: Any, retries: int, where: str, workers: int) -> None:
        self.client = client
        self.retries = retries
        self._where = where
        self.workers = max(1, workers)

    @property
    def where(self) -> str:
        return self._where

    def run(self, fn: Callable[[T], R], items: Sequence[T], keys: Sequence[str]) -> Iterator[R]:
        from distributed import as_completed

        futures = [self.client.submit(fn, item, key=key, retries=self.retries, pure=False)
                   for item, key in zip(items, keys)]
        try:
            for future in as_completed(futures, loop=self.client.loop):  # type: ignore[no-untyped-call]
                result = future.result()
                future.release()
                yield result
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()


@contextmanager
def _runner(engine: EngineSettings) -> Iterator[_Runner]:
    if not engine.distributed:
        yield _Runner()
        return
    from distributed import Client, LocalCluster

    if engine.scheduler is not None:
        try:
            client = Client(engine.scheduler, timeout="10s", set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"--scheduler {engine.scheduler}: cannot reach the Dask scheduler ({e})") from None
        try:
            workers = len(client.scheduler_info().get("workers", {}))
            yield _DaskRunner(client, engine.retries, f"on the Dask cluster at {engine.scheduler} ({workers} workers)",
                              workers)
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    assert engine.workers is not None
    # loopback only, no dashboard; one thread per worker process (the scan is CPU-bound Python)
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=engine.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        silence_logs=logging.ERROR, memory_limit=engine.memory_limit or "auto")
    try:
        client = Client(cluster, set_as_default=False)  # type: ignore[no-untyped-call]
        try:
            yield _DaskRunner(client, engine.retries, f"on a local Dask cluster of {engine.workers} workers",
                              engine.workers)
        finally:
            client.close()  # type: ignore[no-untyped-call]
    finally:
        cluster.close()


# ---- keys and work split ----------------------------------------------------------------------------


def _settings_digest(settings: ScanSettings, shards: str | None) -> str:
    d = asdict(settings)
    d["baseline"] = sorted(settings.baseline)
    return json.dumps([d, shards, __version__], sort_keys=True, default=list)


def task_key(phase: str, what: object, settings_digest: str) -> str:
    """A task's deterministic key: the same work under the same settings has the same key."""
    digest = hashlib.sha256(f"{phase}\x1f{what!r}\x1f{settings_digest}".encode("utf-8", "surrogatepass"))
    return f"mixedcontent-{phase}-{digest.hexdigest()[:24]}"


def _per_task(n: int, workers: int) -> int:
    """Items per task: about four tasks per worker (so a slow or lost task does not leave the others
    idle at the end), between MIN_PER_TASK and RANGE_RECORDS."""
    return max(MIN_PER_TASK, min(RANGE_RECORDS, -(-n // (4 * workers))))


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


def _check_shards(shards: str | None) -> None:
    if shards is None:
        return
    try:
        os.makedirs(shards, exist_ok=True)
    except OSError as e:
        raise InputError(f"--shards {shards}: {e.strerror or e}") from None
    if not os.access(shards, os.W_OK):
        raise InputError(f"--shards {shards}: not writable")


def _result(target: Target, findings: list[Finding], errors: list[ScanError], pages: list[str],
            sheets: list[str], show_suppressed: bool) -> ScanResult:
    reported = [f for f in findings if f.suppressed_by is None or show_suppressed]
    return ScanResult(
        target=target, findings=finalize(reported),
        errors=tuple(sorted(errors, key=lambda e: (e.sort_key, e.message))),
        documents=len(pages) + len(sheets), pages=len(pages), stylesheets=len(sheets),
        suppressed=sum(1 for f in findings if f.suppressed_by is not None), tool_version=__version__,
        scanned=tuple(sorted(pages + sheets)))


def _write_manifest(shards: str | None, done: Sequence[_Done], result: ScanResult) -> None:
    if shards is None:
        return
    names = sorted(d.shard for d in done if d.shard is not None)
    body = {"version": 1, "shards": names, "summary": summary(result)}
    replace_file(os.path.join(shards, MANIFEST), (json.dumps(body, indent=2) + "\n").encode("utf-8"))


def _log(log: Callable[[str], None] | None, message: str) -> None:
    if log is not None:
        log(message)


# ---- web archives -----------------------------------------------------------------------------------


def scan_archives(inputs: Sequence[str], settings: ScanSettings = ScanSettings(),
                  engine: EngineSettings = EngineSettings(), *, show_suppressed: bool = False,
                  log: Callable[[str], None] | None = None) -> ScanResult:
    """Scan WARC/ARC files: every archived page as it was served (its target URI, its response
    headers, CSP included, its charset), the stylesheets they load resolved from the same archives.
    Findings name the archive (``file``, as given), the page (``page``, the target URI) and the
    record (``record``); their offsets index into the record's HTTP payload as the browser received
    it (de-chunked, Content-Encoding decoded). Raises InputError when an input does not exist."""
    names = list(dict.fromkeys(inputs))
    for name in names:
        if not os.path.isfile(name):
            raise InputError(f"{name}: no such file" if not os.path.exists(name) else f"{name}: not a file")
    _check_shards(engine.shards)
    digest = _settings_digest(settings, engine.shards)
    jobs = [_IndexJob(os.path.abspath(n), n) for n in names]
    with _runner(engine) as runner:
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
        range_jobs: list[_RangeJob] = []
        per_task = _per_task(len(docs), runner.workers)
        for index in archive.indexes:
            for part in _ranges(by_file.get(index.path, []), lambda d: d.length, per_task, RANGE_BYTES):
                what = (index.path, tuple((d.offset, d.payload) for d in part))
                range_jobs.append(_RangeJob(task_key("pages", what, digest), index.name, tuple(part), settings,
                                            engine.shards))
        records = sum(i.records for i in archive.indexes)
        _log(log, f"{records} records, {len(docs)} pages; scanning them in {len(range_jobs)} "
                  f"task{'s' if len(range_jobs) != 1 else ''} {runner.where}")
        done = list(runner.run(_range_task, range_jobs, [j.key for j in range_jobs]))
        pages = [p for d in done for p in d.pages]
        loads = sorted({load for d in done for load in d.loads})
        sheet_findings, sheet_errors, sheets = _archive_stylesheets(archive, loads, settings, runner, digest)
        done.append(_finish(task_key("stylesheets", tuple(loads), digest), engine.shards, sheet_findings,
                            sheet_errors, [], []))
    findings, task_errors = _merge(done, engine.shards)
    result = _result(Target(kind="warc", inputs=tuple(inputs), base_url=None), findings, errors + task_errors,
                     pages, sheets, show_suppressed)
    _write_manifest(engine.shards, done, result)
    return result


def _archive_stylesheets(archive: Archive, loads: Sequence[tuple[str, str, bool]], settings: ScanSettings,
                         runner: _Runner, digest: str) -> tuple[list[Finding], list[ScanError], list[str]]:
    """SPEC §4.2 with every referrer across tasks: each stylesheet the archived pages load (on hosts
    the archive holds, as a crawl keeps to its scope) located in the archive, read once, its
    ``@import`` chain followed, and judged by all the pages that load it (``StylesheetPhase``)."""
    phase = StylesheetPhase()
    located: dict[str, Located] = {}
    queue: list[str] = []
    for page, url, upgrade in loads:
        target = phase.page_target(url, upgrade)
        if target is None:
            continue
        key = urls.without_fragment(target)
        if archive.in_scope(key) and phase.page_load(key, key, None, page, upgrade):
            queue.append(key)
    while queue:
        reads: list[_SheetRead] = []
        for key in sorted(queue):
            loc = archive.locate(key)
            if isinstance(loc, str):
                phase.add_error(key, loc)
                continue
            head = loc.headers_from
            if head.status is None or not 200 <= head.status < 300:
                phase.add_error(key, f"HTTP {head.status}" + (f" (after redirects, at {loc.url})" if loc.redirects
                                                              else ""))
                continue
            if head.media not in (None, "text/css"):
                # HTML §4.6.7.5 (rel=stylesheet): a style sheet not served as text/css is not applied
                phase.add_error(key, f"not scanned: served as {head.media}, which browsers do not apply as a "
                                     f"stylesheet")
                continue
            located[key] = loc
            reads.append(_SheetRead(key, loc, settings.max_file_size))
        queue = []
        batches = [tuple(b) for b in _ranges(reads, lambda r: 1, SHEETS_PER_TASK, SHEETS_PER_TASK)]
        keys = [task_key("stylesheet-bytes", tuple((r.key, r.located.path, r.located.entry.offset) for r in b),
                         digest) for b in batches]
        answers = sorted((pair for got in runner.run(_sheets_task, batches, keys) for pair in got),
                         key=lambda pair: pair[0])
        for key, resp in answers:
            loc = located[key]
            if isinstance(resp, str):
                phase.add_error(key, f"record at offset {loc.entry.offset} {resp}")
                continue
            for url in phase.add(key, resp.body, url=loc.url, transport_charset=resp.charset):
                target, via_http = phase.import_target(url)
                imported = urls.without_fragment(target)
                if archive.in_scope(imported) and phase.import_load(imported, imported, None, key, via_http):
                    queue.append(imported)
    findings, errors, keys = phase.finish(True, _Policy.of(settings))
    # name each stylesheet's findings and errors by its archive and record, like the pages'
    where = {found.url: found for found in located.values()}
    named: list[Finding] = []
    for f in findings:
        sheet = where.get(f.page)
        named.append(f if sheet is None else replace(f, file=_display(archive, sheet.path),
                                                      record=ArchiveRecord(sheet.entry.offset, sheet.url)))
    named_errors = []
    for e in errors:
        sheet = where.get(e.url or "") or located.get(e.url or "")
        named_errors.append(e if sheet is None else replace(e, file=_display(archive, sheet.path)))
    return named, named_errors, keys


def _display(archive: Archive, path: str) -> str:
    for index in archive.indexes:
        if index.path == path:
            return index.name
    return path


# ---- built trees ------------------------------------------------------------------------------------


def scan_tree(inputs: Sequence[str], settings: ScanSettings = ScanSettings(),
              engine: EngineSettings = EngineSettings(), *, show_suppressed: bool = False,
              log: Callable[[str], None] | None = None) -> ScanResult:
    """A built site (or files) on the engine: the same findings as ``pipeline.scan_paths``, for very
    large trees. The client walks the tree and judges the stylesheets; tasks scan the pages."""
    _check_shards(engine.shards)
    digest = _settings_digest(settings, engine.shards)
    jobs, roots, errors, kind = page_jobs(list(inputs), settings)
    jobs = [replace(j, path=os.path.abspath(j.path)) for j in jobs]

    def size(job: _PageJob) -> int:
        try:
            return os.path.getsize(job.path)
        except OSError:
            return 0

    with _runner(engine) as runner:
        chunks = [_ChunkJob(task_key("tree", tuple((j.path, j.rel) for j in part), digest), tuple(part), settings,
                            engine.shards)
                  for part in _ranges(jobs, size, _per_task(len(jobs), runner.workers), RANGE_BYTES)]
        _log(log, f"scanning {len(jobs)} pages in {len(chunks)} task{'s' if len(chunks) != 1 else ''} "
                  f"{runner.where}")
        done = list(runner.run(_chunk_task, chunks, [c.key for c in chunks]))
    pages = [p for d in done for p in d.pages]
    loads = [(roots[rel], rel, StylesheetLoad(url, upgrade))
             for rel, url, upgrade in sorted({load for d in done for load in d.loads})]
    sheet_errors: list[ScanError] = []
    sheet_findings, sheets = _scan_stylesheets(loads, settings, sheet_errors)
    what = tuple((rel, load.url, load.upgrade_insecure) for _, rel, load in loads)
    done.append(_finish(task_key("stylesheets", what, digest), engine.shards, sheet_findings, sheet_errors, [], []))
    findings, task_errors = _merge(done, engine.shards)
    result = _result(Target(kind=kind, inputs=tuple(inputs), base_url=settings.base_url), findings,
                     errors + task_errors, pages, sheets, show_suppressed)
    _write_manifest(engine.shards, done, result)
    return result


def check_engine(engine: EngineSettings) -> None:
    """Validate engine flags (UsageError names the flag)."""
    if engine.workers is not None and engine.scheduler is not None:
        raise UsageError("--workers and --scheduler exclude each other (--scheduler uses that cluster's workers)")
    if engine.workers is not None and engine.workers < 1:
        raise UsageError(f"--workers must be 1 or more, got {engine.workers}")
    if engine.scheduler is not None and "://" not in engine.scheduler:
        raise UsageError(f"--scheduler wants a Dask scheduler address such as tcp://127.0.0.1:8786, "
                         f"got {engine.scheduler!r}")


__all__ = ["EngineSettings", "check_engine", "read_shard", "scan_archives", "scan_tree", "task_key"]
