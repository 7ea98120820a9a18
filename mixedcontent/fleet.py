"""Many hosts at once (docs/audit.md#hosts): ``audit --hosts FILE``.

Each listed host gets the whole posture audit (``posture.audit``, TLS included), at most ``parallel``
hosts at a time in one event loop sharing one ``Net`` (so the crawler's address safety, --resolve,
per-host bounds and timeouts apply to every request), each host bounded by ``host_timeout``. A host
that fails is a row with its reason, never the end of the run.

On a Dask cluster (``--workers N`` / ``--scheduler ADDR``) the host list is cut into batches that run
as tasks under deterministic keys (``scan.task_key``) through the scan's engine
(``engine.open_engine``); each task runs the same event loop over its batch. Rows come back in input
order whatever the completion order, and the findings are sorted as one audit's are, so a run gives
identical rows and report wherever it ran.

Memory: the host list is kept as short lines; each host's exchanges are dropped once its row and
findings are made (bodies are not kept), so peak memory follows ``parallel``, not the list's length.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO

from . import urls
from .engine import EngineSettings, open_engine
from .model import Finding, ScanError, ScanResult, Target, TargetKind
from .net import Net, NetSettings
from .posture import OBSERVATORY_MAX_AGE, PRELOAD_MAX_AGE, AuditOptions, AuditRecord, audit
from .scan import task_key
from .tls import TlsPool
from .version import __version__

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

COLUMNS = (
    "host",
    "https",
    "redirects_to_https",
    "hsts",
    "tls_versions",
    "certificate_expires",
    "worst",
    "codes",
    "error",
)
MAX_BATCH = 64  # hosts per Dask task at most
WINDOW = 4  # outcomes started and not yet handed out, at most, per host audited at once
MAX_TLS_THREADS = 16  # TLS handshakes in flight for the whole run, at most


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One line of the host list: ``url`` to audit, or ``error`` when the line is not a host or URL."""

    index: int  # 0-based among the listed hosts (comments and blank lines skipped)
    line: str  # as written, stripped
    url: str | None
    error: str | None = None

    @property
    def host(self) -> str:
        """What the row calls the host: host[:port] of the URL, else the line."""
        if self.url is None:
            return self.line
        from yarl import URL

        u = URL(self.url, encoded=True)
        name = u.raw_host or self.line
        return name if u.is_default_port() else f"{name}:{u.port}"


@dataclass(frozen=True, slots=True)
class Row:
    """One host's row (docs/audit.md#hosts). ``None`` booleans: could not be told."""

    host: str
    https: bool | None
    redirects_to_https: bool | None
    hsts: str  # missing / invalid / short / valid / preload-ready, "" when https was not reached
    tls_versions: tuple[str, ...]
    certificate_expires: str  # ISO date, "" when unknown
    worst: str  # error / warning / info / ok; "" when the host could not be judged
    codes: tuple[str, ...]
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "https": self.https,
            "redirects_to_https": self.redirects_to_https,
            "hsts": self.hsts,
            "tls_versions": list(self.tls_versions),
            "certificate_expires": self.certificate_expires,
            "worst": self.worst,
            "codes": list(self.codes),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class FleetSettings:
    options: AuditOptions
    net: NetSettings
    parallel: int = 16  # hosts audited at once (per task on a cluster)
    host_timeout: float = 120.0  # seconds for one host, everything included


@dataclass(slots=True)
class FleetSummary:
    """What the run counts besides the report: hosts audited and hosts that could not be judged."""

    hosts: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class HostOutcome:
    index: int
    row: Row
    findings: tuple[Finding, ...]
    errors: tuple[ScanError, ...]
    pages: tuple[str, ...]  # the landing pages scanned


@dataclass(frozen=True, slots=True)
class _Batch:
    """A Dask task's payload: some hosts and the settings (plain frozen values, pickled)."""

    entries: tuple[HostEntry, ...]
    settings: FleetSettings


