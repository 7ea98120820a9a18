"""Command line: ``mixedcontent scan | rule``. ``main(argv) -> int`` is the only place that prints
errors and picks exit codes (SPEC §7): 0 nothing at or above --fail-on, 1 findings, 2 the run could
not be trusted.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from . import __version__, urls
from .errors import InputError, MixedContentError, UsageError
from .model import ScanResult, Severity
from .report import FORMATS
from .rules import RULES
from .pipeline import scan_paths
from .fixer import FixOptions, fix_paths, parse_map
from .report import fixes as fixes_report
from .rewrite import write_atomic
from .settings import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_FILE_SIZE,
    FAIL_ON,
    ScanSettings,
    code_prefixes,
    find_config,
    load_config,
)
from .suppress import load_baseline, write_baseline

_DESCRIPTION = """\
Find mixed content: http:// subresources on pages served over https, judged exactly as browsers
judge them (upgradable vs blockable, srcset/<picture>, IP-literal hosts, <base href>, CSP
upgrade-insecure-requests, insecure form actions)."""

_SCAN_EPILOG = """\
exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad command line or
configuration, no input, a missing path or an internal error (unreadable single files are reported
as errors and do not change the exit code unless --strict).

configuration: [tool.mixedcontent] in pyproject.toml, or mixedcontent.toml (top-level keys), found in
the current directory or a parent; keys are the long option names (base-url, select, ignore,
fail-on, format, per-path-ignores = {"legacy/**" = ["MC1"]}, baseline, ...). Flags win.

suppression: data-mixedcontent-ignore="MC101" on an element or an ancestor (empty = every code);
/* mixedcontent-ignore: MC101 */ in CSS covers its own line and the next; --baseline FILE.

rule codes: run `mixedcontent rule` for the list and `mixedcontent rule MC103` for one rule."""


_FIX_EPILOG = """\
what changes: only the bytes of each URL (usually "http" -> "https", and a ":80" port dropped);
encoding, BOM, line endings, entities, quoting and everything else stay byte-identical. References
under an http <base href> are fixed by fixing the base once. Script literals (MC401) are never
rewritten; references written with character references or CSS escapes in the scheme are shown, not
rewritten. Each file is written to a temp file in its directory, fsynced and renamed over the
original (permissions kept); a file changed since the scan began, a symlink, or a file outside the
root is never written. Temp files left by an interrupted run are removed by the next run.

