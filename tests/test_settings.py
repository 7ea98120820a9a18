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


# ---- every command-line option has a configuration key (issue 18) ----------------------------------------

import argparse  # noqa: E402
import io  # noqa: E402
from collections import Counter  # noqa: E402

from aiohttp import web  # noqa: E402
from servers import make_ca, serve  # noqa: E402

from mixedcontent.cli import NOT_CONFIG, _parser, config_key, configure  # noqa: E402
from mixedcontent.settings import CONFIG_KEYS, CONFIG_ONLY, PATH_KEYS  # noqa: E402

TARGET = {"scan": "site", "fix": "site", "csp": "site", "audit": "https://site.example/"}


def _options() -> list[tuple[str, argparse.Action]]:
    commands = _parser(io.StringIO()).commands
    return [(name, a) for name, p in commands.items() for a in p._actions if a.option_strings]


def _type(action: argparse.Action) -> type:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        return bool
    if isinstance(action, argparse._AppendAction):
        return list
    return action.type if isinstance(action.type, type) else str


def test_every_option_of_every_command_has_a_configuration_key() -> None:
    # what may stay off the file, each for a reason (cli.NOT_CONFIG says which)
    assert set(NOT_CONFIG) == {"help", "config", "no-config", "write-baseline", "hosts"}
    missing, mistyped, seen = [], [], set()
    for command, action in _options():
        key = config_key(action)
        if key is None:
            assert action.option_strings[-1].lstrip("-") in NOT_CONFIG or action.option_strings[0] == "-h"
            continue
        seen.add(key)
        if key not in CONFIG_KEYS:
            missing.append(f"{command} {action.option_strings}")
        elif CONFIG_KEYS[key] is not _type(action):
            mistyped.append(f"{command} {key}: {CONFIG_KEYS[key].__name__} vs {_type(action).__name__}")
    assert missing == [] and mistyped == []
    # and no key names an option that does not exist
    assert set(CONFIG_KEYS) - seen == set(CONFIG_ONLY)


def _sample(command: str, action: argparse.Action) -> tuple[object, object]:
    """A value for the option's key in a file, and what the command then sees in its arguments."""
    kind = _type(action)
    if kind is bool:
        return True, not isinstance(action, argparse._StoreFalseAction)
    if kind is list:
        value = ["MC1"] if action.dest in ("select", "ignore") else ["a.example"]
        return value, value
    if action.choices is not None:
        choice = sorted(action.choices)[0]
        return choice, choice
    if kind is int:
        return 3, 3
    if kind is float:
        return 2.5, 2.5
    return "value", "value"


CASES = [(c, a) for c, a in _options() if config_key(a) is not None]


@pytest.mark.parametrize("level", ["table", "top"])
@pytest.mark.parametrize(("command", "action"), CASES, ids=[f"{c}-{config_key(a)}" for c, a in CASES])
def test_every_option_is_read_from_the_configuration_file(tmp_path: Path, command: str, action: argparse.Action,
                                                          level: str) -> None:
    key = config_key(action)
    assert key is not None
    value, expected = _sample(command, action)
    config = tmp_path / "mixedcontent.toml"
    line = f"{key} = {json.dumps(value)}\n"
    config.write_text(f"[{command}]\n{line}" if level == "table" else line)
    if key in PATH_KEYS:
        expected = str(tmp_path / str(value))  # relative to the file's directory
    argv = [command, TARGET[command], "--config", str(config)]
    parser = _parser(io.StringIO())
    args = parser.parse_args(argv)
    configure(args, argv, parser)
    if level == "top" and key == "format" and command in ("fix", "csp"):
        expected = "text"  # a top-level format is the report's: fix and csp read theirs from their tables
    assert getattr(args, action.dest) == expected


def test_the_command_line_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "mixedcontent.toml"
    config.write_text('timeout = 9\nresolve = ["a.example:443:127.0.0.1"]\n[scan]\nmax-pages = 4\n')
    argv = ["scan", "https://a.example/", "--config", str(config), "--timeout", "3", "--max-pages", "7"]
    parser = _parser(io.StringIO())
    args = parser.parse_args(argv)
    configure(args, argv, parser)
    assert (args.timeout, args.max_pages, args.resolve) == (3.0, 7, ["a.example:443:127.0.0.1"])


