"""Output of ``mixedcontent csp`` (docs/csp.md): a ``csp.Suggestion`` as text or JSON.

Unlike the scan formats (``FORMATS``, which take a ScanResult), this reads a Suggestion; it lives
here so that JSON shapes stay in ``report/``. The JSON is deterministic, fields only ever added.
"""

from __future__ import annotations

from typing import Any, TextIO

from ..csp import Readiness, Suggestion
from ..model import ServerConfig
from ..wording import agree, plural
from .json import dumps, server_config_dict
from .text import safe

CSP_REPORT_VERSION = 1
CSP_ONE_LINE = "Content-Security-Policy-Report-Only"


def to_dict(s: Suggestion, tool_version: str, server_config: ServerConfig | None = None) -> dict[str, Any]:
    out = {
        "version": CSP_REPORT_VERSION,
        "tool": {"name": "mixedcontent", "version": tool_version},
        "target": {"kind": s.target.kind, "inputs": list(s.target.inputs), "base_url": s.target.base_url},
        "origin": s.origin,
        "upgrade_insecure_requests": {
            "readiness": str(s.upgrade.readiness),
            "header": {"name": "Content-Security-Policy", "value": "upgrade-insecure-requests"},
            "references": [
                {"url": r.url, "https_url": r.twin, "codes": list(r.codes), "directive": r.directive,
                 "status": r.status, "reason": r.reason, "where": list(r.where), "count": r.count}
                for r in s.upgrade.references],
        },
        "report_only": {
            "header": {"name": "Content-Security-Policy-Report-Only", "value": s.report_only},
            "directives": {name: list(values) for name, values in s.directives},
            "report_uri": s.report_uri,
        },
        "hsts": {"header": {"name": "Strict-Transport-Security", "value": s.hsts},
                 "caveats": list(s.hsts_caveats)},
        "headers": [{"name": h.name, "value": h.value, "enabled": h.enabled, "why": h.why} for h in s.headers],
        "snippets": {sn.server: {"title": sn.title, "text": sn.text, "notes": list(sn.notes)} for sn in s.snippets},
        "notes": list(s.notes),
    }
    if server_config is not None:  # added field (docs/csp.md): --tls-profile's server TLS configuration
        out["server_config"] = server_config_dict(server_config)
    return out


def write_json(s: Suggestion, out: TextIO, tool_version: str,
               server_config: ServerConfig | None = None) -> None:
    out.write(dumps(to_dict(s, tool_version, server_config), indent=2))
    out.write("\n")


def write_text(s: Suggestion, out: TextIO) -> None:
    w = out.write
    v = s.upgrade
    n = len(v.references)
    w("1. upgrade-insecure-requests (Content-Security-Policy: upgrade-insecure-requests)\n")
    if v.readiness is Readiness.SAFE:
        if n:
            every = "the one insecure URL has" if n == 1 else f"all {n} insecure URLs have"
            w(f"   Safe to deploy: {every} a working https twin (probed).\n")
        else:
            w("   Safe to deploy: the scan found no insecure reference; the header guards against new ones.\n")
    elif v.readiness is Readiness.UNSAFE:
        w(f"   Not yet: {len(v.breaks)} of {plural(n, 'insecure URL')} would still break after the upgrade "
          f"({agree(len(v.breaks), 'it', 'they')} would be MC303):\n")
    else:
        unchecked = len(v.unchecked)
        w(f"   Unknown: {unchecked} of {plural(n, 'insecure URL')} {agree(unchecked, 'is', 'are')} not proven to "
          f"work over https (run with --probe):\n")
    for r in v.references:
        if r.status == "works":
            continue
        where = ", ".join(safe(x) for x in r.where) + (" …" if r.count > len(r.where) else "")
        w(f"   - {safe(r.url)} → {safe(r.twin)}: {safe(r.reason or r.status)} [{', '.join(r.codes)}; {where}]\n")
    w("\n2. Content-Security-Policy-Report-Only (allowlist of the hosts used, per directive)\n")
    for name, values in s.directives:
        w(f"   {name} {' '.join(values)}\n")
    w(f"   report endpoint: {safe(s.report_uri)} (report-uri, and report-to with a Reporting-Endpoints header)\n")
    w(f"\n   {CSP_ONE_LINE}: {safe(s.report_only)}\n")
    w("\n3. Strict-Transport-Security\n")
    w(f"   {s.hsts}\n")
    for c in s.hsts_caveats:
        w(f"   - {c}\n")
    if s.notes:
        w("\nNotes\n")
        for note in s.notes:
            w(f"   - {safe(note)}\n")
    for sn in s.snippets:
        w(f"\n== {sn.title} ==\n")
        w(sn.text)
        for note in sn.notes:
            w(f"   ({note})\n")

