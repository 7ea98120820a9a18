"""The stylesheet stage (docs/judging.md#css, NOTES.md item 6): the stylesheets pages load, each read once
(``@import`` chains followed, cycle-safe), judged at the end by every page that loads it, directly or
through ``@import``. One driver for every source: each source says where a stylesheet URL lives and
fetches stylesheets for it (files from the site's root on disk, responses from a live site, records
from a web archive) through a ``SheetSource``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from .. import urls
from ..extract import css
from ..extract.source import SourceText, decode_css, looks_binary
from ..model import Context, Finding, Reference, RefKind, ScanError, Sheet, SheetPlace, Span
from .findings import Held, Policy, hold, judge_now


class SheetSource(Protocol):
    """What the stylesheet driver needs of a source."""

    def locate(self, url: str, referrer: str) -> SheetPlace | None:
        """Where a stylesheet URL that ``referrer`` (a page's name, or a stylesheet's key) loads lives,
        or None when the source does not hold it (another site, a file outside the referrer's root, a
        host out of the crawl's scope)."""
        ...

    async def fetch(self, places: Sequence[SheetPlace]) -> list[tuple[SheetPlace, Sheet | str]]:
        """The stylesheets' bytes, or why each could not be had (a one-line reason)."""
        ...


@dataclass(slots=True)
class _Sheet:
    """One stylesheet of the run: where it is, what it references and which pages load it."""

    url: str  # what its relative URLs resolve against, and ``page`` in its findings
    file: str | None  # report path (directory scans); None for a fetched stylesheet, named by URL
    path: str | None = None  # docs/json-report.md: the file as it opens from the working directory
    refs: list[Reference] = field(default_factory=list)
    src: SourceText | None = None  # kept only while it has references to judge
    error: str | None = None  # why it could not be scanned
    referrers: dict[str, bool] = field(default_factory=dict)  # page -> page upgrades insecure requests


class StylesheetPhase:
    """docs/judging.md#css and NOTES.md item 6: the stylesheets pages load, each scanned once (``@import``
    chains followed, cycle-safe), judged at the end by every page that loads it, directly or through
    ``@import``.

    Incremental, so that any source can feed it (files read from disk, responses a crawl fetched):
    tell it what a page loads (``page_load``) and what a stylesheet imports (``import_load``); each
    returns True the first time it meets a stylesheet, and the caller then hands over its bytes
    (``add``, which answers with the URLs it @imports) or why there are none (``add_error``). Keys
    name stylesheets (a report path, or a URL) and are the caller's choice. The verdict does not
    depend on the order of the calls, so a concurrent source stays deterministic.
    """

    def __init__(self) -> None:
        self._sheets: dict[str, _Sheet] = {}
        self._edges: set[tuple[str, str, bool]] = set()  # (importer, imported, written as http)

    def __len__(self) -> int:
        return len(self._sheets)

    @staticmethod
    def page_target(url: str, upgrade: bool) -> str | None:
        """The URL a page's stylesheet load fetches: None when the browser blocks it (an http
        stylesheet on a page without upgrade-insecure-requests is MC102 on the page and its content
        never loads), else the URL with http upgraded to https (docs/judging.md#steps step 4)."""
        if urls.is_http(url):
            return urls.https_twin(url) if upgrade else None
        return url

    @staticmethod
    def import_target(url: str) -> tuple[str, bool]:
        """The URL an @import fetches, and whether it is written as http: then only pages that
        upgrade insecure requests load it (on the others it is blocked, docs/judging.md#steps step 7)."""
        if urls.is_http(url):
            return urls.https_twin(url), True
        return url, False

    def page_load(self, place: SheetPlace, page: str, upgrade: bool) -> bool:
        """``page`` loads the stylesheet at ``place``; True when the stylesheet is new. An empty
        ``page`` is a stylesheet given on its own, judged as loaded by an https page that does not
        upgrade insecure requests (it names no referrer)."""
        key = place.key
        sheet = self._sheets.get(key)
        new = sheet is None
        if sheet is None:
            sheet = self._sheets[key] = _Sheet(place.url, place.file, place.path)
        prev = sheet.referrers.get(page)
        sheet.referrers[page] = upgrade if prev is None else (prev and upgrade)
        return new

    def import_load(self, place: SheetPlace, importer: str, via_http: bool) -> bool:
        """Stylesheet ``importer`` @imports the one at ``place``; True when the stylesheet is new."""
        key = place.key
        self._edges.add((importer, key, via_http))
        if key in self._sheets:
            return False
        self._sheets[key] = _Sheet(place.url, place.file, place.path)
        return True

    def add(self, key: str, data: bytes, *, url: str | None = None, transport_charset: str | None = None,
            environment: str | None = None) -> list[str]:
        """Stylesheet ``key``'s bytes (``url``: where it was finally found, after redirects): extract
        its references; returns the URLs it @imports (resolved, any scheme, in source order)."""
        sheet = self._sheets[key]
        if url is not None:
            sheet.url = url
        if looks_binary(data):
            sheet.error = "not a stylesheet: binary content"
            return []
        src = decode_css(data, transport_charset=transport_charset, environment=environment)
        imports: list[str] = []
        if not css.has_candidate(src.text):
            return imports
        for u, resolved in css.fetched(css.extract_stylesheet(src.text), sheet.url):
            if u.destination == "style":
                imports.append(resolved)
            if not urls.is_http(resolved):
                continue
            line, column = src.line_column(u.start)
            span = Span(src.byte_offset(u.start), src.byte_offset(u.end), line, column)
            sheet.refs.append(Reference(
                kind=RefKind.REQUEST, raw=u.raw, url=resolved, span=span, element=u.element,
                attribute=u.property, context=Context.STYLESHEET, destination=u.destination, initiator="",
                secure=True, upgrade_insecure=False, page=sheet.url, detail=u.property))
        if sheet.refs:
            sheet.src = src
        return imports

    def add_error(self, key: str, message: str) -> None:
        """Stylesheet ``key`` could not be read; reported only if some page really loads it."""
        self._sheets[key].error = message

    def _loaded_by(self) -> dict[str, dict[str, bool]]:
        """Every page that loads each stylesheet, directly or through @import (a fixpoint, so cycles
        end), with whether it upgrades insecure requests (False as soon as one load does not)."""
        loaded = {key: dict(sheet.referrers) for key, sheet in self._sheets.items()}
        edges = sorted(self._edges)
        changed = True
        while changed:
            changed = False
            for importer, imported, via_http in edges:
                dst = loaded[imported]
                for page, up in loaded[importer].items():
                    if via_http and not up:
                        continue  # an http @import is blocked on a page that does not upgrade it
                    prev = dst.get(page)
                    new = up if prev is None else (prev and up)
                    if prev != new:
                        dst[page] = new
                        changed = True
        return loaded

    def finish(self, policy: Policy, held: list[Held] | None = None) -> tuple[list[Finding], list[ScanError], list[str]]:
        """Judge every stylesheet some page loads: (findings, errors, keys of the stylesheets). A
        reference is mixed when one page that loads the stylesheet does not upgrade insecure
        requests; ``referrers`` names those pages (else the pages that load it), five at most. With
        ``held`` (probing) the judgeable references are appended there instead."""
        findings: list[Finding] = []
        errors: list[ScanError] = []
        keys: list[str] = []
        loaded = self._loaded_by()
        for key in sorted(self._sheets):
            sheet = self._sheets[key]
            by = loaded[key]
            if not by:
                continue  # reached only through http @imports that every page blocks
            keys.append(key)
            where = (sheet.file, None if sheet.file is not None else sheet.url)
            if sheet.error is not None:
                errors.append(ScanError(*where, sheet.error, sheet.path))
                continue
            if not sheet.refs or sheet.src is None:
                continue
            mixed_for = sorted(p for p, up in by.items() if not up)
            referrers = tuple(p for p in (mixed_for or sorted(by)) if p)[:5]
            refs = [replace(r, secure=True, upgrade_insecure=not mixed_for) for r in sheet.refs]
            try:
                if held is not None:
                    held.append(replace(hold(refs, sheet.src, sheet.file, sheet.path, policy, probing=True),
                                        referrers=referrers))
                else:
                    for f in judge_now(refs, sheet.src, sheet.file, sheet.path, policy):
                        findings.append(replace(f, referrers=referrers))
            except AssertionError as e:
                errors.append(ScanError(*where, f"could not be scanned: {e}"[:300], sheet.path))
            sheet.src = None
        return findings, errors, keys


async def drive(source: SheetSource, loads: Iterable[tuple[str, str, bool]],
                given: Sequence[SheetPlace] = (), policy: Policy | None = None) -> StylesheetPhase:
    """Read every stylesheet the pages load (``loads``: (page, stylesheet URL, the page upgrades
    insecure requests)) and every stylesheet ``given`` on its own (judged as loaded by an https page
    that does not upgrade insecure requests) from ``source``, level by level of ``@import``, each
    once; returns the phase, ready for ``finish``. The verdict does not depend on the order of
    ``loads``. A stylesheet whose URL (as the page or the @import names it) ``policy`` excludes is not
    read (docs/configuration.md#excluding-urls)."""
    phase = StylesheetPhase()
    queue: dict[str, SheetPlace] = {}
    excluded = policy.excludes if policy is not None and policy.exclude else None
    for own in given:
        if phase.page_load(own, "", False):
            queue[own.key] = own
    for page, url, upgrade in loads:
        if excluded is not None and excluded(url):
            continue
        target = phase.page_target(url, upgrade)
        if target is None:
            continue  # an http stylesheet is blocked (MC102 on the page); its content never loads
        place = source.locate(urls.without_fragment(target), page)
        if place is not None and phase.page_load(place, page, upgrade):
            queue[place.key] = place
    while queue:
        got = await source.fetch([queue[k] for k in sorted(queue)])
        queue = {}
        for place, sheet in sorted(got, key=lambda pair: pair[0].key):
            if isinstance(sheet, str):
                phase.add_error(place.key, sheet)
                continue
            for imported in phase.add(place.key, sheet.data, url=sheet.url, transport_charset=sheet.charset):
                if excluded is not None and excluded(imported):
                    continue
                target, via_http = phase.import_target(imported)
                found = source.locate(urls.without_fragment(target), place.key)
                if found is not None and phase.import_load(found, place.key, via_http):
                    queue[found.key] = found
    return phase


__all__ = ["Sheet", "SheetPlace", "SheetSource", "StylesheetPhase", "drive"]
