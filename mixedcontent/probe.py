"""docs/probe.md: the https availability probe. For each unique insecure URL (per destination class) its
https twin is requested once per run, through ``net.Net`` (bounds, timeouts, address safety), and the
outcome is a ``ProbeResult`` value, never an exception.

The twin **works** (status ``available``, reason ``ok``) when a HEAD request — or a GET when HEAD
is refused (405/501) or answers a status or content type that GET contradicts — succeeds over TLS
with a valid certificate for the host, redirects (at most 5) never leave https, the final status is
2xx and the content type fits the destination. Otherwise:

    unavailable  http-NNN, redirect-to-http, too-many-redirects, content-type-mismatch, tls-untrusted,
                 tls-expired, tls-hostname-mismatch, tls-error, connect-refused, dns-failure
    timeout      timeout
    error        connection-reset, bad-response (the server hung up or did not speak HTTP),
                 host-failing (not asked: the host failed ``host_failures`` times in a row this run)
    skipped      blocked-address (address safety), not-probed; and "cannot tell": resolver-error,
                 network-unreachable, local-limit (our own resolver, network or limits failed), and
                 dns-failure when no name resolved in the whole run (see below)

"Cannot tell" outcomes say nothing about the twin, so like every ``skipped`` result they change no
code and are never cached. A resolver's "no such name" (``dns-failure``) is the twin not working --
a browser cannot reach it either -- but only when the resolver is seen to answer for real: some
other name resolved through it in the same run. Offline, or behind a resolver that answers NXDOMAIN
for everything (sandboxes do), every name fails alike, and then ``dns-failure`` is a "cannot tell"
too. A run whose every probe could not tell says so once (``ProbeOutcome.warnings``).

robots.txt is not consulted: a probe is the one request each visitor's browser makes for the
resource anyway, not a crawl (RFC 9309 addresses crawlers); ``robots`` stays reserved for crawls.
Certificates are always verified here, even under ``--insecure``: a twin with a bad certificate
does not work in a browser.

A run-wide cache keyed by (twin URL, destination class) makes each probe happen once, however many
pages refer to the URL; ``--probe-cache FILE`` keeps ``available``/``unavailable`` results across
runs for ``--probe-cache-ttl`` seconds (JSON, written atomically; a corrupt file is ignored with a
warning).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import urls
from .errors import SettingError
from .model import ProbeResult, ProbeStatus
from .net import OUR_SIDE, REDIRECT_STATUSES, Net, NetSettings, Response
from .rewrite import write_atomic
from .settings import DEFAULT_CACHE_TTL
from .wording import agree, plural

if TYPE_CHECKING:
    import asyncio

# asyncio is imported when probes run, not with this module: every command makes ProbeSettings (to
# check its flags), and a scan of files never probes (start-up, issue 19)

MAX_REDIRECTS = 5  # docs/probe.md
CACHE_VERSION = 1

# docs/probe.md: which content types fit which destination
_MEDIA_TYPES = frozenset(("application/ogg", "application/vnd.apple.mpegurl", "application/x-mpegurl",
                          "application/dash+xml"))
# WHATWG MIME Sniffing §4.6: JavaScript MIME type essences
_JAVASCRIPT_TYPES = frozenset((
    "application/ecmascript", "application/javascript", "application/x-ecmascript", "application/x-javascript",
    "text/ecmascript", "text/javascript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
    "text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
    "text/x-ecmascript", "text/x-javascript"))
_FONT_TYPES = frozenset(("application/vnd.ms-fontobject", "application/octet-stream"))
_CLASS_OF = {"image": "image", "audio": "media", "video": "media", "style": "style", "script": "script",
             "font": "font"}

# net.Response.error -> (status, reason): docs/probe.md's words where one fits
_ERRORS = {
    "tls-untrusted": "unavailable", "tls-expired": "unavailable", "tls-hostname-mismatch": "unavailable",
    "tls-error": "unavailable", "connect-refused": "unavailable", "dns-failure": "unavailable",
    "timeout": "timeout", "blocked-address": "skipped", "connection-reset": "error", "bad-response": "error",
    "host-failing": "error", **{word: "skipped" for word in OUR_SIDE},
}
# skipped results that were tried and could not tell (as opposed to not tried: blocked-address)
_CANNOT_TELL = OUR_SIDE | {"dns-failure"}


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    net: NetSettings = field(default_factory=NetSettings)
    cache_file: str | None = None  # --probe-cache: JSON file of results kept across runs
    cache_ttl: float = DEFAULT_CACHE_TTL  # seconds a cached result stays valid

    def __post_init__(self) -> None:
        ttl = self.cache_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 <= ttl < math.inf:
            shown = f"{ttl:g}" if isinstance(ttl, (int, float)) else repr(ttl)  # -1 and -1.0 alike
            raise SettingError("probe-cache-ttl", f"probe-cache-ttl must be 0 or more seconds, got {shown}")


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """What the probe stage hands back: results by (twin, destination class), and what it did."""

    results: Mapping[tuple[str, str], ProbeResult]
    probed: int  # twins requested over the network in this run
    cached: int  # results taken from the on-disk cache
    warnings: tuple[str, ...] = ()
    undecided: int = 0  # probes of this run that could not tell (our resolver, network or limits)


def destination_class(destination: str | None) -> str:
    """The groups of docs/probe.md: image, media (audio/video), style, script, font; others take any type."""
    return _CLASS_OF.get(destination or "", "any")


def probe_key(url: str, destination: str | None) -> tuple[str, str]:
    """The cache key of an insecure URL: (its https twin, its destination class)."""
    return urls.https_twin(url), destination_class(destination)


def content_type_fits(cls: str, content_type: str | None) -> bool:
    """Does a response's media type (lower case, no parameters) fit the class ``cls`` (docs/probe.md)?"""
    if cls == "any":
        return True
    if content_type is None:
        return False
    if cls == "image":
        return content_type.startswith("image/")
    if cls == "media":
        return content_type.startswith(("audio/", "video/")) or content_type in _MEDIA_TYPES
    if cls == "style":
        return content_type == "text/css"
    if cls == "script":
        return content_type in _JAVASCRIPT_TYPES
    if cls == "font":
        return content_type.startswith(("font/", "application/font-", "application/x-font-")) \
            or content_type in _FONT_TYPES
    return True


