"""docs/json-report.md: the JSON report contract, version 1. Fields are only ever added.

Every JSON text this package writes is valid UTF-8 whatever the input: a string may hold lone
surrogates (a byte that is invalid in its document's encoding is kept as the code point U+DC80 + byte,
Python's ``surrogateescape``, so spans never drift; a file name that is not valid UTF-8 is decoded the
same way; a UTF-16 document may hold a lone surrogate code unit), which UTF-8 cannot encode. ``dump``
writes each as a ``\\uXXXX`` escape, so ``raw`` and ``file`` round-trip exactly: a JSON parser that
keeps lone surrogates (Python's, JavaScript's) gives back the very code points, and
``raw.encode(encoding, "surrogateescape")`` is the stored bytes of the span, ``os.fsencode(file)`` the
file's name. Parsers that refuse lone surrogates replace them with U+FFFD (jq, Go) or reject them.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, Generic, TextIO, TypeVar, cast

from ..model import (
    Applicability,
    ArchiveRecord,
    Category,
    Context,
    Destination,
    Edit,
    Finding,
    Fix,
    Initiator,
    InitiatorLocation,
    ProbeResult,
    ReportOptions,
    ScanError,
    ScanResult,
    ServerConfig,
    Severity,
)

CONTRACT_VERSION = 1

T = TypeVar("T")


class Lazy(Generic[T]):
    """A JSON array whose items are made as ``dump`` writes them: a report's findings become dicts one
    at a time, so writing a report never holds a second copy of every finding (a finding's dict costs
    about three times its JSON text). Only ``dump`` writes it (``json.dumps`` does not know it)."""

    __slots__ = ("_items", "_make", "text")

    def __init__(self, items: Sequence[T], make: Callable[[T], Any],
                 text: Callable[[T], str] | None = None) -> None:
        self._items = items
        self._make = make
        self.text = text  # an item's JSON text as ``dumps(make(item))`` writes it, made directly

    def texts(self, start: int = 0, stop: int | None = None) -> Iterator[str]:
        """The JSON texts of items ``start`` to ``stop``."""
        assert self.text is not None
        items = self._items if start == 0 and stop is None else self._items[start:stop]
        return map(self.text, items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return map(self._make, self._items)


class Later:
    """A value of a report that ``dump`` makes when it gets there, or earlier while it waits for the
    process rendering half of a long findings array (``_write_texts``): a dense site's summary counts
    55,000 findings (~0.06 s) in that wait instead of after it. Made once. Only ``dump`` knows it."""

    __slots__ = ("_make", "_value")

    _UNMADE: Any = object()

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._value = Later._UNMADE

    def __call__(self) -> Any:
        if self._value is Later._UNMADE:
            self._value = self._make()
        return self._value


def _probe(p: ProbeResult | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"status": p.status, "reason": p.reason, "http_status": p.http_status, "final_url": p.final_url,
            "content_type": p.content_type}


def finding_dict(f: Finding) -> dict[str, Any]:
    d: dict[str, Any] = {
        "code": f.code, "name": f.name, "category": str(f.category), "severity": str(f.severity),
        "message": f.message, "file": f.file,
        **({"path": f.path} if f.path is not None else {}),  # docs/json-report.md: only for findings from a file
        "page": f.page, "line": f.line, "column": f.column,
        "offset": f.offset, "length": f.length, "url": f.url, "raw": f.raw, "element": f.element,
        "attribute": f.attribute, "context": str(f.context), "destination": f.destination,
        "initiator": f.initiator, "https": _probe(f.https),
        "fix": None if f.fix is None else {
            "replacement": f.fix.replacement, "applicability": str(f.fix.applicability),
            "edits": [{"file": e.file, "offset": e.offset, "length": e.length, "new": e.new} for e in f.fix.edits],
            **({"note": f.fix.note} if f.fix.note else {}),
        },
        "fingerprint": f.fingerprint,
    }
    if f.referrers is not None:
        d["referrers"] = list(f.referrers)
    if f.suppressed_by is not None:
        d["suppressed_by"] = f.suppressed_by
    if f.record is not None:
        d["record"] = {"offset": f.record.offset, "target_uri": f.record.target_uri}
    # docs/json-report.md: written only with --render, so reports without it stay byte-identical
    if f.confirmed_by is not None:
        d["confirmed_by"] = f.confirmed_by
    if f.initiator_location is not None:
        loc = f.initiator_location
        d["initiator_location"] = {"url": loc.url, "line": loc.line, "column": loc.column,
                                   **({"offset": loc.offset} if loc.offset is not None else {})}
    return d


_str = json.encoder.encode_basestring  # a JSON string, ensure_ascii=False (C)


def _opt(value: str | None) -> str:
    return "null" if value is None else _str(value)


def _int(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


def finding_json(f: Finding) -> str:
    """``dumps(finding_dict(f))`` made directly: a dense site's report writes tens of thousands of
    findings, after the scan, on one core, and building each dict to encode it cost 3x this (issue 19:
    98k -> 44k instructions a finding). ``tests/report/test_report_json.py`` holds the two equal over
    generated findings with every field, so a field added to ``finding_dict`` and not here fails it."""
    parts = ['{"code": ', _str(f.code), ', "name": ', _str(f.name), ', "category": ', _str(f.category),
             ', "severity": ', _str(f.severity), ', "message": ', _str(f.message), ', "file": ', _opt(f.file)]
    if f.path is not None:
        parts += ', "path": ', _str(f.path)
    parts += (', "page": ', _str(f.page), ', "line": ', _int(f.line), ', "column": ', _int(f.column),
              ', "offset": ', _int(f.offset), ', "length": ', _int(f.length), ', "url": ', _opt(f.url),
              ', "raw": ', _opt(f.raw), ', "element": ', _opt(f.element), ', "attribute": ', _opt(f.attribute),
              ', "context": ', _str(f.context), ', "destination": ', _opt(f.destination),
              ', "initiator": ', _opt(f.initiator), ', "https": ')
    p = f.https
    if p is None:
        parts.append("null")
    else:
        parts += ('{"status": ', _str(p.status), ', "reason": ', _str(p.reason), ', "http_status": ',
                  _int(p.http_status), ', "final_url": ', _opt(p.final_url), ', "content_type": ',
                  _opt(p.content_type), "}")
    parts.append(', "fix": ')
    fix = f.fix
    if fix is None:
        parts.append("null")
    else:
        parts += ('{"replacement": ', _str(fix.replacement), ', "applicability": ', _str(fix.applicability),
                  ', "edits": [')
        for i, e in enumerate(fix.edits):
            parts += (", " if i else "", '{"file": ', _opt(e.file), ', "offset": ', _int(e.offset),
                      ', "length": ', _int(e.length), ', "new": ', _str(e.new), "}")
        parts.append("]")
        if fix.note:
            parts += ', "note": ', _str(fix.note)
        parts.append("}")
    parts += ', "fingerprint": ', _str(f.fingerprint)
    if f.referrers is not None:
        parts += ', "referrers": [', ", ".join(map(_str, f.referrers)), "]"
    if f.suppressed_by is not None:
        parts += ', "suppressed_by": ', _str(f.suppressed_by)
    if f.record is not None:
        parts += (', "record": {"offset": ', _int(f.record.offset), ', "target_uri": ',
                  _str(f.record.target_uri), "}")
    if f.confirmed_by is not None:
        parts += ', "confirmed_by": ', _str(f.confirmed_by)
    if (loc := f.initiator_location) is not None:
        parts += (', "initiator_location": {"url": ', _str(loc.url), ', "line": ', _int(loc.line),
                  ', "column": ', _int(loc.column))
        if loc.offset is not None:
            parts += ', "offset": ', _int(loc.offset)
        parts.append("}")
    parts.append("}")
    return "".join(parts)


def finding_from_dict(d: dict[str, Any]) -> Finding:
    """The inverse of ``finding_dict`` (JSON Lines shards are read back with it). An edit's ``old``
    text, which the contract does not carry, comes back when the dict has it."""
    fix = d["fix"]
    probe = d["https"]
    record = d.get("record")
    referrers = d.get("referrers")
    loc = d.get("initiator_location")
    return Finding(
        code=d["code"], name=d["name"], category=Category(d["category"]), severity=Severity(d["severity"]),
        message=d["message"], file=d["file"], page=d["page"], line=d["line"], column=d["column"],
        offset=d["offset"], length=d["length"], url=d["url"], raw=d["raw"], element=d["element"],
        attribute=d["attribute"], context=Context(d["context"]),
        destination=None if d["destination"] is None else Destination(d["destination"]),
        initiator=None if d["initiator"] is None else Initiator(d["initiator"]),
        https=None if probe is None else ProbeResult(**probe),
        fix=None if fix is None else Fix(
            fix["replacement"], Applicability(fix["applicability"]),
            tuple(Edit(e["file"], e["offset"], e["length"], e["new"], e.get("old")) for e in fix["edits"]),
            fix.get("note")),
        fingerprint=d["fingerprint"], referrers=None if referrers is None else tuple(referrers),
        suppressed_by=d.get("suppressed_by"),
        record=None if record is None else ArchiveRecord(record["offset"], record["target_uri"]),
        path=d.get("path"),
        confirmed_by=d.get("confirmed_by"),
        initiator_location=None if loc is None else InitiatorLocation(loc["url"], loc["line"], loc["column"],
                                                                      loc.get("offset")))


def error_dict(e: ScanError) -> dict[str, Any]:
    if e.path is None:
        return {"file": e.file, "url": e.url, "message": e.message}
    return {"file": e.file, "path": e.path, "url": e.url, "message": e.message}


def summary(result: ScanResult) -> dict[str, Any]:
    findings = result.findings
    # one pass over the findings (a dense site's report has tens of thousands), then counts of counts
    kinds = Counter((f.code, str(f.category), str(f.severity)) for f in findings)
    by_code: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    for (code, category, severity), n in kinds.items():
        by_code[code] += n
        by_category[category] += n
        by_severity[severity] += n
    return {
        "documents": result.documents, "pages": result.pages, "stylesheets": result.stylesheets,
        "findings": len(findings),
        "by_code": dict(sorted(by_code.items())),
        "by_category": dict(sorted(by_category.items())),
        "by_severity": {s.value: by_severity[s.value] for s in Severity if by_severity[s.value]},
        "errors": len(result.errors), "suppressed": result.suppressed,
        # docs/json-report.md#added-fields: directory and file scans only (fix rewrites files)
        **({"fixable": {str(route): n for route, n in fixable.items()}}
           if (fixable := result.fixable) is not None else {}),
    }


def report_dict(result: ScanResult, *, lazy: bool = False) -> dict[str, Any]:
    """The report as JSON values; ``lazy``: its findings as a ``Lazy`` array, for ``dump`` to write."""
    return {
        "version": CONTRACT_VERSION,
        "tool": {"name": "mixedcontent", "version": result.tool_version},
        "target": {"kind": result.target.kind, "inputs": list(result.target.inputs),
                   "base_url": result.target.base_url},
        "findings": (Lazy(result.findings, finding_dict, finding_json) if lazy
                     else [finding_dict(f) for f in result.findings]),
        "errors": [error_dict(e) for e in result.errors],
        "summary": Later(lambda: summary(result)) if lazy else summary(result),
    }


def server_config_dict(config: ServerConfig) -> dict[str, Any]:
    """docs/json-report.md#added-fields: the server TLS configuration, one entry per server."""
    return {"profile": config.profile, "guidelines": config.guidelines,
            "servers": {sn.server: {"title": sn.title, "text": sn.text} for sn in config.snippets}}


