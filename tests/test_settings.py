"""Settings are validated where they are made: the library API and the command line refuse the same bad
values with the same one-line message; configuration paths are relative to the configuration file; an
http base URL without --assume-https says what it means."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE, Run

import mixedcontent
from mixedcontent.engine import EngineSettings
from mixedcontent.errors import SettingError, UsageError
from mixedcontent.net import NetSettings
from mixedcontent.probe import ProbeSettings
from mixedcontent.settings import ScanSettings
from mixedcontent.sources.crawl import CrawlSettings

# (what the library is given, the same value on the command line, the message both give)
SAME_MESSAGE: list[tuple[Callable[[], object], tuple[str, ...], str]] = [
    (lambda: mixedcontent.scan([EXAMPLE], base_url="ftp://x.example/"), ("--base-url", "ftp://x.example/"),
     "base-url must be an absolute http(s) URL, got 'ftp://x.example/'"),
    (lambda: mixedcontent.scan([EXAMPLE], jobs=-3), ("--jobs", "-3"), "jobs must be 0 or more, got -3"),
    (lambda: mixedcontent.scan([EXAMPLE], select=("XX1",)), ("--select", "XX1"),
     "select: unknown rule code or prefix: 'XX1' (see `mixedcontent rule`)"),
    (lambda: mixedcontent.scan([EXAMPLE], ignore=("MC9",)), ("--ignore", "MC9"),
     "ignore: unknown rule code or prefix: 'MC9' (see `mixedcontent rule`)"),
    (lambda: ScanSettings(max_file_size=0), ("--max-file-size", "0"), "max-file-size must be a positive size"),
    (lambda: NetSettings(total_timeout=0), ("--probe", "--timeout", "0"),
     "timeout must be a positive number of seconds, got 0"),
    (lambda: NetSettings(per_host=0), ("--probe", "--per-host", "0"), "per-host must be 1 or more, got 0"),
    (lambda: ProbeSettings(cache_ttl=-1), ("--probe", "--probe-cache-ttl", "-1"),
     "probe-cache-ttl must be 0 or more seconds, got -1"),
    (lambda: EngineSettings(workers=0), ("--workers", "0"), "--workers must be 1 or more, got 0"),
]


@pytest.mark.parametrize(("api", "flags", "message"), SAME_MESSAGE, ids=[m.split(" ")[0] for *_, m in SAME_MESSAGE])
def test_the_api_and_the_cli_refuse_a_bad_value_alike(run: Callable[..., Run], api: Callable[[], object],
                                                      flags: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError) as refused:
        api()
    assert str(refused.value) == message
    r = run("scan", EXAMPLE, *flags)
    assert (r.code, r.err) == (2, f"mixedcontent: {message}\n")


def test_a_crawl_refuses_a_bad_limit_before_going_online(run: Callable[..., Run]) -> None:
    with pytest.raises(SettingError, match=r"^max-pages must be 1 or more, got 0$"):
        CrawlSettings(start=("https://site.example/",), max_pages=0)
    r = run("scan", "https://site.example/", "--max-pages", "0")
    assert (r.code, r.err) == (2, "mixedcontent: max-pages must be 1 or more, got 0\n")
    with pytest.raises(UsageError, match="only http:// and https:// sites can be crawled"):
        CrawlSettings(start=("ftp://site.example/",))


def test_the_api_no_longer_scans_an_ftp_base_url_silently() -> None:
    with pytest.raises(SettingError) as refused:
        mixedcontent.scan([EXAMPLE], base_url="ftp://x")
    assert refused.value.key == "base-url"


def test_settings_normalise_what_they_accept() -> None:
    s = ScanSettings(base_url="https://x.example/docs/index.html", select=("mc1, mc201",), ignore=["MC4"],  # type: ignore[arg-type]
                     per_path_ignores=(("legacy/**", ("mc1",)),))
    assert s.base_url == "https://x.example/docs/"
    assert (s.select, s.ignore, s.per_path_ignores) == (("MC1", "MC201"), ("MC4",), (("legacy/**", ("MC1",)),))
    assert ScanSettings(base_url="https://x.example").base_url == "https://x.example/"


# ---- an http base URL says what it means (issue 14 item 7) ----------------------------------------------

NOTE = ("mixedcontent: note: pages are judged as served at http://example.invalid/ (http), where nothing is "
        "mixed content; add --assume-https to judge them as https pages\n")


def test_an_http_base_url_prints_a_note(run: Callable[..., Run]) -> None:
    r = run("scan", EXAMPLE, "--base-url", "http://example.invalid/")
    assert (r.code, r.err) == (0, NOTE)
    assert r.out.startswith("0 findings")


@pytest.mark.parametrize("flags", [("--base-url", "http://example.invalid/", "--assume-https"),
                                   ("--base-url", "https://example.invalid/"), ()])
def test_no_note_when_pages_are_judged_as_https(run: Callable[..., Run], flags: tuple[str, ...]) -> None:
    r = run("scan", EXAMPLE, "--fail-on", "never", *flags)
    assert r.err == ""


# ---- paths in configuration files are relative to the file (issue 14 item 8) ----------------------------

def _project(tmp_path: Path, config: str) -> Path:
    """proj/pyproject.toml with ``config`` in [tool.mixedcontent], proj/site/a.html, proj/sub/."""
    proj = tmp_path / "proj"
    (proj / "site").mkdir(parents=True)
    (proj / "sub").mkdir()
    (proj / "site" / "a.html").write_text('<script src="http://cdn.example/a.js"></script>')
    (proj / "pyproject.toml").write_text(f"[tool.mixedcontent]\n{config}\n")
    return proj


def test_a_configured_baseline_is_found_from_a_subdirectory(run: Callable[..., Run], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    proj = _project(tmp_path, 'baseline = "baseline.json"')
    monkeypatch.chdir(proj)
    assert run("scan", "site", "--write-baseline", "baseline.json").code == 0
    assert run("scan", "site").code == 0  # from the project root
    monkeypatch.chdir(proj / "sub")
    r = run("scan", "../site", "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["summary"]["suppressed"] == 1


def test_a_missing_configured_baseline_is_named_by_the_config_key(run: Callable[..., Run], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    proj = _project(tmp_path, 'baseline = "missing.json"')
    monkeypatch.chdir(proj / "sub")
    r = run("scan", "../site")
    assert r.code == 2
    assert r.err == (f"mixedcontent: config {proj / 'pyproject.toml'}: baseline {proj / 'missing.json'}: "
                     f"No such file or directory\n")


@pytest.mark.parametrize(("config", "message"), [
    ("jobs = -3", "jobs must be 0 or more, got -3"),
    ('base-url = "ftp://x.example/"', "base-url must be an absolute http(s) URL, got 'ftp://x.example/'"),
    ("max-file-size = 0", "max-file-size must be a positive size"),
])
def test_a_bad_configured_value_names_the_file_and_key(run: Callable[..., Run], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, config: str,
                                                       message: str) -> None:
    proj = _project(tmp_path, config)
    monkeypatch.chdir(proj / "sub")
    r = run("scan", "../site")
    assert (r.code, r.err) == (2, f"mixedcontent: config {proj / 'pyproject.toml'}: {message}\n")
    # the same value as a flag is named as the flag's value, without the file
    flag, _, value = config.partition(" = ")
    r = run("scan", "../site", f"--{flag}", value.strip('"'))
    assert (r.code, r.err) == (2, f"mixedcontent: {message}\n")


def test_setting_errors_carry_their_key() -> None:
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: ScanSettings(jobs=-1), "jobs"), (lambda: NetSettings(retries=-1), "retries"),
        (lambda: NetSettings(min_interval=-1.0), "delay"), (lambda: ScanSettings(select=("ZZ",)), "select")]
    for make, key in cases:
        with pytest.raises(SettingError) as refused:
            make()
        assert refused.value.key == key
