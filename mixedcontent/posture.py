"""The HTTPS posture audit (docs/audit.md): the http → https redirect, HSTS (RFC 6797), the HSTS preload
list's rules, cookies, and the landing page's own mixed content.

The judging is pure: functions over recorded ``Exchange`` values (one request, one response, no
redirect followed) return ``Issue`` values. Only ``audit()`` awaits: it records the exchanges through
``net.Net`` (the one I/O seam), then judges them and builds a ``ScanResult`` whose posture findings
have context ``header`` and no byte offset.

"Same host" always compares host *names* (case-insensitive), never ports: hstspreload's rule is
about names, and it lets a test site serve http and https on two non-default loopback ports.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import urls
from .model import Finding, Issue, ScanError, ScanResult, Severity, Sheet, SheetPlace, Target, TargetKind
from .net import Net, NetSettings, Response, problem

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

    from .tls import TlsPool, TlsScan, TlsSettings

STS = "Strict-Transport-Security"
OBSERVATORY_MAX_AGE = 15552000  # 180 days: MDN HTTP Observatory's bar (MC506)
PRELOAD_MAX_AGE = 31536000  # one year: hstspreload.org's minimum (MC504)
TEN_YEARS = 10 * 365 * 86400  # hstspreload.org warns above this
MAX_HOPS = 10  # docs/audit.md#redirect: follow up to 10 hops by hand
WEAK_HOPS = 3  # docs/audit.md#redirect / hstspreload: more than 3 redirects is weak
PERMANENT = frozenset((301, 308))
TEMPORARY = frozenset((302, 303, 307))
REDIRECTS = PERMANENT | TEMPORARY
AUTH_WORDS = ("sess", "auth", "token", "login", "sid")

# RFC 2616 §2.2 (referenced by RFC 6797 §6.1): separators, CTLs, LWS
_SEPARATORS = frozenset('()<>@,;:\\"/[]?={} \t')
_LWS = " \t"


def _is_token_char(c: str) -> bool:
    o = ord(c)
    return 32 < o < 127 and c not in _SEPARATORS


# ---------------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its response as recorded, no redirect followed. ``status`` is None when no
    HTTP response arrived; ``error`` is then one of net.py's reason words."""

    url: str
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    detail: str | None = None
    body: bytes = b""

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def tls(self) -> bool:
        return self.status is not None and self.url.lower().startswith("https:")

    @property
    def location(self) -> str | None:
        """The absolute URL this response redirects to, or None (not a redirect, or unparseable)."""
        if self.status not in REDIRECTS:
            return None
        values = self.header_all("Location")
        if not values:
            return None
        return urls.resolve(values[0].strip(), self.url)


@dataclass(frozen=True, slots=True)
class Chain:
    """Exchanges from a start URL, following redirects by hand. ``end`` says how the walk stopped:
    ``done`` (a non-redirect response), ``error`` (the last exchange got no response), ``loop``,
    ``too-many`` (more than MAX_HOPS redirects) or ``bad-location`` (a redirect to no http(s) URL)."""

    start: str
    exchanges: tuple[Exchange, ...]
    end: str

    @property
    def last(self) -> Exchange:
        return self.exchanges[-1]

    @property
    def hops(self) -> int:
        """Redirects followed."""
        return len(self.exchanges) - 1 if self.end in ("done", "error") else len(self.exchanges)

    def describe(self) -> str:
        """``http://a/ 301 → https://a/ 200``: the chain as one line."""
        parts = []
        for ex in self.exchanges:
            parts.append(f"{ex.url} {ex.status if ex.status is not None else ex.error}")
        text = " → ".join(parts)
        if self.end == "loop":
            text += " → (loop)"
        elif self.end == "too-many":
            text += f" → (more than {MAX_HOPS} redirects)"
        elif self.end == "bad-location":
            text += " → (Location is not an http(s) URL)"
        return text


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an STS header is invalid (or odd): a stable ``key`` and a sentence."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class HstsPolicy:
    """One Strict-Transport-Security header value, parsed per RFC 6797 §6.1.

    ``valid`` is what browsers decide (they ignore an invalid header, §8.1). ``problems`` say why it
    is invalid; ``notes`` name oddities browsers accept (a repeated or valued unknown directive)."""

    header: str
    valid: bool
    max_age: int | None = None
    max_age_quoted: bool = False
    include_subdomains: bool = False
    preload: bool = False
    preload_with_value: bool = False
    problems: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Cookie:
    """A Set-Cookie header as a browser parses it (RFC 6265 §5.2)."""

    name: str
    secure: bool
    http_only: bool
    same_site: str | None  # the last SameSite attribute's value as written, None when absent
    raw: str


# ---------------------------------------------------------------------------------------------------
# HSTS header (RFC 6797 §6.1, §8.1)
# ---------------------------------------------------------------------------------------------------

def _skip_lws(s: str, i: int) -> int:
    while i < len(s) and s[i] in _LWS:
        i += 1
    return i


