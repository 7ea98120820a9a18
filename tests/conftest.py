from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable

import pytest

from mixedcontent.cli import main
from mixedcontent.extract import html

# the fast skip patterns from the first document on: a test process would otherwise read its first
# 128,000 code points the exhaustive way (html._FAST_AFTER), and the properties that compare the fast
# path with the exhaustive one would compare it with itself (tests/extract/test_html_lazy.py tests
# the lazy start)
html.prepare_bulk()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "fixtures", "example-site")


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def run() -> Callable[..., Run]:
    """Call the CLI in-process: run("scan", path, ...) -> Run(code, stdout, stderr)."""

    def _run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    return _run


def needs_chromium(*names: str) -> None:
    """The browser tests' guard: CI installs Debian's chromium and chromium-headless-shell (.ci/run), so
    a missing one fails there; elsewhere the test is skipped. With ``names``, each of those binaries is
    needed; else one that ``--render`` can use."""
    wanted = names or ("chromium-headless-shell", "chromium", "chromium-browser")
    found = [n for n in wanted if shutil.which(n) is not None]
    if (names and len(found) < len(names)) or not found:
        missing = ", ".join(n for n in wanted if n not in found)
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed: .ci/run must install Debian's chromium, chromium-headless-shell")
        pytest.skip(f"{missing} not installed (CI installs them)")
