"""`tls.sslyze_scan` (SSLyze's scan commands on the run's pool, cipher suites tried alone only within
groups the server accepts) gives what SSLyze's own ``Scanner`` gives, suite by suite, on real servers:
one nginx from Debian on loopback serving three postures that cover the groups' cases — TLS 1.0 to
1.2 with every suite OpenSSL has at security level 0 and an RSA-1024 certificate (static RSA, ECDHE,
CBC, CAMELLIA, ARIA … accepted, DSS and ECDSA rejected), Mozilla's intermediate configuration with
an ECDSA certificate, and TLS 1.3 only (modern: every TLS 1.2 group rejected by both of SSLyze's
clients). Compared: the accepted suites of each version with their ephemeral keys, the supported
curves, and Mozilla's compliance verdict for each profile."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from realservers import TlsSite, TlsSites, issue, issue_weak, make_pki, nginx_tls_sites
from test_audit_tls import nginx_cert, nginx_profile

from mixedcontent.net import NetSettings
from mixedcontent.tls import Profile, TlsPool, TlsSettings, _clean, sslyze_scan

POSTURES = ("legacy", "intermediate", "modern")
CIPHER_COMMANDS = (
    "ssl_2_0_cipher_suites",
    "ssl_3_0_cipher_suites",
    "tls_1_0_cipher_suites",
    "tls_1_1_cipher_suites",
    "tls_1_2_cipher_suites",
    "tls_1_3_cipher_suites",
)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[TlsSites, str]]:
    with tempfile.TemporaryDirectory() as d:
        pki = make_pki(d)
        good = issue(pki, "good", "intermediate.exact.example", "modern.exact.example")
        weak = issue_weak(pki, "weak", "legacy.exact.example")
        sites = [
            TlsSite("legacy", f"{nginx_cert(weak)}\nssl_protocols TLSv1 TLSv1.1 TLSv1.2;\nssl_ciphers ALL:@SECLEVEL=0;"),
            TlsSite("intermediate", nginx_profile(good)),
            TlsSite("modern", nginx_profile(good, "modern")),
        ]
        with nginx_tls_sites(sites, {f"{p}.exact.example": p for p in POSTURES}) as running:
            yield running, pki.ca_file


def facts(result: Any) -> dict[str, object]:
    """What the compliance check and the TLS findings read from a scan result."""
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    scan = result.scan_result
    out: dict[str, object] = {}
    for name in CIPHER_COMMANDS:
        attempt = getattr(scan, name)
        assert attempt.result is not None, (name, attempt.error_trace)
        out[name] = sorted(
            (
                a.cipher_suite.name,
                type(a.ephemeral_key).__name__,
                getattr(a.ephemeral_key, "size", None),
                getattr(a.ephemeral_key, "curve_name", None),
            )
            for a in attempt.result.accepted_cipher_suites
        )
    out["curves"] = sorted(c.name for c in scan.elliptic_curves.result.supported_curves or [])
    for profile in Profile:
        try:
            check_server_against_tls_configuration(
                result, MozillaTlsConfiguration.get(TlsConfigurationEnum(profile.value))
            )
            out[profile.value] = {}
        except ServerNotCompliantWithTlsConfiguration as e:
            out[profile.value] = {k: _clean(v) for k, v in e.issues.items()}
    return out


def sslyze_own(sites: TlsSites, ca_file: str) -> dict[str, dict[str, object]]:
    """Every posture through SSLyze's own Scanner, every suite tried alone."""
    from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.scanner.models import ScanCommandsExtraArguments, ServerScanRequest
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    requests = [
        ServerScanRequest(
            server_location=ServerNetworkLocation(f"{p}.exact.example", sites.ports[p], ip_address="127.0.0.1"),
            network_configuration=ServerNetworkConfiguration(tls_server_name_indication=f"{p}.exact.example"),
            scan_commands=set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER),
            scan_commands_extra_arguments=ScanCommandsExtraArguments(
                certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))
            ),
        )
        for p in POSTURES
    ]
    scanner = Scanner(concurrent_server_scans_limit=len(requests))
    scanner.queue_scans(requests)
    return {r.server_location.hostname.split(".")[0]: facts(r) for r in scanner.get_results()}


def test_grouped_scan_finds_exactly_what_sslyze_finds_suite_by_suite(servers: tuple[TlsSites, str]) -> None:
    sites, ca_file = servers
    expected = sslyze_own(sites, ca_file)
    settings = NetSettings(cacert=ca_file)
    with TlsPool(8) as pool:
        for posture in POSTURES:
            result = sslyze_scan(
                f"{posture}.exact.example", sites.ports[posture], "127.0.0.1", settings, TlsSettings(), pool
            )
            assert not isinstance(result, str), result
            assert facts(result) == expected[posture], posture
    # the postures cover what the groups must get right
    legacy, modern = expected["legacy"], expected["modern"]
    assert legacy["tls_1_0_cipher_suites"] and legacy["tls_1_2_cipher_suites"]
    assert any(name.startswith("TLS_RSA_WITH_") for name, *_ in legacy["tls_1_2_cipher_suites"])  # type: ignore[attr-defined]
    assert not modern["tls_1_2_cipher_suites"] and modern["tls_1_3_cipher_suites"]
    assert "tls_versions" in legacy["intermediate"]  # type: ignore[operator]
    assert "ciphers" in expected["intermediate"]["modern"]  # type: ignore[operator]
