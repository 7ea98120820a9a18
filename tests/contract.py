"""The JSON report contract (SPEC §6, §12), checked from the outside: the tests' own checker.

``check_report(report, root)`` validates a parsed report against the schema the package ships, then
checks what a schema cannot say: every finding's span (``offset``, ``length``) holds exactly its
``raw`` text in the file's bytes as stored, ``line`` and ``column`` point at the same place, findings
and errors are in the contract's order, and the summary counts what the report lists. It returns how
many spans it checked, so a test can assert the check was not vacuous.

It reads only the report and the files; it never calls the code under test.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema

# WHATWG Encoding Standard encodings Python has a codec for (windows-1252 is handled on its own: the
# WHATWG one maps the five bytes cp1252 leaves undefined to the same code points).
_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "shift_jis", "cp932", "euc-jp", "iso2022_jp", "gb18030", "gbk",
              "big5hkscs", "big5", "euc-kr", "cp949", "cp866", "koi8-r", "koi8-u", "mac-cyrillic", "mac-roman",
              "cp874", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
              *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)))
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SEVERITIES = ("error", "warning", "info")


class ContractError(AssertionError):
    """The report breaks the contract; the message lists every problem found (up to 20)."""


@dataclass(frozen=True, slots=True)
class Checked:
    findings: int
    spans: int  # findings whose bytes were compared with raw
    positions: int  # findings whose line and column were recomputed from the bytes (UTF-8 files)


def schema() -> dict[str, Any]:
    text = resources.files("mixedcontent.report").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _windows_1252(b: bytes) -> str:
    return "".join(b[i:i + 1].decode("cp1252", errors="ignore") or chr(b[i]) for i in range(len(b)))


def decodes_to(span: bytes, raw: str) -> bool:
    """Do ``span``'s bytes decode to exactly ``raw`` in some encoding a page may declare?"""
    if _windows_1252(span) == raw:
        return True
    for encoding in _ENCODINGS:
        try:
            if span.decode(encoding) == raw:
                return True
        except (UnicodeDecodeError, LookupError):
            continue
    return False


def _position(data: bytes, offset: int) -> tuple[int, int] | None:
    """(line, column), both 1-based, of byte ``offset`` in a UTF-8 file (a BOM is not a column); None
    when the bytes before it are not UTF-8."""
    prefix = data[:offset]
    if prefix.startswith(b"\xef\xbb\xbf"):
        prefix = prefix[3:]
    try:
        text = prefix.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = _LINE_BREAK.split(text)
    # a CR that ends the prefix may be the first half of a CRLF: it still ends the line
    return len(lines), len(lines[-1]) + 1


def check_report(report: dict[str, Any], root: str | os.PathLike[str] | None = None, *,
                 cwd: str | os.PathLike[str] | None = None) -> Checked:
    """Check ``report`` (parsed JSON) against the contract; raise ContractError listing the problems.

    ``root``: the directory ``file`` names are relative to (spans are checked against those files).
    ``cwd``: the directory the command ran in; when given, every finding's ``path`` (SPEC §12) must
    open from it and hold the same bytes as ``file`` does.
    """
    problems: list[str] = []
    validator = jsonschema.Draft202012Validator(schema())
    problems += [f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                 for e in validator.iter_errors(report)]
    findings: list[dict[str, Any]] = report.get("findings", [])
    errors: list[dict[str, Any]] = report.get("errors", [])
    cache: dict[str, bytes | None] = {}

    def read(path: str) -> bytes | None:
        if path not in cache:
            try:
                with open(path, "rb") as f:
                    cache[path] = f.read()
            except OSError as e:
                problems.append(f"cannot read {path}: {e}")
                cache[path] = None
        return cache[path]

    spans = positions = 0
    for f in findings:
        if not isinstance(f, dict) or f.get("file") is None or f.get("offset") is None or f.get("raw") is None:
            continue
        where = f"{f['file']}@{f['offset']}"
        names = [] if root is None else [os.path.join(root, f["file"])]
        if cwd is not None:
            if "path" not in f:
                problems.append(f"{where}: a finding from a file has no path")
            else:
                names.append(os.path.join(cwd, f["path"]))
        for name in names:
            data = read(name)
            if data is None:
                continue
            span = data[f["offset"]:f["offset"] + f["length"]]
            spans += 1
            if len(span) != f["length"] or not decodes_to(span, f["raw"]):
                problems.append(f"{where}: bytes {span[:60]!r} are not raw {f['raw'][:60]!r} in {name}")
            pos = _position(data, f["offset"])
            if pos is not None and f.get("record") is None:
                positions += 1
                if pos != (f["line"], f["column"]):
                    problems.append(f"{where}: line:column {f['line']}:{f['column']}, the bytes say {pos[0]}:{pos[1]}")
    if cwd is not None:
        problems += [f"error {e.get('file')}: no path" for e in errors if e.get("file") is not None and "path" not in e]

    # SPEC §6 ordering: findings by (file or page, record offset, offset, code); errors by (file, url)
    def finding_key(f: dict[str, Any]) -> tuple[str, int, int, str]:
        record = f.get("record") or {}
        return (f["file"] if f["file"] is not None else f["page"], record.get("offset", 0), f["offset"] or 0,
                f["code"])

    try:
        if [finding_key(f) for f in findings] != sorted(finding_key(f) for f in findings):
            problems.append("findings are not ordered by (file or page, offset, code)")
        keys = [(e["file"] or "", e["url"] or "") for e in errors]
        if keys != sorted(keys):
            problems.append("errors are not ordered by (file, url)")
        summary = report.get("summary", {})
        by_severity = Counter(f["severity"] for f in findings)
        expected = {
            "findings": len(findings), "errors": len(errors),
            "by_code": dict(sorted(Counter(f["code"] for f in findings).items())),
            "by_category": dict(sorted(Counter(f["category"] for f in findings).items())),
            "by_severity": {s: by_severity[s] for s in _SEVERITIES if by_severity[s]},
        }
        problems += [f"summary.{k} is {summary.get(k)!r}, the report lists {v!r}"
                     for k, v in expected.items() if summary.get(k) != v]
    except (KeyError, TypeError) as e:  # the schema problems above already say what is missing
        problems.append(f"cannot order or count: {e!r}")
    if problems:
        raise ContractError(f"{len(problems)} problems:\n" + "\n".join(problems[:20]))
    return Checked(findings=len(findings), spans=spans, positions=positions)
