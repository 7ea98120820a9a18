"""Merge the browser's verdicts (``--render``) with the static findings (docs/rules/index.md,
docs/json-report.md).

One pure function, ``merge_runtime``: for each page the browser loaded,
- a verdict for a URL that a static finding of that page (or of a stylesheet it loads) names, with
  the same verdict, confirms the finding (``confirmed_by = "chromium"``);
- a verdict that no static finding accounts for becomes MC402 runtime-request, located at the page
  (the initiator's position when the script is inline in the page's file);
- a static finding the browser never requested stays as it is (a ``<source>`` the browser did not
  pick, a lazy image never in view, a CSS rule that matched nothing, a form nobody submitted).

The browser's quirks, handled here (NOTES.md "Observed in Chromium 156"): the preload scanner can
report one request twice (one verdict per URL and verdict); an IPv4-literal image is reported as
warned, then blocked (``sources/browser.py`` keeps a request's strongest verdict); requests to
potentially trustworthy hosts draw a warning but load, and are never mixed content (docs/judging.md);
``block-all-mixed-content`` changes nothing, in the browser as in docs/judging.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from .. import urls
from ..model import ArchiveRecord, Category, Context, Destination, Finding, ScanError, ScanResult, Severity
from ..rules import RULES, MessageFacts
from ..settings import ScanSettings
from ..sources.browser import RenderedPage, RuntimeVerdict, Verdict
from ..suppress import path_ignored, selected, url_excluded
from .findings import fingerprint, reassemble

CONFIRMED_BY = "chromium"

# which static codes state the same verdict as the browser's (docs/judging.md, docs/rules/index.md)
_AGREES: dict[Verdict, frozenset[str]] = {
    Verdict.UPGRADED: frozenset({"MC101", "MC301"}),
    Verdict.BLOCKED: frozenset({"MC102", "MC103", "MC104", "MC302"}),
    # an IPv6-literal image is loaded over http with a warning (NOTES.md); a form action warns at load
    Verdict.WARNED: frozenset({"MC104", "MC302", "MC201"}),
}

# Audits MixedContentResourceType → Fetch destination (docs/judging.md vocabulary)
_DESTINATION = {
    "Audio": "audio",
    "Video": "video",
    "Image": "image",
    "Favicon": "image",
    "Font": "font",
    "Frame": "iframe",
    "Script": "script",
    "Stylesheet": "style",
    "Track": "track",
    "Manifest": "manifest",
    "Worker": "worker",
    "SharedWorker": "sharedworker",
    "ServiceWorker": "serviceworker",
    "XSLT": "xslt",
    "JSON": "json",
    "PluginResource": "embed",
    "PluginData": "object",
}


def agrees(code: str, verdict: Verdict) -> bool:
    return code in _AGREES[verdict]


def _category(v: RuntimeVerdict) -> tuple[Category, Severity]:
    """docs/rules/index.md: category and severity from the browser's verdict."""
    if v.verdict is Verdict.UPGRADED:
        return Category.UPGRADABLE, Severity.WARNING
    if v.verdict is Verdict.WARNED and v.resource_type == "Form":
        return Category.INSECURE_FORM, Severity.ERROR
    # blocked, or (docs/judging.md) an IP-literal image loaded insecurely: never upgraded, MC104's category
    return Category.BLOCKABLE, Severity.ERROR


def _what(v: RuntimeVerdict) -> str:
    if urls.scheme(v.url) == "ws:":
        return "WebSocket connection to"
    if v.resource_type == "Form":
        return "form submitting to"
    kind = {"Resource": "fetch()", "Frame": "iframe", "XMLHttpRequest": "XMLHttpRequest"}.get(
        v.resource_type, v.resource_type.lower()
    )
    return f"{kind} request for"


def _message(v: RuntimeVerdict, where: str | None, by_script: bool) -> str:
    done = {
        Verdict.UPGRADED: "was upgraded to https by Chromium (it fails if the https twin does not work)",
        Verdict.BLOCKED: "was blocked by Chromium",
        Verdict.WARNED: (
            "would go over plain http: Chromium warns at load and interrupts the submission"
            if v.resource_type == "Form"
            else "was loaded over plain http by Chromium, with a mixed-content warning"
        ),
    }[v.verdict]
    by = ""
    if where:
        by = f" (made by the script at {where})" if by_script else f" (initiated at {where})"
    why = f"{done}; no markup or stylesheet of the page names it{by}"
    return RULES["MC402"].format_message(MessageFacts(what=_what(v), url=v.url, twin=urls.href_twin(v.url), why=why))


def runtime_finding(page: RenderedPage, v: RuntimeVerdict, index: int) -> Finding:
    """MC402 for one verdict: located at the page, at the initiator when it is inline in the page's file."""
    rule = RULES["MC402"]
    category, severity = _category(v)
    loc = v.initiator
    inline = loc is not None and loc.offset is not None
    where = None
    if loc is not None:
        name = page.file if inline and page.file else loc.url
        where = f"{name}:{loc.line}:{loc.column}"
    key = ("MC402", page.file or page.page, v.url, v.resource_type, str(v.verdict))
    fp = fingerprint(key, index)
    path_fp = (
        fp
        if page.path is None or page.path == page.file
        else fingerprint(("MC402", page.path, *key[2:]), index)
    )
    return Finding(
        code="MC402",
        name=rule.name,
        category=category,
        severity=severity,
        message=_message(v, where, v.by_script),
        file=page.file,
        page=page.page,
        line=loc.line if inline and loc else None,
        column=loc.column if inline and loc else None,
        offset=loc.offset if inline and loc else None,
        length=None,
        url=v.url,
        raw=None,
        element=None,
        attribute=None,
        context=Context.SCRIPT if v.by_script else Context.HTML,
        destination=None if v.resource_type == "Form" else Destination(_DESTINATION.get(v.resource_type, "")),
        initiator=None,
        fingerprint=fp,
        path=page.path,
        path_fingerprint=path_fp,
        initiator_location=loc,
    )


