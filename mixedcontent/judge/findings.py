"""From judged references to findings, and from findings to the one ``ScanResult``.

- ``Policy``: what decides whether a finding is reported (excluded URLs, selection, per-path ignores,
  inline markers, the baseline), the part of the settings that travels to worker processes;
- ``fingerprint``: the stable digest of docs/json-report.md;
- ``judge_held``: codes (with probe results when ``--probe`` ran), fingerprints, suppression, fixes;
- ``assemble``: the only place a ``ScanResult`` is made, for every entry point (files, crawl,
  archives, audit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from hashlib import sha256
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING

from .. import urls
from ..classify import decide, finding_for, needs_probe
from ..extract.source import SourceText
from ..model import (
    Applicability,
    Context,
    Finding,
    Fix,
    ProbeResult,
    Reference,
    ScanError,
    ScanResult,
    Severity,
    Target,
    pickled_by_fields,
)
from ..rewrite import propose_fix
from ..rules import RULES
from ..settings import ScanSettings
from ..suppress import css_marker_lines, inline_reason, path_ignored, selected, url_excluded
from ..version import __version__
from ..wording import plural

if TYPE_CHECKING:
    from ..probe import ProbeSettings

# the probe stage (and the network stack under it) is imported only when a run probes (issue 19: start-up)


@dataclass(frozen=True, slots=True)
class Policy:
    """What decides whether a finding is reported (sent to workers once per chunk)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path: tuple[tuple[str, tuple[str, ...]], ...] = ()
    baseline: frozenset[str] = frozenset()
    inline: bool = True
    exclude: tuple[str, ...] = ()  # --exclude-url patterns (validated by ScanSettings)

    @classmethod
    def of(cls, s: ScanSettings) -> Policy:
        return cls(s.select, s.ignore, s.per_path_ignores, s.baseline, s.inline_ignores, s.exclude_urls)

    def selects(self, code: str) -> bool:
        return selected(code, self.select, self.ignore)

    def excludes(self, url: str | None) -> bool:
        """docs/configuration.md#excluding-urls: a URL no finding is about, never probed, fetched or followed."""
        return url_excluded(url, self.exclude)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Held:
    """One document's judgeable references (spans checked, document order), held until they are
    judged: at once, or after the probe (docs/probe.md: with ``--probe`` the final code depends on the
    https twin), or, for stylesheets, once every page that loads them is known."""

    file: str | None  # docs/json-report.md ``file`` (None: named by URL)
    path: str | None  # docs/json-report.md ``path``: the file as it opens from the working directory
    refs: tuple[Reference, ...]
    css_markers: tuple[tuple[int, str], ...] = ()
    referrers: tuple[str, ...] | None = None  # for stylesheets: the pages that load it
    codes: tuple[str | None, ...] = ()  # decide(ref) without a probe result, one per ref


def hold(refs: Iterable[Reference], src: SourceText, file: str | None, path: str | None, policy: Policy, *,
         probing: bool) -> Held:
    """The references that can become findings, spans checked. Without probing, only those whose code
    is selected; with it, also every request the probe may turn into MC301/302/303 (docs/rules/index.md)."""
    kept = []
    codes = []
    exclude = policy.exclude
    # the common policy (nothing selected or ignored) selects every code: skip asking it
    selects = policy.selects if policy.select or policy.ignore else None
    data = src.data
    decode = src.decode
    for ref in refs:
        # docs/configuration.md#excluding-urls: an excluded URL is dropped here, before the probe and the fix see it
        if exclude and url_excluded(ref.url, exclude):
            continue
        code = decide(ref)
        if probing:
            if code is None and not needs_probe(ref):
                continue
        elif code is None or selects is not None and not selects(code):
            continue
        # the span is the contract: check it against the stored bytes before reporting it
        span = ref.span
        if decode(data[span.start:span.end]) != ref.raw:
            raise AssertionError(f"span {span} does not hold {ref.raw!r}")
        kept.append(ref)
        codes.append(code)
    css_markers = css_marker_lines(src.text) if policy.inline and kept and src.mentions_ignore_marker() else []
    return Held(file, path, tuple(kept), tuple(css_markers), codes=tuple(codes))