def write(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    report = report_dict(result, lazy=True)
    if options is not None and options.server_config is not None:
        report["server_config"] = server_config_dict(options.server_config)
    dump(report, out, workers=1 if options is None else options.workers)
    out.write("\n")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def _replace_surrogate(m: re.Match[str]) -> str:
    return "\ufffd"


# ``json.dumps(value, ensure_ascii=False, default=_listed)``'s C encoder, made once: ``json.dumps`` with
# any argument builds a JSONEncoder and a C encoder per call, which cost as much as encoding a finding
# (issue 19: a dense site's report is one call per finding)
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)  # (not in typeshed: CPython's _json)
_ONE_LINE: Callable[[Any, int], Any] | None = (
    None if _C_MAKE_ENCODER is None else _C_MAKE_ENCODER(
        None, lambda o: _listed(o), json.encoder.encode_basestring, None, ": ", ", ", False, False, True))


def dumps(value: Any, *, replace_surrogates: bool = False, **kwargs: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **kwargs)`` as text that always encodes to UTF-8: each
    lone surrogate is written as its ``\\uXXXX`` escape (lossless; see the module docstring), or as
    U+FFFD with ``replace_surrogates`` (for formats read by tools that refuse lone surrogates)."""
    if _ONE_LINE is not None and (not kwargs or kwargs.keys() == {"default"} and kwargs["default"] is _listed):
        text = "".join(_ONE_LINE(value, 0)) if isinstance(value, (dict, list)) else json.dumps(
            value, ensure_ascii=False, default=_listed)
    else:
        text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _utf8(text, replace_surrogates)


def _utf8(text: str, replace_surrogates: bool) -> str:
    """JSON text with each lone surrogate escaped (or replaced): see ``dumps``."""
    # a surrogate can only occur inside a JSON string, where its escape means the same code point
    # (an ASCII text holds none: isascii is one C pass, the search a regex step per character)
    if text.isascii() or _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(_replace_surrogate if replace_surrogates else _escape_surrogate, text)


def _listed(value: object) -> list[Any]:
    """A ``Lazy`` array below ``dump``'s outer levels, for the C encoder (anything else: its TypeError)."""
    if isinstance(value, Lazy):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Findings from which a report renders the second half of its findings in a forked process while this one
