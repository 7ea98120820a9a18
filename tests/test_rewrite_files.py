"""The file-replacement primitives behind ``fix`` (SPEC §9): a temp file staged beside the original,
made durable (fsync, or one syncfs for a batch), then renamed over it only if the original is still
the file that was planned from."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
import time

import pytest
from conftest import EXAMPLE

from mixedcontent.fixer import FixOptions, fix_paths
from mixedcontent.rewrite import (
    CAN_SYNC_FILESYSTEMS,
    FileChangedError,
    commit_at,
    is_temp_name,
    open_atomic,
    open_directory,
    read_at,
    stage_at,
    sync_filesystems,
)
from mixedcontent.settings import ScanSettings


def _temps(root: str) -> list[str]:
    return [os.path.join(d, n) for d, _, names in os.walk(root) for n in names if is_temp_name(n)]


def stage_file(path: str, data: bytes, *, expect: os.stat_result, fsync: bool) -> str:
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        return os.path.join(os.path.dirname(path), stage_at(fd, os.path.basename(path), data, expect=expect,
                                                            fsync=fsync))
    finally:
        os.close(fd)


def commit_file(tmp: str, path: str, *, expect: os.stat_result, backup: str | None = None) -> None:
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        commit_at(fd, os.path.basename(tmp), os.path.basename(path), expect=expect, backup=backup)
    finally:
        os.close(fd)


def test_stage_then_commit_replaces_the_file_and_keeps_its_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.html"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    st = os.lstat(p)
    tmp = stage_file(str(p), b"new", expect=st, fsync=False)
    assert is_temp_name(os.path.basename(tmp)) and os.path.dirname(tmp) == str(tmp_path)
    assert p.read_bytes() == b"old"  # nothing visible before the commit
    commit_file(tmp, str(p), expect=st)
    assert p.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert _temps(str(tmp_path)) == []


def test_commit_refuses_a_file_that_changed_after_staging(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.html"
    p.write_bytes(b"old")
    st = os.lstat(p)
    tmp = stage_file(str(p), b"new", expect=st, fsync=False)
    p.write_bytes(b"edited by someone else")
    with pytest.raises(FileChangedError):
        commit_file(tmp, str(p), expect=st)
    assert p.read_bytes() == b"edited by someone else"
    assert _temps(str(tmp_path)) == []


def test_commit_never_overwrites_an_existing_backup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.html"
    p.write_bytes(b"old")
    (tmp_path / "a.html.orig").write_bytes(b"older")
    st = os.lstat(p)
    tmp = stage_file(str(p), b"new", expect=st, fsync=False)
    with pytest.raises(FileExistsError):
        commit_file(tmp, str(p), expect=st, backup=".orig")
    assert p.read_bytes() == b"old" and (tmp_path / "a.html.orig").read_bytes() == b"older"
    assert _temps(str(tmp_path)) == []


@pytest.mark.skipif(not CAN_SYNC_FILESYSTEMS, reason="syncfs(2) is Linux-only; fix fsyncs each file elsewhere")
def test_sync_filesystems_syncs_and_reports_a_closed_handle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    fds = [os.open(str(tmp_path), os.O_RDONLY), os.open(str(tmp_path / "a"), os.O_RDONLY)]
    sync_filesystems(fds)  # one filesystem, synced once
    for fd in fds:
        os.close(fd)
    with pytest.raises(OSError):
        sync_filesystems(fds)


def test_commit_refuses_a_file_rewritten_in_place_with_the_same_size_and_mtime(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a future mtime set back after an edit (as tar or rsync do) still shows: ctime cannot be set back
    p = tmp_path / "a.html"
    p.write_bytes(b"old")
    future = os.stat(p).st_mtime_ns + 3600 * 10**9
    os.utime(p, ns=(future, future))
    st = os.lstat(p)
    tmp = stage_file(str(p), b"new", expect=st, fsync=False)
    time.sleep(0.05)  # past the filesystem clock's tick (timestamps are taken from a coarse clock)
    p.write_bytes(b"OLD")
    os.utime(p, ns=(future, future))
    with pytest.raises(FileChangedError):
        commit_file(tmp, str(p), expect=st)
    assert p.read_bytes() == b"OLD" and _temps(str(tmp_path)) == []


def test_open_directory_refuses_a_step_that_is_a_symlink(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "p.html").write_bytes(b"outside")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "d").symlink_to(tmp_path / "outside")
    (tmp_path / "root" / "p.html").symlink_to(tmp_path / "outside" / "p.html")
    with pytest.raises(OSError) as e:
        open_directory(str(tmp_path / "root"), ["d"])
    assert e.value.errno in (errno.ELOOP, errno.ENOTDIR)
    fd = open_directory(str(tmp_path / "root"), [])
    try:
        with pytest.raises(OSError) as e:
            read_at(fd, "p.html")
        assert e.value.errno == errno.ELOOP
    finally:
        os.close(fd)


@pytest.mark.parametrize("durable", [True, False])
def test_fix_over_many_chunks_in_worker_processes(tmp_path, durable: bool) -> None:  # type: ignore[no-untyped-def]
    """Enough pages for several chunks in two worker processes (each page rewritten by the worker that
    scanned it, each chunk made durable at once): every page rewritten, no temp file left."""
    filler = "<p>" + "x" * 60_000 + "</p>"
    for i in range(80):
        (tmp_path / f"p{i}.html").write_text(f'<img src="http://i.example/{i}.png">{filler}'
                                             f'<img src="http://i.example/{i}b.png">')
    result = fix_paths([str(tmp_path)], ScanSettings(jobs=2), FixOptions(unsafe=True, durable=durable))
    assert [o.status for o in result.files] == ["rewritten"] * 80
    assert [o.file for o in result.files] == sorted(f"p{i}.html" for i in range(80))
    for i in range(80):
        data = (tmp_path / f"p{i}.html").read_text()
        assert data.startswith(f'<img src="https://i.example/{i}.png">')
        assert data.endswith(f'<img src="https://i.example/{i}b.png">')
    assert len(result.edits) == 160
    assert _temps(str(tmp_path)) == []


def test_open_atomic_streams_text_into_place_and_keeps_the_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Reports written with --output: text goes to a temp file beside the target as it is written (the
    target keeps its old bytes meanwhile), then replaces it whole, UTF-8, newlines untranslated."""
    p = tmp_path / "report.json"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    with open_atomic(str(p)) as out:
        out.write("caf\u00e9\r\n")
        out.flush()
        assert p.read_bytes() == b"old" and len(_temps(str(tmp_path))) == 1
        out.write("x" * 3_000_000)
    assert p.read_bytes() == "caf\u00e9\r\n".encode() + b"x" * 3_000_000
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert _temps(str(tmp_path)) == []


