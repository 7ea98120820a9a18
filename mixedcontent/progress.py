"""Progress of a crawl on a terminal, drawn with rich on stderr (stdout carries only the report).

Silent when stderr is not a terminal, or when asked (``--quiet``): then it writes nothing at all,
so logs and CI output stay clean.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from .sources.crawl import CrawlStats
from .wording import plural


def describe(stats: CrawlStats) -> str:
    """One line: pages done and queued, stylesheets, requests, skipped, disallowed and errors."""
    parts = [plural(stats.pages, "page"), f"{stats.queued} queued", plural(stats.stylesheets, "stylesheet"),
             plural(stats.requests, "request")]
    if stats.skipped:
        parts.append(f"{stats.skipped} skipped")
    if stats.disallowed:
        parts.append(f"{stats.disallowed} disallowed by robots.txt")
    if stats.errors:
        parts.append(plural(stats.errors, "error"))
    return ", ".join(parts)


class CrawlProgress:
    """``with CrawlProgress(stderr, enabled) as progress:`` then ``progress(stats)`` on every change
    (rich redraws a few times a second) and ``progress.log(line)`` for messages, which appear above
    the live line instead of tearing it."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        if self.enabled:
            console = Console(file=self.stream, stderr=True)
            self._progress = Progress(SpinnerColumn(), TextColumn("crawling: {task.description}"),
                                      TimeElapsedColumn(), console=console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(describe(CrawlStats()), total=None)
        return self

    def __call__(self, stats: CrawlStats) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=describe(stats))

    def log(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            self.stream.write(message + "\n")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


__all__ = ["CrawlProgress", "describe"]
