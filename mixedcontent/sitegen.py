"""What the static-site generator integrations share (``mixedcontent.mkdocs``, ``mixedcontent.sphinx``):
scan a freshly built output directory at the site's URL through the public API, with the project's
``[tool.mixedcontent]`` configuration, and split the findings into those that fail the build and
those that are only reported.

The generators' own options (``fail_on``, ``select``, ``ignore``, ``baseline``) win over the
configuration file, as command-line flags do. Relative paths in the configuration file (``baseline``)
are taken from the directory of that file; relative paths in the generator's options from the
project's directory (where ``mkdocs.yml`` or ``conf.py`` is).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import UsageError
from .model import Finding, ScanError, ScanResult, Severity
from .report.text import safe
from .settings import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_FILE_SIZE,
    FAIL_ON,
    ScanSettings,
    code_prefixes,
    find_config,
    load_config,
)
from .suppress import load_baseline
from .wording import plural

# configuration keys that mean something for a built output directory, and the ScanSettings field each sets
_BOOLEAN_KEYS = {"assume-https": "assume_https", "follow-symlinks": "follow_symlinks",
                 "follow-symlinks-outside": "follow_outside"}


@dataclass(frozen=True, slots=True)
class BuildCheck:
    """The options a generator plugin passes; ``None`` leaves the configuration file's value."""

    project_dir: str
    base_url: str | None = None
    fail_on: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    baseline: str | None = None
    config_file: str | None = None  # None: the nearest mixedcontent.toml / pyproject.toml from project_dir
    use_config: bool = True


@dataclass(frozen=True, slots=True)
class BuildReport:
    result: ScanResult
    fail_on: str
    failing: tuple[Finding, ...]  # at or above fail_on, not suppressed: each one is a generator warning
    other: tuple[Finding, ...]  # below fail_on: reported at info level

    @property
    def errors(self) -> tuple[ScanError, ...]:
        return self.result.errors

    def summary(self) -> str:
        n = len(self.result.findings)
        return (f"{plural(n, 'finding')} in {plural(self.result.pages, 'page')}, "
                f"{len(self.failing)} at or above {self.fail_on}")


def _absolute(path: str, base_dir: str) -> str:
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


def base_url_of(url: str) -> str:
    """A site URL as a base for the scan: it must be absolute http(s), and names a directory."""
    from . import urls

    parsed = urls.resolve(url, "about:blank")
    if parsed is None or urls.scheme(parsed) not in ("http:", "https:"):
        raise UsageError(f"the site URL must be an absolute http(s) URL, got {url!r}")
    return parsed if parsed.endswith("/") else parsed + "/"


def settings_for(check: BuildCheck) -> tuple[ScanSettings, str]:
    """ScanSettings and the fail-on threshold from the plugin's options over the configuration file."""
    config: dict[str, Any] = {}
    config_dir = check.project_dir
    if check.use_config:
        path = _absolute(check.config_file, check.project_dir) if check.config_file else find_config(check.project_dir)
        if path is not None:
            config = load_config(path, "scan")
            config_dir = os.path.dirname(os.path.abspath(path))
    fail_on = check.fail_on if check.fail_on is not None else str(config.get("fail-on", "error"))
    if fail_on not in FAIL_ON:
        raise UsageError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    base = check.base_url or config.get("base-url") or DEFAULT_BASE_URL
    values: dict[str, Any] = {
        "base_url": base_url_of(str(base)),
        "select": code_prefixes(check.select, "select") if check.select is not None else tuple(config.get("select", ())),
        "ignore": code_prefixes(check.ignore, "ignore") if check.ignore is not None else tuple(config.get("ignore", ())),
        "per_path_ignores": tuple(config.get("per-path-ignores", ())),
        "scripting": not config.get("no-scripting", False),
        "csp_header": config.get("csp-header"),
        "jobs": int(config.get("jobs", 0)),
        "max_file_size": int(config.get("max-file-size", DEFAULT_MAX_FILE_SIZE // (1024 * 1024))) * 1024 * 1024,
    }
    for key, name in _BOOLEAN_KEYS.items():
        values[name] = bool(config.get(key, False))
    if check.baseline is not None:
        values["baseline"] = load_baseline(_absolute(check.baseline, check.project_dir))
    elif config.get("baseline"):
        values["baseline"] = load_baseline(_absolute(str(config["baseline"]), config_dir))
    known = {f.name for f in fields(ScanSettings)}
    for key, value in config.items():  # any other key that names a ScanSettings field (added options)
        name = key.replace("-", "_")
        if name in known and name not in values and key not in _BOOLEAN_KEYS:
            values[name] = tuple(value) if isinstance(value, list) else value
    return replace(ScanSettings(), **{k: v for k, v in values.items() if k in known}), fail_on


def check_build(site_dir: str, check: BuildCheck) -> BuildReport:
    """Scan the built ``site_dir`` (every page and the stylesheets they load) as served at the site URL."""
    from . import scan

    settings, fail_on = settings_for(check)
    result = scan([site_dir], settings=settings)
    threshold = 4 if fail_on == "never" else Severity(fail_on).rank
    live = [f for f in result.findings if f.suppressed_by is None]
    failing = tuple(f for f in live if f.severity.rank >= threshold)
    other = tuple(f for f in live if f.severity.rank < threshold)
    return BuildReport(result=result, fail_on=fail_on, failing=failing, other=other)


def describe(f: Finding, site_dir: str, sources: dict[str, str] | None = None) -> str:
    """One line for a generator's log: where (in the output directory), code, message, and the source
    page the output file was built from when ``sources`` (output path relative to ``site_dir``, ``/``
    separated -> source path) knows it."""
    where = os.path.join(site_dir, f.file) if f.file is not None else f.page
    if f.line is not None:
        where += f":{f.line}:{f.column}"
    source = (sources or {}).get(f.file or "")
    return safe(f"{where}: {f.code} {f.message}" + (f" (built from {source})" if source else ""))


def describe_error(e: ScanError, site_dir: str) -> str:
    where = os.path.join(site_dir, e.file) if e.file is not None else (e.url or site_dir)
    return safe(f"{where}: could not be scanned: {e.message}")
