"""TLS of an audited host (docs/audit.md#tls, MC510–MC515): the protocol versions it accepts, its certificate,
the deviations from Mozilla's recommended configuration, and HTTP/2 over ALPN.

Two steps, as the rest of the audit: ``scan_tls`` records facts about one host (blocking; the audit
runs it in a thread) and ``judge_tls`` turns them into ``model.Issue`` values (pure).

What is measured with what:
- versions, cipher suites, groups, the certificate chain as sent, and Mozilla's compliance check:
  SSLyze (its scan commands and ``check_server_against_tls_configuration``, with the Mozilla profile
  JSON it ships, guidelines version 5.7). SSLyze's bundled OpenSSL (nassl) still speaks SSL 3.0 to
  TLS 1.1, which a modern OpenSSL refuses, so legacy protocols are seen.
- trust: one handshake through the standard library's OpenSSL with the system store plus
  ``--cacert``, exactly as every other request of the tool (net.py); time checks are switched off
  there (``X509_V_FLAG_NO_CHECK_TIME``) so an expired certificate does not hide a broken chain, and
  dates and host names are judged here from the leaf. SSLyze's own path validation (cryptography's
  WebPKI verifier, against the trust stores SSLyze ships) is not used for MC512: it ignores
  ``--cacert``'s system-store semantics and disagrees with the rest of the audit.
- ALPN: the same handshake offers ``h2, http/1.1``.

Address safety (docs/probe.md): the address connected to is chosen by ``pick_address`` under the rules of
net.py: a ``--resolve`` entry for (host, port) wins and is allowed whatever it is; otherwise the
system resolver's answers are filtered by ``net.is_public_address`` unless ``--allow-private``.
SSLyze is handed that address (``ServerNetworkLocation.ip_address``), so it never resolves names.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .model import Issue
from .net import NetSettings, explain, is_public_address

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from sslyze.mozilla_tls_profile.tls_config_checker import TlsConfigurationAsJson

EXPIRING_DAYS = 30  # docs/rules/index.md: MC513: the leaf expires within 30 days
MIN_RSA_BITS = 2048  # docs/rules/index.md: MC512
DEFAULT_SCAN_TIMEOUT = 60.0  # seconds for one host's whole TLS scan
LEGACY = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")  # docs/audit.md#tls: must not be accepted (MC510)
VERSION_ORDER = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
SHOWN = {
    "SSLv2": "SSL 2.0",
    "SSLv3": "SSL 3.0",
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}
_NO_CHECK_TIME = 0x200000  # OpenSSL X509_V_FLAG_NO_CHECK_TIME (x509_vfy.h)
_ISSUER_MISSING = frozenset((2, 20))  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)
_TOO_WEAK = frozenset((66, 67, 68))  # X509_V_ERR_EE_KEY_TOO_SMALL, CA_KEY_TOO_SMALL, CA_MD_TOO_WEAK


class Profile(StrEnum):
    """Mozilla's recommended server configurations (Server Side TLS)."""

    MODERN = "modern"
    INTERMEDIATE = "intermediate"
    OLD = "old"


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """What the TLS check needs beyond the network settings."""

    profile: Profile = Profile.INTERMEDIATE
    timeout: float = DEFAULT_SCAN_TIMEOUT  # seconds for the whole scan of one host (the audit's bound)


@dataclass(frozen=True, slots=True)
class Leaf:
    """The facts about the leaf certificate (as sent) that the rules judge."""

    subject: str
    issuer: str
    not_before: datetime  # UTC
    not_after: datetime  # UTC
    names: tuple[str, ...]  # subjectAltName dNSName entries, lower case
    addresses: tuple[str, ...]  # subjectAltName iPAddress entries
    key_type: str  # "rsa", "ecdsa", "ed25519", ...
    key_bits: int | None
    signature_hash: str | None  # "sha256", "sha1", ... (None: none, e.g. ed25519)
    issuer_sent: bool  # the server sent a certificate whose subject is the leaf's issuer
    self_signed: bool


