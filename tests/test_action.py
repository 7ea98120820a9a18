"""The GitHub Action (action.yml): its `run:` steps run here as the Actions runner runs a composite
action's steps: `${{ inputs.* }}`, `${{ steps.*.outputs.* }}` and `${{ github.* }}` expanded in `env:`
and `if:`, each script in `bash --noprofile --norc -eo pipefail`, GITHUB_OUTPUT read back per step,
GITHUB_STEP_SUMMARY and GITHUB_ACTION_PATH (this repository) set. Only the `uses:` step (the SARIF
upload to code scanning) is not run; its `with:` is checked instead.

The install step really installs the package from GITHUB_ACTION_PATH into its own virtual
environment, offline (no index, no build isolation: setuptools comes from the test environment)."""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

ACTION = yaml.safe_load(Path(ROOT, "action.yml").read_text(encoding="utf-8"))
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

MIXED = ('<!DOCTYPE html><title>t</title>\n<script src="http://cdn.example/app.js"></script>\n'
         '<img src="http://img.example/a.png">\n')
FIXED = MIXED.replace("http://", "https://")


@dataclass
class Run:
    summary: str
    log: str
    outputs: dict[str, dict[str, str]]
    exit_code: int  # the action's: the first step that failed, else 0
    upload: dict[str, Any] | None = None  # the upload step's `with:` when its `if:` held
    steps_run: list[str] = field(default_factory=list)


def _lookup(name: str, ctx: dict[str, Any]) -> str:
    parts = name.split(".")
    if parts[0] == "inputs" and len(parts) == 2:
        return str(ctx["inputs"][parts[1]])
    if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
        return ctx["steps"].get(parts[1], {}).get(parts[3], "")
    if parts[0] == "github" and len(parts) == 2:
        return str(ctx["github"][parts[1]])
    raise AssertionError(f"expression this test does not know: {name}")


def _expand(text: str, ctx: dict[str, Any]) -> str:
    return _EXPR.sub(lambda m: _lookup(m.group(1), ctx), text)


def _condition(expr: str, ctx: dict[str, Any]) -> bool:
    """The `if:` subset action.yml uses: always(), `a == 'literal'`, joined by &&."""
    ok = True
    for term in expr.split("&&"):
        term = term.strip()
        if term == "always()":
            continue
        m = re.fullmatch(r"([\w.-]+)\s*==\s*'([^']*)'", term)
        assert m, f"condition this test does not know: {term}"
        ok = ok and _lookup(m.group(1), ctx) == m.group(2)
    return ok


def _read_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        name, value = line.split("=", 1)
        out[name] = value
        i += 1
    return out


def run_action(workdir: Path, runner_temp: Path, inputs: dict[str, str],
               installed: dict[str, str] | None = None) -> Run:
    """Run action.yml's steps in ``workdir``. ``installed``: the install step's outputs from an earlier
    run with the same runner_temp (that step is then not run again: it takes ~10 s)."""
    declared = ACTION["inputs"]
    assert set(inputs) <= set(declared), set(inputs) - set(declared)
    ctx: dict[str, Any] = {
        "inputs": {k: inputs.get(k, v.get("default", "")) for k, v in declared.items()},
        "steps": {},
        "github": {"action_path": ROOT, "workspace": str(workdir)},
    }
    summary = runner_temp / "step_summary.md"
    summary.write_text("")
    log: list[str] = []
    result = Run(summary="", log="", outputs=ctx["steps"], exit_code=0)
    for n, step in enumerate(ACTION["runs"]["steps"]):
        if installed is not None and step.get("id") == "install":
            ctx["steps"]["install"] = installed
            continue
        if result.exit_code != 0 and "always()" not in step.get("if", ""):
            continue  # the runner skips later steps once one failed (success() is the default)
        if "if" in step and not _condition(step["if"], ctx):
            continue
        if "uses" in step:
            assert step["uses"].startswith("github/codeql-action/upload-sarif@")
            result.upload = {k: _expand(str(v), ctx) for k, v in step["with"].items()}
            continue
        assert step["shell"] == "bash"
        assert "${{" not in step["run"], "inputs reach scripts through env only"
        output = runner_temp / f"output_{n}"
        output.write_text("")
        script = runner_temp / f"step_{n}.sh"
        script.write_text(step["run"])
        env = dict(os.environ)
        env.update({k: _expand(str(v), ctx) for k, v in step.get("env", {}).items()})
        env.update({"GITHUB_ACTION_PATH": ROOT, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
                    "GITHUB_WORKSPACE": str(workdir), "RUNNER_TEMP": str(runner_temp), "CI": "true",
                    "GITHUB_ACTIONS": "true",
                    # offline: the package's dependencies are in this environment already
                    "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        # the action's own install is what runs; its venv sees the dependencies of this test environment
        # (a venv made by a venv's Python inherits the base interpreter's site-packages, not the venv's)
        env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], check=False, cwd=workdir,
                              env=env, capture_output=True, text=True, timeout=300)
        log.append(proc.stdout + proc.stderr)
        result.steps_run.append(step.get("name", ""))
        if "id" in step:
            ctx["steps"][step["id"]] = _read_outputs(output)
        if proc.returncode != 0:
            result.exit_code = proc.returncode
    result.summary = summary.read_text(encoding="utf-8")
    result.log = "\n".join(log)
    return result


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path, Path]:
    """One full run, install included: a site with a blocked script and an upgraded image."""
    work = tmp_path_factory.mktemp("work")
    temp = tmp_path_factory.mktemp("runner_temp")
    (work / "public").mkdir()
    (work / "public" / "index.html").write_text(MIXED)
    # `python` is the test's own interpreter (>= 3.11), as setup-python would provide
    return run_action(work, temp, {"base-url": "https://site.example/", "python": sys.executable}), work, temp


