"""Settings: command-line flags and ``[tool.mixedcontent]`` configuration, validated where they are made.

``ScanSettings`` checks and normalises its own values in ``__post_init__``, so the library API and the
command line refuse the same bad values with the same one-line ``SettingError`` (naming the setting by
its option name: ``jobs must be 0 or more, got -3``).

Configuration is read from ``--config FILE``, else the first of ``mixedcontent.toml`` (top-level keys)
or ``pyproject.toml`` (the ``[tool.mixedcontent]`` table) found in the current directory or its
parents. Command-line flags win over configuration. Unknown keys and bad values are a one-line
usage error naming the key and the file. Paths in a configuration file (``baseline``) are relative
to the file's directory.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from . import urls
from .errors import SettingError, UsageError
from .rules import RULES

DEFAULT_BASE_URL = "https://example.invalid/"
DEFAULT_MAX_FILE_SIZE = 128 * 1024 * 1024
FAIL_ON = ("error", "warning", "info", "never")
# defaults of stages the command line names in its --help; kept here, where the CLI reads them without
# importing those stages (start-up, issue 19: a scan of files imports no network or browser code)
DEFAULT_MAX_PAGES = 1000  # sources/crawl.py: pages a crawl fetches at most
DEFAULT_CACHE_TTL = 86400.0  # probe.py: seconds a cached probe result stays valid (one day)
DEFAULT_RENDER_TIMEOUT = 15.0  # sources/browser.py: seconds a page may take to load and settle
DEFAULT_RENDER_JOBS = 4  # sources/browser.py: tabs loading at once (on 2 cores more tabs only queue for the CPU)


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
        set_ = object.__setattr__  # frozen: normalised values are set once, here
        if self.root is not None and not os.path.isdir(self.root):
            raise SettingError("root", f"root {self.root}: not a directory")
        set_(self, "base_url", base_directory_url(self.base_url))
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 0:
            raise SettingError("jobs", f"jobs must be 0 or more, got {self.jobs!r}")
        if isinstance(self.max_file_size, bool) or not isinstance(self.max_file_size, int) or self.max_file_size <= 0:
            raise SettingError("max-file-size", "max-file-size must be a positive size")
        if self.csp_header is not None and not isinstance(self.csp_header, str):
            raise SettingError("csp-header", f"csp-header must be a string, got {self.csp_header!r}")
        set_(self, "select", code_prefixes(self.select, "select"))
        set_(self, "ignore", code_prefixes(self.ignore, "ignore"))
        pairs = []
        for pair in self.per_path_ignores:
            if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
                raise SettingError("per-path-ignores", f"per-path-ignores wants (glob, codes) pairs, got {pair!r}")
            glob, codes = pair
            if isinstance(codes, str):
                codes = (codes,)
            pairs.append((glob, code_prefixes(codes, "per-path-ignores", f"per-path-ignores.{glob}")))
        set_(self, "per_path_ignores", tuple(pairs))
        set_(self, "baseline", frozenset(self.baseline))


def base_directory_url(text: object) -> str:
    """The URL of the directory a site is served at: a path not ending in ``/`` loses its last segment
    (``https://x.example/docs/index.html`` gives ``https://x.example/docs/``). Raises SettingError
    unless ``text`` is an absolute http(s) URL."""
    parsed = urls.resolve(text, "about:blank") if isinstance(text, str) else None
    if parsed is None or urls.scheme(parsed) not in ("http:", "https:"):
        raise SettingError("base-url", f"base-url must be an absolute http(s) URL, got {text!r}")
    if not parsed.endswith("/"):
        parsed = parsed.rsplit("/", 1)[0] + "/" if parsed.count("/") > 3 else parsed + "/"
    return parsed


# config key -> (type, description); the CLI flag of the same name (dashes) wins
CONFIG_KEYS: dict[str, type] = {
    "base-url": str, "assume-https": bool, "csp-header": str, "no-scripting": bool, "select": list,
    "ignore": list, "per-path-ignores": dict, "fail-on": str, "jobs": int, "follow-symlinks": bool,
    "follow-symlinks-outside": bool, "max-file-size": int, "format": str, "baseline": str, "strict": bool,
    "root": str,
}


PATH_KEYS = frozenset({"baseline", "root"})  # keys whose values are file paths (relative to the config file)


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
            out[norm] = code_prefixes(value, norm, f"config {path}: {key}")
        elif norm == "per-path-ignores":
            pairs = []
            assert isinstance(value, dict)  # checked against CONFIG_KEYS above
            for glob, codes in value.items():
                if isinstance(codes, str):
                    codes = [codes]
                if not isinstance(codes, list):
                    raise UsageError(f"config {path}: per-path-ignores.{glob} must be a list of codes")
                pairs.append((glob, code_prefixes(codes, norm, f"config {path}: per-path-ignores.{glob}")))
            out[norm] = tuple(pairs)
        elif norm == "fail-on" and value not in FAIL_ON:
            raise UsageError(f"config {path}: fail-on must be one of {', '.join(FAIL_ON)}, got {value!r}")
        elif norm in PATH_KEYS:
            # a path in a configuration file is relative to the file's directory, not to where the command runs
            out[norm] = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(str(value)))
        else:
            out[norm] = value
    return out


def code_prefixes(values: object, key: str = "select", where: str | None = None) -> tuple[str, ...]:
    """Validate rule codes or prefixes (``MC1``, ``MC104``); comma-separated items are split and
    upper-cased. ``key`` is the setting they belong to, ``where`` how the message names it."""
    where = where or key
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, (list, tuple)):
        raise SettingError(key, f"{where} must be a list of rule codes, got {values!r}")
    out = []
    for v in values:
        if not isinstance(v, str):
            raise SettingError(key, f"{where}: codes must be strings, got {v!r}")
        for part in v.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not part.startswith("MC") or not any(code.startswith(part) for code in RULES):
                raise SettingError(key, f"{where}: unknown rule code or prefix: {part!r} (see `mixedcontent rule`)")
            out.append(part)
    return tuple(out)
