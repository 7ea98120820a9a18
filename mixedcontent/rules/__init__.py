"""The rule registry (docs/rules/index.md): stable codes, names, categories, severities, messages, and docs.

Codes are never reused or renumbered. ``RULES`` is an immutable mapping; each rule's documentation
lives in ``rules/docs/<CODE>.md`` with fixed headings and is read on demand. A rule's finding message
lives with the rule, as ``str.format`` templates over ``MessageFacts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter
from types import MappingProxyType

from ..model import Category, Severity


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a message may say about one reference; the templates name these fields."""

    what: str  # how the reference is named: ``<img srcset> candidate``, ``CSS background-image url()``
    url: str  # the http URL
    twin: str  # its https twin (docs/probe.md)
    why: str = "no working https twin"  # the probe's reason when the twin was probed
    dest: str = "request"  # the request's destination as a message says it (``favicon`` for icons)
    twin_works: bool = False  # the twin was probed and works
    ipv6: bool = False  # the URL's host is an IPv6 literal


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the registry (docs/rules/index.md): its stable code, name, verdict and messages."""

    code: str
    name: str
    category: Category
    severity: Severity
    summary: str
    deprecated: bool = False
    message: str = "{what} {url}"  # template over MessageFacts
    message_twin_works: str | None = None  # when the probe proved the twin (None: ``message``)
    message_ipv6: str | None = None  # when the host is an IPv6 literal (None: ``message``)

    def format_message(self, facts: MessageFacts) -> str:
        """The finding's message (one sentence naming the element and the URL, docs/json-report.md)."""
        template = self.template(twin_works=facts.twin_works, ipv6=facts.ipv6)
        return template.format(what=facts.what, url=facts.url, twin=facts.twin, why=facts.why, dest=facts.dest)

    def template(self, *, twin_works: bool, ipv6: bool) -> str:
        """The ``str.format`` template over MessageFacts' fields for a finding with these facts."""
        template = self.message_ipv6 if ipv6 and self.message_ipv6 is not None else self.message
        if twin_works and self.message_twin_works is not None:
            template = self.message_twin_works.replace("{message}", template)
        return template

    def doc(self) -> str:
        """The rule's Markdown documentation page."""
        from importlib import resources  # (with pathlib and zipfile: not for a scan's start-up, issue 19)

        return resources.files(__package__).joinpath("docs", f"{self.code}.md").read_text(encoding="utf-8")

    def short_description(self) -> str:
        """The first paragraph after the title of the rule's documentation page."""
        lines = self.doc().splitlines()
        para: list[str] = []
        for line in lines[1:]:
            if line.strip():
                if line.startswith("#"):
                    break
                para.append(line.strip())
            elif para:
                break
        return " ".join(para) or self.summary


