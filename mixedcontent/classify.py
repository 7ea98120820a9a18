"""docs/judging.md#steps as one pure function: a Reference in, a Finding (or None) out.

Classification reads only the reference's URL, kind, destination, initiator and the page facts the
reference carries (secure, upgrade_insecure). It never looks at markup; extraction has already
turned markup into Fetch's destination and initiator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from sys import intern

from ada_url import HostType

from . import urls
from .model import (
    DESTINATIONS,
    INITIATORS,
    Category,
    Context,
    Finding,
    Fix,
    ProbeResult,
    Reference,
    RefKind,
    Severity,
    positional,
)
from .rules import RULES, bound_template

_UPGRADABLE_DESTINATIONS = frozenset(("image", "audio", "video"))
# one Finding per finding: made field by field, in this order (model.positional checks it)
_new_finding = positional(Finding, "code name category severity message file page line column offset length url "
                                     "raw element attribute context destination initiator https fix fingerprint "
                                     "referrers suppressed_by record path path_fingerprint confirmed_by "
                                     "initiator_location")


def needs_probe(ref: Reference) -> bool:
    """Is ``ref`` a request whose https twin ``--probe`` checks (docs/probe.md)? Every http subresource
    request on a secure page, including those the page's upgrade-insecure-requests upgrades (MC303)."""
    url = ref.url
    return (ref.kind is RefKind.REQUEST and url is not None and ref.secure and urls.is_http(url)
            and not urls.is_potentially_trustworthy(url))


def decide(ref: Reference, probe: ProbeResult | None = None) -> str | None:
    """The rule code for ``ref`` (docs/judging.md#steps steps 1-7), or None when it is not mixed content.

    ``probe`` is the result for the reference's https twin when ``--probe`` ran (docs/rules/index.md,
    docs/probe.md): a twin that fails turns MC101 into MC301, MC102/103/104 into MC302, and makes a request
    that the page's upgrade-insecure-requests upgrades MC303. A skipped probe proves nothing and changes
    nothing.
    """
    url = ref.url
    # step 1: a URL that does not parse is not fetched
    if url is None:
        return None
    # step 2: nothing on a page that is not (judged as) https is mixed content
    if not ref.secure:
        return None
    # step 3: potentially trustworthy URLs are never mixed (Secure Contexts §3.1)
    host_type = urls.insecure_host_type(url)
    if host_type is None:
        return None
    kind = ref.kind
    if kind is RefKind.BASE:
        return "MC105"
    # needs_probe(ref), given the steps above
    fails = probe is not None and probe.fails and kind is RefKind.REQUEST
    # step 4: an enforced upgrade-insecure-requests rewrites the request before mixed-content checks
    if ref.upgrade_insecure:
        # docs/rules/index.md MC303: ... unless the twin it is rewritten to does not work
        return "MC303" if fails else None
    if kind is RefKind.FORM:
        return "MC201"
    if kind is RefKind.SCRIPT_LITERAL:
        return "MC401"
    destination = ref.destination
    initiator = ref.initiator
    # step 6: Mixed Content §4.1 "upgrade a mixed content request": image/audio/video, not imageset
    if destination in _UPGRADABLE_DESTINATIONS and initiator != "imageset" and ref.detail != "icon":
        # Mixed Content §4.1 step 1.2: requests to IP-literal hosts are not upgraded
        if host_type == HostType.IPV4 or host_type == HostType.IPV6:
            return "MC302" if fails else "MC104"
        # docs/rules/index.md MC301: the upgrade breaks the reference when the twin does not work
        return "MC301" if fails else "MC101"
    # step 7: everything else is blockable (docs/rules/index.md MC302 when no working twin exists either)
    if fails:
        return "MC302"
    if destination == "image" and initiator == "imageset":
        return "MC103"
    return "MC102"


def describe(ref: Reference) -> str:
    """How a message names the reference: ``<img srcset> candidate``, ``CSS background-image url()``."""
    return _describe(ref.context, ref.kind, ref.element, ref.attribute, ref.detail)