def _failure(r: Response, url: str) -> ProbeResult:
    status = _ERRORS.get(r.error or "", "error")
    reason = r.error if r.error in _ERRORS else "bad-response"
    return ProbeResult(status=ProbeStatus(status), reason=reason, http_status=None, final_url=url, content_type=None)


async def _follow(net: Net, twin: str, cls: str, method: str) -> ProbeResult:
    """One request chain for ``twin``: redirects by hand (at most 5, https only), then the verdict."""
    url = twin
    seen = {twin}
    hops = 0
    while True:
        r = await net.fetch(url, method=method, follow_redirects=False, read_body=False)
        if r.error is not None:
            return _failure(r, url)
        assert r.status is not None
        location = r.header("Location") if r.status in REDIRECT_STATUSES else None
        if location is not None:
            target = urls.resolve(location.strip(), url)
            if target is not None and urls.scheme(target) == "http:":
                # docs/probe.md: redirects never leave https
                return ProbeResult(ProbeStatus.UNAVAILABLE, "redirect-to-http", r.status, target, None)
            if target is not None and urls.scheme(target) == "https:":
                hops += 1
                # docs/probe.md: at most 5 redirects (a loop never ends: browsers' "too many redirects")
                if hops > MAX_REDIRECTS or target in seen:
                    return ProbeResult(ProbeStatus.UNAVAILABLE, "too-many-redirects", r.status, target, None)
                seen.add(target)
                url = target
                continue
            # a redirect to another scheme is a final 3xx: not followed, not 2xx
        ctype = r.content_type
        if not 200 <= r.status < 300:
            return ProbeResult(ProbeStatus.UNAVAILABLE, f"http-{r.status}", r.status, url, ctype)
        if not content_type_fits(cls, ctype):
            return ProbeResult(ProbeStatus.UNAVAILABLE, "content-type-mismatch", r.status, url, ctype)
        return ProbeResult(ProbeStatus.AVAILABLE, "ok", r.status, url, ctype)