# renders the first: below it the fork costs more than it saves. A dense site's 55,000 findings take ~0.45 s
# to write, on one core, after the scan's workers have finished (issue 19).
PARALLEL_MIN = 20_000


def _write_texts(doc: Lazy[Any], out: TextIO, inner: str, replace_surrogates: bool, workers: int,
                 meanwhile: Sequence[Later] = ()) -> None:
    """A ``Lazy`` array's items, one per line, each after its separator and indent. With ``workers`` > 1
    and at least ``PARALLEL_MIN`` items, a forked child renders the second half into an unnamed temp
    file while this process renders and writes the first half, makes the ``meanwhile`` values, then
    copies the child's text after it. The bytes are the same either way; when the child cannot be had
    or fails (no fork, threads running, no temp space), this process renders everything itself."""
    n = len(doc)
    split = n // 2 if workers > 1 and n >= PARALLEL_MIN else n
    child = _render_apart(doc, split, n, inner, replace_surrogates) if split < n else None
    try:
        sep = "[\n"
        for text in doc.texts(0, split if child is not None else None):
            out.write(sep + inner + _utf8(text, replace_surrogates))
            sep = ",\n"
        if child is not None:
            pid, spill = child
            for value in meanwhile:
                value()
            _, status = os.waitpid(pid, 0)
            child = None
            if os.waitstatus_to_exitcode(status) == 0:
                spill.seek(0)
                _copy_utf8(spill, out)
            else:
                out.writelines(_lines(doc, split, n, inner, replace_surrogates))
            spill.close()
    finally:
        if child is not None:  # interrupted: the child's work is not wanted
            pid, spill = child
            import signal

            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            spill.close()


