"""The browser pass (``--render``) with Debian's real headless Chromium (.ci/run installs it): pages of our
own where scripts build each kind of request, the browser's verdicts asserted, merged with the static
findings and located; and proof that a directory render sends nothing beyond loopback. One browser for
the whole module (one ``render_paths`` run over every page the site's files hold)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from conftest import needs_chromium

from mixedcontent.judge.runtime import merge_runtime
from mixedcontent.model import Category, Finding, ScanResult, Severity
from mixedcontent.scan import scan_files as scan_paths
from mixedcontent.settings import ScanSettings
from mixedcontent.sources.browser import RenderedPage, RenderRun, RenderSettings, Verdict, render_paths
from mixedcontent.sources.files import collect

BASE = "https://example.invalid/"



PAGES = {
    # a script element created by an inline loader (the comments-widget pattern)
    "script.html": """<!DOCTYPE html><html><head><title>script</title></head><body>
<script>
var s = document.createElement('script'); s.src = 'http://widgets.example/embed.js';
document.head.appendChild(s);
</script>
</body></html>
""",
    "fetch.html": """<!DOCTYPE html><html><head><title>fetch</title></head><body>
<script>
fetch('http://api.example/data.json').catch(function () {});
var x = new XMLHttpRequest(); x.open('GET', 'http://api.example/xhr.json'); try { x.send(); } catch (e) {}
</script>
</body></html>
""",
    "ws.html": """<!DOCTYPE html><html><head><title>ws</title></head><body>
<script>
try { new WebSocket('ws://live.example/socket'); } catch (e) {}
</script>
</body></html>
""",
    "style.html": """<!DOCTYPE html><html><head><title>style</title></head><body><div id=box>box</div>
<script>
var box = document.getElementById('box');
box.style.backgroundImage = 'url(' + ['http:', '', 'img.example', 'bg.png'].join('/') + ')';
</script>
</body></html>
""",
    # an image object, an IPv4-literal image (warned, then blocked: one verdict), a loopback image
    # (Chromium warns but loads it: never mixed), an https image (not mixed at all)
    "image.html": """<!DOCTYPE html><html><head><title>image</title></head><body>
<script>
new Image().src = 'http://img.example/object.png';
new Image().src = 'http://192.0.2.7/literal.png';
new Image().src = 'http://127.0.0.1/loopback.png';
new Image().src = 'https://cdn.example/secure.png';
</script>
</body></html>
""",
    "iframe.html": """<!DOCTYPE html><html><head><title>iframe</title></head><body>
<script>
var f = document.createElement('iframe'); f.src = 'http://maps.example/embed'; document.body.appendChild(f);
</script>
</body></html>
""",
    # static references: one the browser confirms (the preload scanner reports it twice), one it
    # blocks, and one it never requests (preload=none) which stays unconfirmed
    "static.html": """<!DOCTYPE html><html><head><title>static</title>
<script src="http://cdn.example/lib.js"></script></head><body>
<img src="http://cdn.example/photo.png" alt="">
<audio preload="none" src="http://media.example/talk.mp3"></audio>
</body></html>
""",
    # block-all-mixed-content is obsolete: the image is still upgraded, not blocked
    "bamc.html": """<!DOCTYPE html><html><head><title>bamc</title>
