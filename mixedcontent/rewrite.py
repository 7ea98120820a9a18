"""Rewriting references: what the new text of a span is (``propose_fix``) and, for ``fix``, how edits
are applied to the original bytes. Only the bytes inside a span ever change (docs/fix.md).
"""

from __future__ import annotations

import bisect
import ctypes
import difflib
import errno
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Sequence

from . import urls
from .extract import charrefs
from .extract.source import SourceText
from .model import Applicability, Context, Edit, Fix, Reference, RefKind

_PORT_80 = re.compile(r"^(https:[/\\]*[^/\\?#]*?):80(?=[/\\?#]|$)")


def _twin_text(raw: str, url: str, base: str, context: Context) -> tuple[str, str | None]:
    """New text for ``raw`` (which resolves to http ``url``) so that it resolves to the https twin.

    Returns (replacement, reason-if-display-only).
    """
    if raw == url and url.startswith("http://"):
        # written exactly as its own serialisation: http and https parse alike but for the default
        # port, so "https:" + the rest resolves to the twin (no need to parse twice; a serialised
        # URL carries no ":80", and an explicit ":443" is the twin's default port)
        return "https:" + raw[5:], None
    twin = urls.href_twin(url)
    if raw[:5].lower() != "http:":
        return twin, "the scheme is written with character references or escapes; rewrite it by hand"
    rest = raw[5:]
    if rest[:1] not in ("/", "\\"):
        # "http:host/x" only means http://host/x against a non-http base; spell the twin out
        rest = "//" + rest
    candidate = _PORT_80.sub(r"\1", "https:" + rest)
    if "&" in raw or "\\" in raw and context is not Context.HTML and context is not Context.SRCDOC:
        return candidate, None
    decoded = charrefs.decode(candidate, attribute=True)[0] if context in (Context.HTML, Context.SRCDOC) else candidate
    start, end = urls.strip_ascii_whitespace(decoded)
    if urls.resolve(decoded[start:end], base) != twin:
        return twin, "the rewritten text would not resolve to the https twin exactly; rewrite it by hand"
    return candidate, None


def propose_fix(ref: Reference, file: str | None) -> Fix | None:
    """The fix for a finding's reference: new text for its span (or for the http <base href> it came
    through)."""
    if ref.url is None:
        return None
    target = ref
    if ref.via_base is not None:
        target = ref.via_base  # docs/json-report.md: a reference under an http <base href> is fixed there
    elif not ref.page.startswith("https:") and not urls.may_be_http(charrefs.decode(ref.raw, attribute=True)[0]):
        return None  # a relative URL on an http page: the fix is serving the page over https
    if target.url is None:
        return None
    replacement, reason = _twin_text(target.raw, target.url, ref.page, target.context)
    if ref.kind is RefKind.SCRIPT_LITERAL:
        applicability = Applicability.DISPLAY_ONLY
        reason = reason or "script literals are never rewritten automatically"
    elif reason is not None:
        applicability = Applicability.DISPLAY_ONLY
    else:
        applicability = Applicability.UNSAFE
    edit = Edit(file=file, offset=target.span.start, length=target.span.length, new=replacement, old=target.raw)
    return Fix(replacement=replacement, applicability=applicability, edits=(edit,), note=reason)


def _cut_points(src: SourceText, offset: int, stored: bytes, old: str, keep: int,
                tail: int) -> tuple[int, int] | None:
    """Byte offsets (within the span ``stored`` at ``offset``, which decodes to ``old``) where its first
    ``keep`` code points end and its last ``tail`` begin. Usually found by encoding those code points
    and checking that the stored bytes decode to them; where they do not (two byte sequences for one
    code point, as cp932's NEC/IBM twins), by the document's own position map."""
    head, rest = old[:keep], old[len(old) - tail:]
    try:
        b1 = len(src.encode(head))
        b2 = len(stored) - len(src.encode(rest))
    except UnicodeEncodeError:
        b1 = b2 = -1
    if 0 <= b1 <= b2 <= len(stored) and src.decode(stored[:b1]) == head and src.decode(stored[b2:]) == rest:
        return b1, b2
    # the code-point index of the span's start (byte offsets grow with the index)
    index = bisect.bisect_left(range(len(src.text) + 1), offset, key=src.byte_offset)
    if index > len(src.text) or src.byte_offset(index) != offset:
        return None
    return src.byte_offset(index + keep) - offset, src.byte_offset(index + len(old) - tail) - offset