def _copy_utf8(spill: BinaryIO, out: TextIO) -> None:
    """Append ``spill``'s UTF-8 text to ``out``: as bytes, to the stream below it, when ``out`` writes
    UTF-8 to one and adds nothing to line ends (POSIX; fork is POSIX only); else decoded and written."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is not None and os.linesep == "\n" and encoding and codecs.lookup(encoding).name == "utf-8":
        import shutil

        out.flush()
        shutil.copyfileobj(spill, buffer, 1 << 20)
        return
    reader = io.TextIOWrapper(spill, encoding="utf-8", newline="")
    while piece := reader.read(1 << 20):
        out.write(piece)


def _lines(doc: Lazy[Any], start: int, stop: int, inner: str, replace_surrogates: bool) -> Iterator[str]:
    """Items ``start`` to ``stop`` of a ``Lazy`` array, each after ``",\n"`` and ``inner``."""
    for text in doc.texts(start, stop):
        yield ",\n" + inner + _utf8(text, replace_surrogates)


def _render_apart(doc: Lazy[Any], start: int, stop: int, inner: str,
                  replace_surrogates: bool) -> tuple[int, BinaryIO] | None:
    """(pid, temp file) of a forked child writing items ``start`` to ``stop`` (each after ``",\n"`` and
    ``inner``) to the temp file as UTF-8, or None when no child can be had: no fork on this platform,
    other threads running (a fork copies only the calling thread, and their locks as they stand), or no
    temp file."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    import tempfile  # (a long report only: not imported by a scan of a few pages)

    try:
        spill = tempfile.TemporaryFile()  # unnamed where the platform allows: nothing left behind
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        spill.close()
        return None
    if pid == 0:  # the child: render, and leave without running anything of the parent's at exit
        code = 1
        try:
            writer = io.TextIOWrapper(spill, encoding="utf-8", newline="")
            writer.writelines(_lines(doc, start, stop, inner, replace_surrogates))
            writer.flush()
            code = 0
        finally:
            os._exit(code)
    return pid, cast(BinaryIO, spill)


