"""One self-contained HTML report: summary by code, category and host, then a table per page with
location, code, element, URL, source text, https probe result and suggested fix.

Everything from the scan is escaped on the server side; the inline script only sorts and filters
rows that exist, through textContent. The page carries its own Content-Security-Policy allowing
exactly its one style and one script (by hash) and nothing else: no network requests at all.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from html import escape
from typing import TextIO
from urllib.parse import urlsplit

from ..model import Finding, ScanResult
from .text import safe

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2;cursor:pointer;user-select:none}
td.url,td.src,td.fix{font-family:ui-monospace,monospace;word-break:break-all}
.error{color:#a40000}.warning{color:#8a5a00}.info{color:#245}
.summary{display:flex;gap:2rem;flex-wrap:wrap}.summary table{width:auto}
#filter{padding:.3rem;width:28rem;max-width:100%}
""".strip()

_SCRIPT = """
(function(){
  var input=document.getElementById('filter');
  var shown=document.getElementById('shown');
  function update(){
    var q=input.value.toLowerCase(), n=0;
    document.querySelectorAll('tr.finding').forEach(function(tr){
      var hit=tr.textContent.toLowerCase().indexOf(q)>=0;
      tr.hidden=!hit; if(hit){n++;}
    });
    shown.textContent=String(n);
  }
  input.addEventListener('input',update);
  document.querySelectorAll('table.sortable th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var table=th.closest('table'), body=table.tBodies[0];
      var col=th.cellIndex, asc=th.getAttribute('data-dir')!=='asc';
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].getAttribute('data-key')||a.cells[col].textContent;
        var y=b.cells[col].getAttribute('data-key')||b.cells[col].textContent;
        var nx=parseFloat(x), ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r);});
      th.setAttribute('data-dir',asc?'asc':'desc');
    });
  });
  update();
  document.body.setAttribute('data-ready','1');
})();
""".strip()


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _e(s: object) -> str:
    """Escape for HTML text and attribute values; control characters shown escaped."""
    return escape(safe(str(s)), quote=True)


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _counts(title: str, counter: Counter[str]) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td data-key='{n}'>{n}</td></tr>" for k, n in sorted(counter.items()))
    return (f"<table class='sortable' id='by-{_e(title.lower())}'><thead><tr><th>{_e(title)}</th><th>findings</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _probe(f: Finding) -> str:
    if f.https is None:
        return "not probed"
    return f"{f.https.status} ({f.https.reason})"


def _fix(f: Finding) -> str:
    if f.fix is None:
        return "—"
    return f"{f.fix.replacement} [{f.fix.applicability.value}]"


def write(result: ScanResult, out: TextIO) -> None:
    findings = result.findings
    by_doc: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_doc[f.file if f.file is not None else f.page].append(f)
    severities = Counter(f.severity.value for f in findings)
    csp = f"default-src 'none'; style-src '{_hash(_STYLE)}'; script-src '{_hash(_SCRIPT)}'; base-uri 'none'; form-action 'none'"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>mixedcontent report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Mixed content report</h1>",
        f"<p id='totals'><span id='total'>{len(findings)}</span> findings "
        f"({severities['error']} errors, {severities['warning']} warnings, {severities['info']} info) in "
        f"{result.pages} pages and {result.stylesheets} stylesheets; {len(result.errors)} inputs could not be "
        f"scanned; {result.suppressed} suppressed. Target: {_e(', '.join(result.target.inputs))} at "
        f"{_e(result.target.base_url or '')}.</p>",
        "<div class='summary'>",
        _counts("Code", Counter(f"{f.code} {f.name}" for f in findings)),
        _counts("Category", Counter(f.category.value for f in findings)),
        _counts("Host", Counter(_host(f.url) for f in findings)),
        "</div>",
        "<p><label>Filter: <input id='filter' type='search' placeholder='code, URL, element, page…'></label> "
        f"<span id='shown'>{len(findings)}</span> shown</p>",
    ]
    for doc in sorted(by_doc):
        rows = []
        for f in by_doc[doc]:
            where = f"{f.line}:{f.column}" if f.line is not None else ""
            element = f"<{f.element} {f.attribute}>" if f.attribute else f"<{f.element}>"
            rows.append(
                f"<tr class='finding {f.severity.value}'>"
                f"<td data-key='{f.offset or 0}'>{_e(where)}</td>"
                f"<td title='{_e(f.message)}'>{_e(f.code)}</td><td>{_e(f.severity.value)}</td>"
                f"<td>{_e(element)}</td><td class='url'>{_e(f.url or '')}</td><td class='src'>{_e(f.raw or '')}</td>"
                f"<td>{_e(_probe(f))}</td><td class='fix'>{_e(_fix(f))}</td></tr>")
        parts.append(f"<h2>{_e(doc)}</h2><table class='sortable'><thead><tr><th>line:col</th><th>code</th>"
                     "<th>severity</th><th>element</th><th>URL</th><th>source</th><th>https</th><th>suggested fix</th>"
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if result.errors:
        items = "".join(f"<li>{_e(e.file or e.url or '')}: {_e(e.message)}</li>" for e in result.errors)
        parts.append(f"<h2>Inputs that could not be scanned</h2><ul id='errors'>{items}</ul>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    out.write("".join(parts))
