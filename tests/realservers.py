"""Real web servers from Debian packages (nginx, Apache httpd, Caddy, HAProxy), started for a test on
loopback with a configuration written into a temporary directory: their own config, pid, log and
state paths, TLS with a trustme certificate, and a port the OS picked. Never the system service,
never a privileged port, never anything but 127.0.0.1.

Each ``*_server(...)`` context manager first runs the server's own configuration check
(``nginx -t``, ``apache2ctl -t``, ``caddy validate``, ``haproxy -c``) and raises ``ConfigRejected``
with its output when the check fails, then starts the server in the foreground and yields a
``Running`` once it accepts connections.

Binaries are looked up under /usr/sbin and /usr/bin. When one is missing the test is skipped, except
in CI (``CI`` set) or with ``MIXEDCONTENT_REQUIRE_SERVERS=1``, where it fails: `.ci/run` installs them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import trustme

LOOPBACK = "127.0.0.1"
SEARCH_PATH = "/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"
START_TIMEOUT = 15.0
PAGE = "<!doctype html><title>served</title><p>hello</p>\n"


class ConfigRejected(Exception):
    """The server's own configuration check refused the configuration (its output is the message)."""


def servers_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("MIXEDCONTENT_REQUIRE_SERVERS") == "1"


def binary(name: str) -> str:
    """Path of a server binary; a missing one skips the test, or fails it in CI."""
    path = shutil.which(name, path=SEARCH_PATH)
    if path is None:
        message = f"{name} is not installed (Debian package; .ci/run installs it)"
        if servers_required():
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A loopback port the OS considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Certs:
    """A CA and a leaf certificate for the test host names, as files."""

    ca_file: str
    cert: str
    key: str
    pem: str  # certificate chain and key in one file (HAProxy)


