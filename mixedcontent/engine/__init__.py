"""Where the work of a scan runs: one interface, two engines.

``Engine.run(fn, items, keys)`` applies a module-level function to each item and yields the results.
The local engine (``engine.local``) runs them in this process or in a pool of worker processes, in
order; the Dask engine (``engine.dask``) runs them on a ``LocalCluster`` (``--workers N``) or an
existing cluster (``--scheduler ADDR``) under deterministic task keys, as they complete. Callers
never depend on the order results come in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ..errors import UsageError

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Where the tasks run: worker processes of this machine (``jobs``; 0 = one per CPU), a
    LocalCluster of ``workers`` processes, or the cluster whose scheduler is at ``scheduler``."""

    jobs: int = 0
    workers: int | None = None
    scheduler: str | None = None
    shards: str | None = None  # directory for the JSON Lines shards (and manifest.json)
    retries: int = 3  # a task that raises is run again this many times (a dead worker's tasks always are)
    memory_limit: str | None = None  # per LocalCluster worker (Dask's "auto" when None)
    # the process ends once the run is reported (the command line): the results it keeps live to its exit,
    # so the local engine moves them out of the cyclic collector's walks when the run ends (gc.freeze)
    short_lived: bool = False

    def __post_init__(self) -> None:
        if self.jobs < 0:
            raise UsageError(f"--jobs must be 0 (one per CPU) or more, got {self.jobs}")
        if self.workers is not None and self.scheduler is not None:
            raise UsageError("--workers and --scheduler exclude each other (--scheduler uses that cluster's workers)")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers must be 1 or more, got {self.workers}")
        if self.scheduler is not None and "://" not in self.scheduler:
            raise UsageError(f"--scheduler wants a Dask scheduler address such as tcp://127.0.0.1:8786, "
                             f"got {self.scheduler!r}")
        if self.retries < 0:
            raise UsageError(f"retries must be 0 or more, got {self.retries}")

    @property
    def distributed(self) -> bool:
        return self.workers is not None or self.scheduler is not None


class Engine(Protocol):
    """Runs a task function over items."""

    @property
    def workers(self) -> int:
        """How many tasks can run at once."""
        ...

    @property
    def where(self) -> str:
        """Where tasks run, for log lines ("in this process", "on a local Dask cluster of 2 workers")."""
        ...

    @property
    def local(self) -> bool:
        """Tasks run on this machine and may act on its files (``fix``), results in order."""
        ...

    def run(self, fn: Callable[[T], R], items: Sequence[T], keys: Sequence[str], *,
            inline: bool = False) -> Iterator[R]:
        """``fn(item)`` for each item, under its key; ``inline``: the work is too small to be worth
        sending anywhere (an engine may ignore it)."""
        ...


def open_engine(settings: EngineSettings) -> AbstractContextManager[Engine]:
    """The engine the settings name, open for the run (``with open_engine(s) as engine:``)."""
    if settings.distributed:
        from .dask import dask_engine

        return dask_engine(settings)
    from .local import local_engine

    return local_engine(settings)


__all__ = ["Engine", "EngineSettings", "open_engine"]
