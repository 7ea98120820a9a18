"""Rewriting references: what the new text of a span is (``propose_fix``) and, for ``fix``, how edits
are applied to the original bytes. Only the bytes inside a span ever change (docs/fix.md).
"""

from __future__ import annotations

import bisect
import errno
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TextIO

from . import urls
from .extract import charrefs
from .extract.source import SourceText
from .model import Applicability, Context, Edit, Fix, Reference, RefKind, positional

# one Fix and one Edit per finding: made field by field, in this order (model.positional checks it)
_new_fix = positional(Fix, "replacement applicability edits note")
_new_edit = positional(Edit, "file offset length new old")
_PORT_80 = re.compile(r"^(https:[/\\]*[^/\\?#]*?):80(?=[/\\?#]|$)")


# CSS Syntax 3 §4.3.7 consume an escaped code point (after a backslash §4.3.8 accepts): up to 6 hex
# digits and one whitespace (CR LF counts as one), or any one code point; §4.3.5: in a string, a
# backslash before a newline is a line continuation and stands for nothing.
_CSS_ESCAPE = re.compile(r"\\(?:([0-9A-Fa-f]{1,6})(?:\r\n|[ \t\n\r\f])?|(\r\n|[\n\r\f])|(.)|\Z)", re.S)


def _css_unescape(raw: str) -> tuple[str, list[int] | None]:
    """Resolve the CSS escapes of a URL's raw text (a url token's or string's content). Returns
    ``(text, index)`` as ``charrefs.decode`` does: ``index[i]`` is the code-point index in ``raw`` where
    decoded character ``i`` came from, ``index[len(text)] == len(raw)``; None when nothing changed."""
    if "\\" not in raw:
        return raw, None
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _CSS_ESCAPE.finditer(raw):
        start = m.start()
        out.append(raw[pos:start])
        index.extend(range(pos, start))
        hexa, newline, char = m.groups()
        if hexa is not None:
            code = int(hexa, 16)
            # §4.3.7: zero, a surrogate or beyond U+10FFFF is U+FFFD
            out.append("\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else chr(code))
            index.append(start)
        elif char is not None:
            out.append(char)
            index.append(start)
        elif newline is None:  # a backslash at the end: U+FFFD (§4.3.7 EOF)
            out.append("\ufffd")
            index.append(start)
        pos = m.end()
    out.append(raw[pos:])
    index.extend(range(pos, len(raw) + 1))
    return "".join(out), index


def _decode_as_browser(raw: str, context: Context) -> tuple[str, list[int] | None]:
    """What the URL parser receives for ``raw`` in ``context``, with the map of each of its code points
    back to ``raw``: character references in HTML attributes (HTML §13.2.5.72), CSS escapes in CSS, and
    both, one after the other, in a style attribute (the attribute is decoded, then parsed as CSS)."""
    if context in (Context.HTML, Context.SRCDOC):
        return charrefs.decode(raw, attribute=True)
    if context in (Context.STYLESHEET, Context.STYLE_ELEMENT):
        return _css_unescape(raw)
    if context is Context.STYLE_ATTRIBUTE:
        css, outer = charrefs.decode(raw, attribute=True)
        text, inner = _css_unescape(css)
        if outer is None or inner is None:
            return text, outer or inner
        return text, [outer[i] for i in inner]
    return raw, None


def _scheme_span(raw: str, context: Context) -> tuple[int, int] | None:
    """(start, end) code-point indexes in ``raw`` of the text that the browser reads as the scheme
    ``http:``, however it is written (``http&#x3A;``, ``&#104;ttp:``, ``\\68ttp:``, ``htt\\70:``, a tab
    inside it): WHATWG URL §4.4 strips leading C0 controls and spaces and removes tabs and newlines
    anywhere, and the scheme is ASCII case-insensitive. None when it does not start with http:."""
    text, index = _decode_as_browser(raw, context)
    i = 0
    while i < len(text) and text[i] <= " ":
        i += 1
    found: list[int] = []
    while i < len(text) and len(found) < 5:
        if text[i] not in "\t\n\r":
            if text[i].lower() != "http:"[len(found)]:
                return None
            found.append(i)
        i += 1
    if len(found) < 5:
        return None
    first, colon = found[0], found[4]
    if index is None:
        return first, colon + 1
    return index[first], index[colon + 1]


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
        # the scheme is spelled with character references or escapes (or after whitespace): docs/fix.md,
        # replace exactly the raw text the browser decodes to "http:" with "https:", the rest as written
        span = _scheme_span(raw, context)
        if span is None:
            return twin, "the scheme could not be located in the source text; rewrite it by hand"
        candidate = raw[:span[0]] + "https:" + raw[span[1]:]
        decoded = _decode_as_browser(candidate, context)[0]
        start, end = urls.strip_ascii_whitespace(decoded)
        if urls.resolve(decoded[start:end], base) != twin:
            return twin, "the rewritten text would not resolve to the https twin exactly; rewrite it by hand"
        return candidate, None
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
    url = ref.url
    if url is None:
        return None
    via_base = ref.via_base
    target = ref
    if via_base is not None:
        target = via_base  # docs/json-report.md: references resolved through an http <base href> are fixed there
    elif not ref.page.startswith("https:") and not urls.may_be_http(_decode_as_browser(ref.raw, ref.context)[0]):
        return None  # a relative URL on an http page: the fix is serving the page over https
    if target.url is None:
        return None
    raw = target.raw
    url = target.url
    replacement, reason = _twin_text(raw, url, ref.page, target.context)
    if ref.kind is RefKind.SCRIPT_LITERAL:
        applicability = Applicability.DISPLAY_ONLY
        reason = reason or "script literals are never rewritten automatically"
    elif reason is not None:
        applicability = Applicability.DISPLAY_ONLY
    else:
        applicability = Applicability.UNSAFE
    old = url if raw == url else raw  # the finding's raw (classify.finding_for)
    span = target.span
    start = span.start
    edit = _new_edit(file, start, span.end - start, replacement, old)
    return _new_fix(replacement, applicability, (edit,), reason)


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

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Is ``a`` the very file ``b`` was taken of, unchanged? Identity and size, and both times the
    kernel keeps: a write changes mtime and ctime, and ctime cannot be set back (a future mtime, as
    archives carry, is compared exactly, never against the clock)."""
    return ((a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns)
            == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns, b.st_ctime_ns))


class FileChangedError(OSError):
    pass


class NotRegularFileError(OSError):
    """Not a regular file (a directory, FIFO, device...): never read or written by ``fix``."""


def open_directory(root: str, parts: Sequence[str]) -> int:
    """A descriptor of the directory ``root/parts[0]/parts[1]/…``, each step opened relative to the one
    before with O_NOFOLLOW | O_DIRECTORY: a step that is (or has just become) a symlink fails with ELOOP
    or ENOTDIR instead of being followed, so nothing opened through it can lie outside ``root``,
    whatever happens to the tree meanwhile (docs/fix.md: never follow symlinks out of the root). The
    caller closes it. Raises OSError."""
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        for part in parts:
            if part in ("", ".", "..") or os.sep in part:
                raise OSError(errno.EINVAL, "not a plain directory name", part)
            step = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = step
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_at(dir_fd: int, name: str) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file ``name`` in the directory ``dir_fd`` and its stat as opened (taken
    before reading, so a write during the read shows as a changed file later). A symlink is never
    followed (ELOOP), a FIFO never blocks; anything but a regular file raises NotRegularFileError."""
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(errno.EINVAL, "not a regular file", name)
        chunks = []
        while chunk := os.read(fd, max(65536, st.st_size + 1)):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks), st


