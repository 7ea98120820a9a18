"""Server TLS configuration from Mozilla's recommended profiles (docs/audit.md#tls): what `audit` (and `csp`)
print to fix MC510–MC515 and the HSTS findings, for nginx, Apache httpd, Caddy and HAProxy.

The profile data (protocols, cipher lists in OpenSSL and Caddy spelling, groups, HSTS max-age, OCSP
stapling) is the Mozilla Server Side TLS JSON that SSLyze ships (guidelines version 5.7), so the
snippets and the MC514 check read the same numbers. The syntax follows Mozilla's configuration
generator (ssl-config.mozilla.org) for the versions Debian 12 ships (nginx 1.22, Apache 2.4, Caddy
2.6, HAProxy 2.6). Each snippet is proven on the real server by tests/test_audit_tls_servers.py.

Paths in the snippets are placeholders (``/etc/ssl/site/…``) to replace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from .model import ServerConfig, ServerSnippet

SERVERS = ("nginx", "apache", "caddy", "haproxy")
FULLCHAIN = "/etc/ssl/site/fullchain.pem"
PRIVKEY = "/etc/ssl/site/privkey.pem"
COMBINED = "/etc/ssl/site/fullchain-and-key.pem"  # HAProxy wants the chain and the key in one file
GUIDELINES = "5.7"
# codes the printed configuration fixes (docs/audit.md#tls; MC502/MC503/MC506: its HSTS header)
FIXED_BY_CONFIG = frozenset(("MC502", "MC503", "MC506", "MC510", "MC511", "MC514", "MC515"))

_OPENSSL_VERSION = {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}
_CADDY_VERSION = {"TLSv1": "tls1.0", "TLSv1.1": "tls1.1", "TLSv1.2": "tls1.2", "TLSv1.3": "tls1.3"}
_HAPROXY_VERSION = {"TLSv1": "TLSv1.0", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}
_CADDY_CURVE = {
    "X25519": "x25519",
    "prime256v1": "secp256r1",
    "secp256r1": "secp256r1",
    "secp384r1": "secp384r1",
}
_ORDER = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# Mozilla's own cipher order (the JSON holds sets): AES-128-GCM, AES-256-GCM, CHACHA20 per key type
_RANK = (
    "ECDHE-ECDSA-AES128-GCM",
    "ECDHE-RSA-AES128-GCM",
    "ECDHE-ECDSA-AES256-GCM",
    "ECDHE-RSA-AES256-GCM",
    "ECDHE-ECDSA-CHACHA20",
    "ECDHE-RSA-CHACHA20",
    "DHE-RSA-AES128-GCM",
    "DHE-RSA-AES256-GCM",
    "DHE-RSA-CHACHA20",
)


@dataclass(frozen=True, slots=True)
class ProfileData:
    """One Mozilla profile, ordered for configuration files."""

    name: str
    versions: tuple[str, ...]  # TLSv1 … TLSv1.3, ascending
    ciphers: tuple[str, ...]  # TLS 1.2 and older, OpenSSL names
    caddy_ciphers: tuple[str, ...]
    ciphersuites: tuple[str, ...]  # TLS 1.3
    curves: tuple[str, ...]  # OpenSSL names
    hsts_max_age: int
    ocsp_staple: bool
    server_order: bool  # the server prefers its own cipher order (old) or the client's


def _rank(name: str) -> tuple[int, str]:
    for i, prefix in enumerate(_RANK):
        if name.startswith(prefix):
            return i, name
    return len(_RANK), name


@cache
def profile_data(name: str) -> ProfileData:
    from sslyze.mozilla_tls_profile.tls_config_checker import MozillaTlsConfiguration, TlsConfigurationEnum

    c = MozillaTlsConfiguration.get(TlsConfigurationEnum(name))
    curves = sorted(
        c.tls_curves,
        key=lambda x: (
            ("X25519", "secp256r1", "secp384r1").index(x) if x in ("X25519", "secp256r1", "secp384r1") else 9
        ),
    )
    return ProfileData(
        name=name,
        versions=tuple(v for v in _ORDER if v in c.tls_versions),
        ciphers=tuple(sorted(c.ciphers.openssl, key=_rank)),
        caddy_ciphers=tuple(sorted(c.ciphers.caddy)),
        ciphersuites=tuple(sorted(c.ciphersuites)),
        curves=tuple("prime256v1" if x == "secp256r1" else x for x in curves),
        hsts_max_age=c.hsts_min_age,
        ocsp_staple=c.ocsp_staple,
        server_order=c.server_preferred_order,
    )


def nginx(p: ProfileData) -> str:
    lines = [
        "# inside the server block that listens with: listen 443 ssl http2;",
        f"ssl_certificate {FULLCHAIN};  # the leaf and its intermediate(s)",
        f"ssl_certificate_key {PRIVKEY};",
        f"ssl_protocols {' '.join(_OPENSSL_VERSION[v] for v in p.versions)};",
        f"ssl_ecdh_curve {':'.join(p.curves)};",
    ]
    if p.ciphers:
        # OpenSSL 3 refuses TLS 1.0/1.1 at its default security level
        seclevel = ":@SECLEVEL=0" if "TLSv1" in p.versions else ""
        lines.append(f"ssl_ciphers {':'.join(p.ciphers)}{seclevel};")
    lines += [
        f"ssl_prefer_server_ciphers {'on' if p.server_order else 'off'};",
        "ssl_session_timeout 1d;",
        "ssl_session_cache shared:MozSSL:10m;",
        "ssl_session_tickets off;",
        f'add_header Strict-Transport-Security "max-age={p.hsts_max_age}" always;',
    ]
    if p.ocsp_staple:
        lines += ["ssl_stapling on;", "ssl_stapling_verify on;"]
    return "\n".join(lines) + "\n"


def apache(p: ProfileData) -> str:
    protocols = " ".join(f"+{v}" for v in p.versions)
    lines = [
        "# mod_ssl, mod_headers and mod_http2; in the <VirtualHost *:443>:",
        "Protocols h2 http/1.1",
        "SSLEngine on",
        f"SSLCertificateFile {FULLCHAIN}",
        f"SSLCertificateKeyFile {PRIVKEY}",
        f"SSLProtocol -all {protocols}",
        f"SSLOpenSSLConfCmd Curves {':'.join(p.curves)}",
    ]
    if p.ciphers:
        seclevel = ":@SECLEVEL=0" if "TLSv1" in p.versions else ""
        lines.append(f"SSLCipherSuite {':'.join(p.ciphers)}{seclevel}")
    lines += [
        f"SSLHonorCipherOrder {'on' if p.server_order else 'off'}",
        "SSLSessionTickets off",
        f'Header always set Strict-Transport-Security "max-age={p.hsts_max_age}"',
    ]
    if p.ocsp_staple:
        lines += [
            "SSLUseStapling On",
            "# and once, outside any <VirtualHost> (logs/ is under ServerRoot):",
            'SSLStaplingCache "shmcb:logs/ssl_stapling(32768)"',
        ]
    return "\n".join(lines) + "\n"


def caddy(p: ProfileData) -> str:
    # Caddy staples OCSP and speaks HTTP/2 by itself; Go's TLS 1.3 suites are not configurable
    lines = [
        "# in the site block (Caddy staples OCSP and offers HTTP/2 by default):",
        f"tls {FULLCHAIN} {PRIVKEY} {{",
        f"\tprotocols {_CADDY_VERSION[p.versions[0]]} {_CADDY_VERSION[p.versions[-1]]}",
    ]
    if p.caddy_ciphers:
        lines.append(f"\tciphers {' '.join(p.caddy_ciphers)}")
    lines += [
        f"\tcurves {' '.join(_CADDY_CURVE[c] for c in p.curves if c in _CADDY_CURVE)}",
        "}",
        f'header Strict-Transport-Security "max-age={p.hsts_max_age}"',
    ]
    return "\n".join(lines) + "\n"


def haproxy(p: ProfileData) -> str:
    opts = [
        f"ssl-min-ver {_HAPROXY_VERSION[p.versions[0]]}",
        f"ssl-max-ver {_HAPROXY_VERSION[p.versions[-1]]}",
        f"curves {':'.join(p.curves)}",
    ]
    if p.ciphers:
        seclevel = ":@SECLEVEL=0" if "TLSv1" in p.versions else ""
        opts.append(f"ciphers {':'.join(p.ciphers)}{seclevel}")
    opts.append(f"ciphersuites {':'.join(p.ciphersuites)}")
    if not p.server_order:
        opts.append("prefer-client-ciphers")
    opts.append("no-tls-tickets")
    lines = [
        "# in the frontend (OCSP: put the response beside the file as <file>.ocsp; HAProxy staples it):",
        f"bind :443 ssl crt {COMBINED} alpn h2,http/1.1 " + " ".join(opts),
        f"http-after-response set-header Strict-Transport-Security max-age={p.hsts_max_age}",
    ]
    return "\n".join(lines) + "\n"


RENDER = {"nginx": nginx, "apache": apache, "caddy": caddy, "haproxy": haproxy}
TITLE = {"nginx": "nginx", "apache": "Apache httpd", "caddy": "Caddy", "haproxy": "HAProxy"}


def snippet(server: str, profile: str = "intermediate") -> str:
    """The configuration for one server and Mozilla profile."""
    return RENDER[server](profile_data(profile))


def render_all(profile: str = "intermediate", servers: Sequence[str] | None = None) -> str:
    """Every server's configuration under a heading, as the text reports print it."""
    out = [
        (
            f"Server TLS configuration (Mozilla {profile}, guidelines {GUIDELINES}; replace the "
            f"/etc/ssl/site/ paths):\n"
        )
    ]
    for name in servers or SERVERS:
        out.append(f"\n{TITLE[name]}:\n")
        out.extend(f"    {line}\n" if line else "\n" for line in snippet(name, profile).splitlines())
    return "".join(out)


def server_config(profile: str = "intermediate", servers: Sequence[str] | None = None) -> ServerConfig:
    """Every server's configuration as data (the JSON reports' ``server_config``)."""
    return ServerConfig(
        profile=profile,
        guidelines=GUIDELINES,
        snippets=tuple(
            ServerSnippet(name, TITLE[name], snippet(name, profile)) for name in servers or SERVERS
        ),
    )


__all__ = [
    "FIXED_BY_CONFIG",
    "SERVERS",
    "ProfileData",
    "profile_data",
    "render_all",
    "server_config",
    "snippet",
]
