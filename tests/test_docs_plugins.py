"""The MkDocs plugin and the Sphinx extension, each run for real (``mkdocs build --strict``,
``sphinx-build -W``) as a subprocess on a small project in a temporary directory: the build fails on
a page with mixed content at or above fail_on and passes once the page is fixed."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT

BLOCKED = '<script src="http://cdn.example/widget.js"></script>'
UPGRADED = '<img src="http://img.example/photo.png" alt="photo">'


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120, check=False)


# ---- MkDocs ------------------------------------------------------------------------------------------

def _mkdocs_plugin_installed() -> None:
    """`plugins: [mixedcontent]` is found through the installed package's entry point."""
    found = [ep for ep in metadata.entry_points(group="mkdocs.plugins") if ep.name == "mixedcontent"]
    if not found:
        message = "the mkdocs.plugins entry point is not installed: pip install -e '.[test]' again"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert found[0].value == "mixedcontent.mkdocs:MixedContentPlugin"


def mkdocs_project(tmp_path: Path, body: str, plugin: str = "  - mixedcontent\n") -> Path:
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "docs" / "index.md").write_text(f"# Home\n\nSome text.\n\n{body}\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Test\nsite_url: https://docs.example/guide/\ntheme:\n  name: mkdocs\nplugins:\n" + plugin)
    return tmp_path


def mkdocs_build(project: Path) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", "site"], project)


def test_pyproject_declares_the_plugin_and_extras() -> None:
    project = tomllib.loads(Path(ROOT, "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["mkdocs.plugins"]["mixedcontent"] == "mixedcontent.mkdocs:MixedContentPlugin"
    extras = project["optional-dependencies"]
    assert any(r.startswith("mkdocs") for r in extras["mkdocs"])
    assert any(r.startswith("sphinx") for r in extras["sphinx"])
    assert "mixedcontent[mkdocs,sphinx]" in extras["test"]
    assert not any(r.lower().startswith(("mkdocs", "sphinx")) for r in project["dependencies"])


def test_mkdocs_strict_build_fails_on_mixed_content_and_passes_when_fixed(tmp_path: Path) -> None:
    _mkdocs_plugin_installed()
    project = mkdocs_project(tmp_path, BLOCKED)
    res = mkdocs_build(project)
    assert res.returncode == 1, res.stderr
    assert "index.html" in res.stderr and "MC102" in res.stderr and "http://cdn.example/widget.js" in res.stderr
    assert "(built from docs/index.md)" in res.stderr
    assert "Aborted with 1 warnings in strict mode!" in res.stdout + res.stderr
    mkdocs_project(tmp_path, BLOCKED.replace("http://", "https://"))
    res = mkdocs_build(project)
    assert res.returncode == 0, res.stderr
    assert "0 findings" in res.stderr


def test_mkdocs_fail_on_decides_which_findings_are_warnings(tmp_path: Path) -> None:
    _mkdocs_plugin_installed()
    res = mkdocs_build(mkdocs_project(tmp_path, UPGRADED))  # MC101 is a warning: below the default fail_on
    assert res.returncode == 0, res.stderr
    assert "1 finding in" in res.stderr and "0 at or above error" in res.stderr
    res = mkdocs_build(mkdocs_project(tmp_path, UPGRADED, "  - mixedcontent:\n      fail_on: warning\n"))
    assert res.returncode == 1 and "MC101" in res.stderr


def test_mkdocs_plugin_honours_the_project_configuration(tmp_path: Path) -> None:
    _mkdocs_plugin_installed()
    project = mkdocs_project(tmp_path, BLOCKED + "\n" + UPGRADED)
    (project / "pyproject.toml").write_text('[tool.mixedcontent]\nignore = ["MC102"]\nfail-on = "warning"\n')
    res = mkdocs_build(project)
    assert res.returncode == 1 and "MC101" in res.stderr and "MC102" not in res.stderr, res.stderr
    # the plugin's own options win over the file
    res = mkdocs_build(mkdocs_project(tmp_path, BLOCKED + "\n" + UPGRADED,
                                      "  - mixedcontent:\n      fail_on: error\n"))
    assert res.returncode == 0, res.stderr
    # per-path ignores and the site URL as base: pages are judged at https://docs.example/guide/...
    (project / "pyproject.toml").write_text('[tool.mixedcontent.per-path-ignores]\n"index.html" = ["MC1"]\n')
    res = mkdocs_build(mkdocs_project(tmp_path, BLOCKED))
    assert res.returncode == 0, res.stderr


def test_mkdocs_baseline_option_leaves_only_new_findings(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    _mkdocs_plugin_installed()
    project = mkdocs_project(tmp_path, BLOCKED)
    assert mkdocs_build(project).returncode == 1
    res = run("scan", str(project / "site"), "--write-baseline", str(project / "known.json"), "--no-config")
    assert res.code == 0, res.err
    res = mkdocs_build(mkdocs_project(tmp_path, BLOCKED, "  - mixedcontent:\n      baseline: known.json\n"))
    assert res.returncode == 0, res.stderr
    assert "0 findings in" in res.stderr


def test_mkdocs_bad_configuration_is_a_one_line_plugin_error(tmp_path: Path) -> None:
    _mkdocs_plugin_installed()
    project = mkdocs_project(tmp_path, BLOCKED)
    (project / "mixedcontent.toml").write_text('selekt = ["MC1"]\n')
    res = mkdocs_build(project)
    assert res.returncode == 1
    assert "unknown key 'selekt'" in res.stderr and "Traceback" not in res.stderr


# ---- Sphinx ------------------------------------------------------------------------------------------

def sphinx_project(tmp_path: Path, body: str, conf: str = "") -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "conf.py").write_text('project = "Test"\nextensions = ["mixedcontent.sphinx"]\n'
                                 'html_baseurl = "https://docs.example/guide/"\n' + conf)
    (src / "index.rst").write_text(f"Home\n====\n\nSome text.\n\n.. raw:: html\n\n   {body}\n")
    return src


def sphinx_build(src: Path, builder: str = "html") -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "sphinx", "-W", "-E", "-q", "-b", builder, str(src),
                 str(src.parent / f"out-{builder}")], src.parent)


