"""The rule registry (docs/rules/index.md): stable codes, names, categories, severities, and their docs.

Codes are never reused or renumbered. ``RULES`` is an immutable mapping; each rule's documentation
lives in ``rules/docs/<CODE>.md`` with fixed headings and is read on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from ..model import Category, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    category: Category
    severity: Severity
    summary: str
    deprecated: bool = False

    def doc(self) -> str:
        """The rule's Markdown documentation page."""
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
_RULES = (
    Rule("MC101", "upgradable-request", _C.UPGRADABLE, _S.WARNING,
         "http image/audio/video that the browser upgrades to https"),
    Rule("MC102", "blockable-request", _C.BLOCKABLE, _S.ERROR,
         "http subresource that the browser blocks"),
    Rule("MC103", "imageset-request", _C.BLOCKABLE, _S.ERROR,
         "http image chosen through srcset or <picture>, which is blocked"),
    Rule("MC104", "ip-literal-request", _C.BLOCKABLE, _S.ERROR,
         "http image/audio/video on an IP-literal host, which is never upgraded"),
    Rule("MC105", "insecure-base-href", _C.BASE_HREF, _S.ERROR,
         "<base href> is an http URL, so relative URLs resolve to http"),
    Rule("MC201", "insecure-form-action", _C.INSECURE_FORM, _S.ERROR,
         "form submits to an http URL"),
    Rule("MC301", "upgrade-will-break", _C.UPGRADABLE, _S.ERROR,
         "upgradable reference whose https twin does not work"),
    Rule("MC302", "https-unavailable", _C.BLOCKABLE, _S.ERROR,
         "blockable reference with no working https twin"),
    Rule("MC303", "csp-upgrade-will-break", _C.UPGRADABLE, _S.ERROR,
         "reference upgraded by the page's upgrade-insecure-requests whose https twin does not work"),
    Rule("MC401", "script-literal", _C.SCRIPT_LITERAL, _S.INFO,
         "http:// literal in inline script (heuristic)"),
    # category and severity of each finding follow the browser's verdict (upgraded: upgradable/warning);
    # the rule lists the most common one, a blocked request
    Rule("MC402", "runtime-request", _C.BLOCKABLE, _S.ERROR,
         "with --render: a mixed-content request the browser made that no markup or stylesheet names"),
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
)

RULES: MappingProxyType[str, Rule] = MappingProxyType({r.code: r for r in _RULES})

__all__ = ["RULES", "Rule"]
