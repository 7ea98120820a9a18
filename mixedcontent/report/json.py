"""SPEC §6: the JSON report contract, version 1. Fields are only ever added."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, TextIO

from ..model import Finding, ProbeResult, ScanResult, Severity

CONTRACT_VERSION = 1


def _probe(p: ProbeResult | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"status": p.status, "reason": p.reason, "http_status": p.http_status, "final_url": p.final_url,
            "content_type": p.content_type}


def finding_dict(f: Finding) -> dict[str, Any]:
    d: dict[str, Any] = {
        "code": f.code, "name": f.name, "category": str(f.category), "severity": str(f.severity),
        "message": f.message, "file": f.file, "page": f.page, "line": f.line, "column": f.column,
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
    return d


def summary(result: ScanResult) -> dict[str, Any]:
    findings = result.findings
    by_severity = Counter(str(f.severity) for f in findings)
    return {
        "documents": result.documents, "pages": result.pages, "stylesheets": result.stylesheets,
        "findings": len(findings),
        "by_code": dict(sorted(Counter(f.code for f in findings).items())),
        "by_category": dict(sorted(Counter(str(f.category) for f in findings).items())),
        "by_severity": {s.value: by_severity[s.value] for s in Severity if by_severity[s.value]},
        "errors": len(result.errors), "suppressed": result.suppressed,
    }


def report_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "version": CONTRACT_VERSION,
        "tool": {"name": "mixedcontent", "version": result.tool_version},
        "target": {"kind": result.target.kind, "inputs": list(result.target.inputs),
                   "base_url": result.target.base_url},
        "findings": [finding_dict(f) for f in result.findings],
        "errors": [{"file": e.file, "url": e.url, "message": e.message} for e in result.errors],
        "summary": summary(result),
    }


def write(result: ScanResult, out: TextIO) -> None:
    json.dump(report_dict(result), out, indent=2, ensure_ascii=False)
    out.write("\n")