def _quoted_string(s: str, i: int) -> tuple[str, int] | None:
    """RFC 2616 §2.2 quoted-string starting at ``s[i] == '"'``: (unescaped text, end) or None."""
    out: list[str] = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            # quoted-pair = "\" CHAR (CHAR: US-ASCII 0-127)
            if i + 1 >= len(s) or ord(s[i + 1]) > 127:
                return None
            out.append(s[i + 1])
            i += 2
            continue
        # qdtext = <any TEXT except <">>; TEXT excludes CTLs but allows LWS
        if (ord(c) < 32 and c != "\t") or ord(c) == 127:
            return None
        out.append(c)
        i += 1
    return None


def _tokenize(value: str) -> tuple[list[tuple[str, str | None, bool]], list[Problem], set[str]]:
    """Split an STS value into (name, value or None, quoted) directives per the §6.1 grammar
    ``[ directive ] *( ";" [ directive ] )`` with RFC 2616 implied LWS; syntax problems are
    collected and the walk resumes after the next ``;``. Also returns the lower-case names of
    malformed directives (so a broken max-age is not also reported as missing)."""
    directives: list[tuple[str, str | None, bool]] = []
    problems: list[Problem] = []
    malformed: set[str] = set()
    i, n = 0, len(value)

    def resync(at: int, what: str) -> int:
        problems.append(Problem("syntax", what))
        j = at
        while j < n and value[j] != ";":
            if value[j] == '"':
                q = _quoted_string(value, j)
                j = q[1] if q else n
                continue
            j += 1
        return j + 1

    while True:
        i = _skip_lws(value, i)
        if i >= n:
            break
        if value[i] == ";":  # an empty directive is allowed by the grammar
            i += 1
            continue
        start = i
        while i < n and _is_token_char(value[i]):
            i += 1
        name = value[start:i]
        if not name:
            i = resync(i, f"{value[i]!r} at position {i + 1} cannot start a directive name (a token)")
            continue
        i = _skip_lws(value, i)
        malformed.add(name.lower())  # until the directive is complete
        dvalue: str | None = None
        quoted = False
        if i < n and value[i] == "=":
            i = _skip_lws(value, i + 1)
            if i < n and value[i] == '"':
                q = _quoted_string(value, i)
                if q is None:
                    problems.append(Problem("syntax", f"the quoted value of {name!r} is not terminated "
                                                      f"(or holds a control character)"))
                    break
                dvalue, i = q
                quoted = True
            else:
                vstart = i
                while i < n and _is_token_char(value[i]):
                    i += 1
                dvalue = value[vstart:i]
                if not dvalue:
                    what = "nothing" if i >= n or value[i] == ";" else repr(value[i])
                    i = resync(i, f"{name}= is followed by {what}, not a token or quoted-string")
                    continue
            i = _skip_lws(value, i)
        if i < n and value[i] != ";":
            i = resync(i, f"{value[i]!r} at position {i + 1} after directive {name!r}: directives "
                          f"are separated by ';'")
            continue
        malformed.discard(name.lower())
        directives.append((name, dvalue, quoted))
        i += 1
    return directives, problems, malformed


def parse_sts(header: str) -> HstsPolicy:
    """Parse one Strict-Transport-Security value (RFC 6797 §6.1) and say whether browsers honour it.

    Invalid (§6.1 rules 2 and 4, §6.1.1, §6.1.2): a syntax error; no ``max-age``; ``max-age`` not
    1*DIGIT (quoted allowed); ``max-age`` or ``includeSubDomains`` repeated; ``includeSubDomains``
    with a value. Names are case-insensitive; other directives (``preload`` included) are ignored,
    even repeated or with a value, as Chromium and Firefox do (noted, not invalid: NOTES.md).
    """
    directives, problems, malformed = _tokenize(header)
    notes: list[Problem] = []
    counts = Counter(name.lower() for name, _, _ in directives)
    max_age: int | None = None
    max_age_quoted = False
    include = preload = preload_value = False
    for name, value, quoted in directives:
        low = name.lower()
        # RFC 6797 §6.1.1: max-age = "max-age" "=" delta-seconds (REQUIRED; quoted form allowed)
        if low == "max-age":
            if value is None:
                problems.append(Problem("max-age-value", f"{name} has no value (it needs a number of seconds)"))
            elif not (value.isascii() and value.isdigit()):
                shown = f'"{value}"' if quoted else value
                problems.append(Problem("max-age-value", f"{name}={shown} is not a non-negative integer"))
            elif max_age is None:
                max_age, max_age_quoted = int(value), quoted
        # RFC 6797 §6.1.2: includeSubDomains is a valueless directive
        elif low == "includesubdomains":
            if value is not None:
                problems.append(Problem("includesubdomains-value",
                                        f"{name} takes no value (got {name}={value!r})"))
            include = True
        elif low == "preload":
            if value is not None:
                preload_value = True
                notes.append(Problem("preload-value", f"{name} has a value ({value!r}): browsers ignore "
                                                      f"unknown directives, but hstspreload.org does not "
                                                      f"recognise it as preload"))
            else:
                preload = True
    # RFC 6797 §6.1 rule 2: all directives MUST appear only once
    for low, count in sorted(counts.items()):
        if count < 2:
            continue
        if low in ("max-age", "includesubdomains"):
            problems.append(Problem("repeated", f"{low if low == 'max-age' else 'includeSubDomains'} "
                                                f"appears {count} times"))
        else:
            notes.append(Problem("repeated-unknown", f"{low} appears {count} times (RFC 6797 §6.1 rule 2 "
                                                     f"forbids it; browsers ignore unknown directives)"))
    if "max-age" not in counts and "max-age" not in malformed:
        problems.append(Problem("max-age-missing", "there is no max-age directive (it is required)"))
    valid = not problems
    return HstsPolicy(header=header, valid=valid, max_age=max_age if valid else None,
                      max_age_quoted=max_age_quoted and valid, include_subdomains=include and valid,
                      preload=preload and valid, preload_with_value=preload_value,
                      problems=tuple(problems), notes=tuple(notes))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def same_host(a: str, b: str) -> bool:
    """Host names compared case-insensitively, ports ignored (see the module docstring)."""
    try:
        return urls.host(a).lower().rstrip(".") == urls.host(b).lower().rstrip(".")
    except ValueError:
        return False


