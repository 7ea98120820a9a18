"""The file-replacement primitives behind ``fix`` (SPEC §9): a temp file staged beside the original,
made durable (fsync, or one syncfs for a batch), then renamed over it only if the original is still
the file that was planned from."""

from __future__ import annotations

import os
import stat

import pytest

from mixedcontent.fixer import FixOptions, fix_paths
from mixedcontent.rewrite import (
    CAN_SYNC_FILESYSTEMS,
    FileChangedError,
    commit_file,
    is_temp_name,
    stage_file,
    sync_filesystems,
)
from mixedcontent.settings import ScanSettings


def _temps(root: str) -> list[str]:
    return [os.path.join(d, n) for d, _, names in os.walk(root) for n in names if is_temp_name(n)]


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
def test_sync_filesystems_syncs_and_reports_a_missing_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").write_bytes(b"x")
    sync_filesystems([str(tmp_path / "a"), str(tmp_path / "b")])  # one filesystem, synced once
    with pytest.raises(OSError):
        sync_filesystems([str(tmp_path / "missing" / "a")])


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