def _named_target(path: str) -> str | None:
    """Where a file the user names (``--output``, ``--write-baseline``, ``--probe-cache``) is replaced:
    the file a symlink points to (as ``>`` in a shell writes through it, so the link stays), or None
    when ``path`` is a device, a pipe or a socket (``/dev/stdout``, ``/dev/null``, a FIFO), which is
    written in place: a rename over it would put a regular file where the device or the link was."""
    try:
        st = os.stat(path)
    except OSError:
        return path  # nothing there yet (or a dangling link): created beside its name as always
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        return None
    return os.path.realpath(path) if os.path.islink(path) else path


def replace_file(path: str, data: bytes, *, expect: os.stat_result | None = None, backup: str | None = None,
                 durable: bool = True) -> None:
    """Replace the file at ``path`` with ``data`` atomically (docs/fix.md): ``stage_at`` then ``commit_at``
    in its directory. Readers see the old bytes or the new, never a mix; a crash leaves at most a temp
    file, which ``remove_temp_files`` clears. With ``expect``, the rename happens only if ``path`` is
    still that file, else ``FileChangedError``. With ``backup``, the original stays at ``path + backup``
    (never overwritten). For files the user names (reports, caches); ``fix`` opens each directory
    under its root with ``open_directory`` instead. Raises OSError."""
    directory, name = os.path.split(path)
    dir_fd = os.open(directory or ".", os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        tmp = stage_at(dir_fd, name, data, expect=expect, fsync=durable)
        commit_at(dir_fd, tmp, name, expect=expect, backup=backup)
    finally:
        os.close(dir_fd)


def stage_at(dir_fd: int, name: str, data: bytes, *, expect: os.stat_result | None = None,
             fsync: bool = True) -> str:
    """The first half of a replacement: write ``data`` to a new temp file beside ``name`` in the
    directory ``dir_fd`` (created exclusively, never through a symlink), with the mode and owner of
    ``expect`` (else of the existing file, else 0666 & ~umask), fsynced if asked; returns the temp
    file's name. Raises OSError (and leaves no temp file behind)."""
    tmp = f".{name}.{os.getpid()}-{os.urandom(4).hex()}{TEMP_SUFFIX}"
    mode = stat.S_IMODE(expect.st_mode) if expect is not None else None
    # created with the original's read/execute bits already (never writable by group or others, nor
    # setuid, before the owner is right): the fchown/fchmod below, each a journaled inode update,
    # then run only when the umask or the owner makes them necessary
    initial = 0o600 if mode is None else mode & 0o755
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, initial, dir_fd=dir_fd)
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
            else:
                try:
                    os.fchmod(fd, stat.S_IMODE(os.stat(name, dir_fd=dir_fd).st_mode))
                except FileNotFoundError:
                    umask = os.umask(0)
                    os.umask(umask)
                    os.fchmod(fd, 0o666 & ~umask)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard_at(dir_fd, tmp)
        raise
    return tmp


