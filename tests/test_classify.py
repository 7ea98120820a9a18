"""SPEC §2-§4 as tables, judged directly (no CLI): every row of the contexts table (§4.1 HTML, §4.2
CSS, §4.3 script), the potentially trustworthy URLs of §2 and the steps of §3.

Each case is a small snippet run through the extraction and ``classify.decide`` (or, where the page
matters, through ``judge.document.judge_document``, the one-document path every source uses), and
compared with expectations written from SPEC's text: the code, the exact source text of the reference,
the URL the browser requests, Fetch's destination and initiator. No expectation is computed by the
code under test. Every reference's span is checked against the stored bytes (SPEC §6: ``data[offset:
offset+length]`` decodes to ``raw``; ``line``/``column`` 1-based, code points, LF/CRLF/CR).

Deliberate readings that SPEC leaves open are NOTES.md's (favicons: item 3; preload with imagesrcset:
item 2; IPv4-mapped loopback: item 4; MC401 under upgrade-insecure-requests: item 5; meta refresh only
in srcdoc: item 8); the cases that depend on one say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from ada_url import URL

from mixedcontent.classify import decide
from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import decode_html, decode_xml
from mixedcontent.judge.document import judge_document
from mixedcontent.judge.findings import Policy
from mixedcontent.judge.stylesheets import StylesheetPhase
from mixedcontent.model import Applicability, Context, Document, DocumentKind, Finding, Reference, SheetPlace

PAGE = "https://example.invalid/dir/page.html"
HTTP_PAGE = "http://example.invalid/dir/page.html"
SHEET = "https://example.invalid/css/site.css"

if TYPE_CHECKING:
    from _pytest.mark import ParameterSet


# ---- expectations and the two ways of judging --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Hit:
    """One expected finding. ``url`` None: the URL is ``raw`` itself. ``element``, ``attribute``,
    ``context`` are checked only when given."""

    code: str
    raw: str
    destination: str | None
    initiator: str | None = ""
    url: str | None = None
    element: str | None = None
    attribute: str | None = None
    context: Context | None = None

    def core(self) -> tuple[str, str, str, str | None, str | None]:
        return (self.code, self.raw, self.url if self.url is not None else self.raw, self.destination,
                self.initiator)


def up(raw: str, destination: str = "image", **kw: Any) -> Hit:
    """Upgradable (§3 step 6): MC101."""
    return Hit("MC101", raw, destination, "", **kw)


def ip(raw: str, destination: str = "image", **kw: Any) -> Hit:
    """Would be upgradable, but the host is an IP literal (§3 step 6): MC104."""
    return Hit("MC104", raw, destination, "", **kw)


def blk(raw: str, destination: str, initiator: str = "", **kw: Any) -> Hit:
    """Blockable (§3 step 7): MC102."""
    return Hit("MC102", raw, destination, initiator, **kw)


def iset(raw: str, **kw: Any) -> Hit:
    """Image chosen through an image set (§3 step 7): MC103."""
    return Hit("MC103", raw, "image", "imageset", **kw)


def form(raw: str, **kw: Any) -> Hit:
    """Insecure form target (§4.1 form row): MC201, not a subresource request."""
    return Hit("MC201", raw, None, None, **kw)


def base(raw: str, **kw: Any) -> Hit:
    """http <base href> (§4.1 base row): MC105, no request."""
    return Hit("MC105", raw, None, None, **kw)


def lit(raw: str, **kw: Any) -> Hit:
    """http literal in script (§4.3): MC401, a heuristic, no request."""
    return Hit("MC401", raw, None, None, **kw)


def _check_span(data: bytes, start: int, end: int, raw: str, line: int | None, column: int | None) -> None:
    """SPEC §6: the span holds exactly ``raw``; line and column are 1-based, columns in code points."""
    assert data[start:end].decode("utf-8") == raw
    before = data[:start].decode("utf-8")
    lines = re.split(r"\r\n|\r|\n", before)
    assert (line, column) == (len(lines), len(lines[-1]) + 1)


def _refs(data: bytes, *, url: str, secure: bool, upgrade: bool, scripting: bool,
          xml: bool) -> list[Reference]:
    src = decode_xml(data) if xml else decode_html(data)
    refs = extract_html(src, PageContext(url, secure, upgrade, scripting), xml=xml).references
    for ref in refs:  # every reference, judged mixed or not
        _check_span(data, ref.span.start, ref.span.end, ref.raw, ref.span.line, ref.span.column)
    return refs


def judged(html: str, *, url: str = PAGE, secure: bool = True, upgrade: bool = False, scripting: bool = True,
           xml: bool = False) -> list[tuple[str, Reference]]:
    """extract_html + decide: (code, reference) for every reference that is mixed content, in order."""
    refs = _refs(html.encode("utf-8"), url=url, secure=secure, upgrade=upgrade, scripting=scripting, xml=xml)
    pairs = [(code, ref) for ref in refs if (code := decide(ref)) is not None]
    return sorted(pairs, key=lambda p: (p[1].span.start, p[0]))  # SPEC §6 order: by offset, then code


def _as_hit(code: str, raw: str, url: str | None, destination: str | None, initiator: str | None,
            element: str | None, attribute: str | None, context: Context) -> Hit:
    return Hit(code, raw, destination, initiator, url, element, attribute, context)


def assert_hits(actual: list[Hit], expected: list[Hit]) -> None:
    assert [a.core() for a in actual] == [e.core() for e in expected]
    for a, e in zip(actual, expected, strict=True):
        for name in ("element", "attribute", "context"):
            if getattr(e, name) is not None:
                assert getattr(a, name) == getattr(e, name), (name, e)


def hits_of_refs(pairs: list[tuple[str, Reference]]) -> list[Hit]:
    return [_as_hit(code, r.raw, r.url, r.destination, r.initiator, r.element, r.attribute, r.context)
            for code, r in pairs]


def hits_of_findings(findings: list[Finding], data: bytes) -> list[Hit]:
    out = []
    for f in findings:
        assert f.offset is not None and f.length is not None and f.raw is not None
        _check_span(data, f.offset, f.offset + f.length, f.raw, f.line, f.column)
        out.append(_as_hit(f.code, f.raw, f.url, f.destination, f.initiator, f.element, f.attribute,
                           f.context))
    return out


def document(html: str, *, url: str = PAGE, tls: bool = True, csp: str | None = None, scripting: bool = True,
             xml: bool = False) -> list[Finding]:
    """The whole one-document path (judge_document), as every source runs it."""
    kind = DocumentKind.XHTML if xml else DocumentKind.HTML
    doc = Document(html.encode("utf-8"), url, kind=kind, tls=tls, csp=csp, file="page.html")
    judged_doc, _ = judge_document(doc, Policy(), scripting=scripting)
    assert judged_doc.error is None
    return judged_doc.findings


def sheet(css: str, *, upgrade: bool = False) -> list[Finding]:
    """A stylesheet at SHEET loaded by one https page (upgrading insecure requests or not), judged by
    the stylesheet stage (NOTES.md item 6)."""
    phase = StylesheetPhase()
    place = SheetPlace("css/site.css", SHEET, file="css/site.css")
    assert phase.page_load(place, "dir/page.html", upgrade)
    phase.add(place.key, css.encode("utf-8"))
    findings, errors, keys = phase.finish(Policy())
    assert errors == [] and keys == ["css/site.css"]
    return findings


Row = tuple[str, str, list[Hit]]  # (case id, markup or CSS, expected findings in document order)


def row(case_id: str, html: str, *hits: Hit) -> Row:
    return (case_id, html, list(hits))


def params(rows: list[Row]) -> list[ParameterSet]:
    return [pytest.param(text, hits, id=case_id) for case_id, text, hits in rows]


# ---- SPEC §4.1: HTML contexts ------------------------------------------------------------------------------
# One block per row of the table, in the table's order. "fetched" rows also get https, protocol-relative
# and relative look-alikes (LOOKALIKES below); "not fetched" rows are their own passing cases.

C = "http://cdn.example/"

HTML_ROWS = [
    # | <img src> with no srcset attribute and parent not <picture> | image / "" | upgr. |
    row("img-src", f'<img src="{C}a.png">', up(f"{C}a.png", element="img", attribute="src")),
    row("img-src:unquoted-uppercase", f"<IMG SRC={C}a.png>", up(f"{C}a.png")),
    row("img-src:single-quoted", f"<img alt=x src='{C}a.png'>", up(f"{C}a.png")),
    row("img-src:image-is-img", f'<image src="{C}a.png">', up(f"{C}a.png", element="img")),
    row("img-src:after-picture", f'<picture></picture><img src="{C}a.png">', up(f"{C}a.png")),
    row("img-src:parent-is-div-in-picture", f'<picture><div><img src="{C}a.png"></div></picture>',
        up(f"{C}a.png")),
    row("img-src:parent-is-open-p-in-picture", f'<picture><p><img src="{C}a.png">', up(f"{C}a.png")),
    row("img-src:crossorigin", f'<img crossorigin src="{C}a.png">', up(f"{C}a.png")),
    # | <img src> when the img has a srcset attribute (even empty) or its parent is <picture> |
    #   image / imageset | MC103 |
    row("img-src-imageset:empty-srcset", f'<img srcset="" src="{C}a.png">',
        iset(f"{C}a.png", attribute="src")),
    row("img-src-imageset:valueless-srcset", f'<img srcset src="{C}a.png">', iset(f"{C}a.png")),
    row("img-src-imageset:https-srcset", f'<img src="{C}a.png" srcset="https://cdn.example/b.png 2x">',
        iset(f"{C}a.png")),
    row("img-src-imageset:picture-parent", f'<picture><img src="{C}a.png"></picture>', iset(f"{C}a.png")),
    row("img-src-imageset:picture-parent-after-source",
        '<picture><source srcset="https://cdn.example/a.webp"><img src="' + C + 'a.png"></picture>',
        iset(f"{C}a.png")),
    row("img-src-imageset:picture-parent-after-closed-span",
        f'<picture><span></span><img src="{C}a.png"></picture>', iset(f"{C}a.png")),
    row("img-src-imageset:picture-in-p", f'<p><picture><img src="{C}a.png"></picture></p>',
        iset(f"{C}a.png")),
    # | each candidate URL of <img srcset>, <source srcset> inside <picture> | image / imageset | MC103 |
    row("srcset:img", f'<img srcset="{C}a.png 1x, {C}b.png 2x">',
        iset(f"{C}a.png", attribute="srcset"), iset(f"{C}b.png", attribute="srcset")),
    row("srcset:img-with-src", f'<img src="{C}a.png" srcset="{C}b.png 2x">', iset(f"{C}a.png"),
        iset(f"{C}b.png")),
    row("srcset:picture-source", f'<picture><source srcset="{C}a.webp 1x, {C}b.webp 2x"></picture>',
        iset(f"{C}a.webp", element="source"), iset(f"{C}b.webp")),
    row("srcset:picture-source-and-img",
        f'<picture><source media="(min-width: 9em)" srcset="{C}w.png"><img src="{C}n.png"></picture>',
        iset(f"{C}w.png"), iset(f"{C}n.png")),
    row("srcset:source-outside-picture-not-fetched", f'<source srcset="{C}a.webp">'),
    row("srcset:source-in-video-not-fetched", f'<video><source srcset="{C}a.webp"></video>'),
    # | <video src>, <video poster>, <audio src>, <source src> inside <video>/<audio> |
    #   video, image, audio / "" | upgr. |
    row("media:video-src", f'<video src="{C}v.mp4"></video>', up(f"{C}v.mp4", "video")),
    row("media:video-poster", f'<video poster="{C}p.jpg"></video>',
        up(f"{C}p.jpg", "image", attribute="poster")),
    row("media:audio-src", f'<audio src="{C}a.mp3"></audio>', up(f"{C}a.mp3", "audio")),
    row("media:video-source", f'<video><source src="{C}v.webm"></video>', up(f"{C}v.webm", "video",
                                                                                element="source")),
    row("media:audio-source", f'<audio controls><source src="{C}a.ogg"></audio>', up(f"{C}a.ogg", "audio")),
    row("media:video-all", f'<video src="{C}v.mp4" poster="{C}p.jpg"><source src="{C}v.webm"></video>',
        up(f"{C}v.mp4", "video"), up(f"{C}p.jpg", "image"), up(f"{C}v.webm", "video")),
    row("media:source-in-div-in-video-not-fetched", f'<video><div><source src="{C}v.webm"></div></video>'),
    row("media:source-src-in-picture-not-fetched", f'<picture><source src="{C}v.webm"></picture>'),
    row("media:source-outside-media-not-fetched", f'<source src="{C}v.webm">'),
    # | <track src> | track | MC102 |
    row("track:video", f'<video><track kind=captions src="{C}t.vtt"></video>', blk(f"{C}t.vtt", "track")),
    row("track:audio-default", f'<audio><track default src="{C}t.vtt"></audio>', blk(f"{C}t.vtt", "track")),
    # | <input type=image src> | image / "" | upgr. |
    row("input-image", f'<input type=image src="{C}b.png">', up(f"{C}b.png", element="input")),
    row("input-image:uppercase-type", f'<input type="IMAGE" src="{C}b.png">', up(f"{C}b.png")),
    row("input-image:text-not-fetched", f'<input type=text src="{C}b.png">'),
    row("input-image:no-type-not-fetched", f'<input src="{C}b.png">'),
    row("input-image:charref-type", f'<input type="&#105;mage" src="{C}b.png">', up(f"{C}b.png")),
    # an enumerated attribute is not trimmed: " image " is an invalid type, so a text input
    row("input-image:padded-type-not-fetched", f'<input type=" image " src="{C}b.png">'),
    # | SVG <image href> / <image xlink:href>, SVG <feImage href> | image / "" | upgr. |
    row("svg-image:href", f'<svg><image href="{C}a.png"/></svg>', up(f"{C}a.png", element="image")),
    row("svg-image:xlink-href", f'<svg><image xlink:href="{C}a.png"/></svg>',
        up(f"{C}a.png", attribute="xlink:href")),
    row("svg-image:href-beats-xlink", f'<svg><image xlink:href="{C}x.png" href="{C}a.png"/></svg>',
        up(f"{C}a.png", attribute="href")),
    row("svg-image:feimage", f'<svg><filter><feImage href="{C}f.png"/></filter></svg>', up(f"{C}f.png")),
    row("svg-image:feimage-xlink", f'<svg><filter><feImage xlink:href="{C}f.png"/></filter></svg>',
        up(f"{C}f.png")),
    # | SVG <use href> pointing at an external document | image / "" | upgr. |
    row("svg-use:external", f'<svg><use href="{C}s.svg#i"/></svg>', up(f"{C}s.svg#i", element="use")),
    row("svg-use:xlink-external", f'<svg><use xlink:href="{C}s.svg#i"/></svg>', up(f"{C}s.svg#i")),
    row("svg-use:fragment-not-fetched", '<svg><use href="#icon"/></svg>'),
    # | <body/table/td/th background> | image (fetched as a CSS background) | upgr. |
    row("background:body", f'<body background="{C}bg.png">', up(f"{C}bg.png", element="body")),
    row("background:table", f'<table background="{C}bg.png"><tr><td>x</td></tr></table>', up(f"{C}bg.png")),
    row("background:td", f'<table><tr><td background="{C}bg.png">x</td></tr></table>', up(f"{C}bg.png")),
    row("background:th", f'<table><tr><th background="{C}bg.png">x</th></tr></table>', up(f"{C}bg.png")),
    row("background:div-not-fetched", f'<div background="{C}bg.png"></div>'),
    # | <script src> (classic, async, defer, module), SVG <script href> | script | MC102 |
    row("script:classic", f'<script src="{C}a.js"></script>', blk(f"{C}a.js", "script", element="script")),
    row("script:async", f'<script async src="{C}a.js"></script>', blk(f"{C}a.js", "script")),
    row("script:defer", f'<script defer src="{C}a.js"></script>', blk(f"{C}a.js", "script")),
    row("script:module", f'<script type=module src="{C}a.js"></script>', blk(f"{C}a.js", "script")),
    row("script:text-javascript", f'<script type="text/javascript" src="{C}a.js"></script>',
        blk(f"{C}a.js", "script")),
    row("script:empty-type", f'<script type="" src="{C}a.js"></script>', blk(f"{C}a.js", "script")),
    row("script:svg-href", f'<svg><script href="{C}a.js"/></svg>', blk(f"{C}a.js", "script")),
    row("script:svg-xlink-href", f'<svg><script xlink:href="{C}a.js"/></svg>', blk(f"{C}a.js", "script")),
    row("script:padded-type", f'<script type=" text/javascript " src="{C}a.js"></script>',
        blk(f"{C}a.js", "script")),
    row("script:language-javascript", f'<script language=javascript src="{C}a.js"></script>',
        blk(f"{C}a.js", "script")),
    # HTML §4.12.1 step 13: nomodule has no effect on a module script (Chromium fetches and runs it)
    row("script:module-with-nomodule", f'<script type=module nomodule src="{C}a.js"></script>',
        blk(f"{C}a.js", "script")),
    # | <script src> with nomodule, or whose type is neither a JavaScript MIME type nor module | — |
    #   not fetched |
    row("script-not-fetched:nomodule", f'<script nomodule src="{C}a.js"></script>'),
    row("script-not-fetched:template-type", f'<script type="text/template" src="{C}a.js"></script>'),
    row("script-not-fetched:nomodule-classic-type",
        f'<script type=text/javascript nomodule src="{C}a.js"></script>'),
    row("script-not-fetched:language-vbscript", f'<script language=vbscript src="{C}a.vbs"></script>'),
    row("script-not-fetched:ld-json", f'<script type="application/ld+json" src="{C}a.json"></script>'),
    # | <link rel=stylesheet href> (also alternate stylesheet, any media, in <body>) | style | MC102 |
    row("stylesheet", f'<link rel=stylesheet href="{C}a.css">', blk(f"{C}a.css", "style", element="link")),
    row("stylesheet:alternate", f'<link rel="alternate stylesheet" title=x href="{C}a.css">',
        blk(f"{C}a.css", "style")),
    row("stylesheet:media-print", f'<link rel=stylesheet media=print href="{C}a.css">',
        blk(f"{C}a.css", "style")),
    row("stylesheet:in-body", f'<body><p>x</p><link rel=stylesheet href="{C}a.css"></body>',
        blk(f"{C}a.css", "style")),
    row("stylesheet:uppercase-rel", f'<LINK REL=StyleSheet HREF="{C}a.css">', blk(f"{C}a.css", "style")),
    row("stylesheet:type-text-css", f'<link rel=stylesheet type="text/css" href="{C}a.css">',
        blk(f"{C}a.css", "style")),
    row("stylesheet:type-upper-case", f'<link rel=stylesheet type="TEXT/CSS" href="{C}a.css">',
        blk(f"{C}a.css", "style")),
    # | <link rel=stylesheet> with the disabled attribute or a type other than text/css | — | not fetched |
    row("stylesheet-not-fetched:disabled", f'<link rel=stylesheet disabled href="{C}a.css">'),
    row("stylesheet-not-fetched:type-less", f'<link rel=stylesheet type="text/less" href="{C}a.less">'),
    # | <link rel=icon href>, rel="shortcut icon" | image, Chromium's FAVICON context blocks it | MC102 |
    #   (NOTES.md item 3)
    row("icon", f'<link rel=icon href="{C}favicon.ico">', blk(f"{C}favicon.ico", "image")),
    row("icon:shortcut", f'<link rel="shortcut icon" href="{C}favicon.ico">',
        blk(f"{C}favicon.ico", "image")),
    row("icon:upper-case", f'<link rel=ICON href="{C}favicon.ico">', blk(f"{C}favicon.ico", "image")),
    row("icon:sizes", f'<link rel=icon sizes=32x32 type=image/png href="{C}i.png">',
        blk(f"{C}i.png", "image")),
    # | <link rel=apple-touch-icon / mask-icon> | not fetched by a page load | not fetched |
    row("icon-not-fetched:apple-touch-icon", f'<link rel=apple-touch-icon href="{C}t.png">'),
    row("icon-not-fetched:mask-icon", f'<link rel=mask-icon href="{C}m.svg" color=black>'),
    # | <link rel=preload as=image href> (imagesrcset candidates: imageset → MC103) | image / "" | upgr. |
    row("preload-image", f'<link rel=preload as=image href="{C}a.png">', up(f"{C}a.png")),
    row("preload-image:upper-case-as", f'<link rel=PRELOAD as=IMAGE href="{C}a.png">', up(f"{C}a.png")),
    row("preload-image:imagesrcset", f'<link rel=preload as=image imagesrcset="{C}a.png 1x, {C}b.png 2x">',
        iset(f"{C}a.png", attribute="imagesrcset"), iset(f"{C}b.png")),
    # NOTES.md item 2: with imagesrcset the href is chosen through the set too
    row("preload-image:href-with-imagesrcset",
        f'<link rel=preload as=image href="{C}a.png" imagesrcset="{C}b.png 2x">',
        iset(f"{C}a.png", attribute="href"), iset(f"{C}b.png")),
    # | <link rel=preload as=style/script/font/fetch/track href>, <link rel=modulepreload> | style, script,
    #   font, "", track | MC102 |
    row("preload:style", f'<link rel=preload as=style href="{C}a.css">', blk(f"{C}a.css", "style")),
    row("preload:script", f'<link rel=preload as=script href="{C}a.js">', blk(f"{C}a.js", "script")),
    row("preload:font", f'<link rel=preload as=font crossorigin href="{C}a.woff2">',
        blk(f"{C}a.woff2", "font")),
    row("preload:fetch", f'<link rel=preload as=fetch href="{C}a.json">', blk(f"{C}a.json", "")),
    row("preload:track", f'<link rel=preload as=track href="{C}a.vtt">', blk(f"{C}a.vtt", "track")),
    row("modulepreload", f'<link rel=modulepreload href="{C}m.js">', blk(f"{C}m.js", "script")),
    # | <link rel=preload> without as or with an unsupported as (video, audio, document) | — | not fetched |
    row("preload-not-fetched:no-as", f'<link rel=preload href="{C}a.mp4">'),
    row("preload-not-fetched:video", f'<link rel=preload as=video href="{C}a.mp4">'),
    row("preload-not-fetched:audio", f'<link rel=preload as=audio href="{C}a.mp3">'),
    row("preload-not-fetched:document", f'<link rel=preload as=document href="{C}a.html">'),
    row("preload-not-fetched:padded-as", f'<link rel=preload as=" script " href="{C}a.js">'),
    # | <link rel=prefetch>, <link rel=manifest> | "" / prefetch, manifest | MC102 |
    row("prefetch", f'<link rel=prefetch href="{C}next.html">', blk(f"{C}next.html", "", "prefetch")),
    row("manifest", f'<link rel=manifest href="{C}site.webmanifest">',
        blk(f"{C}site.webmanifest", "manifest")),
    # | <iframe src>, <frame src> | iframe, frame | MC102 |
    row("iframe", f'<iframe src="{C}w.html"></iframe>', blk(f"{C}w.html", "iframe")),
    row("frame", f'<frameset><frame src="{C}f.html"></frameset>', blk(f"{C}f.html", "frame")),
    # | <object data>, <embed src> | object, embed | MC102 |
    row("object", f'<object data="{C}a.svg"></object>', blk(f"{C}a.svg", "object")),
    row("embed", f'<embed src="{C}a.swf">', blk(f"{C}a.swf", "embed")),
    # | <a ping>, <area ping> (each space-separated URL) | "" | MC102 |
    row("ping:a", f'<a href="/x" ping="{C}p1 {C}p2">x</a>',
        blk(f"{C}p1", "", attribute="ping"), blk(f"{C}p2", "")),
    row("ping:a-one-https", f'<a href="/x" ping="https://cdn.example/p1\t{C}p2">x</a>', blk(f"{C}p2", "")),
    row("ping:area", f'<map name=m><area href="/x" ping="{C}p"></map>', blk(f"{C}p", "", element="area")),
    # | <form action> (GET or POST), <button formaction>, <input formaction> | navigation | MC201 |
    row("form:post", f'<form method=post action="{C}post"></form>', form(f"{C}post", element="form")),
    row("form:get", f'<form action="{C}search"></form>', form(f"{C}search")),
    row("form:button-formaction", f'<form><button formaction="{C}p">go</button></form>',
        form(f"{C}p", element="button", attribute="formaction")),
    row("form:input-submit-formaction", f'<form><input type=submit formaction="{C}p"></form>', form(f"{C}p")),
    row("form:input-image-formaction", f'<form><input type=image src="https://cdn.example/b.png" '
                                       f'formaction="{C}p"></form>', form(f"{C}p")),
    row("form:empty-action-not-mixed", '<form action=""></form>'),
    row("form:dialog-not-submitted", f'<form method=dialog action="{C}post"></form>'),
    row("form:padded-dialog-is-get", f'<form method=" dialog " action="{C}post"></form>', form(f"{C}post")),
    row("form:button-type-button-not-submitting",
        f'<form><button type=button formaction="{C}p">b</button></form>'),
    row("form:button-type-reset-not-submitting",
        f'<form><button type=RESET formaction="{C}p">b</button></form>'),
    row("form:button-padded-type-is-submit",
        f'<form><button type=" button " formaction="{C}p">b</button></form>', form(f"{C}p")),
    row("form:input-text-formaction-unused", f'<form><input type=text formaction="{C}p"></form>'),
    # | <base href="http://…"> | no request | MC105 on the base, relative references judged by their own row |
    row("base", '<head><base href="http://old.example/"></head><img src="a.png"><script src="s.js"></script>'
                '<img src="//cdn.example/b.png"><a href="nav.html">n</a>',
        base("http://old.example/", element="base"), up("a.png", url="http://old.example/a.png"),
        blk("s.js", "script", url="http://old.example/s.js"), up("//cdn.example/b.png", url=f"{C}b.png")),
    row("base:relative-srcset", '<base href="http://old.example/d/"><img srcset="a.png 1x, /b.png 2x">',
        base("http://old.example/d/"), iset("a.png", url="http://old.example/d/a.png"),
        iset("/b.png", url="http://old.example/b.png")),
    row("base:inline-css", '<base href="http://old.example/"><style>p{background:url(bg.png)}</style>'
                           '<p style="background-image:url(x.png)">',
        base("http://old.example/"), up("bg.png", url="http://old.example/bg.png",
             context=Context.STYLE_ELEMENT),
        up("x.png", url="http://old.example/x.png", context=Context.STYLE_ATTRIBUTE)),
    row("base:first-with-href-counts", '<base target=_blank><base href="http://old.example/">'
                                       '<base href="https://ok.example/"><img src=a.png>',
        base("http://old.example/"), up("a.png", url="http://old.example/a.png")),
    row("base:https-not-mixed",
        '<base href="https://ok.example/"><base href="http://old.example/"><img src=a.png>'),
    row("base:protocol-relative-not-mixed", '<base href="//old.example/"><img src=a.png>'),
    row("base:unparseable-ignored", '<base href="http://[oops/"><img src=a.png>'),
    # | <iframe srcdoc="…"> | nested document, its parent's https-ness and CSP | scan its markup; spans in the
    #   attribute |
    row("srcdoc", '<iframe srcdoc="<img src=&quot;' + C + 'a.png&quot;><script src=' + C + 's.js></script>">'
                  '</iframe>',
        up(f"{C}a.png", context=Context.SRCDOC), blk(f"{C}s.js", "script", context=Context.SRCDOC)),
    row("srcdoc:single-quoted", f"<iframe srcdoc='<p><img src=\"{C}a.png\"></p>'></iframe>",
        up(f"{C}a.png", context=Context.SRCDOC)),
    row("srcdoc:entity-in-url", '<iframe srcdoc="<img src=' + C + 'a.png?x=1&amp;amp;y=2>"></iframe>',
        up(f"{C}a.png?x=1&amp;amp;y=2", url=f"{C}a.png?x=1&y=2")),
    row("srcdoc:nested", '<iframe srcdoc="<iframe srcdoc=&quot;<img src=' + C + 'a.png>&quot;></iframe>">'
                         '</iframe>', up(f"{C}a.png", context=Context.SRCDOC)),
    row("srcdoc:wins-over-src", f'<iframe srcdoc="<p>x</p>" src="{C}w.html"></iframe>'),
    row("srcdoc:relative-uses-parent-base",
        '<base href="http://old.example/"><iframe srcdoc="<img src=a.png>">'
                                            '</iframe>',
        base("http://old.example/"), up("a.png", url="http://old.example/a.png", context=Context.SRCDOC)),
    # | <meta http-equiv=refresh content="0;url=http://…"> inside a nested document (srcdoc) |
    #   iframe navigation | MC102 |
    row("refresh:srcdoc", '<iframe srcdoc="<meta http-equiv=refresh content=\'0; url=' + C + 'r.html\'>">'
                          '</iframe>', blk(f"{C}r.html", "iframe", context=Context.SRCDOC)),
    row("refresh:srcdoc-no-url", '<iframe srcdoc="<meta http-equiv=refresh content=5>"></iframe>'),
    row("refresh:srcdoc-padded-http-equiv-is-no-pragma", '<iframe srcdoc="<meta http-equiv=\' refresh \' '
        'content=\'0; url=' + C + 'r.html\'>"></iframe>'),
    row("refresh:srcdoc-quoted-url", '<iframe srcdoc="<meta http-equiv=Refresh content=&quot;5;URL=\'' + C
        + 'r.html\'&quot;>"></iframe>', blk(f"{C}r.html", "iframe")),
    # | <a href>, <area href>, <link rel=canonical/alternate/...>, <meta http-equiv=refresh> in a top-level
    #   page,
    #   <q cite>, <blockquote cite>, <html xmlns>, itemtype, itemid, og:image, <a download> | not fetched |
    row("navigation:a-href", f'<a href="{C}page.html">x</a>'),
    row("navigation:a-download", f'<a download href="{C}file.zip">x</a>'),
    row("navigation:area-href", f'<map name=m><area shape=rect coords="0,0,1,1" href="{C}page.html"></map>'),
    *[row(f"navigation:link-{rel}", f'<link rel={rel} href="{C}x">')
      for rel in ("canonical", "alternate", "next", "prev", "author", "license", "shortlink", "dns-prefetch",
                  "preconnect", "search", "me")],
    row("navigation:link-alternate-feed",
        f'<link rel=alternate type=application/rss+xml href="{C}feed.xml">'),
    row("navigation:meta-refresh-top-level", f'<meta http-equiv=refresh content="0; url={C}r.html">'),
    row("navigation:q-cite", f'<q cite="{C}src">q</q>'),
    row("navigation:blockquote-cite", f'<blockquote cite="{C}src">b</blockquote>'),
    row("navigation:html-xmlns", '<html xmlns="http://www.w3.org/1999/xhtml"><p>x</p></html>'),
    row("navigation:itemtype-itemid",
        f'<div itemscope itemtype="http://schema.org/Thing" itemid="{C}id">x</div>'),
    row("navigation:og-image", f'<meta property="og:image" content="{C}og.png">'),
    # | hidden content is live: display:none, hidden, lazy-loaded, fallback children of <object> | own row |
    row("live:display-none", f'<div style="display:none"><img src="{C}a.png"></div>', up(f"{C}a.png")),
    row("live:hidden", f'<img hidden src="{C}a.png">', up(f"{C}a.png")),
    row("live:lazy", f'<img loading=lazy src="{C}a.png">', up(f"{C}a.png")),
    row("live:object-fallback", f'<object data="https://cdn.example/a.svg"><img src="{C}a.png"></object>',
        up(f"{C}a.png")),
    row("live:details", f'<details><summary>s</summary><script src="{C}a.js"></script></details>',
        blk(f"{C}a.js", "script")),
    row("live:pre-tags", f'<pre><code><img src="{C}a.png"></code></pre>', up(f"{C}a.png")),
    # | comments, <template>, <textarea>/<title> text, plain text (also <pre>/<code>), <noscript>, unknown
    #   attributes (data-src, data-background) | inert | not fetched |
    row("inert:comment", f'<!-- <img src="{C}a.png"> -->'),
    row("inert:template", f'<template><img src="{C}a.png"><script src="{C}a.js"></script></template>'),
    row("inert:nested-template", f'<template><template></template><img src="{C}a.png"></template>'),
    row("inert:textarea", f'<textarea><img src="{C}a.png"></textarea>'),
    row("inert:title", f'<title><img src="{C}a.png"></title>'),
    row("inert:plain-text", f'<p>see {C}a.png</p>'),
    row("inert:pre-code-text", f'<pre><code>&lt;img src="{C}a.png"&gt; {C}b.png</code></pre>'),
    row("inert:noscript", f'<noscript><img src="{C}a.png"></noscript>'),
    row("inert:data-src", f'<img data-src="{C}a.png" data-background="{C}b.png">'),
    row("inert:attribute-value-text", f'<div title="<img src={C}a.png>"></div>'),
    row("inert:plaintext", f'<plaintext><img src="{C}a.png">'),
    row("inert:unterminated-tag", f'<img src="{C}a.png"'),
]

# HTML parsing rules that matter (under §4.1): each is a case of its own
PARSING_ROWS = [
    row("parse:duplicate-attribute-first-wins", f'<img src="https://cdn.example/a.png" src="{C}b.png">'),
    row("parse:duplicate-attribute-first-wins-http", f'<img src="{C}b.png" src="https://cdn.example/a.png">',
        up(f"{C}b.png")),
    *[row(f"parse:raw-text-{name}", f'<{name}><img src="{C}a.png"></{name}>')
      for name in ("style", "xmp", "iframe", "noembed", "noframes", "textarea", "title")],
    # (script text is raw text too: the quoted URL in it is only a §4.3 literal)
    row("parse:raw-text-script", f'<script><img src="{C}a.png"></script>', lit(f"{C}a.png")),
    row("parse:after-raw-text-is-live", f'<xmp><img src=x></xmp><img src="{C}a.png">', up(f"{C}a.png")),
    row("parse:svg-cdata-is-text", f'<svg><![CDATA[ <image href="{C}a.png"/> ]]></svg>'),
    row("parse:cdata-outside-foreign-is-bogus-comment", f'<![CDATA[ x ]]><img src="{C}a.png">',
        up(f"{C}a.png")),
    row("parse:image-in-svg-is-svg-image", f'<svg><image src="{C}a.png"/></svg>'),
    row("parse:breakout-from-svg", f'<svg><p><img src="{C}a.png"></svg>', up(f"{C}a.png")),
    row("parse:svg-foreignobject-is-html", f'<svg><foreignObject><img src="{C}a.png"></foreignObject></svg>',
        up(f"{C}a.png")),
    row("parse:math-text-integration-point", f'<math><mi><img src="{C}a.png"></mi></math>', up(f"{C}a.png")),
    row("parse:slash-between-attributes", f'<img/src="{C}a.png">', up(f"{C}a.png")),
    row("parse:whitespace-around-equals", f'<img src\n=\n"{C}a.png">', up(f"{C}a.png")),
    row("parse:svg-style-cdata", f'<svg><style><![CDATA[ .a{{filter:url({C}f.svg#g)}} ]]></style></svg>',
        up(f"{C}f.svg#g", context=Context.STYLE_ELEMENT)),
]


# ---- §4.3 script (heuristic) -------------------------------------------------------------------------------

SCRIPT_ROWS = [
    row("literal:inline-script", '<script>fetch("http://api.example/v1")</script>',
        lit("http://api.example/v1", context=Context.SCRIPT)),
    row("literal:module", '<script type=module>import x from "http://cdn.example/m.js"</script>',
        lit("http://cdn.example/m.js")),
    row("literal:onclick", '<button onclick="load(\'http://api.example/x\')">b</button>',
        lit("http://api.example/x", element="button", attribute="onclick")),
    row("literal:not-a-script-type",
        '<script type="application/ld+json">{"url": "http://example.invalid/"}</script>'),
    row("literal:external-script-text-ignored",
        '<script src="https://cdn.example/a.js">"http://api.example/"</script>'),
    row("literal:in-template", '<template><script>fetch("http://api.example/v1")</script></template>'),
]


# ---- §3 "URL spelling": http URLs however they are written -------------------------------------------------

SPELLINGS = [
    ("upper-case-scheme-and-host", "HTTP://CDN.EXAMPLE/a.png", f"{C}a.png"),
    ("mixed-case-scheme", "Http://Cdn.Example/a.png", f"{C}a.png"),
    ("charref-decimal", "&#104;ttp://cdn.example/a.png", f"{C}a.png"),
    ("charref-hex", "&#x68;ttp://cdn.example/a.png", f"{C}a.png"),
    ("charref-colon", "http&#58;//cdn.example/a.png", f"{C}a.png"),
    ("charref-named-colon", "http&colon;//cdn.example/a.png", f"{C}a.png"),
    ("charref-named-sol", "http:&sol;&sol;cdn.example/a.png", f"{C}a.png"),
    ("charref-in-host", "http://cdn&period;example/a.png", f"{C}a.png"),
    ("charref-amp-in-query", "http://cdn.example/a.png?x=1&amp;y=2", f"{C}a.png?x=1&y=2"),
    # HTML §13.2.5.73: in an attribute, a legacy named reference followed by "=" or an alphanumeric is text
    ("legacy-charref-before-equals-kept", "http://cdn.example/a.png?x=1&copy=2", f"{C}a.png?x=1&copy=2"),
    ("legacy-charref-before-letter-kept", "http://cdn.example/a.png?q=&ltb", f"{C}a.png?q=&ltb"),
    ("legacy-charref-decoded", "http://cdn.example/a.png?q=&lt.", f"{C}a.png?q=%3C."),
    ("tab-in-scheme", "ht\ttp://cdn.example/a.png", f"{C}a.png"),
    ("newline-in-host", "http://cdn.exa\nmple/a.png", f"{C}a.png"),
    ("crlf-in-path", "http://cdn.example/a\r\n.png", f"{C}a.png"),
    ("charref-tab-in-scheme", "htt&Tab;p://cdn.example/a.png", f"{C}a.png"),
    ("backslashes", "http:\\\\cdn.example\\a.png", f"{C}a.png"),
    ("slash-backslash", "http:/\\cdn.example/a.png", f"{C}a.png"),
    ("missing-slashes", "http:cdn.example/a.png", f"{C}a.png"),
    ("single-slash", "http:/cdn.example/a.png", f"{C}a.png"),
    ("three-slashes", "http:///cdn.example/a.png", f"{C}a.png"),
    ("userinfo", "http://user:pw@cdn.example/a.png", "http://user:pw@cdn.example/a.png"),
    ("username-only", "http://user@cdn.example/a.png", "http://user@cdn.example/a.png"),
    ("empty-userinfo", "http://@cdn.example/a.png", f"{C}a.png"),
    ("default-port", "http://cdn.example:80/a.png", f"{C}a.png"),
    ("other-port", "http://cdn.example:8080/a.png", "http://cdn.example:8080/a.png"),
]


@pytest.mark.parametrize("raw,url", [pytest.param(r, u, id=i) for i, r, u in SPELLINGS])
def test_url_spellings_are_http(raw: str, url: str) -> None:
    """§3 URL spelling: all of these are http URLs that browsers fetch, upgraded for an <img>."""
    assert_hits(hits_of_refs(judged(f'<img src="{raw}">')), [up(raw, url=url)])


@pytest.mark.parametrize("raw,url", [pytest.param(r, u, id=i) for i, r, u in SPELLINGS])
def test_url_spellings_are_http_for_blockable_rows(raw: str, url: str) -> None:
    assert_hits(hits_of_refs(judged(f"<script src='{raw}'></script>")), [blk(raw, "script", url=url)])


@pytest.mark.parametrize("value,raw", [
    pytest.param("  http://cdn.example/a.png\n\t", "http://cdn.example/a.png", id="surrounding-whitespace"),
    pytest.param("&#32;http://cdn.example/a.png&#10;", "http://cdn.example/a.png",
                 id="surrounding-charref-space"),
    pytest.param("\r\nhttp://cdn.example/a.png ", "http://cdn.example/a.png", id="leading-crlf"),
])
def test_surrounding_whitespace_is_not_part_of_the_reference(value: str, raw: str) -> None:
    """§3 step 1: leading and trailing ASCII whitespace is stripped (after character references)."""
    assert_hits(hits_of_refs(judged(f'<p>\n<img src="{value}">')), [up(raw, url=raw)])


@pytest.mark.parametrize("value", [
    pytest.param("http://[oops/a.png", id="bad-ipv6"),
    pytest.param("http://exa mple/a.png", id="space-in-host"),
    pytest.param("http://", id="no-host"),
    pytest.param("http://cdn.example:99999/a.png", id="port-out-of-range"),
    pytest.param("http://cdn.example:8o/a.png", id="port-not-a-number"),
])
def test_unparseable_urls_report_nothing(value: str) -> None:
    """§3 step 1: a URL that fails to parse is not fetched."""
    assert judged(f'<img src="{value}"><script src="{value}"></script>') == []


@pytest.mark.parametrize("value", [pytest.param("", id="empty"), pytest.param(" \n", id="whitespace")])
@pytest.mark.parametrize("html", [pytest.param(h, id=i) for i, h in [
    ("img", '<img src="{}">'), ("img-imageset", '<img srcset="" src="{}">'),
    ("script", '<script src="{}"></script>'),
    ("stylesheet", '<link rel=stylesheet href="{}">'), ("icon", '<link rel=icon href="{}">'),
    ("preload-image", '<link rel=preload as=image href="{}">'),
    ("preload-script", '<link rel=preload as=script href="{}">'), ("iframe", '<iframe src="{}"></iframe>'),
    ("video-poster", '<video src="{}" poster="{}"></video>'), ("source", '<video><source src="{}"></video>'),
    ("audio-track", '<audio src="{}"><track src="{}"></audio>'), ("object", '<object data="{}"></object>'),
    ("embed", '<embed src="{}">'), ("input-image", '<input type=image src="{}">'),
    ("background", '<body background="{}">'), ("svg", '<svg><image href="{}"/></svg>'),
]])
def test_empty_url_attributes_fetch_nothing(html: str, value: str, request: pytest.FixtureRequest) -> None:
    """HTML's fetch steps for each of these stop at an empty URL: nothing is requested, so nothing
    resolves to the base or page URL. Judged where a relative URL would be http: under an http <base>
    and on an http page judged as https (--assume-https). An all-whitespace value also fetches nothing,
    except where Chromium parses it to the base URL (media src, <source src>, <link rel=icon>:
    measured in Chromium by tests/extract/test_empty_values_chromium.py)."""
    row = request.node.callspec.id.rsplit("-", 1)[0]
    if value.strip() == "" and value and row in ("icon", "video-poster", "source", "audio-track"):
        under_base = judged('<base href="http://old.example/">' + html.replace("{}", value))
        assert "http://old.example/" in [h.url for h in hits_of_refs(under_base) if h.code != "MC105"]
        return
    markup = html.replace("{}", value)
    under_base = judged('<base href="http://old.example/">' + markup)
    assert_hits(hits_of_refs(under_base), [base("http://old.example/")])
    assert judged(markup, url=HTTP_PAGE) == []
    assert document(markup, url=HTTP_PAGE) == []


def test_a_fragment_or_query_alone_is_fetched() -> None:
    """Unlike an empty URL, "#" and "?x" are URLs: they resolve against the base and are fetched."""
    assert_hits(hits_of_refs(judged('<img src="#"><img src="?x">', url=HTTP_PAGE)),
                [up("#", url=f"{HTTP_PAGE}#"), up("?x", url=f"{HTTP_PAGE}?x")])


# ---- §3 "Ports": the fix keeps a non-default port; 80 becomes 443 ------------------------------------------

@pytest.mark.parametrize("raw,url,twin", [
    pytest.param("http://cdn.example:80/a.png", f"{C}a.png", "https://cdn.example/a.png", id="port-80"),
    pytest.param("HTTP://cdn.example:80/a.png", f"{C}a.png", "https://cdn.example/a.png", id="port-80-upper"),
    pytest.param("http://cdn.example:0080/a.png", f"{C}a.png", "https://cdn.example/a.png", id="port-0080"),
    pytest.param("http://cdn.example:8080/a.png", "http://cdn.example:8080/a.png",
                 "https://cdn.example:8080/a.png", id="port-8080-kept"),
    pytest.param("http://cdn.example:443/a.png", "http://cdn.example:443/a.png", "https://cdn.example/a.png",
                 id="port-443-kept"),
    pytest.param("http://cdn.example/a.png", f"{C}a.png", "https://cdn.example/a.png", id="no-port"),
])
def test_fix_targets_the_https_twin(raw: str, url: str, twin: str) -> None:
    """§3 Ports / §8 https twin: the replacement text resolves to the twin (port 80 → 443, others kept)."""
    html = f'<img src="{raw}">'
    findings = document(html)
    assert_hits(hits_of_findings(findings, html.encode()), [up(raw, url=url)])
    fix = findings[0].fix
    assert fix is not None and fix.applicability is not Applicability.SAFE
    again = judged(f'<img src="{fix.replacement}">', secure=True)
    assert again == []  # the replacement is no longer http ...
    assert URL(fix.replacement, PAGE).href == twin  # ... and is the twin (a WHATWG parser's reading)


# ---- srcset comma rules (§3: a comma inside a srcset URL belongs to the URL) -------------------------------

@pytest.mark.parametrize("value,raws", [
    pytest.param(f"{C}a,b.png 1x, {C}c.png 2x", [f"{C}a,b.png", f"{C}c.png"], id="comma-inside-url"),
    pytest.param(f"{C}a.png,, {C}b.png", [f"{C}a.png", f"{C}b.png"], id="trailing-commas-end-url"),
    pytest.param(f"{C}a.png,{C}b.png", [f"{C}a.png,{C}b.png"], id="no-space-one-url"),
    pytest.param(f" , ,{C}a.png 1x", [f"{C}a.png"], id="leading-commas"),
    pytest.param(f"{C}a.png 1x,{C}b.png 2x", [f"{C}a.png", f"{C}b.png"], id="descriptor-comma"),
    pytest.param(f"{C}a.png 100w,\n{C}b.png 200w", [f"{C}a.png", f"{C}b.png"], id="width-descriptors"),
    pytest.param(f"{C}a.png (x, y) 1x, {C}b.png", [f"{C}a.png", f"{C}b.png"], id="comma-in-parens"),
    pytest.param(f"data:image/png;base64,AAAA 1x, {C}b.png 2x", [f"{C}b.png"], id="data-url-comma"),
    pytest.param(f"https://cdn.example/a.png 1x, {C}b.png 2x", [f"{C}b.png"], id="https-candidate"),
    pytest.param(f"{C}a.png", [f"{C}a.png"], id="single-no-descriptor"),
])
@pytest.mark.parametrize("where", ["img", "picture-source", "preload"])
def test_srcset_candidates(value: str, raws: list[str], where: str) -> None:
    html = {"img": f'<img srcset="{value}">',
            "picture-source": f'<picture><source srcset="{value}"></picture>',
            "preload": f'<link rel=preload as=image imagesrcset="{value}">'}[where]
    assert_hits(hits_of_refs(judged(html)), [iset(r) for r in raws])


# ---- §2: potentially trustworthy URLs are never mixed ------------------------------------------------------

TRUSTWORTHY = [
    ("https", "https://cdn.example/a.png"),
    ("https-upper-case", "HTTPS://CDN.EXAMPLE/a.png"),
    ("protocol-relative", "//cdn.example/a.png"),
    ("relative", "a.png"),
    ("root-relative", "/a.png"),
    ("data", "data:image/png;base64,AAAA"),
    ("blob", "blob:https://example.invalid/0b1f6a"),
    ("file", "file:///tmp/a.png"),
    ("about-blank", "about:blank"),
    ("about-srcdoc", "about:srcdoc"),
    ("wss", "wss://cdn.example/a"),
    ("loopback-dotted", "http://127.0.0.1/a.png"),
    ("loopback-short", "http://127.1/a.png"),
    ("loopback-other", "http://127.255.255.254/a.png"),
    ("loopback-hex", "http://0x7f.1/a.png"),
    ("loopback-decimal", "http://2130706433/a.png"),
    ("loopback-octal", "http://0177.0.0.1/a.png"),
    ("loopback-port", "http://127.0.0.1:8080/a.png"),
    ("loopback-trailing-dot", "http://127.0.0.1./a.png"),
    ("ipv6-loopback", "http://[::1]/a.png"),
    ("ipv6-loopback-long", "http://[0:0:0:0:0:0:0:1]:8080/a.png"),
    ("localhost", "http://localhost/a.png"),
    ("localhost-upper", "http://LOCALHOST/a.png"),
    ("localhost-dot", "http://localhost./a.png"),
    ("localhost-dot-upper-port", "http://LOCALHOST.:8080/a.png"),
    ("sub-localhost", "http://app.localhost/a.png"),
    ("sub-localhost-dot", "http://app.localhost./a.png"),
    ("sub-localhost-mixed-case", "http://A.LocalHost/a.png"),
    # other schemes are never fetched as subresources
    ("javascript", "javascript:void(0)"),
    ("mailto", "mailto:x@example.invalid"),
    ("tel", "tel:+15550100"),
    ("ftp", "ftp://cdn.example/a.png"),
    ("custom", "web+thing:x"),
]


@pytest.mark.parametrize("url", [pytest.param(u, id=i) for i, u in TRUSTWORTHY])
def test_potentially_trustworthy_urls_are_never_mixed(url: str) -> None:
    """In an upgradable, a blockable, an image-set, a frame and a CSS context alike."""
    for html in (f'<img src="{url}">', f'<script src="{url}"></script>', f'<img srcset="{url} 1x">',
                 f'<iframe src="{url}"></iframe>', f'<p style="background:url(\'{url}\')">'):
        assert judged(html) == [], html


@pytest.mark.parametrize("url", [
    pytest.param("http://localhost.example/a.png", id="localhost-as-label"),
    pytest.param("http://notlocalhost/a.png", id="localhost-suffix-without-dot"),
    pytest.param("http://localhostx/a.png", id="localhost-prefix"),
    pytest.param("http://127.0.0.1.example/a.png", id="loopback-like-domain"),
])
def test_look_alikes_of_trustworthy_hosts_are_mixed(url: str) -> None:
    assert_hits(hits_of_refs(judged(f'<img src="{url}">')), [up(url)])


# ---- §3 step 6: IP literal hosts are never upgraded (MC104) ------------------------------------------------

IP_LITERALS = [
    ("dotted", "http://192.0.2.7/a.png", "http://192.0.2.7/a.png"),
    ("dotted-port", "http://198.51.100.7:8080/a.png", "http://198.51.100.7:8080/a.png"),
    ("decimal", "http://3221225991/a.png", "http://192.0.2.7/a.png"),
    ("hex", "http://0xC0000207/a.png", "http://192.0.2.7/a.png"),
    ("hex-parts", "http://0xc0.0x0.0x2.0x7/a.png", "http://192.0.2.7/a.png"),
    ("hex-upper-x", "http://0XC0.0.2.7/a.png", "http://192.0.2.7/a.png"),
    ("trailing-dot", "http://192.0.2.7./a.png", "http://192.0.2.7/a.png"),
    ("octal-parts", "http://0300.0.02.07/a.png", "http://192.0.2.7/a.png"),
    ("octal", "http://030000001007/a.png", "http://192.0.2.7/a.png"),
    ("two-parts-short", "http://192.0.519/a.png", "http://192.0.2.7/a.png"),
    ("ipv6", "http://[2001:db8::7]/a.png", "http://[2001:db8::7]/a.png"),
    ("ipv6-long-upper", "http://[2001:DB8:0:0:0:0:0:7]/a.png", "http://[2001:db8::7]/a.png"),
    ("ipv6-embedded-ipv4", "http://[2001:db8::192.0.2.7]/a.png", "http://[2001:db8::c000:207]/a.png"),
    # NOTES.md item 4: IPv4-mapped loopback is an IP literal, not potentially trustworthy
    ("ipv4-mapped-loopback", "http://[::ffff:127.0.0.1]/a.png", "http://[::ffff:7f00:1]/a.png"),
]


@pytest.mark.parametrize("raw,url", [pytest.param(r, u, id=i) for i, r, u in IP_LITERALS])
def test_ip_literals_are_never_upgraded(raw: str, url: str) -> None:
    html = (f'<img src="{raw}"><video src="{raw}" poster="{raw}"></video><audio src="{raw}"></audio>'
            f'<input type=image src="{raw}"><svg><image href="{raw}"/></svg><body background="{raw}">'
            f'<link rel=preload as=image href="{raw}"><p style="background:url({raw})">')
    assert_hits(hits_of_refs(judged(html)), [
        ip(raw, url=url), ip(raw, "video", url=url), ip(raw, url=url), ip(raw, "audio", url=url), ip(raw,
           url=url),
        ip(raw, url=url), ip(raw, url=url), ip(raw, url=url), ip(raw, url=url,
           context=Context.STYLE_ATTRIBUTE)])


@pytest.mark.parametrize("raw,url", [pytest.param(r, u, id=i) for i, r, u in IP_LITERALS])
def test_ip_literals_in_blockable_rows_keep_their_code(raw: str, url: str) -> None:
    """Step 6 applies only to upgradable requests: an image set is MC103, a script MC102, a favicon MC102."""
    html = (f'<img srcset="" src="{raw}"><img srcset="{raw} 2x"><script src="{raw}"></script>'
            f'<link rel=icon href="{raw}">')
    assert_hits(hits_of_refs(judged(html)),
                [iset(raw, url=url), iset(raw, url=url), blk(raw, "script", url=url),
                                             blk(raw, "image", url=url)])


# ---- §3 steps 2 and 4: the page (judge_document, the one-document path) ------------------------------------

MIXED_PAGE = (f'<html><head><link rel=stylesheet href="{C}a.css"></head><body><img src="{C}a.png">'
              f'<form action="{C}post"></form><script>fetch("http://api.example/v1")</script>'
              f'<iframe srcdoc="<img src={C}s.png>"></iframe></body></html>')
MIXED_HITS = [blk(f"{C}a.css", "style"), up(f"{C}a.png"), form(f"{C}post"), lit("http://api.example/v1"),
              up(f"{C}s.png", context=Context.SRCDOC)]
CSP_META = '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'


def test_the_mixed_page_as_a_baseline() -> None:
    assert_hits(hits_of_findings(document(MIXED_PAGE), MIXED_PAGE.encode()), MIXED_HITS)


@pytest.mark.parametrize("url,tls", [
    pytest.param(HTTP_PAGE, False, id="http-page"),
    pytest.param("http://localhost/page.html", False, id="http-localhost-page"),
])
def test_nothing_on_an_insecure_page_is_mixed(url: str, tls: bool) -> None:
    """§3 step 2: neither the page nor an ancestor is https (srcdoc included)."""
    assert document(MIXED_PAGE, url=url, tls=tls) == []
    assert judged(MIXED_PAGE, url=url, secure=False) == []


def test_assume_https_judges_an_http_page_as_https() -> None:
    """§3 step 2, --assume-https: relative URLs of an http page resolve to http and are mixed."""
    html = '<img src="a.png"><script src="//cdn.example/s.js"></script>'
    findings = document(html, url=HTTP_PAGE, tls=True)
    assert_hits(hits_of_findings(findings, html.encode()), [
        up("a.png", url="http://example.invalid/dir/a.png"), blk("//cdn.example/s.js", "script",
           url=f"{C}s.js")])


@pytest.mark.parametrize("csp", [
    pytest.param("upgrade-insecure-requests", id="alone"),
    pytest.param("UPGRADE-INSECURE-REQUESTS", id="upper-case"),
    pytest.param("default-src https:; upgrade-insecure-requests", id="with-other-directives"),
    pytest.param("default-src 'self', upgrade-insecure-requests", id="second-policy-of-a-list"),
])
def test_upgrade_insecure_requests_header_upgrades_everything(csp: str) -> None:
    """§3 step 4: every http subresource, any destination, forms too (no MC201), srcdoc inherits;
    NOTES.md item 5: no MC401 either."""
    assert document(MIXED_PAGE, csp=csp) == []
    assert judged(MIXED_PAGE, upgrade=True) == []


@pytest.mark.parametrize("csp", [
    pytest.param("block-all-mixed-content", id="block-all-mixed-content"),
    pytest.param("upgrade-insecure-requests-x", id="other-directive-name"),
    pytest.param("default-src https:", id="no-directive"),
    pytest.param("", id="empty"),
])
def test_other_policies_change_nothing(csp: str) -> None:
    assert_hits(hits_of_findings(document(MIXED_PAGE, csp=csp), MIXED_PAGE.encode()), MIXED_HITS)


def _page_with(meta_at: str) -> str:
    return MIXED_PAGE.replace(meta_at, CSP_META + meta_at, 1)


@pytest.mark.parametrize("html,expected", [
    pytest.param(_page_with("<link"), [], id="first-in-head"),
    pytest.param(_page_with("</head>"), MIXED_HITS[:1], id="in-head-after-the-stylesheet"),
    pytest.param(_page_with("<img"), MIXED_HITS, id="in-body"),
    pytest.param('<head><title>t</title>' + CSP_META + f'</head><img src="{C}a.png">', [], id="after-title"),
    pytest.param(CSP_META + f'<img src="{C}a.png">', [], id="implied-head"),
    pytest.param('<head></head>\n' + CSP_META + f'<img src="{C}a.png">', [], id="after-head-end-tag"),
    pytest.param('<head>text' + CSP_META + f'<img src="{C}a.png">', [up(f"{C}a.png")], id="after-text"),
    pytest.param('<head><div></div>' + CSP_META + f'<img src="{C}a.png">', [up(f"{C}a.png")], id="after-div"),
    pytest.param('<head><noscript>' + CSP_META + f'</noscript></head><img src="{C}a.png">', [up(f"{C}a.png")],
                 id="in-noscript-raw-text"),
    pytest.param('<head><meta http-equiv="Content-Security-Policy-Report-Only" '
                 'content="upgrade-insecure-requests">'
                 f'</head><img src="{C}a.png">', [up(f"{C}a.png")], id="report-only-meta"),
    pytest.param('<head><meta http-equiv=" Content-Security-Policy " content="upgrade-insecure-requests">'
                 '</head>'
                 f'<img src="{C}a.png">', [up(f"{C}a.png")], id="padded-http-equiv-is-no-pragma"),
    pytest.param('<head><template>' + CSP_META + f'</template></head><img src="{C}a.png">', [up(f"{C}a.png")],
                 id="in-template"),
    pytest.param(f'<head><meta http-equiv="Content-Security-Policy"></head><img src="{C}a.png">',
                 [up(f"{C}a.png")], id="no-content"),
    pytest.param('<head><meta http-equiv="content-security-policy" content="img-src https:; '
                 f'upgrade-insecure-requests"></head><img src="{C}a.png">', [], id="lower-case-name"),
    pytest.param('<head><meta http-equiv="Content-Security-Policy" content="block-all-mixed-content"></head>'
                 f'<img src="{C}a.png">', [up(f"{C}a.png")], id="block-all-mixed-content-meta"),
    pytest.param('<svg><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests"/></svg>'
                 f'<img src="{C}a.png">', [up(f"{C}a.png")], id="in-foreign-content"),
    pytest.param('<iframe srcdoc="<head>' + CSP_META.replace('"', "&quot;") + f'</head><img src={C}a.png>">'
                 f'</iframe><img src="{C}b.png">', [up(f"{C}b.png")], id="srcdoc-own-meta"),
])
def test_meta_upgrade_insecure_requests(html: str, expected: list[Hit]) -> None:
    """§3 step 4: a <meta> CSP counts when it is a child of <head>, has content, and comes before the
    reference; a Report-Only <meta> is ignored."""
    assert_hits(hits_of_findings(document(html), html.encode()), expected)


@pytest.mark.parametrize("scripting,expected", [
    pytest.param(True, [], id="scripting"),
    pytest.param(False, [up(f"{C}a.png")], id="no-scripting"),
])
def test_noscript_depends_on_scripting(scripting: bool, expected: list[Hit]) -> None:
    html = f'<noscript><img src="{C}a.png"></noscript>'
    assert_hits(hits_of_findings(document(html, scripting=scripting), html.encode()), expected)
    assert_hits(hits_of_refs(judged(html, scripting=scripting)), expected)


def test_relative_references_under_an_http_base_are_fixed_at_the_base() -> None:
    """§4.1 base row and §6 fix: the edit for a reference resolved through an http <base> is on the base."""
    html = '<head><base href="http://old.example/"></head><img src="a.png">'
    findings = document(html)
    assert_hits(hits_of_findings(findings, html.encode()), [
        base("http://old.example/"), up("a.png", url="http://old.example/a.png")])
    for f in findings:
        assert f.fix is not None
        edits = [(e.offset, e.new) for e in f.fix.edits]
        assert edits == [(html.index("http://old"), "https://old.example/")]


# ---- §4.2 CSS ----------------------------------------------------------------------------------------------
# Declaration rows are judged in a style="" attribute, a <style> element and a stylesheet the page loads;
# rule rows in the last two.

decl = row  # a CSS row: (case id, declarations or rules, expected findings)


def img(raw: str, prop: str, **kw: Any) -> Hit:
    return up(raw, "image", attribute=prop, **kw)


DECLARATIONS = [
    # | url() or a string in image-set() / -webkit-image-set() in any image-valued property ... | image / ""
    #   | upgr. |
    decl("background", f"background: #fff url({C}bg.png) no-repeat", img(f"{C}bg.png", "background")),
    decl("background-image", f"background-image: url('{C}bg.png')", img(f"{C}bg.png", "background-image")),
    decl("background-layers",
         f"background-image: url({C}a.png), linear-gradient(red, blue), url(\"{C}b.png\")",
         img(f"{C}a.png", "background-image"), img(f"{C}b.png", "background-image")),
    decl("border-image", f"border-image: url({C}b.png) 30 round", img(f"{C}b.png", "border-image")),
    decl("border-image-source", f"border-image-source: url({C}b.png)",
         img(f"{C}b.png", "border-image-source")),
    decl("list-style", f"list-style: square url({C}l.png) inside", img(f"{C}l.png", "list-style")),
    decl("list-style-image", f"list-style-image: url({C}l.png)", img(f"{C}l.png", "list-style-image")),
    decl("mask", f"mask: url({C}m.svg#m) no-repeat", img(f"{C}m.svg#m", "mask")),
    decl("mask-image", f"mask-image: url({C}m.png)", img(f"{C}m.png", "mask-image")),
    decl("-webkit-mask", f"-webkit-mask: url({C}m.png)", img(f"{C}m.png", "-webkit-mask")),
    decl("-webkit-mask-image", f"-webkit-mask-image: url({C}m.png)", img(f"{C}m.png", "-webkit-mask-image")),
    decl("content", f"content: url({C}c.png)", img(f"{C}c.png", "content")),
    decl("cursor", f"cursor: url({C}c.cur), auto", img(f"{C}c.cur", "cursor")),
    decl("shape-outside", f"shape-outside: url({C}s.png)", img(f"{C}s.png", "shape-outside")),
    decl("filter", f"filter: url({C}f.svg#blur)", img(f"{C}f.svg#blur", "filter")),
    decl("clip-path", f"clip-path: url({C}c.svg#clip)", img(f"{C}c.svg#clip", "clip-path")),
    decl("uppercase-property-and-function", f"BACKGROUND-IMAGE: URL({C}bg.png)",
         img(f"{C}bg.png", "background-image")),
    decl("important", f"background: url({C}bg.png) !important", img(f"{C}bg.png", "background")),
    decl("image-set", f"background-image: image-set(url({C}a.png) 1x, '{C}b.png' 2x)",
         img(f"{C}a.png", "background-image"), img(f"{C}b.png", "background-image")),
    decl("-webkit-image-set", f"background-image: -webkit-image-set('{C}a.png' 1x)",
         img(f"{C}a.png", "background-image")),
    decl("image-set-type",
         f"background: image-set('{C}a.avif' type('image/avif'), url({C}a.png) type('image/png'))",
         img(f"{C}a.avif", "background"), img(f"{C}a.png", "background")),
    decl("css-escape", "background: url(\\68ttp://cdn.example/bg.png)",
         img("\\68ttp://cdn.example/bg.png", "background", url=f"{C}bg.png")),
    decl("url-with-spaces", f"background: url(  {C}bg.png  )", img(f"{C}bg.png", "background")),
    decl("url-string-with-spaces", f"background: url( '{C}bg.png' )", img(f"{C}bg.png", "background")),
    decl("upper-case-scheme", "background: url(HTTP://CDN.EXAMPLE/bg.png)",
         img("HTTP://CDN.EXAMPLE/bg.png", "background", url=f"{C}bg.png")),
    decl("tab-in-string", "background: url('ht\ttp://cdn.example/bg.png')",
         img("ht\ttp://cdn.example/bg.png", "background", url=f"{C}bg.png")),
    decl("css-escape-in-string", "background: url('\\68 ttp://cdn.example/bg.png')",
         img("\\68 ttp://cdn.example/bg.png", "background", url=f"{C}bg.png")),
    # | url() in a custom property (--bg: url(…)) | image | upgr. |
    decl("custom-property", f"--bg: url({C}bg.png)", img(f"{C}bg.png", "--bg")),
    decl("custom-property-case-kept", f"--Hero-Bg: url({C}bg.png)", img(f"{C}bg.png", "--Hero-Bg")),
    # | strings outside url()/@import/image-set(), comments | inert | not fetched |
    decl("not-fetched:string", f"content: '{C}c.png'"),
    decl("not-fetched:custom-property-string", f"--bg: '{C}bg.png'"),
    decl("not-fetched:font-family-string", f"font-family: '{C}f'"),
    decl("not-fetched:comment", f"/* background: url({C}bg.png) */ color: red"),
    decl("not-fetched:empty-url", "background: url()"),
    decl("not-fetched:empty-url-string", "background: url('')"),
]

RULES = [
    # | @import url(…) / @import "…" (only before any other rule except @charset/@layer) | style | MC102 |
    decl("import-url", f"@import url({C}a.css);", blk(f"{C}a.css", "style", element="@import")),
    decl("import-string", f'@import "{C}a.css";', blk(f"{C}a.css", "style")),
    decl("import-url-string-media", f"@import url('{C}a.css') screen and (min-width: 9em);",
         blk(f"{C}a.css", "style")),
    decl("import-layer-supports", f"@import '{C}a.css' layer(base) supports(display: grid);",
         blk(f"{C}a.css", "style")),
    decl("import-two", f"@import '{C}a.css'; @import '{C}b.css';", blk(f"{C}a.css", "style"),
         blk(f"{C}b.css", "style")),
    decl("import-after-layer-statement", f"@layer base, theme; @import '{C}a.css';",
         blk(f"{C}a.css", "style")),
    decl("import-after-charset", f'@charset "utf-8"; @import "{C}a.css";', blk(f"{C}a.css", "style")),
    decl("import-at-end-without-semicolon", f"@import url({C}a.css)", blk(f"{C}a.css", "style")),
    decl("import-after-invalid-import", f"@import notaurl; @import '{C}a.css';", blk(f"{C}a.css", "style")),
    decl("import-after-comment", f"/* c */ @import '{C}a.css';", blk(f"{C}a.css", "style")),
    decl("import-uppercase", f"@IMPORT URL({C}a.css);", blk(f"{C}a.css", "style")),
    decl("import-not-fetched:after-style-rule", f"p {{ color: red }} @import '{C}a.css';"),
    decl("import-not-fetched:after-media", f"@media print {{ p {{ color: red }} }} @import '{C}a.css';"),
    decl("import-not-fetched:after-font-face", f"@font-face {{ font-family: x }} @import '{C}a.css';"),
    decl("import-not-fetched:after-namespace", f"@namespace svg url(x); @import '{C}a.css';"),
    decl("import-not-fetched:after-layer-block", f"@layer x {{ }} @import '{C}a.css';"),
    decl("import-not-fetched:after-charset-after-rule",
         f"p {{ color: red }} @charset 'x'; @import '{C}a.css';"),
    decl("import-not-fetched:nested", f"@media screen {{ @import '{C}a.css'; }}"),
    # | @font-face { src: url(…) } (local() is not a URL) | font | MC102 |
    decl("font-face", f"@font-face {{ font-family: x; src: url({C}f.woff2) format('woff2'), local(Foo) }}",
         blk(f"{C}f.woff2", "font", element="@font-face", attribute="src")),
    decl("font-face-two-sources", f"@font-face {{ src: local('X'), url('{C}f.woff2'), url({C}f.woff) }}",
         blk(f"{C}f.woff2", "font"), blk(f"{C}f.woff", "font")),
    decl("font-face-in-media", f"@media screen {{ @font-face {{ src: url({C}f.woff2) }} }}",
         blk(f"{C}f.woff2", "font")),
    decl("font-face-not-fetched:local", f"@font-face {{ src: local('{C}f') }}"),
    decl("font-face-not-fetched:other-descriptor", f"@font-face {{ font-family: x; unicode-range: U+0-7F; "
                                                   f"font-display: '{C}f' }}"),
    # image properties inside rules (nesting, @media, @supports) are still image / "" upgradable
    decl("rule:in-media", f"@media (min-width: 9em) {{ p {{ background: url({C}bg.png) }} }}",
         img(f"{C}bg.png", "background")),
    decl("rule:in-supports", f"@supports (display: grid) {{ p {{ cursor: url({C}c.cur), auto }} }}",
         img(f"{C}c.cur", "cursor")),
    decl("rule:nested", f"p {{ color: red; & a {{ background: url({C}bg.png) }} }}",
         img(f"{C}bg.png", "background")),
    decl("rule:page", f"@page {{ background: url({C}p.png) }}", img(f"{C}p.png", "background")),
    decl("rule:media-print", f"@media print {{ p {{ background: url({C}bg.png) }} }}",
         img(f"{C}bg.png", "background")),
    # | @namespace url(…), comments, strings outside url()/@import/image-set() | identifiers / inert |
    #   not fetched |
    decl("namespace-not-fetched", "@namespace svg url(http://www.w3.org/2000/svg);"),
    decl("namespace-default-not-fetched", "@namespace url(http://www.w3.org/1999/xhtml);"),
    decl("comment-not-fetched", f"/* @import '{C}a.css'; */ p {{ color: red }}"),
    decl("selector-string-not-fetched", f"a[href='{C}x'] {{ color: red }}"),
]


def _style_attribute(declarations: str) -> str:
    quote = '"' if '"' not in declarations else "'"
    assert quote not in declarations
    return f"<p style={quote}{declarations}{quote}>x</p>"


@pytest.mark.parametrize("declarations,hits", params(DECLARATIONS))
def test_css_declarations_in_a_style_attribute(declarations: str, hits: list[Hit]) -> None:
    expected = [Hit(h.code, h.raw, h.destination, h.initiator, h.url, "p", "style", Context.STYLE_ATTRIBUTE)
                for h in hits]  # SPEC §6: element and attribute of the HTML element
    assert_hits(hits_of_refs(judged(_style_attribute(declarations))), expected)


@pytest.mark.parametrize("declarations,hits", params(DECLARATIONS))
def test_css_declarations_in_a_style_element(declarations: str, hits: list[Hit]) -> None:
    expected = [Hit(h.code, h.raw, h.destination, h.initiator, h.url,
                    "style", h.attribute, Context.STYLE_ELEMENT) for h in hits]
    assert_hits(hits_of_refs(judged(f"<style>\np {{ {declarations} }}\n</style>")), expected)


@pytest.mark.parametrize("declarations,hits", params(DECLARATIONS))
def test_css_declarations_in_a_stylesheet(declarations: str, hits: list[Hit]) -> None:
    css = f"p {{\n  {declarations};\n}}\n"
    expected = [Hit(h.code, h.raw, h.destination, h.initiator, h.url, None, h.attribute, Context.STYLESHEET)
                for h in hits]
    assert_hits(hits_of_findings(sheet(css), css.encode()), expected)


@pytest.mark.parametrize("rules,hits", params(RULES))
def test_css_rules_in_a_style_element(rules: str, hits: list[Hit]) -> None:
    expected = [Hit(h.code, h.raw, h.destination, h.initiator, h.url,
                    h.element, h.attribute, Context.STYLE_ELEMENT) for h in hits]
    assert_hits(hits_of_refs(judged(f"<style>{rules}</style>")), expected)


@pytest.mark.parametrize("rules,hits", params(RULES))
def test_css_rules_in_a_stylesheet(rules: str, hits: list[Hit]) -> None:
    expected = [Hit(h.code, h.raw, h.destination, h.initiator, h.url,
                    h.element, h.attribute, Context.STYLESHEET) for h in hits]
    assert_hits(hits_of_findings(sheet(rules), rules.encode()), expected)


def test_stylesheet_urls_resolve_against_the_stylesheet() -> None:
    """§3 step 1: CSS URLs resolve against the stylesheet's URL (https here): relative ones are https."""
    assert sheet("p { background: url(a.png) } @import 'b.css'; "
                 "q { background: url(//cdn.example/c.png) }") == []


