"""The test sessions CI runs (`python3 -m pip install nox && python3 -m nox -- python -m pytest`, the README's command).

The suite runs twice, each time in a fresh venv with `.[test]` installed:

* on the oldest Python the package supports, as Debian ships it: `/usr/bin/python3` (3.11.2 on
  Debian 12, whose `re` engine has bugs later 3.11 releases fixed, which the extractor once tripped
  over), which needs Debian's `python3-venv`;
* on the newest CPython on the machine (a `python3.N` of pyenv's or on the PATH).

A Python that is not there fails the run (`error_on_missing_interpreters`): a session is never skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"  # the machine's own interpreters only

DEBIAN_PYTHON = "/usr/bin/python3"
OLDEST = (3, 11)  # pyproject.toml requires-python


def _version(exe: str) -> tuple[int, ...] | None:
    """The (major, minor, micro) of a final CPython release at ``exe``, or None."""
    try:
        out = subprocess.run([exe, "-c", "import sys; v = sys.version_info; print(v[0], v[1], v[2], v[3])"],
                             capture_output=True, text=True, timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(x) for x in out[:3]) if len(out) == 4 and out[3] == "final" else None


def newest_python() -> str:
    """The newest CPython here: pyenv's versions (whose shims only run the selected one) and every
    python3.N on the PATH."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")))
    for minor in range(OLDEST[1], 30):
        exe = shutil.which(f"python3.{minor}")
        if exe:
            candidates.append(exe)
    versions = {exe: v for exe in candidates if (v := _version(exe)) is not None and v[:2] >= OLDEST}
    return max(versions, key=lambda exe: versions[exe]) if versions else "python3"


@nox.session
@nox.parametrize("python", [DEBIAN_PYTHON, newest_python()], ids=["oldest-debian", "newest"])
def tests(session: nox.Session) -> None:
    """The command after `--` in each session's venv (the README's: `python -m pytest`, the whole suite;
    e.g. `python3 -m nox -- python -m pytest tests/extract -x`); without one, `python -m pytest`."""
    session.run("python", "-c", "import sys; print('Python', sys.version)")
    session.install("-e", ".[test]")
    session.run(*(session.posargs or ["python", "-m", "pytest"]))