def judge_hsts(ex: Exchange) -> tuple[HstsPolicy | None, list[Issue]]:
    """MC502, MC503, MC506 and the duplicate-header note (MC504) for one https response (RFC 6797
    §8.1: only its first STS header counts). IP-literal hosts never get HSTS (§8.1.1): no issue."""
    if not ex.tls or _is_ip(urls.host(ex.url)):
        return None, []
    values = ex.header_all(STS)
    if not values:
        return None, [Issue("MC502", f"{ex.url} sends no {STS} header: browsers will keep trying plain "
                                     f"http first for this host", ex.url, STS)]
    policy = parse_sts(values[0])
    issues: list[Issue] = []
    extra = f"; {len(values)} {STS} headers were sent and only the first counts" if len(values) > 1 else ""
    if not policy.valid:
        why = "; ".join(p.message for p in policy.problems)
        issues.append(Issue("MC503", f"{STS} on {ex.url} is invalid, so browsers ignore it: {why}{extra}",
                            ex.url, STS, "header", values[0]))
        return policy, issues
    if len(values) > 1:
        # docs/audit.md#hsts: only the first counts, so the host is protected; hstspreload wants exactly one
        issues.append(Issue("MC504", f"{ex.url} sends {len(values)} {STS} headers: browsers use only the "
                                     f"first ({values[0]!r}); the preload list requires exactly one",
                            ex.url, STS, "count", " | ".join(values)))
    assert policy.max_age is not None
    # RFC 6797 §6.1.1 / HTTP Observatory: max-age below six months protects only frequent visitors
    if policy.max_age == 0:
        issues.append(Issue("MC506", f"{STS} on {ex.url} has max-age=0, which tells browsers to forget "
                                     f"this host's HSTS: right only while deliberately withdrawing it",
                            ex.url, STS, "max-age", values[0]))
    elif policy.max_age < OBSERVATORY_MAX_AGE:
        issues.append(Issue("MC506", f"{STS} on {ex.url} has max-age={policy.max_age} "
                                     f"({policy.max_age / 86400:.4g} days), below {OBSERVATORY_MAX_AGE} "
                                     f"(180 days)", ex.url, STS, "max-age", values[0]))
    return policy, issues


# ---------------------------------------------------------------------------------------------------
# Preload eligibility (hstspreload.org's checker, docs/audit.md#preload)
# ---------------------------------------------------------------------------------------------------

