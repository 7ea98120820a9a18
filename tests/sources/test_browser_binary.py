"""Which browser ``--render`` runs: Debian's headless shell when installed (a third of the CPU a page and
less memory than the full browser, sources/browser.py HEADLESS_SHELL), else ``chromium``; both give the
same verdicts for what a page's markup and scripts load, and differ in one request, the favicon, which
only the full browser fetches (docs/render.md)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from conftest import needs_chromium

from mixedcontent.errors import UsageError
from mixedcontent.sources.browser import HEADLESS_SHELL, RenderSettings, Verdict, find_chromium, render_paths
from mixedcontent.sources.files import collect

BASE = "https://example.invalid/"


def _bin(folder: Any, name: str) -> str:
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, 0o755)
    return path


def test_find_chromium_prefers_the_headless_shell(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    both, full, none = tmp_path / "both", tmp_path / "full", tmp_path / "none"
    for d in (both, full, none):
        d.mkdir()
    shell = _bin(both, HEADLESS_SHELL)
    _bin(both, "chromium")
    chromium = _bin(full, "chromium")
    monkeypatch.setenv("PATH", str(both))
    assert find_chromium(RenderSettings()) == shell
    assert find_chromium(RenderSettings(chromium=chromium)) == chromium  # the settings name one: that one
    monkeypatch.setenv("PATH", str(full))
    assert find_chromium(RenderSettings()) == chromium
    monkeypatch.setenv("PATH", str(none))
    with pytest.raises(UsageError) as e:
        find_chromium(RenderSettings())
    assert str(e.value) == (
        "--render needs Chromium: install the Debian package chromium-headless-shell "
        "(apt-get install chromium-headless-shell) or chromium"
    )


PAGES = {
    "mixed.html": """<!DOCTYPE html><html><head><title>mixed</title>
<script src="http://cdn.example/lib.js"></script></head><body>
<img src="http://cdn.example/photo.png" alt="">
<script>
new Image().src = 'http://img.example/object.png';
fetch('http://api.example/data.json').catch(function () {});
var s = document.createElement('script'); s.src = 'http://widgets.example/embed.js';
document.head.appendChild(s);
</script>
</body></html>
""",
    "icon.html": """<!DOCTYPE html><html><head><title>icon</title>
<link rel="icon" href="http://cdn.example/favicon.ico"></head><body>icon</body></html>
""",
}


def test_the_shell_and_the_full_browser_give_the_same_verdicts(tmp_path: Any) -> None:
    needs_chromium("chromium", HEADLESS_SHELL)
    for name, text in PAGES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    files, errors, _ = collect([str(tmp_path)], BASE)
    assert not errors
    runs = {}
    for binary in (HEADLESS_SHELL, "chromium"):
        run = render_paths(files, BASE, RenderSettings(timeout=20, jobs=2, chromium=shutil.which(binary)))
        assert [p.error for p in run.pages] == [None, None]
        runs[binary] = {p.file: {(v.url, v.verdict, v.resource_type) for v in p.verdicts} for p in run.pages}
    shell, full = runs[HEADLESS_SHELL], runs["chromium"]
    assert shell["mixed.html"] == full["mixed.html"] == {
        ("http://cdn.example/lib.js", Verdict.BLOCKED, "Script"),
        ("http://cdn.example/photo.png", Verdict.UPGRADED, "Image"),
        ("http://img.example/object.png", Verdict.UPGRADED, "Image"),
        ("http://api.example/data.json", Verdict.BLOCKED, "Resource"),
        ("http://widgets.example/embed.js", Verdict.BLOCKED, "Script"),
    }
    # the favicon: fetched (and blocked) by the full browser only; its static MC102 stands either way
    assert full["icon.html"] == {("http://cdn.example/favicon.ico", Verdict.BLOCKED, "Favicon")}
    assert shell["icon.html"] == set()