@lru_cache(maxsize=1024)
def _describe(context: Context, kind: RefKind, element: str, attribute: str | None, detail: str | None) -> str:
    """``describe`` from the reference's fields it reads (memoized, bounded: they recur on every page).
    Compares by value (``==``, not ``is``), as the cache's keys do: a member and its string are one key."""
    if context in (Context.STYLE_ELEMENT, Context.STYLESHEET) or (
            context == Context.SRCDOC and element.startswith("@")):
        if element == "@import":
            return "@import"
        if element == "@font-face":
            return "@font-face src"
        return f"CSS {attribute} url()"
    if context == Context.STYLE_ATTRIBUTE or attribute == "style":
        return f"<{element} style> {detail or ''} url()".replace("  ", " ")
    if kind == RefKind.SCRIPT_LITERAL:
        if attribute:
            return f"<{element} {attribute}> string literal"
        return "<script> string literal"
    what = f"<{element} {attribute}>" if attribute else f"<{element}>"
    if detail and detail.startswith("candidate"):
        what += " candidate"
    elif element == "link" and detail:
        what = f'<link rel={detail} href>'
    return what


def message(code: str, ref: Reference, probe: ProbeResult | None = None) -> str:
    """The finding's message: the rule's template (rules/) filled with what this reference is
    (``Rule.format_message``, through the template with the recurring facts already filled in)."""
    url = ref.url or ""
    if probe is None:
        why = "no working https twin"
        twin_works = False
    else:
        why = probe.reason
        twin_works = probe.works
    ipv6 = RULES[code].message_ipv6 is not None and bool(url) and urls.is_ipv6_literal(url)
    template, names_twin = _message_template(code, ref.context, ref.kind, ref.element, ref.attribute, ref.detail,
                                             ref.destination, why, twin_works, ipv6)
    return template.format(url, urls.href_twin(url)) if names_twin else template.format(url)


@lru_cache(maxsize=4096)
def _message_template(code: str, context: Context, kind: RefKind, element: str, attribute: str | None,
                      detail: str | None, destination: str | None, why: str, twin_works: bool,
                      ipv6: bool) -> tuple[str, bool]:
    """rules.bound_template for a reference with these fields (memoized, bounded: on a site they recur,
    and the key holds every input of the value)."""
    dest = "favicon" if detail == "icon" else destination or "request"
    return bound_template(code, _describe(context, kind, element, attribute, detail), dest, why, twin_works, ipv6)


def classify(ref: Reference, file: str | None,
             fixer: Callable[[Reference, str | None], Fix | None] | None = None) -> Finding | None:
    """Judge one reference. ``fixer`` proposes the fix; the fingerprint is added by the scan."""
    code = decide(ref)
    if code is None:
        return None
    return finding_for(ref, file, code, fixer(ref, file) if fixer is not None else None)


def finding_for(ref: Reference, file: str | None, code: str, fix: Fix | None, fingerprint: str = "",
                suppressed_by: str | None = None, https: ProbeResult | None = None, *,
                path: str | None = None, path_fingerprint: str = "",
                referrers: tuple[str, ...] | None = None) -> Finding:
    """The Finding for a reference already judged as ``code`` (``https``: its probe result, if probed;
    ``path``: docs/json-report.md, the file as it opens from the working directory)."""
    rule = RULES[code]
    span = ref.span
    start = span.start
    url = ref.url
    attribute = ref.attribute
    if ref.kind is RefKind.REQUEST:
        destination = ref.destination
        initiator = ref.initiator
        destination = None if destination is None else DESTINATIONS[destination]
        initiator = None if initiator is None else INITIATORS[initiator]
    else:
        destination = initiator = None
    # memory (findings are kept until the report): the raw text is usually the URL itself, and a few
    # element and attribute names recur; one string each (pickling keeps the sharing)
    raw = ref.raw
    if raw == url:
        raw = url
    return _new_finding(
        code, rule.name, rule.category, rule.severity, message(code, ref, https), file, ref.page,
        span.line, span.column, start, span.end - start, url, raw, intern(ref.element),
        None if attribute is None else intern(attribute), ref.context, destination, initiator,
        https, fix, fingerprint, referrers, suppressed_by, None, path, path_fingerprint or fingerprint, None, None)


__all__ = ["Category", "Severity", "classify", "decide", "describe", "finding_for", "message", "needs_probe"]
