"""``mixedcontent fix``: scan a built site, choose the edits a policy allows, and apply them to the
original bytes of each file, atomically (docs/fix.md).

Stages: scan (the ordinary pipeline, which already proposes a fix for every finding) → plan (policy:
proven-safe by default, ``--unsafe``, ``--map``, ``--forms``; identical edits merged, so an http
``<base href>`` is fixed once for all the references under it; conflicts dropped) → apply (per file:
re-read, check it has not changed since the scan began and that every span still holds its text,
splice, write a temp file and rename it over the original).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import cast

from . import urls
from .extract.html import PageContext, csp_meta_insertion
from .extract.source import SourceText, decode_css, decode_html, decode_xml, looks_binary
from .model import Applicability, Context, Finding, ScanError, ScanResult, pickled_by_fields
from .scan import scan_files
from .probe import ProbeSettings
from .rewrite import (
    CAN_SYNC_FILESYSTEMS,
    FileChangedError,
    apply_edits,
    commit_file,
    discard_temp,
    remove_temp_files,
    replace_file,
    stage_file,
    sync_directories,
    sync_filesystems,
    unified_diff,
)
from .settings import ScanSettings
from .sources.files import collect

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
    status: str  # "rewritten", "would-rewrite", "skipped", "error"
    edits: tuple[PlannedEdit, ...]
    message: str | None = None
    diff: str | None = None


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
    """realpath of a page's directory, once per directory and process (pages of one directory
    share it; the file itself is checked not to be a symlink)."""
    return os.path.realpath(directory)


def _check(plan: _FilePlan, started_ns: int) -> os.stat_result | FileOutcome:
    """The file's stat when it may be written, else why not: never through a symlink, never outside
    the scanned root, never when it changed after the scan began."""
    rel = plan.rel
    try:
        st = os.lstat(plan.path)
    except OSError as e:
        return FileOutcome(rel, "error", (), f"cannot read: {e.strerror or e}")
    if not stat.S_ISREG(st.st_mode):  # lstat: a symlink is not a regular file
        return FileOutcome(rel, "skipped", (), "a symlink or not a regular file: never written through")
    directory, name = os.path.split(plan.path)
    real = os.path.join(_real_directory(directory), name)
    if not (real == plan.root or real.startswith(plan.root.rstrip(os.sep) + os.sep)):
        return FileOutcome(rel, "skipped", (), "lies outside the scanned root (through a symlink): never written")
    if st.st_mtime_ns >= started_ns:
        return FileOutcome(rel, "skipped", (), "changed on disk since it was scanned; run fix again")
    return st


def _apply(plan: _FilePlan, options: FixOptions, started_ns: int, scripting: bool) -> FileOutcome:
    """Rewrite one file the scan saw earlier: checked, read and decoded again."""
    st = _check(plan, started_ns)
    if isinstance(st, FileOutcome):
        return st
    try:
        with open(plan.path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        return FileOutcome(plan.rel, "error", (), f"cannot read: {e.strerror or e}")
    if looks_binary(data):
        return FileOutcome(plan.rel, "skipped", (), "binary content")
    outcome = _rewrite(plan, st, _decoder(plan.rel, plan.context)(data), options, scripting)
    assert isinstance(outcome, FileOutcome)
    return outcome


def _rewrite(plan: _FilePlan, st: os.stat_result, src: SourceText, options: FixOptions,
             scripting: bool, staged: bool = False) -> FileOutcome | _Staged:
    """Splice the plan's edits into ``src`` (the file as it was when ``st`` was taken) and replace
    the file atomically (or, in a dry run, describe the change). ``staged``: only write the temp
    file and hand it back, for ``_commit`` to finish."""
    rel = plan.rel
    edits = [e for k, e in sorted(plan.edits.items()) if k not in plan.conflicts]
    notes: list[str] = []
    if plan.conflicts:
        notes.append(f"{len(plan.conflicts)} span(s) with conflicting fixes left alone")
    if plan.meta and plan.page_url is not None:
        meta = _meta_edit(rel, src, plan.page_url, scripting)
        if meta is not None:
            edits.append(meta)
    if not edits:
        return FileOutcome(rel, "skipped", (), "; ".join(notes) or "nothing to change")
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
        return FileOutcome(rel, "skipped", (), f"{e}; changed since it was scanned? run fix again")
    message = "; ".join(notes) or None
    if options.dry_run:
        return FileOutcome(rel, "would-rewrite", tuple(kept), message, unified_diff(rel, src, new_data))
    done = FileOutcome(rel, "rewritten", tuple(kept), message)
    if staged:
        try:
            # durable later, for a whole chunk at once, where the filesystems can be synced
            tmp = stage_file(plan.path, new_data, expect=st, fsync=options.durable and not CAN_SYNC_FILESYSTEMS)
        except OSError as e:
            return FileOutcome(rel, "error", (), f"cannot write: {e.strerror or e}")
        return _Staged(done, plan.path, tmp, st)
    try:
        replace_file(plan.path, new_data, expect=st, backup=options.backup, durable=options.durable)
    except OSError as e:
        return _write_failure(rel, e, options)
    return done


def _write_failure(rel: str, e: OSError, options: FixOptions) -> FileOutcome:
    if isinstance(e, FileChangedError):
        return FileOutcome(rel, "skipped", (), "changed on disk while being rewritten; run fix again")
    if isinstance(e, FileExistsError):
        return FileOutcome(rel, "skipped", (), f"backup {rel}{options.backup} already exists; not overwritten")
    return FileOutcome(rel, "error", (), f"cannot write: {e.strerror or e}")


@dataclass(frozen=True, slots=True)
class _Staged:
    """A rewrite written to its temp file, waiting to be made durable and renamed into place (it never
    leaves the worker that wrote it: ``settle`` turns it into a FileOutcome)."""

    done: FileOutcome  # the outcome once renamed
    path: str
    tmp: str
    st: os.stat_result


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _FixPage:
    """The pipeline's PageAction for ``fix``: plan and rewrite each page in the worker that scanned
    it, from the bytes and text it already holds (no second read or decode, and the writes overlap
    the scanning of other pages). Returns (the file's outcome or None, the findings left alone)."""

    options: FixOptions
    started_ns: int
    scripting: bool

    def __call__(self, path: str, rel: str, url: str, root: str, src: SourceText,
                 findings: list[Finding]) -> tuple[FileOutcome | _Staged | None, list[Unfixed]]:
        pages = {rel: (path, url, root)} if self.options.add_csp_meta else {}
        plans, unfixed = _plan(findings, {rel: (path, root)}, self.options, pages)
        plan = plans.get(rel)
        if plan is None:
            return None, unfixed
        st = _check(plan, self.started_ns)
        if isinstance(st, FileOutcome):
            return st, unfixed
        if st.st_size != len(src.data):
            return FileOutcome(rel, "skipped", (), "changed on disk since it was scanned; run fix again"), unfixed
        return _rewrite(plan, st, src, self.options, self.scripting, staged=True), unfixed

    def settle(self, acted: list[object]) -> list[object]:
        """Make the chunk's temp files durable (one syncfs per filesystem instead of an fsync per
        file), then rename each over its original (still checked against the stat it was planned
        from). If the sync fails, no original is replaced."""
        results: list[tuple[FileOutcome | _Staged | None, list[Unfixed]]] = list(acted)  # type: ignore[arg-type]
        staged = [r[0] for r in results if isinstance(r[0], _Staged)]
        failure: OSError | None = None
        if staged and self.options.durable and CAN_SYNC_FILESYSTEMS:
            try:
                sync_filesystems(x.path for x in staged)
            except OSError as e:
                failure = e
        out: list[object] = []
        for outcome, unfixed in results:
            out.append((_commit(outcome, self.options, failure) if isinstance(outcome, _Staged) else outcome,
                        unfixed))
        return out


def _commit(staged: _Staged, options: FixOptions, failure: OSError | None) -> FileOutcome:
    if failure is not None:
        discard_temp(staged.tmp)
        return _write_failure(staged.done.file, failure, options)
    try:
        commit_file(staged.tmp, staged.path, expect=staged.st, backup=options.backup)
    except OSError as e:
        return _write_failure(staged.done.file, e, options)
    return staged.done


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


def fix_paths(inputs: list[str], settings: ScanSettings, options: FixOptions,
              probe: ProbeSettings | None = None) -> FixResult:
    """Scan ``inputs`` and rewrite what ``options`` allow. Raises InputError for a missing input."""
    removed: list[str] = []
    _real_directory.cache_clear()  # directories are resolved afresh each run
    if not options.dry_run:
        for given in inputs:
            if os.path.isdir(given):
                removed += remove_temp_files(given, recursive=True)
            elif os.path.isfile(given):
                removed += remove_temp_files(os.path.dirname(given) or ".", recursive=False)
    # a file whose mtime is at or after this instant may have changed after the scan read it
    started_ns = time.time_ns()
    time.sleep(0.001)  # let the filesystem's coarse clock pass the start mark
    pages, _, _ = collect(list(inputs), settings.base_url, root=settings.root, follow_symlinks=settings.follow_symlinks,
                          follow_outside=settings.follow_outside)
    outcomes: list[FileOutcome] = []
    unfixed: list[Unfixed] = []
    # without a probe stage each page's findings are final once it is scanned: the worker that
    # scanned it rewrites it (stylesheets, judged after every page, are rewritten below)
    probing = probe is not None and not options.unsafe
    action = None if probing else _FixPage(options, started_ns, settings.scripting)

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
        with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:  # fsync and reads release the GIL
            outcomes.extend(pool.map(lambda p: _apply(p, options, started_ns, settings.scripting), todo))
    outcomes.sort(key=lambda o: o.file)
    if not options.dry_run and options.durable:
        sync_directories(os.path.dirname(paths[o.file][0]) for o in outcomes if o.status == "rewritten")
    return FixResult(scan=result, files=tuple(o for o in outcomes if o.edits or o.status != "skipped"
                                              or o.message != "nothing to change"),
                     unfixed=tuple(sorted(unfixed, key=lambda u: u.finding.sort_key)), dry_run=options.dry_run,
                     removed_temp_files=tuple(removed), errors=result.errors)