<meta http-equiv="Content-Security-Policy" content="block-all-mixed-content"></head><body>
<script>new Image().src = 'http://img.example/bamc.png';</script>
</body></html>
""",
}


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="render-site-") as root:
        for name, text in PAGES.items():
            with open(os.path.join(root, name), "w", encoding="utf-8") as f:
                f.write(text)
        yield root


@pytest.fixture(scope="module")
def rendered(site: str) -> RenderRun:
    needs_chromium()
    files, errors, _ = collect([site], BASE)
    assert not errors
    run = render_paths(files, BASE, RenderSettings(timeout=30, jobs=4))
    assert [p.error for p in run.pages] == [None] * len(PAGES)
    return run


@pytest.fixture(scope="module")
def merged(site: str, rendered: RenderRun) -> ScanResult:
    static = scan_paths([site], ScanSettings(base_url=BASE, jobs=1), show_suppressed=True)
    return merge_runtime(static, rendered.pages, ScanSettings(base_url=BASE))


def page(run: RenderRun, name: str) -> RenderedPage:
    return next(p for p in run.pages if p.file == name)


def verdicts(run: RenderRun, name: str) -> dict[str, tuple[Verdict, str]]:
    return {v.url: (v.verdict, v.resource_type) for v in page(run, name).verdicts}


def findings(result: ScanResult, name: str, code: str) -> dict[str, Finding]:
    return {f.url or "": f for f in result.findings if f.file == name and f.code == code}


def at(site: str, name: str, offset: int | None) -> bytes:
    assert offset is not None
    with open(os.path.join(site, name), "rb") as f:
        return f.read()[offset : offset + 20]


def test_script_element_built_by_script_is_blocked_and_located(
    site: str, rendered: RenderRun, merged: ScanResult
) -> None:
    assert verdicts(rendered, "script.html") == {
        "http://widgets.example/embed.js": (Verdict.BLOCKED, "Script")
    }
    f = findings(merged, "script.html", "MC402")["http://widgets.example/embed.js"]
    assert (f.category, f.severity, f.destination) == (Category.BLOCKABLE, Severity.ERROR, "script")
    assert f.initiator_location is not None and f.initiator_location.url == BASE + "script.html"
    assert (f.line, f.initiator_location.line) == (4, 4)
    assert at(site, "script.html", f.offset).startswith(b"appendChild(s)")  # the call that made the request
    assert f.offset == f.initiator_location.offset


def test_fetch_and_xhr_are_blocked_and_located(site: str, rendered: RenderRun, merged: ScanResult) -> None:
    assert verdicts(rendered, "fetch.html") == {
        "http://api.example/data.json": (Verdict.BLOCKED, "Resource"),
        "http://api.example/xhr.json": (Verdict.BLOCKED, "XMLHttpRequest"),
    }
    found = findings(merged, "fetch.html", "MC402")
    assert at(site, "fetch.html", found["http://api.example/data.json"].offset).startswith(b"fetch(")
    assert at(site, "fetch.html", found["http://api.example/xhr.json"].offset).startswith(b"send()")
    assert all(f.category is Category.BLOCKABLE for f in found.values())


def test_websocket_to_ws_is_blocked_and_located_from_the_console_stack(
    site: str, rendered: RenderRun, merged: ScanResult
) -> None:
    assert verdicts(rendered, "ws.html") == {"ws://live.example/socket": (Verdict.BLOCKED, "Resource")}
    f = findings(merged, "ws.html", "MC402")["ws://live.example/socket"]
    assert f.severity is Severity.ERROR and "WebSocket" in f.message
    assert at(site, "ws.html", f.offset).startswith(b"new WebSocket(")


def test_style_property_image_is_upgraded(site: str, rendered: RenderRun, merged: ScanResult) -> None:
    assert verdicts(rendered, "style.html") == {"http://img.example/bg.png": (Verdict.UPGRADED, "Image")}
    f = findings(merged, "style.html", "MC402")["http://img.example/bg.png"]
    assert (f.category, f.severity, f.destination) == (Category.UPGRADABLE, Severity.WARNING, "image")
    assert f.initiator_location is not None and f.initiator_location.url == BASE + "style.html"


def test_image_object_verdicts_ip_literal_and_loopback(rendered: RenderRun, merged: ScanResult) -> None:
    seen = verdicts(rendered, "image.html")
    assert seen["http://img.example/object.png"] == (Verdict.UPGRADED, "Image")
    # reported warned, then blocked, for one request: the strongest verdict is kept
    assert seen["http://192.0.2.7/literal.png"] == (Verdict.BLOCKED, "Image")
    assert seen["http://127.0.0.1/loopback.png"] == (Verdict.WARNED, "Image")  # Chromium's quirk
    assert "https://cdn.example/secure.png" not in seen
    found = findings(merged, "image.html", "MC402")
    assert set(found) == {
        "http://img.example/object.png",
        "http://192.0.2.7/literal.png",
    }  # loopback: docs/judging.md
    assert found["http://img.example/object.png"].category is Category.UPGRADABLE
    assert found["http://192.0.2.7/literal.png"].category is Category.BLOCKABLE


def test_iframe_built_by_script_is_blocked_and_located(
    site: str, rendered: RenderRun, merged: ScanResult
) -> None:
    assert verdicts(rendered, "iframe.html") == {"http://maps.example/embed": (Verdict.BLOCKED, "Frame")}
    f = findings(merged, "iframe.html", "MC402")["http://maps.example/embed"]
    assert f.destination == "iframe"
    assert at(site, "iframe.html", f.offset).startswith(b"appendChild(f)")


def test_static_findings_are_confirmed_or_left_alone(rendered: RenderRun, merged: ScanResult) -> None:
    requested = [v.url for v in page(rendered, "static.html").verdicts]
    assert requested.count("http://cdn.example/photo.png") == 2  # the preload scanner's double report
    assert not findings(merged, "static.html", "MC402")  # every verdict had a static source
    assert findings(merged, "static.html", "MC101")["http://cdn.example/photo.png"].confirmed_by == "chromium"
    assert findings(merged, "static.html", "MC102")["http://cdn.example/lib.js"].confirmed_by == "chromium"
    # never requested (preload=none): the static verdict stands, unconfirmed
    assert findings(merged, "static.html", "MC101")["http://media.example/talk.mp3"].confirmed_by is None


def test_block_all_mixed_content_is_ignored_by_the_browser(rendered: RenderRun, merged: ScanResult) -> None:
    assert verdicts(rendered, "bamc.html") == {"http://img.example/bamc.png": (Verdict.UPGRADED, "Image")}
    assert (
        findings(merged, "bamc.html", "MC402")["http://img.example/bamc.png"].category is Category.UPGRADABLE
    )


def test_a_directory_render_makes_no_request_beyond_loopback(rendered: RenderRun) -> None:
    """Every request the browser made went to the site server (the --base-url host) or to the sink:
    each one that left the browser for another host is in the sink's log (counted), and the sink holds
    every other host the pages asked for. Blocked requests never left the browser."""
    served = set(rendered.served)
    sink = {(r.host, r.target) for r in rendered.sink}
    external = 0
    for p in rendered.pages:
        blocked = {v.url for v in p.verdicts if v.verdict is Verdict.BLOCKED}
        for url in p.requests:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or url in blocked:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.hostname == "example.invalid":
                assert target in served, url
            else:
                assert (parts.netloc, target) in sink, url
                external += 1
    # object.png, bg.png, bamc.png and photo.png (each upgraded), secure.png, loopback.png
    assert external >= 6
    # nothing for the served host reached the sink; what else reached it is Chromium's own traffic
    assert all(r.host != "example.invalid" for r in rendered.sink)


def test_selection_and_baseline_apply_to_runtime_findings(
    site: str, rendered: RenderRun, merged: ScanResult
) -> None:
    static = scan_paths([site], ScanSettings(base_url=BASE, jobs=1), show_suppressed=True)
    only_static = merge_runtime(static, rendered.pages, ScanSettings(base_url=BASE, ignore=("MC402",)))
    assert not [f for f in only_static.findings if f.code == "MC402"]
    assert len(only_static.findings) == len(merged.findings) - sum(f.code == "MC402" for f in merged.findings)
    one = next(f for f in merged.findings if f.code == "MC402")
    base = merge_runtime(
        static, rendered.pages, ScanSettings(base_url=BASE, baseline=frozenset({one.fingerprint}))
    )
    assert one.fingerprint not in {f.fingerprint for f in base.findings}
    assert base.suppressed == merged.suppressed + 1
    # a static code that is not selected still accounts for its verdict: no MC402 in its place
    no_mc101 = merge_runtime(static, rendered.pages, ScanSettings(base_url=BASE, ignore=("MC101",)))
    assert "http://cdn.example/photo.png" not in {f.url for f in no_mc101.findings}


def test_fingerprints_of_runtime_findings_are_stable(rendered: RenderRun, merged: ScanResult) -> None:
    shuffled = [replace(p, verdicts=tuple(reversed(p.verdicts))) for p in reversed(rendered.pages)]
    again = merge_runtime(_static_of(merged), shuffled, ScanSettings(base_url=BASE))
    assert [f.fingerprint for f in again.findings] == [f.fingerprint for f in merged.findings]


def _static_of(result: ScanResult) -> ScanResult:
    """The static findings of a merged result, as the static scan made them (no MC402, unconfirmed)."""
    return replace(
        result,
        findings=tuple(replace(f, confirmed_by=None) for f in result.findings if f.code != "MC402"),
        errors=tuple(e for e in result.errors if not e.message.startswith("--render")),
    )


def test_csp_allowlist_counts_the_requests_scripts_build(merged: ScanResult) -> None:
    from mixedcontent import csp

    directives = dict(csp.report_only_directives(csp.upgrade_verdict(merged), "https://example.invalid"))
    assert "https://api.example" in directives["connect-src"]  # fetch() and XHR
    assert "wss://live.example" in directives["connect-src"]  # the WebSocket's twin
    assert "https://widgets.example" in directives["script-src"]
    assert "https://maps.example" in directives["frame-src"]
    assert "https://img.example" in directives["img-src"]
