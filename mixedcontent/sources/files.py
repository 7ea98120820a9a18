"""A built static site on disk (or single files): which pages and stylesheets to scan, what URL each
is served at, how reports name it, and which file a same-site stylesheet URL names.

Naming (docs/json-report.md: ``file``, ``path``): in a directory, a file is named relative to that directory;
a file given on its own by the path as given. Every file also has its ``path`` as it opens from the
working directory, which human and CI formats show. A file given on its own is served at
``base_url`` + its path relative to the root (``--root``: by default the directory holding the
configuration file, else the working directory) when it lies inside it, else at ``base_url`` + its
name; its same-site stylesheets are followed inside that root, never outside it.

Symlinks: a symlink whose target stays inside the root is followed (files always; directories with
``follow_symlinks``, loop-safe); one leading outside the root is not followed unless asked, and is
reported as an error entry.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from ada_url import URL

from .. import urls
from ..errors import InputError
from ..model import Document, DocumentKind, ScanError, Sheet, SheetPlace

PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
SHEET_SUFFIXES = (".css",)


def cwd_path(path: str) -> str:
    """docs/json-report.md ``path``: a file's path as it opens from the working directory, ``/``-separated."""
    return os.path.relpath(os.path.abspath(path)).replace(os.sep, "/")


@dataclass(frozen=True, slots=True)
class SiteFile:
    """One file to scan: where it is, how reports name it, and the URL it is served at."""

    path: str  # filesystem path
    rel: str  # report path: relative to the scanned root, '/'-separated (as given for single files)
    url: str  # URL the file is served at
    xml: bool = False  # .xhtml: parsed as XML
    shown: str = ""  # docs/json-report.md path: as it opens from the working directory
    stylesheet: bool = False  # a .css file given on its own

    @property
    def kind(self) -> DocumentKind:
        if self.stylesheet:
            return DocumentKind.STYLESHEET
        return DocumentKind.XHTML if self.xml else DocumentKind.HTML


@dataclass(frozen=True, slots=True)
class Root:
    """One input: a directory (or the directory of a single file) served at ``base_url``."""

    directory: str  # real path
    base_url: str
    prefix: str  # prepended to report paths ("" for a single directory input)
    follow_symlinks: bool
    by_cwd: bool = False  # files given on their own: stylesheets are named by their working-directory path

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
            if self.by_cwd:
                return path, cwd_path(path)
            return path, self.report_path(os.path.relpath(path, self.directory))
        return None

    def inside(self, real: str) -> bool:
        return real == self.directory or real.startswith(self.directory.rstrip(os.sep) + os.sep)

    def _has_outside_link(self, path: str) -> bool:
        return not self.inside(os.path.realpath(path))

    def report_path(self, rel_fs: str) -> str:
        rel = rel_fs.replace(os.sep, "/")
        return f"{self.prefix}{rel}" if self.prefix else rel


def missing_input(given: str) -> InputError:
    """The error for an input that does not exist; one that looks like a host name gets the URL it
    may have meant (``example.org`` -> ``https://example.org``)."""
    meant = urls.meant_url(given)
    if meant is None:
        return InputError(f"{given}: no such file or directory")
    return InputError(f"{given}: no such file or directory (to crawl the website, give its URL: {meant})")


# what ``collect`` returns: (files, per-file errors, target kind)
Collected = tuple[list[tuple[Root, SiteFile]], list[ScanError], str]


def _base_for(base_url: str) -> str:
    return base_url if base_url.endswith("/") else base_url + "/"