def read_hosts(lines: Iterable[str], name: str = "-") -> list[HostEntry]:
    """docs/audit.md#hosts: one host or URL a line; blank lines and ``#`` comments skipped. A bare host (or
    host:port) starts at ``http://HOST/``, so its redirect is checked; a line that is neither is kept
    as an entry with its error (its row says why)."""
    out: list[HostEntry] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        index = len(out)
        text = line if "://" in line else f"http://{line}/"
        url = urls.resolve(text, "about:blank")
        if url is None or urls.scheme(url) not in ("http:", "https:") or not urls.host(url):
            out.append(
                HostEntry(index, line, None, f"{name} line {index + 1}: not a host name or http(s) URL")
            )
            continue
        out.append(HostEntry(index, line, url))
    return out


def _worst(findings: Sequence[Finding]) -> str:
    live = [f.severity for f in findings if f.suppressed_by is None]
    return max(live, key=lambda s: s.rank).value if live else "ok"


def _hsts(record: AuditRecord, codes: set[str]) -> str:
    chain = record.https_chain
    if chain is None or chain.exchanges[0].status is None:
        return ""
    if "MC502" in codes:
        return "missing"
    policy = record.hsts
    if policy is None:
        return "invalid" if "MC503" in codes else ""
    if not policy.valid:
        return "invalid"
    if policy.max_age is not None and policy.max_age < OBSERVATORY_MAX_AGE:
        return "short"
    ready = (
        policy.max_age is not None
        and policy.max_age >= PRELOAD_MAX_AGE
        and policy.include_subdomains
        and policy.preload
        and "MC504" not in codes
    )
    return "preload-ready" if ready else "valid"


def make_row(entry: HostEntry, findings: Sequence[Finding], record: AuditRecord) -> Row:
    """The host's row from what its audit found and recorded (docs/audit.md#hosts)."""
    codes = {f.code for f in findings if f.suppressed_by is None}
    http, https, tls = record.http_chain, record.https_chain, record.tls
    https_ok = None if https is None else https.exchanges[0].status is not None
    redirects = None
    if http is not None and http.exchanges[0].status is not None:
        # the walk reached an https URL (whether or not it then answered: that is the https column)
        redirects = http.end in ("done", "error") and http.last.url.lower().startswith("https:")
    reached = bool(https_ok) or redirects is not None or (tls is not None and tls.error is None)
    error = "" if reached else "; ".join(e.message for e in record.errors) or "not reachable"
    expires = ""
    if tls is not None and tls.leaf is not None:
        expires = tls.leaf.not_after.date().isoformat()
    return Row(
        host=entry.host,
        https=https_ok,
        redirects_to_https=redirects,
        hsts=_hsts(record, codes),
        tls_versions=tls.versions if tls is not None else (),
        certificate_expires=expires,
        worst="" if error else _worst(findings),
        codes=tuple(sorted(codes)),
        error=error,
    )


def _failed(entry: HostEntry, why: str) -> HostOutcome:
    row = Row(entry.host, None, None, "", (), "", "", (), why)
    return HostOutcome(entry.index, row, (), (ScanError(None, entry.url or entry.line, why),), ())


async def audit_entry(
    entry: HostEntry,
    settings: FleetSettings,
    net: Net,
    psl: PublicSuffixList | None = None,
    tls_pool: TlsPool | None = None,
) -> HostOutcome:
    """One host's audit and row, bounded by ``host_timeout``; never raises for the host's trouble."""
    if entry.url is None:
        return _failed(entry, entry.error or "not a host")
    try:
        result, record = await asyncio.wait_for(
            audit(entry.url, settings.options, net, psl=psl, tls_pool=tls_pool), settings.host_timeout
        )
    except TimeoutError:
        return _failed(entry, f"timeout: the audit took more than {settings.host_timeout:g} s")
    except Exception as e:  # noqa: BLE001 - one host's unexpected failure is its row, never the run's end
        return _failed(entry, f"internal error: {type(e).__name__}: {e}")
    row = make_row(entry, result.findings, record)
    errors = result.errors
    if row.error:
        errors = (*errors, ScanError(None, entry.url, f"could not be judged: {row.error}"))
    return HostOutcome(entry.index, row, result.findings, errors, result.scanned)


