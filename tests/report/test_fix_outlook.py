"""docs/fix.md#what-scan-says: a directory scan's summary says how many findings `mixedcontent fix` would fix
and with which flags, and the counts are what `fix` then does (checked by running it); `summary.fixable` in
JSON carries the same counts; crawls and web archives say nothing (fix rewrites files)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from conftest import EXAMPLE, Run
from servers import make_ca, serve

CA = make_ca()
SITE_LINE = ("23 of 26 findings can be fixed by `mixedcontent fix {site}` if the https probe it runs proves "
             "their twins work (or with --unsafe); 2 more with --forms --unsafe; 1 only by hand\n")


def _fixed(run: Callable[..., Run], site: str, *flags: str) -> int:
    """How many live findings `fix` rewrites (every finding it does not list as left alone)."""
    r = run("fix", site, "--no-config", "--dry-run", "--format", "json", *flags)
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["errors"] == []
    return 26 - len(report["unfixed"])


def test_the_text_summary_says_what_fix_would_fix(run: Callable[..., Run]) -> None:
    r = run("scan", EXAMPLE, "--no-config")
    assert r.out.splitlines(keepends=True)[-1] == SITE_LINE.format(site=EXAMPLE)
    # and fix does exactly that: nothing without a proof, 23 with --unsafe, 25 with --forms too
    assert _fixed(run, EXAMPLE, "--no-probe") == 0
    assert _fixed(run, EXAMPLE, "--unsafe") == 23
    assert _fixed(run, EXAMPLE, "--unsafe", "--forms") == 25


def test_the_json_summary_gains_only_a_fixable_field(run: Callable[..., Run]) -> None:
    summary = json.loads(run("scan", EXAMPLE, "--no-config", "--format", "json").out)["summary"]
    assert list(summary) == ["documents", "pages", "stylesheets", "findings", "by_code", "by_category",
                             "by_severity", "errors", "suppressed", "fixable"]
    assert summary["fixable"] == {"proven": 0, "probe": 23, "unsafe": 0, "forms": 2, "manual": 1}


def test_markdown_and_html_summaries_say_it_too(run: Callable[..., Run]) -> None:
    md = run("scan", EXAMPLE, "--no-config", "--format", "markdown").out
    assert SITE_LINE.format(site=EXAMPLE).rstrip("\n") + "." in md.splitlines()
    html = run("scan", EXAMPLE, "--no-config", "--format", "html").out
    assert (f"23 of 26 findings can be fixed by <code>mixedcontent fix {EXAMPLE}</code> if the https probe it "
            "runs proves their twins work (or with --unsafe); 2 more with --forms --unsafe; 1 only by hand.") in html


def test_after_a_probe_the_summary_counts_proven_fixes(run: Callable[..., Run], tmp_path: Path) -> None:
    """A twin that works is fixed by plain `fix`; one that does not is left to a person (MC301)."""
    hits: Counter[str] = Counter()

    async def handle(request: web.Request) -> web.Response:
        hits[request.path] += 1
        if request.path.startswith("/ok/"):
            return web.Response(body=b"img", content_type="image/png")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    site = tmp_path / "site"
    site.mkdir()
    with serve(app, ca=CA, hostnames=["cdn.example"]) as srv:
        assert srv.ca_file is not None
        cdn = f"http://cdn.example:{srv.port}"
        (site / "a.html").write_text(f'<img src="{cdn}/ok/a.png"><img src="{cdn}/gone/b.png">'
                                     '<form action="http://forms.example/x"></form>')
        net = (*srv.resolve("cdn.example"), "--cacert", srv.ca_file, "--no-config")
        r = run("scan", str(site), "--probe", *net)
        assert r.out.splitlines()[-1] == (f"1 of 3 findings can be fixed by `mixedcontent fix {site}`; "
                                          "1 more with --forms --unsafe; 1 only by hand")
        r = run("scan", str(site), "--probe", *net, "--format", "json")
        assert json.loads(r.out)["summary"]["fixable"] == {"proven": 1, "probe": 0, "unsafe": 0, "forms": 1,
                                                           "manual": 1}
        r = run("fix", str(site), *net)
    assert r.code == 0, r.err
    assert (site / "a.html").read_text() == (f'<img src="{cdn.replace("http:", "https:")}/ok/a.png">'
                                             f'<img src="{cdn}/gone/b.png"><form action="http://forms.example/x">'
                                             '</form>')


def test_no_fix_line_without_findings_or_for_a_web_archive(run: Callable[..., Run], tmp_path: Path) -> None:
    from warcs import http_response, write_warc

    (tmp_path / "clean.html").write_text('<img src="https://cdn.example/a.png">')
    r = run("scan", str(tmp_path / "clean.html"), "--no-config")
    assert r.out == "0 findings in 1 page, 0 stylesheets\n"
    assert json.loads(run("scan", str(tmp_path / "clean.html"), "--no-config", "--format", "json").out)[
        "summary"]["fixable"] == {"proven": 0, "probe": 0, "unsafe": 0, "forms": 0, "manual": 0}
    warc = str(tmp_path / "site.warc.gz")
    write_warc(warc, lambda w: [http_response(w, "https://site.example/", b'<img src="http://cdn.example/a.png">')])
    r = run("scan", warc, "--no-config")
    assert r.code == 0 and len(r.out.splitlines()) == 2 and "mixedcontent fix" not in r.out
    assert "fixable" not in json.loads(run("scan", warc, "--no-config", "--format", "json").out)["summary"]
