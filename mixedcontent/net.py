"""The one I/O seam (STYLE.md, politeness by construction): every outbound request goes through ``Net``.

    async with Net(settings) as net:
        response = await net.fetch("https://cdn.example/a.png", method="HEAD")

Nothing raises for network, HTTP or TLS problems: a ``Response`` always comes back, with ``error``
set to one reason word when no usable HTTP response arrived:

    tls-untrusted, tls-expired, tls-hostname-mismatch, tls-error   certificate / handshake (docs/probe.md)
    connect-refused, timeout                                        reaching the host (docs/probe.md)
    dns-failure                                                     the resolver answered: no such name
                                                                    (NXDOMAIN, or no address record)
    resolver-error                                                  the resolver could not answer (temporary
                                                                    failure, SERVFAIL, refused, unreachable)
    network-unreachable                                             no route from here (ENETUNREACH, ...)
    local-limit                                                     our own limits (out of sockets, ports)
    blocked-address                                                 address safety refused it (docs/probe.md)
    too-many-redirects, redirect-loop                               redirect chains (status: last 3xx)
    redirect-refused                                                the caller's ``allow_hop`` refused a hop
    too-large                                                       body over the cap (status set; body
                                                                    empty unless ``partial=True``)
    connection-reset, bad-response                                  the peer hung up / spoke no HTTP
    host-failing                                                    not sent: the host's failure budget is
                                                                    spent (``host_failures`` in a row)
    unsupported-scheme, invalid-url                                 not an http(s) URL we can request

``resolver-error``, ``network-unreachable`` and ``local-limit`` are failures on *our* side: they say
nothing about the host (``OUR_SIDE``).

What it enforces, run-wide (one aiohttp session per ``Net``): ``--resolve`` entries (curl's meaning:
HOST:PORT pairs pinned to an address) on every connection; address safety (private, link-local,
multicast, reserved, unspecified, loopback, shared and other non-global addresses are refused unless
``allow_private``, or unless the address is the user's own ``--resolve`` entry for that host and port);
certificates checked against the system store plus ``cacert``; total / connect / read timeouts;
redirects followed by hand, each hop checked again, loops detected; bodies read in chunks with the
*decompressed* size capped (aiohttp decompresses in bounded steps, so a gzip bomb stops at the cap),
and a body over the cap is never handed out as if it were whole (``too-large`` with an empty body,
unless the caller asks for the prefix with ``partial=True``); retries with exponential backoff on
connection errors, 429 and 503 for GET/HEAD, honouring ``Retry-After`` (seconds or an HTTP-date) up
to ``retry_after_cap`` (a longer one is a failure, not a wait); a per-host failure budget (after
``host_failures`` failed attempts in a row -- Scrapy's retry statuses, timeouts, refused or reset
connections -- the host is given up for the run: every later request to it ends at once as
``host-failing``); a global bound, a per-host bound and a per-host minimum interval between request
starts. ``.invalid`` names are answered here, never sent to DNS (RFC 6761 §6.4).
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    import asyncio
    import ssl

    import aiohttp
    from aiohttp.abc import ResolveResult
    from yarl import URL

# aiohttp (and yarl) are imported when a Net is first opened, not with this module: they cost ~130 ms
# of start-up that a scan of files on disk never needs; so are asyncio, ssl and email (~35 ms more):
# the command line makes NetSettings for every command, and only a run that goes online opens a Net

from . import urls
from .errors import SettingError, UsageError
from .version import __version__

DEFAULT_USER_AGENT = f"mixedcontent/{__version__}"
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
_RETRY_STATUSES = frozenset((429, 503))
_RETRY_ERRORS = frozenset(("connect-refused", "connection-reset"))
_SAFE_METHODS = frozenset(("GET", "HEAD"))
_CHUNK = 64 * 1024
# failures on our side of the network: they say nothing about the host asked (see NOTES.md)
OUR_SIDE = frozenset(("resolver-error", "network-unreachable", "local-limit"))
# getaddrinfo codes (RFC 3493 §6.1, glibc <netdb.h>) by which the resolver *answers* that a name has
# no address: NXDOMAIN, or a name without A/AAAA records. Every other code means it could not answer.
_NO_SUCH_NAME = frozenset(getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n))
# connect(2) errors that mean no route from this machine, and ones that are our own limits
_UNREACHABLE = frozenset((errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN))
_LOCAL_LIMITS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EADDRNOTAVAIL))
# the per-host failure budget counts these answers (Scrapy's RETRY_HTTP_CODES) and errors; any other
# answer from the host resets it; our-side failures, TLS verdicts and refusals before sending do neither
_FAILURE_STATUSES = frozenset((408, 429, 500, 502, 503, 504, 522, 524))
_FAILURE_ERRORS = frozenset(("timeout", "connect-refused", "connection-reset", "bad-response"))
_NEUTRAL_ERRORS = OUR_SIDE | {"dns-failure", "blocked-address", "invalid-url", "unsupported-scheme",
                              "host-failing", "tls-untrusted", "tls-expired", "tls-hostname-mismatch",
                              "tls-error"}

# OpenSSL X509_V_ERR_* verify codes (include/openssl/x509_vfy.h) -> docs/probe.md reason words
_VERIFY_REASONS = {
    10: "tls-expired",  # CERT_HAS_EXPIRED
    62: "tls-hostname-mismatch",  # HOSTNAME_MISMATCH
    64: "tls-hostname-mismatch",  # IP_ADDRESS_MISMATCH
    2: "tls-untrusted",  # UNABLE_TO_GET_ISSUER_CERT
    18: "tls-untrusted",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "tls-untrusted",  # SELF_SIGNED_CERT_IN_CHAIN
    20: "tls-untrusted",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "tls-untrusted",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    24: "tls-untrusted",  # INVALID_CA
    27: "tls-untrusted",  # CERT_UNTRUSTED
}


@dataclass(frozen=True, slots=True)
class NetSettings:
    resolve: tuple[tuple[str, int, str], ...] = ()  # curl --resolve HOST:PORT:ADDRESS entries
    cacert: str | None = None  # extra CA bundle (PEM) trusted besides the system store
    insecure: bool = False  # skip certificate verification
    allow_private: bool = False  # allow private/link-local/reserved/loopback addresses
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0  # seconds to open the TCP connection (and TLS handshake)
    read_timeout: float = 30.0  # seconds between two reads of the socket
    total_timeout: float = 60.0  # seconds for one request attempt, body included
    concurrency: int = 16  # requests in flight, run-wide
    per_host: int = 8  # requests in flight per host (as Scrapy's per-domain default)
    min_interval: float = 0.0  # seconds between request starts to one host (politeness)
    retries: int = 2  # extra attempts on connection errors, 429, 503 (GET/HEAD only)
    max_body: int = 10 * 2**20  # decompressed bytes; beyond that -> error "too-large", empty body
    max_redirects: int = 10
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    # longest Retry-After honoured, seconds: the default total timeout, i.e. a wait no longer than one
    # request may take (rate limiters commonly ask 60 s); a longer one ends the request as it answered
    retry_after_cap: float = 60.0
    # failed attempts in a row (5xx/429/408 answers, timeouts, refused or reset connections) after which
    # a host (its origin: scheme, name, port) is given up for the rest of the run; 0: never (Nutch's
    # fetcher.max.exceptions.per.queue is the same idea)
    host_failures: int = 5

    def __post_init__(self) -> None:
        """Refuse bad values where they are made, naming each by its command-line option (SettingError)."""
        for key, value, zero_ok in (("timeout", self.total_timeout, False),
                                    ("connect-timeout", self.connect_timeout, False),
                                    ("read-timeout", self.read_timeout, False), ("delay", self.min_interval, True),
                                    ("backoff", self.backoff, True), ("retry-after-cap", self.retry_after_cap, True)):
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0
                    or math.isinf(value) or (value == 0 and not zero_ok)):
                shown = f"{value:g}" if isinstance(value, (int, float)) else repr(value)  # 0 and 0.0 alike
                raise SettingError(key, f"{key} must be a {'' if zero_ok else 'positive '}number of seconds"
                                        f"{' (0 or more)' if zero_ok else ''}, got {shown}")
        for key, count, least in (("concurrency", self.concurrency, 1), ("per-host", self.per_host, 1),
                                  ("retries", self.retries, 0), ("max-body", self.max_body, 1),
                                  ("max-redirects", self.max_redirects, 0)):
            if isinstance(count, bool) or not isinstance(count, int) or count < least:
                raise SettingError(key, f"{key} must be {least} or more, got {count!r}")
        if self.cacert is not None:
            if not os.path.isfile(self.cacert):
                raise SettingError("cacert", f"cacert {self.cacert}: no such file")
            if not self.insecure:
                ssl_context(self)  # an unreadable or non-PEM bundle is refused now, not as a failed request later


def parse_resolve(text: str) -> tuple[str, int, str]:
    """curl's ``--resolve HOST:PORT:ADDRESS`` (IPv6 addresses in brackets: ``host:443:[::1]``).

    The host is lower-cased and IDNA-encoded, as the connection layer sees it. Raises UsageError.
    """
    usage = f"--resolve {text!r}: expected HOST:PORT:ADDRESS with a numeric address (IPv6 in brackets)"
    host, sep1, rest = text.partition(":")
    port_text, sep2, addr = rest.partition(":")
    if not (sep1 and sep2 and host and port_text and addr):
        raise UsageError(usage)
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--resolve {text!r}: port must be a number from 1 to 65535")
    try:
        address = ipaddress.ip_address(addr)
    except ValueError:
        raise UsageError(usage) from None
    try:
        host = host.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise UsageError(f"--resolve {text!r}: {host!r} is not a valid host name") from None
    return host, int(port_text), str(address)


def is_public_address(address: str) -> bool:
    """docs/probe.md address safety: False for private, link-local (169.254.169.254), multicast, reserved,
    unspecified, loopback and other non-global addresses; IPv4 embedded in IPv6 (mapped, 6to4,
    NAT64) is judged as the IPv4 address it carries."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return not (ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or ip.is_loopback or not ip.is_global)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class Hop:
    url: str
    status: int
    location: str | None