def _verdict_order(v: RuntimeVerdict) -> tuple[str, str, str, bool, int, int, str]:
    loc = v.initiator
    return (
        v.url,
        v.verdict.value,
        v.resource_type,
        loc is None,
        loc.line if loc else 0,
        loc.column if loc else 0,
        loc.url if loc else "",
    )


def merge_runtime(
    result: ScanResult,
    pages: Iterable[RenderedPage],
    settings: ScanSettings,
    *,
    show_suppressed: bool = False,
    errors: Sequence[ScanError] = (),
    records: Mapping[str, tuple[str, ArchiveRecord]] = MappingProxyType({}),
) -> ScanResult:
    """The static ``result`` with the browser's verdicts merged in.

    ``result`` must hold every static finding, whatever the selection and suppression (scan with
    ``select=(), ignore=()`` and ``show_suppressed=True``): a verdict matched to a finding that is
    then not reported is still accounted for, not an MC402. Selection (``--select``/``--ignore``),
    per-path ignores and the baseline are applied here, to static and runtime findings alike.
    ``records``: for the pages of web archives (by URL), the archive and record an MC402 is named by,
    as the page's static findings are (its fingerprint stays the page URL's, as theirs does); a page
    that could not be rendered is an error of its archive, at its URL.
    """
    pages = list(pages)
    by_doc: dict[tuple[str, str], list[int]] = {}
    by_sheet: dict[str, list[int]] = {}
    for i, f in enumerate(result.findings):
        if f.url is None:
            continue
        by_doc.setdefault((f.file or f.page, f.url), []).append(i)
        if f.file is not None:
            by_doc.setdefault((f.page, f.url), []).append(i)
        if f.context is Context.STYLESHEET:
            by_sheet.setdefault(f.url, []).append(i)
    loaded = {p.loaded for p in pages}
    confirmed: set[int] = set()
    runtime: list[Finding] = []
    page_errors = list(errors)
    # a stable order whatever order the tabs finished in: pages by name, verdicts by URL, verdict and
    # type, those the browser names an initiator for first (the preload scanner's twin names none)
    for page in sorted(pages, key=lambda p: (p.file or "", p.page)):
        if page.error is not None:
            if page.file is None and page.page in records:  # an archived page: its archive and URL
                page_errors.append(ScanError(records[page.page][0], page.page, f"--render: {page.error}"))
            else:
                page_errors.append(
                    ScanError(page.file, None if page.file else page.page, f"--render: {page.error}")
                )
        seen: set[tuple[str, Verdict, str]] = set()
        counts: Counter[tuple[str, str, Verdict]] = Counter()
        for v in sorted(page.verdicts, key=_verdict_order):
            # docs/judging.md: loopback and localhost are never mixed (Chromium warns, then loads them)
            if urls.is_potentially_trustworthy(v.url):
                continue
            # docs/configuration.md#excluding-urls: no finding is about an excluded URL
            if url_excluded(v.url, settings.exclude_urls):
                continue
            # a frame that is itself a page of this run is judged when that page is loaded
            if v.frame_url != page.loaded and v.frame_url in loaded:
                continue
            # the preload scanner and the parser can each report one request: one verdict per URL
            key = (v.url, v.verdict, v.resource_type if v.verdict is Verdict.WARNED else "")
            if key in seen:
                continue
            seen.add(key)
            doc = page.file or page.page
            matches = {
                i
                for k in ((doc, v.url), (page.page, v.url))
                for i in by_doc.get(k, ())
                if agrees(result.findings[i].code, v.verdict)
            }
            if not matches:
                matches = {i for i in by_sheet.get(v.url, ()) if agrees(result.findings[i].code, v.verdict)}
            if matches:
                confirmed.update(matches)
                continue
            counts[(v.url, v.resource_type, v.verdict)] += 1
            found = runtime_finding(page, v, counts[(v.url, v.resource_type, v.verdict)] - 1)
            if page.file is None and page.page in records:
                name, record = records[page.page]
                found = replace(found, file=name, record=record)
            runtime.append(found)
    merged = [
        replace(f, confirmed_by=CONFIRMED_BY) if i in confirmed else f for i, f in enumerate(result.findings)
    ]
    for f in runtime:
        # as for static findings: globs match the report's file or its working-directory path, and a
        # baseline matches either fingerprint
        why = None
        if path_ignored(f.code, f.file, settings.per_path_ignores) or (
            f.path is not None and path_ignored(f.code, f.path, settings.per_path_ignores)
        ):
            why = "per-path-ignores"
        if why is None and (f.fingerprint in settings.baseline or f.path_fingerprint in settings.baseline):
            why = "baseline"
        merged.append(replace(f, suppressed_by=why) if why else f)
    chosen = [f for f in merged if selected(f.code, settings.select, settings.ignore)]
    return reassemble(result, chosen, page_errors, show_suppressed=show_suppressed)
