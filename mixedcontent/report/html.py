"""One self-contained HTML report: counts by code, category and host drawn as bars (inline SVG), then
one table per page: each finding with its source line and the reference highlighted in it, the rule's
explanation one click away (``<details>``), the https probe's verdict and the fix as badges, and
suppressed findings marked. Filters by code, category, host, page and text; a URL fragment such as
``#code=MC102&host=cdn.example`` opens the report filtered.

Everything from the scan is escaped here; the inline script only shows and hides rows that exist.
The page carries its own Content-Security-Policy allowing exactly its one style and one script (by
hash) and nothing else: it loads nothing, from anywhere.

Source lines: the report reads the ScanResult, whose findings carry the byte offset and length of
the reference in the file as stored. For a scanned file the line is read back from the file at
report time (the same process, so the same working directory the inputs were named from) and shown
only when the bytes at that offset still decode to the finding's ``raw`` text; otherwise (a crawled
page, an archive record, a file changed since) the reference's own text is shown.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import cache
from html import escape
from typing import Any, TextIO

from ..model import Applicability, Finding, ScanResult
from ..rules import RULES
from ..wording import agree, plural
from .text import fix_outlook, safe, unscanned
from .text import host as _host
from .text import severities as by_severity

CONTEXT_CHARS = 120  # characters of the source line shown on each side of the reference
_BAR_WIDTH = 180

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;max-width:110rem}
h1{font-size:1.4rem}h2{font-size:1.05rem;margin:2rem 0 .3rem;font-family:ui-monospace,monospace;word-break:break-all}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}
td .url,td.src code,td.fix code{font-family:ui-monospace,monospace;word-break:break-all}
td.src code{white-space:pre-wrap;background:#f7f7f7;display:block;padding:.2rem .3rem}
mark{background:#ffe08a;color:inherit;font-weight:600;padding:0 .1rem;border-radius:2px}
.badge{display:inline-block;border-radius:.6rem;padding:0 .5rem;font-size:12px;margin:0 .2rem .2rem 0;white-space:nowrap}
.sev-error{background:#fbe3e3;color:#8a0000}.sev-warning{background:#fff1d6;color:#6b4500}
.sev-info{background:#e3eefb;color:#173a66}
.probe-ok{background:#dff3e4;color:#0d5b23}.probe-bad{background:#fbe3e3;color:#8a0000}
.probe-none{background:#eee;color:#444}.fix-safe{background:#dff3e4;color:#0d5b23}
.fix-unsafe{background:#fff1d6;color:#6b4500}.fix-manual{background:#eee;color:#444}
.suppressed-badge{background:#444;color:#fff}
tr.suppressed td{opacity:.55}tr.suppressed td.code b{text-decoration:line-through}
.summary{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}.summary table{width:auto}
.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
.filters{display:flex;gap:.8rem;flex-wrap:wrap;align-items:center;margin:1rem 0;padding:.6rem;background:#f7f7f7}
.filters select,.filters input{padding:.2rem;max-width:22rem}
details{margin-top:.3rem}summary{cursor:pointer;color:#1f4e8c}
details .rule{font-size:13px;max-width:60rem}
.msg{color:#333;margin-top:.2rem}
#rules details{margin:.4rem 0;border-left:3px solid #ccc;padding-left:.6rem}
#rules pre{background:#f7f7f7;padding:.4rem;overflow-x:auto}
""".strip()

