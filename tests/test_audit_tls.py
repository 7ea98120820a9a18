"""`mixedcontent audit` TLS checks (SPEC §11.5, MC510–MC515) against real servers from Debian on
loopback: one nginx and one HAProxy process, each serving every posture on its own port (so each has
its own protocols and certificate), with certificates made at test time (a root, an intermediate and
leaves from trustme; the weak RSA-1024/SHA-1 leaf with ``cryptography``). Host names reach loopback
through --resolve only; the root is trusted through --cacert.

Debian 12's OpenSSL 3.0 offers TLS 1.0 and 1.1 only at security level 0 (``@SECLEVEL=0`` in the
cipher string) and with the protocols named explicitly; it cannot offer SSL 3.0 at all (built
without it), so SSL 3.0 is judged by the pure tests only. SSLyze's bundled OpenSSL (nassl) still
speaks TLS 1.0/1.1 as a client, which is what finds them.

Every posture is audited once per server, all at the same time (module-scoped), and the tests read
the reports."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from realservers import (
    LeafFiles,
    Pki,
    TlsSite,
    TlsSites,
    haproxy_tls_sites,
    issue,
    issue_weak,
    make_pki,
    nginx_tls_sites,
)

from mixedcontent.cli import main
from mixedcontent.tls import Leaf, Profile, TlsScan, hostname_matches, judge_tls
from mixedcontent.tlsconfig import COMBINED, FULLCHAIN, PRIVKEY, snippet

DOMAIN = "tls.example"  # postures are hosts under it: never the registrable domain, so no preload rules
HSTS = 'add_header Strict-Transport-Security "max-age=63072000" always;'
LEGACY_NGINX = "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\nssl_ciphers DEFAULT:@SECLEVEL=0;"
LEGACY_HAPROXY = "ssl-min-ver TLSv1.0 ssl-max-ver TLSv1.2 ciphers DEFAULT:@SECLEVEL=0"


def host(posture: str) -> str:
    return f"{posture}.{DOMAIN}"


@dataclass(frozen=True)
class Leaves:
    good: LeafFiles
    expiring: LeafFiles
    expired: LeafFiles
    wronghost: LeafFiles
    nochain: LeafFiles
    weak: LeafFiles


def make_leaves(pki: Pki, names: list[str]) -> Leaves:
    """Leaves for every posture host: ``names`` are the host names the good certificate covers."""
    return Leaves(
        good=issue(pki, "good", *names, days_left=60),
        expiring=issue(pki, "expiring", host("expiring"), days_left=10),
        expired=issue(pki, "expired", host("expired"), days_left=-2),
        wronghost=issue(pki, "wronghost", "other.example", days_left=60),
        nochain=issue(pki, "nochain", host("nochain"), days_left=60, chain=False),
        weak=issue_weak(pki, "weak", host("weak")),
    )


def nginx_profile(leaf: LeafFiles, profile: str = "intermediate") -> str:
    """The nginx configuration `audit` prints for the profile, with this leaf's files."""
    return snippet("nginx", profile).replace(FULLCHAIN, leaf.cert).replace(PRIVKEY, leaf.key)


def nginx_cert(leaf: LeafFiles) -> str:
    return f"ssl_certificate {leaf.cert};\nssl_certificate_key {leaf.key};"


def nginx_sites(leaves: Leaves) -> list[TlsSite]:
    good = nginx_profile(leaves.good)
    return [
        TlsSite("good", good, http2=True),
        TlsSite("legacy", f"{nginx_cert(leaves.good)}\n{LEGACY_NGINX}\n{HSTS}"),
        TlsSite("expiring", nginx_profile(leaves.expiring), http2=True),
        TlsSite("expired", nginx_profile(leaves.expired), http2=True),
        TlsSite("wronghost", nginx_profile(leaves.wronghost), http2=True),
        TlsSite("nochain", nginx_profile(leaves.nochain), http2=True),
        TlsSite("noh2", good),
        TlsSite("weak", f"{nginx_cert(leaves.weak)}\nssl_ciphers DEFAULT:@SECLEVEL=0;\n{HSTS}", http2=True),
    ]


