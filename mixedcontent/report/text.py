"""docs/reports.md: the default text report, one line a finding, then a summary line.

Control characters in URLs, paths and messages are escaped so a hostile page cannot drive the
terminal.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TextIO
from urllib.parse import urlsplit

from ..model import Context, Finding, FixRoute, ReportOptions, ScanError, ScanResult
from ..wording import plural

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\n\t]")


def host(url: str | None) -> str:
    """The host a finding's URL names, for counting and filtering by host ("" when there is none)."""
    if not url:
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def safe(s: str) -> str:
    """Escape control characters (C0, C1, bidi overrides, lone surrogates) as \\xNN / \\uNNNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", s)


def label(f: Finding) -> str:
    """Where a finding's reference sits, as a person reads it: ``<img src>``, "CSS background-image in
    <style>", "@font-face src in stylesheet", "@import in <style>", "style attribute of <div>",
    "Strict-Transport-Security: max-age"; "" when the finding names no element."""
    element, attribute = f.element, f.attribute or ""
    if not element:
        return ""
    if f.context is Context.HEADER:  # docs/json-report.md: the header (or http, tls) and what in it
        if element in ("http", "tls"):
            return f"{element.upper() if element == 'tls' else element} {attribute}".strip()
        return f"{element}: {attribute}" if attribute else f"{element} header"
    css = f.context in (Context.STYLE_ELEMENT, Context.STYLESHEET) or (
        f.context is Context.SRCDOC and (element.startswith("@") or element == "style" and attribute != "style"))
    if css:  # extract.css: element "@import", "@font-face" or "style"; attribute the property
        what = ("@import" if element == "@import" else "@font-face src" if element == "@font-face"
                else f"CSS {attribute}")
        where = "stylesheet" if f.context is Context.STYLESHEET else "<style>"
        text = f"{what} in {where}"
    elif f.context is Context.STYLE_ATTRIBUTE or attribute == "style":
        text = f"style attribute of <{element}>"
    else:
        text = f"<{element} {attribute}>" if attribute else f"<{element}>"
    return text + " in <iframe srcdoc>" if f.context is Context.SRCDOC else text


def unscanned(errors: Sequence[ScanError]) -> str:
    """What the summaries say about ``errors``: "1 file could not be scanned", "2 URLs could not be
    scanned", "1 file and 2 URLs ...": an error about a URL (a crawled page or stylesheet, an archived
    record) is about that URL, not about a file."""
    at_urls = sum(1 for e in errors if e.url is not None)
    parts = [plural(n, noun) for n, noun in ((len(errors) - at_urls, "file"), (at_urls, "URL")) if n]
    return " and ".join(parts) + " could not be scanned"


def severities(live: Sequence[Finding]) -> str:
    """Findings by severity, "1 error, 2 warnings, 1 info" ("" without any)."""
    sev = Counter(f.severity.value for f in live)
    return ", ".join(plural(sev[s], s, "info" if s == "info" else None)
                     for s in ("error", "warning", "info") if sev[s])


def _backticks(text: str) -> str:
    return f"`{safe(text)}`"


def fix_outlook(result: ScanResult, code: Callable[[str], str] = _backticks) -> str | None:
    """docs/fix.md#what-scan-says: one sentence on how many live findings ``mixedcontent fix`` would fix
    and with which flags (the command as ``code`` writes code: in backticks by default), or None (no live
    finding, or a crawl or web archives, which fix does not rewrite)."""
    counts = result.fixable
    if counts is None or not (total := sum(counts.values())):
        return None
    command = code(f"mixedcontent fix {' '.join(shlex.quote(i) for i in result.target.inputs)}")
    proven, probe = counts[FixRoute.PROVEN], counts[FixRoute.PROBE]
    proof = f"if the https probe it runs proves {'its twin works' if probe == 1 else 'their twins work'}"
    if proven or not probe:
        text = f"{proven} of {plural(total, 'finding')} can be fixed by {command}"
        more = [f"{probe} more {proof} (or with --unsafe)"] if probe else []
    else:
        text = f"{probe} of {plural(total, 'finding')} can be fixed by {command} {proof} (or with --unsafe)"
        more = []
    if counts[FixRoute.UNSAFE]:
        more.append(f"{counts[FixRoute.UNSAFE]} more with --unsafe")
    if counts[FixRoute.FORMS]:
        more.append(f"{counts[FixRoute.FORMS]} more with --forms --unsafe")
    if counts[FixRoute.MANUAL]:
        more.append(f"{counts[FixRoute.MANUAL]} only by hand")
    return "; ".join([text, *more])


def write(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    """One line per finding (a suppressed one, kept by --show-suppressed, says so and why), one per
    error, then the summary; the summary's counts are of live findings."""
    for f in result.findings:
        where = f.where
        if f.record is not None:  # an archived document: the archive, the record's offset, its URI
            where = f"{where}@{f.record.offset} {f.record.target_uri}"
        loc = f"{safe(where)}:{f.line}:{f.column}" if f.line is not None else safe(where)
        mark = "" if f.suppressed_by is None else f" [suppressed: {safe(f.suppressed_by)}]"
        out.write(f"{loc}: {f.code} {safe(f.message)}{mark}\n")
    for e in result.errors:
        out.write(f"{safe(e.where)}: error: {safe(e.message)}\n")
    live = [f for f in result.findings if f.suppressed_by is None]
    parts = severities(live)
    codes = Counter(f.code for f in live)
    line = plural(len(live), "finding")
    if parts:
        line += f" ({parts})"
    line += f" in {plural(result.pages, 'page')}, {plural(result.stylesheets, 'stylesheet')}"
    if codes:
        line += ": " + ", ".join(f"{c} ×{n}" for c, n in sorted(codes.items()))
        categories = Counter(str(f.category) for f in live)
        line += "; " + ", ".join(f"{c} {n}" for c, n in sorted(categories.items()))
    if result.errors:
        line += f"; {unscanned(result.errors)}"
    if result.suppressed:
        line += f"; {result.suppressed} suppressed"
    out.write(line + "\n")
    outlook = fix_outlook(result)
    if outlook is not None:
        out.write(outlook + "\n")