def tls_threads(parallel: int) -> int:
    """Threads for the TLS handshakes of ``parallel`` hosts in flight: SSLyze's per-server 4, shared,
    at most MAX_TLS_THREADS (the handshakes are CPU work on both ends; more threads add only memory)."""
    return max(1, min(MAX_TLS_THREADS, 4 * parallel))


async def audit_in_order(entries: Iterable[HostEntry], settings: FleetSettings) -> AsyncIterator[HostOutcome]:
    """Every entry's outcome, in input order, from one ``Net`` and one TLS pool. Bounded by construction:
    at most ``parallel`` hosts are audited at once, and an entry is started only while fewer than
    WINDOW x ``parallel`` outcomes are started and not yet handed out (a slow host holds back at most
    that many finished ones); the host list is read as it goes."""
    from publicsuffixlist import PublicSuffixList as _PSL

    psl = _PSL()
    gate = asyncio.Semaphore(settings.parallel)
    window = WINDOW * settings.parallel
    async with Net(settings.net) as net:
        with TlsPool(tls_threads(settings.parallel)) as pool:

            async def one(entry: HostEntry) -> HostOutcome:
                async with gate:
                    return await audit_entry(entry, settings, net, psl, pool)

            started: deque[asyncio.Task[HostOutcome]] = deque()
            try:
                for entry in entries:
                    started.append(asyncio.ensure_future(one(entry)))
                    while len(started) >= window or (started and started[0].done()):
                        yield await started.popleft()
                while started:
                    yield await started.popleft()
            finally:
                for task in started:
                    task.cancel()


async def audit_entries(
    entries: Sequence[HostEntry], settings: FleetSettings, done: Callable[[HostOutcome], None] | None = None
) -> list[HostOutcome]:
    """Every entry, at most ``settings.parallel`` at once, in one ``Net``; outcomes in input order."""
    out: list[HostOutcome] = []
    async for outcome in audit_in_order(entries, settings):
        if done is not None:
            done(outcome)
        out.append(outcome)
    return out


def _batch_task(batch: _Batch) -> tuple[HostOutcome, ...]:
    """A Dask task: one batch of hosts in its own event loop."""
    return tuple(asyncio.run(audit_entries(batch.entries, batch.settings)))


