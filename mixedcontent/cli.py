"""Command line: ``mixedcontent scan | rule``. ``main(argv) -> int`` is the only place that prints
errors and picks exit codes (docs/reports.md): 0 nothing at or above --fail-on, 1 findings, 2 the run could
not be trusted.
"""

from __future__ import annotations

import argparse
import atexit
import io
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from . import urls
from .engine import EngineSettings
from .errors import InputError, MixedContentError, SettingError, UsageError
from .model import ReportOptions, ScanResult, ServerConfig, Severity
from .report import FORMATS
from .report.text import safe
from .rewrite import open_atomic, write_atomic
from .rules import RULES
from .scan import is_url, scan_archives, scan_files, scan_rendered, scan_site
from .settings import (
    CONFIG_NAMES,
    CONFIG_ONLY,
    DEFAULT_BASE_URL,
    DEFAULT_CACHE_TTL,
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_PAGES,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_PER_HOST,
    DEFAULT_RENDER_JOBS,
    DEFAULT_RENDER_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_TOTAL_TIMEOUT,
    DEFAULT_USER_AGENT,
    FAIL_ON,
    ScanSettings,
    code_prefixes,
    find_config,
    load_config,
)
from .sources import is_archive
from .suppress import load_baseline, write_baseline
from .version import __version__
from .wording import plural

if TYPE_CHECKING:
    from .net import NetSettings
    from .posture import AuditOptions
    from .probe import ProbeSettings
    from .sources.crawl import CrawlSettings

# Start-up (issue 19): what only some commands need (fix, crawls, the probe, the browser pass, the
# posture audit) is imported inside them, so a scan of files (a pre-commit run) does not pay for it.

if TYPE_CHECKING:
    from .sources.browser import RenderSettings

_DESCRIPTION = """\
Find mixed content: http:// subresources on pages served over https, judged exactly as browsers
judge them (upgradable vs blockable, srcset/<picture>, IP-literal hosts, <base href>, CSP
upgrade-insecure-requests, insecure form actions)."""

_SCAN_EPILOG = """\
exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad command line or
configuration, no input, a missing path or an internal error (unreadable single files are reported
as errors and do not change the exit code unless --strict).

configuration: [tool.mixedcontent] in pyproject.toml, or mixedcontent.toml (top-level keys), found in
the current directory or a parent; every option has a key, its long name (base-url, select, fail-on,
timeout, resolve, cacert, probe, ...; --exclude-url's is the list exclude-urls; none for --config,
--no-config, --write-baseline), plus per-path-ignores = {"legacy/**" = ["MC1"]}. A table
[tool.mixedcontent.scan] (fix, csp, audit) holds one command's keys. Flags win. A path in the file
(baseline, cacert, output, ...) is relative to the file's directory.

suppression: data-mixedcontent-ignore="MC101" on an element or an ancestor (empty = every code);
/* mixedcontent-ignore: MC101 */ in CSS covers its own line and the next; --baseline FILE.

rule codes: run `mixedcontent rule` for the list and `mixedcontent rule MC103` for one rule."""


_FIX_EPILOG = """\
what changes: only the bytes of each URL (usually "http" -> "https", and a ":80" port dropped);
encoding, BOM, line endings, entities, quoting and everything else stay byte-identical. References
under an http <base href> are fixed by fixing the base once. Script literals (MC401) are never
rewritten; a scheme written with character references or CSS escapes (http&#58;, \\68ttp:) is
replaced, exactly its raw text, by https:. Each file is written to a temp file in its directory,
fsynced and renamed over the original (permissions kept); a file changed since it was scanned, a
symlink, or a file outside the root is never written (directories are opened one step at a time from
the root, never through a symlink, whatever changes during the run). Ctrl-C stops the run, removes
its temp files and lists the files already rewritten (exit 130); temp files a killed run left are
removed by the next run. --dry-run's patch is made from the bytes as stored: git apply and patch -p1
apply it.

exit codes: 0 done (or nothing to do); 1 a file could not be rewritten (changed meanwhile, unwritable,
backup exists); 2 bad command line or configuration, or a missing path; 130 interrupted."""


def stderr_line(message: str) -> str:
    """One line for stderr: every message, error entry and warning the CLI writes there goes through
    this, escaped as the text report escapes (``report.text.safe``: C0/C1 controls, bidi overrides,
    lone surrogates), so a hostile file name or page cannot drive the terminal."""
    return f"mixedcontent: {safe(message)}\n"


class _Parser(argparse.ArgumentParser):
    out: TextIO | None = None  # where --help and --version go: set per instance by _parser()
    commands: dict[str, _Parser]  # the subcommands' parsers (on the top-level parser)

    def error(self, message: str) -> None:  # type: ignore[override]
        # stderr_line names the program already: "mixedcontent: scan: ...", not "mixedcontent: mixedcontent scan:"
        command = self.prog.removeprefix("mixedcontent").strip()
        raise UsageError(f"{command}: {message}" if command else message)

    def _print_message(self, message: str, file: object = None) -> None:
        if message:
            (self.out or sys.stdout).write(message)


def _add_site_options(s: argparse.ArgumentParser) -> None:
    """Options that say how a built site is read and judged (shared by scan and fix)."""
    s.add_argument("--base-url", metavar="URL",
                   help="URL the scanned root is served at; pages are judged at URL + their path "
                        f"(default: {DEFAULT_BASE_URL})")
    s.add_argument("--assume-https", action="store_true", default=None,
                   help="judge pages as https even when --base-url is http (a pre-migration scan)")
    s.add_argument("--csp-header", metavar="POLICY",
                   help="the Content-Security-Policy header the site is served with; its "
                        "upgrade-insecure-requests counts like the browser's (Report-Only never does)")
    s.add_argument("--no-scripting", action="store_true", default=None,
                   help="judge pages as a browser with scripting disabled would (<noscript> content is live)")
    s.add_argument("--no-inline-ignores", action="store_true",
                   help="do not honour data-mixedcontent-ignore attributes or CSS ignore comments")
    s.add_argument("--exclude-url", action="append", metavar="REGEX",
                   help="no finding about a URL the regular expression REGEX matches (Python re.search in the "
                        "absolute URL, as the report's url field shows it: '^http://legacy\\.example\\.com/', "
                        "'cdn\\.example'); such a URL is never probed, read as a stylesheet, followed by a crawl "
                        "or rewritten by fix (repeatable; config: exclude-urls)")
    s.add_argument("--config", metavar="FILE", help="read configuration from FILE instead of searching for it")
    s.add_argument("--no-config", action="store_true", help="read no configuration file")
    s.add_argument("--strict", action="store_true", default=None,
                   help="exit 2 when any file or URL could not be scanned")
    s.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="worker processes for large scans and long JSON reports (default: one per CPU; 1 = no "
                        "workers)")
    s.add_argument("--follow-symlinks", action="store_true", default=None,
                   help="follow symlinked directories inside the root (loops are detected)")
    s.add_argument("--follow-symlinks-outside", action="store_true", default=None,
                   help="also follow symlinks that lead outside the scanned root")
    s.add_argument("--root", metavar="DIR",
                   help="the directory served at --base-url, for files given on their own: each is judged at "
                        "URL + its path under DIR, and its same-site stylesheets are followed inside DIR, never "
                        "outside (default: the directory holding the configuration file, else the working "
                        "directory)")
    s.add_argument("--max-file-size", type=int, metavar="MB",
                   help="skip (with an error entry) files larger than this many MiB (default: "
                        f"{DEFAULT_MAX_FILE_SIZE // (1024 * 1024)})")


