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
# the command line makes NetSettings for the commands and flags that may go online (not for a scan of files
# without network flags, which does not import this module), and only a run that goes online opens a Net

from . import urls
from .errors import SettingError, UsageError
from .settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_PER_HOST,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_TOTAL_TIMEOUT,
    DEFAULT_USER_AGENT,
)
from .wording import plural

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
    # (the defaults are settings.py's, where the command line's help reads them)
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    per_host: int = DEFAULT_PER_HOST
    min_interval: float = DEFAULT_MIN_INTERVAL
    retries: int = DEFAULT_RETRIES
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
    def problem(self) -> str:
        """What went wrong, for an errors entry: ``problem(error, detail, status)``."""
        return problem(self.error, self.detail, self.status)

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


def problem(error: str | None, detail: str | None, status: int | None) -> str:
    """One line for an errors entry about a request: the reason word (machine-readable, the module
    docstring) and the plain words ``explain`` gave it, ``"connect-refused: connection refused by
    site.test:80"``; or the HTTP status when the host answered, ``"HTTP 503"``."""
    if error is not None:
        return f"{error}: {detail}" if detail else error
    return f"HTTP {status}"


def media_type(content_type: str | None) -> str | None:
    """The media type of a Content-Type value, lower case, without parameters (None when absent/empty)."""
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


class _Blocked(OSError):
    """Raised inside the resolver when address safety refuses every address of a host."""


class _NoSuchName(socket.gaierror):
    """Raised inside the resolver when a name cannot exist, before any query; ``why`` says why."""

    def __init__(self, why: str) -> None:
        super().__init__(socket.EAI_NONAME, why)
        self.why = why


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
            raise _NoSuchName(".invalid names never exist, RFC 6761 §6.4")
        try:
            infos = await self._system.resolve(host, port, family)
        except ValueError as e:
            # Python refuses some names before any query (its IDNA codec: a label over 63 octets, RFC
            # 1035 §2.3.4): such a name cannot exist in DNS
            why = "a label is longer than 63 octets" if isinstance(e, UnicodeError) else _one_line(e)
            raise _NoSuchName(f"not a DNS name: {why}") from None
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


async def address_of(settings: NetSettings, host: str, port: int) -> str | None:
    """The address a request to HOST:PORT connects to under ``settings`` (its ``--resolve`` entry, else
    the system resolver's first answer that address safety allows; an IP literal is its own address),
    or None when there is none. For a browser told where to connect (``--render`` of a crawl)."""
    host = host.strip("[]")
    entries = {(h.lower(), p): a for h, p, a in settings.resolve}
    pinned = entries.get((host.lower(), port))
    if pinned is not None:
        return pinned
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host if settings.allow_private or is_public_address(host) else None
    import asyncio

    resolver = _resolver_class()(entries, settings.allow_private)
    try:
        infos = await asyncio.wait_for(resolver.resolve(host, port), settings.connect_timeout)
    except (OSError, TimeoutError):
        return None
    finally:
        await resolver.close()
    return str(infos[0]["host"]) if infos else None


async def peer_certificate(settings: NetSettings, host: str, port: int, address: str) -> bytes | None:
    """The certificate (DER) HOST:PORT presents at ADDRESS, if it verifies under ``settings`` (the
    system store plus ``cacert``; any with ``insecure``), else None. One TLS handshake, no request."""
    import asyncio
    import ssl

    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(address, port, ssl=ssl_context(settings), server_hostname=host.strip("[]")),
            settings.connect_timeout)
    except (OSError, TimeoutError, ValueError):
        return None
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        return bytes(der) if der else None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


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


def _words(text: str) -> str:
    """An OS or OpenSSL message as words inside a sentence: "Connection refused" -> "connection
    refused", "WRONG_VERSION_NUMBER" -> "wrong version number"."""
    text = " ".join(text.split())
    if text.isupper():
        return text.replace("_", " ").lower()
    if text[:1].isupper() and text[1:2].islower():
        return text[:1].lower() + text[1:]
    return text


def _strerror(exc: BaseException | None) -> str | None:
    """The OS's words for an error, looking through aiohttp's wrappers (None when there are none)."""
    for e in (exc, getattr(exc, "os_error", None), getattr(exc, "__cause__", None)):
        text = getattr(e, "strerror", None)
        if isinstance(text, str) and text:
            return _words(text)
    return None


