"""Live sites (``mixedcontent scan https://site.example/``): crawl a site and hand over each page, as
it was served, as a ``Document``; the consumer tells the crawl the links it found in it.

The stages, named as scrapy names them:

frontier  URLs admitted in a deterministic order (breadth first, ties in discovery order),
          deduplicated by request fingerprint, in scope (the start hosts, ``--allow-host``,
          ``--path-prefix``), allowed by robots.txt for our user agent (RFC 9309, via Protego),
          bounded by ``max_pages`` and ``max_depth``;
fetch     ``net.Net``, one session for the run: global and per-host concurrency, per-host pacing,
          timeouts, retries, a per-host failure budget, redirects (loops detected), decompressed
          size caps all live there; each redirect hop is checked here before it is requested: its
          host must be in scope (a start URL's own redirects excepted: they bring their host into
          scope) and its robots.txt must allow it, else the fetch ends as an errors entry naming the hop;
parse     content-type dispatch: ``text/html`` and ``application/xhtml+xml`` are pages, handed over
          as Documents with the Content-Type charset and the enforced CSP header;
follow    outcomes are *released* in admission order (``documents()`` yields them), duplicate pages
          (two URLs redirecting to one) dropped, and only then are the links the consumer found
          (``found``) admitted, so what is crawled and reported never depends on which response
          arrived first.

The crawl is also the stylesheet source of the run (``locate``/``fetch``, judge.stylesheets): only
hosts in scope are asked, robots.txt permitting, at most ``max_pages`` stylesheets. Sitemaps (the robots.txt
``Sitemap:`` lines, else ``/sitemap.xml``; sitemap indexes; gzip) list pages as if the start page
linked them (depth 1, after its own links). Other hosts are never contacted, not even by a redirect.

Memory: a body lives from its fetch to the end of its parse. What grows with the site is the
frontier (a URL, a depth and a number per admitted page) and the fingerprints of URLs seen.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ada_url import URL
from lxml import etree  # type: ignore[import-untyped]
from protego import Protego

from .. import urls
from ..errors import SettingError, UsageError
from ..extract.source import looks_binary
from ..model import Document, DocumentKind, ScanError, Sheet, SheetPlace
from ..net import Net, NetSettings
from ..settings import DEFAULT_MAX_PAGES

ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 §2.5: a crawler must parse at least the first 500 KiB
SITEMAP_MAX_BYTES = 50 * 1024 * 1024  # sitemaps.org: at most 50 MB (uncompressed) per sitemap file
SITEMAP_MAX_URLS = 50_000  # sitemaps.org: at most 50,000 URLs per sitemap; also our total per crawl
SITEMAP_MAX_FILES = 50  # sitemap files fetched per crawl (an index and the sitemaps it lists)
PAGE_TYPES = {"text/html": False, "application/xhtml+xml": True}  # media type -> parsed as XML
_GZIP_MAGIC = b"\x1f\x8b"




@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """What to crawl. ``start`` URLs are absolute http(s) URLs without fragments (``start_url``)."""

    start: tuple[str, ...]
    allow_hosts: tuple[str, ...] = ()  # hosts in scope besides the start URLs' (``scope_host``)
    path_prefix: str | None = None  # pages (not stylesheets) must have a path starting with it
    max_pages: int = DEFAULT_MAX_PAGES  # pages fetched at most (stylesheets: as many again at most)
    max_depth: int | None = None  # links from a start page are depth 1; None: no limit
    sitemaps: bool = True

    def __post_init__(self) -> None:
        """Refused where made, with the command line's option names (SettingError)."""
        if isinstance(self.start, str) or not self.start:
            raise SettingError("start", f"a crawl needs a tuple of start URLs, got {self.start!r}")
        for url in self.start:
            start_url(url)  # an absolute http(s) URL with a host, or UsageError
        if isinstance(self.max_pages, bool) or not isinstance(self.max_pages, int) or self.max_pages < 1:
            raise SettingError("max-pages", f"max-pages must be 1 or more, got {self.max_pages!r}")
        if self.max_depth is not None and (isinstance(self.max_depth, bool) or not isinstance(self.max_depth, int)
                                           or self.max_depth < 0):
            raise SettingError("max-depth", f"max-depth must be 0 or more, got {self.max_depth!r}")


