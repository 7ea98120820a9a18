"""JUnit XML: one <testsuite> per scanned file or page, one failing <testcase> per finding; documents
without findings get one passing case, so CI dashboards count them."""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO

from lxml import etree

from ..model import Finding, ScanResult


def _clean(s: str) -> str:
    # XML 1.0 cannot carry most C0 controls or lone surrogates: show them escaped (as the text report does)
    return "".join(c if c in "\t\n\r" or 0x20 <= ord(c) < 0xD800 or 0xE000 <= ord(c) <= 0xFFFD
                   or ord(c) >= 0x10000 else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                   for c in s)


def write(result: ScanResult, out: TextIO) -> None:
    by_doc: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_doc[f.file if f.file is not None else f.page].append(f)
    docs = sorted(set(result.scanned) | set(by_doc))
    failures = len(result.findings)
    root = etree.Element("testsuites", name="mixedcontent", tests=str(sum(max(1, len(by_doc[d])) for d in docs)),
                         failures=str(failures), errors=str(len(result.errors)))
    for doc in docs:
        found = by_doc.get(doc, [])
        suite = etree.SubElement(root, "testsuite", name=_clean(doc), tests=str(max(1, len(found))),
                                 failures=str(len(found)), errors="0", skipped="0")
        if not found:
            etree.SubElement(suite, "testcase", classname=_clean(doc), name="no mixed content")
        for f in found:
            where = f"{f.line}:{f.column}" if f.line is not None else ""
            case = etree.SubElement(suite, "testcase", classname=_clean(doc),
                                    name=_clean(f"{f.code} {where} {f.url or ''}".strip()),
                                    file=_clean(f.file or f.page))
            if f.line is not None:
                case.set("line", str(f.line))
            failure = etree.SubElement(case, "failure", message=_clean(f.message), type=f.code)
            failure.text = _clean(f"{f.file or f.page}:{where}: {f.code} {f.name} ({f.severity.value})\n"
                                  f"{f.message}\nsource: {f.raw or ''}")
    if result.errors:
        suite = etree.SubElement(root, "testsuite", name="unreadable inputs", tests=str(len(result.errors)),
                                 failures="0", errors=str(len(result.errors)), skipped="0")
        for e in result.errors:
            case = etree.SubElement(suite, "testcase", classname="inputs", name=_clean(e.file or e.url or "?"))
            err = etree.SubElement(case, "error", message=_clean(e.message), type="input-error")
            err.text = _clean(e.message)
    out.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8"))