def make_certs(directory: str, hostnames: tuple[str, ...] = ("site.example", "www.site.example")) -> Certs:
    ca = trustme.CA()
    leaf = ca.issue_cert(*hostnames)
    paths = {n: os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem", "both.pem")}
    ca.cert_pem.write_to_path(paths["ca.pem"])
    with open(paths["cert.pem"], "wb") as f:
        f.writelines(blob.bytes() for blob in leaf.cert_chain_pems)
    leaf.private_key_pem.write_to_path(paths["key.pem"])
    with open(paths["both.pem"], "wb") as f:
        f.writelines(blob.bytes() for blob in leaf.cert_chain_pems)
        f.write(leaf.private_key_pem.bytes())
    return Certs(paths["ca.pem"], paths["cert.pem"], paths["key.pem"], paths["both.pem"])


@dataclass(frozen=True)
class Running:
    name: str
    port: int  # the https port
    certs: Certs
    directory: str
    check_output: str  # what the configuration check printed
    http_port: int | None = None  # a plain-http port, when the configuration has one


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def https_get(port: int, path: str, ca_file: str, host: str = "site.example") -> Reply:
    """GET over TLS to 127.0.0.1:port with SNI and Host ``host``, the certificate checked against ca_file."""
    ctx = ssl.create_default_context(cafile=ca_file)
    raw = socket.create_connection((LOOPBACK, port), timeout=10)
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    conn.sock = ctx.wrap_socket(raw, server_hostname=host)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}", "Connection": "close"})
        resp = conn.getresponse()
        return Reply(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def _wait_for(port: int, proc: subprocess.Popen[bytes] | None, log: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {_tail(log)}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {START_TIMEOUT} s: {_tail(log)}")


def _tail(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-2000:]
    except OSError:
        return "(no log)"


def _check(cmd: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise ConfigRejected(output)
    return output


@contextmanager
def _process(cmd: list[str], port: int, log: str, env: dict[str, str] | None = None) -> Iterator[None]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        _wait_for(port, proc, log)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _site(directory: str) -> str:
    www = os.path.join(directory, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w", encoding="utf-8") as f:
        f.write(PAGE)
    return www


@contextmanager
def nginx_server(snippet: str, *, extra_http: str = "", redirect_http: bool = False) -> Iterator[Running]:
    """nginx with ``snippet`` in the https server block; ``redirect_http`` adds a plain-http server
    that answers 301 to https on the same host name (and the https port)."""
    exe = binary("nginx")
    with tempfile.TemporaryDirectory(prefix="mc-nginx-") as d:
        certs = make_certs(d)
        www = _site(d)
        port, http_port = free_port(), free_port()
        redirect = ""
        if redirect_http:
            redirect = (f"server {{ listen {LOOPBACK}:{http_port}; server_name site.example www.site.example;\n"
                        f"  return 301 https://$host:{port}$request_uri; }}\n")
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  default_type text/html;
  {extra_http}
  {redirect}
  server {{
    listen {LOOPBACK}:{port} ssl;
    server_name site.example www.site.example;
    ssl_certificate {certs.cert};
    ssl_certificate_key {certs.key};
    root {www};
{snippet}
  }}
}}
""")
        args = [exe, "-p", d + "/", "-e", f"{d}/error.log", "-c", conf]
        output = _check(args + ["-t"])
        with _process(args, port, f"{d}/error.log"):
            yield Running("nginx", port, certs, d, output, http_port if redirect_http else None)


_APACHE_MODULES = ("mpm_event", "authz_core", "headers", "ssl", "socache_shmcb", "mime", "dir", "rewrite")


@contextmanager
def apache_server(snippet: str, *, own_tls: bool = True, global_conf: str = "",
                  modules: tuple[str, ...] = ()) -> Iterator[Running]:
    """Apache httpd with ``snippet`` in the https VirtualHost; checked with ``apache2ctl -t``. With
    ``own_tls=False`` the snippet brings its own SSLEngine and certificate lines; ``global_conf`` goes
    outside the VirtualHost; ``modules`` are loaded besides the usual ones (e.g. ``http2``)."""
    exe = binary("apache2")
    ctl = binary("apache2ctl")
    with tempfile.TemporaryDirectory(prefix="mc-apache-") as d:
        certs = make_certs(d)
        www = _site(d)
        port = free_port()
        loads = "\n".join(f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so"
                          for m in (*_APACHE_MODULES, *modules))
        tls = (f"SSLEngine on\n  SSLCertificateFile {certs.cert}\n  SSLCertificateKeyFile {certs.key}"
               if own_tls else "")
        conf = os.path.join(d, "apache2.conf")
        user = "www-data" if os.geteuid() == 0 else f"#{os.geteuid()}"
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""ServerRoot {d}
ServerName site.example
{loads}
User {user}
Group {'www-data' if os.geteuid() == 0 else f'#{os.getegid()}'}
PidFile {d}/apache2.pid
DefaultRuntimeDir {d}
Mutex file:{d} default
ErrorLog {d}/error.log
LogLevel warn
Listen {LOOPBACK}:{port}
TypesConfig /etc/mime.types
DirectoryIndex index.html
SSLSessionCache shmcb:{d}/ssl_scache(512000)
<Directory {www}>
  Require all granted
</Directory>
<VirtualHost {LOOPBACK}:{port}>
  ServerName site.example
  DocumentRoot {www}
  {tls}
{snippet}
</VirtualHost>
{global_conf}
""")
        os.chmod(d, 0o755)
        env = dict(os.environ, APACHE_CONFDIR="/etc/apache2")
        output = _check([ctl, "-t", "-f", conf], env=env)
        with _process([exe, "-f", conf, "-DFOREGROUND"], port, f"{d}/error.log", env=env):
            yield Running("apache", port, certs, d, output)


@contextmanager
def caddy_server(snippet: str, *, own_tls: bool = True) -> Iterator[Running]:
    """Caddy with ``snippet`` in the site block; checked with ``caddy validate``. With
    ``own_tls=False`` the snippet brings its own ``tls`` directive."""
    exe = binary("caddy")
    with tempfile.TemporaryDirectory(prefix="mc-caddy-") as d:
        certs = make_certs(d)
        www = _site(d)
        port, http_port = free_port(), free_port()
        conf = os.path.join(d, "Caddyfile")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""{{
	admin off
	auto_https disable_redirects
	http_port {http_port}
	https_port {port}
	storage file_system {d}/data
	default_bind {LOOPBACK}
	log {{
		output file {d}/caddy.log
	}}
}}
https://site.example:{port}, https://www.site.example:{port} {{
	{f"tls {certs.cert} {certs.key}" if own_tls else ""}
	root * {www}
	file_server
{snippet}
}}
""")
        env = dict(os.environ, HOME=d, XDG_CONFIG_HOME=f"{d}/config", XDG_DATA_HOME=f"{d}/data")
        output = _check([exe, "validate", "--config", conf, "--adapter", "caddyfile"], env=env)
        with _process([exe, "run", "--config", conf, "--adapter", "caddyfile"], port, f"{d}/caddy.log", env=env):
            yield Running("caddy", port, certs, d, output)


@contextmanager
def haproxy_server(snippet: str) -> Iterator[Running]:
    """HAProxy with ``snippet`` in the https frontend, answering pages itself (``http-request return``)
    and refusing /forbidden with a 403 it makes; checked with ``haproxy -c``."""
    exe = binary("haproxy")
    with tempfile.TemporaryDirectory(prefix="mc-haproxy-") as d:
        certs = make_certs(d)
        page = os.path.join(d, "page.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(PAGE)
        port = free_port()
        conf = os.path.join(d, "haproxy.cfg")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""global
	log stderr format raw local0 err
defaults
	mode http
	log global
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend https
	bind {LOOPBACK}:{port} ssl crt {certs.pem}
	http-request deny deny_status 403 if {{ path /forbidden }}
	http-request return status 200 content-type text/html file {page}
{snippet}
""")
        output = _check([exe, "-c", "-f", conf])
        log = os.path.join(d, "haproxy.log")
        with _process([exe, "-db", "-f", conf, "-p", f"{d}/haproxy.pid"], port, log):
            yield Running("haproxy", port, certs, d, output)


def indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


# --- TLS postures (tests/test_audit_tls.py, tests/test_audit_fleet.py, scripts/bench_audit.py) -------


@dataclass(frozen=True)
class Pki:
    """A root CA (its PEM is what --cacert trusts), an intermediate CA under it, and leaf files."""

    root: trustme.CA
    intermediate: trustme.CA
    ca_file: str
    directory: str


@dataclass(frozen=True)
class LeafFiles:
    cert: str  # the leaf, then the intermediate unless the chain is left incomplete
    key: str
    combined: str  # cert then key (HAProxy)
    not_after: str  # ISO date


def make_pki(directory: str) -> Pki:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    ca_file = os.path.join(directory, "root.pem")
    root.cert_pem.write_to_path(ca_file)
    return Pki(root, intermediate, ca_file, directory)


def issue(pki: Pki, name: str, *hostnames: str, days_left: float = 60, lifetime_days: float = 90,
          chain: bool = True) -> LeafFiles:
    """A leaf under the intermediate, valid from ``lifetime_days - days_left`` days ago to ``days_left``
    days from now (negative: already expired), written as files named after ``name``."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days_left)
    leaf = pki.intermediate.issue_cert(*hostnames, not_before=not_after - dt.timedelta(days=lifetime_days),
                                       not_after=not_after)
    pems = [blob.bytes() for blob in leaf.cert_chain_pems]
    return _write_leaf(pki, name, pems if chain else pems[:1], leaf.private_key_pem.bytes(),
                       not_after.date().isoformat())


def issue_weak(pki: Pki, name: str, *hostnames: str) -> LeafFiles:
    """A leaf with a 1024-bit RSA key signed with SHA-1, under the intermediate. Neither trustme nor
    ``cryptography`` (which refuses SHA-1 signatures) makes one, so Debian's ``openssl`` CLI signs it."""
    import datetime as dt

    exe = binary("openssl")
    base = os.path.join(pki.directory, name)
    pki.intermediate.cert_pem.write_to_path(base + ".ca.crt")
    pki.intermediate.private_key_pem.write_to_path(base + ".ca.key")
    with open(base + ".ext", "w", encoding="utf-8") as f:
        f.write("subjectAltName=" + ",".join(f"DNS:{h}" for h in hostnames) + "\n")
    subprocess.run([exe, "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", base + ".key",
                    "-subj", f"/CN={hostnames[0]}", "-out", base + ".csr"], check=True, capture_output=True)
    subprocess.run([exe, "x509", "-req", "-in", base + ".csr", "-CA", base + ".ca.crt", "-CAkey", base + ".ca.key",
                    "-CAcreateserial", "-days", "60", "-sha1", "-extfile", base + ".ext", "-out", base + ".leaf.crt"],
                   check=True, capture_output=True)
    with open(base + ".leaf.crt", "rb") as f:
        leaf = f.read()
    with open(base + ".key", "rb") as f:
        key = f.read()
    not_after = (dt.datetime.now(dt.UTC) + dt.timedelta(days=60)).date().isoformat()
    return _write_leaf(pki, name, [leaf, pki.intermediate.cert_pem.bytes()], key, not_after)


def _write_leaf(pki: Pki, name: str, pems: list[bytes], key: bytes, not_after: str) -> LeafFiles:
    base = os.path.join(pki.directory, name)
    with open(base + ".crt", "wb") as f:
        f.writelines(pems)
    with open(base + ".key", "wb") as f:
        f.write(key)
    with open(base + ".both.pem", "wb") as f:
        f.writelines(pems)
        f.write(key)
    return LeafFiles(base + ".crt", base + ".key", base + ".both.pem", not_after)


@dataclass(frozen=True)
class TlsSite:
    """One https listener of a multi-site server: ``name`` of the posture and the directives that make
    it (for nginx: inside its server block, certificate lines included; for HAProxy: the options
    after ``bind ADDR:PORT ssl crt FILE``, with ``crt`` the LeafFiles' combined file)."""

    name: str
    directives: str
    leaf: LeafFiles | None = None  # HAProxy: the certificate of the bind line
    http2: bool = False  # nginx: listen … http2
    frontend: str = ""  # HAProxy: more lines in the frontend (one setting STS replaces the default header)


@dataclass(frozen=True)
class TlsSites:
    ports: dict[str, int]  # site name -> https port
    http_port: int  # plain http: 301 to https://HOST:PORT/ of the host's site