def splice(src: SourceText, offset: int, length: int, old: str, new: str) -> bytes:
    """The bytes that replace ``src.data[offset:offset+length]`` (which must decode to ``old``) so that
    they decode to ``new``, changing as few bytes as possible: the code points ``old`` and ``new``
    share at either end keep their stored bytes (a Shift_JIS NEC/IBM duplicate or an unusual but valid
    byte sequence beside the scheme is never re-encoded). Raises ``ValueError`` with the reason when the
    span no longer holds ``old`` or ``new`` cannot be written exactly in the document's encoding."""
    data = src.data
    stored = data[offset:offset + length]
    if src.decode(stored) != old:
        raise ValueError("the file no longer holds the scanned text at this offset")
    keep = 0
    limit = min(len(old), len(new))
    while keep < limit and old[keep] == new[keep]:
        keep += 1
    tail = 0
    while tail < limit - keep and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    cut = _cut_points(src, offset, stored, old, keep, tail)
    if cut is None:
        raise ValueError("the offset does not start a character in this encoding")
    cut_start, cut_end = offset + cut[0], offset + cut[1]
    try:
        middle = src.encode(new[keep:len(new) - tail])
    except UnicodeEncodeError:
        raise ValueError(f"the new text cannot be written in {src.encoding}") from None
    piece = data[offset:cut_start] + middle + data[cut_end:offset + length]
    if src.decode(piece) != new:
        raise ValueError(f"the new text would not read back exactly in {src.encoding}")
    return piece


def apply_edits(src: SourceText, edits: Sequence[tuple[int, int, str, str]]) -> bytes:
    """``src.data`` with each (offset, length, old, new) edit spliced in; edits must not overlap.
    Bytes outside the edited spans are copied unchanged. Raises ``ValueError`` (see ``splice``)."""
    out: list[bytes] = []
    pos = 0
    data = src.data
    for offset, length, old, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if offset < pos:
            raise ValueError(f"overlapping edits at byte {offset}")
        out.append(data[pos:offset])
        out.append(splice(src, offset, length, old, new))
        pos = offset + length
    out.append(data[pos:])
    return b"".join(out)


# temp files are named so that a later run recognises (and removes) what an interrupted one left
TEMP_SUFFIX = ".mixedcontent.tmp"
_TEMP_NAME = re.compile(r"^\..+\.[0-9]+-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def replace_file(path: str, data: bytes, *, expect: os.stat_result | None = None, backup: str | None = None,
                 durable: bool = True) -> None:
    """Replace the file at ``path`` with ``data`` atomically (docs/fix.md): a temp file in the same
    directory (created exclusively, never through a symlink), written, flushed and fsynced, given the
    original's permission bits (and owner, where allowed), then renamed over ``path``. Readers see the
    old bytes or the new, never a mix; a crash leaves at most a temp file, which ``remove_temp_files``
    clears. With ``expect``, the rename happens only if ``path`` is still that file (same inode, size
    and mtime), else ``FileChangedError``. With ``backup``, the original stays at ``path + backup``
    (a hard link, or a copy where links are not possible; an existing backup is never overwritten).
    Raises OSError. (``stage_file`` and ``commit_file`` are its two halves, for callers that make many
    temp files durable at once with ``sync_filesystems``.)"""
    tmp = stage_file(path, data, expect=expect, fsync=durable)
    commit_file(tmp, path, expect=expect, backup=backup)