@dataclass(frozen=True, slots=True)
class Response:
    url: str  # the URL asked for
    final_url: str  # after redirects followed (the last URL requested)
    status: int | None  # None when no HTTP response arrived (then error is set)
    headers: tuple[tuple[str, str], ...]  # final response headers in order, duplicates kept
    body: bytes  # decompressed; b"" for HEAD (and when read_body=False)
    redirects: tuple[Hop, ...]  # every redirect hop followed, in order
    error: str | None  # None when a usable HTTP response arrived; else a reason word (module docstring)
    detail: str | None  # one-line human explanation of the error
    tls: bool  # final response came over TLS
    attempts: int = 1  # attempts made for the final hop (1 + retries used)

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def content_type(self) -> str | None:
        """The media type of Content-Type, lower case, without parameters (None when absent/empty)."""
        return media_type(self.header("Content-Type"))

    @property
    def charset(self) -> str | None:
        value = self.header("Content-Type")
        if value is None:
            return None
        for param in value.split(";")[1:]:
            key, _, val = param.partition("=")
            if key.strip().lower() == "charset":
                return val.strip().strip('"') or None
        return None


def media_type(content_type: str | None) -> str | None:
    """The media type of a Content-Type value, lower case, without parameters (None when absent/empty)."""
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


class _Blocked(OSError):
    """Raised inside the resolver when address safety refuses every address of a host."""


