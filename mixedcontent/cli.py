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
from .scan import DEFAULT_BASE_URL, DEFAULT_MAX_FILE_SIZE, ScanSettings, scan_paths

_FAIL_ON = ("error", "warning", "info", "never")

_DESCRIPTION = """\
Find mixed content: http:// subresources on pages served over https, judged exactly as browsers
judge them (upgradable vs blockable, srcset/<picture>, IP-literal hosts, <base href>, CSP
upgrade-insecure-requests, insecure form actions)."""

_SCAN_EPILOG = """\
exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 bad command line,
no input, a missing path or an internal error (unreadable single files are reported as errors and
do not change the exit code unless --strict).

rule codes: run `mixedcontent rule` for the list and `mixedcontent rule MC103` for one rule."""


class _Parser(argparse.ArgumentParser):
    out: TextIO | None = None  # where --help and --version go (main's stdout)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def _print_message(self, message: str, file: TextIO | None = None) -> None:
        if message:
            (_Parser.out or sys.stdout).write(message)


def _parser() -> argparse.ArgumentParser:
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
    s.add_argument("--base-url", default=DEFAULT_BASE_URL, metavar="URL",
                   help="URL the scanned root is served at; pages are judged at URL + their path "
                        f"(default: {DEFAULT_BASE_URL})")
    s.add_argument("--assume-https", action="store_true",
                   help="judge pages as https even when --base-url is http (a pre-migration scan)")
    s.add_argument("--csp-header", metavar="POLICY",
                   help="the Content-Security-Policy header the site is served with; its "
                        "upgrade-insecure-requests counts like the browser's (Report-Only never does)")
    s.add_argument("--no-scripting", action="store_true",
                   help="judge pages as a browser with scripting disabled would (<noscript> content is live)")
    s.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    s.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    s.add_argument("--fail-on", choices=_FAIL_ON, default="error",
                   help="lowest severity that makes the exit code 1 (default: error)")
    s.add_argument("--select", action="append", default=[], metavar="PREFIX",
                   help="report only codes starting with PREFIX (repeatable, comma-separated; longest prefix wins)")
    s.add_argument("--ignore", action="append", default=[], metavar="PREFIX",
                   help="do not report codes starting with PREFIX (repeatable, comma-separated)")
    s.add_argument("--strict", action="store_true", help="exit 2 when any file could not be scanned")
    s.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                   help="worker processes for large scans (default: one per CPU; 1 = no workers)")
    s.add_argument("--follow-symlinks", action="store_true",
                   help="follow symlinked directories inside the root (loops are detected)")
    s.add_argument("--follow-symlinks-outside", action="store_true",
                   help="also follow symlinks that lead outside the scanned root")
    s.add_argument("--max-file-size", type=int, default=DEFAULT_MAX_FILE_SIZE // (1024 * 1024), metavar="MB",
                   help="skip (with an error entry) files larger than this many MiB (default: "
                        f"{DEFAULT_MAX_FILE_SIZE // (1024 * 1024)})")

    r = sub.add_parser("rule", help="print the documentation of a rule code (or list the codes)",
                       description="Print a rule's documentation page, or list every rule code.")
    r.add_argument("code", nargs="?", metavar="CODE", help="a rule code such as MC103")
    return p


def _prefixes(values: list[str]) -> tuple[str, ...]:
    out = []
    for v in values:
        for part in v.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not part.startswith("MC") or not any(code.startswith(part) for code in RULES):
                raise UsageError(f"unknown rule code or prefix: {part!r} (see `mixedcontent rule`)")
            out.append(part)
    return tuple(out)


def _settings(args: argparse.Namespace) -> ScanSettings:
    base = args.base_url
    if urls.resolve(base, "https://example.invalid/") != base and urls.resolve(base, "https://x.invalid/") is None:
        raise UsageError(f"--base-url: not a URL: {base!r}")
    try:
        parsed = urls.resolve(base, "about:blank")
    except Exception:  # pragma: no cover - ada raises ValueError only
        parsed = None
    if parsed is None or urls.scheme(parsed) not in ("http:", "https:"):
        raise UsageError(f"--base-url must be an absolute http(s) URL, got {base!r}")
    if not parsed.endswith("/"):
        parsed = parsed.rsplit("/", 1)[0] + "/" if parsed.count("/") > 3 else parsed + "/"
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 or more")
    if args.max_file_size <= 0:
        raise UsageError("--max-file-size must be a positive number of MiB")
    return ScanSettings(
        base_url=parsed, assume_https=args.assume_https, scripting=not args.no_scripting,
        csp_header=args.csp_header, jobs=args.jobs, follow_symlinks=args.follow_symlinks,
        follow_outside=args.follow_symlinks_outside, max_file_size=args.max_file_size * 1024 * 1024,
        select=_prefixes(args.select), ignore=_prefixes(args.ignore),
    )


def exit_code(result: ScanResult, fail_on: str, strict: bool) -> int:
    if strict and result.errors:
        return 2
    if fail_on == "never":
        return 0
    threshold = Severity(fail_on).rank
    return 1 if any(f.severity.rank >= threshold for f in result.findings) else 0


def _emit(result: ScanResult, fmt: str, output: str | None, stdout: TextIO) -> None:
    writer = FORMATS[fmt]
    if output is None:
        writer(result, stdout)
        return
    buf = io.StringIO()
    writer(result, buf)
    tmp = f"{output}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(buf.getvalue())
        os.replace(tmp, output)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InputError(f"--output {output}: {e.strerror or e}") from None


def _cmd_scan(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    settings = _settings(args)
    result = scan_paths(list(args.paths), settings)
    if result.pages == 0 and not result.errors:
        raise InputError("no HTML pages found in " + ", ".join(args.paths)
                         + " (pages end in .html, .htm, .xhtml or .shtml)")
    _emit(result, args.format, args.output, stdout)
    if args.format != "text" and result.errors:
        for e in result.errors:
            stderr.write(f"mixedcontent: {e.file or e.url}: {e.message}\n")
    return exit_code(result, args.fail_on, args.strict)


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
    parser = _parser()
    _Parser.out = stdout
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
