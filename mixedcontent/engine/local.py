"""The local engine: tasks in this process, or in a pool of worker processes (``--jobs``), results
streamed back in input order."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from . import EngineSettings

T = TypeVar("T")
R = TypeVar("R")


class LocalEngine:
    """Runs tasks here (one worker) or in worker processes (forked where the platform can), in order."""

    local = True

    def __init__(self, workers: int, *, short_lived: bool = False) -> None:
        self._workers = max(1, workers)
        self._short_lived = short_lived

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def where(self) -> str:
        return "in this process" if self._workers == 1 else f"in {self._workers} worker processes"

    def run(self, fn: Callable[[T], R], items: Sequence[T], keys: Sequence[str], *,
            inline: bool = False) -> Iterator[R]:
        if self._workers <= 1 or inline or len(items) < 2:
            for item in items:
                yield fn(item)
            return
        # imported only when a pool is started (a one-page scan never starts one: start-up, issue 19)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
        # while results stream in, this process makes the objects it keeps (tens of thousands of findings
        # on a dense site) and no cycles: the cyclic collector would only walk them again and again
        # (measured: unpickling 55,000 findings 0.29 s with it, 0.16 s without)
        collecting = gc.isenabled()
        gc.disable()
        try:
            # (workers forked from here start with the collector on again: they make and drop cycles)
            with ProcessPoolExecutor(max_workers=self._workers, mp_context=ctx,
                                     initializer=gc.enable if collecting else None) as pool:
                try:
                    yield from pool.map(fn, items)
                except BaseException:
                    # an interrupt (or a consumer that stops): tasks not yet begun are never run
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        finally:
            if collecting:
                if self._short_lived:
                    # the results live to the process's exit: the first full collection after the run
                    # would walk every object they hold (a dense site's 55,000 findings: ~0.12 s while
                    # the report is assembled, issue 19); frozen, collections walk only newer objects
                    gc.freeze()
                gc.enable()


@contextmanager
def local_engine(settings: EngineSettings) -> Iterator[LocalEngine]:
    yield LocalEngine(settings.jobs or os.cpu_count() or 1, short_lived=settings.short_lived)


__all__ = ["LocalEngine", "local_engine"]
