"""mixedcontent: find and fix mixed content exactly as browsers judge it.

Public API::

    from mixedcontent import scan
    result = scan(["public/"], base_url="https://example.org/")
    for finding in result.findings:
        print(finding.code, finding.file, finding.line, finding.url)
"""

from __future__ import annotations

import typing as _typing

# the submodule first, so that the function ``scan`` below, not the module, is ``mixedcontent.scan``
# (importing a submodule later would set the package's attribute to the module)
from . import scan as _pipeline  # noqa: F401  (imported for its side effect on this package)
from .errors import InputError, MixedContentError, SettingError, UsageError
from .model import (
    Applicability,
    Category,
    Context,
    Edit,
    Finding,
    Fix,
    ProbeResult,
    Reference,
    ScanError,
    ScanResult,
    Severity,
    Span,
)
from .rules import RULES, Rule
from .settings import ScanSettings
from .version import __version__

if _typing.TYPE_CHECKING:
    from .fixer import FixOptions, FixResult
    from .net import NetSettings
    from .probe import ProbeSettings


def __getattr__(name: str) -> _typing.Any:
    """``FixOptions`` and ``FixResult``, ``NetSettings`` and ``ProbeSettings``, imported on first use:
    neither the fix stage nor the network layer is part of a scan's start-up (issue 19)."""
    if name in ("FixOptions", "FixResult"):
        from . import fixer

        return getattr(fixer, name)
    if name == "NetSettings":
        from .net import NetSettings

        return NetSettings
    if name == "ProbeSettings":
        from .probe import ProbeSettings

        return ProbeSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def scan(paths: list[str], *, base_url: str | None = None, assume_https: bool = False,
         csp_header: str | None = None, scripting: bool = True, jobs: int = 0,
         select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
         settings: ScanSettings | None = None, probe: ProbeSettings | None = None) -> ScanResult:
    """Scan built sites or HTML files; the same findings as ``mixedcontent scan``.

    Pass ``settings`` for every option the command line has; the keyword arguments cover the common
    ones. ``probe`` (``ProbeSettings(net=NetSettings(...))``) checks the https twins as ``--probe``
    does; without it nothing touches the network. Raises ``SettingError`` (a ``UsageError``) for a bad
    value, with the message the command line gives for it, and ``InputError`` when a path does not
    exist; problems with single files are in ``result.errors``.
    """
    from .scan import scan_files
    from .settings import DEFAULT_BASE_URL

    if settings is None:  # ScanSettings refuses bad values (SettingError), with the command line's messages
        settings = ScanSettings(base_url=DEFAULT_BASE_URL if base_url is None else base_url,
                                assume_https=assume_https, csp_header=csp_header, scripting=scripting, jobs=jobs,
                                select=select, ignore=ignore)
    return scan_files(list(paths), settings, probe=probe)


def fix(paths: list[str], *, base_url: str | None = None, unsafe: bool = False, dry_run: bool = False,
        forms: bool = False, maps: tuple[tuple[str, str], ...] = (), add_csp_meta: bool = False,
        backup: str | None = None, settings: ScanSettings | None = None,
        probe: ProbeSettings | None = None) -> FixResult:
    """Rewrite the insecure references of built sites or HTML files in place; the same edits as
    ``mixedcontent fix``. ``maps`` holds (http prefix, https prefix) pairs. Without ``unsafe``, only
    references whose https twin ``probe`` proved are upgraded (``probe=None``: nothing is probed, so
    only ``maps`` apply). Raises ``InputError`` when a path does not exist."""
    from .fixer import FixOptions, fix_paths
    from .settings import DEFAULT_BASE_URL

    if settings is None:
        settings = ScanSettings(base_url=DEFAULT_BASE_URL if base_url is None else base_url)
    options = FixOptions(unsafe=unsafe, forms=forms, maps=maps, add_csp_meta=add_csp_meta, dry_run=dry_run,
                         backup=backup)
    return fix_paths(list(paths), settings, options, probe)


__all__ = [
    "Applicability", "Category", "Context", "Edit", "Finding", "Fix", "FixOptions", "FixResult", "InputError",
    "MixedContentError", "NetSettings", "ProbeSettings", "SettingError",
    "ProbeResult", "Reference", "RULES", "Rule", "ScanError", "ScanResult", "ScanSettings", "Severity", "Span",
    "UsageError", "__version__", "fix", "scan",
]