def explain(exc: BaseException, host: str, port: int, settings: NetSettings | None = None, *,
            connecting: bool = False) -> tuple[str, str]:
    """The one place where a library's exception (aiohttp, ssl, OSError, a resolver's ``gaierror``)
    raised while requesting ``host:port`` becomes (docs/probe.md reason word, one line a person reads):
    ``("connect-refused", "connection refused by site.test:80")``. The reason words are the
    machine-readable part and never change; the words carry no library jargon. ``connecting``: the
    exception came while connecting (TCP and TLS), so a timeout is the connect timeout."""
    import ssl

    import aiohttp

    s = settings or NetSettings()
    where = f"{host}:{port}" if port else host
    if isinstance(exc, aiohttp.ConnectionTimeoutError) or connecting and isinstance(exc, TimeoutError):
        return "timeout", f"timed out after {s.connect_timeout:g} s connecting to {where}"
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return "timeout", f"timed out after {s.read_timeout:g} s waiting for {where} to send data"
    if isinstance(exc, TimeoutError):
        return "timeout", f"timed out after {s.total_timeout:g} s waiting for {where} to answer"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        exc = exc.certificate_error
    code = getattr(exc, "verify_code", None)
    if isinstance(code, int) and code:  # an ssl.SSLCertVerificationError: the certificate did not pass
        why = _words(getattr(exc, "verify_message", None) or "")
        reason = _VERIFY_REASONS.get(code, "tls-error")
        if reason == "tls-untrusted":
            return reason, (f"TLS certificate not trusted for {host} ({why}; "
                            f"use --cacert FILE to trust its CA, or --insecure)")
        if reason == "tls-expired":
            return reason, f"TLS certificate of {host} has expired"
        if reason == "tls-hostname-mismatch":
            return reason, f"TLS certificate is not valid for the name {host} (it was issued for other names)"
        return reason, f"TLS certificate of {host} could not be verified ({why})"
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(exc, socket.gaierror):
        os_error = getattr(exc, "os_error", exc)
        if isinstance(os_error, _Blocked) or isinstance(exc.__cause__, _Blocked):
            return "blocked-address", _one_line(os_error)
        if isinstance(os_error, _NoSuchName):
            return "dns-failure", f"no address for {host} ({os_error.why})"
        # the resolver's answer "no such name" is about the name; any other failure is our resolver's
        if isinstance(os_error, socket.gaierror) and os_error.errno in _NO_SUCH_NAME:
            return "dns-failure", f"no address for {host} (DNS lookup failed)"
        return "resolver-error", (f"could not look up {host}: the resolver on this machine failed "
                                  f"({_strerror(os_error) or _one_line(os_error)})")
    ssl_error = getattr(exc, "os_error", None) or exc  # aiohttp's wrapper is an SSLError without a reason
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(ssl_error, ssl.SSLError):
        words = getattr(ssl_error, "reason", None) or _strerror(ssl_error) or _one_line(exc)
        return "tls-error", f"TLS handshake with {where} failed ({_words(str(words))})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection-reset", f"{where} closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        if "not completed" in str(exc):
            return "connection-reset", f"{where} closed the connection before the whole body arrived"
        return "bad-response", f"the body {where} sent could not be read ({_payload_words(exc)})"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid-url", f"not a valid URL ({_one_line(exc)})"
    if isinstance(exc, aiohttp.ClientResponseError):
        # the parser's own words up to its details ("Bad status line: Expected HTTP/ ...": "bad status line")
        parsed = _words((exc.message or _one_line(exc)).split(":", 1)[0])
        return "bad-response", f"{where} did not answer in HTTP ({parsed})"
    if isinstance(exc, (aiohttp.ClientOSError, OSError)):
        reason = _connect_reason(exc)
        said = _strerror(exc)
        if reason == "connection-reset":
            return reason, f"{where} reset the connection"
        if reason == "network-unreachable":
            return reason, f"no route to {where} from this machine ({said or 'network unreachable'})"
        if reason == "local-limit":
            return reason, (f"this machine could not open a connection to {where} "
                            f"({said or 'out of resources'})")
        if _errno(exc) == errno.ECONNREFUSED:
            return reason, f"connection refused by {where}"
        return reason, f"could not connect to {where} ({said or _one_line(exc)})"
    return "bad-response", f"{where}: {_one_line(exc)}"


def _payload_words(exc: BaseException) -> str:
    """What went wrong in a body aiohttp could not read, without its wrapper's status ("400, message:")."""
    text = _one_line(exc)
    status, sep, rest = text.partition(", message:")
    return _words(rest.strip() if sep and status.isdigit() else text)


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
                        f"not requested: {self.authority} failed {plural(self.failures, 'time')} in a row "
                        f"(last: {self.last}), "
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
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
            reason, detail = explain(e, target.host or "", target.port or 0, self.settings)
            return _Attempt(None, (), b"", reason, detail)

__all__ = ["DEFAULT_USER_AGENT", "OUR_SIDE", "REDIRECT_STATUSES", "Hop", "Net", "NetSettings", "Response", "is_public_address",
           "explain", "parse_resolve", "problem", "retry_after", "ssl_context"]
