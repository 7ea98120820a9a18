"""``mixedcontent fix``: scan a built site, choose the edits a policy allows, and apply them to the
original bytes of each file, atomically (docs/fix.md).

Stages: scan (the ordinary pipeline, which already proposes a fix for every finding) → plan (policy:
proven-safe by default, ``--unsafe``, ``--map``, ``--forms``; identical edits merged, so an http
``<base href>`` is fixed once for all the references under it; conflicts dropped) → apply (per file:
re-read, check it has not changed since the scan began and that every span still holds its text,
splice, write a temp file and rename it over the original).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import cast

from . import urls
from .extract.html import PageContext, csp_meta_insertion
from .extract.source import SourceText, decode_css, decode_html, decode_xml, looks_binary
from .model import Applicability, Context, Finding, FixStatus, ScanError, ScanResult, pickled_by_fields
from .probe import ProbeSettings
from .report.json import dumps
from .rewrite import (
    CAN_SYNC_FILESYSTEMS,
    FileChangedError,
    NotRegularFileError,
    apply_edits,
    commit_at,
    discard_at,
    open_directory,
    read_at,
    remove_temp_files,
    stage_at,
    sync_directories,
    sync_filesystems,
    unified_diff,
)
from .scan import scan_files
from .settings import ScanSettings
from .sources.files import collect
from .wording import plural

CSP_META = '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
CSP_META_XML = '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests" />'


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class FixOptions:
    unsafe: bool = False  # apply fixes whose https twin was not proven
    forms: bool = False  # also rewrite insecure form actions (MC201)
    maps: tuple[tuple[str, str], ...] = ()  # (http prefix, replacement prefix), --map FROM=TO
    add_csp_meta: bool = False
    dry_run: bool = False
    backup: str | None = None  # keep originals at path + suffix
    durable: bool = True  # fsync each file and directory


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class PlannedEdit:
    """One byte edit of one file: ``length`` bytes at ``offset`` hold ``old`` and will hold ``new``."""

    file: str
    offset: int
    length: int
    old: str
    new: str
    codes: tuple[str, ...]  # the findings it fixes ("" for an inserted CSP <meta>)
    url: str | None  # the URL it rewrites (None for an inserted <meta>)
    why: str  # "https-twin", "map", "csp-meta"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Unfixed:
    """A finding left as it is, and why."""

    finding: Finding
    reason: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class FileOutcome:
    file: str
    status: FixStatus
    edits: tuple[PlannedEdit, ...]
    message: str | None = None
    diff: bytes | None = None  # --dry-run: a unified diff of the bytes as stored (see rewrite.unified_diff)


@dataclass(frozen=True, slots=True)
class FixResult:
    scan: ScanResult
    files: tuple[FileOutcome, ...]
    unfixed: tuple[Unfixed, ...]
    dry_run: bool
    removed_temp_files: tuple[str, ...] = ()
    errors: tuple[ScanError, ...] = field(default_factory=tuple)

    @property
    def edits(self) -> tuple[PlannedEdit, ...]:
        return tuple(e for f in self.files if f.status in ("rewritten", "would-rewrite") for e in f.edits)


def parse_map(text: str) -> tuple[str, str]:
    """``http://old.example=https://cdn.example`` -> normalised (from, to) URL prefixes. Raises ValueError."""
    if "=" not in text:
        raise ValueError(f"--map wants FROM=TO, got {text!r}")
    left, right = text.split("=", 1)
    src = urls.resolve(left.strip(), "about:blank")
    dst = urls.resolve(right.strip(), "about:blank")
    if src is None or urls.scheme(src) != "http:":
        raise ValueError(f"--map FROM must be an absolute http:// URL, got {left!r}")
    if dst is None or urls.scheme(dst) != "https:":
        raise ValueError(f"--map TO must be an absolute https:// URL, got {right!r}")
    # a bare origin maps everything under it; keep path prefixes as given (after normalisation)
    if not left.rstrip().endswith("/") and src.endswith("/") and src.count("/") == 3:
        src = src[:-1]
        dst = dst[:-1] if dst.endswith("/") and dst.count("/") == 3 else dst
    return src, dst