def preload_issues(policy: HstsPolicy, response: Exchange, base_domain: str | None,
                   http_chain: Chain | None, https_chain: Chain | None,
                   www: Exchange | None) -> list[Issue]:
    """MC504: what keeps a valid policy on ``response`` from the preload list. ``base_domain`` is the
    registrable domain (eTLD+1 by the Public Suffix List; None when the host is a public suffix).
    ``www`` is the https exchange with ``www.<domain>`` (None when not checked)."""
    url = response.url
    host = urls.host(url).lower().rstrip(".")
    out: list[Issue] = []

    def add(attribute: str, message: str) -> None:
        out.append(Issue("MC504", f"not preloadable: {message}", url, STS, attribute, policy.header))

    if base_domain is None:
        add("domain", f"{host} is a public suffix; hstspreload.org does not take it")
    elif host != base_domain:
        add("domain", f"{host} is a subdomain: only the registrable domain {base_domain} can be "
                      f"submitted (and its entry covers {host})")
    if policy.max_age is not None and policy.max_age < PRELOAD_MAX_AGE:
        if policy.max_age == 0:
            add("max-age", "max-age=0 (that is how a domain asks to be removed)")
        else:
            add("max-age", f"max-age={policy.max_age} is below {PRELOAD_MAX_AGE} (one year)")
    if policy.max_age_quoted:
        add("max-age", "max-age is quoted, which hstspreload.org's checker does not accept")
    if policy.max_age is not None and policy.max_age > TEN_YEARS:
        add("max-age", f"max-age={policy.max_age} is above ten years, which hstspreload.org flags")
    if not policy.include_subdomains:
        add("includeSubDomains", "includeSubDomains is missing")
    if not policy.preload:
        add("preload", "preload is missing" + (" (it is written with a value; write it bare)"
                                                if policy.preload_with_value else ""))
    if base_domain is not None and host == base_domain and http_chain is not None:
        first = http_chain.exchanges[0]
        target = first.location
        if first.status is not None and (target is None or not target.lower().startswith("https:")
                                         or not same_host(target, first.url)):
            add("redirect", f"{first.url} must redirect first to https://{host}/ (same host), but "
                            + (f"redirects to {target}" if target else f"answers {first.status}"))
        if http_chain.hops > WEAK_HOPS:
            add("redirect", f"the redirect chain from {http_chain.start} has {http_chain.hops} hops "
                            f"(hstspreload.org allows {WEAK_HOPS})")
    # every https redirect from the host itself must also carry the header
    seen: set[str] = {url}
    for chain in (http_chain, https_chain):
        if chain is None:
            continue
        for ex in chain.exchanges:
            if ex.url in seen or not ex.tls or ex.location is None or not same_host(ex.url, url):
                continue
            seen.add(ex.url)
            values = ex.header_all(STS)
            if not values or not parse_sts(values[0]).valid:
                add("redirect", f"the https redirect {ex.url} → {ex.location} carries no valid {STS}")
    if www is not None and www.status is None and (www.error or "").startswith("tls-"):
        add("www", f"{www.url} exists but does not serve valid https ({www.error}); preloading "
                   f"would make it unreachable")
    return out


# ---------------------------------------------------------------------------------------------------
# Redirects (docs/audit.md#redirect)
# ---------------------------------------------------------------------------------------------------

def is_exempt_host(url: str, allowed: Iterable[str] = ()) -> bool:
    """localhost, loopback addresses and names the user allows keep plain http (docs/audit.md#redirect)."""
    host = urls.host(url).lower().rstrip(".")
    if host in {h.lower().rstrip(".") for h in allowed}:
        return True
    return urls.is_potentially_trustworthy("http://" + (f"[{host.strip('[]')}]" if ":" in host else host) + "/")


def judge_redirects(chain: Chain, *, exempt: bool = False) -> list[Issue]:
    """MC501, MC507 (skipped for exempt hosts) and MC509 for the chain from an http URL."""
    issues: list[Issue] = []
    first = chain.exchanges[0]
    for ex in chain.exchanges:
        # RFC 6797 §8.1 / §7.2: an STS header over plain http is ignored
        if ex.status is not None and not ex.tls and ex.header_all(STS):
            issues.append(Issue("MC509", f"{ex.url} sends {STS} over plain http, where browsers ignore it "
                                         f"(RFC 6797 §8.1)", ex.url, STS, "http", ex.header_all(STS)[0]))
    if exempt or first.status is None:
        return issues
    desc = chain.describe()
    last = chain.last
    if first.location is None:
        issues.insert(0, Issue("MC501", f"{first.url} answers {first.status} instead of redirecting to "
                                        f"https", first.url, "http", "redirect", desc))
        return issues
    if chain.end in ("loop", "too-many", "bad-location"):
        what = {"loop": "loops", "too-many": f"has more than {MAX_HOPS} redirects",
                "bad-location": "redirects to something that is not an http(s) URL"}[chain.end]
        issues.insert(0, Issue("MC501", f"the redirect chain from {first.url} {what}: {desc}",
                               first.url, "http", "redirect", desc))
        return issues
    if chain.end == "error":
        issues.insert(0, Issue("MC501", f"the redirect chain from {first.url} fails at {last.url} "
                                        f"({last.error}): {desc}", first.url, "http", "redirect", desc))
        return issues
    if not last.tls:
        issues.insert(0, Issue("MC501", f"the redirect chain from {first.url} ends on plain http: {desc}",
                               first.url, "http", "redirect", desc))
        return issues
    if not (last.status is not None and 200 <= last.status < 300):
        issues.insert(0, Issue("MC501", f"the redirect chain from {first.url} ends on https with status "
                                        f"{last.status}, not 2xx: {desc}", first.url, "http", "redirect", desc))
        return issues
    # docs/audit.md#redirect (hstspreload): first hop to https on the same host, 301 or 308
    weak: list[Issue] = []
    target = first.location
    if not (target.lower().startswith("https:") and same_host(target, first.url)):
        weak.append(Issue("MC507", f"{first.url} redirects first to {target}, not to https on the same "
                                   f"host: the browser never sees this host's own https response: {desc}",
                          first.url, "http", "first-hop", desc))
    for ex in chain.exchanges[:-1]:
        if ex.status in TEMPORARY and not ex.tls:
            weak.append(Issue("MC507", f"{ex.url} redirects with {ex.status}, a temporary redirect that "
                                       f"browsers do not remember; use 301 or 308: {desc}",
                              ex.url, "http", "temporary", desc))
    if chain.hops > WEAK_HOPS:
        weak.append(Issue("MC507", f"the redirect chain from {first.url} has {chain.hops} hops (more than "
                                   f"{WEAK_HOPS}): {desc}", first.url, "http", "hops", desc))
    return weak + issues