def test_action_is_a_composite_action_with_the_documented_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"path", "base-url", "fail-on", "baseline", "args", "render"} <= set(ACTION["inputs"])
    assert {"exit-code", "findings", "sarif-file"} <= set(ACTION["outputs"])
    install = ACTION["runs"]["steps"][0]["run"]
    assert 'pip install' in install and '"$GITHUB_ACTION_PATH"' in install


def test_action_fails_on_errors_writes_sarif_and_a_summary(first: tuple[Run, Path, Path]) -> None:
    run, work, _ = first
    assert run.exit_code == 1, run.log
    assert run.steps_run == ["Install mixedcontent", "Scan", "Job summary", "Fail on findings"]
    sarif = json.loads((work / "mixedcontent.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["MC101", "MC102"]
    assert run.outputs["scan"]["findings"] == "2" and run.outputs["scan"]["exit-code"] == "1"
    assert run.upload == {"sarif_file": "mixedcontent.sarif", "category": "mixedcontent"}
    assert run.summary.startswith("## mixedcontent: 2 findings (1 error, 1 warning) in 1 page and 0 stylesheets\n")
    assert "| MC102 | blockable-request | blockable | error | 1 |" in run.summary
    assert "| `cdn.example` | 1 |" in run.summary
    assert "| `public/index.html:2:14` | MC102 blockable-request | error | `<script src>` | `http://cdn.example/app.js` |" \
        in run.summary
    assert "Findings at or above `error`: the step fails." in run.summary


def test_action_passes_once_the_site_is_fixed(first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    _, _, temp = first
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text(FIXED)
    run = run_action(tmp_path, temp, {"path": "site"}, installed=first[0].outputs["install"])
    assert run.exit_code == 0, run.log
    assert "No mixed content found." in run.summary
    assert json.loads((tmp_path / "mixedcontent.sarif").read_text())["runs"][0]["results"] == []


def test_fail_on_and_extra_args_reach_the_scan(first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    _, _, temp = first
    (tmp_path / "a b").mkdir()
    (tmp_path / "a b" / "index.html").write_text(MIXED)
    installed = first[0].outputs["install"]
    # only the upgraded image is left (MC102 ignored): a warning passes at fail-on error...
    inputs = {"path": "a b\n", "args": "--ignore 'MC102' --no-config", "sarif-file": "out/r.sarif"}
    (tmp_path / "out").mkdir()
    run = run_action(tmp_path, temp, inputs, installed=installed)
    assert run.exit_code == 0, run.log
    assert [r["ruleId"] for r in json.loads((tmp_path / "out" / "r.sarif").read_text())["runs"][0]["results"]] == ["MC101"]
    assert run.upload is not None and run.upload["sarif_file"] == "out/r.sarif"
    # ... and fails at fail-on warning
    run = run_action(tmp_path, temp, {**inputs, "fail-on": "warning", "upload-sarif": "false"}, installed=installed)
    assert run.exit_code == 1 and run.upload is None
    assert "Findings at or above `warning`: the step fails." in run.summary


def test_baseline_leaves_only_new_findings(first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    _, _, temp = first
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text(MIXED)
    subprocess.run([sys.executable, "-m", "mixedcontent", "scan", "public", "--write-baseline", "baseline.json"],
                   cwd=tmp_path, check=True, capture_output=True)
    run = run_action(tmp_path, temp, {"baseline": "baseline.json"}, installed=first[0].outputs["install"])
    assert run.exit_code == 0, run.log
    assert run.summary.startswith("## mixedcontent: 0 findings in 1 page and 0 stylesheets; 2 suppressed\n")
    (tmp_path / "public" / "new.html").write_text('<iframe src="http://new.example/"></iframe>')
    run = run_action(tmp_path, temp, {"baseline": "baseline.json"}, installed=first[0].outputs["install"])
    assert run.exit_code == 1
    assert "`public/new.html:1:14` | MC102" in run.summary


def test_a_scan_that_cannot_run_fails_the_step_and_says_why(first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    _, _, temp = first
    run = run_action(tmp_path, temp, {"path": "no-such-dir"}, installed=first[0].outputs["install"])
    assert run.exit_code == 2
    assert run.upload is None  # nothing to upload
    assert run.summary.startswith("## mixedcontent: the scan could not run\n")
    assert "no-such-dir" in run.summary
    assert "The scan exited with code 2: the step fails." in run.summary


def test_render_passes_the_browser_flag(first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    _, _, temp = first
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text(FIXED)
    run = run_action(tmp_path, temp, {"render": "true"}, installed=first[0].outputs["install"])
    assert re.search(r"^mixedcontent scan public --render --fail-on error --format sarif", run.log, re.MULTILINE), run.log
    run = run_action(tmp_path, temp, {"render": "false"}, installed=first[0].outputs["install"])
    assert "--render" not in run.log and run.exit_code == 0


# ---- the GitLab CI template ------------------------------------------------------------------------

GITLAB = yaml.safe_load(Path(ROOT, "ci", "gitlab", "mixedcontent.gitlab-ci.yml").read_text(encoding="utf-8"))


def run_gitlab_job(workdir: Path, venv_bin: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `.mixedcontent` job's script as a GitLab runner runs it: the entries joined into one bash
    script under `set -eo pipefail`, the job's variables (with overrides) in the environment. The
    job's image is stood in for by the virtual environment the action test installed this package
    into, first on PATH (so its install line finds the package already there, offline)."""
    job = GITLAB[".mixedcontent"]
    assert job["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())  # as for the action's steps
    env.update({k: str(v) for k, v in job["variables"].items()})
    env.update(variables)
    env.update({"PATH": venv_bin + os.pathsep + env["PATH"], "PIP_NO_INDEX": "1", "CI": "true"})
    script = "set -eo pipefail\n" + "\n".join(job["script"]) + "\n"
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], check=False, cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def test_gitlab_job_writes_a_code_quality_report_and_fails_on_errors(
        first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    venv_bin = os.path.dirname(first[0].outputs["install"]["bin"])
    (tmp_path / "public" / "blog").mkdir(parents=True)
    (tmp_path / "public" / "blog" / "post.html").write_text(MIXED)
    proc = run_gitlab_job(tmp_path, venv_bin, {"MIXEDCONTENT_BASE_URL": "https://site.example/"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    issues = json.loads((tmp_path / "gl-code-quality-report.json").read_text())
    assert [(i["check_name"], i["severity"], i["location"]) for i in issues] == [
        ("MC102", "major", {"path": "public/blog/post.html", "lines": {"begin": 2}}),
        ("MC101", "minor", {"path": "public/blog/post.html", "lines": {"begin": 3}}),
    ]
    assert all(len(i["fingerprint"]) >= 16 for i in issues)
    assert json.loads((tmp_path / "mixedcontent.json").read_text())["target"]["base_url"] == "https://site.example/"
    # fixed: the job passes and the report is empty
    (tmp_path / "public" / "blog" / "post.html").write_text(FIXED)
    proc = run_gitlab_job(tmp_path, venv_bin, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "gl-code-quality-report.json").read_text()) == []


def test_gitlab_job_fail_on_and_a_scan_that_cannot_run(first: tuple[Run, Path, Path], tmp_path: Path) -> None:
    venv_bin = os.path.dirname(first[0].outputs["install"]["bin"])
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text('<img src="http://img.example/a.png">')
    assert run_gitlab_job(tmp_path, venv_bin, {"MIXEDCONTENT_PATH": "site"}).returncode == 0
    assert run_gitlab_job(tmp_path, venv_bin, {"MIXEDCONTENT_PATH": "site", "MIXEDCONTENT_FAIL_ON": "warning"}
                          ).returncode == 1
    proc = run_gitlab_job(tmp_path, venv_bin, {"MIXEDCONTENT_PATH": "missing"})
    assert proc.returncode == 2 and "missing" in proc.stderr
    assert json.loads((tmp_path / "gl-code-quality-report.json").read_text()) == []
