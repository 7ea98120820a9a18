"""The server TLS configuration `audit` prints (mixedcontent/tlsconfig.py, Mozilla intermediate) for
Apache httpd and Caddy, proven on the real servers from Debian: each snippet, as printed, with only
its placeholder paths replaced, is dropped into a minimal configuration (tests/realservers.py),
checked by the server's own configuration test, served on loopback with a certificate made now, and
audited: no TLS or HSTS finding. (The nginx and HAProxy snippets are proven the same way by the
"good" posture of tests/test_audit_tls.py.)"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from realservers import Running, apache_server, caddy_server, free_port, indent, issue, make_pki

from mixedcontent.cli import main
from mixedcontent.tlsconfig import FULLCHAIN, PRIVKEY, snippet

TLS_AND_HSTS = ["--select", "MC51", "--select", "MC502", "--select", "MC503", "--select", "MC506"]
STAPLING_SPLIT = "# and once, outside any <VirtualHost>"


def apache(cert: str, key: str, directory: str) -> AbstractContextManager[Running]:
    text = snippet("apache").replace(FULLCHAIN, cert).replace(PRIVKEY, key)
    vhost, _, rest = text.partition(STAPLING_SPLIT)
    global_conf = rest.split("\n", 1)[1].replace("shmcb:logs/", f"shmcb:{directory}/")
    assert "SSLStaplingCache" in global_conf
    return apache_server(indent(vhost, "  "), own_tls=False, global_conf=global_conf, modules=("http2",))


def caddy(cert: str, key: str, directory: str) -> AbstractContextManager[Running]:
    text = snippet("caddy").replace(FULLCHAIN, cert).replace(PRIVKEY, key)
    return caddy_server(indent(text, "\t"), own_tls=False)


SERVERS: dict[str, Callable[[str, str, str], AbstractContextManager[Running]]] = {
    "apache": apache,
    "caddy": caddy,
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, Running, str]]:
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        pki = make_pki(d)
        leaf = issue(pki, "site", "site.example", "www.site.example", days_left=60)
        for path in (leaf.cert, leaf.key):
            os.chmod(path, 0o644)
        with SERVERS[request.param](leaf.cert, leaf.key, d) as running:
            yield request.param, running, pki.ca_file


def test_printed_configuration_passes_the_tls_and_hsts_checks(served: tuple[str, Running, str]) -> None:
    name, running, ca_file = served
    out, err = io.StringIO(), io.StringIO()
    closed = free_port()  # plain http is not part of this proof: a port where nothing listens
    code = main(
        [
            "audit",
            f"https://site.example:{running.port}/",
            "--resolve",
            f"site.example:{running.port}:127.0.0.1",
            "--http-port",
            str(closed),
            "--resolve",
            f"site.example:{closed}:127.0.0.1",
            "--cacert",
            ca_file,
            "--retries",
            "0",
            "--no-www-check",
            "--format",
            "json",
            *TLS_AND_HSTS,
        ],
        out,
        err,
    )
    report = json.loads(out.getvalue())
    assert report["findings"] == [], (name, err.getvalue())
    assert not any("TLS check" in e["message"] for e in report["errors"])
    assert code == 0