def commit_at(dir_fd: int, tmp: str, name: str, *, expect: os.stat_result | None = None,
              backup: str | None = None) -> None:
    """The second half: rename the staged ``tmp`` over ``name``, both in the directory ``dir_fd``
    (checked against ``expect`` first; the original kept at ``name + backup`` if asked). The temp file
    is removed whatever goes wrong. Raises OSError (``FileChangedError``, ``FileExistsError`` for an
    existing backup)."""
    try:
        if expect is not None:
            now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if not _same_file(now, expect):
                raise FileChangedError(errno.ESTALE, "changed on disk while it was being rewritten", name)
        if backup:
            _keep_backup(dir_fd, name, name + backup)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        discard_at(dir_fd, tmp)
        raise


def discard_at(dir_fd: int, tmp: str) -> None:
    try:
        os.unlink(tmp, dir_fd=dir_fd)
    except OSError:
        pass


@cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux syncfs(2) through the C library, or None where there is none (looked up on first use:
    ctypes is not imported by a scan, issue 19's start-up)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def __getattr__(name: str) -> object:
    # CAN_SYNC_FILESYSTEMS: whether sync_filesystems works here, found on first use
    if name == "CAN_SYNC_FILESYSTEMS":
        return _syncfs() is not None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sync_filesystems(dir_fds: Iterable[int]) -> None:
    """Make every file written so far on the filesystems holding the directories ``dir_fds`` durable:
    one syncfs(2) per filesystem (one journal commit for a whole batch of temp files, where an fsync
    each costs one commit per file). Raises OSError when a filesystem reports a write error, or when
    there is no syncfs (check ``CAN_SYNC_FILESYSTEMS``; fsync each file instead)."""
    syncfs = _syncfs()
    if syncfs is None:
        raise OSError(errno.ENOSYS, "syncfs is not available here")
    seen: set[int] = set()
    for fd in dir_fds:
        dev = os.fstat(fd).st_dev
        if dev in seen:
            continue
        seen.add(dev)
        if syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def _keep_backup(dir_fd: int, name: str, backup_name: str) -> None:
    try:
        os.stat(backup_name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        pass
    else:
        raise FileExistsError(errno.EEXIST, "backup file already exists", backup_name)
    try:
        os.link(name, backup_name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        # no hard links here: a copy, created exclusively (never through a symlink)
        data, st = read_at(dir_fd, name)
        fd = os.open(backup_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                     stat.S_IMODE(st.st_mode), dir_fd=dir_fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.utime(backup_name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dir_fd, follow_symlinks=False)


def sync_directories(directories: Iterable[str]) -> None:
    """fsync each directory so the renames in it survive a power cut (best effort)."""
    for d in sorted(set(directories)):
        try:
            fd = os.open(d or ".", os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def remove_temp_files(directory: str, recursive: bool) -> list[str]:
    """Delete temp files an interrupted rewrite left in ``directory`` (and, if ``recursive``, below it),
    each subdirectory opened step by step with ``open_directory`` (no symlink followed); returns their
    paths."""
    removed: list[str] = []
    stack: list[tuple[str, ...]] = [()]
    while stack:
        parts = stack.pop()
        try:
            fd = open_directory(directory, parts)
        except OSError:
            continue
        try:
            with os.scandir(fd) as it:
                entries = list(it)
            for e in entries:
                try:
                    if e.is_dir(follow_symlinks=False):
                        if recursive:
                            stack.append((*parts, e.name))
                    elif is_temp_name(e.name) and e.is_file(follow_symlinks=False):
                        os.unlink(e.name, dir_fd=fd)
                        removed.append(os.path.join(directory, *parts, e.name))
                except OSError:
                    continue
        except OSError:
            pass
        finally:
            os.close(fd)
    return sorted(removed)


def _diff_lines(data: bytes) -> list[bytes]:
    """``data`` cut after each LF, as patch(1) and git apply read a file (CR alone ends no line for them)."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


_UNQUOTED_NAME = re.compile(rb"[\x21-\x7e]*")
_NAME_ESCAPES = {0x07: b"\\a", 0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0B: b"\\v", 0x0C: b"\\f",
                 0x0D: b"\\r", 0x22: b'\\"', 0x5C: b"\\\\"}


def _diff_name(name: bytes) -> bytes:
    """A file name for a ---/+++ line as git writes it: as is when it is printable ASCII without
    a quote or backslash, else in double quotes with C escapes and octal bytes (which git apply and
    GNU patch both read back), so a space, a newline or a non-UTF-8 byte cannot break the patch."""
    if _UNQUOTED_NAME.fullmatch(name) and b'"' not in name and b"\\" not in name:
        return name
    return b'"' + b"".join(_NAME_ESCAPES.get(c) or (bytes([c]) if 0x20 <= c < 0x7F else b"\\%03o" % c)
                           for c in name) + b'"'


def unified_diff(rel: str, old: bytes, new: bytes) -> bytes:
    """A unified diff of one file's rewrite, for --dry-run, made from the bytes as stored (any encoding,
    LF, CRLF or lone-CR line endings, no final newline): ``git apply`` and ``patch -p1`` apply it to
    the file and give exactly the bytes ``fix`` writes."""
    import difflib  # (fix --dry-run only)

    name = os.fsencode(rel)
    lines = difflib.diff_bytes(difflib.unified_diff, _diff_lines(old), _diff_lines(new),
                               _diff_name(b"a/" + name), _diff_name(b"b/" + name), n=1)
    return b"".join(line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n"
                    for line in lines)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to the file the user named at ``path`` all at once (see ``replace_file``;
    a symlink is written through, a device or pipe written in place: ``_named_target``). Raises OSError."""
    target = _named_target(path)
    if target is None:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        return
    replace_file(target, text.encode("utf-8"))


@contextmanager
def open_atomic(path: str) -> Iterator[TextIO]:
    """A text stream (UTF-8, no newline translation) whose content replaces the file at ``path`` when
    the ``with`` block ends, as ``replace_file`` replaces it (a temp file beside it, fsynced, renamed
    over it); when the block raises, ``path`` is left as it was and the temp file removed. Text goes
    to the temp file as it is written, so a large report is never held whole in memory. A symlink is
    written through and a device or pipe (``-o /dev/stdout``) written in place (``_named_target``).
    Raises OSError."""
    target = _named_target(path)
    if target is None:
        with open(path, "w", encoding="utf-8", newline="", buffering=1 << 20) as stream:
            yield stream
        return
    directory, name = os.path.split(target)
    dir_fd = os.open(directory or ".", os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        tmp = stage_at(dir_fd, name, b"", fsync=False)  # created exclusively, its mode settled
        try:
            fd = os.open(tmp, os.O_WRONLY | _NOFOLLOW | _CLOEXEC, dir_fd=dir_fd)
            with open(fd, "w", encoding="utf-8", newline="", buffering=1 << 20) as out:
                yield out
                out.flush()
                os.fsync(fd)
        except BaseException:
            discard_at(dir_fd, tmp)
            raise
        commit_at(dir_fd, tmp, name)
    finally:
        os.close(dir_fd)
