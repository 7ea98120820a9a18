"""Report formats. Each module has ``write(result, out, options=None) -> None`` and reads only the
ScanResult and the ReportOptions (``--fail-on``, which the JUnit format needs).

``FORMATS`` maps each format's name to its writer; a format's module is imported when its writer
first runs (start-up, issue 19: a JSON report does not import lxml for JUnit's sake)."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TextIO

from ..model import ReportOptions, ScanResult

Writer = Callable[[ScanResult, TextIO, ReportOptions | None], None]


def _text(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import text

    text.write(result, out, options)


def _json(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import json

    json.write(result, out, options)


def _sarif(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import sarif

    sarif.write(result, out, options)


def _junit(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import junit

    junit.write(result, out, options)


def _github(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import github

    github.write(result, out, options)


def _html(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import html

    html.write(result, out)  # the HTML report does not use the options yet


def _markdown(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    from . import markdown

    markdown.write(result, out)  # the Markdown report does not use the options yet


FORMATS: MappingProxyType[str, Writer] = MappingProxyType({
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "junit": _junit,
    "github": _github,
    "html": _html,
    "markdown": _markdown,
})

__all__ = ["FORMATS", "Writer"]
