"""The exception tree. ``str(e)`` is always the complete one-line message.

MixedContentError
├── UsageError    bad command line or configuration (exit 2)
│   └── SettingError   a settings value refused where it is made (``ScanSettings(jobs=-3)``); ``key``
│                      names the setting as the command line and configuration name it (``jobs``)
└── InputError    an input that cannot be scanned at all: missing path, nothing to scan (exit 2)

Problems with single files are not exceptions: they are ``ScanError`` values in the result.
"""

from __future__ import annotations


class MixedContentError(Exception):
    exit_code = 2


class UsageError(MixedContentError):
    pass


class SettingError(UsageError):
    """A bad settings value. The message is the same whether the value came from the library API or a
    command-line flag; the command line adds where a configuration file set it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class InputError(MixedContentError):
    pass
