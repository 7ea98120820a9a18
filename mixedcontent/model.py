"""Values that cross stages. Imports nothing from the package.

Units, once for the whole module:
- byte offsets are 0-based offsets into the file (or response body) *as stored*, BOM included;
- ``line`` is 1-based (LF, CRLF and CR each end a line);
- ``column`` is 1-based and counts Unicode code points of the decoded line.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar

_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle instances as (class, field values), rebuilt through ``__init__``. The dataclass default
    for slotted classes calls ``fields()`` and ``setattr`` per field and per object; findings and
    references cross process boundaries by the thousand (worker pools, Dask), where that default
    cost 4-10x more time (measured: 2000 pages, 5600 findings, 200 ms down to 40 ms)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if len(names) == 1:
        get = attrgetter(names[0])

        def values(self: Any) -> tuple[Any, ...]:
            return (get(self),)
    else:
        values = attrgetter(*names)  # type: ignore[assignment]

    def __reduce__(self: Any) -> tuple[Any, ...]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


_SWAP_FIELDS = 8


def built_fast(cls: type[_T]) -> type[_T]:
    """Give a frozen slotted dataclass an ``__init__`` that stores each field through its slot's own
    descriptor. The generated frozen ``__init__`` looks up ``object.__setattr__`` and calls it once per
    field, which made a 29-field Finding cost ~40k instructions to build, in the worker that judges it
    and again in the parent that unpickles it (issue 19, measured with cachegrind: 39.8k -> 22k). Same
    signature, defaults and ``__post_init__``; classes with init=False fields or default factories keep
    the dataclass ``__init__``. For the classes made by the thousand (compiling an ``__init__`` costs
    start-up: ~0.4 ms each).

    A class of ``_SWAP_FIELDS`` fields or more is instead built as an instance of a twin class with the
    same slots and the default ``__setattr__``, whose stores the interpreter specialises, and given its
    own class back at the end: half the cost again (a Finding 1.6 -> 0.8 us; 200 dense pages 2394 M ->
    2354 M instructions). Such a class cannot be subclassed."""
    fs = fields(cls)  # type: ignore[arg-type]
    if any(not f.init or f.default_factory is not MISSING for f in fs):
        return cls
    names: dict[str, Any] = {}
    params = []
    for i, f in enumerate(fs):
        if f.default is MISSING:
            params.append(f.name)
        else:
            names[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
    if len(fs) >= _SWAP_FIELDS:
        # stored while the object is, for a moment, of a twin class with the same slots and no frozen
        # __setattr__: a plain store to a slot (specialised by the interpreter) instead of a call per field
        twin = type(f"{cls.__name__}Fields", (), {"__slots__": cls.__slots__})  # type: ignore[attr-defined]
        names["_twin"], names["_cls"], names["_class_of"] = twin, cls, object.__setattr__
        body = ("    _class_of(self, '__class__', _twin)\n"
                + "".join(f"    self.{f.name} = {f.name}\n" for f in fs)
                + "    _class_of(self, '__class__', _cls)\n")

        def __init_subclass__(sub: type, /, **kwargs: Any) -> None:
            # (the twin's slots are this class's: an instance of a subclass would come back as this class)
            raise TypeError(f"{cls.__name__} cannot be subclassed (built_fast)")

        cls.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]
    else:
        names.update((f"_set{i}", getattr(cls, f.name).__set__) for i, f in enumerate(fs))
        body = "".join(f"    _set{i}(self, {f.name})\n" for i, f in enumerate(fs))
    if hasattr(cls, "__post_init__"):
        body += "    self.__post_init__()\n"
    exec(f"def __init__(self, {', '.join(params)}):\n{body}", names)  # noqa: S102 - code made from field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    init.__built_fast__ = True
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


class Category(StrEnum):
    UPGRADABLE = "upgradable"
    BLOCKABLE = "blockable"
    BASE_HREF = "base-href"
    INSECURE_FORM = "insecure-form"
    SCRIPT_LITERAL = "script-literal"
    POSTURE = "posture"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """error 3 > warning 2 > info 1."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Context(StrEnum):
    HTML = "html"
    STYLE_ELEMENT = "style-element"
    STYLE_ATTRIBUTE = "style-attribute"
    STYLESHEET = "stylesheet"
    SRCDOC = "srcdoc"
    SCRIPT = "script"
    HEADER = "header"


class RefKind(StrEnum):
    """What a reference is, before any judgement."""

    REQUEST = "request"  # a subresource fetch with a Fetch destination and initiator
    FORM = "form"  # a form submission target (form action, formaction)
    BASE = "base"  # a <base href>
    SCRIPT_LITERAL = "script-literal"  # an http:// literal in script text (heuristic)