# ---------------------------------------------------------------------------------------------------
# Cookies (docs/audit.md#cookies)
# ---------------------------------------------------------------------------------------------------

def parse_set_cookie(value: str) -> Cookie | None:
    """RFC 6265 §5.2 "the Set-Cookie header": None when a browser ignores the whole header."""
    pair, _, rest = value.partition(";")
    if "=" not in pair:
        return None  # §5.2 step 2: no "=" in the name-value-pair: ignore the set-cookie-string
    name = pair.split("=", 1)[0].strip(_LWS)
    if not name:
        return None  # §5.2 step 5: an empty name: ignore it
    secure = http_only = False
    same_site: str | None = None
    for attr in rest.split(";") if rest else ():
        key, _, val = attr.partition("=")
        key = key.strip(_LWS).lower()
        if key == "secure":
            secure = True
        elif key == "httponly":
            http_only = True
        elif key == "samesite":
            same_site = val.strip(_LWS)  # §5.3: the last attribute of a name wins
    return Cookie(name=name, secure=secure, http_only=http_only, same_site=same_site, raw=value)


def looks_sensitive(name: str) -> bool:
    """docs/audit.md#cookies: a session or auth cookie by its name."""
    low = name.lower()
    return any(w in low for w in AUTH_WORDS) or low.startswith(("__host-", "__secure-"))


def judge_cookies(exchanges: Iterable[Exchange]) -> list[Issue]:
    """MC505 for every Set-Cookie on an https response (RFC 6265 §4.1.2.5)."""
    issues: list[Issue] = []
    for ex in exchanges:
        if not ex.tls:
            continue
        for raw in ex.header_all("Set-Cookie"):
            cookie = parse_set_cookie(raw)
            if cookie is None:
                continue
            sensitive = looks_sensitive(cookie.name)
            advice = []
            if sensitive and not cookie.http_only:
                advice.append("no HttpOnly, so scripts can read it")
            if cookie.same_site is None:
                advice.append("no SameSite")
            elif cookie.same_site.lower() not in ("strict", "lax", "none"):
                advice.append(f"SameSite={cookie.same_site} is not Strict, Lax or None")
            elif cookie.same_site.lower() == "none" and not cookie.secure:
                advice.append("SameSite=None without Secure, so browsers reject the cookie")
            if cookie.name.lower().startswith(("__host-", "__secure-")) and not cookie.secure:
                advice.append(f"browsers reject a {cookie.name.split('-')[0]}- cookie without Secure")
            also = f"; also: {', '.join(advice)}" if advice else ""
            if not cookie.secure:
                kind = "a session/auth-looking cookie" if sensitive else "a cookie"
                issues.append(Issue(
                    "MC505", f"Set-Cookie {cookie.name} on {ex.url} is {kind} without Secure: browsers "
                             f"also send it over plain http{also}", ex.url, "Set-Cookie", cookie.name, raw,
                    Severity.ERROR if sensitive else Severity.WARNING))
            elif advice:
                issues.append(Issue("MC505", f"Set-Cookie {cookie.name} on {ex.url} (advice): {', '.join(advice)}",
                                    ex.url, "Set-Cookie", cookie.name, raw, Severity.INFO))
    return issues


# ---------------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------------

def to_findings(issues: Sequence[Issue]) -> list[Finding]:
    """Posture findings: context ``header``, no file, line or offset; fingerprints per docs/json-report.md."""
    from .judge.findings import header_finding

    seen: Counter[tuple[str, str, str, str, str]] = Counter()
    out = []
    for issue in issues:
        key = (issue.code, issue.url, issue.url, issue.element or "", issue.attribute or "")
        out.append(header_finding(issue.code, issue.message, issue.url, element=issue.element,
                                  attribute=issue.attribute, raw=issue.raw, index=seen[key],
                                  severity=issue.severity))
        seen[key] += 1
    return out


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """What the audit needs beyond the network settings (validated by the CLI)."""

    allow_http_hosts: tuple[str, ...] = ()
    http_port: int | None = None  # where plain http listens, when the URL given is https
    https_port: int | None = None  # where https listens, when the URL given is http
    check_www: bool = True  # hstspreload: www.<domain>, if it exists, must serve https
    scan_page: bool = True  # scan the landing page's own mixed content
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    tls: TlsSettings | None = None  # docs/audit.md#tls: the TLS check (None: --no-tls-check)