def add_net_options(parser: argparse.ArgumentParser) -> None:
    """Network flags for every command that goes online (scan --probe, crawls, audit); read them back
    with ``net_settings(args)``."""
    g = parser.add_argument_group("network (used only by requests the command makes)")
    g.add_argument("--resolve", action="append", metavar="HOST:PORT:ADDRESS",
                   help="connect to ADDRESS whenever HOST:PORT is requested, as curl's --resolve (repeatable; "
                        "IPv6 in brackets); this also permits that address if it is private or loopback")
    g.add_argument("--cacert", metavar="FILE", help="also trust the CA certificates in FILE (PEM), besides the system store")
    g.add_argument("--insecure", action="store_true",
                   help="do not verify certificates when fetching (the https probe always verifies them)")
    g.add_argument("--allow-private", action="store_true",
                   help="allow private, link-local, reserved and loopback addresses (refused by default, "
                        "except an address a --resolve entry names)")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help=f"give up on one request after SECONDS in all (default: {DEFAULT_TOTAL_TIMEOUT:g})")
    g.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                   help=f"give up connecting (TCP and TLS) after SECONDS (default: {DEFAULT_CONNECT_TIMEOUT:g})")
    g.add_argument("--concurrency", type=int, metavar="N", help=f"requests in flight at once (default: {DEFAULT_CONCURRENCY})")
    g.add_argument("--per-host", type=int, metavar="N", help=f"requests in flight per host (default: {DEFAULT_PER_HOST})")
    g.add_argument("--delay", type=float, metavar="SECONDS",
                   help=f"least time between two requests to one host (default: {DEFAULT_MIN_INTERVAL:g})")
    g.add_argument("--retries", type=int, metavar="N",
                   help=f"retries after connection errors, 429 and 503, with backoff and Retry-After (default: {DEFAULT_RETRIES})")
    g.add_argument("--user-agent", metavar="TEXT", help=f"User-Agent header (default: {DEFAULT_USER_AGENT})")


def net_settings(args: argparse.Namespace) -> NetSettings:
    """NetSettings from the flags of ``add_net_options``; the settings refuse bad values themselves."""
    from .net import NetSettings, parse_resolve

    d = NetSettings()
    resolve = tuple(parse_resolve(t) for t in (getattr(args, "resolve", None) or ()))

    def flag(attr: str, default: object) -> object:
        value = getattr(args, attr, None)
        return default if value is None else value

    timeout = flag("timeout", d.total_timeout)
    return NetSettings(
        resolve=resolve, cacert=getattr(args, "cacert", None), insecure=bool(getattr(args, "insecure", False)),
        allow_private=bool(getattr(args, "allow_private", False)),
        user_agent=getattr(args, "user_agent", None) or d.user_agent,
        connect_timeout=flag("connect_timeout", d.connect_timeout),  # type: ignore[arg-type]
        total_timeout=timeout,  # type: ignore[arg-type]
        read_timeout=min(d.read_timeout, timeout) if isinstance(timeout, (int, float)) else d.read_timeout,
        concurrency=flag("concurrency", d.concurrency), per_host=flag("per_host", d.per_host),  # type: ignore[arg-type]
        min_interval=flag("delay", d.min_interval), retries=flag("retries", d.retries))  # type: ignore[arg-type]


def add_probe_options(parser: argparse.ArgumentParser, *, on_by_default: bool = False) -> None:
    """--probe (or, where probing is the default, --no-probe) and its cache (docs/probe.md); read back with
    ``probe_settings(args)``."""
    g = parser.add_argument_group("https probe (docs/probe.md)")
    if on_by_default:
        g.add_argument("--no-probe", dest="probe", action="store_false", default=True,
                       help="do not probe https twins (then only --unsafe and --map rewrite anything)")
        parser.set_defaults(probe_on_by_default=True)
    else:
        g.add_argument("--probe", action="store_true",
                       help="check the https twin of every unique insecure URL (HEAD, else GET): MC301/MC302/"
                            "MC303 when it does not work, a safe fix when it does (without --probe nothing goes "
                            "online)")
    g.add_argument("--probe-cache", metavar="FILE",
                   help="keep probe results in FILE (JSON) and reuse them on later runs until they expire")
    g.add_argument("--probe-cache-ttl", type=float, metavar="SECONDS",
                   help=f"how long a cached probe result stays valid (default: {DEFAULT_CACHE_TTL:g}, one day)")


# the flags (and configuration keys) probe_settings validates: without any, and without --probe, it has
# nothing to check and imports nothing (a scan of files never goes online: start-up, issue 19)
_NETWORK_FLAGS = ("resolve", "cacert", "insecure", "allow_private", "timeout", "connect_timeout",
                  "concurrency", "per_host", "delay", "retries", "user_agent", "probe_cache", "probe_cache_ttl")


def probe_settings(args: argparse.Namespace) -> ProbeSettings | None:
    """The probe stage's settings, or None without --probe."""
    if not getattr(args, "probe", False) and all(getattr(args, a, None) in (None, False, ())
                                                  for a in _NETWORK_FLAGS):
        return None
    from .probe import ProbeSettings

    ttl = getattr(args, "probe_cache_ttl", None)
    # made (so validated) even without --probe: a bad flag is a bad flag
    settings = ProbeSettings(net=net_settings(args), cache_file=getattr(args, "probe_cache", None),
                             cache_ttl=DEFAULT_CACHE_TTL if ttl is None else ttl)
    if not getattr(args, "probe", False):
        if given(args, "probe_cache"):
            raise UsageError("--probe-cache cannot be used with --no-probe"
                             if getattr(args, "probe_on_by_default", False) else "--probe-cache needs --probe")
        return None
    return settings


def add_crawl_options(parser: argparse.ArgumentParser) -> None:
    """Flags of a live-site crawl (``scan https://site.example/``); read back with ``crawl_settings``."""
    g = parser.add_argument_group("live sites (when PATH is an http:// or https:// URL)")
    g.add_argument("--allow-host", action="append", metavar="HOST",
                   help="also crawl pages and fetch stylesheets on HOST (repeatable); the start URL's host is "
                        "always in scope, other hosts are never contacted")
    g.add_argument("--path-prefix", metavar="PATH",
                   help="follow only pages whose path starts with PATH, such as /docs/ (the start URL and "
                        "stylesheets are not limited)")
    g.add_argument("--max-pages", type=int, metavar="N",
                   help=f"fetch at most N pages, breadth first (default: {DEFAULT_MAX_PAGES})")
    g.add_argument("--max-depth", type=int, metavar="N",
                   help="follow links at most N steps from the start page; pages a sitemap lists are 1 step "
                        "(default: no limit)")
    g.add_argument("--no-sitemaps", action="store_true",
                   help="do not read sitemaps (robots.txt Sitemap: lines, else /sitemap.xml)")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="no progress display on stderr (there is none when stderr is not a terminal)")


def crawl_settings(args: argparse.Namespace) -> CrawlSettings:
    """CrawlSettings from the PATH arguments (URLs) and the flags of ``add_crawl_options``."""
    from .sources.crawl import CrawlSettings, path_prefix, scope_host, start_url

    if not all(is_url(p) for p in args.paths):
        raise UsageError("give either URLs to crawl or paths to scan, not both")
    start = tuple(dict.fromkeys(start_url(p) for p in args.paths))
    return CrawlSettings(
        start=start, allow_hosts=tuple(scope_host(h) for h in args.allow_host or ()),
        path_prefix=None if args.path_prefix is None else path_prefix(args.path_prefix),
        max_pages=DEFAULT_MAX_PAGES if args.max_pages is None else args.max_pages,
        max_depth=args.max_depth, sitemaps=not args.no_sitemaps)


# flags that describe files on disk: a crawl judges each page as it is served instead
_DISK_ONLY = (("--base-url", "base_url"), ("--csp-header", "csp_header"), ("--jobs", "jobs"),
              ("--follow-symlinks", "follow_symlinks"), ("--follow-symlinks-outside", "follow_symlinks_outside"),
              ("--max-file-size", "max_file_size"))