def _batches(entries: Sequence[HostEntry], workers: int) -> list[tuple[HostEntry, ...]]:
    size = max(1, min(MAX_BATCH, -(-len(entries) // (4 * max(1, workers)))))
    return [tuple(entries[i : i + size]) for i in range(0, len(entries), size)]


class FleetProgress:
    """Hosts done out of the list, drawn with rich on stderr when it is a terminal (as the crawl's)."""

    def __init__(self, stream: TextIO, total: int, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.failed = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Self:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("auditing hosts"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream, stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def __call__(self, outcome: HostOutcome) -> None:
        if outcome.row.error:
            self.failed += 1
        if self._progress is not None:
            self._progress.update(
                self._task, advance=1, description=f"{self.failed} failed" if self.failed else ""
            )

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _run(
    entries: Sequence[HostEntry],
    settings: FleetSettings,
    engine: EngineSettings,
    take: Callable[[HostOutcome], None],
) -> None:
    """Each entry's outcome handed to ``take`` in input order: here, in this machine's worker processes
    (one per CPU, when the list is longer than ``parallel``: one process's event loop and SSLyze's
    Python work are bound to one core), or on the Dask cluster."""
    if not engine.distributed:
        workers = engine.jobs or os.cpu_count() or 1
        if workers > 1 and len(entries) > settings.parallel:
            with open_engine(engine) as local:
                batches = _batches(entries, local.workers)
                keys = [f"audit-hosts-{i}" for i in range(len(batches))]
                for outcomes in local.run(_batch_task, [_Batch(b, settings) for b in batches], keys):
                    for outcome in outcomes:  # the local engine yields in input order
                        take(outcome)
            return

        async def go() -> None:
            async for outcome in audit_in_order(entries, settings):
                take(outcome)

        asyncio.run(go())
        return
    import dask

    digest = repr((settings, __version__))
    # No statistical profiler on the workers we start: it calls sys._current_frames() every 10 ms,
    # and on CPython 3.11 that deadlocks against a thread being created while the GC runs a weakref
    # callback (seen here: every TLS scan starts SSLyze's threads). A LocalCluster's nannies hand this
    # configuration to their workers; a --scheduler cluster's workers keep their own.
    with dask.config.set({"distributed.worker.profile.enabled": False}), open_engine(engine) as r:
        batches = _batches(entries, r.workers)
        keys = [task_key("audit-hosts", tuple(e.line for e in b), digest) for b in batches]
        # batches finish in any order: each waits until those before it are handed out
        waiting: dict[int, tuple[HostOutcome, ...]] = {}
        following = 0
        for outcomes in r.run(_batch_task, [_Batch(b, settings) for b in batches], keys):
            waiting[outcomes[0].index] = outcomes
            while following in waiting:
                ready = waiting.pop(following)
                for outcome in ready:
                    take(outcome)
                following = ready[-1].index + 1


def audit_hosts(
    entries: Sequence[HostEntry],
    settings: FleetSettings,
    engine: EngineSettings | None = None,
    *,
    progress: Callable[[HostOutcome], None] | None = None,
    rows: Callable[[Row], None] | None = None,
) -> tuple[ScanResult, FleetSummary]:
    """Audit every entry (here, or on the Dask cluster ``engine`` names): each row handed to ``rows``
    as soon as it is its turn (input order), and the merged report. Only what the report needs is kept
    of each host (its findings, errors and scanned pages), not its exchanges or TLS scan."""
    from .judge.findings import assemble

    findings: list[Finding] = []
    errors: list[ScanError] = []
    pages: list[str] = []
    summary = FleetSummary()

    def take(outcome: HostOutcome) -> None:
        if progress is not None:
            progress(outcome)
        summary.hosts += 1
        summary.failed += bool(outcome.row.error)
        if rows is not None:
            rows(outcome.row)
        findings.extend(outcome.findings)
        errors.extend(outcome.errors)
        pages.extend(outcome.pages)

    _run(entries, settings, engine or EngineSettings(), take)
    result = assemble(
        Target(kind=TargetKind.SITE, inputs=tuple(e.url or e.line for e in entries), base_url=None),
        findings,
        errors,
        pages,
        (),
    )
    return result, summary


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


class RowWriter:
    """Rows written one at a time as CSV with a header line (lists space-separated, booleans true/false,
    unknown empty) or JSON Lines with the same keys (docs/audit.md#hosts)."""

    def __init__(self, out: TextIO, fmt: str = "csv") -> None:
        self.out = out
        self.fmt = fmt
        self._csv = csv.writer(out, lineterminator="\n") if fmt != "jsonl" else None
        if self._csv is not None:
            self._csv.writerow(COLUMNS)

    def __call__(self, row: Row) -> None:
        if self._csv is None:
            self.out.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
        else:
            self._csv.writerow([_cell(getattr(row, c)) for c in COLUMNS])


def write_rows(rows: Iterable[Row], out: TextIO, fmt: str = "csv") -> None:
    """All ``rows`` at once (``RowWriter``)."""
    writer = RowWriter(out, fmt)
    for row in rows:
        writer(row)


__all__ = [
    "COLUMNS",
    "FleetProgress",
    "FleetSettings",
    "FleetSummary",
    "HostEntry",
    "HostOutcome",
    "Row",
    "RowWriter",
    "audit_entries",
    "audit_entry",
    "audit_hosts",
    "audit_in_order",
    "make_row",
    "read_hosts",
    "tls_threads",
    "write_rows",
]
