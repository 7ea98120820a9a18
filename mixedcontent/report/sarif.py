"""SARIF 2.1.0 (OASIS): one rule per code with its documentation, results with physical locations
(uri relative to the scanned root, 1-based line and code-point column, byte offset and length),
partial fingerprints for deduplication, and fixes as artifact changes."""

from __future__ import annotations

import re
from typing import Any, TextIO

from ..model import Finding, ScanResult
from ..rules import RULES, Rule
from .json import dump

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_URL = re.compile(r"https?://[^\s)>]+")


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


def _location(f: Finding) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": f.file} if f.file is not None else {"uri": f.page}
    if f.file is not None:
        artifact["uriBaseId"] = "SRCROOT"
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
                "artifactLocation": {"uri": e.file or f.page, **({"uriBaseId": "SRCROOT"} if e.file else {})},
                "replacements": [{"deletedRegion": {"byteOffset": e.offset, "byteLength": e.length},
                                  "insertedContent": {"text": e.new}}],
            } for e in f.fix.edits],
        }]
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
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, index) for f in result.findings],
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": e.message},
                     **({"locations": [{"physicalLocation": {"artifactLocation": {
                         "uri": e.file, "uriBaseId": "SRCROOT"}}}]} if e.file else {})}
                    for e in result.errors],
            }],
        }],
    }


def write(result: ScanResult, out: TextIO) -> None:
    # one result per line; a lone surrogate (an undecodable byte) as U+FFFD: SARIF viewers read text
    dump(sarif_dict(result), out, levels=4, replace_surrogates=True)
    out.write("\n")
