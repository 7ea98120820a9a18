"""A built static site on disk (or single files): which pages to scan, what URL each is served at,
and which file a same-site stylesheet URL names.

Symlinks: a symlink whose target stays inside the root is followed (files always; directories with
``follow_symlinks``, loop-safe); one leading outside the root is not followed unless asked, and is
reported as an error entry.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

from ada_url import URL

from ..errors import InputError
from ..model import ScanError

PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")


@dataclass(frozen=True, slots=True)
class SiteFile:
    """One file to scan: where it is, how reports name it, and the URL it is served at."""

    path: str  # filesystem path
    rel: str  # report path: relative to the scanned root, '/'-separated (as given for single files)
    url: str  # URL the file is served at
    xml: bool = False  # .xhtml: parsed as XML


@dataclass(frozen=True, slots=True)
class Root:
    """One input: a directory (or the directory of a single file) served at ``base_url``."""

    directory: str  # real path
    base_url: str
    prefix: str  # prepended to report paths ("" for a single directory input)
    follow_symlinks: bool

    def url_for(self, rel_in_root: str) -> str:
        # a file name's bytes, percent-encoded as a server sends them (names need not be UTF-8)
        return self.base_url + quote(os.fsencode(rel_in_root), safe="/!$&'()*+,;=:@~-._")

    def file_for(self, url: str) -> tuple[str, str] | None:
        """(filesystem path, report path) of the file a same-site URL names, if it exists in the root."""
        try:
            u = URL(url)
            b = URL(self.base_url)
        except ValueError:
            return None
        if u.protocol not in ("https:", "http:") or u.host != b.host or (u.port or "") != (b.port or ""):
            return None
        if not u.pathname.startswith(b.pathname):
            return None
        rel = unquote(u.pathname[len(b.pathname):], errors="surrogateescape")
        candidates = [rel]
        if u.search:
            # mirrors made by wget -m / HTTrack keep the query string in the file name
            candidates.insert(0, rel + unquote(u.search, errors="surrogateescape"))
        for cand in candidates:
            if not cand or cand.endswith("/") or "\0" in cand:
                continue
            path = os.path.normpath(os.path.join(self.directory, *cand.split("/")))
            real = os.path.realpath(path)
            if not self.inside(real) or not os.path.isfile(real):
                continue
            if not self.follow_symlinks and self._has_outside_link(path):
                continue
            return path, self.report_path(os.path.relpath(path, self.directory))
        return None

    def inside(self, real: str) -> bool:
        return real == self.directory or real.startswith(self.directory.rstrip(os.sep) + os.sep)

    def _has_outside_link(self, path: str) -> bool:
        return not self.inside(os.path.realpath(path))

    def report_path(self, rel_fs: str) -> str:
        rel = rel_fs.replace(os.sep, "/")
        return f"{self.prefix}{rel}" if self.prefix else rel


def _base_for(base_url: str) -> str:
    return base_url if base_url.endswith("/") else base_url + "/"


def collect(inputs: list[str], base_url: str, *, follow_symlinks: bool = False,
            follow_outside: bool = False) -> tuple[list[tuple[Root, SiteFile]], list[ScanError], str]:
    """Pages to scan for the given inputs, in a stable order; per-file problems as ScanErrors.

    Returns (pages, errors, target kind). Raises InputError when an input does not exist.
    """
    base = _base_for(base_url)
    pages: list[tuple[Root, SiteFile]] = []
    errors: list[ScanError] = []
    kinds = set()
    multi = len(inputs) > 1
    for given in inputs:
        if not os.path.lexists(given):
            raise InputError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            kinds.add("directory")
            root = Root(os.path.realpath(given), base, _prefix(given) if multi else "",
                        follow_symlinks or follow_outside)
            for path, rel_fs in _walk(given, root, follow_symlinks, follow_outside, errors):
                rel = rel_fs.replace(os.sep, "/")
                pages.append((root, SiteFile(path, root.report_path(rel_fs), root.url_for(rel),
                                             xml=path.lower().endswith(".xhtml"))))
        else:
            kinds.add("files")
            directory = os.path.dirname(os.path.abspath(given))
            root = Root(os.path.realpath(directory), base, "", follow_symlinks or follow_outside)
            name = os.path.basename(given)
            display = given.replace(os.sep, "/")
            pages.append((root, SiteFile(given, display, root.url_for(name), xml=name.lower().endswith(".xhtml"))))
    kind = kinds.pop() if len(kinds) == 1 else "files"
    return pages, errors, kind


def _prefix(given: str) -> str:
    p = given.replace(os.sep, "/").rstrip("/")
    return p + "/" if p not in ("", ".") else ""


def _walk(top: str, root: Root, follow_symlinks: bool, follow_outside: bool,
          errors: list[ScanError]) -> Iterator[tuple[str, str]]:
    """Page files under ``top`` in sorted order as (path, path relative to top)."""
    seen_dirs: set[tuple[int, int]] = set()
    stack = [top]
    found: list[tuple[str, str]] = []
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError as e:
            errors.append(ScanError(_rel(directory, top, root), None, f"cannot read directory: {e.strerror}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            errors.append(ScanError(_rel(directory, top, root), None, "symlink loop: directory already visited"))
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as e:
            errors.append(ScanError(_rel(directory, top, root), None, f"cannot read directory: {e.strerror}"))
            continue
        for entry in entries:
            path = entry.path
            try:
                is_link = entry.is_symlink()
                if is_link:
                    try:
                        target_st = os.stat(path)
                    except OSError:
                        if entry.name.lower().endswith(PAGE_SUFFIXES) or _is_loop(path):
                            errors.append(ScanError(_rel(path, top, root), None,
                                                    "broken symlink or symlink loop: not followed"))
                        continue
                    real = os.path.realpath(path)
                    if not root.inside(real) and not follow_outside:
                        if stat.S_ISDIR(target_st.st_mode) or entry.name.lower().endswith(PAGE_SUFFIXES):
                            errors.append(ScanError(_rel(path, top, root), None,
                                                    "symlink leads outside the scanned root: not followed "
                                                    "(--follow-symlinks-outside to follow)"))
                        continue
                    if stat.S_ISDIR(target_st.st_mode):
                        if follow_symlinks or follow_outside:
                            stack.append(path)
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                    continue
                if entry.name.lower().endswith(PAGE_SUFFIXES) and (is_link or entry.is_file(follow_symlinks=False)):
                    found.append((path, os.path.relpath(path, top)))
            except OSError as e:
                errors.append(ScanError(_rel(path, top, root), None, f"cannot read: {e.strerror}"))
    found.sort(key=lambda t: t[1].replace(os.sep, "/"))
    yield from found


def _is_loop(path: str) -> bool:
    try:
        os.stat(path)
        return False
    except OSError as e:
        return e.errno == 40  # ELOOP


def _rel(path: str, top: str, root: Root) -> str:
    return root.report_path(os.path.relpath(path, top))