def _http_level(p: ProbeResult) -> bool:
    """Did the server answer (a status or a content type we can ask again about with GET)?"""
    return p.reason.startswith("http-") or p.reason == "content-type-mismatch"


async def check_twin(net: Net, twin: str, cls: str) -> ProbeResult:
    """docs/probe.md: HEAD, then GET when HEAD is refused (405/501) or its answer may be contradicted
    (any other non-2xx status, a content type that does not fit); GET, what browsers send, decides."""
    head = await _follow(net, twin, cls, "HEAD")
    if head.status == "available" or not _http_level(head):
        return head
    get = await _follow(net, twin, cls, "GET")
    if get.status == "available" or _http_level(get) or head.http_status in (405, 501):
        return get
    return head


class Prober:
    """Run-scoped: one probe per (twin, destination class), shared by every reference to it."""

    def __init__(self, net: Net, known: Mapping[tuple[str, str], ProbeResult] | None = None) -> None:
        self._net = net
        self._known = dict(known or {})
        self._tasks: dict[tuple[str, str], asyncio.Task[ProbeResult]] = {}

    @property
    def probed(self) -> int:
        return len(self._tasks)

    async def probe(self, url: str, destination: str | None) -> ProbeResult:
        """The result for an insecure ``url`` requested with Fetch ``destination``."""
        return await self.probe_key(probe_key(url, destination))

    async def probe_key(self, key: tuple[str, str]) -> ProbeResult:
        known = self._known.get(key)
        if known is not None:
            return known
        task = self._tasks.get(key)
        if task is None:
            import asyncio

            task = asyncio.ensure_future(check_twin(self._net, key[0], key[1]))
            self._tasks[key] = task
        return await task


