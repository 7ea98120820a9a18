"""Which findings are reported: URLs excluded by pattern, selection by code prefix, per-path ignores, inline markers
(``data-mixedcontent-ignore`` on the element or an ancestor; ``/* mixedcontent-ignore: MC101 */`` in
CSS, covering its own line and the next), and baselines of fingerprints.

Suppressed findings are counted (``summary.suppressed``), not reported; ``--show-suppressed`` keeps
them in the report with ``suppressed_by`` set.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from .errors import UsageError
from .model import Context, Finding, Reference
from .rewrite import write_atomic

_CSS_MARKER = re.compile(r"/\*\s*mixedcontent-ignore\b:?([^*]*)\*/", re.IGNORECASE)
_CODE = re.compile(r"MC[0-9]+", re.IGNORECASE)


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def url_excluded(url: str | None, patterns: tuple[str, ...]) -> bool:
    """docs/configuration.md#excluding-urls: does any ``--exclude-url`` pattern match ``url``? Each is a
    Python regular expression searched (``re.search``, so unanchored unless it says ``^``) in the absolute
    URL as the report's ``url`` field shows it: resolved against the page and its ``<base href>``, scheme
    as written (``//cdn.example/a.js`` on an https page is ``https://cdn.example/a.js``)."""
    return bool(patterns) and url is not None and any(p.search(url) for p in _compiled(patterns))


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


@lru_cache(maxsize=1024)
def _listed(codes: str) -> frozenset[str]:
    return frozenset(c.upper() for c in _CODE.findall(codes))


def matches_codes(code: str, codes: str) -> bool:
    """Does a marker's code list cover ``code``? An empty list covers every code; prefixes count.
    (A list is read once, then each check looks up the prefixes of ``code``: its cost does not
    grow with the list.)"""
    listed = _listed(codes)
    return not listed or any(code[:i] in listed for i in range(3, len(code) + 1))


def path_ignored(code: str, file: str | None, per_path: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    if file is None:
        return False
    return any(fnmatch.fnmatchcase(file, glob) and any(code.startswith(p) for p in prefixes)
               for glob, prefixes in per_path)


def css_marker_lines(text: str) -> list[tuple[int, str]]:
    """(line, codes) of the CSS ignore comments, one entry per line in line order (the codes of
    several comments on one line joined; "" when one of them names no code, which covers every
    code). A comment covers its own line and the next one. Linear in the text: lines are counted
    from the previous comment on, not from the start each time."""
    out: list[tuple[int, str]] = []
    line, counted = 1, 0
    for m in _CSS_MARKER.finditer(text):
        line += text.count("\n", counted, m.start())
        counted = m.start()
        codes = m.group(1) if _CODE.search(m.group(1)) else ""
        if out and out[-1][0] == line:
            codes = "" if out[-1][1] == "" or codes == "" else f"{out[-1][1]} {codes}"
            out[-1] = (line, codes)
        else:
            out.append((line, codes))
    return out


def inline_reason(ref: Reference, code: str, css_markers: Sequence[tuple[int, str]]) -> str | None:
    """Why an inline marker suppresses this finding, or None. ``css_markers`` is in line order
    (``css_marker_lines``): the markers on this line and the one before are found by bisection."""
    if ref.ignore is not None and matches_codes(code, ref.ignore):
        return "inline"
    if css_markers and ref.context in (Context.STYLE_ELEMENT, Context.STYLE_ATTRIBUTE, Context.STYLESHEET):
        line = ref.span.line
        i = bisect.bisect_left(css_markers, line - 1, key=lambda marker: marker[0])
        while i < len(css_markers) and css_markers[i][0] <= line:
            if matches_codes(code, css_markers[i][1]):
                return "inline"
            i += 1
    return None


def load_baseline(path: str, name: str = "--baseline") -> frozenset[str]:
    """The fingerprints a baseline file holds; ``name`` is how errors name the setting that gave
    ``path`` (the flag, or ``config FILE: baseline``)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise UsageError(f"{name} {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{name} {path}: not JSON: {e}") from None
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("findings"), list):
        raise UsageError(f"{name} {path}: not a mixedcontent baseline (version 1)")
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