def test_stylesheet_loaded_by_an_upgrading_page_reports_nothing() -> None:
    """§3 step 4 for stylesheets (NOTES.md item 6): the page that loads it upgrades every request."""
    assert sheet(f"@import '{C}a.css'; p {{ background: url({C}bg.png) }}", upgrade=True) == []


def test_inline_css_under_upgrade_insecure_requests_reports_nothing() -> None:
    html = (f"<style>@import '{C}a.css'; p {{ background: url({C}bg.png) }}</style>"
            f"<p style='cursor:url({C}c.cur)'>")
    assert judged(html, upgrade=True) == []


# ---- XHTML (§4.1 "`.xhtml` files are XML") -----------------------------------------------------------------

XHTML_HEAD = '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'


@pytest.mark.parametrize("body,expected", [
    pytest.param(f'<img src="{C}a.png"/>', [up(f"{C}a.png")], id="img"),
    pytest.param(f'<IMG src="{C}a.png"/>', [], id="case-sensitive-element"),
    pytest.param(f'<img SRC="{C}a.png"/>', [], id="case-sensitive-attribute"),
    pytest.param(f'<style><![CDATA[ p {{ background: url({C}a.png) }} ]]></style>',
                 [up(f"{C}a.png", context=Context.STYLE_ELEMENT)], id="cdata-style"),
    pytest.param(f'<title><img src="{C}a.png"/></title>', [up(f"{C}a.png")], id="no-raw-text-title"),
    pytest.param('<img src="&#104;ttp://cdn.example/a.png"/>',
                 [up("&#104;ttp://cdn.example/a.png", url=f"{C}a.png")],
                 id="numeric-charref"),
    pytest.param('<img src="http://cdn.example/a.png?x=1&amp;y=2"/>',
                 [up("http://cdn.example/a.png?x=1&amp;y=2", url=f"{C}a.png?x=1&y=2")], id="amp-entity"),
    pytest.param(f'<!-- <img src="{C}a.png"/> -->', [], id="comment"),
    pytest.param('<script><![CDATA[ fetch("http://api.example/v1") ]]></script>',
                 [lit("http://api.example/v1")],
                 id="cdata-script-literal"),
])
def test_xhtml(body: str, expected: list[Hit]) -> None:
    html = XHTML_HEAD + "</head><body>" + body + "</body></html>"
    assert_hits(hits_of_refs(judged(html, xml=True)), expected)
    assert_hits(hits_of_findings(document(html, xml=True), html.encode()), expected)


