"""Settings: command-line flags and ``[tool.mixedcontent]`` configuration, validated where they are made.

``ScanSettings`` checks and normalises its own values in ``__post_init__``, so the library API and the
command line refuse the same bad values with the same one-line ``SettingError`` (naming the setting by
its option name: ``jobs must be 0 or more, got -3``).

Configuration is read from ``--config FILE``, else the first of ``mixedcontent.toml`` (top-level keys)
or ``pyproject.toml`` (the ``[tool.mixedcontent]`` table) found in the current directory or its
parents. Every command-line option has a key (``CONFIG_KEYS``); ``[tool.mixedcontent.<command>]`` tables
hold keys for one command. Command-line flags win over configuration. Unknown keys and bad values are a
one-line usage error naming the key and the file. Paths in a configuration file (``baseline``, ``cacert``,
...) are relative to the file's directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import urls
from .errors import SettingError, UsageError
from .rules import RULES
from .version import __version__

DEFAULT_BASE_URL = "https://example.invalid/"
DEFAULT_MAX_FILE_SIZE = 128 * 1024 * 1024
FAIL_ON = ("error", "warning", "info", "never")
# defaults of stages the command line names in its --help; kept here, where the CLI reads them without
# importing those stages (start-up, issue 19: a scan of files imports no network or browser code)
DEFAULT_MAX_PAGES = 1000  # sources/crawl.py: pages a crawl fetches at most
DEFAULT_CACHE_TTL = 86400.0  # probe.py: seconds a cached probe result stays valid (one day)
DEFAULT_RENDER_TIMEOUT = 15.0  # sources/browser.py: seconds a page may take to load and settle
# net.NetSettings defaults, here so that the command line's help names them without importing the network
# layer (a scan of files never goes online: start-up, issue 19)
DEFAULT_USER_AGENT = f"mixedcontent/{__version__}"
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to open the TCP connection (and TLS handshake)
DEFAULT_READ_TIMEOUT = 30.0  # seconds between two reads of the socket
DEFAULT_TOTAL_TIMEOUT = 60.0  # seconds for one request attempt, body included
DEFAULT_CONCURRENCY = 16  # requests in flight, run-wide
DEFAULT_PER_HOST = 8  # requests in flight per host (as Scrapy's per-domain default)
DEFAULT_MIN_INTERVAL = 0.0  # seconds between request starts to one host (politeness)
DEFAULT_RETRIES = 2  # extra attempts on connection errors, 429, 503 (GET/HEAD only)
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
    # docs/configuration.md#excluding-urls: regular expressions searched in each reference's absolute URL
    exclude_urls: tuple[str, ...] = ()

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
        set_(self, "exclude_urls", url_patterns(self.exclude_urls, "exclude-url"))


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


# Every command-line option has a configuration key (tests/test_settings.py checks it, option by option): its
# long name without the dashes, except those renamed here; CONFIG_KEYS gives each key's TOML type.
# docs/configuration.md lists them all.
CONFIG_NAMES = {"exclude-url": "exclude-urls"}  # option -> key, where the key is not the option's name
CONFIG_KEYS: dict[str, type] = {
    # what a scan reads and reports (scan, fix, csp; select, ignore, fail-on, format, output, strict: audit too)
    "base-url": str, "assume-https": bool, "csp-header": str, "no-scripting": bool, "no-inline-ignores": bool,
    "root": str, "jobs": int, "follow-symlinks": bool, "follow-symlinks-outside": bool, "max-file-size": int,
    "exclude-urls": list, "select": list, "ignore": list, "per-path-ignores": dict, "baseline": str,
    "show-suppressed": bool, "fail-on": str, "format": str, "output": str, "strict": bool, "quiet": bool,
    # the https probe
    "probe": bool, "no-probe": bool, "probe-cache": str, "probe-cache-ttl": float,
    # the browser pass
    "render": bool, "render-timeout": float, "render-jobs": int,
    # the network (every command that goes online)
    "resolve": list, "cacert": str, "insecure": bool, "allow-private": bool, "timeout": float,
    "connect-timeout": float, "concurrency": int, "per-host": int, "delay": float, "retries": int,
    "user-agent": str,
    # crawls
    "allow-host": list, "path-prefix": str, "max-pages": int, "max-depth": int, "no-sitemaps": bool,
    # web archives and clusters
    "workers": int, "scheduler": str, "shards": str,
    # fix
    "dry-run": bool, "unsafe": bool, "map": list, "forms": bool, "add-csp-meta": bool, "backup": str,
    "no-fsync": bool,
    # csp
    "report-uri": str, "tls-profile": str,
    # audit
    "allow-http-host": list, "http-port": int, "https-port": int, "no-www-check": bool, "no-page-scan": bool,
    "no-tls-check": bool, "tls-timeout": float, "server-config": str, "rows": str, "rows-format": str,
    "parallel": int, "host-timeout": float,
}
CONFIG_ONLY = frozenset({"per-path-ignores"})  # keys with no command-line option
# a table of its own ([tool.mixedcontent.fix], or [fix] in mixedcontent.toml) holds keys for that command only
COMMANDS = ("scan", "fix", "csp", "audit")
# top-level keys that apply only to some commands: fix and csp write documents of their own (an edit list,
# header suggestions), so a top-level ``format`` (the report's) is not theirs; set it in their tables
TOP_LEVEL_FOR = {"format": frozenset({"scan", "audit"})}
# keys whose values are file paths (relative to the configuration file's directory); "-" stays stdout
PATH_KEYS = frozenset({"baseline", "root", "cacert", "probe-cache", "output", "shards", "rows"})
_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "a list",
               dict: "a table"}


def find_config(start: str | None = None) -> str | None:
    """The nearest mixedcontent.toml, or pyproject.toml with a [tool.mixedcontent] table."""
    directory = os.path.abspath(start or os.getcwd())
    while True:
        own = os.path.join(directory, "mixedcontent.toml")
        if os.path.isfile(own):
            return own
        py = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(py):
            import tomllib  # (imported when there is a file to read: start-up, issue 19)

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


def load_config(path: str, command: str | None = None,
                known: Mapping[str, frozenset[str]] | None = None) -> dict[str, Any]:
    """Read and validate one configuration file; keys keep their dashed names, paths are made absolute
    (relative to the file's directory). The top-level keys, and with ``command`` the keys of its table
    over them (``known``: the keys each command has, which its table may not go beyond)."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise UsageError(f"config {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"config {path}: not valid TOML: {e}") from None
    if os.path.basename(path) == "pyproject.toml" or "tool" in data:
        data = data.get("tool", {}).get("mixedcontent", {})
    tables = {name: data.pop(name) for name in COMMANDS if name in data}
    out = {key: value for key, value in _check_keys(path, data, "").items()
           if command is None or command in TOP_LEVEL_FOR.get(key, (command,))}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise UsageError(f"config {path}: {name} must be a table of {name}'s options, got {table!r}")
        checked = _check_keys(path, table, f"{name}.")
        for key in checked:
            if known is not None and key not in known.get(name, ()):
                raise UsageError(f"config {path}: {name}.{key}: `mixedcontent {name}` has no such option")
        if name == command:
            out.update(checked)
    return out


def _check_keys(path: str, data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """One table's keys, each checked against CONFIG_KEYS (``prefix``: how messages name the table)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        norm = key.replace("_", "-")
        expected = CONFIG_KEYS.get(norm)
        name = prefix + key
        if expected is None:
            import difflib

            close = difflib.get_close_matches(norm, [*CONFIG_KEYS, *COMMANDS], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(f"config {path}: unknown key {name!r} ({hint}keys are the long option names of "
                             f"the commands, tables {', '.join(COMMANDS)} hold one command's keys)")
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected in (int, float) and isinstance(value, bool) or not isinstance(value, expected):
            raise UsageError(f"config {path}: {name} must be {_TYPE_NAMES[expected]}, got {value!r}")
        if isinstance(value, list) and norm not in ("select", "ignore", "exclude-urls"):
            for item in value:
                if not isinstance(item, str):
                    raise UsageError(f"config {path}: {name} must be a list of strings, got {item!r}")
        if norm == "exclude-urls":
            out[norm] = url_patterns(value, "exclude-urls", f"config {path}: {name}")
        elif norm in ("select", "ignore"):
            out[norm] = code_prefixes(value, norm, f"config {path}: {name}")
        elif norm == "per-path-ignores":
            pairs = []
            assert isinstance(value, dict)  # checked against CONFIG_KEYS above
            for glob, codes in value.items():
                if isinstance(codes, str):
                    codes = [codes]
                if not isinstance(codes, list):
                    raise UsageError(f"config {path}: {name}.{glob} must be a list of codes")
                pairs.append((glob, code_prefixes(codes, norm, f"config {path}: {name}.{glob}")))
            out[norm] = tuple(pairs)
        elif norm == "fail-on" and value not in FAIL_ON:
            raise UsageError(f"config {path}: {name} must be one of {', '.join(FAIL_ON)}, got {value!r}")
        elif norm in PATH_KEYS and value != "-":
            # a path in a configuration file is relative to the file's directory, not to where the command runs
            out[norm] = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(str(value)))
        else:
            out[norm] = value
    return out


def url_patterns(values: object, key: str = "exclude-url", where: str | None = None) -> tuple[str, ...]:
    """Validate ``--exclude-url`` regular expressions (Python ``re`` syntax): each must compile. ``key`` is
    the setting they belong to, ``where`` how the message names it."""
    where = where or key
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, (list, tuple)):
        raise SettingError(key, f"{where} must be a list of regular expressions, got {values!r}")
    for v in values:
        if not isinstance(v, str):
            raise SettingError(key, f"{where}: patterns must be strings, got {v!r}")
        try:
            re.compile(v)
        except re.error as e:
            raise SettingError(key, f"{where}: {v!r} is not a valid regular expression: {e}") from None
    return tuple(values)


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
