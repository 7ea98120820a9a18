"""TLS of an audited host (docs/audit.md#tls, MC510–MC515): the protocol versions it accepts, its certificate,
the deviations from Mozilla's recommended configuration, and HTTP/2 over ALPN.

Two steps, as the rest of the audit: ``scan_tls`` records facts about one host (blocking; the audit
runs it in a thread) and ``judge_tls`` turns them into ``model.Issue`` values (pure).

What is measured with what:
- versions, cipher suites, groups, the certificate chain as sent, and Mozilla's compliance check:
  SSLyze (its scan commands and ``check_server_against_tls_configuration``, with the Mozilla profile
  JSON it ships, guidelines version 5.7), its jobs run by ``sslyze_scan`` on a pool of threads the
  run's hosts share (``TlsPool``), cipher suites tried alone only within groups the server accepts.
  SSLyze's bundled OpenSSL (nassl) still speaks SSL 3.0 to
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
import queue
import re
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from traceback import TracebackException
from typing import TYPE_CHECKING, Any, Self
from uuid import uuid4

from .model import Issue
from .net import NetSettings, explain, is_public_address

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from sslyze.mozilla_tls_profile.tls_config_checker import TlsConfigurationAsJson
    from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuite
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ServerScanResult
    from sslyze.server_connectivity import ServerConnectivityInfo, TlsVersionEnum

EXPIRING_DAYS = 30  # docs/rules/index.md: MC513: the leaf expires within 30 days
MIN_RSA_BITS = 2048  # docs/rules/index.md: MC512
DEFAULT_SCAN_TIMEOUT = 60.0  # seconds for one host's whole TLS scan
DEFAULT_TLS_THREADS = 4  # handshakes in flight for one audited host (SSLyze's scanner uses 5 per server)
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


class TlsPool:
    """Threads that run SSLyze's scan jobs (one handshake each) for every host of a run. Made once per
    run, so hosts share them: no threads started per host, and the run's handshakes in flight are
    bounded by ``threads`` whatever the number of hosts. Daemon threads, so a scan given up on never
    holds the process's exit (each handshake is bounded by the connect timeout anyway)."""

    def __init__(self, threads: int = DEFAULT_TLS_THREADS) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None]
        self._jobs = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"tls-job-{i}", daemon=True)
            for i in range(max(1, threads))
        ]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            future, call, args = item
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued (its host was given up on)
            try:
                future.set_result(call(*args))
            except BaseException as e:  # noqa: BLE001 - the job's outcome, read by the host that queued it
                future.set_exception(e)
            del future, call, args, item

    def submit(self, call: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((future, call, args))
        return future

    def close(self) -> None:
        """The threads end once the queued jobs are done (nothing waits for them)."""
        for _ in self._threads:
            self._jobs.put(None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_REFUSED_AS_GROUP = "rejected: the server refused a handshake offering this suite among others"


@dataclass(frozen=True, slots=True)
class _SuiteGroup:
    """Cipher suites of one protocol version offered together through one client (legacy or modern
    OpenSSL): level 0 all of the version's, level 1 those of one key exchange and authentication."""

    version: TlsVersionEnum
    legacy: bool
    suites: tuple[CipherSuite, ...]
    level: int

    def split(self) -> list[_SuiteGroup]:
        """The next level: per key exchange and authentication (the RFC name before ``_WITH_``), then
        each suite alone."""
        if self.level > 0:
            return [_SuiteGroup(self.version, self.legacy, (s,), 2) for s in self.suites]
        families: dict[str, list[CipherSuite]] = {}
        for suite in self.suites:
            families.setdefault(suite.name.split("_WITH_")[0], []).append(suite)
        return [_SuiteGroup(self.version, self.legacy, tuple(f), 1) for f in families.values()]


def _probe_group(
    info: ServerConnectivityInfo, version: TlsVersionEnum, names: str, legacy: bool
) -> bool | None:
    """One handshake at ``version`` offering every suite in ``names`` (OpenSSL names, colon-separated)
    through the client SSLyze uses for them: True when the server accepts one, False when it rejects
    the handshake (so it accepts none of them alone either), None when it cannot be told (a timeout,
    a reset: the group is then split, as if accepted)."""
    from nassl.ssl_client import ClientCertificateRequested
    from sslyze.connection_helpers.tls_connection import NoCiphersAvailableBugInSSlyze
    from sslyze.errors import ServerRejectedTlsHandshake, ServerTlsConfigurationNotSupported
    from sslyze.server_connectivity import TlsVersionEnum

    connection = info.get_preconfigured_tls_connection(
        override_tls_version=version, should_use_legacy_openssl=legacy
    )
    try:
        client: Any = connection.ssl_client
        if version == TlsVersionEnum.TLS_1_3:
            client.set_ciphersuites(names)
        else:
            client.set_cipher_list(names)
        connection.connect()
    except (ServerTlsConfigurationNotSupported, ClientCertificateRequested):
        return True  # as connect_with_cipher_suite counts them: the suite is accepted
    except (ServerRejectedTlsHandshake, NoCiphersAvailableBugInSSlyze):
        return False  # rejected; or no suite of the list exists in this client (SSLyze skips each alone)
    except Exception:  # noqa: BLE001 - anything else: enumerate this version as SSLyze does
        return None
    finally:
        connection.close()
    return True


@lru_cache(maxsize=1)
def _legacy_suites() -> frozenset[str]:
    """The suites nassl's legacy OpenSSL offers at TLS 1.2 (SSLyze's own test, made once)."""
    from nassl.legacy_ssl_client import LegacySslClient
    from nassl.ssl_client import OpenSslVerifyEnum, OpenSslVersionEnum

    client = LegacySslClient(ssl_version=OpenSslVersionEnum.TLSV1_2, ssl_verify=OpenSslVerifyEnum.NONE)
    client.set_cipher_list("ALL:COMPLEMENTOFALL")
    return frozenset(client.get_cipher_list())


def _requires_legacy_openssl(_cls: object, openssl_cipher_name: str) -> bool:
    return openssl_cipher_name in _legacy_suites()


def _answer_legacy_once() -> None:
    """SSLyze asks, for each TLS 1.2 suite it tries, whether its legacy OpenSSL offers it, by making a
    legacy client and listing its suites every time (a quarter of a host's CPU, measured); the answer
    is a constant of the installed nassl, so it is computed once and SSLyze's check answers from it."""
    from sslyze.plugins.openssl_cipher_suites._tls12_workaround import WorkaroundForTls12ForCipherSuites

    workaround: Any = WorkaroundForTls12ForCipherSuites
    workaround.requires_legacy_openssl = classmethod(_requires_legacy_openssl)


@lru_cache(maxsize=4)
def _mozilla(profile: Profile) -> TlsConfigurationAsJson:
    """Mozilla's configuration for ``profile`` (SSLyze parses its JSON file on every call)."""
    from sslyze.mozilla_tls_profile.tls_config_checker import MozillaTlsConfiguration, TlsConfigurationEnum

    return MozillaTlsConfiguration.get(TlsConfigurationEnum(profile.value))


def _forget_traceback(error: BaseException | None) -> None:
    """Drop the frames a job's exception holds. SSLyze re-raises a job's exception in the command's
    result (``ScanJobResult.get_result``) and catches it there: its traceback then holds that frame,
    whose locals hold the job results, which hold the exception, a cycle through every frame below
    (this scan's, with all its results). Only the collector's rare full passes free such cycles, so a
    fleet's memory grew with its hosts; without the traceback each scan is freed when it ends."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.with_traceback(None)  # not ``__traceback__ =``: SSLyze's errors are frozen dataclasses
        if error.__cause__ is not None:
            _forget_traceback(error.__cause__)
        error = error.__context__


def _job_result(future: Future[Any]) -> Any:
    """A finished job as SSLyze's ``ScanJobResult`` (its value, or the exception it raised)."""
    from sslyze.plugins.plugin_base import ScanJobResult

    failed = future.exception()
    if failed is not None and not isinstance(failed, Exception):
        raise failed  # KeyboardInterrupt, SystemExit: not a job's outcome
    return ScanJobResult(_return_value=None if failed else future.result(), _exception=failed)


def _attempt(command: ScanCommand, result: Any = None, *, failed: BaseException | None = None,
             bug: bool = False, scheduled: bool = True) -> Any:
    """SSLyze's record of one scan command, as its own scanner makes it: completed with ``result``;
    errored with ``failed`` (a connectivity issue, or ``bug``: the command could not plan its jobs);
    or not scheduled."""
    from sslyze.scanner.models import get_scan_command_attempt_cls
    from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum, ScanCommandErrorReasonEnum

    cls = get_scan_command_attempt_cls(command)
    if failed is not None:
        reason = ScanCommandErrorReasonEnum.BUG_IN_SSLYZE if bug else ScanCommandErrorReasonEnum.CONNECTIVITY_ISSUE
        return cls(status=ScanCommandAttemptStatusEnum.ERROR, error_reason=reason,
                   error_trace=TracebackException.from_exception(failed), result=None)
    status = ScanCommandAttemptStatusEnum.COMPLETED if scheduled else ScanCommandAttemptStatusEnum.NOT_SCHEDULED
    return cls(status=status, error_reason=None, error_trace=None, result=result)


def sslyze_scan(
    host: str,
    port: int,
    address: str,
    settings: NetSettings,
    tls: TlsSettings,
    pool: TlsPool,
) -> ServerScanResult | str:
    """SSLyze's scan commands that Mozilla's compliance check needs, their jobs run on ``pool``: the
    scan result as SSLyze's ``Scanner`` gives it, or why there is none.

    What is not SSLyze's own driver (``Scanner``), and why the result is the same (a test compares
    both on real servers): the scan commands, their jobs and their results are SSLyze's
    (``scan_jobs_for_scan_command`` / ``result_for_completed_scan_jobs``, as its mass scanner calls
    them, and ``connect_with_cipher_suite`` for each cipher suite); two things differ.
    - The jobs of every host run on the run's pool, not on threads a ``Scanner`` starts per host.
    - SSLyze tries each of its ~550 cipher suites alone, one handshake each, at every protocol
      version. Here suites are first offered in groups, through the client SSLyze would use for them
      (legacy or modern OpenSSL): all of a version's, then those of one key exchange and
      authentication (``TLS_ECDHE_RSA``), and only the suites of accepted groups are tried alone. A
      server that accepts a suite alone accepts a handshake offering it among others (it picks one
      of the offered suites it accepts), so a rejected group holds no accepted suite; a group whose
      probe cannot tell (a timeout, a reset) is split as if accepted. A server speaking TLS 1.2 and
      1.3 with one certificate then costs ~100 handshakes instead of ~550."""
    from cryptography.utils import CryptographyDeprecationWarning
    from sslyze.connection_helpers.tls_connection import NoCiphersAvailableBugInSSlyze
    from sslyze.errors import ConnectionToServerFailed
    from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.plugins.openssl_cipher_suites._test_cipher_suite import (
        CipherSuiteAcceptedByServer,
        CipherSuiteRejectedByServer,
        connect_with_cipher_suite,
    )
    from sslyze.plugins.openssl_cipher_suites._tls12_workaround import WorkaroundForTls12ForCipherSuites
    from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository
    from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult
    from sslyze.plugins.scan_commands import ScanCommand, ScanCommandsRepository
    from sslyze.scanner.models import (
        AllScanCommandsAttempts,
        ServerConnectivityStatusEnum,
        ServerScanResult,
        ServerScanStatusEnum,
    )
    from sslyze.server_connectivity import (
        ServerConnectivityInfo,
        TlsVersionEnum,
        check_connectivity_to_server,
    )
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    # SSLyze's bundled trust stores
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    _answer_legacy_once()
    deadline = time.monotonic() + tls.timeout
    timeout = f"timeout: the TLS scan took more than {tls.timeout:g} s"
    location = ServerNetworkLocation(host.strip("[]"), port, ip_address=address)
    network = ServerNetworkConfiguration(
        tls_server_name_indication=host.strip("[]"),
        network_timeout=max(1, round(settings.connect_timeout)),
        network_max_retries=1,
    )
    try:
        probing = check_connectivity_to_server(location, network)
    except (ConnectionToServerFailed, OSError) as e:
        return f"tls-error: {' '.join(str(e).split())[:300] or type(e).__name__}"
    info = ServerConnectivityInfo(location, network, probing)

    def wait(futures: list[Future[Any]]) -> bool:
        _, pending = futures_wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        for f in pending:
            f.cancel()
        return not pending

    commands = set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)
    by_version = {
        TlsVersionEnum.SSL_2_0: ScanCommand.SSL_2_0_CIPHER_SUITES,
        TlsVersionEnum.SSL_3_0: ScanCommand.SSL_3_0_CIPHER_SUITES,
        TlsVersionEnum.TLS_1_0: ScanCommand.TLS_1_0_CIPHER_SUITES,
        TlsVersionEnum.TLS_1_1: ScanCommand.TLS_1_1_CIPHER_SUITES,
        TlsVersionEnum.TLS_1_2: ScanCommand.TLS_1_2_CIPHER_SUITES,
        TlsVersionEnum.TLS_1_3: ScanCommand.TLS_1_3_CIPHER_SUITES,
    }
    extra = (
        {"certificate_info": CertificateInfoExtraArgument(custom_ca_file=Path(settings.cacert))}
        if settings.cacert
        else {}
    )
    jobs: dict[ScanCommand, list[Future[Any]]] = {}
    attempts: dict[str, Any] = {}
    for command in sorted(commands - set(by_version.values()), key=lambda c: c.value):
        implementation = ScanCommandsRepository.get_implementation_cls(command)
        try:
            planned = implementation.scan_jobs_for_scan_command(info, extra.get(command.value))
        except Exception as e:  # noqa: BLE001 - as SSLyze's scanner: the command's error, not the scan's
            attempts[command.value] = _attempt(command, failed=e, bug=True)
            continue
        jobs[command] = [pool.submit(j.function_to_call, *j.function_arguments) for j in planned]

    # The cipher suites, by groups (docstring): each version's suites per client, then per key exchange and
    # authentication ("TLS_ECDHE_RSA"), then one by one with SSLyze's own job (connect_with_cipher_suite)
    groups: list[_SuiteGroup] = []
    for version in by_version:
        per_client: dict[bool, list[CipherSuite]] = {}
        for suite in CipherSuitesRepository.get_all_cipher_suites(version):
            legacy = version not in (TlsVersionEnum.TLS_1_2, TlsVersionEnum.TLS_1_3) or (
                version == TlsVersionEnum.TLS_1_2
                and WorkaroundForTls12ForCipherSuites.requires_legacy_openssl(suite.openssl_name)
            )
            per_client.setdefault(legacy, []).append(suite)
        groups += [_SuiteGroup(version, legacy, tuple(suites), 0) for legacy, suites in per_client.items()]
    tried: dict[TlsVersionEnum, list[Future[Any]]] = {v: [] for v in by_version}
    refused: dict[TlsVersionEnum, list[CipherSuiteRejectedByServer]] = {v: [] for v in by_version}
    while groups:
        probes = []
        for group in groups:
            if len(group.suites) == 1:
                tried[group.version].append(
                    pool.submit(connect_with_cipher_suite, info, group.version, group.suites[0])
                )
            else:
                names = ":".join(suite.openssl_name for suite in group.suites)
                probes.append((group, pool.submit(_probe_group, info, group.version, names, group.legacy)))
        if not wait([f for _, f in probes]):
            return timeout
        groups = []
        for group, probe in probes:
            if probe.result() is False:
                refused[group.version] += [
                    CipherSuiteRejectedByServer(cipher_suite=suite, error_message=_REFUSED_AS_GROUP)
                    for suite in group.suites
                ]
            else:
                groups += group.split()
    if not wait([f for fs in (*jobs.values(), *tried.values()) for f in fs]):
        return timeout
    for version, futures in tried.items():
        command = by_version[version]
        accepted: list[CipherSuiteAcceptedByServer] = []
        rejected = list(refused[version])
        failed: BaseException | None = None
        for future in futures:  # as SSLyze's result_for_completed_scan_jobs
            raised = future.exception()
            if isinstance(raised, NoCiphersAvailableBugInSSlyze):
                continue
            if raised is not None:
                failed = raised
                continue
            outcome = future.result()
            (accepted if isinstance(outcome, CipherSuiteAcceptedByServer) else rejected).append(outcome)
        if failed is not None:
            attempts[command.value] = _attempt(command, failed=failed)
            continue
        accepted.sort(key=attrgetter("cipher_suite.name"), reverse=True)
        rejected.sort(key=attrgetter("cipher_suite.name"), reverse=True)
        attempts[command.value] = _attempt(command, CipherSuitesScanResult(
            tls_version_used=version, accepted_cipher_suites=accepted, rejected_cipher_suites=rejected))
    for command, futures in jobs.items():
        results = [_job_result(f) for f in futures]
        try:
            implementation = ScanCommandsRepository.get_implementation_cls(command)
            attempts[command.value] = _attempt(command, implementation.result_for_completed_scan_jobs(info, results))
        except Exception as e:  # noqa: BLE001 - as SSLyze's scanner: the command's error, not the scan's
            attempts[command.value] = _attempt(command, failed=e)
    for f in fields(AllScanCommandsAttempts):
        if f.name not in attempts:
            attempts[f.name] = _attempt(ScanCommand(f.name), scheduled=False)
    for future in (f for fs in (*jobs.values(), *tried.values()) for f in fs):
        _forget_traceback(future.exception())
    return ServerScanResult(
        uuid=uuid4(),
        server_location=location,
        network_configuration=network,
        connectivity_status=ServerConnectivityStatusEnum.COMPLETED,
        connectivity_error_trace=None,
        connectivity_result=probing,
        scan_status=ServerScanStatusEnum.COMPLETED,
        scan_result=AllScanCommandsAttempts(**attempts),
    )


def _sslyze(
    host: str,
    port: int,
    address: str,
    settings: NetSettings,
    tls: TlsSettings,
    pool: TlsPool,
) -> tuple[tuple[str, ...], list[Certificate], tuple[tuple[str, str], ...], str | None]:
    """``sslyze_scan`` and Mozilla's compliance check: (accepted versions, chain as sent, deviations,
    error)."""
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        ServerNotCompliantWithTlsConfiguration,
        ServerScanResultIncomplete,
        check_server_against_tls_configuration,
    )

    result = sslyze_scan(host, port, address, settings, tls, pool)
    if isinstance(result, str):
        return (), [], (), result
    scan = result.scan_result
    assert scan is not None
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
    cert_info = scan.certificate_info.result
    if cert_info is not None and cert_info.certificate_deployments:
        chain = list(cert_info.certificate_deployments[0].received_certificate_chain)
    config = _mozilla(tls.profile)
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


def scan_tls(
    host: str, port: int, settings: NetSettings, tls: TlsSettings = TlsSettings(), pool: TlsPool | None = None
) -> TlsScan:
    """Record one host's TLS (blocking: seconds). Never raises for network or TLS trouble. SSLyze's
    handshakes run on ``pool`` (the run's, shared by its hosts), else on threads of this scan's own."""
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
    if pool is None:
        with TlsPool() as own:
            versions, chain, deviations, scan_error = _sslyze(host, port, address, settings, tls, own)
    else:
        versions, chain, deviations, scan_error = _sslyze(host, port, address, settings, tls, pool)
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
    "TlsPool",
    "TlsScan",
    "TlsSettings",
    "hostname_matches",
    "judge_tls",
    "pick_address",
    "scan_tls",
    "sslyze_scan",
]