# ---- the tables, and their look-alikes ---------------------------------------------------------------------

@pytest.mark.parametrize("html,hits", params(HTML_ROWS + PARSING_ROWS + SCRIPT_ROWS))
def test_html_row(html: str, hits: list[Hit]) -> None:
    assert_hits(hits_of_refs(judged(html)), hits)


@pytest.mark.parametrize("html,hits", params(HTML_ROWS + PARSING_ROWS + SCRIPT_ROWS))
def test_html_row_through_judge_document(html: str, hits: list[Hit]) -> None:
    """The same rows through the whole one-document path: findings carry the same code, span,
    destination and initiator (MC201/MC105/MC401 have none: SPEC §6 ``null`` for non-requests)."""
    assert_hits(hits_of_findings(document(html), html.encode()), hits)


def _lookalikes() -> list[ParameterSet]:
    """For every row that reports something, the same markup with every http://cdn.example/ written as
    https, protocol-relative and relative: none of it is mixed on an https page (§2, §3 step 3). One case
    per row, its three variants inside (fewer test items keep the module fast)."""
    rows = HTML_ROWS + PARSING_ROWS + SCRIPT_ROWS
    rows += [(f"css-{i}", f"<style>p {{ {d} }}</style>" + _style_attribute(d), h) for i, d, h in DECLARATIONS]
    rows += [(f"css-{i}", f"<style>{r}</style>", h) for i, r, h in RULES]
    out = []
    for case_id, html, hits in rows:
        if not hits or C not in html:
            continue
        variants = [html.replace(C, repl) for repl in ("https://cdn.example/", "//cdn.example/", "")]
        if any("http:" in v.lower().replace("http://www.w3.org", "") for v in variants):
            continue  # the row holds other http URLs (a base, a script literal): not a look-alike
        out.append(pytest.param(variants, id=case_id))
    return out


LOOKALIKES = _lookalikes()


def test_every_fetched_row_has_lookalikes() -> None:
    """Guard against the generator silently dropping rows (all but a handful are written with cdn.example)."""
    assert len(LOOKALIKES) >= 130


@pytest.mark.parametrize("variants", LOOKALIKES)
def test_lookalikes_are_not_mixed(variants: list[str]) -> None:
    """https://…, //… and relative versions of the row."""
    for html in variants:
        assert judged(html) == [], html