_SCRIPT = """
(function(){
  var ids=['code','category','host','page','severity'];
  var sel={};ids.forEach(function(k){sel[k]=document.getElementById('f-'+k);});
  var text=document.getElementById('filter'), supp=document.getElementById('f-suppressed');
  var shown=document.getElementById('shown');
  function update(){
    var q=text.value.toLowerCase(), n=0;
    document.querySelectorAll('tr.finding').forEach(function(tr){
      var hit=ids.every(function(k){var v=sel[k].value;return !v||tr.getAttribute('data-'+k)===v;});
      if(hit&&!supp.checked&&tr.classList.contains('suppressed')){hit=false;}
      if(hit&&q){hit=(tr.getAttribute('data-url')+' '+tr.getAttribute('data-page')+' '+tr.getAttribute('data-code')+' '
        +tr.querySelector('.msg').textContent+' '+tr.querySelector('td.src').textContent).toLowerCase().indexOf(q)>=0;}
      tr.hidden=!hit;if(hit){n++;}
    });
    document.querySelectorAll('section.page').forEach(function(s){
      s.hidden=!s.querySelector('tr.finding:not([hidden])');
    });
    shown.textContent=String(n);
  }
  var hash=location.hash.replace(/^#/,'');
  if(hash){hash.split('&').forEach(function(part){
    var kv=part.split('='), k=decodeURIComponent(kv[0]||''), v=decodeURIComponent(kv.slice(1).join('=')||'');
    if(sel[k]){for(var i=0;i<sel[k].options.length;i++){if(sel[k].options[i].value===v){sel[k].value=v;}}}
    if(k==='q'){text.value=v;}
  });}
  ids.forEach(function(k){sel[k].addEventListener('change',update);});
  text.addEventListener('input',update);supp.addEventListener('change',update);
  function openRule(){
    var t=location.hash.indexOf('#rule-')===0&&document.getElementById(location.hash.slice(1));
    if(t&&t.tagName==='DETAILS'){t.open=true;}
  }
  window.addEventListener('hashchange',openRule);openRule();
  update();
  document.body.setAttribute('data-ready','1');
})();
""".strip()

