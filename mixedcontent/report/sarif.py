"""SARIF 2.1.0 (OASIS): one rule per code with its documentation, results with physical locations
(1-based line and code-point column, byte offset and length), partial fingerprints for deduplication,
suppressions, and fixes as artifact changes.

File locations are relative references (SARIF §3.4.3) to ``%SRCROOT%``, the working directory the
command ran in (docs/json-report.md ``path``). ``run.originalUriBaseIds`` says so with a description and no
absolute ``uri`` (SARIF §3.14.14 allows it absent): the log stays free of this machine's paths and
byte-identical wherever it is made, and a consumer (GitHub code scanning, which runs from the checkout)
resolves it against its own checkout. Findings that carry no ``path`` fall back to ``file`` against
``SCANROOT``, the scanned directory; crawled pages are absolute URLs."""

from __future__ import annotations

import re
from typing import Any, TextIO
from urllib.parse import quote

from ..model import Finding, ReportOptions, ScanError, ScanResult
from ..rules import RULES, Rule
from .json import dump

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_URL = re.compile(r"https?://[^\s)>]+")
_PATH_SAFE = "/@!$&'()*+,;=-._~"  # RFC 3986 pchar, besides unreserved: kept as is, the rest percent-encoded
SRCROOT = "%SRCROOT%"
SCANROOT = "SCANROOT"
_BASE_IDS = {
    SRCROOT: {"description": {"text": "The working directory mixedcontent ran in: file URIs are relative to it."}},
    SCANROOT: {"description": {"text": "The directory mixedcontent scanned (for locations that name a file "
                                       "relative to it rather than to the working directory)."}},
}


def _section(doc: str, heading: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    return m.group(1).strip() if m else ""


def _rule(rule: Rule) -> dict[str, Any]:
    doc = rule.doc()
    refs = _URL.findall(_section(doc, "References"))
    out: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.short_description()},
        "fullDescription": {"text": _section(doc, "What it flags") or rule.summary},
        "help": {"text": _section(doc, "What browsers do"), "markdown": doc},
        "defaultConfiguration": {"level": _LEVEL[rule.severity.value]},
        "properties": {"category": rule.category.value, "tags": ["security", "mixed-content"]},
    }
    if refs:
        out["helpUri"] = refs[0]
    return out


def _artifact(path: str | None, file: str | None, url: str | None) -> dict[str, Any]:
    """An artifactLocation: ``path`` against %SRCROOT%, else ``file`` against SCANROOT, else the URL.
    Paths become URI references (percent-encoded, SARIF §3.10.2); an absolute path a file: URI."""
    name, base = (path, SRCROOT) if path is not None else (file, SCANROOT)
    if name is None:
        return {"uri": url or ""}
    if name.startswith("/"):
        return {"uri": "file://" + _quote(name)}
    return {"uri": _quote(name), "uriBaseId": base}


def _quote(name: str) -> str:
    """A path as a URI reference: its bytes percent-encoded (a name that is not UTF-8 keeps its own
    bytes, as os.fsencode gives them back)."""
    return quote(name.encode("utf-8", "surrogateescape"), safe=_PATH_SAFE)


def _location(f: Finding) -> dict[str, Any]:
    artifact = _artifact(f.path, f.file, f.page)
    region: dict[str, Any] = {}
    if f.line is not None:
        region["startLine"] = f.line
    if f.column is not None:
        region["startColumn"] = f.column
    if f.offset is not None and f.length is not None:
        region["byteOffset"] = f.offset
        region["byteLength"] = f.length
    if f.raw is not None:
        region["snippet"] = {"text": f.raw}
    loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact}}
    if region:
        loc["physicalLocation"]["region"] = region
    return loc


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index[f.code],
        "level": _LEVEL[f.severity.value],
        "message": {"text": f.message},
        "locations": [_location(f)],
        "partialFingerprints": {"mixedcontentFingerprint/v1": f.fingerprint},
        "properties": {"category": f.category.value, "url": f.url, "page": f.page,
                       "destination": f.destination, "initiator": f.initiator},
    }
    if f.suppressed_by is not None:
        out["suppressions"] = [{"kind": "inSource" if f.suppressed_by == "inline" else "external",
                                "justification": f.suppressed_by}]
    if f.fix is not None and f.fix.applicability.value != "display-only":
        out["fixes"] = [{
            "description": {"text": f"{f.fix.applicability.value} fix: use {f.fix.replacement}"},
            "artifactChanges": [{
                "artifactLocation": _artifact(f.path if e.file == f.file else None, e.file, f.page),
                "replacements": [{"deletedRegion": {"byteOffset": e.offset, "byteLength": e.length},
                                  "insertedContent": {"text": e.new}}],
            } for e in f.fix.edits],
        }]
    return out


def _notification(e: ScanError) -> dict[str, Any]:
    out: dict[str, Any] = {"level": "error", "message": {"text": e.message}}
    if e.path is not None or e.file is not None:
        out["locations"] = [{"physicalLocation": {"artifactLocation": _artifact(e.path, e.file, e.url)}}]
    return out


def sarif_dict(result: ScanResult) -> dict[str, Any]:
    rules = list(RULES.values())
    index = {r.code: i for i, r in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mixedcontent", "version": result.tool_version, "semanticVersion": result.tool_version,
                "informationUri": "https://w3c.github.io/webappsec-mixed-content/",
                "rules": [_rule(r) for r in rules],
            }},
            "originalUriBaseIds": _BASE_IDS,
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, index) for f in result.findings],
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [_notification(e) for e in result.errors],
            }],
        }],
    }


def write(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    # one result per line; a lone surrogate (an undecodable byte) as U+FFFD: SARIF viewers read text
    dump(sarif_dict(result), out, levels=4, replace_surrogates=True)
    out.write("\n")
