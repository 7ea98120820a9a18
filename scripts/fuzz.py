#!/usr/bin/env python3
"""Long fuzz runs of the extractors: generated and mutated pages and stylesheets, for a time budget.

    python3 scripts/fuzz.py [--seconds 600] [--seed 1] [--out fuzz-findings] [--alarm 10]

Inputs: pages and stylesheets generated from fragments of markup and CSS (nesting bombs and long
runs included), and mutations of the fixtures (bytes flipped, fragments inserted, stretches deleted,
duplicated or spliced from another file). Each input is checked against the extraction contract:

* no exception from decoding, HTML extraction (fast, exhaustive, links, XHTML) or CSS extraction;
* every reference's span, read from the stored bytes and decoded, is exactly its ``raw`` (CSS: the
  text between start and end);
* the fast path finds exactly what the exhaustive path finds.

A worker process runs the inputs and writes each one to ``OUT/current.bin`` before it starts; the
parent is the per-input alarm: when one input uses more than ``--alarm`` CPU seconds (even inside the regex
engine, where a signal would wait), it kills the worker, keeps the input as a hang and starts a new
worker. Crashes, hangs and contract failures are saved in ``OUT`` (the input, and a .txt saying
what happened). The same ``--seed`` gives the same inputs. Exit status 1 if anything was found.
Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # css_pieces: the CSS pieces the hypothesis tests draw from

from css_pieces import CSS_PIECES  # noqa: E402 - after the sys.path lines above

HTML_FRAGMENTS = [
    "<img src=",
    "<IMG SRC=",
    '<img srcset="',
    "<picture>",
    "</picture>",
    "<source srcset=",
    "<source src=",
    "<video poster=",
    "</video>",
    "<track src=",
    "<audio>",
    "<script>",
    "</script>",
    "<script src=",
    "<style>",
    "</style>",
    "<svg>",
    "</svg>",
    "<math>",
    "<template>",
    "</template>",
    "<!--",
    "-->",
    "--!>",
    "<!",
    "<?",
    "</",
    "<base href=",
    "<base href=http://old.example/>",
    "<head>",
    "</head>",
    "<body>",
    "<body background=",
    "<meta http-equiv=Content-Security-Policy content=upgrade-insecure-requests>",
    '<iframe srcdoc="',
    "<iframe>",
    "</iframe>",
    "<textarea>",
    "</textarea>",
    "<noscript>",
    "<form action=",
    "<button formaction=",
    "<link rel=stylesheet href=",
    "<link rel=icon href=",
    "<link rel=preload as=image imagesrcset=",
    "<a ping=",
    "<a href=",
    "<area href=",
    "<frame src=",
    "<object data=",
    "<embed src=",
    "<image href=",
    "<use href=",
    "<feImage xlink:href=",
    "<![CDATA[",
    "]]>",
    "<p>",
    '<div style="',
    "background:url(",
    ")",
    "http://cdn.example/a.png",
    "http://192.0.2.1/x",
    "HTTP://X.example/",
    "ht\ttp://t.example/",
    "https://ok.example/",
    "&#104;ttp://e.example/",
    "http&#58;//c.example/",
    "&quot;",
    "&amp;",
    "&#58;",
    "&#x",
    "&",
    '"',
    "'",
    "=",
    ">",
    "/>",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x0c",
    ",",
    " 2x, ",
    " 100w",
    "é",
    "日本",
    "😀",
    "\\",
    "\\68ttp://",
    "onclick=\"f('http://s.example/')\"",
    "<meta ",
    "http-equiv=",
    "refresh",
    'content="0;url=http://r.example/"',
    "<meta charset=shift_jis>",
    "<meta charset=utf-16>",
    "<meta charset=windows-1252>",
    "data-mixedcontent-ignore=",
    '"MC101"',
    "<title>",
    "</title>",
    "<!--<script>",
    "@import ",
    "url(",
    "</style ",
    "</script ",
    "<plaintext>",
    "<xmp>",
    "</xmp>",
    "<table background=",
    "<td background=",
    "<input type=image src=",
    "<link rel=next href=",
]
CSS_FRAGMENTS = [*CSS_PIECES, "/* mixedcontent-ignore: MC101 */"]  # the tests' pieces, and a suppression marker
PAGE_URLS = ["https://example.invalid/d/p.html", "http://example.invalid/d/p.html"]


# ---- inputs ------------------------------------------------------------------------------------------


def _seeds() -> list[tuple[str, bytes]]:
    """The fixtures, as ("html" | "css", bytes)."""
    out = []
    for path in sorted((ROOT / "fixtures").rglob("*")):
        if (
            path.is_file()
            and path.suffix in (".html", ".htm", ".xhtml", ".css")
            and path.stat().st_size < 2_000_000
        ):
            out.append(("css" if path.suffix == ".css" else "html", path.read_bytes()))
    return out


def _generated(rng: random.Random, kind: str) -> bytes:
    fragments = CSS_FRAGMENTS if kind == "css" else HTML_FRAGMENTS
    r = rng.random()
    if r < 0.05:  # a nesting bomb or a long run of one fragment
        piece = rng.choice(fragments)
        return (piece * rng.randint(1000, 20000) + rng.choice(fragments)).encode("utf-8", "surrogatepass")
    parts = [
        rng.choice(fragments)
        if rng.random() < 0.85
        else "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(1, 5)))
        for _ in range(rng.randint(1, 200))
    ]
    text = "".join(parts)
    encoding = rng.choice(
        ["utf-8", "utf-8", "utf-8", "utf-16-le", "cp1252", "shift_jis", "euc-jp", "gb18030"]
    )
    return text.encode(encoding, "replace") if encoding != "utf-8" else text.encode("utf-8", "surrogatepass")


def _mutated(rng: random.Random, data: bytes, seeds: list[tuple[str, bytes]], kind: str) -> bytes:
    fragments = CSS_FRAGMENTS if kind == "css" else HTML_FRAGMENTS
    for _ in range(rng.randint(1, 8)):
        n = len(data)
        i = rng.randint(0, n)
        op = rng.randrange(6)
        if op == 0 and n:
            i = min(i, n - 1)
            data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
        elif op == 1:
            data = data[:i] + rng.choice(fragments).encode() + data[i:]
        elif op == 2:
            data = data[:i] + data[i + rng.randint(1, 200) :]
        elif op == 3:
            j = min(n, i + rng.randint(1, 500))
            data = data[:j] + data[i:j] * rng.randint(1, 20) + data[j:]
        elif op == 4:
            other = rng.choice(seeds)[1]
            k = rng.randint(0, len(other))
            data = data[:i] + other[k : k + rng.randint(1, 2000)] + data[i:]
        else:
            data = data[:i]
    return data


def make_input(rng: random.Random, seeds: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    if seeds and rng.random() < 0.5:
        kind, data = rng.choice(seeds)
        return kind, _mutated(rng, data, seeds, kind)
    kind = "css" if rng.random() < 0.3 else "html"
    return kind, _generated(rng, kind)


# ---- the contract ------------------------------------------------------------------------------------


class ContractFailure(AssertionError):
    pass


def check(kind: str, data: bytes, rng: random.Random) -> None:
    from mixedcontent.extract import css, html
    from mixedcontent.extract.html import PageContext, extract_html
    from mixedcontent.extract.source import decode_css, decode_html, decode_xml

    if kind == "css":
        src = decode_css(data)
        for fn in (css.extract_stylesheet, css.extract_declarations):
            for u in fn(src.text):
                if src.text[u.start : u.end] != u.raw:
                    raise ContractFailure(f"{fn.__name__}: text[{u.start}:{u.end}] is not raw {u.raw!r}")
        return
    page = PageContext(
        rng.choice(PAGE_URLS), True, upgrade_insecure=rng.random() < 0.1, scripting=rng.random() < 0.9
    )
    src = decode_html(data)
    html.prepare_bulk()  # the fast path from the first input (else the first 128,000 code points go the exhaustive way)
    found = {}
    for name, kw in (("fast", {}), ("exhaustive", {"exhaustive": True}), ("links", {"links": True})):
        refs = extract_html(src, page, **kw).references
        for ref in refs:
            if src.decode(src.data[ref.span.start : ref.span.end]) != ref.raw:
                raise ContractFailure(f"{name}: span {ref.span} does not hold raw {ref.raw!r}")
        found[name] = [(r.span, r.url, r.element, r.attribute) for r in refs]
    if found["fast"] != found["exhaustive"]:
        raise ContractFailure("the fast path and the exhaustive path found different references")
    if rng.random() < 0.2:
        xsrc = decode_xml(data)
        for ref in extract_html(xsrc, page, xml=True).references:
            if xsrc.decode(xsrc.data[ref.span.start : ref.span.end]) != ref.raw:
                raise ContractFailure(f"xml: span {ref.span} does not hold raw {ref.raw!r}")


# ---- worker and watchdog -----------------------------------------------------------------------------


def _save(out: Path, what: str, kind: str, data: bytes, detail: str) -> None:
    digest = hashlib.sha256(data).hexdigest()[:16]
    (out / f"{what}-{digest}.{kind}").write_bytes(data)
    (out / f"{what}-{digest}.txt").write_text(detail)


def worker(seed: str, out: Path, done: Any, failures: Any, deadline: float, ready: Any) -> None:
    """Run inputs until ``deadline``; ``done``/``failures`` are shared counters, ``ready`` an event."""
    rng = random.Random(seed)
    seeds = _seeds()
    check("html", b"<p>", random.Random(0))  # imports everything before the alarm starts
    current = out / "current.bin"
    ready.set()
    while time.time() < deadline:
        kind, data = make_input(rng, seeds)
        check_rng = random.Random(rng.random())
        current.write_bytes(kind.encode() + b"\n" + data)
        try:
            check(kind, data, check_rng)
        except ContractFailure as e:
            failures.value += 1
            _save(out, "contract", kind, data, f"{e}\n")
        except Exception:  # noqa: BLE001 - every exception is a finding
            failures.value += 1
            _save(out, "crash", kind, data, traceback.format_exc())
        with done.get_lock():
            done.value += 1


def _cpu_seconds(pid: int | None) -> float:
    """CPU time a process has used (Linux /proc; wall time elsewhere): the alarm counts the worker's
    own work, so a loaded machine does not turn a slow input into a hang."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return time.time()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="time budget (default 60)")
    ap.add_argument("--seed", type=int, default=1, help="the same seed gives the same inputs (default 1)")
    ap.add_argument("--out", default="fuzz-findings", help="where findings are saved (default fuzz-findings)")
    ap.add_argument("--alarm", type=float, default=10, help="CPU seconds one input may take (default 10)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    done, failures = ctx.Value("q", 0), ctx.Value("q", 0)
    hangs = restarts = 0
    deadline = time.time() + args.seconds
    start = time.time()
    while time.time() < deadline:
        ready = ctx.Event()
        proc = ctx.Process(
            target=worker, args=(f"{args.seed}-{restarts}", out, done, failures, deadline, ready)
        )
        proc.start()
        ready.wait(120)
        last, last_change = done.value, _cpu_seconds(proc.pid)
        while proc.is_alive():
            proc.join(0.5)
            if done.value != last:
                last, last_change = done.value, _cpu_seconds(proc.pid)
            elif _cpu_seconds(proc.pid) - last_change > args.alarm:
                proc.kill()
                proc.join()
                current = (out / "current.bin").read_bytes()
                kind, _, data = current.partition(b"\n")
                hangs += 1
                _save(out, "hang", kind.decode(), data, f"over {args.alarm} CPU s on one input\n")
                break
        restarts += 1
        if proc.exitcode not in (0, None, -9):
            failures.value += 1
            current = (out / "current.bin").read_bytes()
            kind, _, data = current.partition(b"\n")
            _save(out, "crash", kind.decode(), data, f"worker died with exit code {proc.exitcode}\n")
    (out / "current.bin").unlink(missing_ok=True)
    elapsed = time.time() - start
    print(
        f"fuzz: {done.value} inputs in {elapsed:.0f} s (seed {args.seed}): {failures.value} crashes or "
        f"contract failures, {hangs} hangs; findings in {out}/"
        if failures.value or hangs
        else f"fuzz: {done.value} inputs in {elapsed:.0f} s (seed {args.seed}): 0 crashes, 0 hangs, "
        f"0 contract failures"
    )
    return 1 if failures.value or hangs else 0


if __name__ == "__main__":
    sys.exit(main())
