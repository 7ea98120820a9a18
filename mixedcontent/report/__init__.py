"""Report formats. Each module has ``write(result, out) -> None`` and reads only the ScanResult."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TextIO

from ..model import ScanResult
from . import github as github_report
from . import html as html_report
from . import json as json_report
from . import junit as junit_report
from . import markdown as markdown_report
from . import sarif as sarif_report
from . import text as text_report

Writer = Callable[[ScanResult, TextIO], None]

FORMATS: MappingProxyType[str, Writer] = MappingProxyType({
    "text": text_report.write,
    "json": json_report.write,
    "sarif": sarif_report.write,
    "junit": junit_report.write,
    "github": github_report.write,
    "html": html_report.write,
    "markdown": markdown_report.write,
})

__all__ = ["FORMATS", "Writer"]
