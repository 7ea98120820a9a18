"""Report formats. Each module has ``write(result, out, options=None) -> None`` and reads only the
ScanResult and the ReportOptions (``--fail-on``, which the JUnit format needs)."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TextIO

from ..model import ReportOptions, ScanResult
from . import github as github_report
from . import html as html_report
from . import json as json_report
from . import junit as junit_report
from . import markdown as markdown_report
from . import sarif as sarif_report
from . import text as text_report

Writer = Callable[[ScanResult, TextIO, ReportOptions | None], None]


def _html(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    html_report.write(result, out)  # the HTML report does not use the options yet


def _markdown(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    markdown_report.write(result, out)  # the Markdown report does not use the options yet


FORMATS: MappingProxyType[str, Writer] = MappingProxyType({
    "text": text_report.write,
    "json": json_report.write,
    "sarif": sarif_report.write,
    "junit": junit_report.write,
    "github": github_report.write,
    "html": _html,
    "markdown": _markdown,
})

__all__ = ["FORMATS", "Writer"]