def dump(doc: Any, out: TextIO, *, levels: int = 2, replace_surrogates: bool = False, workers: int = 1,
         _level: int = 0, _later: Sequence[Later] = ()) -> None:
    """``json.dump(doc, out, indent=2, ensure_ascii=False)`` for the outer ``levels`` levels, and each
    value below them on one line: a report reads as one finding per line, and the C encoder writes
    it (Python's pretty printer is pure Python, ~8x slower: 0.4 s for 3000 findings). Lone
    surrogates as ``dumps`` writes them. A ``Lazy`` array is written as a list, an item at a time
    (a long one in two processes when ``workers`` allows: ``_write_texts``). A ``Later`` value of the
    outer levels is made when it is reached, or while the second process renders."""
    if isinstance(doc, Later):
        doc = doc()
    if _level == 0 and isinstance(doc, dict):
        _later = [v for v in doc.values() if isinstance(v, Later)]
    if _level < levels and isinstance(doc, (dict, list, Lazy)) and doc:
        inner, outer = "  " * (_level + 1), "  " * _level
        if isinstance(doc, Lazy) and doc.text is not None and _level + 1 == levels:
            # items written on one line each, made as text directly (no dict on the way)
            _write_texts(doc, out, inner, replace_surrogates, workers, _later)
            out.write("\n" + outer + "]")
            return
        items = doc.items() if isinstance(doc, dict) else ((None, v) for v in doc)
        out.write("{" if isinstance(doc, dict) else "[")
        sep = "\n"
        for key, value in items:
            out.write(sep + inner)
            if key is not None:
                out.write(dumps(str(key), replace_surrogates=replace_surrogates) + ": ")
            dump(value, out, levels=levels, replace_surrogates=replace_surrogates, workers=workers,
                 _level=_level + 1, _later=_later)
            sep = ",\n"
        out.write("\n" + outer + ("}" if isinstance(doc, dict) else "]"))
    else:
        out.write(dumps(doc, replace_surrogates=replace_surrogates, default=_listed))