@cache
def _resolver_class() -> type:
    """The resolver class, made on first use (it subclasses aiohttp's, imported only then)."""
    import aiohttp
    from aiohttp.abc import AbstractResolver

    class Resolver(_Resolver, AbstractResolver):
        def __init__(self, entries: Mapping[tuple[str, int], str], allow_private: bool) -> None:
            self._entries = entries
            self._allow_private = allow_private
            self._system = aiohttp.ThreadedResolver()
            self.resolved = 0

    return Resolver


class _Resolver:
    """--resolve entries first (curl: exact HOST:PORT), then the system resolver, filtered by address
    safety. Because aiohttp connects to what the resolver returns, a name cannot be re-pointed at a
    private address between the check and the connection. (Made through ``_resolver_class``.)"""

    _entries: Mapping[tuple[str, int], str]
    _allow_private: bool
    _system: aiohttp.ThreadedResolver
    resolved: int  # names the system resolver gave addresses for (evidence that it answers for real)

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        pinned = self._entries.get((host.lower(), port))
        if pinned is not None:
            fam = socket.AF_INET6 if ":" in pinned else socket.AF_INET
            return [{"hostname": host, "host": pinned, "port": port, "family": fam, "proto": 0,
                     "flags": socket.AI_NUMERICHOST}]
        if host.lower().rstrip(".").endswith(".invalid") or host.lower().rstrip(".") == "invalid":
            # RFC 6761 §6.4: resolution APIs should answer at once that .invalid names do not exist
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: .invalid names never exist (RFC 6761 §6.4)")
        try:
            infos = await self._system.resolve(host, port, family)
        except ValueError as e:
            # Python refuses some names before any query (its IDNA codec: a label over 63 octets, RFC
            # 1035 §2.3.4): such a name cannot exist in DNS
            why = "a label is longer than 63 octets" if isinstance(e, UnicodeError) else _one_line(e)
            raise socket.gaierror(socket.EAI_NONAME, f"{host[:80]}: not a DNS name ({why})") from None
        self.resolved += 1
        if self._allow_private:
            return infos
        safe = [i for i in infos if is_public_address(i["host"])]
        if not safe:
            raise _Blocked(f"{host} resolves to {infos[0]['host']}, a non-public address "
                           f"(use --allow-private, or --resolve to point it somewhere on purpose)")
        return safe

    async def close(self) -> None:
        await self._system.close()


