"""The command line: options, exit codes (SPEC §7), one-line errors, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import EXAMPLE, ROOT

from mixedcontent import __version__


def test_help_explains_every_scan_option(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "--help")
    assert r.code == 0
    for option in ("--base-url", "--format", "--output", "--fail-on", "--select", "--ignore", "--strict",
                   "--jobs", "--assume-https", "--csp-header", "--no-scripting", "--follow-symlinks",
                   "--max-file-size"):
        assert option in r.out


def test_version(run) -> None:  # type: ignore[no-untyped-def]
    assert run("--version").out.strip() == f"mixedcontent {__version__}"


def test_console_script_and_module_entry_points() -> None:
    r = subprocess.run([sys.executable, "-m", "mixedcontent", "--version"], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 0 and r.stdout.startswith("mixedcontent ")


def test_the_command_line_leaves_without_teardown_yet_loses_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """cli.entry ends the process with os._exit (no freeing of the run's objects one by one, issue 19):
    the exit code, every byte of a long report on a pipe and the exit handlers (coverage's, logging's)
    are all still there."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.stderr.write('exit handler ran\\n'))\n"
            "class Torn:\n    def __del__(self): sys.stderr.write('torn down\\n')\n"
            "held = Torn()\n"  # freed only by the interpreter's teardown

            "sys.argv = ['mixedcontent', 'scan', sys.argv[1], '--format', 'json']\n"
            "from mixedcontent.cli import entry\nentry()\nprint('not reached')\n")
    r = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1, r.stderr  # the example site has errors
    assert r.stderr.endswith("exit handler ran\n")
    report = json.loads(r.stdout)  # all of it: stdout was flushed before the exit
    assert report["summary"]["findings"] == len(report["findings"]) > 0
    assert "not reached" not in r.stdout and "torn down" not in r.stderr


def test_findings_exit_1_and_text_summary(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE)
    assert r.code == 1
    summary, fix = r.out.strip().splitlines()[-2:]  # the counts, then what `fix` would fix
    assert summary.startswith("26 findings (14 errors, 11 warnings, 1 info) in 6 pages, 2 stylesheets: ")
    assert fix.startswith("23 of 26 findings can be fixed by `mixedcontent fix ")
    assert "index.html:11:16: MC102 <script src> http://widgets.example/analytics.js is blocked" in r.out


def test_fail_on_levels(run) -> None:  # type: ignore[no-untyped-def]
    case = os.path.join(ROOT, "fixtures", "cases", "MC101", "img-and-media")
    assert run("scan", case).code == 0  # warnings only
    assert run("scan", case, "--fail-on", "warning").code == 1
    assert run("scan", case, "--fail-on", "never").code == 0
    assert run("scan", EXAMPLE, "--fail-on", "never").code == 0


