"""The browser pass's memory is bounded by construction (sources/browser.py): the pages go through one
browser process at most RESTART_EVERY at a time, a fresh one for each batch, with no page lost or
judged twice; and a page that exhausts its tab's memory is an error entry while the pages after it get
their verdicts. Seconds each: small pages, small batches, a small V8 heap."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import needs_chromium

from mixedcontent.sources import browser as B
from mixedcontent.sources.files import collect

BASE = "https://example.invalid/"


def _page(i: int) -> str:
    return (
        f"<!DOCTYPE html><html><head><title>{i}</title></head><body>"
        f"<img src='http://img.example/{i}.png' alt=''></body></html>\n"
    )


def _site(tmp_path: Any, pages: dict[str, str]) -> Any:
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    files, errors, _ = collect([str(tmp_path)], BASE)
    assert not errors
    return files


def test_pages_go_through_a_fresh_browser_every_restart_every_pages(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_chromium()
    files = _site(tmp_path, {f"{i}.html": _page(i) for i in range(5)})
    monkeypatch.setattr(B, "RESTART_EVERY", 2)
    started: list[int] = []
    enter = B.Browser.__aenter__

    async def counted(self: B.Browser) -> B.Browser:
        browser = await enter(self)
        assert self._proc is not None
        started.append(self._proc.pid)
        return browser

    monkeypatch.setattr(B.Browser, "__aenter__", counted)
    run = B.render_paths(files, BASE, B.RenderSettings(timeout=20, jobs=2))
    assert len(set(started)) == 3  # 5 pages, 2 a browser: three browser processes, one after another
    assert [p.file for p in run.pages] == [f"{i}.html" for i in range(5)]  # each once, in order
    for i, p in enumerate(run.pages):
        assert p.error is None
        assert {(v.url, v.verdict) for v in p.verdicts} == {(f"http://img.example/{i}.png", B.Verdict.UPGRADED)}


OOM = """<!DOCTYPE html><html><head><title>oom</title></head><body><script>
const hoard = [];
for (;;) hoard.push(new Array(1 << 20).fill(1.5));
</script></body></html>
"""


def test_a_page_that_exhausts_its_tabs_memory_is_an_error_and_the_run_goes_on(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that grows arrays until V8's heap limit (made small here so it dies in a second) kills
    its renderer: that page is an error entry and the worker goes on in a fresh tab (one worker, so the
    pages after it go through the same one)."""
    needs_chromium()
    files = _site(tmp_path, {"a.html": _page(1), "b.html": OOM, "c.html": _page(3), "d.html": _page(4)})
    monkeypatch.setattr(B, "_FLAGS", (*B._FLAGS, "--js-flags=--max-old-space-size=24"))
    run = B.render_paths(files, BASE, B.RenderSettings(timeout=20, jobs=1))
    pages = {p.file: p for p in run.pages}
    assert pages["b.html"].error == "the tab crashed"
    for name, i in (("a.html", 1), ("c.html", 3), ("d.html", 4)):
        assert pages[name].error is None
        assert {(v.url, v.verdict) for v in pages[name].verdicts} == {
            (f"http://img.example/{i}.png", B.Verdict.UPGRADED)
        }
