"""JUnit XML: one <testsuite> per scanned file or page (named by its path from the working
directory, docs/json-report.md ``path``), one <testcase> per finding. A finding at or above ``--fail-on`` is a <failure>,
exactly the findings that make the exit code 1; the others (below the threshold, or suppressed and
kept by --show-suppressed) are <skipped> with the reason, so a passing run shows no failure. Test
names are stable while content moves: code, URL and the fingerprint's first 12 digits, no line.
Documents without findings get one passing case, so CI dashboards count them."""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO

from lxml import etree  # type: ignore[import-untyped]

from ..model import Finding, ReportOptions, ScanResult


def _clean(s: str) -> str:
    # XML 1.0 cannot carry most C0 controls or lone surrogates: show them escaped (as the text report does)
    return "".join(c if c in "\t\n\r" or 0x20 <= ord(c) < 0xD800 or 0xE000 <= ord(c) <= 0xFFFD
                   or ord(c) >= 0x10000 else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                   for c in s)


def case_name(f: Finding) -> str:
    """The stable test name of a finding: code, URL, fingerprint prefix (no line or column)."""
    return " ".join(part for part in (f.code, f.url or "", f.fingerprint[:12]) if part)


def _skip_reason(f: Finding, options: ReportOptions) -> str:
    if f.suppressed_by is not None:
        return f"suppressed ({f.suppressed_by})"
    if options.fail_on is None:
        return f"{f.severity.value}: --fail-on never"
    return f"{f.severity.value} is below --fail-on {options.fail_on.value}"


def _display_names(result: ScanResult) -> dict[str, str]:
    """How each scanned document (``ScanResult.scanned`` names files as the JSON ``file`` does) is
    shown: by its path from the working directory where a finding or error gives it, else with the
    leading directory that all the given paths share over their ``file`` names, else as is."""
    pairs = {f.file: f.path for f in result.findings if f.file is not None and f.path is not None}
    pairs.update({e.file: e.path for e in result.errors if e.file is not None and e.path is not None})
    prefixes = {path[:-len(file)] if path.endswith(file) else None for file, path in pairs.items()}
    prefix = prefixes.pop() if len(prefixes) == 1 else None
    if prefix is not None and prefix and not prefix.endswith("/"):
        prefix = None
    out = {}
    for name in result.scanned:
        if name in pairs:
            out[name] = pairs[name]
        elif prefix is not None and "://" not in name:
            out[name] = prefix + name
        else:
            out[name] = name
    return out


def write(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    options = options or ReportOptions()
    by_doc: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_doc[f.where].append(f)
    docs = sorted(set(_display_names(result).values()) | set(by_doc))
    failing = sum(1 for f in result.findings if options.fails(f))
    root = etree.Element("testsuites", name="mixedcontent", tests=str(sum(max(1, len(by_doc[d])) for d in docs)),
                         failures=str(failing), errors=str(len(result.errors)),
                         skipped=str(len(result.findings) - failing))
    for doc in docs:
        found = by_doc.get(doc, [])
        fails = sum(1 for f in found if options.fails(f))
        suite = etree.SubElement(root, "testsuite", name=_clean(doc), tests=str(max(1, len(found))),
                                 failures=str(fails), errors="0", skipped=str(len(found) - fails))
        if not found:
            etree.SubElement(suite, "testcase", classname=_clean(doc), name="no mixed content")
        for f in found:
            where = f"{f.line}:{f.column}" if f.line is not None else ""
            case = etree.SubElement(suite, "testcase", classname=_clean(doc), name=_clean(case_name(f)),
                                    file=_clean(f.where))
            if f.line is not None:
                case.set("line", str(f.line))
            detail = _clean(f"{f.where}:{where}: {f.code} {f.name} ({f.severity.value})\n"
                            f"{f.message}\nsource: {f.raw or ''}")
            if options.fails(f):
                failure = etree.SubElement(case, "failure", message=_clean(f.message), type=f.code)
                failure.text = detail
            else:
                skipped = etree.SubElement(case, "skipped", message=_clean(_skip_reason(f, options)))
                skipped.text = detail
    if result.errors:
        suite = etree.SubElement(root, "testsuite", name="unreadable inputs", tests=str(len(result.errors)),
                                 failures="0", errors=str(len(result.errors)), skipped="0")
        for e in result.errors:
            case = etree.SubElement(suite, "testcase", classname="inputs", name=_clean(e.where or "?"))
            if e.path is not None or e.file is not None:
                case.set("file", _clean(e.where))
            err = etree.SubElement(case, "error", message=_clean(e.message), type="input-error")
            err.text = _clean(e.message)
    out.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8"))