def test_open_atomic_leaves_the_file_alone_when_writing_fails(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "report.txt"
    p.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError):
        with open_atomic(str(p)) as out:
            out.write("half a report")
            1 / 0  # noqa: B018
    with pytest.raises(UnicodeEncodeError):
        with open_atomic(str(p)) as out:
            out.write("\ud800")  # not UTF-8: refused, as write_atomic refuses it
    assert p.read_bytes() == b"old"
    assert _temps(str(tmp_path)) == []
    with pytest.raises(FileNotFoundError):
        with open_atomic(str(tmp_path / "missing" / "r.txt")):
            pass


def _read_fifo(path: str, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as f:
            into.append(f.read())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("command", [("scan", EXAMPLE, "--format", "json"), ("csp", EXAMPLE)])
def test_output_to_a_pipe_is_written_in_place_never_replaced(run, tmp_path, command) -> None:  # type: ignore[no-untyped-def]
    """``-o /dev/stdout`` (a symlink to a pipe or terminal), ``-o /dev/null`` or a FIFO: a rename over
    it put a regular file where the device was (found replacing /dev/stdout). Shown with a FIFO (a
    device here would be the machine's own)."""
    fifo = str(tmp_path / "out.fifo")
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    r = run(*command, "-o", fifo)
    reader.join(10)
    assert r.code in (0, 1), r.err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].strip() and r.out == ""
    if command[0] == "scan":
        assert json.loads(got[0])["summary"]["findings"] > 0
    assert not [n for n in os.listdir(tmp_path) if n != "out.fifo"]  # no temp file left beside it


def test_output_through_a_symlink_replaces_its_target_and_keeps_the_link(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "reports" / "mc.json"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    r = run("scan", EXAMPLE, "--format", "json", "-o", str(link))
    assert r.code == 1, r.err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["summary"]["findings"] > 0
    baseline_link = tmp_path / "baseline.json"
    baseline_link.symlink_to(tmp_path / "reports" / "baseline.json")
    (tmp_path / "reports" / "baseline.json").write_text("{}")
    r = run("scan", EXAMPLE, "--write-baseline", str(baseline_link))
    assert baseline_link.is_symlink()
    assert json.loads((tmp_path / "reports" / "baseline.json").read_text())["findings"]
