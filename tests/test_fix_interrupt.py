"""Ctrl-C during ``fix`` (issue 15 item 13): a real ``fix`` process (with worker processes) gets a real
SIGINT half-way; it exits 130, leaves no temp file in the site, and names on stderr exactly the files
it had already rewritten (each file on disk is the original or the whole rewrite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT

PAGES = 400
_PAD = b"<p>" + b"x" * 12_000 + b"</p>\n"


def _page(i: int) -> bytes:
    return f'<!doctype html><img src="http://img.example/{i}.png">\n'.encode() + _PAD


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


@pytest.mark.parametrize("group", [True, False], ids=["terminal-group", "main-process-only"])
def test_an_interrupted_fix_removes_its_temp_files_and_names_what_it_rewrote(tmp_path, group: bool) -> None:  # type: ignore[no-untyped-def]
    site = str(tmp_path / "site")
    for i in range(PAGES):
        d = os.path.join(site, f"d{i % 8}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"p{i}.html"), "wb") as fh:
            fh.write(_page(i))
    proc = subprocess.Popen([sys.executable, "-m", "mixedcontent", "fix", site, "--unsafe", "--jobs", "2"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    first = os.path.join(site, "d0", "p0.html")
    deadline = time.monotonic() + 60
    while _read(first) == _page(0) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if group:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    else:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    text = err.decode("utf-8")
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    temps = [n for _, _, names in os.walk(site) for n in names if n.endswith(".mixedcontent.tmp")]
    assert temps == []
    rewritten = set()
    for i in range(PAGES):
        rel = f"d{i % 8}/p{i}.html"
        data = _read(os.path.join(site, rel))
        assert data in (_page(i), _page(i).replace(b"http:", b"https:")), rel
        if data != _page(i):
            rewritten.add(rel)
    assert 0 < len(rewritten) < PAGES  # really interrupted half-way
    named = {line[len("mixedcontent: "):-len(": rewritten")] for line in text.splitlines()
             if line.endswith(": rewritten")}
    assert named == rewritten
    assert f"interrupted: rewrote {len(rewritten)} file{'' if len(rewritten) == 1 else 's'} before" in text