def fingerprint(key: tuple[str, str, str, str, str], index: int) -> str:
    """docs/json-report.md: stable digest of (code, file or page, url, element, attribute) and the index among
    identical tuples. No line numbers or paths outside the report's own: survives line moves."""
    text = "\x1f".join((*key, str(index)))
    return sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _probed_fix(fix: Fix | None, code: str, probe: ProbeResult | None, ref: Reference) -> Fix | None:
    """docs/json-report.md fix.applicability: ``safe`` when the probe proved the https twin; a twin that does not
    work is never offered as an automatic fix (MC301-MC303: display-only)."""
    if fix is None or probe is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return fix
    if code in ("MC301", "MC302", "MC303"):
        return replace(fix, applicability=Applicability.DISPLAY_ONLY,
                       note=f"the https twin does not work ({probe.reason}); rewriting to it would not help")
    # a fix on an http <base href> changes every URL under it: one working twin does not prove them all
    if probe.works and fix.applicability is Applicability.UNSAFE and ref.via_base is None:
        return replace(fix, applicability=Applicability.SAFE)
    return fix


_BY_OFFSET_AND_CODE = itemgetter(0, 1)


def judge_held(held: Held, policy: Policy,
               probes: Mapping[tuple[str, str], ProbeResult] | None = None) -> list[Finding]:
    """Codes (with the probe results when ``--probe`` ran), selection, fingerprints, suppression, fixes.

    Two digests per finding: ``fingerprint`` over docs/json-report.md's key (``file``, else the page URL), and
    ``path_fingerprint`` over the same key with the file's working-directory ``path`` instead, which
    does not depend on how the files were named on the command line (a baseline matches either)."""
    if probes is not None:
        from ..probe import probe_key
    file = held.file
    path = held.path
    codes = held.codes
    # the common policy (nothing selected, ignored or per-path) decides nothing: skip asking it
    selects = policy.selects if policy.select or policy.ignore else None
    judged = []
    for i, ref in enumerate(held.refs):
        probe = None
        if probes is not None and needs_probe(ref):
            assert ref.url is not None
            probe = probes.get(probe_key(ref.url, ref.destination))
        code = decide(ref, probe) if probe is not None or not codes else codes[i]
        if code is None or selects is not None and not selects(code):
            continue
        judged.append((ref.span.start, code, ref, probe))
    judged.sort(key=_BY_OFFSET_AND_CODE)
    css_markers = list(held.css_markers)
    inline = policy.inline
    per_path = policy.per_path
    baseline = policy.baseline
    referrers = held.referrers
    seen: dict[tuple[str, str, str, str, str], int] = {}
    out = []
    for _, code, ref, probe in judged:
        url = ref.url or ""
        element = ref.element or ""
        attribute = ref.attribute or ""
        name = file or ref.page
        key = (code, name, url, element, attribute)
        index = seen.get(key, 0)
        seen[key] = index + 1
        fp = fingerprint(key, index)
        path_fp = fp if path is None or path == file else fingerprint((code, path, url, element, attribute), index)
        # inline_reason finds nothing without a marker on the element or a CSS ignore comment
        why = inline_reason(ref, code, css_markers) if inline and (ref.ignore is not None or css_markers) else None
        # globs match the file as the report names it, or as it opens from the working directory
        if why is None and per_path and (path_ignored(code, file, per_path)
                                         or path is not None and path_ignored(code, path, per_path)):
            why = "per-path-ignores"
        if why is None and baseline and (fp in baseline or path_fp in baseline):
            why = "baseline"
        fix = propose_fix(ref, file)
        if probe is not None:
            fix = _probed_fix(fix, code, probe, ref)
        out.append(finding_for(ref, file, code, fix, fp, why, probe, path=path, path_fingerprint=path_fp,
                               referrers=referrers))
    return out


def judge_now(refs: Iterable[Reference], src: SourceText, file: str | None, path: str | None,
              policy: Policy) -> list[Finding]:
    """Judge one document's references at once (no probe): findings sorted, each with its fingerprint."""
    return judge_held(hold(refs, src, file, path, policy, probing=False), policy)