def start_url(text: str) -> str:
    """A start URL as given on the command line, normalised (WHATWG, fragment dropped). Raises
    UsageError for anything that is not an absolute http(s) URL with a host."""
    resolved = urls.resolve(text.strip(), "about:blank")
    if resolved is None:
        raise UsageError(f"{text!r} is not a valid URL")
    if urls.scheme(resolved) not in ("http:", "https:"):
        raise UsageError(f"{text!r}: only http:// and https:// sites can be crawled")
    if not urls.host(resolved):
        raise UsageError(f"{text!r}: the URL has no host")
    return urls.without_fragment(resolved)


def scope_host(text: str) -> str:
    """A host name for ``--allow-host``, normalised as the URL parser normalises hosts."""
    name = text.strip()
    resolved = urls.resolve(f"http://{name}/", "about:blank") if name else None
    if resolved is None or resolved != f"http://{urls.host(resolved)}/":
        raise UsageError(f"--allow-host {text!r}: expected a host name only, such as cdn.example.org "
                         f"(no scheme, port or path)")
    return urls.host(resolved)


def path_prefix(text: str) -> str:
    """A ``--path-prefix``, percent-encoded as the URL parser encodes paths."""
    if not text.startswith("/"):
        raise UsageError(f"--path-prefix {text!r}: must start with /")
    resolved = urls.resolve(text, "http://h/")
    if resolved is None:
        raise UsageError(f"--path-prefix {text!r}: not a valid URL path")
    return URL(resolved).pathname


@dataclass(slots=True)
class CrawlStats:
    """Counters for progress display (a live object; the crawl updates it)."""

    pages: int = 0  # pages scanned
    queued: int = 0  # admitted, not yet released
    stylesheets: int = 0  # stylesheets fetched and scanned
    skipped: int = 0  # responses that are not pages, off-site redirects, duplicates
    disallowed: int = 0  # URLs robots.txt disallows
    errors: int = 0
    requests: int = 0  # HTTP requests sent


@dataclass(frozen=True, slots=True)
class Sitemap:
    index: bool  # a <sitemapindex> (its locations are sitemaps), else a <urlset> (pages)
    locations: tuple[str, ...]


_RECENT_LINKS = 50_000  # link strings remembered exactly (a few MB at most)


# ---- pure parts ----------------------------------------------------------------------------------

def fingerprint(url: str) -> bytes:
    """Request fingerprint (scrapy's idea): a digest of the normalised URL, 16 bytes per URL seen."""
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def page_kind(content_type: str | None, body: bytes) -> bool | None:
    """Content-type dispatch for a response reached as a page: False for HTML, True for XHTML (parsed
    as XML), None when it is not a page (skipped). Without a Content-Type, anything that does not
    look binary is read as HTML, as browsers sniff it (MIME Sniffing §7.1)."""
    if content_type is None:
        return None if looks_binary(body, labeled=False) else False
    return PAGE_TYPES.get(content_type)


