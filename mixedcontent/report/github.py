"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per finding,
with the escaping the runner expects (data: % CR LF; properties also : and ,)."""

from __future__ import annotations

from typing import TextIO

from ..model import ScanResult
from .text import safe

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(s: str) -> str:
    """The runner's escaping for a command's message; other control characters never reach the log."""
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return safe(s)


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def write(result: ScanResult, out: TextIO) -> None:
    for f in result.findings:
        props = [f"file={escape_property(f.file if f.file is not None else f.page)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        if f.column is not None:
            props.append(f"col={f.column}")
        props.append(f"title={escape_property(f'{f.code} {f.name}')}")
        out.write(f"::{_LEVEL[f.severity.value]} {','.join(props)}::{escape_data(f.message)}\n")
    for e in result.errors:
        where = f" file={escape_property(e.file)}" if e.file else ""
        out.write(f"::error{where}::{escape_data(e.message)}\n")
