"""CSP suggestion (docs/csp.md), pure: from a ScanResult to (1) the upgrade-insecure-requests verdict,
(2) a ``Content-Security-Policy-Report-Only`` allowlist of the hosts the scan saw, (3) the HSTS
header, and ready snippets for nginx, Apache, IIS, Caddy, HAProxy and ``<meta http-equiv>``.

What the allowlist can know: the scan records the *insecure* references it finds (extraction keeps
only http URLs, by design), so the allowlist holds their hosts as they will be after the move to
https. https sources already on the pages are not in the scan; the Report-Only policy exists to
reveal them before anything is enforced.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree  # type: ignore[import-untyped]

from . import urls
from .model import Category, Finding, ScanResult, Target
from .wording import agree, plural

HSTS_VALUE = "max-age=31536000; includeSubDomains; preload"
REPORT_URI_PLACEHOLDER = "https://csp-report.invalid/report"  # .invalid: never a real endpoint (RFC 6761)
REPORT_GROUP = "csp-endpoint"
CSP = "Content-Security-Policy"
CSP_REPORT_ONLY = "Content-Security-Policy-Report-Only"
REPORTING_ENDPOINTS = "Reporting-Endpoints"
STS = "Strict-Transport-Security"

# CSP3 §6.8.1 "get the effective directive for request" (docs/csp.md item 2)
DIRECTIVE_BY_DESTINATION = {
    "image": "img-src", "audio": "media-src", "video": "media-src", "track": "media-src",
    "script": "script-src", "style": "style-src", "font": "font-src", "iframe": "frame-src",
    "frame": "frame-src", "object": "object-src", "embed": "object-src", "manifest": "manifest-src",
    "": "connect-src",
}
DIRECTIVE_ORDER = ("default-src", "img-src", "media-src", "script-src", "style-src", "font-src", "frame-src",
                   "object-src", "manifest-src", "connect-src", "form-action")
# MC402 (--render): a request a script built, seen by the browser; its destination is the browser's
_REQUEST_CODES = frozenset(("MC101", "MC102", "MC103", "MC104", "MC301", "MC302", "MC303", "MC402"))
_FORM_CODE = "MC201"
_WHERE_LIMIT = 5
# characters a header value in a server config cannot carry literally, or that CSP itself uses as
# separators, percent-encoded in the report URI
_URI_ESCAPES = {c: f"%{ord(c):02X}" for c in ' "\'\\$;,{}<>`'}
# CSP3 §2.3.1 host-source: scheme-part "://" labels of host-char (ALPHA / DIGIT / "-"), an optional
# port; the URL parser takes host names CSP cannot write (a$b.example, a;b.example), and written in a
# policy they would break it (";" ends a directive) or the server config around it (nginx's $, Caddy's {})
_HOST_SOURCE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"
                          r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")


class Readiness(StrEnum):
    SAFE = "safe"  # every insecure reference's https twin works (probed), or there are none
    UNSAFE = "unsafe"  # some would break after the upgrade (they would be MC303)
    UNKNOWN = "unknown"  # not probed


@dataclass(frozen=True, slots=True)
class Reference:
    """One unique insecure URL and what upgrade-insecure-requests would do to it."""

    url: str
    twin: str  # the URL after the upgrade
    codes: tuple[str, ...]
    directive: str
    status: str  # "works", "breaks", "unchecked"
    reason: str | None  # the probe's reason when it breaks; why it is unchecked otherwise
    where: tuple[str, ...]  # up to five files or pages that hold it
    count: int  # references to it in all


@dataclass(frozen=True, slots=True)
class UpgradeVerdict:
    readiness: Readiness
    references: tuple[Reference, ...]  # every unique insecure URL, sorted by URL

    @property
    def breaks(self) -> tuple[Reference, ...]:
        return tuple(r for r in self.references if r.status == "breaks")

    @property
    def unchecked(self) -> tuple[Reference, ...]:
        return tuple(r for r in self.references if r.status == "unchecked")


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    value: str
    enabled: bool = True
    why: str | None = None  # why a header is left commented out


@dataclass(frozen=True, slots=True)
class Snippet:
    server: str  # nginx, apache, iis, caddy, haproxy, meta
    title: str
    text: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    target: Target
    origin: str | None  # the site's origin ('self'), when known
    upgrade: UpgradeVerdict
    directives: tuple[tuple[str, tuple[str, ...]], ...]  # the Report-Only policy, directive by directive
    report_only: str
    report_uri: str
    hsts: str
    hsts_caveats: tuple[str, ...]
    headers: tuple[Header, ...]
    snippets: tuple[Snippet, ...]
    notes: tuple[str, ...] = ()


HSTS_CAVEATS = (
    ("Send it over https only: browsers ignore it over plain http (RFC 6797 §8.1), so it belongs in the "
     "https server block."),
    ("includeSubDomains covers every subdomain, intranet hosts included: each must serve https before "
     "you send it."),
    ("preload is a request to be built into browsers: the apex domain itself must send this header over "
     "https, and http://apex must redirect first to https://apex (same host). Submit at hstspreload.org "
     "only when every subdomain is ready."),
    ("Removal from the preload list takes months to reach users. Roll out with a short max-age first "
     "(300, then 604800, then 2592000 seconds) and raise it to a year once nothing breaks."),
)


def _where(f: Finding) -> str:
    return f.file if f.file is not None else f.page


def site_origin(target: Target, pages: tuple[str, ...] = ()) -> str | None:
    """The origin of the scanned site: --base-url for files, the start URL for a crawl."""
    for candidate in (target.base_url, *target.inputs, *pages):
        if candidate and candidate.lower().startswith(("https:", "http:")):
            o = urls.origin(urls.https_twin(candidate) if urls.is_http(candidate) else candidate)
            if o and o != "null":
                return o
    return None


def _source(twin: str, origin: str | None) -> str:
    """A CSP source expression for ``twin``: 'self' when same-origin, else scheme://host[:port]."""
    o = urls.origin(twin)
    if o is None or o == "null":
        return twin
    if origin is not None and o == origin:
        return "'self'"
    return o