def gunzip(data: bytes, cap: int) -> bytes | None:
    """A gzip file's content, or None when it is corrupt or larger than ``cap`` bytes (a bomb stops
    at the cap: zlib never produces more than asked for)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error:
        return None
    return None if len(out) > cap else out


def parse_sitemap(data: bytes, limit: int = SITEMAP_MAX_URLS) -> Sitemap | None:
    """The ``<loc>`` URLs of a sitemap (sitemaps.org: ``<urlset><url><loc>`` or ``<sitemapindex>
    <sitemap><loc>``), at most ``limit``; None when ``data`` is not a sitemap.

    Parsed with lxml's incremental parser, safely: no DTD loaded, no entity expanded, no network,
    no huge-tree mode, and every finished entry cleared so memory stays flat."""
    root: str | None = None
    locations: list[str] = []
    depth = 0
    try:
        for event, el in etree.iterparse(io.BytesIO(data), events=("start", "end"), load_dtd=False,
                                         no_network=True, resolve_entities=False, huge_tree=False,
                                         remove_comments=True, remove_pis=True):
            if not isinstance(el.tag, str):
                continue  # an entity reference left unexpanded
            name = etree.QName(el).localname
            if event == "start":
                depth += 1
                if root is None:
                    root = name
                    if name not in ("urlset", "sitemapindex"):
                        return None
                continue
            depth -= 1
            if name == "loc" and depth == 2:
                text = (el.text or "").strip()
                if text:
                    locations.append(text)
                    if len(locations) >= limit:
                        break
            elif depth == 1:
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
    except etree.XMLSyntaxError:
        if root is None:
            return None  # not XML at all; a sitemap cut short keeps what it listed
    if root is None:
        return None
    return Sitemap(root == "sitemapindex", tuple(locations))


# ---- the crawler ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Robots:
    parser: Protego | None  # None: no rules (everything allowed, or nothing with ``allow`` False)
    allow: bool = True
    why: str | None = None  # why nothing is allowed
    unreachable: bool = False  # the host gave no answer at all (``why`` is the request's problem)

    def allows(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.allow
        return bool(self.parser.can_fetch(url, agent))

    @property
    def sitemaps(self) -> list[str]:
        return list(self.parser.sitemaps) if self.parser is not None else []


@dataclass(frozen=True, slots=True)
class _Request:
    url: str
    depth: int
    seq: int
    sitemaps: bool = False  # the sitemap job (its outcome's links are the sitemaps' pages)


@dataclass(slots=True)
class _Outcome:
    final: str | None = None
    document: Document | None = None
    links: tuple[str, ...] = ()
    errors: list[ScanError] = field(default_factory=list)
    skipped: bool = False


class Crawl:
    """A live site as a source of Documents (``async with Crawl(...) as crawl: async for doc, follow
    in crawl.documents(): ...; crawl.found(links)``) and of its stylesheets (``locate``/``fetch``).
    ``follow`` says whether the page's links can still be admitted (False once ``max_pages`` is
    reached or its children would be deeper than ``max_depth``: then they need not be collected).
    Never raises for network or HTTP problems: they become ``errors`` entries."""

    def __init__(self, settings: CrawlSettings, net_settings: NetSettings, *, tls_assumed: bool = False,
                 progress: Callable[[CrawlStats], None] | None = None,
                 excluded: Callable[[str], bool] | None = None) -> None:
        self.s = settings
        # docs/configuration.md#excluding-urls: page URLs (links, sitemap entries) never admitted; start URLs are
        self.excluded = excluded
        self.net_settings = net_settings
        self.tls_assumed = tls_assumed  # pages judged as https whatever they came over (csp --assume-https)
        self.progress = progress
        self.agent = net_settings.user_agent
        self._net: Net | None = None
        self._links: tuple[str, ...] | None = None
        self.hosts = {urls.host(u) for u in settings.start} | set(settings.allow_hosts)
        self.queue: asyncio.Queue[_Request] = asyncio.Queue()
        self.outcomes: dict[int, asyncio.Future[tuple[_Request, _Outcome]]] = {}
        self.seen: set[bytes] = set()  # fingerprints of pages admitted or found (frontier dedup)
        # link strings met lately, each already decided by admit (the same navigation links recur on
        # every page: this spares their fingerprints); bounded, unlike ``seen``, which it only speeds up
        self.recent: set[str] = set()
        self.claimed: set[bytes] = set()  # fingerprints of the final URLs of released pages
        self.admitted = 0  # pages admitted (max_pages counts these)
        self.next_seq = 0
        self.robots: dict[str, asyncio.Task[_Robots]] = {}
        self.sheet_keys: set[str] = set()
        self.seed_urls: list[str] = []
        self.seeds_released = asyncio.Event()
        self.pages: list[str] = []  # final URLs of the pages handed over, in admission order
        self.errors: list[ScanError] = []
        self.stats = CrawlStats()

    async def __aenter__(self) -> Crawl:
        self._net = await Net(self.net_settings).__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self.robots.values():
            task.cancel()
        await asyncio.gather(*self.robots.values(), return_exceptions=True)
        if self._net is not None:
            self.stats.requests = self._net.requests
            await self._net.__aexit__(None, None, None)
        self.report()

    @property
    def net(self) -> Net:
        assert self._net is not None, "use the crawl inside `async with`"
        return self._net

    # ---- scope -------------------------------------------------------------------------------------
    def host_in_scope(self, url: str) -> bool:
        return urls.scheme(url) in ("http:", "https:") and urls.host(url) in self.hosts

    def in_scope(self, url: str) -> bool:
        if not self.host_in_scope(url) or self.excluded is not None and self.excluded(url):
            return False
        return self.s.path_prefix is None or URL(url).pathname.startswith(self.s.path_prefix)

    def hop_check(self, *, anywhere: bool = False) -> Callable[[str], Awaitable[str | None]]:
        """``Net.fetch``'s ``allow_hop``: a redirect hop is requested only when its host is in scope
        (``anywhere``: a start URL's own redirects, which bring their host into scope) and robots.txt
        allows it (RFC 9309 §2.2.2); otherwise the reason it is not followed."""

        async def allow(target: str) -> str | None:
            if not anywhere and not self.host_in_scope(target):
                return f"{urls.host(target) or target} is outside the crawl's scope (see --allow-host)"
            robots = await self.robots_for(target)
            if not robots.allows(target, self.agent):
                self.stats.disallowed += 1
                return robots.why or f"robots.txt disallows it for {self.agent}"
            return None

        return allow

    # ---- the run -------------------------------------------------------------------------------------
    async def documents(self) -> AsyncIterator[tuple[Document, bool]]:
        """Every page of the crawl, in admission order, with whether its links are wanted; tell the
        crawl what links a page has with ``found`` before asking for the next one."""
        workers = [asyncio.create_task(self.worker()) for _ in range(max(1, self.net.settings.concurrency))]
        try:
            for url in self.s.start:
                await self.admit(url, 0, seed=True)
            seeds = self.next_seq
            if self.s.sitemaps and self.s.max_depth != 0:
                self.push(_Request(self.s.start[0], 0, self.next_seq, sitemaps=True))
            if seeds == 0:
                self.seeds_released.set()
            seq = 0
            while seq < self.next_seq:
                request, outcome = await self.outcomes[seq]
                del self.outcomes[seq]
                doc = self.claim(request, outcome)
                links = outcome.links
                if doc is not None:
                    self._links = None
                    yield doc, self.admitted < self.s.max_pages and (self.s.max_depth is None
                                                                     or request.depth < self.s.max_depth)
                    links = self._links or ()
                await self.admit_links(request, links)
                seq += 1
                if seq == seeds:
                    self.seeds_released.set()
                self.report()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.stats.requests = self.net.requests

    def found(self, links: list[str] | tuple[str, ...]) -> None:
        """The links of the page ``documents()`` handed over last."""
        self._links = tuple(links)

    def report(self) -> None:
        if self.progress is not None:
            self.stats.requests = self.net.requests
            self.progress(self.stats)

    # ---- frontier ------------------------------------------------------------------------------------
    def push(self, request: _Request) -> None:
        self.outcomes[request.seq] = asyncio.get_running_loop().create_future()
        self.next_seq += 1
        self.stats.queued += 1
        self.queue.put_nowait(request)

    async def admit(self, url: str, depth: int, *, seed: bool = False) -> None:
        """Frontier: admit one page URL if it is new, in scope, within the limits and allowed."""
        url = urls.without_fragment(url)
        fp = fingerprint(url)
        if fp in self.seen or self.admitted >= self.s.max_pages:
            return
        if self.s.max_depth is not None and depth > self.s.max_depth and not seed:
            return  # breadth first: depths only grow, so this URL can come back no nearer
        self.seen.add(fp)  # in scope or not, it is decided once
        if urls.scheme(url) not in ("http:", "https:") or not seed and not self.in_scope(url):
            return
        # RFC 9309 §2.2.2: the most specific group for our user agent; disallowed URLs are not fetched
        robots = await self.robots_for(url)
        if not robots.allows(url, self.agent):
            self.stats.disallowed += 1
            if seed:
                why = robots.why or f"robots.txt disallows it for {self.agent}"
                # an unreachable host is said as a failed fetch of the start URL would say it
                self.errors.append(ScanError(None, url, why if robots.unreachable else f"not crawled: {why}"))
            return
        self.admitted += 1
        self.push(_Request(url, depth, self.next_seq))

    # ---- follow: release outcomes in admission order ----------------------------------------------------
    def claim(self, request: _Request, outcome: _Outcome) -> Document | None:
        """The page of a released outcome, unless another URL already reached it (a redirect)."""
        self.stats.queued -= 1
        self.errors.extend(outcome.errors)
        self.stats.errors += len(outcome.errors)
        if outcome.skipped:
            self.stats.skipped += 1
        if outcome.document is None or outcome.final is None:
            return None
        final = outcome.final
        if request.depth == 0 and not request.sitemaps:
            self.seed_urls.append(final)
            # a start URL that redirects to another host (example.org -> www.example.org) takes
            # its scope along
            self.hosts.add(urls.host(final))
        fp = fingerprint(final)
        if fp in self.claimed:
            self.stats.skipped += 1  # a second way to the same page (a redirect)
            return None
        self.claimed.add(fp)
        self.seen.add(fp)
        self.pages.append(final)
        self.stats.pages += 1
        return outcome.document

    async def admit_links(self, request: _Request, links: tuple[str, ...]) -> None:
        if self.admitted >= self.s.max_pages:
            return  # nothing more is admitted
        recent = self.recent
        for link in links:
            if link in recent:
                continue  # admitted or refused before, for good (depths only grow)
            if len(recent) >= _RECENT_LINKS:
                recent.clear()
            recent.add(link)
            await self.admit(link, request.depth + 1)

    # ---- fetch and parse -------------------------------------------------------------------------------
    async def worker(self) -> None:
        while True:
            request = await self.queue.get()
            future = self.outcomes[request.seq]
            try:
                if request.sitemaps:
                    outcome: _Outcome = await self.sitemap_job()
                else:
                    outcome = await self.fetch_page(request)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a bug: handed to the follow stage, which raises it
                future.set_exception(e)
                continue
            future.set_result((request, outcome))

    async def fetch_page(self, request: _Request) -> _Outcome:
        url = request.url
        if fingerprint(url) in self.claimed:
            return _Outcome(skipped=True)  # already scanned: a redirect reached it first
        resp = await self.net.fetch(url, allow_hop=self.hop_check(anywhere=request.depth == 0))
        if resp.error is not None:
            return _Outcome(errors=[ScanError(None, url, resp.problem)])
        final = urls.without_fragment(resp.final_url)
        if request.depth > 0 and not self.host_in_scope(final):
            return _Outcome(skipped=True)  # redirected off-site
        if resp.status is None or not 200 <= resp.status < 300:
            via = f" (after redirects, at {final})" if final != url else ""
            return _Outcome(errors=[ScanError(None, url, resp.problem + via)])
        xml = page_kind(resp.content_type, resp.body)
        if xml is None:
            return _Outcome(skipped=True)  # not a page (images, PDFs, stylesheets reached by a link, ...)
        # CSP3 §3.1: only Content-Security-Policy is enforced (Report-Only never is); several
        # headers are one comma-separated list of policies
        csp = ", ".join(resp.header_all("Content-Security-Policy")) or None
        doc = Document(data=resp.body, url=final, kind=DocumentKind.XHTML if xml else DocumentKind.HTML,
                       tls=resp.tls or self.tls_assumed, served=True, csp=csp, charset=resp.charset)
        del resp
        return _Outcome(final=final, document=doc)

    # ---- robots.txt ---------------------------------------------------------------------------------
    def robots_for(self, url: str) -> asyncio.Task[_Robots]:
        origin = urls.origin(url) or url
        task = self.robots.get(origin)
        if task is None:
            task = self.robots[origin] = asyncio.create_task(self.fetch_robots(origin))
        return task

    async def fetch_robots(self, origin: str) -> _Robots:
        url = origin + "/robots.txt"
        host = urls.host(url)
        start = {urls.host(u) for u in self.s.start}

        async def allow(target: str) -> str | None:
            # RFC 9309 §2.3.1.2 has crawlers follow robots.txt redirects, even to other hosts; ours stay
            # on this host and the scope (a start host's robots.txt may go where its start URL may)
            if urls.host(target) == host or self.host_in_scope(target) or host in start:
                return None
            return f"{urls.host(target) or target} is outside the crawl's scope (see --allow-host)"

        # RFC 9309 §2.5: content past the size limit may be ignored (so the first 512 KiB are read)
        resp = await self.net.fetch(url, max_body=ROBOTS_MAX_BYTES, partial=True, allow_hop=allow)
        if resp.error == "too-large" or resp.error is None and resp.status is not None and 200 <= resp.status < 300:
            return _Robots(Protego.parse(resp.body.decode("utf-8", "replace")))
        # RFC 9309 §2.3.1.3: "unavailable" (4xx) means no rules
        if resp.error is None and resp.status is not None and 400 <= resp.status < 500:
            return _Robots(None, allow=True)
        # RFC 9309 §2.3.1.4: "unreachable" (5xx, network errors) means complete disallow
        rule = f"nothing on {origin} is crawled (RFC 9309 §2.3.1.4)"
        if resp.status is None:
            # no answer at all: the host cannot be reached, which is what a person needs to read first
            self.errors.append(ScanError(None, url, f"{resp.problem}; robots.txt could not be read, so "
                                                    f"{rule}"))
            self.stats.errors += 1
            return _Robots(None, allow=False, why=resp.problem, unreachable=True)
        why = f"robots.txt unreachable ({resp.problem}), so {rule}"
        self.errors.append(ScanError(None, url, why))
        self.stats.errors += 1
        return _Robots(None, allow=False, why=why)

    # ---- sitemaps -------------------------------------------------------------------------------------
    async def sitemap_job(self) -> _Outcome:
        """The pages the start hosts' sitemaps list, in order (deduplication is the frontier's)."""
        await self.seeds_released.wait()  # the scope is final once the start pages are in
        origins: list[str] = []
        for url in (*self.s.start, *self.seed_urls):
            origin = urls.origin(url)
            if origin is not None and origin not in origins:
                origins.append(origin)
        outcome: _Outcome = _Outcome()
        found: list[str] = []
        fetched: set[str] = set()
        for origin in origins:
            robots = await self.robots_for(origin + "/")
            listed = robots.sitemaps
            queue: deque[tuple[str, int, bool]] = deque((u, 0, True) for u in listed)
            if not listed:
                queue.append((origin + "/sitemap.xml", 0, False))  # the conventional place, if any
            while queue and len(fetched) < SITEMAP_MAX_FILES and len(found) < SITEMAP_MAX_URLS:
                text, level, listed_somewhere = queue.popleft()
                loc = urls.resolve(text, origin + "/")
                if loc is None or not self.host_in_scope(loc) or urls.without_fragment(loc) in fetched:
                    continue
                loc = urls.without_fragment(loc)
                if not listed_somewhere and not (await self.robots_for(loc)).allows(loc, self.agent):
                    continue
                fetched.add(loc)
                sitemap, problem = await self.fetch_sitemap(loc)
                if sitemap is None:
                    if listed_somewhere and problem is not None:
                        outcome.errors.append(ScanError(None, loc, f"sitemap not read: {problem}"))
                    continue
                if sitemap.index:
                    if level == 0:  # sitemaps.org: an index lists sitemaps, not other indexes
                        queue.extend((u, 1, True) for u in sitemap.locations)
                else:
                    found.extend(sitemap.locations[:SITEMAP_MAX_URLS - len(found)])
        outcome.links = tuple(u for u in (urls.resolve(t, "about:blank") for t in found) if u is not None)
        return outcome

    async def fetch_sitemap(self, url: str) -> tuple[Sitemap | None, str | None]:
        resp = await self.net.fetch(url, max_body=SITEMAP_MAX_BYTES, allow_hop=self.hop_check())
        if resp.error is not None or resp.status is None or not 200 <= resp.status < 300:
            return None, resp.problem
        data = resp.body
        if data[:2] == _GZIP_MAGIC:  # sitemap.xml.gz served as a file (not Content-Encoding)
            unpacked = gunzip(data, SITEMAP_MAX_BYTES)
            if unpacked is None:
                return None, f"corrupt gzip, or more than {SITEMAP_MAX_BYTES} bytes unpacked"
            data = unpacked
        sitemap = parse_sitemap(data)
        return sitemap, None if sitemap is not None else "not a sitemap (no <urlset> or <sitemapindex>)"

    # ---- stylesheets (judge.stylesheets' source) ------------------------------------------------------
    def locate(self, url: str, referrer: str) -> SheetPlace | None:
        """Only hosts in scope are asked for stylesheets, at most ``max_pages`` of them."""
        if url not in self.sheet_keys:
            if not self.host_in_scope(url) or len(self.sheet_keys) >= self.s.max_pages:
                return None
            self.sheet_keys.add(url)
        return SheetPlace(url, url)

    async def fetch(self, places: Sequence[SheetPlace]) -> list[tuple[SheetPlace, Sheet | str]]:
        got = await asyncio.gather(*(self.fetch_stylesheet(p.key) for p in places))
        self.report()
        return list(zip(places, got, strict=True))

    async def fetch_stylesheet(self, key: str) -> Sheet | str:
        if not (await self.robots_for(key)).allows(key, self.agent):
            self.stats.disallowed += 1
            return f"not fetched: robots.txt disallows it for {self.agent}"
        resp = await self.net.fetch(key, allow_hop=self.hop_check())
        if resp.error is not None or resp.status is None or not 200 <= resp.status < 300:
            return resp.problem
        media = resp.content_type
        if media not in (None, "text/css"):
            # HTML §4.6.7.5 (rel=stylesheet): a style sheet not served as text/css is not applied
            return f"not scanned: served as {media}, which browsers do not apply as a stylesheet"
        self.stats.stylesheets += 1
        return Sheet(resp.body, urls.without_fragment(resp.final_url), resp.charset)


__all__ = ["DEFAULT_MAX_PAGES", "PAGE_TYPES", "Crawl", "CrawlSettings", "CrawlStats", "Sitemap",
           "fingerprint", "gunzip", "page_kind", "parse_sitemap", "path_prefix", "scope_host", "start_url"]