@dataclass(frozen=True, slots=True)
class _Attempt:
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str | None
    detail: str | None
    attempts: int = 1


def ssl_context(settings: NetSettings) -> ssl.SSLContext:
    """The system trust store plus ``cacert``; no verification at all with ``insecure``. Made once per
    (settings, CA file as it is now): loading the system store costs ~35 ms, and a run asks up to
    three times (flag check, crawl or audit, probe)."""
    stamp = None
    if settings.cacert and not settings.insecure:
        try:
            st = os.stat(settings.cacert)
            stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None  # the load below reports it
    return _ssl_context(settings.insecure, None if settings.insecure else settings.cacert, stamp)


@lru_cache(maxsize=8)
def _ssl_context(insecure: bool, cacert: str | None, stamp: tuple[int, ...] | None) -> ssl.SSLContext:
    import ssl

    ctx = ssl.create_default_context()
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if cacert:
        try:
            ctx.load_verify_locations(cafile=cacert)
        except (OSError, ssl.SSLError) as e:
            raise SettingError("cacert", f"cacert {cacert}: not a readable PEM CA bundle: {e}") from None
    return ctx


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date)."""
    import email.utils

    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _tls_reason(exc: BaseException) -> tuple[str, str]:
    code = getattr(exc, "verify_code", None)
    message = getattr(exc, "verify_message", None) or str(exc)
    if isinstance(code, int) and code in _VERIFY_REASONS:
        return _VERIFY_REASONS[code], f"certificate verify failed: {message}"
    return "tls-error", f"certificate verify failed: {message}"


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


def _errno(exc: BaseException) -> int | None:
    """The errno of a connection error, looking through aiohttp's wrappers."""
    for e in (exc, getattr(exc, "os_error", None), exc.__cause__):
        code = getattr(e, "errno", None)
        if isinstance(code, int):
            return code
    return None


def _connect_reason(exc: BaseException) -> str:
    """docs/probe.md word for a failed connect(2): who is at fault decides (see ``OUR_SIDE``)."""
    code = _errno(exc)
    if code in _UNREACHABLE:
        return "network-unreachable"
    if code in _LOCAL_LIMITS:
        return "local-limit"
    if code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return "connection-reset"
    return "connect-refused"


def _host_failure(got: _Attempt) -> str | None:
    """What an attempt says about its host, for the failure budget: the failure ("HTTP 503", "timeout",
    ...), None when the host answered, or ``"neutral"`` when it says nothing (``_NEUTRAL_ERRORS``)."""
    if got.error is None:
        return f"HTTP {got.status}" if got.status in _FAILURE_STATUSES else None
    if got.error in _FAILURE_ERRORS:
        return got.error
    if got.error in _NEUTRAL_ERRORS:
        return "neutral"
    return None  # an answer that was too large: the host works


def _event() -> asyncio.Event:
    import asyncio

    return asyncio.Event()


