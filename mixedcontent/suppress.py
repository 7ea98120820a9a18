"""Which findings are reported: selection by code prefix, per-path ignores, inline markers
(``data-mixedcontent-ignore`` on the element or an ancestor; ``/* mixedcontent-ignore: MC101 */`` in
CSS, covering its own line and the next), and baselines of fingerprints.

Suppressed findings are counted (``summary.suppressed``), not reported; ``--show-suppressed`` keeps
them in the report with ``suppressed_by`` set.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable

from .errors import UsageError
from .model import Context, Finding, Reference
from .rewrite import write_atomic

_CSS_MARKER = re.compile(r"/\*\s*mixedcontent-ignore\b:?([^*]*)\*/", re.IGNORECASE)
_CODE = re.compile(r"MC[0-9]+", re.IGNORECASE)


def selected(code: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """docs/rules/index.md: selection by prefix; the longest matching prefix wins (default: all selected)."""
    best_len, chosen = -1, True
    for prefix in select:
        if code.startswith(prefix) and len(prefix) > best_len:
            best_len, chosen = len(prefix), True
    if select and best_len < 0:
        chosen = False
    for prefix in ignore:
        if code.startswith(prefix) and len(prefix) >= best_len:
            best_len, chosen = len(prefix), False
    return chosen


def matches_codes(code: str, codes: str) -> bool:
    """Does a marker's code list cover ``code``? An empty list covers every code; prefixes count."""
    listed = _CODE.findall(codes)
    return not listed or any(code.startswith(c.upper()) for c in listed)


def path_ignored(code: str, file: str | None, per_path: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    if file is None:
        return False
    return any(fnmatch.fnmatchcase(file, glob) and any(code.startswith(p) for p in prefixes)
               for glob, prefixes in per_path)


def css_marker_lines(text: str) -> list[tuple[int, str]]:
    """(line, codes) of every CSS ignore comment; it covers its own line and the next one."""
    out = []
    for m in _CSS_MARKER.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append((line, m.group(1)))
    return out


def inline_reason(ref: Reference, code: str, css_markers: list[tuple[int, str]]) -> str | None:
    """Why an inline marker suppresses this finding, or None."""
    if ref.ignore is not None and matches_codes(code, ref.ignore):
        return "inline"
    if css_markers and ref.context in (Context.STYLE_ELEMENT, Context.STYLE_ATTRIBUTE, Context.STYLESHEET):
        line = ref.span.line
        for marker_line, codes in css_markers:
            if marker_line in (line, line - 1) and matches_codes(code, codes):
                return "inline"
    return None


def load_baseline(path: str) -> frozenset[str]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise UsageError(f"--baseline {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"--baseline {path}: not JSON: {e}") from None
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("findings"), list):
        raise UsageError(f"--baseline {path}: not a mixedcontent baseline (version 1)")
    # a finding is baselined by its fingerprint, or by the same digest over its working-directory path
    # (what a baseline written by `scan public/` shares with `scan public/a.html`)
    return frozenset(str(f.get(key)) for f in data["findings"] if isinstance(f, dict)
                     for key in ("fingerprint", "path_fingerprint") if f.get(key))


def write_baseline(path: str, findings: Iterable[Finding]) -> None:
    """Record today's findings by fingerprint (plus code, file and URL so people can read it)."""
    entries = [{"fingerprint": f.fingerprint, "code": f.code, "file": f.file, "page": f.page, "url": f.url}
               | ({"path": f.path, "path_fingerprint": f.path_fingerprint}
                  if f.path_fingerprint and f.path_fingerprint != f.fingerprint else {})
               for f in findings]
    entries.sort(key=lambda e: (e["file"] or e["page"] or "", e["code"], e["fingerprint"]))
    text = json.dumps({"version": 1, "tool": "mixedcontent", "findings": entries}, indent=2) + "\n"
    try:
        write_atomic(path, text)
    except OSError as e:
        raise UsageError(f"--write-baseline {path}: {e.strerror or e}") from None
