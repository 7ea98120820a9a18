"""A Dask worker plugin for tests: the first worker to start a task whose key begins with ``prefix``
dies on the spot (``os._exit``), once per marker file. It lives in its own module so that worker
processes can import it (a class defined in a test module would drag the test module along)."""

from __future__ import annotations

import os
from typing import Any

from distributed import WorkerPlugin


class CrashOnce(WorkerPlugin):
    name = "mixedcontent-test-crash-once"

    def __init__(self, marker: str, prefix: str) -> None:
        self.marker = marker
        self.prefix = prefix

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).startswith(self.prefix):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # one worker wins, once
        except FileExistsError:
            return
        os.write(fd, f"{os.getpid()} {key}\n".encode())
        os.close(fd)
        os._exit(1)