@dataclass(slots=True)
class _HostBudget:
    """The failure budget of one host (its origin), run-wide."""

    authority: str  # the origin it guards (scheme, host, port)
    failures: int = 0  # failed attempts in a row
    last: str = ""  # what the last failure was
    spent: asyncio.Event = field(default_factory=_event)  # set once the host is given up

    def record(self, failure: str | None, limit: int) -> None:
        if failure == "neutral" or self.spent.is_set():
            return
        if failure is None:
            self.failures = 0
            return
        self.failures += 1
        self.last = failure
        if 0 < limit <= self.failures:
            self.spent.set()

    def refusal(self) -> _Attempt:
        return _Attempt(None, (), b"", "host-failing",
                        f"not requested: {self.authority} failed {self.failures} times in a row (last: {self.last}), "
                        f"so this run stopped asking it")


def _authority(url: str) -> str:
    """The failure budget's key: the URL's origin (scheme, host, port); the URL itself when it has none."""
    return urls.origin(url) or url


class Net:
    """One aiohttp session per run, with its limits and caches; ``async with Net(settings) as net``."""

    def __init__(self, settings: NetSettings = NetSettings()) -> None:
        self.settings = settings
        self._entries = {(h.lower(), p): a for h, p, a in settings.resolve}
        self._session: aiohttp.ClientSession | None = None
        self._global: asyncio.Semaphore | None = None
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._pace_locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}
        self._budgets: dict[str, _HostBudget] = {}
        self._resolver: _Resolver | None = None
        self.requests = 0  # HTTP requests sent (every attempt of every hop)

    @property
    def resolved(self) -> int:
        """Names the system resolver gave addresses for in this run (``--resolve`` entries aside): a
        "no such name" answer is believable only once the resolver has shown it answers for real."""
        return self._resolver.resolved if self._resolver is not None else 0

    def given_up(self) -> dict[str, str]:
        """Hosts (origins, ``https://name:port``) whose failure budget is spent, with their last failure."""
        return {a: b.last for a, b in self._budgets.items() if b.spent.is_set()}

    async def __aenter__(self) -> Self:
        import asyncio

        import aiohttp

        s = self.settings
        resolver = _resolver_class()(self._entries, s.allow_private)
        self._resolver = resolver
        connector = aiohttp.TCPConnector(
            resolver=resolver, ssl=ssl_context(s),
            limit=max(1, s.concurrency), limit_per_host=max(1, s.per_host))
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=s.total_timeout, sock_connect=s.connect_timeout,
                                          sock_read=s.read_timeout),
            headers={"User-Agent": s.user_agent}, auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
        self._global = asyncio.Semaphore(max(1, s.concurrency))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, *, method: str = "GET", follow_redirects: bool = True,
                    max_body: int | None = None, headers: Mapping[str, str] | None = None,
                    read_body: bool = True, max_redirects: int | None = None, partial: bool = False,
                    allow_hop: Callable[[str], Awaitable[str | None]] | None = None) -> Response:
        """Request ``url``; never raises for network, HTTP or TLS problems (see the module docstring).

        ``read_body=False`` reads no body (status and headers only); ``max_body`` lowers or raises the
        run's cap for this call, and a body over the cap comes back empty (error ``too-large``) unless
        ``partial`` asks for its first ``max_body`` bytes; ``max_redirects`` overrides the run's cap.
        ``allow_hop(target)`` is awaited before each redirect hop is requested: a reason string refuses
        the hop (error ``redirect-refused``; the response is the 3xx that pointed there). Redirects
        keep the method (GET and HEAD are all this tool sends).
        """
        method = method.upper()
        limit = self.settings.max_redirects if max_redirects is None else max_redirects
        cap = self.settings.max_body if max_body is None else max_body
        hops: list[Hop] = []
        seen = {url}
        current = url
        while True:
            follow = follow_redirects
            got = await self._attempts(current, method, headers, cap, read_body, follow, partial)
            location = None
            if got.status in REDIRECT_STATUSES:
                location = next((v for k, v in got.headers if k.lower() == "location"), None)
            if got.error is not None or not follow or location is None:
                return self._response(url, current, got, hops)
            target = urls.resolve(location.strip(), current)
            if target is None or urls.scheme(target) not in ("http:", "https:"):
                return self._response(url, current, got, hops, "unsupported-scheme",
                                      f"redirect to {location[:200]!r}, not an http(s) URL")
            hops.append(Hop(current, got.status or 0, location))
            if target in seen:
                return self._response(url, current, got, hops, "redirect-loop",
                                      f"redirect back to {target} after {len(hops)} hops")
            if len(hops) > limit:
                return self._response(url, current, got, hops, "too-many-redirects",
                                      f"more than {limit} redirects")
            if allow_hop is not None:
                refusal = await allow_hop(target)
                if refusal is not None:
                    return self._response(url, current, got, hops, "redirect-refused",
                                          f"redirect {len(hops)} from {current} to {target} not followed: {refusal}")
            seen.add(target)
            current = target

    def _response(self, url: str, current: str, got: _Attempt, hops: list[Hop], error: str | None = None,
                  detail: str | None = None) -> Response:
        if error is None:
            error, detail = got.error, got.detail
        tls = got.status is not None and current.lower().startswith("https:")
        return Response(url=url, final_url=current, status=got.status, headers=got.headers, body=got.body,
                        redirects=tuple(hops), error=error, detail=detail, tls=tls, attempts=got.attempts)

    def _budget(self, authority: str) -> _HostBudget:
        budget = self._budgets.get(authority)
        if budget is None:
            budget = self._budgets[authority] = _HostBudget(authority)
        return budget

    async def _attempts(self, url: str, method: str, headers: Mapping[str, str] | None, cap: int,
                        read_body: bool, following: bool, partial: bool) -> _Attempt:
        """One hop, retried with backoff where that is safe, within its host's failure budget."""
        import asyncio

        s = self.settings
        budget = self._budget(_authority(url))
        attempt = 0
        while True:
            got = await self._attempt(url, method, headers, cap, read_body, following, partial, budget)
            if got.error != "host-failing":
                budget.record(_host_failure(got), s.host_failures)
            delay: float | None = None
            if method in _SAFE_METHODS and attempt < s.retries and not budget.spent.is_set():
                if got.error in _RETRY_ERRORS:
                    delay = min(s.backoff * 2**attempt, s.retry_after_cap)
                elif got.error is None and got.status in _RETRY_STATUSES:
                    value = next((v for k, v in got.headers if k.lower() == "retry-after"), None)
                    asked = retry_after(value)
                    # RFC 9110 §10.2.3 asks us to wait; a wait longer than the cap is a failure, not a wait
                    delay = min(s.backoff * 2**attempt, s.retry_after_cap) if asked is None else (
                        asked if asked <= s.retry_after_cap else None)
            if delay is None:
                return _Attempt(got.status, got.headers, got.body, got.error, got.detail, attempt + 1)
            try:  # the wait ends early when the host is given up meanwhile (then this answer stands)
                await asyncio.wait_for(budget.spent.wait(), delay)
                return _Attempt(got.status, got.headers, got.body, got.error, got.detail, attempt + 1)
            except TimeoutError:
                pass
            attempt += 1

    def _blocked_literal(self, host: str, port: int) -> bool:
        """aiohttp never asks the resolver about IP-literal hosts: check those here."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        if self.settings.allow_private or is_public_address(str(ip)):
            return False
        return self._entries.get((str(ip), port)) != str(ip)

    async def _pace(self, host: str) -> None:
        import asyncio

        interval = self.settings.min_interval
        if interval <= 0:
            return
        lock = self._pace_locks.setdefault(host, asyncio.Lock())
        async with lock:
            loop = asyncio.get_running_loop()
            wait = self._last_start.get(host, -math.inf) + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_start[host] = loop.time()

    async def _attempt(self, url: str, method: str, headers: Mapping[str, str] | None, cap: int,
                       read_body: bool, following: bool, partial: bool, budget: _HostBudget) -> _Attempt:
        import asyncio

        if self._session is None or self._global is None:
            raise RuntimeError("Net is used outside `async with`")
        from yarl import URL  # imported with aiohttp by __aenter__

        try:
            target = URL(url, encoded=True)
        except (ValueError, TypeError) as e:
            return _Attempt(None, (), b"", "invalid-url", _one_line(e))
        if target.scheme not in ("http", "https"):
            return _Attempt(None, (), b"", "unsupported-scheme", f"{target.scheme}: URLs are not fetched")
        host = (target.raw_host or "").lower()
        if not host:
            return _Attempt(None, (), b"", "invalid-url", "the URL has no host")
        port = target.port or (443 if target.scheme == "https" else 80)
        # docs/probe.md address safety, for hosts that are already addresses
        if self._blocked_literal(host, port):
            return _Attempt(None, (), b"", "blocked-address",
                            f"{host} is a non-public address (use --allow-private to allow it)")
        if budget.spent.is_set():
            return budget.refusal()
        sem = self._per_host.setdefault(host, asyncio.Semaphore(max(1, self.settings.per_host)))
        async with sem:
            await self._pace(host)
            if budget.spent.is_set():  # given up while this request waited for its turn
                return budget.refusal()
            async with self._global:
                self.requests += 1
                return await self._send(target, method, headers, cap, read_body, following, partial)

    async def _send(self, target: URL, method: str, headers: Mapping[str, str] | None, cap: int,
                    read_body: bool, following: bool, partial: bool) -> _Attempt:
        import ssl

        import aiohttp  # imported by __aenter__ already: a dictionary lookup

        assert self._session is not None
        try:
            async with self._session.request(method, target, allow_redirects=False,
                                             headers=dict(headers) if headers else None) as resp:
                raw = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers)
                status = resp.status
                if method == "HEAD" or not read_body or (following and status in REDIRECT_STATUSES):
                    return _Attempt(status, raw, b"", None, None)
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    if size + len(chunk) > cap:
                        # a cut body is never handed out as if it were whole: only on request
                        body = b"".join((*chunks, chunk[:cap - size])) if partial else b""
                        return _Attempt(status, raw, body, "too-large",
                                        f"the body is larger than {cap} bytes (decompressed)")
                    chunks.append(chunk)
                    size += len(chunk)
                return _Attempt(status, raw, b"".join(chunks), None, None)
        except (TimeoutError, aiohttp.ServerTimeoutError) as e:
            return _Attempt(None, (), b"", "timeout", f"no answer in time ({type(e).__name__})")
        except aiohttp.ClientConnectorCertificateError as e:
            reason, detail = _tls_reason(e.certificate_error)
            return _Attempt(None, (), b"", reason, detail)
        except aiohttp.ClientSSLError as e:
            return _Attempt(None, (), b"", "tls-error", _one_line(e))
        except aiohttp.ClientConnectorDNSError as e:
            if isinstance(e.os_error, _Blocked) or isinstance(e.__cause__, _Blocked):
                return _Attempt(None, (), b"", "blocked-address", _one_line(e.os_error))
            # the resolver's answer "no such name" is about the name; any other failure is our resolver's
            reason = "dns-failure" if isinstance(e.os_error, socket.gaierror) and e.os_error.errno in _NO_SUCH_NAME \
                else "resolver-error"
            return _Attempt(None, (), b"", reason, f"cannot resolve {target.host}: {_one_line(e.os_error)}")
        except aiohttp.ClientConnectorError as e:
            return _Attempt(None, (), b"", _connect_reason(e), _one_line(e))
        except aiohttp.ServerDisconnectedError as e:
            return _Attempt(None, (), b"", "connection-reset", f"the server closed the connection: {_one_line(e)}")
        except aiohttp.ClientOSError as e:
            return _Attempt(None, (), b"", _connect_reason(e), _one_line(e))
        except aiohttp.ClientPayloadError as e:
            reason = "connection-reset" if "not completed" in str(e) else "bad-response"
            return _Attempt(None, (), b"", reason, _one_line(e))
        except aiohttp.InvalidURL as e:
            return _Attempt(None, (), b"", "invalid-url", _one_line(e))
        except aiohttp.ClientResponseError as e:
            return _Attempt(None, (), b"", "bad-response", _one_line(e))
        except aiohttp.ClientError as e:
            return _Attempt(None, (), b"", "bad-response", _one_line(e))
        except ssl.SSLError as e:
            return _Attempt(None, (), b"", "tls-error", _one_line(e))
        except (ConnectionResetError, BrokenPipeError) as e:
            return _Attempt(None, (), b"", "connection-reset", _one_line(e))


__all__ = ["DEFAULT_USER_AGENT", "OUR_SIDE", "REDIRECT_STATUSES", "Hop", "Net", "NetSettings", "Response", "is_public_address",
           "parse_resolve", "retry_after", "ssl_context"]
