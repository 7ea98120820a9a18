"""The csp snippets proven by the real servers from Debian: each snippet, exactly as `mixedcontent csp`
prints it, is dropped into a minimal configuration (tests/realservers.py), checked by the server's own
configuration test, served on loopback over TLS, and the headers that arrive are compared with the
headers the suggestion names. The suggestion comes from a real scan whose https twins were probed
against an aiohttp server (so upgrade-insecure-requests is proven and enabled)."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from aiohttp import web
from realservers import Running, apache_server, caddy_server, haproxy_server, https_get, indent, nginx_server
from servers import serve

from mixedcontent.cli import main

# a report endpoint with characters that each config language treats specially (%, ?, &, =)
REPORT_URI = "https://reports.example/csp?site=a%2Fb&v=1"

SERVERS: dict[str, Callable[[str], AbstractContextManager[Running]]] = {
    "nginx": nginx_server, "apache": apache_server, "caddy": caddy_server, "haproxy": haproxy_server}
CHECK_SAYS = {"nginx": "test is successful", "apache": "Syntax OK", "caddy": "Valid configuration",
              "haproxy": "Configuration file is valid"}
ERROR_PATH = {"nginx": "/missing", "apache": "/missing", "caddy": "/missing", "haproxy": "/forbidden"}
ERROR_STATUS = {"nginx": 404, "apache": 404, "caddy": 404, "haproxy": 403}


def _suggest(*extra: str, html: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "index.html").write_text(html, encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        code = main(["csp", d, "--format", "json", "--report-uri", REPORT_URI, *extra], out, err)
        assert code == 0, err.getvalue()
        return json.loads(out.getvalue())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def proven() -> dict[str, object]:
    """A suggestion whose upgrade-insecure-requests is proven by --probe."""
    async def asset(request: web.Request) -> web.Response:
        return web.Response(body=b"x", content_type="image/png" if request.path.endswith(".png") else "text/css")

    app = web.Application()
    app.router.add_get("/{name}", asset)
    with serve(app, hostnames=["cdn.example"]) as cdn:
        html = (f'<img src="http://cdn.example:{cdn.port}/a.png">'
                f'<link rel="stylesheet" href="http://cdn.example:{cdn.port}/s.css">')
        d = _suggest("--probe", *cdn.resolve("cdn.example"), "--cacert", str(cdn.ca_file), html=html)
    assert d["upgrade_insecure_requests"]["readiness"] == "safe"  # type: ignore[index]
    return d


@pytest.fixture(scope="module")
def unproven() -> dict[str, object]:
    """A suggestion without --probe: upgrade-insecure-requests stays commented out."""
    d = _suggest(html='<img src="http://cdn.example/a.png">')
    assert d["upgrade_insecure_requests"]["readiness"] == "unknown"  # type: ignore[index]
    return d


def _snippet(d: dict[str, object], server: str) -> str:
    text = d["snippets"][server]["text"]  # type: ignore[index]
    return indent(text, "\t" if server == "caddy" else "    ")


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served(request: pytest.FixtureRequest, proven: dict[str, object]) -> Iterator[tuple[str, Running]]:
    name = request.param
    with SERVERS[name](_snippet(proven, name)) as running:
        yield name, running


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served_unproven(request: pytest.FixtureRequest, unproven: dict[str, object]) -> Iterator[tuple[str, Running]]:
    name = request.param
    with SERVERS[name](_snippet(unproven, name)) as running:
        yield name, running


def _enabled(d: dict[str, object]) -> dict[str, str]:
    return {h["name"]: h["value"] for h in d["headers"] if h["enabled"]}  # type: ignore[union-attr, index]


def test_server_config_check_accepts_the_snippet(served) -> None:
    name, running = served
    assert CHECK_SAYS[name] in running.check_output


def test_server_sends_every_suggested_header(served, proven) -> None:
    _, running = served
    reply = https_get(running.port, "/", running.certs.ca_file)
    assert reply.status == 200
    assert {h: reply.all(h) for h in _enabled(proven)} == {h: [v] for h, v in _enabled(proven).items()}


def test_server_sends_the_headers_with_error_responses(served, proven) -> None:
    name, running = served
    reply = https_get(running.port, ERROR_PATH[name], running.certs.ca_file)
    assert reply.status == ERROR_STATUS[name]
    assert {h: reply.all(h) for h in _enabled(proven)} == {h: [v] for h, v in _enabled(proven).items()}


def test_server_keeps_percent_signs_of_the_report_uri(served) -> None:
    _, running = served
    reply = https_get(running.port, "/", running.certs.ca_file)
    assert reply.all("Reporting-Endpoints") == [f'csp-endpoint="{REPORT_URI}"']


def test_server_sends_no_upgrade_header_when_unproven(served_unproven, unproven) -> None:
    _, running = served_unproven
    reply = https_get(running.port, "/", running.certs.ca_file)
    assert reply.all("Content-Security-Policy") == []
    assert reply.all("Content-Security-Policy-Report-Only") == [
        _enabled(unproven)["Content-Security-Policy-Report-Only"]]


def test_audit_passes_nginx_serving_the_snippet_behind_a_redirect(proven, run) -> None:
    with nginx_server(_snippet(proven, "nginx"), redirect_http=True) as running:
        resolve = [f"site.example:{running.http_port}:127.0.0.1", f"site.example:{running.port}:127.0.0.1",
                   f"www.site.example:{running.port}:127.0.0.1"]
        # the HSTS and redirect snippets are proven here; TLS configuration: tests/test_audit_tls*.py
        r = run("audit", f"http://site.example:{running.http_port}/", "--cacert", running.certs.ca_file,
                *[a for x in resolve for a in ("--resolve", x)], "--format", "json", "--no-tls-check")
    findings = json.loads(r.out)["findings"]
    assert (r.code, [f["code"] for f in findings]) == (0, [])
