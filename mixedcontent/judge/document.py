"""Judge one document: the one function every source's documents go through (files, crawls, archives,
the audit's landing page, the browser pass).

A page gives its findings (or, with ``--probe``, the references held for the probe), the stylesheets
it loads and, for a crawl, its links. A stylesheet given on its own is judged by the stylesheet stage
(``judge.stylesheets``), as one loaded by an https page: ``judge_document`` hands it back untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import urls
from ..extract.html import PageContext, StylesheetLoad, extract_html, header_upgrades
from ..extract.source import SourceText, decode_html, decode_xml, looks_binary
from ..model import Document, DocumentKind, Finding, ScanError, pickled_by_fields
from .findings import Held, Policy, hold, judge_now, served_insecurely

_DEFAULT_POLICY = Policy()


@pickled_by_fields
@dataclass(slots=True)
class Judged:
    """What judging one page gave: its findings (or references held for the probe), the stylesheets it
    loads as (URL, upgrades insecure requests), the links a crawler follows, or why it could not be
    judged. ``name`` is how reports name the page (its file, else its URL)."""

    name: str
    findings: list[Finding] = field(default_factory=list)
    stylesheets: list[StylesheetLoad] = field(default_factory=list)
    error: ScanError | None = None
    held: Held | None = None
    links: list[str] = field(default_factory=list)


def judge_document(doc: Document, policy: Policy | None = None, *, scripting: bool = True, probing: bool = False,
                   links: bool = False) -> tuple[Judged, SourceText | None]:
    """Judge one page held in memory. ``scripting``: judged as a browser with scripting on;
    ``probing``: hold the references for the probe stage instead of judging them now; ``links``: also
    collect the links a crawler follows. Returns the outcome and the decoded text (None when it could
    not be decoded). Never raises for bad input: problems become the outcome's error."""
    policy = policy or _DEFAULT_POLICY
    out = Judged(doc.name)

    def error(message: str) -> ScanError:
        if doc.file is not None:
            return ScanError(doc.file, None, message, doc.path)
        return ScanError(None, doc.url, message)

    if looks_binary(doc.data):
        out.error = error("not an HTML file: binary content")
        return out, None
    # CSP3 §4.2: an enforced header policy with upgrade-insecure-requests (docs/judging.md#steps step 4)
    upgrade = doc.csp is not None and header_upgrades(doc.csp)
    page = PageContext(doc.url, doc.tls, upgrade, scripting)
    src = None
    try:
        xml = doc.kind is DocumentKind.XHTML
        src = decode_xml(doc.data, transport_charset=doc.charset) if xml else decode_html(
            doc.data, transport_charset=doc.charset)
        extraction = extract_html(src, page, xml=xml, links=links)
        if probing:
            out.held = hold(extraction.references, src, doc.file, doc.path, policy, probing=True)
        else:
            out.findings = judge_now(extraction.references, src, doc.file, doc.path, policy)
        out.stylesheets = extraction.stylesheets
        out.links = extraction.links
    except (RecursionError, MemoryError, ValueError, LookupError, AssertionError) as e:
        out.findings = []
        out.held = None
        out.error = error(f"could not be scanned: {type(e).__name__}: {e}"[:300])
        return out, src
    if doc.served and not doc.url.startswith("https:"):
        mc508 = served_insecurely(doc.url, policy)
        if mc508 is not None:
            out.findings.append(mc508)
    return out, src


def stylesheet_loads(doc: Document, judged: Judged) -> list[tuple[str, bool]]:
    """The stylesheets a judged page loads, as (URL, the page upgrades insecure requests), for the
    stylesheet stage. Nothing is mixed content for an http page: it loads its https stylesheets as one
    that upgrades would (no verdict from it), and its http ones are nobody else's business."""
    if doc.tls:
        return [(load.url, load.upgrade_insecure) for load in judged.stylesheets]
    return [(load.url, True) for load in judged.stylesheets if not urls.is_http(load.url)]


__all__ = ["Judged", "judge_document", "stylesheet_loads"]
