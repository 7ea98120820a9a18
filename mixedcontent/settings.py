"""Settings: command-line flags and ``[tool.mixedcontent]`` configuration, validated once at the edge.

Configuration is read from ``--config FILE``, else the first of ``mixedcontent.toml`` (top-level keys)
or ``pyproject.toml`` (the ``[tool.mixedcontent]`` table) found in the current directory or its
parents. Command-line flags win over configuration. Unknown keys and bad values are a one-line
usage error naming the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .rules import RULES

DEFAULT_BASE_URL = "https://example.invalid/"
DEFAULT_MAX_FILE_SIZE = 128 * 1024 * 1024
FAIL_ON = ("error", "warning", "info", "never")


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """What a scan needs to know. Stages receive the fields they need."""

    base_url: str = DEFAULT_BASE_URL
    assume_https: bool = False
    scripting: bool = True
    csp_header: str | None = None  # a Content-Security-Policy header the site is served with
    jobs: int = 0  # 0: one per CPU
    follow_symlinks: bool = False
    follow_outside: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, code prefixes)
    baseline: frozenset[str] = field(default_factory=frozenset)  # fingerprints to suppress
    inline_ignores: bool = True  # honour data-mixedcontent-ignore and CSS comment markers
    # files given on their own are served from this directory (None: the working directory)
    root: str | None = None

    def __post_init__(self) -> None:
        if self.root is not None and not os.path.isdir(self.root):
            raise UsageError(f"--root {self.root}: not a directory")


# config key -> (type, description); the CLI flag of the same name (dashes) wins
CONFIG_KEYS: dict[str, type] = {
    "base-url": str, "assume-https": bool, "csp-header": str, "no-scripting": bool, "select": list,
    "ignore": list, "per-path-ignores": dict, "fail-on": str, "jobs": int, "follow-symlinks": bool,
    "follow-symlinks-outside": bool, "max-file-size": int, "format": str, "baseline": str, "strict": bool,
    "root": str,
}


def find_config(start: str | None = None) -> str | None:
    """The nearest mixedcontent.toml, or pyproject.toml with a [tool.mixedcontent] table."""
    directory = os.path.abspath(start or os.getcwd())
    while True:
        own = os.path.join(directory, "mixedcontent.toml")
        if os.path.isfile(own):
            return own
        py = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(py):
            try:
                with open(py, "rb") as f:
                    if "mixedcontent" in tomllib.load(f).get("tool", {}):
                        return py
            except (OSError, tomllib.TOMLDecodeError):
                pass
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(path: str) -> dict[str, Any]:
    """Read and validate one configuration file; keys keep their dashed names."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise UsageError(f"config {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"config {path}: not valid TOML: {e}") from None
    if os.path.basename(path) == "pyproject.toml" or "tool" in data:
        data = data.get("tool", {}).get("mixedcontent", {})
    out: dict[str, Any] = {}
    for key, value in data.items():
        norm = key.replace("_", "-")
        expected = CONFIG_KEYS.get(norm)
        if expected is None:
            raise UsageError(f"config {path}: unknown key {key!r} (known: {', '.join(sorted(CONFIG_KEYS))})")
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            raise UsageError(f"config {path}: {key} must be a {expected.__name__}, got {value!r}")
        if norm in ("select", "ignore"):
            out[norm] = code_prefixes(value, f"config {path}: {key}")
        elif norm == "per-path-ignores":
            pairs = []
            for glob, codes in value.items():
                if isinstance(codes, str):
                    codes = [codes]
                if not isinstance(codes, list):
                    raise UsageError(f"config {path}: per-path-ignores.{glob} must be a list of codes")
                pairs.append((glob, code_prefixes(codes, f"config {path}: per-path-ignores.{glob}")))
            out[norm] = tuple(pairs)
        elif norm == "fail-on" and value not in FAIL_ON:
            raise UsageError(f"config {path}: fail-on must be one of {', '.join(FAIL_ON)}, got {value!r}")
        else:
            out[norm] = value
    return out


def code_prefixes(values: list[str] | tuple[str, ...], where: str = "") -> tuple[str, ...]:
    """Validate rule codes or prefixes (``MC1``, ``MC104``); comma-separated items are split."""
    out = []
    for v in values:
        if not isinstance(v, str):
            raise UsageError(f"{where}: codes must be strings, got {v!r}")
        for part in v.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not part.startswith("MC") or not any(code.startswith(part) for code in RULES):
                raise UsageError(f"{where + ': ' if where else ''}unknown rule code or prefix: {part!r} "
                                 f"(see `mixedcontent rule`)")
            out.append(part)
    return tuple(out)
