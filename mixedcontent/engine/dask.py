"""The Dask engine: tasks on a ``LocalCluster`` (``--workers N``, loopback only) or on an existing
cluster (``--scheduler tcp://…``), each under its deterministic key, results as they complete. A task
that raises is retried; the tasks of a worker that dies are rescheduled by the scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ..errors import InputError
from ..wording import plural
from . import EngineSettings

T = TypeVar("T")
R = TypeVar("R")


class DaskEngine:
    local = False

    def __init__(self, client: Any, retries: int, where: str, workers: int) -> None:
        self.client = client
        self.retries = retries
        self._where = where
        self._workers = max(1, workers)

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def where(self) -> str:
        return self._where

    def run(self, fn: Callable[[T], R], items: Sequence[T], keys: Sequence[str], *,
            inline: bool = False) -> Iterator[R]:
        from distributed import as_completed

        futures = [self.client.submit(fn, item, key=key, retries=self.retries, pure=False)
                   for item, key in zip(items, keys, strict=True)]
        try:
            for future in as_completed(futures, loop=self.client.loop):  # type: ignore[no-untyped-call]
                result = future.result()
                future.release()
                yield result
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()


@contextmanager
def dask_engine(engine: EngineSettings) -> Iterator[DaskEngine]:
    from distributed import Client, LocalCluster

    if engine.scheduler is not None:
        try:
            client = Client(engine.scheduler, timeout="10s", set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"--scheduler {engine.scheduler}: cannot reach the Dask scheduler ({e})") from None
        try:
            workers = len(client.scheduler_info().get("workers", {}))
            where = f"on the Dask cluster at {engine.scheduler} ({plural(workers, 'worker')})"
            yield DaskEngine(client, engine.retries, where, workers)
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    assert engine.workers is not None
    # loopback only, no dashboard; one thread per worker process (the scan is CPU-bound Python)
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=engine.workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        silence_logs=logging.ERROR, memory_limit=engine.memory_limit or "auto")
    try:
        client = Client(cluster, set_as_default=False)  # type: ignore[no-untyped-call]
        try:
            yield DaskEngine(client, engine.retries, f"on a local Dask cluster of {plural(engine.workers, 'worker')}",
                             engine.workers)
        finally:
            client.close()  # type: ignore[no-untyped-call]
    finally:
        cluster.close()


__all__ = ["DaskEngine", "dask_engine"]