class Destination(StrEnum):
    """Fetch §2.2.5 request destinations (a request's ``destination``; "" is the empty destination)."""

    EMPTY = ""
    AUDIO = "audio"
    AUDIOWORKLET = "audioworklet"
    DOCUMENT = "document"
    EMBED = "embed"
    FONT = "font"
    FRAME = "frame"
    IFRAME = "iframe"
    IMAGE = "image"
    JSON = "json"
    MANIFEST = "manifest"
    OBJECT = "object"
    PAINTWORKLET = "paintworklet"
    REPORT = "report"
    SCRIPT = "script"
    SERVICEWORKER = "serviceworker"
    SHAREDWORKER = "sharedworker"
    STYLE = "style"
    TRACK = "track"
    VIDEO = "video"
    WEBIDENTITY = "webidentity"
    WORKER = "worker"
    XSLT = "xslt"


class Initiator(StrEnum):
    """Fetch §2.2.5 request initiators ("" is the empty initiator)."""

    EMPTY = ""
    DOWNLOAD = "download"
    IMAGESET = "imageset"
    MANIFEST = "manifest"
    PREFETCH = "prefetch"
    PRERENDER = "prerender"
    XSLT = "xslt"


class ProbeStatus(StrEnum):
    """docs/probe.md: what the https twin's probe found."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


class TargetKind(StrEnum):
    """docs/json-report.md ``target.kind``: what was scanned."""

    DIRECTORY = "directory"
    FILES = "files"
    SITE = "site"
    WARC = "warc"


class FixStatus(StrEnum):
    """What ``fix`` did to one file."""

    REWRITTEN = "rewritten"
    WOULD_REWRITE = "would-rewrite"
    SKIPPED = "skipped"
    ERROR = "error"


# the members by value, for conversions on paths where Enum(value) (~0.3 µs) would show
DESTINATIONS: dict[str, Destination] = {d.value: d for d in Destination}
INITIATORS: dict[str, Initiator] = {i.value: i for i in Initiator}


class Applicability(StrEnum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


class FixRoute(StrEnum):
    """docs/fix.md#what-scan-says: what ``mixedcontent fix`` needs to rewrite a finding (``Finding.fix_route``)."""

    PROVEN = "proven"  # ``fix`` as it is: the https twin is proven (the scan's --probe)
    PROBE = "probe"  # ``fix`` as it is if the probe it runs proves the https twin; else only with --unsafe
    UNSAFE = "unsafe"  # only with --unsafe: probed, and still not proven (an http <base href> others go through)
    FORMS = "forms"  # a form action (MC201): only with --forms, and --unsafe unless proven (forms are never probed)
    MANUAL = "manual"  # never: script literals, https twins that do not work, text that cannot be rewritten


@built_fast
@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Span:
    """Where ``raw`` sits in the stored bytes: ``data[start:end]`` decodes to raw."""

    start: int
    end: int
    line: int
    column: int

    @property
    def length(self) -> int:
        return self.end - self.start


@built_fast
@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``length`` bytes at byte ``offset`` of ``file`` with ``new`` (text, document encoding)."""

    file: str | None
    offset: int
    length: int
    new: str
    old: str | None = None  # the text the span holds when the edit was made (checked before applying)


@built_fast
@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Fix:
    """docs/json-report.md ``fix``: the https text for a finding, how safe it is to apply, and its edits."""

    replacement: str
    applicability: Applicability
    edits: tuple[Edit, ...]
    note: str | None = None


@built_fast
@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Reference:
    """One URL-bearing spot in a document, as extraction found it (no verdict yet).

    ``url`` is the absolute URL the browser would use (None when it does not parse).
    ``upgrade_insecure`` is true when an enforced CSP with upgrade-insecure-requests is in force
    for this request (header, or a <meta> in <head> before it, or inherited by srcdoc).
    ``secure`` is true when the document or an ancestor is an https page (or is judged as one).
    ``via_base`` is the http <base href> reference this relative URL was resolved through.
    """

    kind: RefKind
    raw: str
    url: str | None
    span: Span
    element: str
    attribute: str | None
    context: Context
    # Destination and Initiator values; extraction may hand the plain strings (a StrEnum member is one),
    # the Finding made from the reference carries the members
    destination: str | None
    initiator: str | None
    secure: bool
    upgrade_insecure: bool
    page: str
    via_base: Reference | None = None
    detail: str | None = None  # e.g. the CSS property, "candidate 2", the link rel
    ignore: str | None = None  # inline data-mixedcontent-ignore codes on the element or an ancestor ("" = all)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ProbeResult:
    """docs/probe.md: what probing a URL's https twin found."""

    status: ProbeStatus
    reason: str
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", ProbeStatus(self.status))  # a closed set: a bad status is a bug

    @property
    def works(self) -> bool:
        """docs/probe.md: the https twin works (status ``available``)."""
        return self.status == "available"

    @property
    def fails(self) -> bool:
        """The twin was tried and did not work (unavailable, error, timeout); ``skipped`` proves nothing."""
        return self.status in ("unavailable", "error", "timeout")


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """``record`` (docs/json-report.md): the WARC/ARC record a finding was read from. ``offset`` is the byte
    offset of the record in the archive file as stored (a gzip member's start in a .warc.gz)."""

    offset: int
    target_uri: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class InitiatorLocation:
    """docs/json-report.md ``initiator_location``: where the script that made a request sits, as the browser's
    initiator stack names it: ``url`` of the script (the page's own URL for an inline script), 1-based
    ``line`` and ``column`` (the browser counts UTF-16 units in a line), and ``offset``, the byte offset
    of that position in the page's file as stored, when the script is inline in that file."""

    url: str
    line: int
    column: int
    offset: int | None = None