_C, _S = Category, Severity
_PROBED = "{message}; {twin} works (probed)"
_RULES = (
    Rule("MC101", "upgradable-request", _C.UPGRADABLE, _S.WARNING,
         "http image/audio/video that the browser upgrades to https",
         message="{what} {url} is upgraded to https by browsers; it breaks if {twin} does not work",
         message_twin_works="{what} {url} is upgraded to https by browsers, and {twin} works (probed)"),
    Rule("MC102", "blockable-request", _C.BLOCKABLE, _S.ERROR,
         "http subresource that the browser blocks",
         message="{what} {url} is blocked: an http {dest} is blockable mixed content", message_twin_works=_PROBED),
    Rule("MC103", "imageset-request", _C.BLOCKABLE, _S.ERROR,
         "http image chosen through srcset or <picture>, which is blocked",
         message="{what} {url} is blocked: images chosen through srcset or <picture> are never upgraded",
         message_twin_works=_PROBED),
    Rule("MC104", "ip-literal-request", _C.BLOCKABLE, _S.ERROR,
         "http image/audio/video on an IP-literal host, which is never upgraded",
         message="{what} {url} is blocked: its host is an IP literal, which browsers never upgrade",
         message_ipv6=("{what} {url} is never upgraded because its host is an IP literal: Chromium loads it "
                       "insecurely with a warning, other browsers block it"),
         message_twin_works=_PROBED),
    Rule("MC105", "insecure-base-href", _C.BASE_HREF, _S.ERROR,
         "<base href> is an http URL, so relative URLs resolve to http",
         message="{what} {url} makes every relative URL on the page resolve to http"),
    Rule("MC201", "insecure-form-action", _C.INSECURE_FORM, _S.ERROR,
         "form submits to an http URL",
         message="{what} {url} submits over http: browsers warn, disable autofill and interrupt the submission"),
    Rule("MC301", "upgrade-will-break", _C.UPGRADABLE, _S.ERROR,
         "upgradable reference whose https twin does not work",
         message=("{what} {url} is upgraded to https by browsers, but {twin} does not work ({why}): "
                  "the upgraded request fails")),
    Rule("MC302", "https-unavailable", _C.BLOCKABLE, _S.ERROR,
         "blockable reference with no working https twin",
         message="{what} {url} is blocked, and {twin} does not work either ({why}): serve it over https elsewhere"),
    Rule("MC303", "csp-upgrade-will-break", _C.UPGRADABLE, _S.ERROR,
         "reference upgraded by the page's upgrade-insecure-requests whose https twin does not work",
         message=("{what} {url} is upgraded by the page's upgrade-insecure-requests, but {twin} does not work "
                  "({why}): the upgraded request fails")),
    Rule("MC401", "script-literal", _C.SCRIPT_LITERAL, _S.INFO,
         "http:// literal in inline script (heuristic)",
         message="{what} {url} may be fetched over http (heuristic: the script may use it)"),
    # category and severity of each finding follow the browser's verdict (upgraded: upgradable/warning);
    # the rule lists the most common one, a blocked request
    Rule("MC402", "runtime-request", _C.BLOCKABLE, _S.ERROR,
         "with --render: a mixed-content request the browser made that no markup or stylesheet names",
         # ``why``: what the browser did with it, and where the script that made it is
         message="{what} {url} {why}"),
    Rule("MC501", "http-not-redirected", _C.POSTURE, _S.ERROR,
         "http:// does not redirect to https (or loops)"),
    Rule("MC502", "hsts-missing", _C.POSTURE, _S.ERROR,
         "https response has no Strict-Transport-Security header"),
    Rule("MC503", "hsts-invalid", _C.POSTURE, _S.ERROR,
         "the first Strict-Transport-Security header is invalid per RFC 6797"),
    Rule("MC504", "hsts-not-preloadable", _C.POSTURE, _S.WARNING,
         "valid HSTS that fails the preload list's rules"),
    Rule("MC505", "cookie-without-secure", _C.POSTURE, _S.WARNING,
         "Set-Cookie on https without Secure (error for session/auth cookies)"),
    Rule("MC506", "hsts-max-age-short", _C.POSTURE, _S.WARNING,
         "HSTS max-age below 6 months"),
    Rule("MC507", "redirect-chain-weak", _C.POSTURE, _S.WARNING,
         "weak http→https redirect chain"),
    Rule("MC508", "insecure-page", _C.POSTURE, _S.ERROR,
         "page in scope served over plain http without a redirect"),
    Rule("MC509", "hsts-over-http", _C.POSTURE, _S.INFO,
         "Strict-Transport-Security sent over plain http (ignored)"),
    Rule("MC510", "tls-legacy-protocol", _C.POSTURE, _S.ERROR,
         "the server accepts SSL 3.0, TLS 1.0 or TLS 1.1"),
    Rule("MC511", "tls13-missing", _C.POSTURE, _S.WARNING,
         "TLS 1.3 is not offered"),
    Rule("MC512", "certificate-invalid", _C.POSTURE, _S.ERROR,
         "the certificate is expired, not yet valid, for another host, untrusted, weak or SHA-1 signed"),
    Rule("MC513", "certificate-expiring", _C.POSTURE, _S.WARNING,
         "the certificate expires within 30 days"),
    Rule("MC514", "tls-profile-deviation", _C.POSTURE, _S.WARNING,
         "the TLS configuration deviates from Mozilla's recommended profile"),
    Rule("MC515", "http2-missing", _C.POSTURE, _S.INFO,
         "HTTP/2 is not offered over ALPN"),
)

RULES: MappingProxyType[str, Rule] = MappingProxyType({r.code: r for r in _RULES})

_FORMATTER = Formatter()


def bound_template(code: str, what: str, dest: str, why: str, twin_works: bool, ipv6: bool) -> tuple[str, bool]:
    """Rule ``code``'s message template with the facts that recur across findings filled in (``what``,
    ``dest``, ``why``): a ``str.format`` template over two positional fields, ``{0}`` the URL and ``{1}``
    its twin, and whether it names the twin. ``bound.format(url, twin)`` is
    ``format_message(MessageFacts(what, url, twin, why, dest, twin_works, ipv6))``: the same template,
    parsed the way ``str.format`` parses it, each filled field's text escaped. (classify.message memoizes it.)"""
    template = RULES[code].template(twin_works=twin_works, ipv6=ipv6)
    filled = {"what": what, "dest": dest, "why": why}
    out = []
    names_twin = False
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"{code}: a message template names plain fields only, not {{{name}!{conversion}:{spec}}}")
        if name in filled:
            out.append(filled[name].replace("{", "{{").replace("}", "}}"))
        elif name == "url":
            out.append("{0}")
        elif name == "twin":
            out.append("{1}")
            names_twin = True
        else:
            raise KeyError(name)  # as str.format: MessageFacts has no such field
    return "".join(out), names_twin


__all__ = ["RULES", "MessageFacts", "Rule", "bound_template"]