@dataclass(frozen=True, slots=True)
class TlsScan:
    """What was recorded about one host's TLS. ``error`` says why nothing (or not everything) could
    be recorded; the other fields then hold what was."""

    host: str
    port: int
    address: str | None = None
    versions: tuple[str, ...] = ()  # accepted, ascending (VERSION_ORDER names)
    leaf: Leaf | None = None
    trust_error: str | None = None  # OpenSSL's verify message when the chain is not trusted
    trust_code: int | None = None  # OpenSSL's X509_V_ERR_* code
    alpn: str | None = None  # the protocol the server picked from "h2, http/1.1" (None: no ALPN)
    deviations: tuple[tuple[str, str], ...] = ()  # (what, message) from Mozilla's check, sorted
    profile: Profile = Profile.INTERMEDIATE
    error: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}/" if self.port == 443 else f"https://{host}:{self.port}/"


# ---------------------------------------------------------------------------------------------------
# Address safety (docs/probe.md, the rules of net.py)
# ---------------------------------------------------------------------------------------------------


def pick_address(host: str, port: int, settings: NetSettings) -> tuple[str | None, str | None]:
    """(address, None) to connect to for host:port, or (None, why not). A --resolve entry for exactly
    (host, port) wins and is allowed whatever it is (the user pointed it there); an IP-literal host or
    the system resolver's answers must be public unless ``allow_private``."""
    low = host.lower().strip("[]")
    for h, p, a in settings.resolve:
        if h == low and p == port:
            return a, None
    try:
        literal = ipaddress.ip_address(low)
    except ValueError:
        literal = None
    if literal is not None:
        if settings.allow_private or is_public_address(str(literal)):
            return str(literal), None
        return None, f"blocked-address: {low} is a non-public address (use --allow-private to allow it)"
    try:
        infos = socket.getaddrinfo(low, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        return None, f"dns-failure: no address for {low} (not a DNS name)"
    except OSError as e:
        return None, ": ".join(explain(e, low, port, settings))
    addresses = [str(i[4][0]) for i in infos]
    good = addresses if settings.allow_private else [a for a in addresses if is_public_address(a)]
    if not good:
        return None, (
            f"blocked-address: {low} resolves to {addresses[0]}, a non-public address (use "
            f"--allow-private, or --resolve to point it somewhere on purpose)"
        )
    return good[0], None


# ---------------------------------------------------------------------------------------------------
# Recording (blocking)
# ---------------------------------------------------------------------------------------------------


def _leaf(cert: Certificate, chain: list[Certificate]) -> Leaf:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(n.lower() for n in san.get_values_for_type(x509.DNSName))
        addresses = tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names, addresses = (), ()
    key = cert.public_key()
    key_type, bits = type(key).__name__, None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "rsa", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits = "ecdsa", key.curve.key_size
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "dsa", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type = "ed25519"
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type = "ed448"
    algorithm = cert.signature_hash_algorithm
    return Leaf(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        names=names,
        addresses=addresses,
        key_type=key_type,
        key_bits=bits,
        signature_hash=None if algorithm is None else algorithm.name,
        issuer_sent=any(c.subject == cert.issuer for c in chain[1:]),
        self_signed=cert.subject == cert.issuer,
    )


@lru_cache(maxsize=8)
def _context(verify: bool, cacert: str | None) -> ssl.SSLContext:
    """The handshake's context, made once per run and CA file (loading the system store costs ~50 ms;
    a context is safe to share between threads)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # judged from the leaf (docs/rules/index.md: MC512 names the mismatch itself)
    if verify:
        if cacert:
            ctx.load_verify_locations(cafile=cacert)
        ctx.verify_flags |= _NO_CHECK_TIME  # dates are judged from the leaf, so a broken chain shows too
    else:
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def _handshake(
    host: str, port: int, address: str, settings: NetSettings, verify: bool
) -> tuple[bytes | None, str | None, tuple[int, str] | None, str | None]:
    """One TLS handshake to address:port with SNI ``host``, offering ALPN h2 and http/1.1. Returns
    (leaf DER, ALPN protocol, (verify code, message) when verification failed, other error)."""
    try:
        ctx = _context(verify, settings.cacert)
    except (OSError, ssl.SSLError) as e:
        return None, None, None, f"--cacert {settings.cacert}: {e}"
    try:
        ipaddress.ip_address(host.strip("[]"))
        sni = None  # RFC 6066 §3: no IP literals in SNI
    except ValueError:
        sni = host
    try:
        with (
            socket.create_connection((address, port), timeout=settings.connect_timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=sni) as tls,
        ):
            return tls.getpeercert(binary_form=True), tls.selected_alpn_protocol(), None, None
    except ssl.SSLCertVerificationError as e:
        return None, None, (int(e.verify_code), str(e.verify_message)), None
    except (OSError, ssl.SSLError) as e:
        return None, None, None, explain(e, host, port, settings, connecting=True)[1]


def _clean(message: str) -> str:
    """SSLyze's messages print Python sets (``{'a', 'b'}``), whose order changes from run to run:
    write them as sorted comma-separated lists so reports stay byte-identical."""

    def sort(m: re.Match[str]) -> str:
        items = sorted(x.strip().strip("'\"") for x in m.group(1).split(",") if x.strip())
        return ", ".join(items)

    return re.sub(r"\{([^{}]*)\}", sort, message)


# which part of the configuration each of SSLyze's compliance keys is about (docs/audit.md#tls names them)
_DEVIATION_PART = {
    "tls_versions": "protocols",
    "ciphers": "cipher suites",
    "ciphersuites": "cipher suites",
    "tls_curves": "key exchange groups",
    "ecdh_param_size": "key exchange groups",
    "dh_param_size": "key exchange groups",
    "certificate_types": "certificate",
    "certificate_curves": "certificate",
    "certificate_signatures": "certificate",
    "rsa_key_size": "certificate",
    "maximum_certificate_lifespan": "certificate",
}


def _expectation(key: str, config: TlsConfigurationAsJson) -> str:
    """What the profile asks for, for a compliance key (shown after the deviation)."""
    fields = {"tls_versions": "tls_versions", "ciphersuites": "ciphersuites", "tls_curves": "tls_curves"}
    if key in fields:
        values = getattr(config, fields[key])
        return "expected only " + ", ".join(sorted(values))
    if key == "ciphers":
        allowed = sorted(config.ciphers.iana)
        return "expected only " + (", ".join(allowed) if allowed else "TLS 1.3 (no TLS 1.2 cipher suites)")
    return ""


def _sslyze(
    host: str,
    port: int,
    address: str,
    settings: NetSettings,
    profile: Profile,
) -> tuple[tuple[str, ...], list[Certificate], tuple[tuple[str, str], ...], str | None]:
    """SSLyze's scan of one server and Mozilla's compliance check: (accepted versions, chain as sent,
    deviations, error)."""
    from cryptography.utils import CryptographyDeprecationWarning
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        ServerScanResultIncomplete,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    # SSLyze's documented API, imported from the modules that define it (its __init__ has no __all__)
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.scanner.models import ScanCommandsExtraArguments, ServerScanRequest, ServerScanStatusEnum
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    warnings.filterwarnings(
        "ignore", category=CryptographyDeprecationWarning
    )  # SSLyze's bundled trust stores
    extra = (
        ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(settings.cacert))
        )
        if settings.cacert
        else ScanCommandsExtraArguments()
    )
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(host.strip("[]"), port, ip_address=address),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=host.strip("[]"),
            network_timeout=max(1, round(settings.connect_timeout)),
            network_max_retries=1,
        ),
        scan_commands=set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER),
        scan_commands_extra_arguments=extra,
    )
    scanner = Scanner(per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=1)
    scanner.queue_scans([request])
    # consume the generator to its end: SSLyze joins and ends its threads only then (taking just the
    # first result left a producer thread blocked for ever, holding the scan: memory grew per host)
    [result] = list(scanner.get_results())
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        why = result.connectivity_error_trace
        text = " ".join(str(why).split())[:300] if why is not None else "no TLS connection could be made"
        return (), [], (), f"tls-error: {text}"
    scan = result.scan_result
    versions: list[str] = []
    for attr, name in (
        ("ssl_2_0_cipher_suites", "SSLv2"),
        ("ssl_3_0_cipher_suites", "SSLv3"),
        ("tls_1_0_cipher_suites", "TLSv1"),
        ("tls_1_1_cipher_suites", "TLSv1.1"),
        ("tls_1_2_cipher_suites", "TLSv1.2"),
        ("tls_1_3_cipher_suites", "TLSv1.3"),
    ):
        attempt = getattr(scan, attr)
        if attempt.result is not None and attempt.result.is_tls_version_supported:
            versions.append(name)
    chain: list[Certificate] = []
    info = scan.certificate_info.result
    if info is not None and info.certificate_deployments:
        chain = list(info.certificate_deployments[0].received_certificate_chain)
    config = MozillaTlsConfiguration.get(TlsConfigurationEnum(profile.value))
    deviations: list[tuple[str, str]] = []
    error = None
    try:
        check_server_against_tls_configuration(result, config)
    except ServerNotCompliantWithTlsConfiguration as e:
        for key, message in e.issues.items():
            if key == "certificate_path_validation":
                continue  # trust is MC512's, judged with OpenSSL as every other request (module docstring)
            part = _DEVIATION_PART.get(key, "vulnerability" if key.startswith("tls_vulnerability") else key)
            expected = _expectation(key, config)
            deviations.append(
                (part, f"{part}: {_clean(message).rstrip('.')}" + (f" ({expected})" if expected else ""))
            )
    except ServerScanResultIncomplete as e:
        error = f"tls-error: Mozilla's compliance check could not run: {e}"
    return tuple(versions), chain, tuple(sorted(deviations)), error


def scan_tls(host: str, port: int, settings: NetSettings, tls: TlsSettings = TlsSettings()) -> TlsScan:
    """Record one host's TLS (blocking: seconds). Never raises for network or TLS trouble."""
    from cryptography import x509

    host = host.lower().rstrip(".")
    address, why = pick_address(host, port, settings)
    if address is None:
        return TlsScan(host, port, error=why, profile=tls.profile)
    der, alpn, failed, error = _handshake(host, port, address, settings, verify=True)
    trust_code = trust_error = None
    if failed is not None:
        trust_code, trust_error = failed
        der, alpn, _, error = _handshake(host, port, address, settings, verify=False)
    if error is not None:
        return TlsScan(host, port, address, error=f"tls-error: {error}", profile=tls.profile)
    versions, chain, deviations, scan_error = _sslyze(host, port, address, settings, tls.profile)
    leaf = None
    if der is not None:
        cert = x509.load_der_x509_certificate(der)
        leaf = _leaf(cert, chain if chain and chain[0] == cert else [cert, *chain])
    return TlsScan(
        host,
        port,
        address,
        versions=versions,
        leaf=leaf,
        trust_error=trust_error,
        trust_code=trust_code,
        alpn=alpn,
        deviations=deviations,
        profile=tls.profile,
        error=scan_error,
    )


# ---------------------------------------------------------------------------------------------------
# Judging (pure)
# ---------------------------------------------------------------------------------------------------


def hostname_matches(leaf: Leaf, host: str) -> bool:
    """RFC 6125 §6.4 as browsers apply it: subjectAltName only (never the CN); a ``*`` is allowed as
    the whole left-most label and matches exactly one label; IP hosts match iPAddress entries."""
    host = host.lower().rstrip(".").strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return any(ipaddress.ip_address(a) == ip for a in leaf.addresses)
    labels = host.split(".")
    for name in leaf.names:
        pattern = name.rstrip(".").split(".")
        if len(pattern) != len(labels):
            continue
        if pattern[0] == "*" and len(pattern) > 2 and pattern[1:] == labels[1:]:
            return True
        if pattern == labels:
            return True
    return False


def _day(when: datetime) -> str:
    return when.date().isoformat()


def judge_tls(scan: TlsScan, now: datetime | None = None) -> list[Issue]:
    """MC510–MC515 for one host (docs/audit.md#tls). ``now`` (UTC) defaults to the current time."""
    now = now or datetime.now(UTC)
    url = scan.url
    shown = " ".join(scan.versions) or "none"
    issues: list[Issue] = []
    legacy = [v for v in scan.versions if v in LEGACY]
    # MDN (TLS): "TLS 1.1 and 1.0 should no longer be used"; SSL 3.0 is broken (RFC 7568)
    if legacy:
        issues.append(
            Issue(
                "MC510",
                f"{url} accepts {', '.join(SHOWN[v] for v in legacy)}: these protocol "
                f"versions must no longer be used (offer TLS 1.2 and 1.3 only)",
                url,
                "tls",
                "versions",
                shown,
            )
        )
    if scan.versions and "TLSv1.3" not in scan.versions:
        issues.append(
            Issue(
                "MC511",
                f"{url} does not offer TLS 1.3 (accepted: {', '.join(SHOWN[v] for v in scan.versions)})",
                url,
                "tls",
                "versions",
                shown,
            )
        )
    leaf = scan.leaf
    if leaf is not None:
        problems: list[tuple[str, str]] = []
        if leaf.not_after < now:
            problems.append(("expired", f"it expired on {_day(leaf.not_after)}"))
        if leaf.not_before > now:
            problems.append(("not-yet-valid", f"it is not valid before {_day(leaf.not_before)}"))
        if not hostname_matches(leaf, scan.host):
            names = ", ".join(leaf.names + leaf.addresses) or "none"
            problems.append(("hostname-mismatch", f"it is not for {scan.host} (its names: {names})"))
        weak = leaf.key_type == "rsa" and leaf.key_bits is not None and leaf.key_bits < MIN_RSA_BITS
        if scan.trust_error is not None and not (
            scan.trust_code in _TOO_WEAK and (weak or leaf.signature_hash == "sha1")
        ):
            if scan.trust_code in _ISSUER_MISSING and not leaf.issuer_sent and not leaf.self_signed:
                problems.append(
                    (
                        "incomplete-chain",
                        (
                            f"the chain is incomplete: the server does not send the "
                            f"intermediate certificate of its issuer {leaf.issuer}"
                        ),
                    )
                )
            else:
                problems.append(("untrusted", f"it is not trusted: {scan.trust_error}"))
        if weak:
            problems.append(("weak-key", f"its RSA key has {leaf.key_bits} bits (fewer than {MIN_RSA_BITS})"))
        if leaf.signature_hash == "sha1":
            problems.append(("sha1-signature", "it is signed with SHA-1, which browsers reject"))
        for key, text in problems:
            issues.append(
                Issue(
                    "MC512",
                    f"the certificate of {url} is invalid: {text}",
                    url,
                    "certificate",
                    key,
                    leaf.subject,
                )
            )
        left = leaf.not_after - now
        if leaf.not_after >= now and left.total_seconds() < EXPIRING_DAYS * 86400:
            issues.append(
                Issue(
                    "MC513",
                    f"the certificate of {url} expires on {_day(leaf.not_after)}, in "
                    f"{left.days} days (renew it at least {EXPIRING_DAYS} days ahead)",
                    url,
                    "certificate",
                    "expiry",
                    _day(leaf.not_after),
                )
            )
    for part, message in scan.deviations:
        issues.append(
            Issue(
                "MC514",
                f"{url} deviates from Mozilla's {scan.profile.value} configuration: {message}",
                url,
                "tls",
                part,
                None,
            )
        )
    # the Umbraco guide: HTTP/2 is a benefit that comes with HTTPS
    if (scan.error is None or scan.versions) and scan.alpn != "h2":
        offered = f"ALPN chose {scan.alpn}" if scan.alpn else "no ALPN protocol was chosen"
        issues.append(
            Issue(
                "MC515", f"{url} does not offer HTTP/2 over ALPN ({offered})", url, "tls", "alpn", scan.alpn
            )
        )
    return issues


__all__ = [
    "EXPIRING_DAYS",
    "MIN_RSA_BITS",
    "Leaf",
    "Profile",
    "TlsScan",
    "TlsSettings",
    "hostname_matches",
    "judge_tls",
    "pick_address",
    "scan_tls",
]