def haproxy_profile() -> tuple[str, str]:
    """The configuration `audit` prints for HAProxy: the options of its bind line (after ``crt FILE``)
    and its other lines (the HSTS header)."""
    lines = [line for line in snippet("haproxy").splitlines() if not line.startswith("#")]
    [bind] = [line for line in lines if line.startswith("bind ")]
    return bind.split(f"crt {COMBINED} ", 1)[1], "\n".join(line for line in lines if line != bind)


def haproxy_sites(leaves: Leaves) -> list[TlsSite]:
    good, rest = haproxy_profile()
    assert "Strict-Transport-Security" in rest
    no_h2 = good.replace("alpn h2,http/1.1 ", "")
    return [
        TlsSite("good", good, leaves.good, frontend=rest),
        TlsSite("legacy", f"alpn h2,http/1.1 {LEGACY_HAPROXY}", leaves.good),
        TlsSite("expiring", good, leaves.expiring),
        TlsSite("expired", good, leaves.expired),
        TlsSite("wronghost", good, leaves.wronghost),
        TlsSite("nochain", good, leaves.nochain),
        TlsSite("noh2", no_h2, leaves.good),
        TlsSite("weak", "alpn h2,http/1.1", leaves.weak),
    ]


def audit_args(sites: TlsSites, posture: str, ca_file: str, name: str | None = None) -> list[str]:
    name = name or host(posture)
    port = sites.ports[posture]
    return [
        f"https://{name}:{port}/",
        "--http-port",
        str(sites.http_port),
        "--resolve",
        f"{name}:{port}:127.0.0.1",
        "--resolve",
        f"{name}:{sites.http_port}:127.0.0.1",
        "--cacert",
        ca_file,
        "--retries",
        "0",
        "--format",
        "json",
    ]


def run_audit(args: list[str]) -> tuple[int, dict[str, object], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["audit", *args], out, err)
    return code, json.loads(out.getvalue()) if out.getvalue() else {}, err.getvalue()


@dataclass(frozen=True)
class Audited:
    server: str
    reports: dict[str, tuple[int, dict[str, object], str]]
    leaves: Leaves
    sites: TlsSites
    ca_file: str

    def findings(self, posture: str, code: str | None = None) -> list[dict[str, object]]:
        found = self.reports[posture][1]["findings"]
        assert isinstance(found, list)
        return [f for f in found if code is None or f["code"] == code]

    def codes(self, posture: str) -> list[str]:
        return sorted({str(f["code"]) for f in self.findings(posture)})