exit codes: 0 done (or nothing to do); 1 a file could not be rewritten (changed meanwhile, unwritable,
backup exists); 2 bad command line or configuration, or a missing path."""


class _Parser(argparse.ArgumentParser):
    out: TextIO | None = None  # where --help and --version go: set per instance by _parser()

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def _print_message(self, message: str, file: TextIO | None = None) -> None:
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
    s.add_argument("--config", metavar="FILE", help="read configuration from FILE instead of searching for it")
    s.add_argument("--no-config", action="store_true", help="read no configuration file")
    s.add_argument("--strict", action="store_true", default=None, help="exit 2 when any file could not be scanned")
    s.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="worker processes for large scans (default: one per CPU; 1 = no workers)")
    s.add_argument("--follow-symlinks", action="store_true", default=None,
                   help="follow symlinked directories inside the root (loops are detected)")
    s.add_argument("--follow-symlinks-outside", action="store_true", default=None,
                   help="also follow symlinks that lead outside the scanned root")
    s.add_argument("--max-file-size", type=int, metavar="MB",
                   help="skip (with an error entry) files larger than this many MiB (default: "
                        f"{DEFAULT_MAX_FILE_SIZE // (1024 * 1024)})")


def _parser(out: TextIO) -> argparse.ArgumentParser:
    p = _Parser(prog="mixedcontent", description=_DESCRIPTION,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mixedcontent {__version__}")
    p.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("scan", help="scan a built static site directory or single HTML files",
                       description="Scan a built static site directory (every .html/.htm/.xhtml/.shtml page "
                                   "and the same-site stylesheets the pages load, @import chains included) "
                                   "or single files, judging each page as served over https at --base-url.",
                       epilog=_SCAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("paths", nargs="+", metavar="PATH", help="site directory or HTML file(s)")
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
    fx.add_argument("--no-probe", action="store_true",
                    help="do not probe https twins (then only --unsafe and --map rewrite anything)")
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
                    help="skip fsync of each file (still atomic against crashes of this process, not power cuts)")
    _add_site_options(fx)

    r = sub.add_parser("rule", help="print the documentation of a rule code (or list the codes)",
                       description="Print a rule's documentation page, or list every rule code.")
    r.add_argument("code", nargs="?", metavar="CODE", help="a rule code such as MC103")
    for parser in (p, s, fx, r):
        parser.out = out  # type: ignore[attr-defined]
    return p


def _options(args: argparse.Namespace) -> dict[str, object]:
    """Command-line flags over configuration over defaults, keyed by long option name."""
    config: dict[str, object] = {}
    if not args.no_config:
        path = args.config or find_config()
        if path is not None:
            config = load_config(path)
    merged = dict(config)
    for key in ("base-url", "assume-https", "csp-header", "no-scripting", "format", "fail-on", "jobs",
                "follow-symlinks", "follow-symlinks-outside", "max-file-size", "baseline", "strict"):
        value = getattr(args, key.replace("-", "_"), None)
        if value is not None:
            merged[key] = value
    for key in ("select", "ignore"):
        value = getattr(args, key, None)
        if value is not None:
            merged[key] = code_prefixes(value)
    return merged


def _settings(opts: dict[str, object], args: argparse.Namespace) -> ScanSettings:
    base = str(opts.get("base-url", DEFAULT_BASE_URL))
    parsed = urls.resolve(base, "about:blank")
    if parsed is None or urls.scheme(parsed) not in ("http:", "https:"):
        raise UsageError(f"--base-url must be an absolute http(s) URL, got {base!r}")
    if not parsed.endswith("/"):
        parsed = parsed.rsplit("/", 1)[0] + "/" if parsed.count("/") > 3 else parsed + "/"
    jobs = int(opts.get("jobs", 0))  # type: ignore[call-overload]
    max_mb = int(opts.get("max-file-size", DEFAULT_MAX_FILE_SIZE // (1024 * 1024)))  # type: ignore[call-overload]
    if jobs < 0:
        raise UsageError("--jobs must be 0 or more")
    if max_mb <= 0:
        raise UsageError("--max-file-size must be a positive number of MiB")
    baseline = frozenset[str]()
    if opts.get("baseline") and not getattr(args, "write_baseline", None):
        baseline = load_baseline(str(opts["baseline"]))
    return ScanSettings(
        base_url=parsed, assume_https=bool(opts.get("assume-https", False)),
        scripting=not opts.get("no-scripting", False), csp_header=opts.get("csp-header"),  # type: ignore[arg-type]
        jobs=jobs, follow_symlinks=bool(opts.get("follow-symlinks", False)),
        follow_outside=bool(opts.get("follow-symlinks-outside", False)), max_file_size=max_mb * 1024 * 1024,
        select=tuple(opts.get("select", ())),  # type: ignore[arg-type]
        ignore=tuple(opts.get("ignore", ())),  # type: ignore[arg-type]
        per_path_ignores=tuple(opts.get("per-path-ignores", ())),  # type: ignore[arg-type]
        baseline=baseline, inline_ignores=not args.no_inline_ignores,
    )


def exit_code(result: ScanResult, fail_on: str, strict: bool) -> int:
    if strict and result.errors:
        return 2
    if fail_on == "never":
        return 0
    threshold = Severity(fail_on).rank
    return 1 if any(f.severity.rank >= threshold and f.suppressed_by is None for f in result.findings) else 0


def _emit(result: ScanResult, fmt: str, output: str | None, stdout: TextIO) -> None:
    writer = FORMATS[fmt]
    if output is None:
        writer(result, stdout)
        return
    buf = io.StringIO()
    writer(result, buf)
    try:
        write_atomic(output, buf.getvalue())
    except OSError as e:
        raise InputError(f"--output {output}: {e.strerror or e}") from None


def _cmd_scan(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    opts = _options(args)
    settings = _settings(opts, args)
    fmt = str(opts.get("format", "text"))
    if fmt not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(sorted(FORMATS))}, got {fmt!r}")
    result = scan_paths(list(args.paths), settings, show_suppressed=args.show_suppressed)
    if result.pages == 0 and not result.errors:
        raise InputError("no HTML pages found in " + ", ".join(args.paths)
                         + " (pages end in .html, .htm, .xhtml or .shtml)")
    if args.write_baseline:
        recorded = [f for f in result.findings if f.suppressed_by is None]
        write_baseline(args.write_baseline, recorded)
        stderr.write(f"mixedcontent: recorded {len(recorded)} findings in {args.write_baseline}\n")
        return 0
    _emit(result, fmt, args.output, stdout)
    if fmt != "text" and result.errors:
        for e in result.errors:
            stderr.write(f"mixedcontent: {e.file or e.url}: {e.message}\n")
    return exit_code(result, str(opts.get("fail-on", "error")), bool(opts.get("strict", False)))


def _cmd_fix(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
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
    result = fix_paths(list(args.paths), settings, options)
    if result.scan.pages == 0 and not result.scan.errors:
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


def _cmd_rule(args: argparse.Namespace, stdout: TextIO) -> int:
    if args.code is None:
        for rule in RULES.values():
            stdout.write(f"{rule.code}  {rule.name:<24} {rule.category.value:<15} {rule.severity.value:<8} "
                         f"{rule.summary}\n")
        return 0
    code = args.code.strip().upper()
    rule = RULES.get(code)
    if rule is None:
        raise UsageError(f"unknown rule code {args.code!r} (run `mixedcontent rule` for the list)")
    stdout.write(rule.doc())
    return 0


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = _parser(stdout)
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help / --version
            return int(e.code or 0)
        if args.command is None:
            parser.print_help(stdout)
            return 2
        if args.command == "scan":
            return _cmd_scan(args, stdout, stderr)
        if args.command == "fix":
            return _cmd_fix(args, stdout, stderr)
        return _cmd_rule(args, stdout)
    except MixedContentError as e:
        stderr.write(f"mixedcontent: {e}\n")
        return e.exit_code
    except KeyboardInterrupt:
        stderr.write("mixedcontent: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - the one place an unexpected error becomes one line
        if debug:
            traceback.print_exc(file=stderr)
        stderr.write(f"mixedcontent: internal error: {type(e).__name__}: {e} (run with --debug for details)\n")
        return 2


def entry() -> None:
    sys.exit(main())
