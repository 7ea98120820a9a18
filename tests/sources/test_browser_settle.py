"""How the browser pass settles a page before its verdicts are read (sources/browser.py), with Debian's
real headless Chromium: content below the fold is requested whether the browser loads it lazily or a
script loads it when it scrolls into view."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from conftest import needs_chromium

from mixedcontent.sources.browser import RenderRun, RenderSettings, Verdict, render_paths
from mixedcontent.sources.files import collect

BASE = "https://example.invalid/"



TALL = '<div style="height:30000px">top</div>'

PAGES = {
    # native lazy loading, far below the fold: an image and an iframe
    "lazy.html": f"""<!DOCTYPE html><html><head><title>lazy</title></head><body>{TALL}
<img loading="lazy" src="http://img.example/lazy.png" alt="" width="10" height="10">
<iframe loading="lazy" src="http://frames.example/lazy"></iframe>
</body></html>
""",
    # a script loader on an IntersectionObserver with no margin, its element just below the first
    # viewport (a scroll two viewports at a time jumps over it) and one at the bottom
    "observer.html": """<!DOCTYPE html><html><head><title>observer</title></head><body style="margin:0">
<div style="height:1000px"></div><div id="near" style="height:100px"></div>
<div style="height:20000px"></div><div id="far" style="height:100px"></div>
<script>
new IntersectionObserver(function (entries) {
  entries.forEach(function (e) {
    if (e.isIntersecting) new Image().src = 'http://img.example/' + e.target.id + '.png';
  });
}).observe(document.getElementById('near'));
new IntersectionObserver(function (entries) {
  if (entries[0].isIntersecting) new Image().src = 'http://img.example/far.png';
}).observe(document.getElementById('far'));
</script>
</body></html>
""",
    # an infinite-scroll loader on a scroll listener: more content when the bottom comes into view
    "listener.html": f"""<!DOCTYPE html><html><head><title>listener</title></head><body>{TALL}
<script>
window.addEventListener('scroll', function () {{
  if (scrollY + innerHeight >= document.documentElement.scrollHeight - 50)
    fetch('http://api.example/more.json').catch(function () {{}});
}});
</script>
</body></html>
""",
}


@pytest.fixture(scope="module")
def rendered() -> Iterator[RenderRun]:
    needs_chromium()
    with tempfile.TemporaryDirectory(prefix="render-settle-") as root:
        for name, text in PAGES.items():
            with open(os.path.join(root, name), "w", encoding="utf-8") as f:
                f.write(text)
        files, errors, _ = collect([root], BASE)
        assert not errors
        run = render_paths(files, BASE, RenderSettings(timeout=30, jobs=3))
    assert [p.error for p in run.pages] == [None] * len(PAGES)
    yield run


def verdicts(run: RenderRun, name: str) -> dict[str, tuple[Verdict, str]]:
    page = next(p for p in run.pages if p.file == name)
    return {v.url: (v.verdict, v.resource_type) for v in page.verdicts}


def test_lazy_images_and_iframes_far_below_the_fold_are_requested(rendered: RenderRun) -> None:
    assert verdicts(rendered, "lazy.html") == {
        "http://img.example/lazy.png": (Verdict.UPGRADED, "Image"),
        "http://frames.example/lazy": (Verdict.BLOCKED, "Frame"),
    }


def test_intersection_observer_loaders_see_every_element_come_into_view(rendered: RenderRun) -> None:
    assert verdicts(rendered, "observer.html") == {
        "http://img.example/near.png": (Verdict.UPGRADED, "Image"),
        "http://img.example/far.png": (Verdict.UPGRADED, "Image"),
    }


def test_scroll_listeners_see_the_page_scrolled_to_the_bottom(rendered: RenderRun) -> None:
    assert verdicts(rendered, "listener.html") == {
        "http://api.example/more.json": (Verdict.BLOCKED, "Resource")
    }
