"""URL rules in one place: WHATWG parsing (through ada, a WHATWG-conformant parser), potentially
trustworthy origins (Secure Contexts §3.1-3.2), IP-literal hosts and https twins.

Every stage that needs to know what a URL *is* asks this module, so extraction, classification,
probing and rewriting cannot disagree.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from ada_url import URL, HostType
from ada_url._ada_wrapper import ffi, lib  # type: ignore[import-not-found]  # ada's C entry points (cffi)

_ASCII_WS = "\t\n\f\r "
_C0_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NL = str.maketrans("", "", "\t\n\r")

TRUSTWORTHY_SCHEMES = frozenset({"https:", "wss:", "data:", "file:", "blob:"})
# a host name (dotted labels, an alphabetic top-level label), an optional port and path: "example.org",
# "www.example.org/docs/"; the top-level label must not be a file suffix ("index.html", "report.json")
_HOST_LIKE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})(?::[0-9]{1,5})?(?:/.*)?",
                        re.IGNORECASE | re.DOTALL)
_FILE_SUFFIXES = frozenset(("html", "htm", "xhtml", "shtml", "css", "warc", "arc", "gz", "txt", "md", "xml",
                            "json"))


def meant_url(text: str) -> str | None:
    """The https URL a target written without a scheme probably means (``example.org`` ->
    ``https://example.org``), or None when it does not look like a host name."""
    m = _HOST_LIKE.fullmatch(text)
    if m is None or m.group(1).lower() in _FILE_SUFFIXES:
        return None
    return "https://" + text


def strip_ascii_whitespace(value: str) -> tuple[int, int]:
    """Return (start, end) code-point indexes of ``value`` without leading/trailing ASCII whitespace."""
    start = 0
    end = len(value)
    while start < end and value[start] in _ASCII_WS:
        start += 1
    while end > start and value[end - 1] in _ASCII_WS:
        end -= 1
    return start, end


def may_be_http(value: str) -> bool:
    """Cheap test: can ``value`` parse as an absolute http: URL on its own (without a base)?

    WHATWG URL §4.4: leading C0 controls and spaces are stripped and tab/newline removed anywhere
    before the scheme is read; the scheme is ASCII case-insensitive.
    """
    first = value[:5]
    if first[:1] > " " and "\t" not in first and "\n" not in first and "\r" not in first:
        # (nothing to strip before the scheme, nothing removed inside its first five characters: most
        # values; str.translate costs ~1.5 us on 64 characters, which a page pays per URL attribute)
        return first.lower() == "http:"
    head = value[:64].lstrip(_C0_SPACE).translate(_TAB_NL)
    return head[:5].lower() == "http:"


def _text(s: object) -> str:
    """An ada_string (pointer and length into the parsed URL) as ``str``."""
    return ffi.unpack(s.data, s.length).decode() if s.length else ""  # type: ignore[attr-defined]


@lru_cache(maxsize=8192)
def resolve(value: str, base: str) -> str | None:
    """WHATWG URL parse of ``value`` against ``base``; None when it fails (not fetched, docs/judging.md).

    Through ada's C entry points: the same parse as ``ada_url.URL(value, base).href`` (a property test
    checks it) without a Python object per URL (measured 24 us → 9 us a call)."""
    try:
        v, b = value.encode(), base.encode()
    except UnicodeEncodeError:
        return None  # a lone surrogate (an undecodable byte kept as U+DC80-U+DCFF): as URL() refuses it
    parsed = lib.ada_parse_with_base(v, len(v), b, len(b))
    try:
        return _text(lib.ada_get_href(parsed)) if lib.ada_is_valid(parsed) else None
    finally:
        lib.ada_free(parsed)


@lru_cache(maxsize=8192)
def _parts(url: str) -> tuple[str, str, int]:
    """(protocol, hostname, host type) of an absolute URL, through ada's C entry points (as ``resolve``);
    ValueError when it does not parse, as ``ada_url.URL``."""
    u = url.encode()
    parsed = lib.ada_parse(u, len(u))
    try:
        if not lib.ada_is_valid(parsed):
            raise ValueError("Invalid input")
        return (_text(lib.ada_get_protocol(parsed)), _text(lib.ada_get_hostname(parsed)),
                int(lib.ada_get_host_type(parsed)))
    finally:
        lib.ada_free(parsed)


def scheme(url: str) -> str:
    """The scheme with its colon, lower case (``"http:"``)."""
    return _parts(url)[0]


def host(url: str) -> str:
    return _parts(url)[1]


def is_http(url: str) -> bool:
    return _parts(url)[0] == "http:"


# A serialised http URL whose host is loopback or localhost (Secure Contexts §3.2 steps 3-4): the
# parser writes "http://", userinfo (its "@" percent-encoded), the host (IPv4 in dotted decimal, IPv6
# compressed in brackets, a domain in lower case), an optional port, then the path, which starts with "/"
_TRUSTWORTHY_HTTP_HREF = re.compile(
    r"http://(?:[^/@]*+@)?(?:127\.[0-9]++\.[0-9]++\.[0-9]++|\[::1\]|(?:[^/:@]*\.)?localhost\.?)(?::[0-9]*+)?/")


def is_insecure_href(href: str) -> bool:
    """``is_http(href) and not is_potentially_trustworthy(href)`` for a URL as the parser serialises it
    (every ``resolve`` result), read from the text without parsing it again: a serialised http URL
    starts with "http://" and its host is one of the forms above exactly when it is trustworthy."""
    return href.startswith("http://") and _TRUSTWORTHY_HTTP_HREF.match(href) is None


def _loopback_or_localhost(hostname: str, host_type: int) -> bool:
    if host_type == HostType.IPV4:
        # Secure Contexts §3.2 step 3: 127.0.0.0/8 (ada has already normalised 127.1, 0x7f.1, ...)
        return hostname.startswith("127.")
    if host_type == HostType.IPV6:
        # Secure Contexts §3.2 step 3: ::1/128
        return ipaddress.IPv6Address(hostname.strip("[]")) == ipaddress.IPv6Address("::1")
    name = hostname.lower()
    # Secure Contexts §3.2 step 4 (let localhost be localhost): "localhost", "localhost." and *.localhost
    return name in ("localhost", "localhost.") or name.endswith((".localhost", ".localhost."))


def is_potentially_trustworthy(url: str) -> bool:
    """Secure Contexts §3.1 "Is url potentially trustworthy?" (for an absolute URL)."""
    if url in ("about:blank", "about:srcdoc"):
        return True
    protocol, hostname, host_type = _parts(url)
    if protocol in TRUSTWORTHY_SCHEMES:
        return True
    if protocol in ("http:", "ws:"):
        return _loopback_or_localhost(hostname, host_type)
    return False


# A serialised http URL (every ``resolve`` result) whose host is written in lower-case letters, digits,
# "-", "_" and "." (a domain, unless it ends in a number: then the host parser took it for IPv4)
_HTTP_PLAIN_HOST_HREF = re.compile(r"http://(?:[^/@]*+@)?([a-z0-9_.-]++)(?::[0-9]*+)?/")
_DOMAIN = int(HostType.DEFAULT)


def insecure_host_type(url: str) -> int | None:
    """For an http URL that is not potentially trustworthy (``is_http(url) and not
    is_potentially_trustworthy(url)``), its host type (``HostType``: ``is_ip_literal`` is DEFAULT's
    absence); None for every other URL. One look at the parsed URL where those three ask one each;
    for the commonest, a serialised http URL with a plain domain, a look at its text (as
    ``is_insecure_href``), which costs a fifth of a parse."""
    m = _HTTP_PLAIN_HOST_HREF.match(url)
    if m is not None:
        host = m.group(1)
        # URL §3.5 "ends in a number": the last label (after one trailing dot) all digits or 0x-hex
        last = (host[:-1] if host.endswith(".") else host).rpartition(".")[2]
        if last and not last.isdigit() and not last.startswith("0x") and "xn--" not in host:
            # Secure Contexts §3.2 step 4: localhost and *.localhost are trustworthy
            if host in ("localhost", "localhost.") or host.endswith((".localhost", ".localhost.")):
                return None
            return _DOMAIN
    protocol, hostname, host_type = _parts(url)
    if protocol != "http:" or _loopback_or_localhost(hostname, host_type):
        return None
    return host_type


def is_ip_literal(url: str) -> bool:
    """True when the URL's host is an IPv4 (any notation the parser accepts) or IPv6 literal."""
    return _parts(url)[2] in (HostType.IPV4, HostType.IPV6)


def is_ipv6_literal(url: str) -> bool:
    return _parts(url)[2] == HostType.IPV6


@lru_cache(maxsize=8192)
def https_twin(url: str) -> str:
    """The same URL with scheme https, port 80 → 443 (dropped) and other ports kept (docs/probe.md)."""
    u = URL(url)
    if u.protocol == "ws:":
        u.protocol = "wss:"
    else:
        u.protocol = "https:"
    return u.href


def href_twin(href: str) -> str:
    """``https_twin`` of a URL as the URL parser serialises it (every ``Reference.url`` is one),
    without parsing it again: in a serialised http URL the authority ends at the first "/" (userinfo
    is percent-encoded, and a special URL's path always starts with "/"), and a port of 443, the
    https default, is the only one the scheme change drops. Anything else goes to ``https_twin``."""
    if href.startswith("http://"):
        slash = href.find("/", 7)
        if slash > 7:
            return "https://" + href[7:slash].removesuffix(":443") + href[slash:]
    return https_twin(href)


def without_fragment(url: str) -> str:
    """A serialised URL without its fragment (a serialised WHATWG URL escapes '#' everywhere but
    before its fragment, so the first '#' starts it)."""
    return url.split("#", 1)[0]


def origin(url: str) -> str | None:
    try:
        return URL(url).origin
    except ValueError:
        return None