def _mapped(url: str, maps: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """(from, to) of the longest --map prefix ``url`` starts with (at a path boundary)."""
    best: tuple[str, str] | None = None
    for src, dst in maps:
        if url.startswith(src) and (len(url) == len(src) or src.endswith("/") or url[len(src)] in "/?#"):
            if best is None or len(src) > len(best[0]):
                best = (src, dst)
    return best


def _map_text(raw: str, page: str, maps: Iterable[tuple[str, str]]) -> str | None:
    """New text for ``raw`` under the --map it falls under, when ``raw`` spells the mapped prefix out
    literally (scheme and host in any case, no character references); else None."""
    lead = len(raw) - len(raw.lstrip("\t\n\f\r "))
    url = urls.resolve(raw.strip("\t\n\f\r "), page)
    pair = _mapped(url, maps) if url is not None else None
    if url is None or pair is None:
        return None
    src, dst = pair
    body = raw[lead:]
    if body[:len(src)].lower() != src.lower():
        return None
    new = raw[:lead] + dst + body[len(src):]
    if urls.resolve(new.strip("\t\n\f\r "), page) != dst + url[len(src):]:
        return None
    return new


def _decoder(file: str, context: Context):  # type: ignore[no-untyped-def]
    if context is Context.STYLESHEET:
        return decode_css
    return decode_xml if file.lower().endswith(".xhtml") else decode_html


@dataclass(slots=True)
class _FilePlan:
    path: str
    rel: str
    context: Context
    root: str  # real path of the scanned root: nothing outside it is ever written
    edits: dict[tuple[int, int], PlannedEdit] = field(default_factory=dict)
    conflicts: set[tuple[int, int]] = field(default_factory=set)
    meta: bool = False  # add the CSP <meta>
    page_url: str | None = None


def _proven(f: Finding) -> bool:
    """The probe showed this reference's https twin works (docs/probe.md)."""
    if f.fix is not None and f.fix.applicability is Applicability.SAFE:
        return True
    return f.https is not None and f.https.status == "available"


def _base_verdicts(findings: Iterable[Finding]) -> dict[tuple[str | None, int], bool]:
    """An edit on an http <base href> serves every reference resolved through it: it is proven only
    when each of those requests is (the base element itself, MC105, is not a request)."""
    verdict: dict[tuple[str | None, int], bool] = {}
    for f in findings:
        if f.fix is None or f.suppressed_by is not None or f.code == "MC105":
            continue
        for e in f.fix.edits:
            if e.offset != f.offset or (e.file or f.file) != f.file:
                key = (e.file or f.file, e.offset)
                verdict[key] = verdict.get(key, True) and _proven(f)
    return verdict


def _plan(findings: list[Finding], paths: dict[str, tuple[str, str]], options: FixOptions,
          pages: dict[str, tuple[str, str, str]]) -> tuple[dict[str, _FilePlan], list[Unfixed]]:
    """The edits ``options`` allow for ``findings``, by file (``paths``: report path -> (path, root);
    ``pages``: report path -> (path, URL, root) of the pages that get a CSP <meta>), and the
    findings left alone with why."""
    plans: dict[str, _FilePlan] = {}
    unfixed: list[Unfixed] = []
    bases = _base_verdicts(findings)
    for f in findings:
        if f.suppressed_by is not None:
            continue
        reason = _refusal(f, options, bases)
        if reason is not None:
            unfixed.append(Unfixed(f, reason))
            continue
        assert f.fix is not None and f.url is not None
        edits = f.fix.edits
        why = "https-twin"
        if _mapped(f.url, options.maps) is not None:
            e = edits[0]
            new = _map_text(e.old, f.page, options.maps) if e.old is not None else None
            if new is None:
                unfixed.append(Unfixed(f, "--map: the source text does not spell out the mapped prefix; "
                                          "rewrite it by hand"))
                continue
            edits = (replace(e, new=new),)
            why = "map"
        for e in edits:
            rel = e.file or f.file
            if rel is None or rel not in paths:
                unfixed.append(Unfixed(f, "the file holding it is not part of the scanned tree"))
                break
            plan = plans.get(rel)
            if plan is None:
                plan = plans[rel] = _FilePlan(paths[rel][0], rel, f.context if f.context is Context.STYLESHEET
                                              else Context.HTML, paths[rel][1])
            key = (e.offset, e.length)
            have = plan.edits.get(key)
            if e.old is None:
                unfixed.append(Unfixed(f, "no record of the text to replace"))
                continue
            if have is None:
                plan.edits[key] = PlannedEdit(rel, e.offset, e.length, e.old, e.new, (f.code,), f.url, why)
            elif have.new == e.new:
                if f.code not in have.codes:
                    plan.edits[key] = PlannedEdit(rel, e.offset, e.length, e.old, e.new,
                                                  tuple(sorted((*have.codes, f.code))), have.url, have.why)
            else:
                plan.conflicts.add(key)
    if options.add_csp_meta:
        for rel, (path, url, root) in pages.items():
            plan = plans.get(rel)
            if plan is None:
                plan = plans[rel] = _FilePlan(path, rel, Context.HTML, root)
            plan.meta, plan.page_url = True, url
    return plans, unfixed


def _refusal(f: Finding, options: FixOptions, bases: dict[tuple[str | None, int], bool]) -> str | None:
    """Why a finding is not fixed under ``options`` (None: it is)."""
    if f.code == "MC401":
        return "script literals are never rewritten (the script may build or compare URLs)"
    if f.code == "MC201" and not options.forms:
        return "form actions are rewritten only with --forms (the receiving endpoint must accept https)"
    if f.fix is None or not f.fix.edits:
        return "no automatic fix: " + ("the page itself must be served over https"
                                       if f.page.startswith("http:") else "no https equivalent to write")
    if f.url is not None and _mapped(f.url, options.maps) is not None:
        return None  # the user named the new home; whether the old host's https twin works is moot
    if f.fix.applicability is Applicability.DISPLAY_ONLY:
        return f.fix.note or "shown only, never applied"
    if f.fix.applicability is Applicability.UNSAFE and not options.unsafe:
        on_base = [(e.file or f.file, e.offset) for e in f.fix.edits if (e.file or f.file, e.offset) in bases]
        if on_base and all(bases[k] for k in on_base):
            return None  # every request under this <base href> was proven
        if f.https is not None and f.https.status != "available":
            return f"the https twin does not work ({f.https.reason})"
        if on_base and f.code != "MC105" and _proven(f):
            return "other references under the same <base href> were not proven to work over https"
        return "the https twin was not proven to work (probe it, or --unsafe to upgrade anyway)"
    return None


@lru_cache(maxsize=4096)
def _real_directory(directory: str) -> str:
    """realpath of a page's directory, once per directory and process (pages of one directory share
    it). Only names the steps: each is then opened with O_NOFOLLOW by ``open_directory``, so a
    directory swapped for a symlink after this was cached is refused, never followed."""
    return os.path.realpath(directory)


@dataclass(slots=True)
class _Opened:
    """A file to rewrite, opened through directory handles below its root: the handle of its
    directory (``dir_fd``, owned: closed by whoever ends its use), its name there, the bytes read and
    its stat as it was opened."""

    dir_fd: int
    name: str
    data: bytes
    st: os.stat_result


def _open(plan: _FilePlan) -> _Opened | FileOutcome:
    """Open the plan's file for rewriting, or say why not: its directory is opened step by step from
    the scanned root with O_NOFOLLOW (docs/fix.md: never a symlink out of the root, even one planted
    during the run), the file itself with O_NOFOLLOW (a symlink is never written through) and only if
    it is a regular file."""
    rel = plan.rel
    directory, name = os.path.split(plan.path)
    real = _real_directory(directory or ".")
    root = plan.root.rstrip(os.sep) or os.sep
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return FileOutcome(rel, FixStatus.SKIPPED, (), "lies outside the scanned root (through a symlink): never written")
    parts = [p for p in real[len(root):].split(os.sep) if p]
    try:
        dir_fd = open_directory(root, parts)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            return FileOutcome(rel, FixStatus.SKIPPED, (), "a directory on its path is now a symlink or not a directory: "
                                                   "never written through")
        return FileOutcome(rel, FixStatus.ERROR, (), f"cannot read: {e.strerror or e}")
    try:
        data, st = read_at(dir_fd, name)
    except (NotRegularFileError, OSError) as e:
        os.close(dir_fd)
        if isinstance(e, NotRegularFileError) or e.errno == errno.ELOOP:
            return FileOutcome(rel, FixStatus.SKIPPED, (), "a symlink or not a regular file: never written through")
        return FileOutcome(rel, FixStatus.ERROR, (), f"cannot read: {e.strerror or e}")
    return _Opened(dir_fd, name, data, st)


_CHANGED = "changed on disk since it was scanned; run fix again"


def _apply(plan: _FilePlan, options: FixOptions, started_ns: int, scripting: bool,
           journal: str | None, stop: threading.Event) -> FileOutcome:
    """Rewrite one file the scan saw earlier (a stylesheet, or any file once the probe has run): opened,
    read and decoded again."""
    if stop.is_set():
        return FileOutcome(plan.rel, FixStatus.SKIPPED, (), "interrupted before it was rewritten")
    opened = _open(plan)
    if isinstance(opened, FileOutcome):
        return opened
    try:
        # the kernel sets ctime on every change and it cannot be set back, so unlike mtime (archives
        # carry future mtimes) it tells a change after the scan began
        if opened.st.st_ctime_ns >= started_ns:
            return FileOutcome(plan.rel, FixStatus.SKIPPED, (), _CHANGED)
        if looks_binary(opened.data):
            return FileOutcome(plan.rel, FixStatus.SKIPPED, (), "binary content")
        src = _decoder(plan.rel, plan.context)(opened.data)
        outcome = _rewrite(plan, opened, src, options, scripting, journal)
        assert isinstance(outcome, FileOutcome)
        return outcome
    finally:
        os.close(opened.dir_fd)


def _rewrite(plan: _FilePlan, opened: _Opened, src: SourceText, options: FixOptions,
             scripting: bool, journal: str | None, staged: bool = False) -> FileOutcome | _Staged:
    """Splice the plan's edits into ``src`` (the file as ``opened`` read it) and replace the file
    atomically (or, in a dry run, describe the change). ``staged``: only write the temp file and hand
    it back, for ``_commit`` to finish (it then owns ``opened.dir_fd``)."""
    rel = plan.rel
    edits = [e for k, e in sorted(plan.edits.items()) if k not in plan.conflicts]
    notes: list[str] = []
    if plan.conflicts:
        notes.append(f"{plural(len(plan.conflicts), 'span')} with conflicting fixes left alone")
    if plan.meta and plan.page_url is not None:
        meta = _meta_edit(rel, src, plan.page_url, scripting)
        if meta is not None:
            edits.append(meta)
    if not edits:
        return FileOutcome(rel, FixStatus.SKIPPED, (), "; ".join(notes) or "nothing to change")
    # overlapping spans (cannot happen for one document's references; guard anyway)
    edits.sort(key=lambda e: (e.offset, e.length))
    kept: list[PlannedEdit] = []
    for e in edits:
        if kept and e.offset < kept[-1].offset + kept[-1].length:
            notes.append(f"overlapping edit at byte {e.offset} left alone")
            continue
        kept.append(e)
    try:
        new_data = apply_edits(src, [(e.offset, e.length, e.old, e.new) for e in kept])
    except ValueError as e:
        return FileOutcome(rel, FixStatus.SKIPPED, (), f"{e}; changed since it was scanned? run fix again")
    message = "; ".join(notes) or None
    if options.dry_run:
        return FileOutcome(rel, FixStatus.WOULD_REWRITE, tuple(kept), message, unified_diff(rel, src.data, new_data))
    done = FileOutcome(rel, FixStatus.REWRITTEN, tuple(kept), message)
    try:
        # staged: durable later, for a whole chunk at once, where the filesystems can be synced
        tmp = stage_at(opened.dir_fd, opened.name, new_data, expect=opened.st,
                       fsync=options.durable and not (staged and CAN_SYNC_FILESYSTEMS))
    except OSError as e:
        return _write_failure(rel, e, options)
    result = _Staged(done, opened.dir_fd, opened.name, tmp, opened.st)
    if staged:
        return result
    fd = _open_journal(journal)
    try:
        return _commit(result, options, None, fd)
    finally:
        if fd is not None:
            os.close(fd)


def _write_failure(rel: str, e: OSError, options: FixOptions) -> FileOutcome:
    if isinstance(e, FileChangedError):
        return FileOutcome(rel, FixStatus.SKIPPED, (), "changed on disk while being rewritten; run fix again")
    if isinstance(e, FileExistsError):
        return FileOutcome(rel, FixStatus.SKIPPED, (), f"backup {rel}{options.backup} already exists; not overwritten")
    return FileOutcome(rel, FixStatus.ERROR, (), f"cannot write: {e.strerror or e}")


@dataclass(frozen=True, slots=True)
class _Staged:
    """A rewrite written to its temp file ``tmp`` beside ``name`` in the directory ``dir_fd``, waiting to
    be made durable and renamed into place (it never leaves the worker that wrote it: ``settle`` turns
    it into a FileOutcome and closes ``dir_fd``)."""

    done: FileOutcome  # the outcome once renamed
    dir_fd: int
    name: str
    tmp: str
    st: os.stat_result  # the original as read: renamed over only if it is still exactly this file


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _FixPage:
    """The pipeline's PageAction for ``fix``: plan and rewrite each page in the worker that scanned
    it, from the bytes and text it already holds (no second decode, and the writes overlap the
    scanning of other pages). Returns (the file's outcome or None, the findings left alone)."""

    options: FixOptions
    scripting: bool
    journal: str | None  # where each rewritten file is recorded as it is renamed into place

    def __call__(self, path: str, rel: str, url: str, root: str, src: SourceText,
                 findings: list[Finding]) -> tuple[FileOutcome | _Staged | None, list[Unfixed]]:
        pages = {rel: (path, url, root)} if self.options.add_csp_meta else {}
        plans, unfixed = _plan(findings, {rel: (path, root)}, self.options, pages)
        plan = plans.get(rel)
        if plan is None:
            return None, unfixed
        opened = _open(plan)
        if isinstance(opened, FileOutcome):
            return opened, unfixed
        outcome: FileOutcome | _Staged = FileOutcome(rel, FixStatus.SKIPPED, (), _CHANGED)
        try:
            # the file holds exactly the bytes that were scanned (compared, not dated: a future
            # mtime is no sign of change); from here on its stat must not change until the rename
            if opened.data == src.data:
                outcome = _rewrite(plan, opened, src, self.options, self.scripting, self.journal, staged=True)
        finally:
            if not isinstance(outcome, _Staged):
                os.close(opened.dir_fd)
        return outcome, unfixed

    def settle(self, acted: list[object]) -> list[object]:
        """Make the chunk's temp files durable (one syncfs per filesystem instead of an fsync per
        file), then rename each over its original (still checked against the stat it was read with).
        If the sync fails, no original is replaced. Whatever happens (an interrupt too), every temp
        file not renamed is removed and every directory handle closed."""
        results: list[tuple[FileOutcome | _Staged | None, list[Unfixed]]] = list(acted)  # type: ignore[arg-type]
        staged = [r[0] for r in results if isinstance(r[0], _Staged)]
        out: list[object] = []
        done: set[int] = set()
        journal = _open_journal(self.journal) if staged else None
        try:
            failure: OSError | None = None
            if staged and self.options.durable and CAN_SYNC_FILESYSTEMS:
                try:
                    sync_filesystems(x.dir_fd for x in staged)
                except OSError as e:
                    failure = e
            for outcome, unfixed in results:
                if isinstance(outcome, _Staged):
                    out.append((_commit(outcome, self.options, failure, journal), unfixed))
                    done.add(id(outcome))  # renamed, or its temp file removed
                else:
                    out.append((outcome, unfixed))
        finally:
            for x in staged:
                if id(x) not in done:
                    discard_at(x.dir_fd, x.tmp)
                os.close(x.dir_fd)
            if journal is not None:
                os.close(journal)
        return out


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """SIGINT held back (delivered on leaving) where the main thread runs this: a rename and its record
    in the journal happen both or neither, so an interrupted run names every file it rewrote."""
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    if main:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _open_journal(journal: str | None) -> int | None:
    """A descriptor appending to the run's journal (None without one)."""
    if journal is None:
        return None
    return os.open(journal, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))


