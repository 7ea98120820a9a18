"""``scan x.warc --render``: the archived pages replayed to the real Chromium from the tool's loopback
servers (captures as served: status, headers, payload; every other host to the sink), the browser's
verdicts merged with the static findings and named by archive and record."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from conftest import needs_chromium
from warcs import http_response, write_warc

from mixedcontent.cli import main

HOME = b"""<!DOCTYPE html><title>home</title>
<img src="http://cdn.example/logo.png" alt="logo">
<script src="/app.js"></script>
<script>
fetch('http://api.example/home.json').catch(function () {});
</script>
"""
# an archived script (replayed from the archive): the request it builds is located in it
APP = b"try { new WebSocket('ws://live.example/socket'); } catch (e) {}\n"
# upgrade-insecure-requests in the archived response header: the browser upgrades, nothing is mixed
UPGRADED = b"""<!DOCTYPE html><title>upgraded</title>
<script>fetch('http://api.example/upgraded.json').catch(function () {});</script>
"""
# captured without a Content-Type: sniffed as HTML by the static pass, and by the replay for the browser
BARE = b"""<!DOCTYPE html><title>bare</title>
<script>fetch('http://api.example/bare.json').catch(function () {});</script>
"""
HANG = b"<!DOCTYPE html><title>hang</title><script>while (true) {}</script>\n"
# an http page is no secure context: its http requests are not mixed content
PLAIN = b"""<!DOCTYPE html><title>plain</title>
<script>fetch('http://api.example/plain.json').catch(function () {});</script>
"""



@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[int], dict[str, Any], str]:
    needs_chromium()
    path = str(tmp_path_factory.mktemp("warc-render") / "site.warc.gz")
    html = [("Content-Type", "text/html; charset=utf-8")]
    offsets = write_warc(path, lambda w: [
        http_response(w, "https://site.example/", HOME, html),
        http_response(w, "https://site.example/app.js", APP, [("Content-Type", "text/javascript")]),
        http_response(w, "https://site.example/upgraded.html", UPGRADED,
                      [*html, ("Content-Security-Policy", "upgrade-insecure-requests")]),
        http_response(w, "http://old.example/", PLAIN, html),
        http_response(w, "https://site.example/bare", BARE, []),
        http_response(w, "https://site.example/hang", HANG, html),
    ])
    out, err = io.StringIO(), io.StringIO()
    code = main(["scan", path, "--render", "--render-timeout", "10", "--format", "json", "--no-config"],
                stdout=out, stderr=err)
    assert code == 1, err.getvalue()
    return path, offsets, json.loads(out.getvalue()), err.getvalue()


def test_archived_pages_are_replayed_and_their_verdicts_merged(
    archived: tuple[str, list[int], dict[str, Any], str],
) -> None:
    path, offsets, doc, err = archived
    # a page that hangs is an error of its archive, at its URL; the others are rendered
    assert doc["errors"] == [{"file": path, "url": "https://site.example/hang",
                              "message": "--render: did not load within 10 s"}]
    assert "rendered 4 pages in Chromium (1 could not be rendered)" in err
    by = {(f["code"], f["page"], f["url"]): f for f in doc["findings"]}
    home = "https://site.example/"
    assert by[("MC101", home, "http://cdn.example/logo.png")]["confirmed_by"] == "chromium"
    fetch = by[("MC402", home, "http://api.example/home.json")]
    # named by the archive and the page's record, as the static findings of the page are
    assert (fetch["file"], fetch["record"]) == (path, {"offset": offsets[0], "target_uri": home})
    assert (fetch["category"], fetch["initiator_location"]["line"]) == ("blockable", 5)
    socket = by[("MC402", home, "ws://live.example/socket")]
    assert socket["initiator_location"]["url"] == "https://site.example/app.js"  # replayed from the archive
    assert by[("MC402", "https://site.example/bare", "http://api.example/bare.json")]["record"]["offset"] == offsets[4]


def test_archived_headers_are_replayed(archived: tuple[str, list[int], dict[str, Any], str]) -> None:
    """The captured Content-Security-Policy upgrades the page's requests in the browser too, and an http
    page has no mixed content: neither has an MC402."""
    _, _, doc, _ = archived
    pages = {f["page"] for f in doc["findings"] if f["code"] == "MC402"}
    assert pages == {"https://site.example/", "https://site.example/bare"}
    assert doc["summary"]["by_code"]["MC402"] == 3