@built_fast
@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Finding:
    """One reported finding (docs/json-report.md ``findings``)."""

    code: str
    name: str
    category: Category
    severity: Severity
    message: str
    file: str | None
    page: str
    line: int | None
    column: int | None
    offset: int | None
    length: int | None
    url: str | None
    raw: str | None
    element: str | None
    attribute: str | None
    context: Context
    destination: Destination | None
    initiator: Initiator | None
    https: ProbeResult | None = None
    fix: Fix | None = None
    fingerprint: str = ""
    referrers: tuple[str, ...] | None = None
    suppressed_by: str | None = None
    record: ArchiveRecord | None = None  # WARC input: the record holding the document
    path: str | None = None  # docs/json-report.md: the file as it opens from the working directory ("/"-separated)
    # the fingerprint with ``path`` in place of ``file``: how a baseline matches whatever the naming
    path_fingerprint: str = ""
    confirmed_by: str | None = None  # docs/json-report.md, --render: "chromium" when the browser made it with this verdict
    initiator_location: InitiatorLocation | None = None  # docs/json-report.md, MC402: the script that made the request

    @property
    def fix_route(self) -> FixRoute:
        """What ``mixedcontent fix`` needs to rewrite this finding (docs/fix.md; fixer.py's ``_refusal``
        without --map)."""
        fix = self.fix
        if self.code == "MC401" or fix is None or not fix.edits or fix.applicability is Applicability.DISPLAY_ONLY:
            return FixRoute.MANUAL
        if self.code == "MC201":
            return FixRoute.FORMS
        if fix.applicability is Applicability.SAFE:
            return FixRoute.PROVEN
        return FixRoute.PROBE if self.https is None else FixRoute.UNSAFE

    @property
    def where(self) -> str:
        """How human and CI formats name the finding's document: ``path``, else ``file``, else the page URL."""
        return self.path if self.path is not None else self.file if self.file is not None else self.page

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        """(file or page, record offset (0 outside archives), offset, code)."""
        return (self.file if self.file is not None else self.page, self.record.offset if self.record else 0,
                self.offset or 0, self.code)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ScanError:
    """An input that could not be read or parsed; the rest of the scan goes on."""

    file: str | None
    url: str | None
    message: str
    path: str | None = None  # docs/json-report.md: the file as it opens from the working directory ("/"-separated)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.file or "", self.url or "")

    @property
    def where(self) -> str:
        """How human and CI formats name the input: ``path``, else ``file``, else the URL."""
        return self.path if self.path is not None else self.file if self.file is not None else (self.url or "")


@dataclass(frozen=True, slots=True)
class Target:
    """What a run scanned (docs/json-report.md ``target``)."""

    kind: TargetKind
    inputs: tuple[str, ...]
    base_url: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TargetKind(self.kind))