SERVERS = {
    "nginx": (nginx_tls_sites, nginx_sites),
    # HAProxy loads the RSA-1024/SHA-1 leaf only under an OpenSSL configuration at security level 0
    "haproxy": (functools.partial(haproxy_tls_sites, seclevel0=True), haproxy_sites),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def audited(request: pytest.FixtureRequest) -> Iterator[Audited]:
    start, make_sites = SERVERS[request.param]
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(d)
        leaves = make_leaves(pki, [host("good"), host("legacy"), host("noh2")])
        sites = make_sites(leaves)
        names = {host(s.name): s.name for s in sites}
        with start(sites, names) as running:
            with ThreadPoolExecutor(len(sites)) as pool:
                reports = dict(
                    zip(
                        [s.name for s in sites],
                        pool.map(lambda s: run_audit(audit_args(running, s.name, pki.ca_file)), sites),
                        strict=True,
                    )
                )
            yield Audited(request.param, reports, leaves, running, pki.ca_file)


def test_mozilla_intermediate_configuration_passes_clean(audited: Audited) -> None:
    code, report, err = audited.reports["good"]
    assert report["findings"] == [], err
    assert report["errors"] == []
    assert code == 0


def test_tls_10_and_11_are_mc510_naming_both(audited: Audited) -> None:
    [finding] = audited.findings("legacy", "MC510")
    assert finding["severity"] == "error"
    assert "TLS 1.0, TLS 1.1" in str(finding["message"])
    assert audited.reports["legacy"][0] == 1


def test_no_tls13_is_mc511(audited: Audited) -> None:
    [finding] = audited.findings("legacy", "MC511")
    assert finding["severity"] == "warning"
    assert audited.findings("good", "MC511") == []


def test_legacy_protocols_are_a_named_profile_deviation(audited: Audited) -> None:
    parts = {f["attribute"] for f in audited.findings("legacy", "MC514")}
    assert "protocols" in parts
    [protocols] = [f for f in audited.findings("legacy", "MC514") if f["attribute"] == "protocols"]
    assert "TLSv1, TLSv1.1" in str(protocols["message"])
    assert "expected only TLSv1.2, TLSv1.3" in str(protocols["message"])


def test_certificate_expiring_in_10_days_is_mc513_with_its_date(audited: Audited) -> None:
    [finding] = audited.findings("expiring", "MC513")
    assert finding["severity"] == "warning"
    assert audited.leaves.expiring.not_after in str(finding["message"])
    assert audited.codes("expiring") == ["MC513"]


def test_expired_certificate_is_mc512_expired(audited: Audited) -> None:
    kinds = [f["attribute"] for f in audited.findings("expired", "MC512")]
    assert kinds == ["expired"]
    assert audited.findings("expired", "MC513") == []


def test_wrong_hostname_is_mc512_hostname_mismatch(audited: Audited) -> None:
    [finding] = audited.findings("wronghost", "MC512")
    assert finding["attribute"] == "hostname-mismatch"
    assert "other.example" in str(finding["message"])


def test_missing_intermediate_is_mc512_incomplete_chain(audited: Audited) -> None:
    [finding] = audited.findings("nochain", "MC512")
    assert finding["attribute"] == "incomplete-chain"


def test_no_http2_is_mc515_info(audited: Audited) -> None:
    [finding] = audited.findings("noh2", "MC515")
    assert finding["severity"] == "info"
    assert audited.codes("noh2") == ["MC515"]
    assert audited.reports["noh2"][0] == 0


def test_weak_rsa_key_and_sha1_signature_are_mc512(audited: Audited) -> None:
    kinds = sorted(str(f["attribute"]) for f in audited.findings("weak", "MC512"))
    assert kinds == ["sha1-signature", "weak-key"]


def test_no_tls_check_skips_the_tls_findings(audited: Audited) -> None:
    assert audited.codes("legacy")[:2] == ["MC510", "MC511"]
    code, report, _ = run_audit([*audit_args(audited.sites, "legacy", audited.ca_file), "--no-tls-check"])
    assert report["findings"] == []
    assert code == 0


def test_text_report_ends_with_the_server_configuration(audited: Audited) -> None:
    args = [a for a in audit_args(audited.sites, "legacy", audited.ca_file) if a not in ("--format", "json")]
    out, err = io.StringIO(), io.StringIO()
    assert main(["audit", *args, "--server-config", "nginx"], out, err) == 1
    text = out.getvalue()
    assert "Server TLS configuration (Mozilla intermediate" in text
    assert "    ssl_protocols TLSv1.2 TLSv1.3;\n" in text
    assert "HAProxy" not in text


def test_modern_profile_names_tls12_as_a_deviation_of_the_intermediate_server(audited: Audited) -> None:
    _, report, _ = run_audit([*audit_args(audited.sites, "good", audited.ca_file), "--tls-profile", "modern"])
    found = [f for f in report["findings"] if f["code"] == "MC514"]  # type: ignore[union-attr]
    messages = " ".join(str(f["message"]) for f in found)
    assert {f["attribute"] for f in found} >= {"protocols", "cipher suites"}
    assert "TLSv1.2" in messages and "expected only TLSv1.3" in messages


# --- judging, pure --------------------------------------------------------------------------------

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def leaf(**changes: object) -> Leaf:
    values: dict[str, object] = {
        "subject": "CN=a.example",
        "issuer": "CN=Intermediate",
        "not_before": NOW - dt.timedelta(days=30),
        "not_after": NOW + dt.timedelta(days=60),
        "names": ("a.example",),
        "addresses": (),
        "key_type": "ecdsa",
        "key_bits": 256,
        "signature_hash": "sha256",
        "issuer_sent": True,
        "self_signed": False,
    }
    values.update(changes)
    return Leaf(**values)  # type: ignore[arg-type]


def scan(**changes: object) -> TlsScan:
    values: dict[str, object] = {
        "host": "a.example",
        "port": 443,
        "address": "192.0.2.1",
        "versions": ("TLSv1.2", "TLSv1.3"),
        "leaf": leaf(),
        "alpn": "h2",
    }
    values.update(changes)
    return TlsScan(**values)  # type: ignore[arg-type]


def codes_of(s: TlsScan) -> list[tuple[str, str | None]]:
    return [(i.code, i.attribute) for i in judge_tls(s, NOW)]


def test_a_clean_scan_has_no_issue() -> None:
    assert codes_of(scan()) == []


def test_ssl3_is_mc510() -> None:
    [issue_] = [
        i for i in judge_tls(scan(versions=("SSLv3", "TLSv1.2", "TLSv1.3")), NOW) if i.code == "MC510"
    ]
    assert "SSL 3.0" in issue_.message


def test_expiry_exactly_30_days_ahead_is_not_mc513_but_29_days_is() -> None:
    assert codes_of(scan(leaf=leaf(not_after=NOW + dt.timedelta(days=30)))) == []
    assert codes_of(scan(leaf=leaf(not_after=NOW + dt.timedelta(days=29)))) == [("MC513", "expiry")]


def test_not_yet_valid_is_mc512() -> None:
    assert codes_of(scan(leaf=leaf(not_before=NOW + dt.timedelta(days=1)))) == [("MC512", "not-yet-valid")]


def test_untrusted_self_signed_is_untrusted_not_incomplete() -> None:
    s = scan(
        leaf=leaf(issuer="CN=a.example", self_signed=True, issuer_sent=False),
        trust_code=18,
        trust_error="self-signed certificate",
    )
    assert codes_of(s) == [("MC512", "untrusted")]


def test_rsa_2048_is_not_weak() -> None:
    assert codes_of(scan(leaf=leaf(key_type="rsa", key_bits=2048))) == []


def test_no_alpn_is_mc515() -> None:
    assert codes_of(scan(alpn=None)) == [("MC515", "alpn")]


def test_profile_deviations_are_one_finding_each() -> None:
    s = scan(
        deviations=(("cipher suites", "cipher suites: x"), ("key exchange groups", "key exchange groups: y")),
        profile=Profile.MODERN,
    )
    issues = judge_tls(s, NOW)
    assert [(i.code, i.attribute) for i in issues] == [
        ("MC514", "cipher suites"),
        ("MC514", "key exchange groups"),
    ]
    assert "Mozilla's modern configuration" in issues[0].message


@pytest.mark.parametrize(
    ("names", "host_", "matches"),
    [
        (("*.a.example",), "www.a.example", True),
        (("*.a.example",), "a.example", False),
        (("*.a.example",), "x.www.a.example", False),
        (("*.example",), "a.example", False),  # no wildcard over a single label left
        (
            ("A.Example",),
            "a.example",
            False,
        ),  # names are stored lower case by the scan; an upper one never matches
        (("a.example",), "A.EXAMPLE.", True),
    ],
)
def test_hostname_matching_follows_rfc_6125(names: tuple[str, ...], host_: str, matches: bool) -> None:
    assert hostname_matches(leaf(names=names), host_) is matches


def test_ip_host_matches_only_ip_address_entries() -> None:
    assert hostname_matches(leaf(names=("192.0.2.7",), addresses=()), "192.0.2.7") is False
    assert hostname_matches(leaf(names=(), addresses=("192.0.2.7",)), "192.0.2.7") is True


def test_csp_text_ends_with_the_tls_configuration_of_the_chosen_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_text('<img src="http://cdn.example/a.png">', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["csp", str(tmp_path), "--tls-profile", "modern"], out, err) == 0
    assert "Server TLS configuration (Mozilla modern" in out.getvalue()
    assert "    ssl_protocols TLSv1.3;\n" in out.getvalue()
    out = io.StringIO()
    assert main(["csp", str(tmp_path), "--tls-profile", "none"], out, err) == 0
    assert "Server TLS configuration" not in out.getvalue()


def test_csp_json_carries_the_tls_configuration_as_added_fields(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "index.html").write_text('<img src="http://cdn.example/a.png">', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["csp", str(tmp_path), "--format", "json", "--tls-profile", "modern"], out, err) == 0
    config = json.loads(out.getvalue())["server_config"]
    assert config["profile"] == "modern" and config["guidelines"] == "5.7"
    assert sorted(config["servers"]) == ["apache", "caddy", "haproxy", "nginx"]
    assert config["servers"]["nginx"] == {"title": "nginx", "text": snippet("nginx", "modern")}
    out = io.StringIO()
    assert main(["csp", str(tmp_path), "--format", "json", "--tls-profile", "none"], out, err) == 0
    assert "server_config" not in json.loads(out.getvalue())


def test_audit_json_carries_the_configuration_that_fixes_its_findings(audited: Audited) -> None:
    _, legacy, _ = audited.reports["legacy"]
    config = legacy["server_config"]
    assert isinstance(config, dict) and config["profile"] == "intermediate"
    assert {name: s["text"] for name, s in config["servers"].items()} == {
        name: snippet(name, "intermediate") for name in ("nginx", "apache", "caddy", "haproxy")
    }
    assert "server_config" not in audited.reports["good"][1]  # nothing to fix: the contract's fields only
    code, report, _ = run_audit([*audit_args(audited.sites, "legacy", audited.ca_file), "--server-config", "caddy"])
    assert list(report["server_config"]["servers"]) == ["caddy"]  # type: ignore[index]


# --- address safety (SPEC §8, as net.py applies it) -----------------------------------------------


def test_pick_address_follows_resolve_and_refuses_non_public_addresses() -> None:
    from mixedcontent.net import NetSettings
    from mixedcontent.tls import pick_address

    pinned = NetSettings(resolve=(("a.example", 8443, "127.0.0.1"),))
    assert pick_address("A.example", 8443, pinned) == ("127.0.0.1", None)
    # the entry is for port 8443 only: port 443 goes to the resolver (/etc/hosts), loopback is refused
    other_port = NetSettings(resolve=(("localhost", 8443, "127.0.0.1"),))
    assert pick_address("localhost", 443, other_port)[0] is None
    assert pick_address("127.0.0.1", 443, NetSettings())[0] is None
    assert pick_address("192.0.2.7", 443, NetSettings())[1] == (
        "blocked-address: 192.0.2.7 is a non-public address (use --allow-private to allow it)")
    assert pick_address("127.0.0.1", 443, NetSettings(allow_private=True)) == ("127.0.0.1", None)
    address, why = pick_address("localhost", 443, NetSettings())  # /etc/hosts: loopback, refused
    assert address is None and why is not None and why.startswith("blocked-address: localhost resolves to")


def test_tls_scan_of_a_refused_address_never_connects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code, _report, err = run_audit([f"https://127.0.0.1:{port}/", "--http-port", str(port), "--retries", "0"])
        try:
            listener.accept()
            connected = True
        except BlockingIOError:
            connected = False
    assert not connected
    assert code == 2 and "blocked-address" in err


def test_every_tls_report_matches_the_json_schema(audited: Audited) -> None:
    import os

    import jsonschema
    from conftest import ROOT

    with open(os.path.join(ROOT, "mixedcontent", "report", "schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    for _, report, _ in audited.reports.values():
        jsonschema.validate(report, schema)
