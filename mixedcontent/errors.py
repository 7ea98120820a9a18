"""The exception tree. ``str(e)`` is always the complete one-line message.

MixedContentError
├── UsageError    bad command line or configuration (exit 2)
└── InputError    an input that cannot be scanned at all: missing path, nothing to scan (exit 2)

Problems with single files are not exceptions: they are ``ScanError`` values in the result.
"""

from __future__ import annotations


class MixedContentError(Exception):
    exit_code = 2


class UsageError(MixedContentError):
    pass


class InputError(MixedContentError):
    pass