@pytest.mark.parametrize(("config", "message"), [
    ('timeout = "5"', "timeout must be a number, got '5'"),
    ("timeout = 0", "timeout must be a positive number of seconds, got 0"),
    ("per-host = 0", "per-host must be 1 or more, got 0"),
    ("retries = true", "retries must be an integer, got True"),
    ('resolve = "a:1:127.0.0.1"', "resolve must be a list, got 'a:1:127.0.0.1'"),
    ("resolve = [1]", "resolve must be a list of strings, got 1"),
    ('format = "xml"', "format must be one of github, html, json, junit, markdown, sarif, text for "
                       "`mixedcontent scan`, got 'xml'"),
    ("probe-cache-ttl = -1", "probe-cache-ttl must be 0 or more seconds, got -1"),
    ('cacert = "missing.pem"', "cacert {dir}/missing.pem: no such file"),
    ("[tool.mixedcontent.fix]\nmax-pages = 3", "fix.max-pages: `mixedcontent fix` has no such option"),
    ("[tool.mixedcontent.scan]\nmax-pagez = 3",
     "unknown key 'scan.max-pagez' (did you mean 'max-pages'? keys are the long option names of the commands, "
     "tables scan, fix, csp, audit hold one command's keys)"),
    ("scan = 3", "scan must be a table of scan's options, got 3"),
])
def test_a_bad_configured_network_or_probe_value_names_the_file(run: Callable[..., Run], tmp_path: Path,
                                                                 config: str, message: str) -> None:
    proj = _project(tmp_path, config)
    r = run("scan", str(proj / "site"), "--probe", "--config", str(proj / "pyproject.toml"))
    expected = f"mixedcontent: config {proj / 'pyproject.toml'}: {message.format(dir=proj)}\n"
    assert (r.code, r.err) == (2, expected)


def test_network_and_probe_settings_come_from_the_file(run: Callable[..., Run], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """probe, resolve and cacert (a path relative to the file) from [tool.mixedcontent]: the scan probes the
    loopback server the file routes cdn.example to, from a subdirectory."""
    hits: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.Response:
        hits[request.path] += 1
        return web.Response(body=b"img", content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    ca = make_ca()
    with serve(app, ca=ca, hostnames=["cdn.example"]) as srv:
        assert srv.ca_file is not None
        proj = _project(tmp_path, "")
        (proj / "site" / "a.html").write_text(f'<img src="http://cdn.example:{srv.port}/a.png">')
        (proj / "ca.pem").write_bytes(Path(srv.ca_file).read_bytes())
        (proj / "pyproject.toml").write_text(
            f'[tool.mixedcontent]\nresolve = ["cdn.example:{srv.port}:127.0.0.1"]\ncacert = "ca.pem"\n'
            f'timeout = 5\nretries = 0\n[tool.mixedcontent.scan]\nprobe = true\nformat = "json"\n')
        monkeypatch.chdir(proj / "sub")
        r = run("scan", "../site")
    assert r.code == 0, r.err
    [finding] = json.loads(r.out)["findings"]
    assert finding["https"]["status"] == "available" and finding["fix"]["applicability"] == "safe"
    assert hits["/a.png"] >= 1


def test_a_configured_key_that_does_not_apply_to_the_run_is_not_used(run: Callable[..., Run],
                                                                      tmp_path: Path) -> None:
    proj = _project(tmp_path, 'max-pages = 5\nrender-timeout = 5.0\nprobe-cache = "cache.json"\nshards = "out"\n'
                              'format = "json"')
    r = run("scan", str(proj / "site"), "--config", str(proj / "pyproject.toml"))
    assert r.code == 1, r.err
    assert [f["code"] for f in json.loads(r.out)["findings"]] == ["MC102"]
    assert not (proj / "out").exists() and not (proj / "cache.json").exists()
    # the same as flags: refused
    r = run("scan", str(proj / "site"), "--config", str(proj / "pyproject.toml"), "--max-pages", "5")
    assert r.code == 2 and "--max-pages applies only" in r.err
    # fix writes its own output: the top-level (report) format is not its; its table's is
    r = run("fix", str(proj / "site"), "--config", str(proj / "pyproject.toml"), "--dry-run", "--unsafe")
    assert r.code == 0 and r.out.startswith("---"), r.out
    (proj / "pyproject.toml").write_text('[tool.mixedcontent.fix]\nformat = "json"\ndry-run = true\nunsafe = true\n')
    r = run("fix", str(proj / "site"), "--config", str(proj / "pyproject.toml"))
    assert r.code == 0 and json.loads(r.out)["dry_run"] is True and len(json.loads(r.out)["edits"]) == 1
    assert "http://cdn.example" in (proj / "site" / "a.html").read_text()  # dry run: nothing written


def test_the_configuration_page_documents_every_key() -> None:
    from conftest import ROOT

    page = Path(ROOT, "docs", "configuration.md").read_text(encoding="utf-8")
    table = page[page.index("### Every key"):]
    assert [k for k in CONFIG_KEYS if f"`{k}`" not in table] == []