def test_sphinx_build_with_W_fails_on_mixed_content_and_passes_when_fixed(tmp_path: Path) -> None:
    src = sphinx_project(tmp_path, BLOCKED)
    res = sphinx_build(src)
    assert res.returncode == 1, res.stderr
    assert "index.html:" in res.stderr and "MC102" in res.stderr and "http://cdn.example/widget.js" in res.stderr
    assert "[mixedcontent.MC102]" in res.stderr  # the warning's type and subtype, for suppress_warnings
    assert "(built from src/index.rst)" in res.stderr
    sphinx_project(tmp_path, BLOCKED.replace("http://", "https://"))
    res = sphinx_build(src)
    assert res.returncode == 0, res.stderr


def test_sphinx_dirhtml_is_scanned_and_non_html_builders_are_not(tmp_path: Path) -> None:
    src = sphinx_project(tmp_path, BLOCKED)
    res = sphinx_build(src, "dirhtml")
    assert res.returncode == 1 and "(built from src/index.rst)" in res.stderr
    assert sphinx_build(src, "text").returncode == 0


def test_sphinx_config_values_and_suppress_warnings(tmp_path: Path) -> None:
    # MC101 is below the default fail_on (the same shared code as the MkDocs plugin, tested there)
    src = sphinx_project(tmp_path, UPGRADED, 'mixedcontent_fail_on = "warning"\n')
    res = sphinx_build(src)
    assert res.returncode == 1 and "MC101" in res.stderr
    src = sphinx_project(tmp_path, UPGRADED, 'mixedcontent_fail_on = "warning"\nsuppress_warnings = ["mixedcontent.MC101"]\n')
    assert sphinx_build(src).returncode == 0
    (tmp_path / "pyproject.toml").write_text('[tool.mixedcontent]\nignore = ["MC102"]\n')
    src = sphinx_project(tmp_path, BLOCKED)
    assert sphinx_build(src).returncode == 0  # the configuration file, found from conf.py upwards