def collect(inputs: list[str], base_url: str, *, root: str | None = None, follow_symlinks: bool = False,
            follow_outside: bool = False) -> Collected:
    """Pages (and stylesheets given on their own) to scan for the given inputs, in a stable order;
    per-file problems as ScanErrors. ``root``: the directory files given on their own are served
    from (None: the working directory).

    Returns (files, errors, target kind). Raises InputError when an input does not exist.
    """
    base = _base_for(base_url)
    files: list[tuple[Root, SiteFile]] = []
    errors: list[ScanError] = []
    kinds = set()
    multi = len(inputs) > 1
    follow = follow_symlinks or follow_outside
    top = os.path.realpath(root if root is not None else os.curdir)
    for given in inputs:
        if not os.path.lexists(given):
            raise missing_input(given)
        if os.path.isdir(given):
            kinds.add("directory")
            site = Root(os.path.realpath(given), base, _prefix(given) if multi else "", follow)
            shown_top = cwd_path(given)  # (and each file's cwd_path from it, as _under gives its rel)
            for path, rel_fs in _walk(given, site, follow_symlinks, follow_outside, errors):
                rel = rel_fs.replace(os.sep, "/")
                files.append((site, SiteFile(path, site.report_path(rel_fs), site.url_for(rel),
                                             xml=path.lower().endswith(".xhtml"),
                                             shown=rel if shown_top == "." else f"{shown_top}/{rel}")))
            continue
        kinds.add("files")
        real = os.path.realpath(given)
        inside = real.startswith(top.rstrip(os.sep) + os.sep)
        directory = top if inside else os.path.dirname(real)
        site = Root(directory, base, "", follow, by_cwd=True)
        served_as = os.path.relpath(os.path.abspath(given), os.path.abspath(root or os.curdir)) if inside else \
            os.path.basename(given)
        if inside and served_as.startswith(".."):  # reached through a symlink: served by its real place
            served_as = os.path.relpath(real, top)
        name = os.path.basename(given).lower()
        files.append((site, SiteFile(given, os.path.normpath(given).replace(os.sep, "/"),
                                     site.url_for(served_as.replace(os.sep, "/")), xml=name.endswith(".xhtml"),
                                     shown=cwd_path(given), stylesheet=name.endswith(SHEET_SUFFIXES))))
    kind = kinds.pop() if len(kinds) == 1 else "files"
    return files, errors, kind


def read(path: str, name: str, max_size: int) -> bytes | str:
    """A file's bytes, or why they cannot be had (one line). ``name`` only for messages."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_size:
                return f"file is {size / 1e6:.1f} MB, over the {max_size / 1e6:.0f} MB limit (--max-file-size)"
            # (sized by fstat: read(n) allocates n bytes first, and 128 MB + 1 for each 40 KB page cost
            # three times the read itself; a file that grew since is read on, to the limit)
            data = f.read(size + 1)
            if len(data) > size:
                data += f.read(max_size + 1 - len(data))
    except IsADirectoryError:
        return "is a directory, not a file"
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    if len(data) > max_size:
        return f"file grew over the {max_size / 1e6:.0f} MB limit while being read"
    return data


def document(f: SiteFile, data: bytes, *, tls: bool, csp: str | None) -> Document:
    """The Document of a site file read from disk: judged at its URL, as the site is served (``tls``:
    https, or judged as such; ``csp``: the header the site is served with)."""
    return Document(data=data, url=f.url, kind=f.kind, tls=tls, served=False, csp=csp, file=f.rel,
                    path=f.shown or None)


class FileSheets:
    """The stylesheet source of files on disk: a same-site stylesheet URL names a file in the root of
    the page (or stylesheet) that loads it."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._roots: dict[str, Root] = {}  # page name or stylesheet key -> its root
        self._paths: dict[str, str] = {}  # stylesheet key -> filesystem path
        self._located: dict[tuple[int, str], tuple[str, str] | None] = {}

    def add(self, name: str, root: Root) -> None:
        """A page (by report name) and the root its stylesheets are looked for in."""
        self._roots[name] = root

    def given(self, root: Root, f: SiteFile) -> SheetPlace:
        """A stylesheet given on its own."""
        self._roots[f.rel] = root
        self._paths[f.rel] = f.path
        return SheetPlace(f.rel, f.url, f.rel, f.shown or None)

    def locate(self, url: str, referrer: str) -> SheetPlace | None:
        root = self._roots.get(referrer)
        if root is None:
            return None
        key = (id(root), url)
        if key not in self._located:
            self._located[key] = root.file_for(url)
        located = self._located[key]
        if located is None:
            return None
        path, rel = located
        self._roots.setdefault(rel, root)
        self._paths[rel] = path
        return SheetPlace(rel, url, rel, cwd_path(path))

    async def fetch(self, places: Sequence[SheetPlace]) -> list[tuple[SheetPlace, Sheet | str]]:
        out: list[tuple[SheetPlace, Sheet | str]] = []
        for place in places:
            data = read(self._paths[place.key], place.key, self.max_size)
            out.append((place, data if isinstance(data, str) else Sheet(data)))
        return out


def _prefix(given: str) -> str:
    p = given.replace(os.sep, "/").rstrip("/")
    return p + "/" if p not in ("", ".") else ""


def _under(path: str, top: str) -> str:
    """``os.path.relpath(path, top)`` for a path the walk made by joining names to ``top`` (in a
    string slice: relpath makes both paths absolute first, 30 us a file)."""
    prefix = top if top.endswith(os.sep) else top + os.sep
    rest = path[len(prefix):]
    if path.startswith(prefix) and rest and os.path.normpath(rest) == rest:
        return rest
    return os.path.relpath(path, top)


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
                    found.append((path, _under(path, top)))
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