_CRAWL_ONLY = (("--allow-host", "allow_host"), ("--path-prefix", "path_prefix"), ("--max-pages", "max_pages"),
               ("--max-depth", "max_depth"))


def _cmd_crawl(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    for flag, attr in _DISK_ONLY:
        if given(args, attr):
            raise UsageError(f"{flag} applies to files on disk; a crawl judges each page as it is served")
    crawl = crawl_settings(args)
    opts = _options(args)
    opts.pop("base-url", None)  # a configured base URL describes the built site, not this crawl
    settings = _settings(opts, args)
    fmt = str(opts.get("format", "text"))
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(sorted(FORMATS))}, got {fmt!r}")
    probe = probe_settings(args)
    net = net_settings(args)
    render = render_settings(args, settings)
    from .progress import CrawlProgress  # rich: only crawls show progress

    isatty = getattr(stderr, "isatty", None)
    with CrawlProgress(stderr, enabled=not args.quiet and bool(isatty and isatty())) as progress:
        def log(message: str) -> None:
            progress.log(stderr_line(message).rstrip("\n"))

        if render is not None:
            result = scan_rendered(args.paths, settings, render, crawl=crawl, net=net,
                                   show_suppressed=args.show_suppressed, probe=probe, log=log, progress=progress)
        else:
            result = scan_site(crawl, net, settings, show_suppressed=args.show_suppressed, probe=probe, log=log,
                               progress=progress)
    if result.pages == 0:
        raise _nothing_crawled(crawl, result)
    return _report_scan(result, args, opts, fmt, stdout, stderr)


def _nothing_crawled(crawl: CrawlSettings, result: ScanResult) -> InputError:
    """A crawl that found no page: the first error, said about the start URL it is about (an unreachable
    host, an untrusted certificate: what stopped everything), else that no page was found."""
    starts = ", ".join(crawl.start)
    if not result.errors:
        return InputError(f"nothing could be scanned from {starts} (no HTML page found)")
    first = result.errors[0]
    if first.url in crawl.start:
        return InputError(f"nothing could be scanned from {first.url}: {first.message}")
    return InputError(f"nothing could be scanned from {starts} ({first.url}: {first.message})")


def _report_scan(result: ScanResult, args: argparse.Namespace, opts: dict[str, object], fmt: str,
                 stdout: TextIO, stderr: TextIO) -> int:
    """The end of a scan (directory or crawl): baseline, report, errors on stderr, exit code."""
    if args.write_baseline:
        recorded = [f for f in result.findings if f.suppressed_by is None]
        write_baseline(args.write_baseline, recorded)
        stderr.write(stderr_line(f"recorded {plural(len(recorded), 'finding')} in {args.write_baseline}"))
        return 0
    if _kept is not None:
        _kept.append(result)  # (freed by the process's exit: see entry)
    jobs = opts.get("jobs", 0)  # --jobs (0: one per CPU): the processes the report may render in too
    _emit(result, fmt, args.output, stdout, str(opts.get("fail-on", "error")),
          workers=(jobs if isinstance(jobs, int) and jobs > 0 else os.cpu_count() or 1))
    if fmt != "text" and result.errors:
        for e in result.errors:
            stderr.write(stderr_line(f"{e.file or e.url}: {e.message}"))
    return exit_code(result, str(opts.get("fail-on", "error")), bool(opts.get("strict", False)))


