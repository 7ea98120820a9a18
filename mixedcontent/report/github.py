"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per finding,
with the escaping the runner expects (data: % CR LF; properties also : and ,). Files are named by
their path from the working directory (docs/json-report.md ``path``), which is where the runner looks for them."""

from __future__ import annotations

from typing import TextIO

from ..model import ReportOptions, ScanResult
from .text import safe

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(s: str) -> str:
    """The runner's escaping for a command's message; other control characters never reach the log."""
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return safe(s)


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def write(result: ScanResult, out: TextIO, options: ReportOptions | None = None) -> None:
    """A suppressed finding (kept by --show-suppressed) is a ``::notice`` that says so: it never fails
    or warns on a pull request."""
    for f in result.findings:
        props = [f"file={escape_property(f.where)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        if f.column is not None:
            props.append(f"col={f.column}")
        if f.suppressed_by is None:
            level = _LEVEL[f.severity.value]
            props.append(f"title={escape_property(f'{f.code} {f.name}')}")
        else:
            level = "notice"
            props.append(f"title={escape_property(f'{f.code} {f.name} suppressed ({f.suppressed_by})')}")
        out.write(f"::{level} {','.join(props)}::{escape_data(f.message)}\n")
    for e in result.errors:
        where = f" file={escape_property(e.path or e.file or '')}" if e.path or e.file else ""
        out.write(f"::error{where}::{escape_data(e.message)}\n")