def test_select_and_ignore_by_prefix(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--format", "json", "--select", "MC1", "--ignore", "MC101,MC104")
    codes = {f["code"] for f in json.loads(r.out)["findings"]}
    assert codes == {"MC102", "MC103", "MC105"}
    r = run("scan", EXAMPLE, "--format", "json", "--ignore", "MC1", "--select", "MC104")
    assert {f["code"] for f in json.loads(r.out)["findings"]} == {"MC104"}


def test_unknown_code_prefix_is_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--select", "XY1")
    assert r.code == 2 and r.err.count("\n") == 1 and "unknown rule code" in r.err


def test_missing_path_is_one_line_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", "/nonexistent/site")
    assert r.code == 2
    assert r.err == "mixedcontent: /nonexistent/site: no such file or directory\n"


@pytest.mark.parametrize("given", ["example.org", "www.example.org/docs/", "site.example:8443"])
def test_missing_path_that_looks_like_a_host_suggests_its_url(run, given: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # where nothing has these names
    r = run("scan", given)
    assert (r.code, r.out) == (2, "")
    assert r.err == (f"mixedcontent: {given}: no such file or directory (to crawl the website, give its URL: "
                     f"https://{given})\n")


def test_audit_of_a_host_name_suggests_its_url(run) -> None:  # type: ignore[no-untyped-def]
    r = run("audit", "example.org")
    assert (r.code, r.err) == (2, "mixedcontent: audit needs an http:// or https:// URL, got 'example.org' "
                                  "(did you mean https://example.org?)\n")


@pytest.mark.parametrize("given", ["index.html", "public/site.css", "build", "report.json"])
def test_missing_file_names_get_no_url_suggestion(run, given: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # where nothing has these names
    assert run("scan", given).err == f"mixedcontent: {given}: no such file or directory\n"


def test_directory_without_pages_exit_2(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "readme.txt").write_text("hi")
    r = run("scan", str(tmp_path))
    assert r.code == 2 and "no HTML pages found" in r.err and r.out == ""


def test_bad_option_is_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--format", "yaml")
    assert r.code == 2 and r.err.startswith("mixedcontent: scan: argument --format: invalid choice: 'yaml'")
    assert r.err.count("\n") == 1
    # the program is named once, the command after it
    assert run("scan").err == "mixedcontent: scan: the following arguments are required: PATH\n"
    assert run("bogus").err.startswith("mixedcontent: argument COMMAND: invalid choice: 'bogus'")
    r = run("scan", EXAMPLE, "--base-url", "ftp://x.example/")
    assert (r.code, r.err) == (2, "mixedcontent: base-url must be an absolute http(s) URL, got 'ftp://x.example/'\n")


def test_json_is_byte_identical_across_runs_and_job_counts(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    a = run("scan", "fixtures/example-site", "--format", "json").out
    b = run("scan", "fixtures/example-site", "--format", "json", "--jobs", "2").out
    assert a == b
    assert ROOT not in a  # no absolute paths


def test_output_file(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.json"
    r = run("scan", EXAMPLE, "--format", "json", "--output", str(out))
    assert r.code == 1 and r.out == ""
    assert json.loads(out.read_text())["summary"]["findings"] == 26


def test_output_to_unwritable_place_is_one_line(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--output", "/nonexistent-dir/report.txt")
    assert r.code == 2 and r.err.count("\n") == 1 and "--output" in r.err


def test_base_url_changes_page_urls(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--format", "json", "--base-url", "https://blog.example/sub/")
    pages = {f["page"] for f in json.loads(r.out)["findings"]}
    assert "https://blog.example/sub/index.html" in pages


def test_http_base_url_without_assume_https_finds_nothing(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--base-url", "http://example.invalid/")
    assert r.code == 0 and r.out.startswith("0 findings")
    r = run("scan", EXAMPLE, "--base-url", "http://example.invalid/", "--assume-https", "--format", "json")
    assert json.loads(r.out)["summary"]["findings"] >= 26


def test_csp_header_upgrades_the_whole_site(run) -> None:  # type: ignore[no-untyped-def]
    r = run("scan", EXAMPLE, "--format", "json", "--csp-header", "default-src https:; upgrade-insecure-requests")
    codes = sorted(f["code"] for f in json.loads(r.out)["findings"])
    assert codes == ["MC105"]  # the base element is still reported; every request is upgraded


def test_rule_docs(run) -> None:  # type: ignore[no-untyped-def]
    from mixedcontent.rules import RULES

    listing = run("rule").out
    for code in RULES:
        assert code in listing
        doc = run("rule", code)
        assert doc.code == 0
        assert doc.out.startswith(f"# {code} {RULES[code].name}\n")
        for heading in ("## What it flags", "## What browsers do", "## Example", "## Fixed",
                        "## When it is not a problem", "## References"):
            assert heading in doc.out, (code, heading)
    assert run("rule", "MC999").code == 2


def test_rule_prefix_lists_its_family_as_select_takes_it(run) -> None:  # type: ignore[no-untyped-def]
    from mixedcontent.rules import RULES

    family = run("rule", "mc1")
    assert family.code == 0 and family.err == ""
    listed = [line.split()[0] for line in family.out.splitlines()]
    assert listed == [c for c in RULES if c.startswith("MC1")] and "MC101" in listed and "MC201" not in listed
    assert family.out.splitlines()[0] == run("rule").out.splitlines()[0]  # the same lines as the full list
    assert run("scan", EXAMPLE, "--select", "MC1").code in (0, 1)  # the prefix --select takes
    bad = run("rule", "XY1")
    assert (bad.code, bad.err) == (2, "mixedcontent: unknown rule code or prefix 'XY1' (run `mixedcontent rule` "
                                      "for the list)\n")


def test_text_output_escapes_control_characters(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "evil\x1b[31m.html").write_text('<img src="http://cdn.example/a\x1b]0;x\x07.png">')
    r = run("scan", str(tmp_path))
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "\\x1b" in r.out


def test_pre_commit_manifest_is_valid_and_hook_runs_on_files(run) -> None:  # type: ignore[no-untyped-def]
    manifest = os.path.join(ROOT, ".pre-commit-hooks.yaml")
    res = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", manifest],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    # what the hook's entry receives: the changed page files as arguments
    pages = [os.path.join(EXAMPLE, "index.html"), os.path.join(EXAMPLE, "about.html")]
    r = run("scan", *pages)
    assert r.code == 1 and "index.html:11:16: MC102" in r.out


# what a plain scan of files must not import (issue 19: start-up is paid by every pre-commit run): the
# network stack, archives, the browser pass, the fix stage, clusters, TLS scanning, worker pools
_NOT_FOR_A_SCAN_OF_FILES = (
    "aiohttp", "yarl", "asyncio", "ssl", "warcio", "rich", "dask", "distributed", "sslyze", "bs4", "markdown_it",
    "lxml", "protego", "multiprocessing", "concurrent.futures", "mixedcontent.fixer",
    "mixedcontent.sources.crawl", "mixedcontent.sources.warc", "mixedcontent.sources.browser",
    "mixedcontent.engine.dask", "mixedcontent.posture", "mixedcontent.tls",
    # the network layer, without --probe or a network flag; the fix stage's helpers
    "mixedcontent.net", "mixedcontent.probe", "socket", "ctypes", "difflib")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_scan_of_files_does_not_import_what_only_other_commands_need(tmp_path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """``python -m mixedcontent scan PAGE`` (a pre-commit run): none of the heavy libraries (aiohttp,
    Dask, sslyze, …) nor the modules of other commands are imported, and no worker process starts."""
    (tmp_path / "p.html").write_text('<style>.a{background:url(/a.png)}</style><img src="http://cdn.example/a.png">'
                                     '<link rel=stylesheet href=s.css>')
    (tmp_path / "s.css").write_text(".b{background:url(http://cdn.example/b.png)}")
    # (checked by an exit handler: the command line leaves with os._exit once its handlers have run)
    code = ("import atexit, runpy, sys\nsys.argv = ['mixedcontent', 'scan', sys.argv[1], '--format', sys.argv[2]]\n"
            "def check():\n"
            f"    loaded = [m for m in {_NOT_FOR_A_SCAN_OF_FILES!r} if m in sys.modules]\n"
            "    import multiprocessing as mp\n"  # only now: counting the children it started
            "    print(loaded, len(mp.active_children()), file=sys.stderr)\n"
            "atexit.register(check)\n"
            "runpy.run_module('mixedcontent', run_name='__main__', alter_sys=True)\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.html"), fmt], capture_output=True, text=True,
                       cwd=ROOT, check=False)
    assert r.returncode == 0, r.stderr  # two MC101 warnings: the page's image and the stylesheet's
    assert "http://cdn.example/a.png" in r.stdout and "http://cdn.example/b.png" in r.stdout
    assert r.stderr.strip().splitlines()[-1] == "[] 0"


def test_the_network_flags_probe_settings_checks_are_every_network_and_probe_option() -> None:
    """cli.probe_settings skips the network layer when none of _NETWORK_FLAGS is set (start-up, issue 19):
    a network or probe option missing from that list would go unchecked in a scan without --probe."""
    import argparse

    from mixedcontent import cli

    parser = argparse.ArgumentParser()
    cli.add_net_options(parser)
    cli.add_probe_options(parser)
    dests = {a.dest for a in parser._actions if a.dest != "help"}
    assert dests - {"probe"} == set(cli._NETWORK_FLAGS)