def _directive(f: Finding) -> str:
    if f.code == _FORM_CODE or f.category is Category.INSECURE_FORM:
        return "form-action"
    # CSP3 §6.8.1: prefetch and prerender requests answer to default-src
    if f.initiator in ("prefetch", "prerender"):
        return "default-src"
    return DIRECTIVE_BY_DESTINATION.get(f.destination or "", "default-src")


def upgrade_verdict(result: ScanResult) -> UpgradeVerdict:
    """docs/csp.md item 1: is ``upgrade-insecure-requests`` safe to deploy? Every insecure request and
    form target is upgraded by it (Upgrade Insecure Requests §4.1, IP hosts included); each needs a
    working https twin, which only ``--probe`` can show (form targets are never probed)."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.suppressed_by is not None or f.url is None:
            continue
        if f.code in _REQUEST_CODES or f.code == _FORM_CODE:
            groups[f.url].append(f)
    refs = []
    for url in sorted(groups):
        fs = groups[url]
        probes = [f.https for f in fs if f.https is not None]
        codes = tuple(sorted({f.code for f in fs}))
        failed = next((p for p in probes if p.fails), None)
        if failed is not None or any(c in ("MC301", "MC302", "MC303") for c in codes):
            status, reason = "breaks", (failed.reason if failed is not None else "https twin does not work")
        elif probes and all(p.works for p in probes):
            status, reason = "works", None
        elif all(f.code == _FORM_CODE for f in fs):
            status, reason = "unchecked", "form targets are not probed: check that the https URL accepts the form"
        elif probes:
            status, reason = "unchecked", f"probe {probes[0].status}: {probes[0].reason}"
        else:
            status, reason = "unchecked", "not probed (run with --probe)"
        where = tuple(sorted({_where(f) for f in fs}))[:_WHERE_LIMIT]
        refs.append(Reference(url, urls.https_twin(url), codes, _directive(fs[0]), status, reason, where, len(fs)))
    if any(r.status == "breaks" for r in refs):
        readiness = Readiness.UNSAFE
    elif any(r.status == "unchecked" for r in refs):
        readiness = Readiness.UNKNOWN
    else:
        readiness = Readiness.SAFE
    return UpgradeVerdict(readiness, tuple(refs))


def report_only_directives(verdict: UpgradeVerdict, origin: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """docs/csp.md item 2: per effective directive, 'self' and the https origins of the hosts used."""
    sources: dict[str, set[str]] = {"default-src": {"'self'"}, "form-action": {"'self'"}}
    for ref in verdict.references:
        source = _source(ref.twin, origin)
        if source == "'self'" or _HOST_SOURCE.fullmatch(source):
            sources.setdefault(ref.directive, {"'self'"}).add(source)
        else:
            sources.setdefault(ref.directive, {"'self'"})  # suggest() says which were left out
    out = []
    for name in DIRECTIVE_ORDER:
        if name in sources:
            values = sources[name]
            ordered = (["'self'"] if "'self'" in values else []) + sorted(values - {"'self'"})
            out.append((name, tuple(ordered)))
    return tuple(out)


def clean_report_uri(uri: str) -> str:
    """The report endpoint with the characters that neither CSP nor a server config can carry
    literally (``;``, ``,``, quotes, ``$``, braces, backslash, spaces) percent-encoded."""
    return "".join(_URI_ESCAPES.get(c, c) for c in uri.strip())


def suggest(result: ScanResult, *, report_uri: str = REPORT_URI_PLACEHOLDER, origin: str | None = None) -> Suggestion:
    """Everything ``mixedcontent csp`` prints, from a scan (docs/csp.md)."""
    report_uri = clean_report_uri(report_uri)
    origin = origin or site_origin(result.target, result.scanned)
    verdict = upgrade_verdict(result)
    directives = report_only_directives(verdict, origin)
    parts = [f"{name} {' '.join(values)}" for name, values in directives]
    parts += [f"report-uri {report_uri}", f"report-to {REPORT_GROUP}"]
    report_only = "; ".join(parts)
    upgrade_on = verdict.readiness is Readiness.SAFE
    why = None
    if verdict.readiness is Readiness.UNSAFE:
        n = len(verdict.breaks)
        why = (f"{plural(n, 'insecure URL')} {agree(n, 'has', 'have')} no working https twin: "
               f"fix {agree(n, 'it', 'them')} first")
    elif verdict.readiness is Readiness.UNKNOWN:
        why = "not proven safe: the https twins were not checked (the csp command's probe option checks them)"
    headers = (
        Header(CSP, "upgrade-insecure-requests", upgrade_on, why),
        Header(CSP_REPORT_ONLY, report_only),
        Header(REPORTING_ENDPOINTS, f'{REPORT_GROUP}="{report_uri}"'),
        Header(STS, HSTS_VALUE),
    )
    notes = []
    if report_uri == REPORT_URI_PLACEHOLDER:
        notes.append(f"{REPORT_URI_PLACEHOLDER} is a placeholder: replace it with your report collector "
                     f"(--report-uri URL) before deploying.")
    unwritable = sorted({s for s in (_source(r.twin, origin) for r in verdict.references)
                         if s != "'self'" and not _HOST_SOURCE.fullmatch(s)})
    if unwritable:
        notes.append(f"{plural(len(unwritable), 'origin')} {agree(len(unwritable), 'is', 'are')} left out of the "
                     f"allowlist: a CSP source can only name host names of letters, digits and hyphens ("
                     f"{', '.join(repr(s) for s in unwritable[:_WHERE_LIMIT])}"
                     f"{', …' if len(unwritable) > _WHERE_LIMIT else ''}).")
    scripts = sum(1 for f in result.findings if f.code == "MC401" and f.suppressed_by is None)
    if scripts:
        are, fetch = agree(scripts, "is", "are"), agree(scripts, "it fetches", "they fetch")
        notes.append(f"{plural(scripts, 'http:// literal')} in inline scripts (MC401) {are} not in the allowlist: "
                     f"whatever {fetch} will show up in the reports.")
    notes.append("The allowlist holds the hosts of the insecure references the scan found; https sources "
                 "already in use are not collected by the scan, so expect reports for them (and for inline "
                 "scripts and styles) and add what you trust before enforcing the policy.")
    return Suggestion(
        target=result.target, origin=origin, upgrade=verdict, directives=directives, report_only=report_only,
        report_uri=report_uri, hsts=HSTS_VALUE, hsts_caveats=HSTS_CAVEATS, headers=headers,
        snippets=snippets(headers), notes=tuple(notes))


# ---------------------------------------------------------------------------------------------------
# Server snippets
# ---------------------------------------------------------------------------------------------------

def _dq(value: str) -> str:
    """A double-quoted config string with backslash escapes (nginx, Apache, Caddy, HAProxy)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _commented(lines: list[str], header: Header, line: str) -> None:
    if header.enabled:
        lines.append(line)
    else:
        lines.append(f"# not yet: {header.why}")
        lines.append("# " + line)