@dataclass(frozen=True, slots=True)
class ServerSnippet:
    """One server's configuration text (docs/audit.md#tls)."""

    server: str  # nginx, apache, caddy, haproxy
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Mozilla's recommended TLS configuration (``profile``, guidelines version) for each server."""

    profile: str
    guidelines: str
    snippets: tuple[ServerSnippet, ...]


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What a report writer needs besides the ScanResult (every writer takes it).

    ``fail_on``: the lowest severity that fails the run (``--fail-on``); None for ``never``.
    ``server_config``: the server TLS configuration `audit` adds to its report (docs/audit.md#tls).
    ``workers``: processes a writer may render in (``--jobs``; the JSON report renders a long findings
    array in two).
    """

    fail_on: Severity | None = Severity.ERROR
    server_config: ServerConfig | None = None
    workers: int = 1

    def fails(self, finding: Finding) -> bool:
        """Does this finding fail the run (docs/index.md exit codes: live, at or above ``--fail-on``)?"""
        return (finding.suppressed_by is None and self.fail_on is not None
                and finding.severity.rank >= self.fail_on.rank)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The one result of a run, whatever its entry point: every report reads only this."""

    target: Target
    findings: tuple[Finding, ...]
    errors: tuple[ScanError, ...]
    documents: int
    pages: int
    stylesheets: int
    suppressed: int = 0
    tool_version: str = ""
    scanned: tuple[str, ...] = ()  # report names of every document scanned (file or URL), sorted
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def fixable(self) -> dict[FixRoute, int] | None:
        """docs/json-report.md ``summary.fixable``: the live findings counted by what ``mixedcontent fix``
        needs to rewrite them (every route, zeros included); None for a crawl or web archives, which
        ``fix`` does not rewrite (it rewrites files on disk)."""
        if self.target.kind not in (TargetKind.DIRECTORY, TargetKind.FILES):
            return None
        counts = dict.fromkeys(FixRoute, 0)
        for f in self.findings:
            if f.suppressed_by is None:
                counts[f.fix_route] += 1
        return counts


class DocumentKind(StrEnum):
    """How a document is parsed: an HTML page, an XHTML page (XML), or a stylesheet."""

    HTML = "html"
    XHTML = "xhtml"
    STYLESHEET = "stylesheet"


@dataclass(frozen=True, slots=True)
class Document:
    """One document as every source hands it over (files on disk, a crawl, a web archive, a browser):
    its bytes as stored or received (finding spans index into them), the URL it is judged at, how it
    was served, and where it came from.

    ``tls``: it is judged as an https page (served over TLS, at an https URL, or ``--assume-https``).
    ``served``: it came from an HTTP response (a crawl or an archive), so being served over plain http
    is itself a finding (MC508). ``csp``: the enforced Content-Security-Policy header values,
    comma-joined. ``charset``: the Content-Type charset it was served with. ``file``/``path``: docs/json-report.md
    ``file`` and §12 ``path`` (None for a document named by URL). ``record``: the archive record.
    """

    data: bytes
    url: str
    kind: DocumentKind = DocumentKind.HTML
    tls: bool = True
    served: bool = False
    csp: str | None = None
    charset: str | None = None
    file: str | None = None
    path: str | None = None
    record: ArchiveRecord | None = None

    @property
    def name(self) -> str:
        """How reports name it: its file, else its URL."""
        return self.file if self.file is not None else self.url


@dataclass(frozen=True, slots=True)
class SheetPlace:
    """Where a stylesheet URL lives for a source: its key (a report path or a URL; keys name
    stylesheets in the stage), the URL it is fetched at, and its docs/json-report.md ``file`` and ``path``."""

    key: str
    url: str
    file: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Sheet:
    """A stylesheet's bytes as a source read them: ``url`` where it was finally found (after
    redirects), ``charset`` the Content-Type charset it was served with."""

    data: bytes
    url: str | None = None
    charset: str | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    """One posture finding before it becomes a Finding: ``url`` is the response it is about,
    ``element`` the header (or ``http`` for the redirect chain), ``attribute`` what in it."""

    code: str
    message: str
    url: str
    element: str | None = None
    attribute: str | None = None
    raw: str | None = None
    severity: Severity | None = None  # None: the rule's own severity


def positional(cls: type[_T], order: str) -> type[_T]:
    """``cls`` itself, for the hot paths that make one value per finding by passing every field
    positionally (classify.finding_for, rewrite.propose_fix: a keyword call binds 28 names, ~15k
    instructions more than a positional one): ``order`` is its field names, space-separated, as
    declared, checked here, so that a field added to ``cls`` fails at import instead of shifting the
    arguments. The class must be ``built_fast``."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if order.split() != names:
        raise TypeError(f"{cls.__name__}: its fields are {' '.join(names)}")
    if getattr(cls.__init__, "__built_fast__", False) is not True:
        raise TypeError(f"{cls.__name__}: positional() is for built_fast classes")
    return cls
