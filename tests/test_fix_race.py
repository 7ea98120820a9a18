"""``fix`` never writes outside the root, whatever happens to the tree while it runs (issue 15 item 9):
a thread swaps a directory inside the root for a symlink to an outside directory, and back, over and
over, while a real ``fix`` process (with worker processes) rewrites the pages under it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from conftest import ROOT

PAGES = 900  # 10.8 MB in all: scanned and rewritten by worker processes, long enough for many swaps
TRIALS = 3
_PAD = b"<p>" + b"x" * 12_000 + b"</p>\n"


def _page(i: int) -> bytes:
    return f'<!doctype html><img src="http://img.example/{i}.png">\n'.encode() + _PAD


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _swap(site: str, outside: str, stop: threading.Event, swaps: list[int]) -> None:
    """Once the run has rewritten its first page (so each worker has seen ``site/d`` as a directory),
    replace ``site/d`` with a symlink to ``outside`` and put it back, over and over, until told to stop.
    (Before the fix, 3 trials rewrote 100-150 files outside the root each.)"""
    d, hidden = os.path.join(site, "d"), os.path.join(site, ".d-real")
    while not stop.is_set() and _read(os.path.join(d, "p0.html")) == _page(0):  # the first page rewritten
        time.sleep(0.001)
    while not stop.is_set():
        os.rename(d, hidden)
        os.symlink(outside, d)
        time.sleep(0.002)
        os.unlink(d)
        os.rename(hidden, d)
        swaps[0] += 1
        time.sleep(0.0005)


def test_a_directory_swapped_for_a_symlink_during_fix_never_leads_a_write_outside(tmp_path) -> None:  # type: ignore[no-untyped-def]
    changed_outside = []
    for trial in range(TRIALS):
        site, outside = str(tmp_path / f"site{trial}"), str(tmp_path / f"outside{trial}")
        os.makedirs(os.path.join(site, "d"))
        os.makedirs(outside)
        for i in range(PAGES):
            for top in (os.path.join(site, "d"), outside):
                with open(os.path.join(top, f"p{i}.html"), "wb") as fh:
                    fh.write(_page(i))
        stop, swaps = threading.Event(), [0]
        swapper = threading.Thread(target=_swap, args=(site, outside, stop, swaps))
        proc = subprocess.Popen([sys.executable, "-m", "mixedcontent", "fix", site, "--unsafe", "--jobs", "2",
                                 "--no-fsync"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        swapper.start()
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            stop.set()
            swapper.join()
        assert proc.returncode in (0, 1), err
        assert swaps[0] > 10  # the tree really changed under the run
        changed_outside += [f"{trial}/p{i}" for i in range(PAGES)
                            if _read(os.path.join(outside, f"p{i}.html")) != _page(i)]
        # inside, every page is the original or its rewrite, and the run did rewrite some
        inside = [_read(os.path.join(site, "d", f"p{i}.html")) for i in range(PAGES)]
        assert all(data in (_page(i), _page(i).replace(b"http:", b"https:")) for i, data in enumerate(inside))
        assert any(data != _page(i) for i, data in enumerate(inside))
    assert changed_outside == []