def nginx(headers: tuple[Header, ...]) -> Snippet:
    lines = ["# in the server block that listens on 443 (ssl); add_header in a location block replaces",
             "# these, so repeat them there if a location has add_header of its own"]
    for h in headers:
        _commented(lines, h, f"add_header {h.name} {_dq(h.value)} always;")
    return Snippet("nginx", "nginx (server block for https)", "\n".join(lines) + "\n",
                   ("`always` also sends the headers with error responses (4xx, 5xx).",))


def apache(headers: tuple[Header, ...]) -> Snippet:
    lines = ["# in the <VirtualHost *:443> block (needs mod_headers: a2enmod headers)"]
    for h in headers:
        # mod_headers reads % as a format specifier: a literal percent is %%
        _commented(lines, h, f"Header always set {h.name} {_dq(h.value.replace('%', '%%'))}")
    return Snippet("apache", "Apache httpd (VirtualHost for https)", "\n".join(lines) + "\n",
                   ("`always` also sets the headers on error responses and redirects.",))


def caddy(headers: tuple[Header, ...]) -> Snippet:
    lines = ["# inside the site block (Caddy serves https and redirects http by itself)", "header {"]
    for h in headers:
        # Caddy expands {placeholders} in header values; the values here hold no braces
        inner: list[str] = []
        _commented(inner, h, f"{h.name} {_dq(h.value)}")
        lines += ["\t" + x for x in inner]
    lines.append("}")
    return Snippet("caddy", "Caddy (Caddyfile)", "\n".join(lines) + "\n")