def _context(settings: NetSettings) -> str:
    """Cache entries are valid only under the same routing and trust settings."""
    text = json.dumps([sorted(settings.resolve), settings.cacert and os.path.abspath(settings.cacert),
                       settings.allow_private])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_cache(path: str, now: float, ttl: float) -> tuple[list[dict[str, object]], str | None]:
    """Unexpired entries of a cache file, and a warning when the file is unusable."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return [], None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return [], f"--probe-cache {path}: ignored, not a readable cache ({type(e).__name__}: {e})"
    entries = data.get("entries") if isinstance(data, dict) and data.get("version") == CACHE_VERSION else None
    if not isinstance(entries, list):
        return [], f"--probe-cache {path}: ignored, not a mixedcontent probe cache (version {CACHE_VERSION})"
    kept = []
    for entry in entries:
        try:
            checked = float(entry["checked"])
            _result_of(entry["result"])
            if not all(isinstance(entry[k], str) for k in ("context", "url", "class")):
                raise TypeError("context, url and class must be strings")
        except (KeyError, TypeError, ValueError):
            return [], f"--probe-cache {path}: ignored, an entry is malformed"
        if 0 <= now - checked <= ttl:
            kept.append(entry)
    return kept, None


def _result_of(d: object) -> ProbeResult:
    if not isinstance(d, dict):
        raise TypeError("result is not an object")
    status, reason = d["status"], d["reason"]
    http_status, final_url, ctype = d.get("http_status"), d.get("final_url"), d.get("content_type")
    if status not in ("available", "unavailable") or not isinstance(reason, str):
        raise ValueError("bad status")
    if http_status is not None and (not isinstance(http_status, int) or isinstance(http_status, bool)):
        raise TypeError("bad http_status")
    if final_url is not None and not isinstance(final_url, str) or ctype is not None and not isinstance(ctype, str):
        raise TypeError("bad text field")
    return ProbeResult(ProbeStatus(status), reason, http_status, final_url, ctype)


def _result_dict(p: ProbeResult) -> dict[str, object]:
    return {"status": p.status, "reason": p.reason, "http_status": p.http_status, "final_url": p.final_url,
            "content_type": p.content_type}


def cannot_tell(p: ProbeResult) -> bool:
    """Was the probe tried, and did our own side (resolver, network, limits) keep it from telling?"""
    return p.status == "skipped" and p.reason in _CANNOT_TELL


async def _probe_all(keys: list[tuple[str, str]], settings: NetSettings,
                     known: Mapping[tuple[str, str], ProbeResult]) -> tuple[dict[tuple[str, str], ProbeResult], int]:
    import asyncio

    async with Net(settings) as net:
        prober = Prober(net, known)
        results = dict(zip(keys, await asyncio.gather(*(prober.probe_key(k) for k in keys)), strict=True))
        if net.resolved == 0:
            # no name resolved in this run: a "no such name" may be the resolver's fault (offline, or a
            # resolver that fails every name), so it tells nothing (NOTES.md, "cannot tell")
            for key, p in results.items():
                if key not in known and p.status == "unavailable" and p.reason == "dns-failure":
                    results[key] = replace(p, status=ProbeStatus.SKIPPED)
        return results, prober.probed


def _undecided_warning(this_run: list[ProbeResult]) -> str | None:
    """One line when probes of this run could not tell (all of them: the network was out of reach)."""
    tried = [p for p in this_run if not (p.status == "skipped" and p.reason not in _CANNOT_TELL)]
    undecided = [p for p in tried if cannot_tell(p)]
    if not undecided:
        return None
    reasons = ", ".join(f"{r} ×{n}" for r, n in sorted(Counter(p.reason for p in undecided).items()))
    if len(undecided) == len(tried):
        return (f"no https twin could be checked: every probe failed on this side of the network ({reasons}); "
                f"the findings keep their codes and nothing was cached")
    return (f"{len(undecided)} of {plural(len(tried), 'https twin')} could not be checked ({reasons}): "
            f"{agree(len(undecided), 'its', 'their')} findings keep their codes")


def run_probes(keys: Iterable[tuple[str, str]], settings: ProbeSettings = ProbeSettings(), *,
               now: Callable[[], float] = time.time) -> ProbeOutcome:
    """The probe stage (synchronous entry, one event loop and one ``Net`` per run): results for each
    (twin, destination class) key, using and refreshing the on-disk cache when one is configured."""
    wanted = sorted(set(keys))
    # docs/probe.md: "with a valid certificate for the host" -- never skip verification here
    net_settings = replace(settings.net, insecure=False)
    context = _context(net_settings)
    warnings: list[str] = []
    entries: list[dict[str, object]] = []
    known: dict[tuple[str, str], ProbeResult] = {}
    start = now()
    if settings.cache_file is not None:
        entries, warning = _load_cache(settings.cache_file, start, settings.cache_ttl)
        if warning:
            warnings.append(warning)
        for e in entries:
            if e["context"] == context:
                known[(str(e["url"]), str(e["class"]))] = _result_of(e["result"])
    import asyncio

    results, probed = asyncio.run(_probe_all(wanted, net_settings, known)) if wanted else ({}, 0)
    cached = sum(1 for k in wanted if k in known)
    this_run = [p for k, p in results.items() if k not in known]
    undecided = _undecided_warning(this_run)
    if undecided is not None:
        warnings.append(undecided)
    if settings.cache_file is not None and probed:
        fresh = {(str(e["context"]), str(e["url"]), str(e["class"])): e for e in entries}
        checked = now()
        for (twin, cls), result in results.items():
            if (twin, cls) in known or result.status not in ("available", "unavailable"):
                continue  # transient outcomes (timeouts, resets, skipped) are not remembered
            fresh[(context, twin, cls)] = {"context": context, "url": twin, "class": cls, "checked": checked,
                                           "result": _result_dict(result)}
        body = {"version": CACHE_VERSION, "tool": "mixedcontent",
                "entries": [fresh[k] for k in sorted(fresh)]}
        try:
            write_atomic(settings.cache_file, json.dumps(body, indent=1, sort_keys=True) + "\n")
        except OSError as e:
            warnings.append(f"--probe-cache {settings.cache_file}: not written: {e.strerror or e}")
    return ProbeOutcome(results=results, probed=probed, cached=cached, warnings=tuple(warnings),
                        undecided=sum(1 for p in this_run if cannot_tell(p)))


__all__ = ["DEFAULT_CACHE_TTL", "MAX_REDIRECTS", "ProbeOutcome", "ProbeSettings", "Prober", "cannot_tell", "check_twin",
           "content_type_fits", "destination_class", "probe_key", "run_probes"]