def _port_map(hosts: dict[str, str], ports: dict[str, int]) -> list[tuple[str, int]]:
    return [(host, ports[site]) for host, site in sorted(hosts.items())]


@contextmanager
def nginx_tls_sites(sites: list[TlsSite], hosts: dict[str, str], workers: int = 0) -> Iterator[TlsSites]:
    """One nginx process serving each site on its own loopback port (so each has its own protocols
    and certificate), and a plain-http port that redirects each host name in ``hosts`` (host ->
    site name) with a 301 to its site's port; every response carries ``PAGE``. ``workers`` > 0 runs
    a master with that many worker processes (the benchmark), else one process."""
    exe = binary("nginx")
    with tempfile.TemporaryDirectory(prefix="mc-nginx-tls-") as d:
        www = _site(d)
        ports = {s.name: free_port() for s in sites}
        http_port = free_port()
        mapping = "\n".join(f"    {h} {p};" for h, p in _port_map(hosts, ports))
        blocks = "\n".join(f"""  server {{
    listen {LOOPBACK}:{ports[s.name]} ssl{' http2' if s.http2 else ''};
    server_name _;
    root {www};
{indent(s.directives)}
  }}""" for s in sites)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            processes = f"master_process on;\nworker_processes {workers};" if workers else "master_process off;"
            f.write(f"""daemon off;
{processes}
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  default_type text/html;
  map_hash_bucket_size 128;
  map $host $tls_port {{
    default 1;
{mapping}
  }}
  server {{
    listen {LOOPBACK}:{http_port};
    server_name _;
    return 301 https://$host:$tls_port$request_uri;
  }}
{blocks}
}}
""")
        if workers:
            os.chmod(d, 0o755)  # worker processes of a master started as root read the page as nobody
        args = [exe, "-p", d + "/", "-e", f"{d}/error.log", "-c", conf]
        _check(args + ["-t"])
        with _process(args, http_port, f"{d}/error.log"):
            for port in ports.values():
                _wait_for(port, None, f"{d}/error.log")
            yield TlsSites(ports, http_port)


@contextmanager
def haproxy_tls_sites(sites: list[TlsSite], hosts: dict[str, str], global_conf: str = "",
                      seclevel0: bool = False) -> Iterator[TlsSites]:
    """As ``nginx_tls_sites`` with HAProxy: a frontend per site, answering ``PAGE`` itself;
    ``global_conf`` lines go in the ``global`` section. ``seclevel0`` runs HAProxy with an OpenSSL
    configuration at security level 0 (``OPENSSL_CONF``), the only way it loads an RSA-1024 or SHA-1
    certificate: its own cipher settings apply only after the certificate is loaded."""
    exe = binary("haproxy")
    with tempfile.TemporaryDirectory(prefix="mc-haproxy-tls-") as d:
        page = os.path.join(d, "page.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(PAGE)
        ports = {s.name: free_port() for s in sites}
        http_port = free_port()
        redirects = "\n".join(f"\thttp-request redirect prefix https://{h}:{p} code 301 "
                              f"if {{ req.hdr(host),field(1,:) -i {h} }}"
                              for h, p in _port_map(hosts, ports))
        def hsts(site: TlsSite) -> str:
            return "" if "Strict-Transport-Security" in site.frontend else " hdr Strict-Transport-Security max-age=63072000"

        frontends = "\n".join(f"""frontend {s.name}
\tbind {LOOPBACK}:{ports[s.name]} ssl crt {s.leaf.combined if s.leaf else ''} {s.directives}
{indent(s.frontend, chr(9))}
\thttp-request return status 200 content-type text/html file {page}{hsts(s)}
""" for s in sites)
        conf = os.path.join(d, "haproxy.cfg")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""global
\tlog stderr format raw local0 err
{global_conf}
defaults
\tmode http
\tlog global
\ttimeout connect 5s
\ttimeout client 10s
\ttimeout server 10s
frontend plain
\tbind {LOOPBACK}:{http_port}
{redirects}
\thttp-request return status 404
{frontends}
""")
        env = None
        if seclevel0:
            cnf = os.path.join(d, "openssl.cnf")
            with open(cnf, "w", encoding="utf-8") as f:
                f.write("openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\n"
                        "system_default = system_default_sect\n[system_default_sect]\n"
                        "CipherString = DEFAULT@SECLEVEL=0\n")
            env = dict(os.environ, OPENSSL_CONF=cnf)
        _check([exe, "-c", "-f", conf], env=env)
        log = os.path.join(d, "haproxy.log")
        with _process([exe, "-db", "-f", conf, "-p", f"{d}/haproxy.pid"], http_port, log, env=env):
            for port in ports.values():
                _wait_for(port, None, log)
            yield TlsSites(ports, http_port)