def _parser(out: TextIO) -> _Parser:
    p = _Parser(prog="mixedcontent", description=_DESCRIPTION,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mixedcontent {__version__}")
    p.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("scan", help="scan a built static site directory, single HTML files, or a live site",
                       description="Scan a built static site directory (every .html/.htm/.xhtml/.shtml page "
                                   "and the same-site stylesheets the pages load, @import chains included) "
                                   "or single files, judging each page as served over https at --base-url; "
                                   "or crawl a live site from an http(s):// URL, judging each page as it is "
                                   "served (its scheme, its Content-Security-Policy header, its charset).",
                       epilog=_SCAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("paths", nargs="+", metavar="PATH",
                   help="site directory or HTML file(s), http(s):// URL(s) of a live site to crawl, or web "
                        "archives (.warc, .warc.gz, .arc, .arc.gz)")
    s.add_argument("--format", choices=sorted(FORMATS), help="report format (default: text)")
    s.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    s.add_argument("--fail-on", choices=FAIL_ON, help="lowest severity that makes the exit code 1 (default: error)")
    s.add_argument("--select", action="append", metavar="PREFIX",
                   help="report only codes starting with PREFIX (repeatable, comma-separated; longest prefix wins)")
    s.add_argument("--ignore", action="append", metavar="PREFIX",
                   help="do not report codes starting with PREFIX (repeatable, comma-separated)")
    s.add_argument("--baseline", metavar="FILE",
                   help="report (and fail on) only findings whose fingerprints are not in FILE")
    s.add_argument("--write-baseline", metavar="FILE",
                   help="record the fingerprints of today's findings in FILE, then exit 0")
    s.add_argument("--show-suppressed", action="store_true",
                   help="keep suppressed findings in the report, marked with suppressed_by")
    _add_site_options(s)
    add_probe_options(s)
    add_render_options(s)
    add_net_options(s)
    add_crawl_options(s)
    add_engine_options(s)

    fx = sub.add_parser("fix", help="rewrite insecure references in a built site, in place",
                        description="Rewrite the http:// references a scan finds in a built or archived static "
                                    "site (or single files), changing only the bytes of each URL, atomically "
                                    "per file. By default only references whose https twin the probe proved "
                                    "to work are upgraded.",
                        epilog=_FIX_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    fx.add_argument("paths", nargs="+", metavar="PATH", help="site directory or HTML file(s)")
    fx.add_argument("--dry-run", action="store_true",
                    help="change nothing: print a unified diff (or, with --format json, every edit)")
    fx.add_argument("--unsafe", action="store_true",
                    help="upgrade every http:// subresource to https:// without proving the twin works")
    fx.add_argument("--map", action="append", metavar="FROM=TO", default=[],
                    help="rewrite URLs under the http prefix FROM to the https prefix TO, e.g. "
                         "http://old.example=https://cdn.example (repeatable; applied as given, not probed)")
    fx.add_argument("--forms", action="store_true", help="also rewrite insecure form actions (MC201)")
    fx.add_argument("--add-csp-meta", action="store_true",
                    help="insert <meta http-equiv=\"Content-Security-Policy\" content=\"upgrade-insecure-requests\"> "
                         "at the top of each page's head (pages that already have one are left alone)")
    fx.add_argument("--backup", metavar="SUFFIX",
                    help="keep each original file next to it as FILE+SUFFIX (e.g. .orig); never overwritten")
    fx.add_argument("--format", choices=("text", "json"), default="text",
                    help="text (default; a unified diff with --dry-run) or json (every edit: file, offset, "
                         "length, old and new text)")
    fx.add_argument("--no-fsync", action="store_true",
                    help="do not make the rewritten files durable before renaming them (no syncfs/fsync; still "
                         "atomic against crashes of this process, not against power cuts)")
    _add_site_options(fx)
    add_probe_options(fx, on_by_default=True)
    add_net_options(fx)

    _add_posture_parsers(sub, out)

    r = sub.add_parser("rule", help="print the documentation of a rule code (or list the codes)",
                       description="Print a rule's documentation page, or list every rule code (or those "
                                   "starting with a prefix).")
    r.add_argument("code", nargs="?", metavar="CODE",
                   help="a rule code such as MC103, or a prefix such as MC1 to list the rules whose codes start "
                        "with it (as --select and --ignore take prefixes)")
    for parser in (p, s, fx, r):
        parser.out = out
    p.commands = dict(sub.choices)
    return p


# ---- configuration files (docs/configuration.md): every option has a key ------------------------------

# options with no configuration key, and why (tests/test_settings.py checks every other option has one)
NOT_CONFIG = {
    "help": "prints the help and exits",
    "config": "names the configuration file itself",
    "no-config": "says to read no configuration file",
    "write-baseline": "a one-off action (record today's findings, then exit 0): in a file it would turn every "
                      "scan into a passing run",
    "hosts": "audit's input, like the URL and PATH arguments (targets are never configured)",
}


def config_key(action: argparse.Action) -> str | None:
    """The configuration key of an option (None: a positional argument, or an option in NOT_CONFIG)."""
    names = [o[2:] for o in action.option_strings if o.startswith("--")]
    if not names or names[0] in NOT_CONFIG:
        return None
    return CONFIG_NAMES.get(names[0], names[0])


def given(args: argparse.Namespace, dest: str) -> bool:
    """Was the option stored at ``dest`` given on the command line (not by the configuration file)?
    Checks that a flag does not apply to a run ask this: a configured value that does not apply to a
    run (crawl limits in a directory scan, ``render-timeout`` without ``render``) is not used."""
    dests = getattr(args, "given", None)
    return dest in dests if dests is not None else getattr(args, dest, None) not in (None, False, [])


def _given_keys(args: argparse.Namespace) -> set[str]:
    return {d.replace("_", "-") for d in getattr(args, "given", ())}


def _given_dests(parser: _Parser, argv: list[str]) -> frozenset[str]:
    """The dests the command line sets itself: the same parse again, with no option having a default
    (then restored)."""
    saved = [(a, a.default) for p in (parser, *parser.commands.values()) for a in p._actions]
    for action, _ in saved:
        action.default = argparse.SUPPRESS
    try:
        return frozenset(vars(parser.parse_args(argv)))
    finally:
        for action, default in saved:
            action.default = default


def _known_keys(parser: _Parser) -> dict[str, frozenset[str]]:
    """The configuration keys of each command (the commands that read a site take its config-only keys too)."""
    known = {}
    for name, command in parser.commands.items():
        keys = {key for a in command._actions if (key := config_key(a)) is not None}
        known[name] = frozenset(keys | (CONFIG_ONLY if "base-url" in keys else set()))
    return known


def configure(args: argparse.Namespace, argv: list[str], parser: _Parser) -> None:
    """Read the configuration file (``--config FILE``, else the nearest one, none with ``--no-config``) and
    put its values for this command's options into ``args`` wherever the command line gave none
    (docs/configuration.md). Types are checked by ``load_config``, choices here; ``args`` also gets
    ``given`` (dests set on the command line), ``config_file``, ``config_values`` and ``configured``
    (the keys the file decided)."""
    command = parser.commands[args.command]
    args.given = _given_dests(parser, argv)
    args.config_file, args.config_values, args.configured = None, {}, frozenset()
    path = None if getattr(args, "no_config", False) else (getattr(args, "config", None) or find_config())
    if path is None:
        return
    actions = {key: a for a in command._actions if (key := config_key(a)) is not None}
    values = load_config(path, args.command, _known_keys(parser))
    configured = set()
    for key, value in values.items():
        action = actions.get(key)
        if action is None:
            configured.add(key)  # a setting the scan reads from the file (select for fix, per-path-ignores)
            continue
        if action.dest in args.given:
            continue  # the command line wins
        if action.choices is not None and value not in action.choices:
            raise UsageError(f"config {path}: {key} must be one of {', '.join(map(str, action.choices))} for "
                             f"`mixedcontent {args.command}`, got {value!r}")
        if isinstance(action, argparse._StoreFalseAction):
            value = not value
        elif isinstance(action, argparse._AppendAction):
            value = list(value)
        setattr(args, action.dest, value)
        configured.add(key)
    args.config_file, args.config_values, args.configured = path, values, frozenset(configured)


def _attributed(e: MixedContentError, args: argparse.Namespace | None) -> str:
    """The one-line message of ``e``; a bad value the configuration file gave is named by the file and
    its key (``config FILE: timeout must be ...``), as the command line names a flag's."""
    message = str(e)
    path = getattr(args, "config_file", None)
    if path is None or message.startswith("config "):
        return message
    key = e.key if isinstance(e, SettingError) else message.split(" ", 1)[0].rstrip(":")
    key = CONFIG_NAMES.get(key.lstrip("-"), key.lstrip("-"))
    if key in getattr(args, "configured", ()) and (message.startswith("--") or isinstance(e, SettingError)):
        return f"config {path}: {message.removeprefix('--')}"
    return message


class _Options(dict[str, object]):
    """Command-line flags over configuration over defaults, keyed by long option name; ``config`` is
    the configuration file the others came from (None: flags only), ``flags`` the keys given as flags."""

    config: str | None = None
    flags: frozenset[str] = frozenset()

    def where(self, key: str) -> str:
        """How an error names the setting ``key``: the flag the user gave, else the config file's key."""
        if key in self.flags or self.config is None:
            return f"--{key}"
        return f"config {self.config}: {key}"


def _options(args: argparse.Namespace) -> _Options:
    """Command-line flags over configuration over defaults, keyed by long option name (``configure`` has
    read the configuration: its values for this command's options are in ``args`` already)."""
    merged = _Options(getattr(args, "config_values", {}))
    merged.config = getattr(args, "config_file", None)
    for key in ("base-url", "assume-https", "csp-header", "no-scripting", "format", "fail-on", "jobs", "root",
                "follow-symlinks", "follow-symlinks-outside", "max-file-size", "baseline", "strict", "select",
                "ignore", "exclude-url"):
        value = getattr(args, key.replace("-", "_"), None)
        if value is not None:
            merged[CONFIG_NAMES.get(key, key)] = tuple(value) if isinstance(value, list) else value
    if merged.config is not None and "root" not in merged:
        # files given on their own are served from the configuration file's directory unless it names a root
        merged["root"] = os.path.dirname(os.path.abspath(merged.config))
    merged.flags = frozenset(CONFIG_NAMES.get(k, k) for k in _given_keys(args))
    return merged


def _settings(opts: dict[str, object], args: argparse.Namespace) -> ScanSettings:
    """ScanSettings from the options; the settings check their own values (SettingError), and a bad
    value that came from a configuration file is named by the file and its key."""
    options = opts if isinstance(opts, _Options) else _Options(opts)
    baseline = frozenset[str]()
    if options.get("baseline") and not getattr(args, "write_baseline", None):
        baseline = load_baseline(str(options["baseline"]), options.where("baseline"))
    max_mb = options.get("max-file-size", DEFAULT_MAX_FILE_SIZE // (1024 * 1024))
    try:
        return ScanSettings(
            base_url=options.get("base-url", DEFAULT_BASE_URL),  # type: ignore[arg-type]
            assume_https=bool(options.get("assume-https", False)),
            scripting=not options.get("no-scripting", False), csp_header=options.get("csp-header"),  # type: ignore[arg-type]
            jobs=options.get("jobs", 0),  # type: ignore[arg-type]
            follow_symlinks=bool(options.get("follow-symlinks", False)),
            follow_outside=bool(options.get("follow-symlinks-outside", False)),
            max_file_size=max_mb * 1024 * 1024 if isinstance(max_mb, int) else max_mb,  # type: ignore[arg-type]
            select=options.get("select", ()),  # type: ignore[arg-type]
            ignore=options.get("ignore", ()),  # type: ignore[arg-type]
            per_path_ignores=options.get("per-path-ignores", ()),  # type: ignore[arg-type]
            baseline=baseline, inline_ignores=not args.no_inline_ignores,
            root=None if options.get("root") is None else str(options["root"]),
            exclude_urls=options.get("exclude-urls", ()),  # type: ignore[arg-type]
        )
    except SettingError as e:
        if e.key in options.flags or options.config is None or e.key not in options:
            raise
        raise UsageError(f"config {options.config}: {e}") from None


def _note_http_base(settings: ScanSettings, stderr: TextIO) -> None:
    """An http base URL without --assume-https judges every page as an http page, where nothing is
    mixed content (docs/judging.md: on an http page nothing is mixed): say so, or a CI gate passes without a word."""
    if urls.scheme(settings.base_url) == "http:" and not settings.assume_https:
        stderr.write(f"mixedcontent: note: pages are judged as served at {settings.base_url} (http), where nothing "
                     f"is mixed content; add --assume-https to judge them as https pages\n")


def report_options(fail_on: str) -> ReportOptions:
    return ReportOptions(fail_on=None if fail_on == "never" else Severity(fail_on))


def exit_code(result: ScanResult, fail_on: str, strict: bool) -> int:
    if strict and result.errors:
        return 2
    options = report_options(fail_on)
    return 1 if options.fail_on is not None and any(options.fails(f) for f in result.findings) else 0


def _emit(result: ScanResult, fmt: str, output: str | None, stdout: TextIO, fail_on: str = "error",
          server_config: ServerConfig | None = None, *, workers: int = 1) -> None:
    writer = FORMATS[fmt]
    options = replace(report_options(fail_on), server_config=server_config, workers=workers)
    if output is None:
        writer(result, stdout, options)
        return
    try:
        with open_atomic(output) as out:  # streamed: the report is never held whole in memory
            writer(result, out, options)
    except OSError as e:
        raise InputError(f"--output {output}: {e.strerror or e}") from None


def _cmd_scan(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    engine = engine_settings(args)
    if any(is_url(p) for p in args.paths):
        for flag, attr in _ENGINE_FLAGS:
            if given(args, attr):
                raise UsageError(f"{flag} applies to directories and web archives, not to a crawl")
        return _cmd_crawl(args, stdout, stderr)
    if any(is_archive(p) for p in args.paths):
        return _cmd_archive(args, engine, stdout, stderr)
    if engine.shards is not None and not engine.distributed:
        if given(args, "shards"):
            raise UsageError("--shards needs --workers or --scheduler when scanning a directory")
        engine = replace(engine, shards=None)  # a configured shard directory is for cluster runs
    if engine.distributed and getattr(args, "probe", False):
        raise UsageError("--probe does not run on --workers/--scheduler yet: scan without them to probe")
    for flag, attr in _CRAWL_ONLY:
        if given(args, attr):
            raise UsageError(f"{flag} applies only when scanning a URL (a live site)")
    opts = _options(args)
    settings = _settings(opts, args)
    fmt = str(opts.get("format", "text"))
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(sorted(FORMATS))}, got {fmt!r}")
    probe = probe_settings(args)
    _note_http_base(settings, stderr)
    render = render_settings(args, settings)
    if render is not None and engine.distributed:
        raise UsageError("--render does not run on --workers/--scheduler: scan without them to render")

    def log(message: str) -> None:
        stderr.write(stderr_line(message))

    if render is not None:
        result = scan_rendered(list(args.paths), settings, render, replace(engine, jobs=settings.jobs),
                               show_suppressed=args.show_suppressed, probe=probe, log=log)
    else:
        result = scan_files(list(args.paths), settings, replace(engine, jobs=settings.jobs),
                            show_suppressed=args.show_suppressed, probe=probe, log=log)
    if result.documents == 0 and not result.errors:
        raise InputError("no HTML pages found in " + ", ".join(args.paths)
                         + " (pages end in .html, .htm, .xhtml or .shtml)")
    return _report_scan(result, args, opts, fmt, stdout, stderr)


# ---- the browser pass (README "Seeing what scripts load: --render") ----------------------------------

def add_render_options(parser: argparse.ArgumentParser) -> None:
    """--render and its bounds; read back with ``render_settings``."""
    g = parser.add_argument_group("browser pass (needs Debian's chromium-headless-shell or chromium package)")
    g.add_argument("--render", action="store_true",
                   help="also load every page in headless Chromium and merge the browser's own mixed-content "
                        "verdicts: findings it confirms get confirmed_by, requests scripts build are MC402 "
                        "(docs/render.md). A directory is served by the tool on loopback (no request leaves "
                        "the machine), as is a web archive (its captures replayed); a crawl's pages are loaded "
                        "from the live site, within the crawl's hosts (--allow-host, --resolve, --cacert apply)")
    g.add_argument("--render-timeout", type=float, metavar="SECONDS",
                   help=f"give up on one page after SECONDS (load, scroll, network idle; default: {DEFAULT_RENDER_TIMEOUT:g})")
    g.add_argument("--render-jobs", type=int, metavar="N",
                   help=f"pages loading at once, each in its own tab of one browser (default: {DEFAULT_RENDER_JOBS})")


def render_settings(args: argparse.Namespace, settings: ScanSettings) -> RenderSettings | None:
    """RenderSettings from the flags (UsageError names the flag), or None without --render."""
    timeout, jobs = getattr(args, "render_timeout", None), getattr(args, "render_jobs", None)
    if not getattr(args, "render", False):
        for flag, value in (("--render-timeout", timeout), ("--render-jobs", jobs)):
            if value is not None and given(args, flag[2:].replace("-", "_")):
                raise UsageError(f"{flag} needs --render")
        return None
    from .sources.browser import DEFAULT_JOBS, DEFAULT_TIMEOUT, RenderSettings, find_chromium

    if not settings.scripting:
        raise UsageError("--render runs the pages' scripts: it cannot judge as --no-scripting does")
    render = RenderSettings(timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
                            jobs=DEFAULT_JOBS if jobs is None else jobs)
    find_chromium(render)  # no browser: one line naming the package, before any work
    return render


# ---- web archives and clusters (README "Web archives and clusters") ----------------------------------

_ENGINE_FLAGS = (("--workers", "workers"), ("--scheduler", "scheduler"), ("--shards", "shards"))
# flags that describe a built site on disk: an archive holds each page as it was served
_SITE_ONLY = (("--base-url", "base_url"), ("--csp-header", "csp_header"), ("--jobs", "jobs"),
              ("--follow-symlinks", "follow_symlinks"), ("--follow-symlinks-outside", "follow_symlinks_outside"))


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Web archive input and the distributed engine; read back with ``engine_settings``."""
    g = parser.add_argument_group(
        "web archives and clusters (PATH may be .warc, .warc.gz, .arc or .arc.gz files: each archived page is "
        "judged as it was served, stylesheets resolved from the same archives)")
    g.add_argument("--workers", type=int, metavar="N",
                   help="run the scan on a local Dask cluster of N worker processes (loopback only); for web "
                        "archives and directories")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the scan on an existing Dask cluster, e.g. tcp://scheduler.example:8786 (its workers must "
                        "read the input paths at the same absolute paths and have mixedcontent installed)")
    g.add_argument("--shards", metavar="DIR",
                   help="also write each task's findings to DIR/<task key>.jsonl (JSON Lines, written atomically) "
                        "and DIR/manifest.json (the shards of this run and the summary)")


def engine_settings(args: argparse.Namespace, jobs: int = 0) -> EngineSettings:
    return EngineSettings(jobs=jobs, workers=getattr(args, "workers", None),
                          scheduler=getattr(args, "scheduler", None), shards=getattr(args, "shards", None),
                          short_lived=_kept is not None)


def _cmd_archive(args: argparse.Namespace, engine: EngineSettings, stdout: TextIO, stderr: TextIO) -> int:
    """``scan FILE.warc.gz ...``: every archived page as it was served (docs/judging.md; ``record`` in
    docs/json-report.md)."""
    if not all(is_archive(p) for p in args.paths):
        raise UsageError("give either web archives (.warc, .warc.gz, .arc, .arc.gz) or site paths, not both")
    for flag, attr in _SITE_ONLY + _CRAWL_ONLY:
        if given(args, attr):
            raise UsageError(f"{flag} does not apply to web archives: each archived page is judged as it was served")
    if given(args, "probe") and args.probe:
        raise UsageError("--probe does not apply to web archives yet")
    opts = _options(args)
    opts.pop("base-url", None)  # a configured base URL describes a built site, not an archive
    opts.pop("csp-header", None)
    settings = _settings(opts, args)
    fmt = str(opts.get("format", "text"))
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(sorted(FORMATS))}, got {fmt!r}")

    render = render_settings(args, settings)
    if render is not None and engine.distributed:
        raise UsageError("--render does not run on --workers/--scheduler: scan without them to render")

    def log(message: str) -> None:
        stderr.write(stderr_line(message))

    if render is not None:
        result = scan_rendered(list(args.paths), settings, render, replace(engine, jobs=settings.jobs),
                               show_suppressed=args.show_suppressed, log=log)
    else:
        result = scan_archives(list(args.paths), settings, replace(engine, jobs=settings.jobs),
                               show_suppressed=args.show_suppressed, log=log)
    if result.pages == 0 and not result.errors:
        raise InputError("no archived HTML pages found in " + ", ".join(args.paths))
    return _report_scan(result, args, opts, fmt, stdout, stderr)


def _cmd_fix(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from .fixer import FixInterrupted, FixOptions, fix_paths, parse_map
    from .report import fixes as fixes_report

    opts = _options(args)
    settings = _settings(opts, args)
    maps = []
    for text in args.map:
        try:
            maps.append(parse_map(text))
        except ValueError as e:
            raise UsageError(str(e)) from None
    if args.backup is not None and (not args.backup or "/" in args.backup or os.sep in args.backup):
        raise UsageError(f"--backup wants a file-name suffix such as .orig, got {args.backup!r}")
    options = FixOptions(unsafe=args.unsafe, forms=args.forms, maps=tuple(maps), add_csp_meta=args.add_csp_meta,
                         dry_run=args.dry_run, backup=args.backup, durable=not args.no_fsync)
    probe = probe_settings(args)  # validates the network flags even when nothing will be probed
    if args.unsafe:
        probe = None  # --unsafe proves nothing and needs no proof: it never goes online
    try:
        result = fix_paths(list(args.paths), settings, options, probe)
    except FixInterrupted as e:
        # docs/fix.md: nothing lost: each file is the original or the full rewrite, and the user learns which
        rewrote = plural(len(e.rewritten), "file")
        stderr.write(stderr_line(f"interrupted: rewrote {rewrote} before stopping; the others are unchanged (run fix "
                                 "again to finish)"))
        stderr.writelines(stderr_line(f"{rel}: rewritten") for rel in e.rewritten)
        if e.removed_temp_files:
            removed = plural(len(e.removed_temp_files), "temp file")
            stderr.write(stderr_line(f"removed {removed} of the interrupted run"))
        return 130
    if result.scan.documents == 0 and not result.scan.errors:
        raise InputError("no HTML pages found in " + ", ".join(args.paths)
                         + " (pages end in .html, .htm, .xhtml or .shtml)")
    if args.format == "json":
        fixes_report.write_json(result, stdout)
    else:
        fixes_report.write_text(result, stdout, stderr)
    failed = any(f.status == "error" or (f.status == "skipped" and f.message != "nothing to change")
                 for f in result.files)
    if bool(opts.get("strict", False)) and result.errors:
        return 2
    return 1 if failed else 0


_CSP_EPILOG = """\
what it suggests (docs/csp.md): (1) Content-Security-Policy: upgrade-insecure-requests, when every insecure
reference has a working https twin (proven with --probe), otherwise the list of what would still break;
(2) a Content-Security-Policy-Report-Only allowlist built from the hosts the scan found, per directive,
with a report endpoint (--report-uri; a placeholder by default); (3) the HSTS header with the preload
caveats. Then ready snippets for nginx, Apache, IIS (web.config), Caddy, HAProxy and <meta http-equiv>,
and (text output) the server TLS configuration of Mozilla's --tls-profile for nginx, Apache, Caddy and
HAProxy, as `audit` prints it.

exit codes: 0 suggestions written; 2 bad command line, no input, or the URL could not be fetched."""

_AUDIT_EPILOG = """\
checks (docs/audit.md): the plain-http URL redirects, first hop a 301/308 to https on the same host name
(ports are not compared: a test site may use two ports) (MC501, MC507); the https response's
Strict-Transport-Security header per RFC 6797 (MC502, MC503, MC506, MC509) and the hstspreload.org
rules, the base domain taken from the Public Suffix List (MC504); every Set-Cookie on https for Secure
(MC505); the landing page's own mixed content and its stylesheets' (as scan); and the https port's TLS,
scanned with
SSLyze (docs/audit.md#tls): SSL 3.0/TLS 1.0/TLS 1.1 accepted (MC510), no TLS 1.3 (MC511), the certificate
(MC512 invalid, MC513 expiring within 30 days), deviations from Mozilla's --tls-profile (MC514), no
HTTP/2 over ALPN (MC515). localhost, loopback addresses and --allow-http-host names are exempt from
the redirect rules. With TLS or HSTS findings the text report ends with the server configuration
that fixes them (nginx, Apache, Caddy, HAProxy; Mozilla's profile).

many hosts (docs/audit.md#hosts): --hosts FILE audits each listed host (--parallel at once, each bounded by
--host-timeout, with the same address safety) and writes one row per host in input order with
--rows FILE (CSV or JSON Lines): host, https, redirects_to_https, hsts, tls_versions,
certificate_expires, worst, codes, error. A host that cannot be judged is a row with its error.

exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad command line, the
site (or every listed host) could not be reached at all, or (with --strict) some check could not be
made."""


def _add_posture_parsers(sub: argparse._SubParsersAction[_Parser], out: TextIO) -> None:
    """The csp and audit subcommands (docs/csp.md, docs/audit.md)."""
    c = sub.add_parser("csp", help="suggest CSP (upgrade-insecure-requests, a Report-Only allowlist) and HSTS "
                                   "headers, with server snippets",
                       description="Suggest security headers for a site from a scan of a built site directory "
                                   "or files, or from a crawl of a live site (pages judged as if served over "
                                   "https).",
                       epilog=_CSP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("paths", nargs="+", metavar="PATH|URL",
                   help="site directory or HTML file(s), or http(s):// URL(s) of a live site to crawl")
    c.add_argument("--report-uri", metavar="URL",
                   help="where browsers send CSP reports (default: a placeholder to replace)")
    c.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    c.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    c.add_argument("--tls-profile", choices=("modern", "intermediate", "old", "none"), default="intermediate",
                   help="the text output ends with the server TLS configuration (protocols, ciphers, HSTS, OCSP "
                        "stapling) of this Mozilla profile for nginx, Apache, Caddy and HAProxy; none leaves it "
                        "out (default: intermediate)")
    _add_site_options(c)
    add_probe_options(c)
    add_render_options(c)
    add_crawl_options(c)
    add_net_options(c)
    a = sub.add_parser("audit", help="audit HTTPS posture: redirect, HSTS, preload, cookies, TLS, mixed content",
                       description="Audit the HTTPS posture of the host of URL (http or https), or of every host "
                                   "listed in a file with --hosts.",
                       epilog=_AUDIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("url", metavar="URL", nargs="?", help="an http:// or https:// URL of the site (or use --hosts)")
    a.add_argument("--allow-http-host", action="append", metavar="HOST", default=[],
                   help="a host name that may stay on plain http (no MC501/MC507), like localhost (repeatable)")
    a.add_argument("--http-port", type=int, metavar="PORT",
                   help="port of the plain-http site when URL is https (default: 80)")
    a.add_argument("--https-port", type=int, metavar="PORT",
                   help="port of the https site when URL is http (default: where the redirect goes, else 443)")
    a.add_argument("--no-www-check", action="store_true",
                   help="do not request https://www.<domain>/ for the preload rules")
    a.add_argument("--no-page-scan", action="store_true",
                   help="do not scan the landing page (and its stylesheets) for mixed content")
    a.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    a.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    a.add_argument("--fail-on", choices=FAIL_ON, default="error",
                   help="lowest severity that makes the exit code 1 (default: error)")
    a.add_argument("--select", action="append", metavar="PREFIX", help="report only codes starting with PREFIX")
    a.add_argument("--ignore", action="append", metavar="PREFIX", help="do not report codes starting with PREFIX")
    a.add_argument("--strict", action="store_true", help="exit 2 when some check could not be made")
    a.add_argument("--config", metavar="FILE", help="read configuration from FILE instead of searching for it")
    a.add_argument("--no-config", action="store_true", help="read no configuration file")
    t = a.add_argument_group("TLS (docs/audit.md#tls: MC510-MC515)")
    t.add_argument("--no-tls-check", action="store_true",
                   help="do not scan the https port's TLS (protocol versions, certificate, Mozilla profile, HTTP/2)")
    t.add_argument("--tls-profile", choices=("modern", "intermediate", "old"), default="intermediate",
                   help="Mozilla recommended configuration to compare with (MC514; default: intermediate)")
    t.add_argument("--tls-timeout", type=float, metavar="SECONDS",
                   help="give up one host's TLS scan after SECONDS (default: 60)")
    t.add_argument("--server-config", choices=("nginx", "apache", "caddy", "haproxy", "all", "none"), default="all",
                   help="with the text format, which servers' TLS configuration to print after a report with "
                        "TLS or HSTS findings (default: all)")
    h = a.add_argument_group("many hosts (docs/audit.md#hosts)")
    h.add_argument("--hosts", metavar="FILE",
                   help="audit every host or URL listed in FILE, one a line ('-' reads stdin; blank lines and "
                        "lines starting with # are skipped); a bare host starts at http://HOST/")
    h.add_argument("--rows", metavar="FILE", help="write one row per host to FILE ('-': stdout, instead of the report)")
    h.add_argument("--rows-format", choices=("csv", "jsonl"), default="csv",
                   help="rows as CSV with a header line, or JSON Lines (default: csv)")
    h.add_argument("--parallel", type=int, metavar="N",
                   help="hosts audited at once (default: 16); a list longer than that is shared among worker "
                        "processes, one per CPU, each auditing N at once (per Dask worker with --workers/--scheduler)")
    h.add_argument("--host-timeout", type=float, metavar="SECONDS",
                   help="give up one host after SECONDS in all; its row says so (default: 120)")
    h.add_argument("--workers", type=int, metavar="N", help="audit the hosts on a local Dask cluster of N workers")
    h.add_argument("--scheduler", metavar="ADDRESS",
                   help="audit the hosts on an existing Dask cluster, e.g. tcp://scheduler.example:8786")
    h.add_argument("--quiet", "-q", action="store_true",
                   help="no progress display on stderr (there is none when stderr is not a terminal)")
    add_net_options(a)
    c.out = a.out = out


def _write_out(text: str, output: str | None, stdout: TextIO) -> None:
    if output is None:
        stdout.write(text)
        return
    try:
        write_atomic(output, text)
    except OSError as e:
        raise InputError(f"--output {output}: {e.strerror or e}") from None


def _cmd_csp(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from . import csp
    from .report import csp as csp_report

    def log(message: str) -> None:
        stderr.write(stderr_line(message))

    probe = probe_settings(args)
    report_uri = args.report_uri or csp.REPORT_URI_PLACEHOLDER
    checked = urls.resolve(report_uri, "about:blank")
    if checked is None or urls.scheme(checked) not in ("http:", "https:"):
        raise UsageError(f"--report-uri must be an absolute http(s) URL, got {report_uri!r}")
    if any(is_url(t) for t in args.paths):
        for flag, attr in _DISK_ONLY:
            if getattr(args, attr, None) is not None:
                raise UsageError(f"{flag} applies to files on disk; a crawl judges each page as it is served")
        crawl = crawl_settings(args)
        opts = _options(args)
        opts.pop("base-url", None)
        # judged as served over https, whatever the site is served with today: what would break after the move
        opts["assume-https"] = True
        settings = _settings(opts, args)
        render = render_settings(args, settings)
        if render is not None:
            result = scan_rendered(args.paths, settings, render, crawl=crawl, net=net_settings(args), probe=probe,
                                   log=log)
        else:
            result = scan_site(crawl, net_settings(args), settings, probe=probe, log=log)
        if result.pages == 0:
            raise _nothing_crawled(crawl, result)
    else:
        for flag, attr in _CRAWL_ONLY:
            if given(args, attr):
                raise UsageError(f"{flag} applies only when the target is a URL (a live site)")
        settings = _settings(_options(args), args)
        render = render_settings(args, settings)
        if render is not None:
            result = scan_rendered(list(args.paths), settings, render, probe=probe, log=log)
        else:
            result = scan_files(list(args.paths), settings, probe=probe, log=log)
        if result.pages == 0 and not result.errors:
            raise InputError("no HTML pages found in " + ", ".join(args.paths))
    for e in result.errors:
        log(f"{e.file or e.url}: {e.message}")
    suggestion = csp.suggest(result, report_uri=report_uri)
    buf = io.StringIO()
    if args.format == "json":
        from .tlsconfig import server_config

        config = None if args.tls_profile == "none" else server_config(args.tls_profile)
        csp_report.write_json(suggestion, buf, __version__, config)
    else:
        csp_report.write_text(suggestion, buf)
        if args.tls_profile != "none":
            from .tlsconfig import render_all

            buf.write("\n" + render_all(args.tls_profile))
    _write_out(buf.getvalue(), args.output, stdout)
    return 0


def _audit_options(args: argparse.Namespace) -> AuditOptions:
    from .posture import AuditOptions
    from .tls import DEFAULT_SCAN_TIMEOUT, Profile, TlsSettings

    for flag, port in (("--http-port", args.http_port), ("--https-port", args.https_port)):
        if port is not None and not 0 < port < 65536:
            raise UsageError(f"{flag} must be a port number from 1 to 65535, got {port}")
    timeout = DEFAULT_SCAN_TIMEOUT if args.tls_timeout is None else args.tls_timeout
    if not 0 < timeout < float("inf"):
        raise UsageError(f"--tls-timeout must be a positive number of seconds, got {timeout!r}")
    return AuditOptions(
        allow_http_hosts=tuple(args.allow_http_host), http_port=args.http_port, https_port=args.https_port,
        check_www=not args.no_www_check, scan_page=not args.no_page_scan,
        select=code_prefixes(args.select) if args.select else (),
        ignore=code_prefixes(args.ignore) if args.ignore else (),
        tls=None if args.no_tls_check else TlsSettings(profile=Profile(args.tls_profile), timeout=timeout))


def _fixing_config(result: ScanResult, args: argparse.Namespace) -> ServerConfig | None:
    """docs/audit.md#tls: the server configuration that fixes the TLS or HSTS findings (Mozilla's profile
    for each server named by --server-config), None when there are none or it is not wanted."""
    from .tlsconfig import FIXED_BY_CONFIG, server_config

    found = {f.code for f in result.findings if f.suppressed_by is None}
    if args.server_config == "none" or not found & FIXED_BY_CONFIG:
        return None
    return server_config(args.tls_profile, None if args.server_config == "all" else (args.server_config,))


def _server_config(result: ScanResult, args: argparse.Namespace, stdout: TextIO) -> None:
    """After a text report with TLS or HSTS findings, the server configuration that fixes them (JSON
    reports carry it as ``server_config``)."""
    from .tlsconfig import render_all

    config = _fixing_config(result, args)
    if args.format != "text" or args.output is not None or config is None:
        return
    stdout.write("\n" + render_all(args.tls_profile, [sn.server for sn in config.snippets]))


def _cmd_audit(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from .posture import run_audit

    if (args.url is None) == (args.hosts is None):
        raise UsageError("audit needs a URL or --hosts FILE (not both)")
    if args.hosts is not None:
        return _cmd_audit_hosts(args, stdout, stderr)
    for flag, attr in (("--rows", "rows"), ("--parallel", "parallel"), ("--host-timeout", "host_timeout"),
                       ("--workers", "workers"), ("--scheduler", "scheduler")):
        if given(args, attr):
            raise UsageError(f"{flag} applies only with --hosts")
    url = urls.resolve(args.url, "about:blank")
    if url is None or urls.scheme(url) not in ("http:", "https:"):
        meant = urls.meant_url(args.url)
        raise UsageError(f"audit needs an http:// or https:// URL, got {args.url!r}"
                         + (f" (did you mean {meant}?)" if meant else ""))
    options = _audit_options(args)

    def log(message: str) -> None:
        stderr.write(stderr_line(message))

    result, record = run_audit(url, options, net_settings(args), log=log)
    reached = [c for c in (record.http_chain, record.https_chain) if c is not None and c.exchanges[0].status is not None]
    if not reached and (record.tls is None or record.tls.error is not None):
        raise InputError(f"{url}: the site could not be reached over http or https: "
                         + "; ".join(e.message for e in record.errors))
    _emit(result, args.format, args.output, stdout, args.fail_on, _fixing_config(result, args))
    _server_config(result, args, stdout)
    if args.format != "text":
        stderr.writelines(stderr_line(f"{e.file or e.url}: {e.message}") for e in result.errors)
    return exit_code(result, args.fail_on, args.strict)


@contextmanager
def _rows_out(path: str | None, stdout: TextIO) -> Iterator[TextIO | None]:
    """Where ``--rows`` goes: stdout for ``-``, else a temporary file beside ``path`` that replaces it
    once the run is complete (rows stream out as hosts finish; a failed run leaves the old file)."""
    from .rewrite import TEMP_SUFFIX

    if path is None or path == "-":
        yield None if path is None else stdout
        return
    directory, name = os.path.split(path)
    try:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=directory or ".")
    except OSError as e:
        raise InputError(f"--rows {path}: {e.strerror or e}") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _cmd_audit_hosts(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``audit --hosts FILE`` (docs/audit.md#hosts): one row per host, the findings in the usual report."""
    from .fleet import FleetProgress, FleetSettings, RowWriter, audit_hosts, read_hosts

    if args.url is not None:
        raise UsageError("audit needs a URL or --hosts FILE (not both)")
    if args.rows == "-" and args.output is None:
        raise UsageError("--rows - writes the rows to stdout: send the report elsewhere with --output FILE")
    parallel = 16 if args.parallel is None else args.parallel
    if parallel < 1:
        raise UsageError(f"--parallel must be 1 or more, got {parallel}")
    host_timeout = 120.0 if args.host_timeout is None else args.host_timeout
    if not 0 < host_timeout < float("inf"):
        raise UsageError(f"--host-timeout must be a positive number of seconds, got {host_timeout!r}")
    engine = EngineSettings(workers=args.workers, scheduler=args.scheduler)
    options = _audit_options(args)
    net = net_settings(args)
    if args.hosts == "-":
        hosts = read_hosts(sys.stdin, "-")
    else:
        try:
            with open(args.hosts, encoding="utf-8", errors="replace") as f:
                hosts = read_hosts(f, args.hosts)
        except OSError as e:
            raise InputError(f"--hosts {args.hosts}: {e.strerror or e}") from None
    if not hosts:
        raise InputError(f"--hosts {args.hosts}: no host listed")
    settings = FleetSettings(options=options, net=net, parallel=parallel, host_timeout=host_timeout)
    isatty = getattr(stderr, "isatty", None)
    with (
        _rows_out(args.rows, stdout) as sink,
        FleetProgress(stderr, len(hosts), enabled=not args.quiet and bool(isatty and isatty())) as progress,
    ):
        # docs/audit.md#hosts: each row is written as soon as the hosts before it are done
        rows = RowWriter(sink, args.rows_format) if sink is not None else None
        result, summary = audit_hosts(hosts, settings, engine, progress=progress, rows=rows)
    if args.rows != "-" or args.output is not None:
        _emit(result, args.format, args.output, stdout, args.fail_on, _fixing_config(result, args))
        if args.rows != "-":
            _server_config(result, args, stdout)
    failed = summary.failed
    if failed:
        stderr.write(stderr_line(f"{failed} of {plural(summary.hosts, 'host')} could not be judged (see the rows' "
                                 "error)"))
    if args.format != "text":
        stderr.writelines(f"mixedcontent: {e.file or e.url}: {e.message}\n" for e in result.errors)
    if failed == summary.hosts:
        return 2
    return exit_code(result, args.fail_on, args.strict)


def _cmd_rule(args: argparse.Namespace, stdout: TextIO) -> int:
    """``rule`` lists every rule, ``rule MC103`` prints one rule's page, ``rule MC1`` lists the rules whose
    codes start with MC1 (the prefixes --select and --ignore take)."""
    code = "" if args.code is None else args.code.strip().upper()
    found = RULES.get(code)
    if found is not None:
        stdout.write(found.doc())
        return 0
    family = [rule for c, rule in RULES.items() if c.startswith(code)] if code.startswith("MC") or not code else []
    if not family:
        raise UsageError(f"unknown rule code or prefix {args.code!r} (run `mixedcontent rule` for the list)")
    for rule in family:
        stdout.write(f"{rule.code}  {rule.name:<24} {rule.category.value:<15} {rule.severity.value:<8} "
                     f"{rule.summary}\n")
    return 0


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = _parser(stdout)
    args: argparse.Namespace | None = None
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help / --version
            return int(e.code or 0)
        if args.command is None:
            parser.print_help(stdout)
            return 2
        if args.command != "rule":
            configure(args, argv, parser)
        if args.command == "scan":
            return _cmd_scan(args, stdout, stderr)
        if args.command == "fix":
            return _cmd_fix(args, stdout, stderr)
        if args.command == "csp":
            return _cmd_csp(args, stdout, stderr)
        if args.command == "audit":
            return _cmd_audit(args, stdout, stderr)
        return _cmd_rule(args, stdout)
    except MixedContentError as e:
        stderr.write(stderr_line(_attributed(e, args)))
        return e.exit_code
    except KeyboardInterrupt:
        stderr.write("mixedcontent: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - the one place an unexpected error becomes one line
        if debug:
            import traceback

            traceback.print_exc(file=stderr)
        stderr.write(stderr_line(f"internal error: {type(e).__name__}: {e} (run with --debug for details)"))
        return 2


# Results a command-line run keeps to its end (see entry); None when main() is called as a function
_kept: list[object] | None = None


def entry() -> None:
    global _kept
    _kept = []
    code = main()
    # The run is over and everything it wrote is closed: leave without freeing the objects of the run
    # one at a time, a scan's result first (kept alive in _kept), then the interpreter's teardown (a
    # dense site's 55,000 findings: ~0.1 s, issue 19). What teardown would still do that matters runs
    # first: the atexit handlers (coverage, logging, multiprocessing's) and the flush of stdout and
    # stderr. Not while another thread runs: teardown would wait for it.
    if threading.active_count() == 1:
        atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # (a closed pipe: the interpreter's own exit reports it, as it did before)
        else:
            os._exit(code)
    sys.exit(code)
