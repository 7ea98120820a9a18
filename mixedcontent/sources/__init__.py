"""Sources: where documents come from (a built site on disk, a live crawl, a WARC archive)."""

from __future__ import annotations

ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


def is_archive(path: str) -> bool:
    """A web archive, by name: .warc, .warc.gz, .arc, .arc.gz (any case). Here rather than in warc.py,
    so that telling targets apart imports no source (start-up, issue 19)."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


__all__ = ["ARCHIVE_SUFFIXES", "is_archive"]