def served_insecurely(url: str, policy: Policy) -> Finding | None:
    """MC508 (docs/rules/index.md): a page in scope that answered over plain http without redirecting to https.
    Loopback and localhost pages are exempt (they are potentially trustworthy)."""
    if urls.is_potentially_trustworthy(url) or not policy.selects("MC508") or policy.excludes(url):
        return None
    finding = header_finding("MC508", f"page {url} is served over plain http without a redirect to https: "
                                      f"nothing on it, forms included, is protected", url)
    return replace(finding, suppressed_by="baseline") if finding.fingerprint in policy.baseline else finding


def header_finding(code: str, message: str, url: str, *, element: str | None = None,
                   attribute: str | None = None, raw: str | None = None, index: int = 0,
                   severity: Severity | None = None) -> Finding:
    """A finding about how a URL is served (context ``header``: no file, line or offset; docs/json-report.md).
    ``index``: among findings with the same (code, url, element, attribute); ``severity``: None for the
    rule's own."""
    rule = RULES[code]
    key = (code, url, url, element or "", attribute or "")
    return Finding(
        code=code, name=rule.name, category=rule.category,
        severity=rule.severity if severity is None else severity, message=message,
        file=None, page=url, line=None, column=None, offset=None, length=None, url=url, raw=raw,
        element=element, attribute=attribute, context=Context.HEADER, destination=None, initiator=None,
        fingerprint=fingerprint(key, index))


def probe_and_judge(held: list[Held], policy: Policy, probe: ProbeSettings,
                    log: Callable[[str], None] | None) -> list[Finding]:
    """docs/probe.md: probe the https twin of each unique insecure URL once (one event loop and one Net for
    the run), then judge every held reference with the results, fanned back to each finding."""
    from ..probe import probe_key, run_probes

    keys = {probe_key(ref.url, ref.destination) for h in held for ref in h.refs
            if ref.url is not None and needs_probe(ref)}
    outcome = run_probes(keys, probe)
    if log is not None:
        for warning in outcome.warnings:
            log(warning)
        log(f"probed {plural(outcome.probed, 'https twin')}"
            + (f" ({outcome.cached} more from --probe-cache)" if outcome.cached else ""))
    findings: list[Finding] = []
    for h in held:
        findings.extend(judge_held(h, policy, outcome.results))
    return findings


_SORT_KEY = attrgetter("sort_key")  # (no lambda frame per finding: 55k of them on a dense site)


def finalize(findings: list[Finding]) -> tuple[Finding, ...]:
    """Sort (file|page, offset, code); fingerprints were given per document."""
    findings.sort(key=_SORT_KEY)
    return tuple(findings)


def assemble(target: Target, findings: list[Finding], errors: Iterable[ScanError], pages: Iterable[str],
             sheets: Iterable[str], *, show_suppressed: bool = False) -> ScanResult:
    """The ``ScanResult`` of a run, whatever its entry point: findings sorted (suppressed ones counted,
    and kept only with ``show_suppressed``), errors sorted, the documents counted and named."""
    pages = list(pages)
    sheets = list(sheets)
    reported = [f for f in findings if f.suppressed_by is None or show_suppressed]
    return ScanResult(
        target=target, findings=finalize(reported),
        errors=tuple(sorted(errors, key=lambda e: (e.sort_key, e.message))),
        documents=len(pages) + len(sheets), pages=len(pages), stylesheets=len(sheets),
        suppressed=sum(1 for f in findings if f.suppressed_by is not None), tool_version=__version__,
        scanned=tuple(sorted(pages + sheets)))


def reassemble(result: ScanResult, findings: list[Finding], errors: Iterable[ScanError] = (), *,
               show_suppressed: bool = False) -> ScanResult:
    """``result`` with its findings judged again (the browser pass merges its verdicts this way) and
    more errors: counted and sorted as ``assemble`` does."""
    reported = [f for f in findings if f.suppressed_by is None or show_suppressed]
    return replace(result, findings=finalize(reported),
                   errors=tuple(sorted([*result.errors, *errors], key=lambda e: (e.sort_key, e.message))),
                   suppressed=sum(1 for f in findings if f.suppressed_by is not None))


__all__ = ["Held", "Policy", "assemble", "finalize", "fingerprint", "header_finding", "hold", "judge_held",
           "judge_now", "probe_and_judge", "reassemble", "served_insecurely"]
