"""Reports of ``mixedcontent fix``: text (a unified diff with --dry-run) and JSON (every edit)."""

from __future__ import annotations

from typing import Any, TextIO

from ..fixer import FixResult
from ..wording import plural
from .json import dump, report_dict
from .text import safe as clean


def fix_dict(result: FixResult) -> dict[str, Any]:
    """The JSON shape of a fix run: every edit with its file, byte offset and length, old and new text."""
    scan = report_dict(result.scan, lazy=True)  # its findings are not written
    edits = [{"file": e.file, "offset": e.offset, "length": e.length, "old": e.old, "new": e.new,
              "codes": [c for c in e.codes if c], "url": e.url, "kind": e.why} for e in result.edits]
    return {
        "version": 1,
        "tool": scan["tool"],
        "target": scan["target"],
        "dry_run": result.dry_run,
        "edits": edits,
        "files": [{"file": f.file, "status": f.status, "edits": len(f.edits), "message": f.message}
                  for f in result.files],
        "unfixed": [{"code": u.finding.code, "file": u.finding.file, "page": u.finding.page,
                     "line": u.finding.line, "column": u.finding.column, "offset": u.finding.offset,
                     "url": u.finding.url, "reason": u.reason} for u in result.unfixed],
        "errors": scan["errors"],
        "removed_temp_files": list(result.removed_temp_files),
        "summary": summary(result),
    }


def summary(result: FixResult) -> dict[str, int]:
    changed = [f for f in result.files if f.status in ("rewritten", "would-rewrite")]
    return {"files_changed": len(changed), "edits": sum(len(f.edits) for f in changed),
            "files_skipped": sum(1 for f in result.files if f.status in ("skipped", "error")),
            "unfixed": len(result.unfixed), "errors": len(result.errors)}


def write_json(result: FixResult, out: TextIO) -> None:
    dump(fix_dict(result), out)
    out.write("\n")


def _write_bytes(out: TextIO, data: bytes) -> None:
    """A patch holds the files' own bytes (any encoding): to a real stream's binary buffer as they are;
    to a text-only stream decoded with ``surrogateescape`` (``.encode("utf-8", "surrogateescape")``
    gives the bytes back)."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(data.decode("utf-8", "surrogateescape"))
        return
    out.flush()
    buffer.write(data)
    buffer.flush()


def write_text(result: FixResult, out: TextIO, notes: TextIO) -> None:
    """Without --dry-run: one line per file and per finding left alone, then a summary, on ``out``.
    With --dry-run: the unified diff on ``out`` (so ``> fix.patch`` is a patch that ``git apply`` and
    ``patch -p1`` apply, byte for byte) and the rest on ``notes``."""
    lines = notes if result.dry_run else out
    for f in result.files:
        if f.status == "would-rewrite" and f.diff:
            _write_bytes(out, f.diff)
        elif f.status == "rewritten":
            lines.write(f"{clean(f.file)}: rewrote {plural(len(f.edits), 'reference')}"
                        + (f" ({clean(f.message)})" if f.message else "") + "\n")
        if f.status in ("skipped", "error"):
            lines.write(f"{clean(f.file)}: not rewritten: {clean(f.message or f.status)}\n")
    for u in result.unfixed:
        g = u.finding
        where = f"{clean(g.file or g.page)}:{g.line}:{g.column}" if g.line is not None else clean(g.file or g.page)
        lines.write(f"{where}: {g.code} {clean(g.url or '')} left as is: {clean(u.reason)}\n")
    for e in result.errors:
        lines.write(f"{clean(e.file or e.url or '')}: error: {clean(e.message)}\n")
    for path in result.removed_temp_files:
        lines.write(f"{clean(path)}: removed a temp file an interrupted run left\n")
    s = summary(result)
    verb = "would rewrite" if result.dry_run else "rewrote"
    metas = sum(1 for e in result.edits if e.why == "csp-meta")
    refs = s["edits"] - metas
    lines.write(f"{verb} {plural(refs, 'reference')}"
                + (f" and {'would add' if result.dry_run else 'added'} {metas} CSP <meta>" if metas else "")
                + f" in {plural(s['files_changed'], 'file')}; {plural(s['unfixed'], 'finding')} left as is"
                + (f"; {plural(s['files_skipped'], 'file')} not rewritten" if s["files_skipped"] else "")
                + "\n")