def _record(journal: int | None, rel: str) -> None:
    if journal is not None:
        os.write(journal, (dumps(rel) + "\n").encode("utf-8"))  # one append: whole lines, whoever writes


def _commit(staged: _Staged, options: FixOptions, failure: OSError | None, journal: int | None) -> FileOutcome:
    """Rename a staged rewrite into place (closing nothing: the caller owns ``staged.dir_fd``)."""
    if failure is not None:
        discard_at(staged.dir_fd, staged.tmp)
        return _write_failure(staged.done.file, failure, options)
    try:
        with _interrupts_deferred():
            commit_at(staged.dir_fd, staged.tmp, staged.name, expect=staged.st, backup=options.backup)
            _record(journal, staged.done.file)
    except OSError as e:
        return _write_failure(staged.done.file, e, options)
    return staged.done


class FixInterrupted(KeyboardInterrupt):
    """``fix`` was interrupted (SIGINT): the temp files of the run are removed; ``rewritten`` names the
    files already renamed into place (report paths, sorted), ``removed_temp_files`` the temp files
    cleared."""

    def __init__(self, rewritten: tuple[str, ...], removed_temp_files: tuple[str, ...]) -> None:
        super().__init__(f"interrupted after rewriting {plural(len(rewritten), 'file')}")
        self.rewritten = rewritten
        self.removed_temp_files = removed_temp_files