def stage_file(path: str, data: bytes, *, expect: os.stat_result | None = None, fsync: bool = True) -> str:
    """The first half of ``replace_file``: write ``data`` to a new temp file beside ``path``, with the
    original's mode and owner, fsynced if asked; returns the temp file's path. Raises OSError (and
    leaves no temp file behind)."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")
    mode = stat.S_IMODE(expect.st_mode) if expect is not None else None
    # created with the original's read/execute bits already (never writable by group or others, nor
    # setuid, before the owner is right): the fchown/fchmod below, each a journaled inode update,
    # then run only when the umask or the owner makes them necessary
    initial = 0o600 if mode is None else mode & 0o755
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0),
                 initial)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if mode is not None:
                assert expect is not None
                made = os.fstat(fd)
                owner_differs = (made.st_uid, made.st_gid) != (expect.st_uid, expect.st_gid)
                if owner_differs:
                    try:
                        os.fchown(fd, expect.st_uid, expect.st_gid)  # before the mode: chown may clear setuid
                    except OSError:
                        pass  # not ours to give away: the mode bits still hold
                if owner_differs or stat.S_IMODE(made.st_mode) != mode:
                    os.fchmod(fd, mode)
            elif os.path.exists(path):
                os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard_temp(tmp)
        raise
    return tmp


def commit_file(tmp: str, path: str, *, expect: os.stat_result | None = None, backup: str | None = None) -> None:
    """The second half of ``replace_file``: rename the staged ``tmp`` over ``path`` (checked against
    ``expect``, the original kept at ``path + backup`` if asked). The temp file is removed whatever
    goes wrong. Raises OSError (``FileChangedError``, ``FileExistsError`` for an existing backup)."""
    try:
        if expect is not None:
            now = os.lstat(path)
            if not _same_file(now, expect):
                raise FileChangedError(f"{path} changed on disk while it was being rewritten")
        if backup:
            _keep_backup(path, path + backup)
        os.replace(tmp, path)
    except BaseException:
        discard_temp(tmp)
        raise


def discard_temp(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _syncfs() -> Callable[[int], int] | None:
    """Linux syncfs(2) through the C library, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_SYNCFS = _syncfs()
CAN_SYNC_FILESYSTEMS = _SYNCFS is not None


def sync_filesystems(paths: Iterable[str]) -> None:
    """Make every file written so far on the filesystems holding ``paths`` durable: one syncfs(2)
    per filesystem (one journal commit for a whole batch of temp files, where an fsync each costs one
    commit per file). Raises OSError when a filesystem reports a write error, or when there is no
    syncfs (check ``CAN_SYNC_FILESYSTEMS``; fsync each file instead)."""
    if _SYNCFS is None:
        raise OSError(errno.ENOSYS, "syncfs is not available here")
    seen: set[int] = set()
    for p in paths:
        directory = os.path.dirname(p) or "."
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            dev = os.fstat(fd).st_dev
            if dev in seen:
                continue
            seen.add(dev)
            if _SYNCFS(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err), directory)
        finally:
            os.close(fd)


class FileChangedError(OSError):
    pass


def _keep_backup(path: str, backup_path: str) -> None:
    if os.path.lexists(backup_path):
        raise FileExistsError(errno.EEXIST, "backup file already exists", backup_path)
    try:
        os.link(path, backup_path)
    except OSError:
        shutil.copy2(path, backup_path)


def sync_directories(directories: Iterable[str]) -> None:
    """fsync each directory so the renames in it survive a power cut (best effort)."""
    for d in sorted(set(directories)):
        try:
            fd = os.open(d or ".", os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def remove_temp_files(directory: str, recursive: bool) -> list[str]:
    """Delete temp files an interrupted rewrite left in ``directory`` (never following symlinks);
    returns their paths."""
    removed: list[str] = []
    stack = [directory]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(e.path)
                elif is_temp_name(e.name) and e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
                    removed.append(e.path)
            except OSError:
                continue
    return sorted(removed)


def unified_diff(rel: str, src: SourceText, new_data: bytes) -> str:
    """A unified diff (decoded text, the document's encoding) of one file's rewrite, for --dry-run."""
    before = src.decode(src.data).splitlines(keepends=True)
    after = src.decode(new_data).splitlines(keepends=True)
    lines = list(difflib.unified_diff(before, after, fromfile=f"a/{rel}", tofile=f"b/{rel}", n=1))
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` all at once (see ``replace_file``). Raises OSError."""
    replace_file(path, text.encode("utf-8"))
