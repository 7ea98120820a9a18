"""``merge_runtime`` on its own: the browser's verdicts (as the browser pass records them) against the
static findings of real scans. No browser here; tests/sources/test_browser.py drives the real one."""

from __future__ import annotations

from pathlib import Path

from mixedcontent.judge.runtime import merge_runtime
from mixedcontent.model import Category, InitiatorLocation, ScanResult, Severity
from mixedcontent.scan import scan_files as scan_paths
from mixedcontent.settings import ScanSettings
from mixedcontent.sources.browser import RenderedPage, RuntimeVerdict, Verdict

BASE = "https://example.invalid/"
SETTINGS = ScanSettings(base_url=BASE, jobs=1)


def scan(tmp_path: Path, pages: dict[str, str]) -> ScanResult:
    for name, text in pages.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return scan_paths([str(tmp_path)], SETTINGS, show_suppressed=True)


def rendered(name: str, *verdicts: RuntimeVerdict) -> RenderedPage:
    return RenderedPage(BASE + name, name, BASE + name, verdicts)


def v(
    url: str,
    verdict: Verdict,
    kind: str = "Image",
    frame: str = BASE + "a.html",
    at: InitiatorLocation | None = None,
) -> RuntimeVerdict:
    return RuntimeVerdict(url, verdict, kind, frame, at, by_script=at is not None)


def test_a_verdict_of_another_kind_for_a_static_url_is_a_runtime_finding(tmp_path: Path) -> None:
    """<img src=http://x> is upgraded; a fetch('http://x') of the same URL is blocked: that is news."""
    static = scan(tmp_path, {"a.html": '<img src="http://cdn.example/x.png">'})
    merged = merge_runtime(
        static,
        [
            rendered(
                "a.html",
                v("http://cdn.example/x.png", Verdict.UPGRADED),
                v("http://cdn.example/x.png", Verdict.BLOCKED, "Resource"),
            )
        ],
        SETTINGS,
    )
    codes = sorted((f.code, f.category, f.confirmed_by) for f in merged.findings)
    assert codes == [("MC101", Category.UPGRADABLE, "chromium"), ("MC402", Category.BLOCKABLE, None)]


def test_warned_verdicts_follow_spec(tmp_path: Path) -> None:
    static = scan(tmp_path, {"a.html": '<form action="http://forms.example/post"></form>'})
    merged = merge_runtime(
        static,
        [
            rendered(
                "a.html",
                v("http://forms.example/post", Verdict.WARNED, "Form"),  # the static MC201: confirmed
                v(
                    "http://forms.example/built", Verdict.WARNED, "Form"
                ),  # a form built by script: insecure-form
                v(
                    "http://[2001:db8::5]/i.png", Verdict.WARNED
                ),  # IPv6 literal loaded over http: MC104's category
                v(
                    "http://localhost:8080/i.png", Verdict.WARNED
                ),  # potentially trustworthy (docs/judging.md): nothing
            )
        ],
        SETTINGS,
    )
    got = {(f.code, f.url): (f.category, f.severity, f.confirmed_by) for f in merged.findings}
    assert got == {
        ("MC201", "http://forms.example/post"): (Category.INSECURE_FORM, Severity.ERROR, "chromium"),
        ("MC402", "http://forms.example/built"): (Category.INSECURE_FORM, Severity.ERROR, None),
        ("MC402", "http://[2001:db8::5]/i.png"): (Category.BLOCKABLE, Severity.ERROR, None),
    }


def test_a_stylesheet_reference_accounts_for_its_request(tmp_path: Path) -> None:
    static = scan(
        tmp_path,
        {
            "a.html": '<link rel="stylesheet" href="/s.css"><p class="x">x</p>',
            "s.css": ".x { background: url(http://img.example/bg.png) }",
        },
    )
    merged = merge_runtime(
        static, [rendered("a.html", v("http://img.example/bg.png", Verdict.UPGRADED))], SETTINGS
    )
    assert [(f.code, f.file, f.confirmed_by) for f in merged.findings] == [("MC101", "s.css", "chromium")]


def test_a_frame_that_is_a_page_of_the_run_is_judged_on_its_own(tmp_path: Path) -> None:
    static = scan(tmp_path, {"a.html": '<iframe src="/b.html"></iframe>', "b.html": "<script>x()</script>"})
    in_frame = v("http://api.example/d.json", Verdict.BLOCKED, "Resource", frame=BASE + "b.html")
    merged = merge_runtime(static, [rendered("a.html", in_frame), rendered("b.html", in_frame)], SETTINGS)
    assert [(f.code, f.file) for f in merged.findings] == [("MC402", "b.html")]


def test_one_finding_per_url_and_verdict_located_by_the_initiator(tmp_path: Path) -> None:
    static = scan(tmp_path, {"a.html": "<script>\nload()</script>"})
    at = InitiatorLocation(BASE + "a.html", 2, 1, offset=9)
    twice = [
        v("http://img.example/i.png", Verdict.UPGRADED),  # the preload scanner's twin names no initiator
        v("http://img.example/i.png", Verdict.UPGRADED, at=at),
    ]
    merged = merge_runtime(static, [rendered("a.html", *twice)], SETTINGS)
    [f] = merged.findings
    assert (f.code, f.line, f.column, f.offset, f.initiator_location) == ("MC402", 2, 1, 9, at)
    assert "made by the script at a.html:2:1" in f.message


def test_an_external_script_initiator_locates_nothing_in_the_page(tmp_path: Path) -> None:
    static = scan(tmp_path, {"a.html": '<script src="/app.js"></script>'})
    at = InitiatorLocation(BASE + "app.js", 10, 5)
    merged = merge_runtime(
        static,
        [rendered("a.html", v("http://api.example/x", Verdict.BLOCKED, "XMLHttpRequest", at=at))],
        SETTINGS,
    )
    [f] = merged.findings
    assert (f.line, f.offset, f.initiator_location) == (None, None, at)
    assert f"made by the script at {BASE}app.js:10:5" in f.message


def test_per_path_ignores_suppress_runtime_findings(tmp_path: Path) -> None:
    static = scan(tmp_path, {"a.html": "<p>x</p>"})
    settings = ScanSettings(base_url=BASE, per_path_ignores=(("a.html", ("MC4",)),))
    page = rendered("a.html", v("http://api.example/x", Verdict.BLOCKED, "Resource"))
    assert merge_runtime(static, [page], settings).findings == ()
    shown = merge_runtime(static, [page], settings, show_suppressed=True)
    assert [(f.code, f.suppressed_by) for f in shown.findings] == [("MC402", "per-path-ignores")]
    assert shown.suppressed == 1


def test_an_excluded_url_gives_no_runtime_finding(tmp_path: Path) -> None:
    """docs/configuration.md#excluding-urls: --exclude-url covers the browser's verdicts too."""
    static = scan(tmp_path, {"a.html": "<p>scripts load things</p>"})
    pages = [rendered("a.html", v("http://legacy.example/x.js", Verdict.BLOCKED, "Script"),
                      v("http://cdn.example/y.png", Verdict.BLOCKED, "Resource"))]
    assert sorted(f.url or "" for f in merge_runtime(static, pages, SETTINGS).findings) == [
        "http://cdn.example/y.png", "http://legacy.example/x.js"]
    excluding = ScanSettings(base_url=BASE, exclude_urls=("^http://legacy\\.example/",))
    merged = merge_runtime(static, pages, excluding)
    assert [f.url for f in merged.findings] == ["http://cdn.example/y.png"] and merged.suppressed == 0
