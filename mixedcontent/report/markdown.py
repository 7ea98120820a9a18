"""GitHub-flavoured Markdown for job summaries ($GITHUB_STEP_SUMMARY) and pull-request comments:
a headline, counts by code and by host, the first findings, and what could not be scanned.

Every string from a scanned site (paths, URLs, element names) is written inside a code span, so it
can neither format the comment, nor link, nor mention anyone (GitHub does not link or mention inside
code); ``|`` is escaped as the table syntax requires and control characters are shown escaped. The
output is bounded whatever the scan's size (GitHub truncates a step summary at 1 MiB): at most
``FIRST_FINDINGS`` findings, ``TOP_HOSTS`` hosts and ``FIRST_ERRORS`` errors are listed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TextIO

from ..model import Finding, ScanResult
from ..wording import plural
from .text import fix_outlook, label, safe, severities, unscanned
from .text import host as _host

FIRST_FINDINGS = 30
TOP_HOSTS = 15
FIRST_ERRORS = 10
_MAX_CELL = 300  # characters of one code span; a longer URL is cut with "…"
_BACKTICKS = re.compile(r"`+")


def code(text: str) -> str:
    """``text`` as a code span that is safe inside a GFM table cell."""
    text = safe(text)
    if len(text) > _MAX_CELL:
        text = text[:_MAX_CELL - 1] + "…"
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    # GFM splits table rows on unescaped | before it parses code spans, even inside them
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def _where(f: Finding) -> str:
    return f"{f.where}:{f.line}:{f.column}" if f.line is not None else f.where


def headline(result: ScanResult) -> str:
    """One line: findings by severity, pages, stylesheets, errors, suppressed."""
    live = [f for f in result.findings if f.suppressed_by is None]
    parts = severities(live)
    line = plural(len(live), "finding") + (f" ({parts})" if parts else "")
    line += f" in {plural(result.pages, 'page')} and {plural(result.stylesheets, 'stylesheet')}"
    if result.errors:
        line += f"; {unscanned(result.errors)}"
    if result.suppressed:
        line += f"; {result.suppressed} suppressed"
    return line


def write(result: ScanResult, out: TextIO) -> None:
    findings = result.findings
    live = [f for f in findings if f.suppressed_by is None]
    lines = [f"## mixedcontent: {headline(result)}", ""]
    if not findings:
        lines += ["No mixed content found." if not result.errors else "No mixed content found in what could be scanned.", ""]
    if live:
        names = {f.code: (f.name, f.severity.value, f.category.value) for f in live}
        by_code = Counter(f.code for f in live)
        lines += ["| code | rule | category | severity | findings |", "|---|---|---|---|---:|"]
        lines += [f"| {c} | {names[c][0]} | {names[c][2]} | {names[c][1]} | {n} |" for c, n in sorted(by_code.items())]
        lines.append("")
        by_host = Counter(_host(f.url) for f in live if f.url)
        if by_host:
            ranked = sorted(by_host.items(), key=lambda kv: (-kv[1], kv[0]))
            lines += ["| host | findings |", "|---|---:|"]
            lines += [f"| {code(h)} | {n} |" for h, n in ranked[:TOP_HOSTS]]
            if len(ranked) > TOP_HOSTS:
                rest = sum(n for _, n in ranked[TOP_HOSTS:])
                lines.append(f"| {plural(len(ranked) - TOP_HOSTS, 'more host')} | {rest} |")
            lines.append("")
        outlook = fix_outlook(result, code)  # docs/fix.md#what-scan-says
        if outlook is not None:
            lines += [outlook + ".", ""]
    if findings:
        shown = findings[:FIRST_FINDINGS]
        title = "Findings" if len(findings) <= FIRST_FINDINGS else f"First {len(shown)} of {len(findings)} findings"
        lines += [f"### {title}", "", "| location | code | severity | found in | URL |", "|---|---|---|---|---|"]
        for f in shown:
            sev = f.severity.value + (" (suppressed)" if f.suppressed_by is not None else "")
            element = label(f)
            lines.append(f"| {code(_where(f))} | {f.code} {f.name} | {sev} | {code(element) if element else ''} | "
                         f"{code(f.url) if f.url else ''} |")
        lines.append("")
    if result.errors:
        lines += ["### Could not be scanned", ""]
        lines += [f"- {code(e.where)}: {code(e.message)}" for e in result.errors[:FIRST_ERRORS]]
        if len(result.errors) > FIRST_ERRORS:
            lines.append(f"- and {len(result.errors) - FIRST_ERRORS} more")
        lines.append("")
    out.write("\n".join(lines))