def _meta_edit(rel: str, src: SourceText, url: str, scripting: bool) -> PlannedEdit | None:
    xml = rel.lower().endswith(".xhtml")
    index, already = csp_meta_insertion(src, PageContext(url, True, False, scripting), xml=xml)
    if already:
        return None
    text = src.text
    after = text[index:index + 2]
    newline = "\r\n" if after == "\r\n" else after[:1] if after[:1] in ("\n", "\r") else ""
    tag = CSP_META_XML if xml else CSP_META
    return PlannedEdit(rel, src.byte_offset(index), 0, "", newline + tag, ("",), None, "csp-meta")


def _remove_temps(inputs: list[str]) -> list[str]:
    removed: list[str] = []
    for given in inputs:
        if os.path.isdir(given):
            removed += remove_temp_files(given, recursive=True)
        elif os.path.isfile(given):
            removed += remove_temp_files(os.path.dirname(given) or ".", recursive=False)
    return removed


def _journal_entries(journal: str) -> tuple[str, ...]:
    try:
        with open(journal, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return ()
    return tuple(sorted({json.loads(line) for line in lines if line}))


def fix_paths(inputs: list[str], settings: ScanSettings, options: FixOptions,
              probe: ProbeSettings | None = None) -> FixResult:
    """Scan ``inputs`` and rewrite what ``options`` allow. Raises InputError for a missing input, and
    ``FixInterrupted`` (a KeyboardInterrupt) when interrupted, after removing its temp files."""
    journal: str | None = None
    if not options.dry_run:
        try:
            fd, journal = tempfile.mkstemp(prefix="mixedcontent-fix-", suffix=".journal")
            os.close(fd)
        except OSError:
            journal = None  # no temp directory: an interrupt then cannot name what was rewritten
    previous = _stop_on_interrupt()
    try:
        return _fix_paths(inputs, settings, options, probe, journal)
    except KeyboardInterrupt:
        if options.dry_run:
            raise
        # workers have stopped (the pipeline cancels what it had not started): clear what they left
        rewritten = _journal_entries(journal) if journal is not None else ()
        raise FixInterrupted(rewritten, tuple(_remove_temps(inputs))) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if journal is not None:
            try:
                os.unlink(journal)
            except OSError:
                pass


def _stop_on_interrupt() -> signal.Handlers | Callable[..., object] | int | None:
    """SIGINT (Ctrl-C reaches every process of the terminal's group) stops this process, which cancels
    the chunks not yet begun; a worker forked from it ignores it and finishes the chunk it holds (each
    file renamed and recorded, or its temp file removed), so no worker dies half-way with a traceback.
    Returns the handler it replaced (None when not on the main thread, where signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    pid = os.getpid()

    def on_sigint(signum: int, frame: object) -> None:
        if os.getpid() == pid:
            raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, on_sigint)


def _fix_paths(inputs: list[str], settings: ScanSettings, options: FixOptions, probe: ProbeSettings | None,
               journal: str | None) -> FixResult:
    removed: list[str] = []
    _real_directory.cache_clear()  # directories are resolved afresh each run
    if not options.dry_run:
        removed = _remove_temps(inputs)
    # a stylesheet (or, after probing, a page) rewritten at the end is checked against this instant
    started_ns = time.time_ns()
    time.sleep(0.001)  # let the filesystem's coarse clock pass the start mark
    pages, _, _ = collect(list(inputs), settings.base_url, root=settings.root, follow_symlinks=settings.follow_symlinks,
                          follow_outside=settings.follow_outside)
    outcomes: list[FileOutcome] = []
    unfixed: list[Unfixed] = []
    # without a probe stage each page's findings are final once it is scanned: the worker that
    # scanned it rewrites it (stylesheets, judged after every page, are rewritten below)
    probing = probe is not None and not options.unsafe
    action = None if probing else _FixPage(options, settings.scripting, journal)

    def on_page(acted: object) -> None:
        outcome, left = cast(tuple[FileOutcome | None, list[Unfixed]], acted)
        if outcome is not None:
            outcomes.append(outcome)
        unfixed.extend(left)

    result = scan_files(list(inputs), settings, probe=probe if probing else None, page_action=action,
                        on_page=on_page)
    paths: dict[str, tuple[str, str]] = {f.rel: (f.path, root.directory) for root, f in pages}
    roots = {f.rel: root for root, f in pages}
    # stylesheets: the scan names them by report path; find their files through the page's root
    for finding in result.findings:
        if finding.context is Context.STYLESHEET and finding.file is not None and finding.file not in paths:
            for root in {id(r): r for r in roots.values()}.values():
                located = root.file_for(finding.page)
                if located is not None and located[1] == finding.file:
                    paths[finding.file] = (located[0], root.directory)
                    break
    scanned = set(result.scanned)
    page_files = {f.rel: (f.path, f.url, root.directory) for root, f in pages if f.rel in scanned}
    rest = [f for f in result.findings if probing or f.context is Context.STYLESHEET]
    plans, left = _plan(rest, paths, options, page_files if options.add_csp_meta and probing else {})
    unfixed.extend(left)
    failed = {e.file for e in result.errors if e.file}
    todo = [plans[rel] for rel in sorted(plans) if rel not in failed]
    if todo:
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=min(8, len(todo)))  # fsync and reads release the GIL
        try:
            outcomes.extend(pool.map(lambda p: _apply(p, options, started_ns, settings.scripting, journal, stop),
                                     todo))
        finally:
            stop.set()  # an interrupt: files not yet begun are left alone
            pool.shutdown(wait=True, cancel_futures=True)
    outcomes.sort(key=lambda o: o.file)
    if not options.dry_run and options.durable:
        sync_directories(os.path.dirname(paths[o.file][0]) for o in outcomes if o.status == "rewritten")
    return FixResult(scan=result, files=tuple(o for o in outcomes if o.edits or o.status != "skipped"
                                              or o.message != "nothing to change"),
                     unfixed=tuple(sorted(unfixed, key=lambda u: u.finding.sort_key)), dry_run=options.dry_run,
                     removed_temp_files=tuple(removed), errors=result.errors)