@cache
def _markdown() -> Any:
    """The rule docs' CommonMark renderer, made on first use (markdown-it costs ~40 ms of start-up that
    every other report and every scan would pay)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False})
    md.add_render_rule("link_open", lambda *a: "")  # links shown as their text: the report links nowhere
    md.add_render_rule("link_close", lambda *a: "")
    md.add_render_rule("image", lambda *a: "")
    return md


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _e(s: object) -> str:
    """Escape for HTML text and attribute values; control characters shown escaped."""
    return escape(safe(str(s)), quote=True)


def _doc(f: Finding) -> str:
    return f.where


def _bars(title: str, counter: Counter[str], colour: str) -> str:
    top = max(counter.values(), default=1)
    rows = []
    for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        width = max(1, round(_BAR_WIDTH * n / top))
        rows.append(f"<tr><td>{_e(key)}</td><td class='n'>{n}</td><td><svg width='{_BAR_WIDTH}' height='12' "
                    f"role='img' aria-label='{n}'><rect width='{width}' height='12' rx='2' fill='{colour}'></rect>"
                    "</svg></td></tr>")
    return (f"<table id='by-{_e(title.lower())}'><thead><tr><th>{_e(title)}</th><th>findings</th><th></th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


# ---- source lines, read back at report time ----------------------------------------------------------

_ENCODINGS = ("utf-8", "windows-1252")


def _candidates(result: ScanResult, f: Finding) -> Iterable[str]:
    path = getattr(f, "path", None)  # the path from the working directory, where the model carries it
    if isinstance(path, str):
        yield path
    if f.file is None or f.record is not None:
        return
    if result.target.kind == "files":
        yield f.file
    elif result.target.kind == "directory":
        for root in result.target.inputs:
            yield os.path.join(root, f.file)


def _cut(data: bytes, f: Finding, encoding: str) -> tuple[str, str, str] | None:
    assert f.offset is not None and f.length is not None and f.raw is not None
    start, end = f.offset, f.offset + f.length
    try:
        if data[start:end].decode(encoding) != f.raw:
            return None
    except UnicodeDecodeError:
        return None
    line_start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
    ends = [i for i in (data.find(b"\n", end), data.find(b"\r", end)) if i >= 0]
    line_end = min(ends) if ends else len(data)
    before = data[line_start:start].decode(encoding, "replace")
    after = data[end:line_end].decode(encoding, "replace")
    if len(before) > CONTEXT_CHARS:
        before = "…" + before[-CONTEXT_CHARS:]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS] + "…"
    return before.lstrip() if not before.startswith("…") else before, f.raw, after.rstrip()


def source_lines(result: ScanResult) -> dict[int, tuple[str, str, str]]:
    """finding index -> (text before, the reference, text after) on its line, for findings whose file
    can be read back and still holds the reference at its offset. Each file is read once."""
    by_path: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(result.findings):
        if f.offset is None or f.length is None or f.raw is None:
            continue
        for path in _candidates(result, f):
            if os.path.isfile(path):
                by_path[path].append(i)
                break
    out: dict[int, tuple[str, str, str]] = {}
    for path, indexes in by_path.items():
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        for i in indexes:
            for encoding in _ENCODINGS:
                cut = _cut(data, result.findings[i], encoding)
                if cut is not None:
                    out[i] = cut
                    break
    return out


# ---- the parts of one finding ------------------------------------------------------------------------

def _rule_summary(code: str) -> str:
    """What a finding's "why" shows: the rule's first paragraph, and a link to its full page below
    (rendered once for the whole report, so the report grows by a line per finding, not a page)."""
    rule = RULES.get(code)
    if rule is None:
        return ""
    try:
        first = rule.short_description()
    except OSError:
        first = rule.summary
    return f"{_markdown().renderInline(first)} <a href='#rule-{_e(code)}'>What browsers do, examples, fixes</a>"


def _probe_badge(f: Finding) -> str:
    if f.https is None:
        return "<span class='badge probe-none' title='run with --probe to check the https twin'>not probed</span>"
    if f.https.works:
        return "<span class='badge probe-ok'>https works</span>"
    kind = "probe-bad" if f.https.fails else "probe-none"
    return f"<span class='badge {kind}'>https {_e(f.https.status)}: {_e(f.https.reason)}</span>"


def _fix_badge(f: Finding) -> str:
    if f.fix is None:
        return "<span class='badge fix-manual'>no automatic fix</span>"
    if f.fix.applicability is Applicability.SAFE:
        badge = "<span class='badge fix-safe'>fixable by <code>mixedcontent fix</code></span>"
    elif f.fix.applicability is Applicability.UNSAFE:
        badge = ("<span class='badge fix-unsafe' title='fix upgrades it once its https twin is proven, or with "
                 "--unsafe'>fixable by <code>mixedcontent fix</code> once https is proven</span>")
    else:
        badge = "<span class='badge fix-manual'>fix by hand</span>"
    note = f"<div class='msg'>{_e(f.fix.note)}</div>" if f.fix.note else ""
    return f"{badge}<div><code>{_e(f.fix.replacement)}</code></div>{note}"


def _row(f: Finding, line: tuple[str, str, str] | None, rules: dict[str, str]) -> str:
    where = f"{f.line}:{f.column}" if f.line is not None else ""
    if line is not None:
        before, raw, after = line
        source = f"<code>{_e(before)}<mark>{_e(raw)}</mark>{_e(after)}</code>"
    elif f.raw is not None:
        source = f"<code><mark>{_e(f.raw)}</mark></code>"
    else:
        source = ""
    if f.url is not None and f.url != f.raw:  # resolved (relative, <base>, entities): say what is requested
        source += f"<div class='msg'>requests <span class='url'>{_e(f.url)}</span></div>"
    classes = f"finding {f.severity.value}" + (" suppressed" if f.suppressed_by is not None else "")
    suppressed = (f"<span class='badge suppressed-badge'>suppressed ({_e(f.suppressed_by)})</span>"
                  if f.suppressed_by is not None else "")
    attrs = (f"data-code='{_e(f.code)}' data-category='{_e(f.category.value)}' data-host='{_e(_host(f.url))}' "
             f"data-page='{_e(_doc(f))}' data-severity='{_e(f.severity.value)}' data-url='{_e(f.url or '')}'")
    return (f"<tr class='{classes}' {attrs}>"
            f"<td class='loc'>{_e(where)}</td>"
            f"<td class='code'><span class='badge sev-{f.severity.value}'>{_e(f.severity.value)}</span>{suppressed}"
            f"<b>{_e(f.code)}</b> {_e(f.name)}<div class='msg'>{_e(f.message)}</div>"
            f"<details><summary>why</summary><div class='rule'>{rules.get(f.code, '')}</div></details></td>"
            f"<td class='src'>{source}</td>"
            f"<td class='https'>{_probe_badge(f)}</td><td class='fix'>{_fix_badge(f)}</td></tr>")


def _select(name: str, label: str, values: Iterable[str]) -> str:
    options = "".join(f"<option value='{_e(v)}'>{_e(v)}</option>" for v in sorted(set(values)))
    return f"<label>{_e(label)} <select id='f-{name}'><option value=''>all</option>{options}</select></label>"


def write(result: ScanResult, out: TextIO) -> None:
    findings = result.findings
    live = [f for f in findings if f.suppressed_by is None]
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        by_doc[_doc(f)].append(i)
    lines = source_lines(result)
    codes = sorted({f.code for f in findings})
    rules = {code: _rule_summary(code) for code in codes}
    outlook = fix_outlook(result, lambda text: f"<code>{_e(text)}</code>")  # docs/fix.md#what-scan-says
    csp = (f"default-src 'none'; style-src '{_hash(_STYLE)}'; script-src '{_hash(_SCRIPT)}'; base-uri 'none'; "
           "form-action 'none'")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta name='referrer' content='no-referrer'>",
        "<title>mixedcontent report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Mixed content report</h1>",
        f"<p id='totals'><span id='total'>{len(live)}</span> {agree(len(live), 'finding')}"
        + (f" ({by_severity(live)})" if live else "")
        + f" in {plural(result.pages, 'page')} and {plural(result.stylesheets, 'stylesheet')}; "
        + (f"{_e(unscanned(result.errors))}; " if result.errors else "")
        + f"{result.suppressed} suppressed" + (f"; {outlook}" if outlook else "") + ". "
        f"Target: {_e(', '.join(result.target.inputs))}"
        + (f" at {_e(result.target.base_url)}" if result.target.base_url else "") + ".</p>",
        "<div class='summary'>",
        _bars("Code", Counter(f"{f.code} {f.name}" for f in live), "#b3412e"),
        _bars("Category", Counter(f.category.value for f in live), "#c77c0e"),
        _bars("Host", Counter(_host(f.url) for f in live), "#2f6db3"),
        "</div>",
        "<div class='filters'>",
        _select("code", "code", codes),
        _select("category", "category", (f.category.value for f in findings)),
        _select("host", "host", (_host(f.url) for f in findings)),
        _select("page", "page", by_doc),
        _select("severity", "severity", (f.severity.value for f in findings)),
        "<label>text <input id='filter' type='search' placeholder='URL, element, message…'></label>",
        "<label><input id='f-suppressed' type='checkbox' checked> suppressed</label>",
        f"<span><span id='shown'>{len(findings)}</span> shown</span></div>",
    ]
    for doc in sorted(by_doc):
        rows = "".join(_row(findings[i], lines.get(i), rules) for i in by_doc[doc])
        parts.append(f"<section class='page' data-page='{_e(doc)}'><h2>{_e(doc)}</h2><table><thead><tr>"
                     "<th>line:col</th><th>finding</th><th>source</th><th>https</th><th>fix</th>"
                     f"</tr></thead><tbody>{rows}</tbody></table></section>")
    if result.errors:
        items = "".join(f"<li>{_e(e.where)}: {_e(e.message)}</li>" for e in result.errors)
        parts.append(f"<h2>Could not be scanned</h2><ul id='errors'>{items}</ul>")
    if codes:
        docs = "".join(f"<details id='rule-{_e(c)}'><summary>{_e(c)} {_e(RULES[c].name)}</summary>"
                       f"{_markdown().render(RULES[c].doc())}</details>" for c in codes if c in RULES)
        parts.append(f"<section id='rules'><h2>Rules</h2>{docs}</section>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    out.write("".join(parts))