def haproxy(headers: tuple[Header, ...]) -> Snippet:
    lines = ["# in the frontend that binds :443 ssl; http-after-response (HAProxy 2.2+) also covers",
             "# responses HAProxy makes itself (redirects, errors), like nginx's `always`"]
    for h in headers:
        # the value is a log-format string: a literal percent is %%
        _commented(lines, h, f"http-after-response set-header {h.name} {_dq(h.value.replace('%', '%%'))}")
    return Snippet("haproxy", "HAProxy (frontend for https)", "\n".join(lines) + "\n",
                   ("Before HAProxy 2.2, use `http-response set-header` (server responses only).",))


def iis(headers: tuple[Header, ...]) -> Snippet:
    """web.config: CSP headers as customHeaders, HSTS as an outbound rule on https responses only,
    and the HTTP→HTTPS 301 rule with the localhost exception from Umbraco's HTTPS guide."""
    config = etree.Element("configuration")
    web = etree.SubElement(config, "system.webServer")
    custom = etree.SubElement(etree.SubElement(web, "httpProtocol"), "customHeaders")
    sts = next((h for h in headers if h.name == STS), None)
    for h in headers:
        if h.name == STS:
            continue
        if h.enabled:
            etree.SubElement(custom, "add", name=h.name, value=h.value)
        else:
            text = f' not yet: {h.why}. <add name="{h.name}" value="{_attribute(h.value)}" /> '
            custom.append(etree.Comment(_comment(text)))
    rewrite = etree.SubElement(web, "rewrite")
    rules = etree.SubElement(rewrite, "rules")
    rule = etree.SubElement(rules, "rule", name="HTTP to HTTPS redirect", stopProcessing="true")
    etree.SubElement(rule, "match", url="(.*)")
    conditions = etree.SubElement(rule, "conditions")
    etree.SubElement(conditions, "add", input="{HTTPS}", pattern="off", ignoreCase="true")
    # the Umbraco guide's exception: local development on localhost keeps plain http
    etree.SubElement(conditions, "add", input="{HTTP_HOST}", pattern="localhost", negate="true")
    etree.SubElement(rule, "action", type="Redirect", url="https://{HTTP_HOST}/{R:1}", redirectType="Permanent")
    if sts is not None:
        outbound = etree.SubElement(rewrite, "outboundRules")
        orule = etree.SubElement(outbound, "rule", name="Add Strict-Transport-Security when HTTPS", enabled="true")
        etree.SubElement(orule, "match", serverVariable="RESPONSE_Strict_Transport_Security", pattern=".*")
        oconds = etree.SubElement(orule, "conditions")
        etree.SubElement(oconds, "add", input="{HTTPS}", pattern="on", ignoreCase="true")
        etree.SubElement(orule, "action", type="Rewrite", value=sts.value)
    etree.indent(config, space="  ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(config, encoding="unicode") + "\n"
    return Snippet("iis", "IIS (web.config)", text, (
        "The rewrite rules need the IIS URL Rewrite module.",
        ("Add more <add input=\"{HTTP_HOST}\" ... negate=\"true\" /> conditions for other hosts that stay "
         "on http (a staging host, say)."),
        ("HSTS is set by an outbound rule on https responses only; a customHeaders entry would also send it "
         "over http, where it is ignored (MC509)."),
    ))


def _attribute(value: str) -> str:
    """A double-quoted HTML or XML attribute value: only ``&``, ``"`` and (XML) ``<`` need escaping
    (HTML §13.1.2.3, XML 1.0 §2.3); quotes and everything else stay as they are."""
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _comment(text: str) -> str:
    """Text inside an HTML or XML comment (<!-- ... -->), where nothing is escaped or decoded: shown as
    written, except "--", which XML comments cannot hold and which starts an HTML comment's end
    (HTML §13.1.6, XML 1.0 §2.5)."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text


def meta(headers: tuple[Header, ...]) -> Snippet:
    up = next(h for h in headers if h.name == CSP)
    tag = f'<meta http-equiv="Content-Security-Policy" content="{_attribute(up.value)}">'
    text = tag + "\n" if up.enabled else f"<!-- {_comment(f'not yet: {up.why}')} -->\n<!-- {tag} -->\n"
    return Snippet("meta", "<meta http-equiv> (first thing in <head>)", text, (
        "A <meta> policy applies only to content after it: put it first in <head>.",
        ("It cannot be Report-Only, and cannot carry report-uri, frame-ancestors or sandbox: send the "
         "Report-Only allowlist as a header."),
        "HSTS cannot be set from HTML at all (RFC 6797 §8.5): it needs the response header.",
    ))


def snippets(headers: tuple[Header, ...]) -> tuple[Snippet, ...]:
    return (nginx(headers), apache(headers), iis(headers), caddy(headers), haproxy(headers), meta(headers))


__all__ = [
    "DIRECTIVE_BY_DESTINATION",
    "HSTS_VALUE",
    "REPORT_URI_PLACEHOLDER",
    "Header",
    "Readiness",
    "Reference",
    "Snippet",
    "Suggestion",
    "UpgradeVerdict",
    "clean_report_uri",
    "report_only_directives",
    "site_origin",
    "snippets",
    "suggest",
    "upgrade_verdict",
]