@dataclass(slots=True)
class AuditRecord:
    """Everything the audit recorded (for the report and for logs)."""

    http_chain: Chain | None = None
    https_chain: Chain | None = None
    www: Exchange | None = None
    tls: TlsScan | None = None
    hsts: HstsPolicy | None = None  # the first STS header of the host's https response, parsed
    errors: list[ScanError] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# The audit (the async edge)
# ---------------------------------------------------------------------------------------------------

def _with(url: str, scheme: str, port: int | None) -> str:
    """``url`` with another scheme and port (None: the scheme's default port)."""
    from yarl import URL

    u = URL(url, encoded=True)
    default = 443 if scheme == "https" else 80
    u = u.with_scheme(scheme).with_port(None if port in (None, default) else port)
    return str(u)


def _exchange(r: Response) -> Exchange:
    return Exchange(url=r.url, status=r.status, headers=r.headers, error=r.error, detail=r.detail, body=r.body)


class _Recorder:
    """Fetches each URL once per audit (no redirects followed) and remembers the exchange."""

    def __init__(self, net: Net) -> None:
        self.net = net
        self.seen: dict[str, Exchange] = {}

    async def get(self, url: str) -> Exchange:
        if url not in self.seen:
            self.seen[url] = _exchange(await self.net.fetch(url, follow_redirects=False))
        return self.seen[url]

    async def walk(self, start: str) -> Chain:
        """docs/audit.md#redirect: follow up to MAX_HOPS redirects by hand, catching loops."""
        exchanges: list[Exchange] = []
        visited: set[str] = set()
        url = start
        while True:
            ex = await self.get(url)
            exchanges.append(ex)
            visited.add(url)
            if ex.status is None:
                return Chain(start, tuple(exchanges), "error")
            if ex.status not in REDIRECTS or not ex.header_all("Location"):
                return Chain(start, tuple(exchanges), "done")
            target = ex.location
            if target is None or urls.scheme(target) not in ("http:", "https:"):
                return Chain(start, tuple(exchanges), "bad-location")
            if target in visited:
                return Chain(start, tuple(exchanges), "loop")
            if len(exchanges) > MAX_HOPS:
                return Chain(start, tuple(exchanges), "too-many")
            url = target


def page_findings(page: Exchange, *, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
                  ) -> tuple[list[Finding], list[ScanError], int]:
    """A fetched page's own mixed content, through the scan's one-document path (pipeline.scan_document)
    with its transport facts: URL, https or not, Content-Type charset and CSP header. Returns
    (findings, errors, pages scanned)."""
    found, errors, pages, _ = _judge_page(page, select, ignore)
    return found, errors, pages


def _judge_page(page: Exchange, select: tuple[str, ...], ignore: tuple[str, ...],
                ) -> tuple[list[Finding], list[ScanError], int, list[tuple[str, str, bool]]]:
    """``page_findings`` and the stylesheets the page loads, (page, URL, upgrades insecure requests)."""
    from .judge.document import judge_document, stylesheet_loads
    from .model import Document, DocumentKind
    from .suppress import selected

    if page.error is not None:  # net.py hands out no body over its cap ("too-large"): not scanned
        return [], [_error(page.url, page, "page not scanned")], 0, []
    ctype = next((v for k, v in page.headers if k.lower() == "content-type"), "")
    media = ctype.split(";", 1)[0].strip().lower()
    if media not in ("text/html", "application/xhtml+xml", "") or not page.body:
        return [], [], 0, []
    charset = None
    for param in ctype.split(";")[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip('"') or None
    # docs/judging.md#steps step 4: an enforced CSP header (Report-Only never counts), judged as any served page
    csp = ", ".join(v for k, v in page.headers if k.lower() == "content-security-policy") or None
    kind = DocumentKind.XHTML if media == "application/xhtml+xml" else DocumentKind.HTML
    doc = Document(data=page.body, url=page.url, kind=kind, tls=page.tls, csp=csp, charset=charset)
    outcome, _ = judge_document(doc)
    if outcome.error is not None:
        return [], [outcome.error], 0, []
    loads = [(outcome.name, url, upgrade) for url, upgrade in stylesheet_loads(doc, outcome)]
    return [f for f in outcome.findings if selected(f.code, select, ignore)], [], 1, loads


MAX_SHEETS = 50  # stylesheets read for one audited page at most (@import chains included)


class _PageSheets:
    """The stylesheet source of an audited page (judge.stylesheets.SheetSource): stylesheets on the
    page's own host, fetched through the audit's ``Net`` (its address safety and bounds), redirects
    followed on that host only. Stylesheets elsewhere (a CDN) are left out, as a crawl of the site
    leaves out hosts outside its scope."""

    def __init__(self, net: Net, page_url: str) -> None:
        self.net = net
        self.host = urls.host(page_url).lower()
        self.keys: set[str] = set()

    def _ours(self, url: str) -> bool:
        return urls.scheme(url) in ("http:", "https:") and urls.host(url).lower() == self.host

    def locate(self, url: str, referrer: str) -> SheetPlace | None:
        if url not in self.keys:
            if not self._ours(url) or len(self.keys) >= MAX_SHEETS:
                return None
            self.keys.add(url)
        return SheetPlace(url, url)

    async def fetch(self, places: Sequence[SheetPlace]) -> list[tuple[SheetPlace, Sheet | str]]:
        got = await asyncio.gather(*(self._one(p.key) for p in places))
        return list(zip(places, got, strict=True))

    async def _one(self, url: str) -> Sheet | str:
        async def allow(target: str) -> str | None:
            if self._ours(target):
                return None
            return f"{urls.host(target) or target} is another host than the page's"

        resp = await self.net.fetch(url, allow_hop=allow)
        if resp.error is not None:
            return f"{resp.error}: {resp.detail}" if resp.detail else resp.error
        if resp.status is None or not 200 <= resp.status < 300:
            return f"HTTP {resp.status}"
        if resp.content_type not in (None, "text/css"):
            # HTML §4.6.7.5 (rel=stylesheet): a style sheet not served as text/css is not applied
            return f"not scanned: served as {resp.content_type}, which browsers do not apply as a stylesheet"
        return Sheet(resp.body, urls.without_fragment(resp.final_url), resp.charset)


async def page_and_stylesheets(
    page: Exchange, net: Net, *, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()
) -> tuple[list[Finding], list[ScanError], int, list[str]]:
    """The landing page's own mixed content and that of the stylesheets it loads on its host, through the
    one stylesheet driver (judge.stylesheets.drive) as a crawl's pages: (findings, errors, pages
    scanned, stylesheets judged)."""
    from .judge.findings import Policy
    from .judge.stylesheets import drive

    found, errors, pages, loads = _judge_page(page, select, ignore)
    if not loads:
        return found, errors, pages, []
    phase = await drive(_PageSheets(net, page.url), loads)
    sheet_found, sheet_errors, keys = phase.finish(Policy(select=select, ignore=ignore))
    return found + sheet_found, errors + sheet_errors, pages, keys


def _error(url: str, ex: Exchange, what: str) -> ScanError:
    return ScanError(None, url, f"{what}: {problem(ex.error, ex.detail, ex.status)}")


async def audit(url: str, options: AuditOptions, net: Net, *, log: Callable[[str], None] | None = None,
                psl: PublicSuffixList | None = None, tls_pool: TlsPool | None = None
                ) -> tuple[ScanResult, AuditRecord]:
    """Audit one site URL (docs/audit.md). Raises nothing for network trouble: what could not be checked
    becomes an ``errors`` entry. ``psl`` is the Public Suffix List (loaded here when None); ``tls_pool``
    the run's threads for the TLS scan's handshakes (shared by a fleet's hosts; the scan's own when None)."""
    from publicsuffixlist import PublicSuffixList as _PSL

    from .judge.findings import assemble
    from .suppress import selected

    say = log or (lambda _m: None)
    rec = _Recorder(net)
    record = AuditRecord()
    host = urls.host(url).lower().rstrip(".")
    given_https = url.lower().startswith("https:")
    http_start = _with(url, "http", options.http_port) if given_https else url
    issues: list[Issue] = []

    # docs/audit.md#redirect: the plain-http URL must redirect, first hop to https on the same host
    http_chain = await rec.walk(http_start)
    record.http_chain = http_chain
    say(f"redirect chain: {http_chain.describe()}")
    if http_chain.exchanges[0].status is None:
        record.errors.append(_error(http_start, http_chain.exchanges[0], "not reachable over plain http, "
                                                                          "so the redirect was not checked"))
    else:
        issues += judge_redirects(http_chain, exempt=is_exempt_host(http_start, options.allow_http_hosts))

    # the host's own https response: the URL given, else where the chain first reaches https on this
    # host, else the https twin at --https-port
    if given_https:
        https_url = url
    else:
        first_https = next((ex.url for ex in http_chain.exchanges if ex.tls and same_host(ex.url, url)), None)
        https_url = (_with(url, "https", options.https_port) if options.https_port is not None or first_https
                     is None else first_https)
    tls_task = None
    if options.tls is not None:
        # docs/audit.md#tls: the TLS of the https port, scanned in a thread while the https checks go on
        tls_task = asyncio.ensure_future(_scan_tls(https_url, options.tls, net, tls_pool))
    https_chain = await rec.walk(https_url)
    record.https_chain = https_chain
    if https_url != http_start:
        say(f"https chain: {https_chain.describe()}")
    response = https_chain.exchanges[0]
    if response.status is None:
        record.errors.append(_error(https_url, response, "https could not be checked"))
    else:
        # docs/audit.md#hsts, RFC 6797 §8.1: the STS header of the host's https response
        policy, hsts = judge_hsts(response)
        record.hsts = policy
        issues += hsts
        if policy is not None and policy.valid and not _is_ip(host):
            psl = psl or _PSL()
            base = psl.privatesuffix(host)
            # docs/audit.md#preload: the registrable domain is judged for preloading; a subdomain when it asks
            if (base == host or policy.preload) and not is_exempt_host(https_url, options.allow_http_hosts):
                www: Exchange | None = None
                if base == host and options.check_www:
                    www_url = _with(f"https://www.{host}/", "https", urls_port(https_url))
                    www = await rec.get(www_url)
                    record.www = www
                    say(f"www check: {www_url} {www.status if www.status is not None else www.error}")
                issues += preload_issues(policy, response, base, http_chain, https_chain, www)
    # docs/audit.md#cookies: every Set-Cookie on an https response
    https_seen = [ex for ex in rec.seen.values() if ex.tls and (record.www is None or ex is not record.www)]
    issues += judge_cookies(https_seen)
    if tls_task is not None:
        from .tls import judge_tls

        record.tls = await tls_task
        if record.tls.error is not None:
            record.errors.append(ScanError(None, record.tls.url, f"TLS check: {record.tls.error}"))
        else:
            say(f"TLS: {' '.join(record.tls.versions)}; ALPN {record.tls.alpn or 'none'}")
        issues += judge_tls(record.tls)

    findings = [f for f in to_findings(issues) if selected(f.code, options.select, options.ignore)]
    pages = 0
    last = https_chain.last
    if options.scan_page and https_chain.end == "done" and last.status is not None and 200 <= last.status < 300:
        # docs/audit.md: the landing page and the stylesheets it loads, judged as a crawl judges them
        page_found, page_errors, pages, sheets = await page_and_stylesheets(
            last, net, select=options.select, ignore=options.ignore)
        findings += page_found
        record.errors += page_errors
    else:
        sheets = []
    result = assemble(Target(kind=TargetKind.SITE, inputs=(url,), base_url=None), findings, record.errors,
                      [last.url] if pages else [], sheets)
    return result, record


async def _scan_tls(https_url: str, settings: TlsSettings, net: Net, pool: TlsPool | None) -> TlsScan:
    """``tls.scan_tls`` for the host and port of ``https_url``, bounded by its timeout. It runs in a
    daemon thread of its own (not the loop's executor, which ``asyncio.run`` waits for at the end), so
    a scan given up on never holds the run back."""
    import threading

    from .tls import TlsScan, scan_tls

    host = urls.host(https_url).lower().rstrip(".").strip("[]")
    port = urls_port(https_url) or 443
    loop = asyncio.get_running_loop()
    done: asyncio.Future[TlsScan] = loop.create_future()

    def deliver(value: TlsScan | BaseException) -> None:
        if done.done():
            return
        if isinstance(value, BaseException):
            done.set_exception(value)
        else:
            done.set_result(value)

    def work() -> None:
        try:
            value: TlsScan | BaseException = scan_tls(host, port, net.settings, settings, pool)
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting task, which re-raises it
            value = e
        try:
            loop.call_soon_threadsafe(deliver, value)
        except RuntimeError:
            pass  # the loop is gone: nobody waits for this scan any more

    threading.Thread(target=work, name=f"tls-scan {host}:{port}", daemon=True).start()
    try:
        return await asyncio.wait_for(done, settings.timeout)
    except TimeoutError:
        return TlsScan(host, port, error=f"timeout: the TLS scan took more than {settings.timeout:g} s",
                       profile=settings.profile)


def urls_port(url: str) -> int | None:
    """The URL's explicit port, or None for the scheme's default."""
    from yarl import URL

    u = URL(url, encoded=True)
    return None if u.is_default_port() else u.port


def run_audit(url: str, options: AuditOptions, net_settings: NetSettings, *,
              log: Callable[[str], None] | None = None) -> tuple[ScanResult, AuditRecord]:
    """``audit`` in its own event loop and ``Net`` (the CLI's entry point)."""

    async def go() -> tuple[ScanResult, AuditRecord]:
        async with Net(net_settings) as net:
            return await audit(url, options, net, log=log)

    return asyncio.run(go())


__all__ = [
    "STS",
    "AuditOptions",
    "AuditRecord",
    "Chain",
    "Cookie",
    "Exchange",
    "HstsPolicy",
    "Issue",
    "Problem",
    "audit",
    "is_exempt_host",
    "judge_cookies",
    "judge_hsts",
    "judge_redirects",
    "looks_sensitive",
    "page_and_stylesheets",
    "page_findings",
    "parse_set_cookie",
    "parse_sts",
    "preload_issues",
    "run_audit",
    "same_host",
    "to_findings",
]
