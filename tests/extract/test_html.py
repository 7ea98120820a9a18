"""HTML extraction + classification of single snippets, against expectations written from SPEC §3-4."""

from __future__ import annotations

import pytest

from mixedcontent.classify import classify
from mixedcontent.extract.html import PageContext, extract_html, policy_upgrades, refresh_url
from mixedcontent.extract.source import decode_html, decode_xml

PAGE = "https://example.invalid/dir/page.html"


def judge(html: str, *, url: str = PAGE, secure: bool = True, upgrade: bool = False, scripting: bool = True,
          xml: bool = False, encoding: str = "utf-8") -> list[tuple[str, str]]:
    data = html.encode(encoding)
    src = decode_xml(data) if xml else decode_html(data)
    ext = extract_html(src, PageContext(url, secure, upgrade, scripting), xml=xml)
    out = []
    for ref in ext.references:
        f = classify(ref, "page.html")
        if f is None:
            continue
        assert data[f.offset:f.offset + f.length] == f.raw.encode(encoding)
        out.append((f.code, f.raw))
    return out


def codes(html: str, **kw: object) -> list[str]:
    return [c for c, _ in judge(html, **kw)]  # type: ignore[arg-type]


# ---- §4.1 rows ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("html,expected", [
    ('<img src="http://cdn.example/a.png">', ["MC101"]),
    ('<IMG SRC=http://cdn.example/a.png>', ["MC101"]),
    ("<img src='http://cdn.example/a.png' alt=x>", ["MC101"]),
    ('<img srcset="" src="http://cdn.example/a.png">', ["MC103"]),
    ('<img src="http://cdn.example/a.png" srcset="http://cdn.example/b.png 2x">', ["MC103", "MC103"]),
    ('<picture><img src="http://cdn.example/a.png"></picture>', ["MC103"]),
    ('<picture><div><img src="http://cdn.example/a.png"></div></picture>', ["MC101"]),
    # a <picture> left open is closed by the end tag of an element around it: later images are not in it
    ('<div><picture><img src="http://cdn.example/a.png"></div><img src="http://cdn.example/b.png">',
     ["MC103", "MC101"]),
    ('<p><picture><source srcset="http://cdn.example/a.webp"><img src="/a.png"></p><img src="http://cdn.example/b.png">',
     ["MC103", "MC101"]),
    ('<ul><li><picture><img src="/a.png"></li><li><img src="http://cdn.example/b.png"></ul>', ["MC101"]),
    # ... but not by those that pop nothing: </br> is <br>, </form> removes only the form, </body> ends nothing
    ('<picture><img src="http://cdn.example/a.png"></br><img src="http://cdn.example/b.png"></picture>',
     ["MC103", "MC103"]),
    ('<form><picture></form><img src="http://cdn.example/b.png">', ["MC103"]),
    ('<body><picture></body><img src="http://cdn.example/b.png">', ["MC103"]),
    ('<picture><source srcset="http://cdn.example/a.webp 1x, http://cdn.example/b.webp 2x"></picture>',
     ["MC103", "MC103"]),
    ('<source srcset="http://cdn.example/a.webp">', []),
    ('<video src="http://cdn.example/v.mp4" poster="http://cdn.example/p.jpg"></video>', ["MC101", "MC101"]),
    ('<audio src="http://cdn.example/a.mp3"></audio>', ["MC101"]),
    ('<video><source src="http://cdn.example/v.webm"><track src="http://cdn.example/t.vtt"></video>',
     ["MC101", "MC102"]),
    ('<input type=image src="http://cdn.example/b.png">', ["MC101"]),
    ('<input type=text src="http://cdn.example/b.png">', []),
    ('<body background="http://cdn.example/bg.png">', ["MC101"]),
    ('<table><tr><td background="http://cdn.example/bg.png">x</td></tr></table>', ["MC101"]),
    ('<script src="http://cdn.example/a.js"></script>', ["MC102"]),
    ('<script type=module src="http://cdn.example/a.js"></script>', ["MC102"]),
    ('<script nomodule src="http://cdn.example/a.js"></script>', []),
    ('<script type="text/template" src="http://cdn.example/a.js"></script>', []),
    ('<link rel=stylesheet href="http://cdn.example/a.css">', ["MC102"]),
    ('<link rel="alternate stylesheet" href="http://cdn.example/a.css">', ["MC102"]),
    ('<link rel=stylesheet disabled href="http://cdn.example/a.css">', []),
    ('<link rel=stylesheet type="text/less" href="http://cdn.example/a.css">', []),
    ('<link rel="shortcut icon" href="http://cdn.example/favicon.ico">', ["MC102"]),
    ('<link rel=apple-touch-icon href="http://cdn.example/t.png">', []),
    ('<link rel=preload as=image href="http://cdn.example/a.png">', ["MC101"]),
    ('<link rel=preload as=font href="http://cdn.example/a.woff2" crossorigin>', ["MC102"]),
    ('<link rel=preload as=video href="http://cdn.example/a.mp4">', []),
    ('<link rel=preload href="http://cdn.example/a.mp4">', []),
    ('<link rel=modulepreload href="http://cdn.example/m.js">', ["MC102"]),
    ('<link rel=prefetch href="http://cdn.example/next.html">', ["MC102"]),
    ('<link rel=manifest href="http://cdn.example/site.webmanifest">', ["MC102"]),
    ('<link rel=canonical href="http://example.invalid/page">', []),
    ('<link rel=preconnect href="http://cdn.example">', []),
    ('<iframe src="http://widgets.example/w"></iframe>', ["MC102"]),
    ('<frameset><frame src="http://widgets.example/f"></frameset>', ["MC102"]),
    ('<object data="http://cdn.example/a.swf"></object>', ["MC102"]),
    ('<embed src="http://cdn.example/a.swf">', ["MC102"]),
    ('<a href="http://other.example/" ping="http://t.example/p https://t.example/q">x</a>', ["MC102"]),
    ('<a href="http://other.example/">x</a>', []),
    ('<form action="http://forms.example/post"></form>', ["MC201"]),
    ('<form method=dialog action="http://forms.example/post"></form>', []),
    ('<form><button formaction="http://forms.example/p">go</button></form>', ["MC201"]),
    ('<form><button type=button formaction="http://forms.example/p">go</button></form>', []),
    ('<q cite="http://other.example/">q</q><blockquote cite="http://o.example/">b</blockquote>', []),
    ('<meta property="og:image" content="http://cdn.example/og.png">', []),
    ('<div data-src="http://cdn.example/lazy.png"></div>', []),
    ('<img src="https://cdn.example/a.png"><img src="//cdn.example/b.png"><img src="/c.png">', []),
    ('<img src="http://localhost/a.png"><img src="http://127.0.0.1/a.png"><img src="http://127.1/a.png">'
     '<img src="http://[::1]/a.png"><img src="http://app.localhost./a.png">', []),
    ('<img src="http://192.0.2.7/a.png">', ["MC104"]),
    ('<img src="http://3221225985/a.png">', ["MC104"]),
    ('<img src="http://0xC0.0.2.1/a.png">', ["MC104"]),
    ('<img src="http://[2001:db8::1]/a.png">', ["MC104"]),
    ('<img srcset="http://192.0.2.7/a.png">', ["MC103"]),
    ('<script src="http://192.0.2.7/a.js"></script>', ["MC102"]),
    ('<img src="http://cdn.example:8080/a.png">', ["MC101"]),
    ('<img src="mailto:x@example.invalid"><img src="javascript:void(0)"><img src="ftp://f.example/a">', []),
])
def test_html_contexts(html: str, expected: list[str]) -> None:
    assert codes(html) == expected


# ---- URL spelling (§3 "URL spelling") -------------------------------------------------------------------

@pytest.mark.parametrize("html,raw", [
    ('<img src="HTTP://CDN.Example/a.png">', "HTTP://CDN.Example/a.png"),
    ('<img src="http&#58;//cdn.example/a.png">', "http&#58;//cdn.example/a.png"),
    ('<img src="&#104;ttp://cdn.example/a.png">', "&#104;ttp://cdn.example/a.png"),
    ('<img src="http&colon;//cdn.example/a.png">', "http&colon;//cdn.example/a.png"),
    ('<img src="  http://cdn.example/a.png\n">', "http://cdn.example/a.png"),
    ('<img src="ht\ttp://cdn.example/a.png">', "ht\ttp://cdn.example/a.png"),
    ('<img src="http:\\\\cdn.example\\a.png">', "http:\\\\cdn.example\\a.png"),
    ('<img src="http:/cdn.example/a.png">', "http:/cdn.example/a.png"),
    ('<img src="http:cdn.example/a.png">', "http:cdn.example/a.png"),
    ('<img src="http://user:pw@cdn.example/a.png">', "http://user:pw@cdn.example/a.png"),
    ('<img src=http://cdn.example/a.png?x=1&amp;y=2>', "http://cdn.example/a.png?x=1&amp;y=2"),
])
def test_url_spellings_are_http(html: str, raw: str) -> None:
    assert judge(html) == [("MC101", raw)]


def test_srcset_comma_belongs_to_url() -> None:
    assert judge('<img srcset="http://cdn.example/a,b.png 1x, http://cdn.example/c.png 2x">') == [
        ("MC103", "http://cdn.example/a,b.png"), ("MC103", "http://cdn.example/c.png")]


def test_duplicate_attribute_first_wins() -> None:
    assert codes('<img src="https://cdn.example/a.png" src="http://cdn.example/b.png">') == []
    assert codes('<img src="http://cdn.example/b.png" src="https://cdn.example/a.png">') == ["MC101"]


# ---- inert markup ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    '<!-- <img src="http://cdn.example/a.png"> -->',
    '<!--> <img src="https://x.example/a.png"> -->',
    '<template><img src="http://cdn.example/a.png"></template>',
    '<template><template></template><img src="http://cdn.example/a.png"></template>',
    '<textarea><img src="http://cdn.example/a.png"></textarea>',
    '<title><img src="http://cdn.example/a.png"></title>',
    '<noscript><img src="http://cdn.example/a.png"></noscript>',
    '<pre><code>&lt;img src="http://cdn.example/a.png"&gt; http://cdn.example/b.png</code></pre>',
    '<p>see http://cdn.example/a.png</p>',
    '<xmp><img src="http://cdn.example/a.png"></xmp>',
    '<iframe><img src="http://cdn.example/a.png"></iframe>',
    '<div title="<img src=http://cdn.example/a.png>"></div>',
    '<! bogus <img src=http://cdn.example/a.png> ',
    '<? pi <img src=http://cdn.example/a.png> ',
    '<img src="http://cdn.example/a.png"',
    '<iframe srcdoc="<p>x</p>" src="http://widgets.example/w"></iframe>',
    # an unterminated quoted value runs to the end of the document, in start and end tags alike
    '<p title="x><img src=http://cdn.example/a.png>',
    '</p title="x><img src=http://cdn.example/a.png>',
    '<a href="http://nav.example/" title="http://t.example/">x</a>',
])
def test_inert_markup(html: str) -> None:
    assert codes(html) == []


@pytest.mark.parametrize("html,expected", [
    ('<a href="http://nav.example/" ping="http://cdn.example/p">x</a>', ["http://cdn.example/p"]),
    ('<a href="http://nav.example/" style="background:url(http://cdn.example/a.png)">x</a>',
     ["http://cdn.example/a.png"]),
    ('<a href=http://nav.example/ onclick="fetch(\'http://cdn.example/s\')">x</a>', ["http://cdn.example/s"]),
    ('<A HREF="http://nav.example/" PING="http://cdn.example/p">x</A>', ["http://cdn.example/p"]),
])
def test_links_are_not_fetched_but_their_other_attributes_are(html: str, expected: list[str]) -> None:
    assert [raw for _, raw in judge(html)] == expected


def test_after_template_is_live() -> None:
    assert codes('<template><img src="http://a.example/x.png"></template><img src="http://a.example/y.png">') \
        == ["MC101"]


def test_noscript_is_live_without_scripting() -> None:
    assert codes('<noscript><img src="http://cdn.example/a.png"></noscript>', scripting=False) == ["MC101"]


def test_script_content_is_raw_text() -> None:
    html = '<script>var s = "<img src=x>";</script><img src="http://cdn.example/a.png">'
    assert codes(html) == ["MC101"]


def test_script_double_escape_keeps_script_open() -> None:
    html = ('<script><!--<script></script><img src="http://cdn.example/a.png">--></script>'
            '<img src="http://cdn.example/b.png">')
    # the <img> text is still script content (so only the literal heuristic sees it)
    assert judge(html) == [("MC401", "http://cdn.example/a.png"), ("MC101", "http://cdn.example/b.png")]


def test_image_is_img_outside_svg() -> None:
    assert codes('<image src="http://cdn.example/a.png">') == ["MC101"]


def test_svg_image_href_beats_xlink() -> None:
    html = ('<svg><image href="http://cdn.example/a.png" xlink:href="http://cdn.example/b.png"/>'
            '<use href="#icon"/><use href="http://cdn.example/s.svg#i"/><script href="http://cdn.example/s.js"/>'
            '<a href="http://o.example/">x</a></svg>')
    assert judge(html) == [("MC101", "http://cdn.example/a.png"), ("MC101", "http://cdn.example/s.svg#i"),
                           ("MC102", "http://cdn.example/s.js")]


def test_svg_cdata_is_text() -> None:
    assert codes('<svg><![CDATA[ <image href="http://cdn.example/a.png"/> ]]></svg>') == []
    # outside foreign content <![CDATA[ is a bogus comment ending at the first >
    assert codes('<![CDATA[ x ]]><img src="http://cdn.example/a.png">') == ["MC101"]


def test_breakout_from_svg() -> None:
    assert codes('<svg><p><img src="http://cdn.example/a.png"></svg>') == ["MC101"]


def test_script_literals_are_heuristic() -> None:
    html = ('<script>fetch("http://api.example/v1"); // http://cdn.example/comment\n'
            'var u = \'http:\\/\\/cdn.example\\/x.js\';</script>'
            '<button onclick="load(\'http://api.example/x\')">b</button>'
            '<script type="application/ld+json">{"url": "http://example.invalid/"}</script>')
    assert judge(html) == [("MC401", "http://api.example/v1"), ("MC401", "http:\\/\\/cdn.example\\/x.js"),
                           ("MC401", "http://api.example/x")]


# ---- base href ----------------------------------------------------------------------------------------------

def test_http_base_makes_relative_urls_http() -> None:
    html = '<head><base href="http://old.example/"></head><img src="a.png"><img src="//cdn.example/b.png">'
    assert judge(html) == [("MC105", "http://old.example/"), ("MC101", "a.png"), ("MC101", "//cdn.example/b.png")]


def test_only_first_base_counts() -> None:
    html = '<base target=_blank><base href="https://ok.example/"><base href="http://old.example/"><img src=a.png>'
    assert codes(html) == []


def test_unparseable_base_is_ignored() -> None:
    assert codes('<base href="http://[oops/"><img src=a.png>') == []


def test_relative_fix_goes_to_base() -> None:
    data = b'<base href="http://old.example/"><img src="a.png">'
    src = decode_html(data)
    refs = extract_html(src, PageContext(PAGE, True)).references
    img = [r for r in refs if r.element == "img"][0]
    assert img.via_base is not None and img.via_base.raw == "http://old.example/"


# ---- empty URL attributes under an http base -------------------------------------------------------------
# What Chromium 156 fetches for an empty ("") and a whitespace-only ("  ") value, each element alone
# under an http <base href> (seen with a loopback server logging requests; the real-browser check is
# tests/extract/test_empty_values_chromium.py). An empty value resolves to the base URL, so a fetch is
# a finding against the base; no fetch is no finding.
EMPTY_CASES = [
    # (markup with {v} for the value, fetched for "", fetched for "  ")
    ('<img src="{v}">', False, False),
    ('<img srcset="" src="{v}">', False, False),
    ('<video poster="{v}"></video>', False, False),
    ('<video src="{v}"></video>', False, True),
    ('<audio src="{v}"></audio>', False, True),
    ('<video><source src="{v}"></video>', False, True),
    ('<video src="https://ok.example/v.mp4"><track default src="{v}"></video>', False, False),
    ('<input type=image src="{v}">', False, False),
    ('<script src="{v}"></script>', False, False),
    ('<script type=module src="{v}"></script>', False, False),
    ('<link rel=stylesheet href="{v}">', False, False),
    ('<link rel=icon href="{v}">', False, True),
    ('<link rel=preload as=image href="{v}">', False, False),
    ('<link rel=preload as=style href="{v}">', False, False),
    ('<link rel=prefetch href="{v}">', False, False),
    ('<link rel=modulepreload href="{v}">', False, False),
    ('<link rel=manifest href="{v}">', False, True),
    ('<iframe src="{v}"></iframe>', False, False),
    ('<frameset><frame src="{v}"></frameset>', False, False),
    ('<object data="{v}"></object>', False, False),
    ('<embed src="{v}">', False, False),
    ('<body background="{v}">', False, False),
    ('<table background="{v}"><tr><td>x</td></tr></table>', False, False),
    ('<table><tr><td background="{v}">x</td></tr></table>', False, False),
    ('<svg><image href="{v}"/></svg>', False, False),
    ('<svg><script href="{v}"></script></svg>', False, False),
    ('<svg><use href="{v}"/></svg>', True, True),
    ('<svg><filter><feImage href="{v}"/></filter></svg>', True, True),
    ("<div style=\"background:url('{v}')\">x</div>", False, True),
    ('<div style="background:url({v})">x</div>', False, False),
    # an @import of the <style>'s base URL ("  " resolves to it) is taken for an import cycle
    ('<style>@import "{v}";</style>', False, False),
]


@pytest.mark.parametrize("markup,fetched_empty,fetched_space", EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_an_empty_value_under_an_http_base_is_reported_only_when_browsers_fetch_it(
        markup: str, fetched_empty: bool, fetched_space: bool) -> None:
    base = '<base href="http://cdn.example/dir/">'
    for value, fetched in (("", fetched_empty), ("  ", fetched_space)):
        found = codes(base + markup.format(v=value))
        assert found[0] == "MC105"
        assert len(found) == (2 if fetched else 1), (value, found)


def test_an_import_of_the_style_elements_own_base_url_is_not_fetched() -> None:
    # Blink takes it for an import cycle (seen in Chromium 156 with --render: no request for "#x" or " ",
    # a blocked one for "?v=2")
    base = '<base href="http://cdn.example/dir/">'
    assert codes(base + '<style>@import "#x";</style>') == ["MC105"]
    assert codes(base + '<style>@import url(" ");</style>') == ["MC105"]
    assert judge(base + '<style>@import "?v=2";</style>')[1:] == [("MC102", "?v=2")]
    assert judge(base + '<style>@import "http://cdn.example/dir/";</style>')[1:] == []
    assert judge(base + '<style>@import "http://cdn.example/dir/x.css";</style>')[1:] == [
        ("MC102", "http://cdn.example/dir/x.css")]


def test_a_character_reference_for_a_space_is_a_whitespace_only_value() -> None:
    base = '<base href="http://cdn.example/dir/">'
    assert codes(base + '<img src="&#32;">') == ["MC105"]
    assert codes(base + '<video src="&#32;"></video>') == ["MC105", "MC101"]


# ---- page context ------------------------------------------------------------------------------------------

def test_http_page_has_no_mixed_content() -> None:
    assert codes('<img src="http://cdn.example/a.png">', url="http://example.invalid/", secure=False) == []


def test_assume_https_judges_relative_urls_of_http_page() -> None:
    assert judge('<img src="a.png">', url="http://example.invalid/p.html", secure=True) == [("MC101", "a.png")]


def test_csp_header_upgrades_everything() -> None:
    html = '<script src="http://cdn.example/a.js"></script><form action="http://f.example/"></form>'
    assert codes(html, upgrade=True) == []


def test_meta_csp_in_head_upgrades_later_references_only() -> None:
    html = ('<html><head><link rel=stylesheet href="http://cdn.example/a.css">'
            '<meta http-equiv="Content-Security-Policy" content="default-src https:; upgrade-insecure-requests">'
            '<link rel=stylesheet href="http://cdn.example/b.css"></head>'
            '<body><img src="http://cdn.example/c.png"></body></html>')
    assert judge(html) == [("MC102", "http://cdn.example/a.css")]


def test_meta_csp_in_body_is_ignored() -> None:
    html = ('<body><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
            '<img src="http://cdn.example/c.png"></body>')
    assert codes(html) == ["MC101"]


def test_meta_csp_after_text_is_in_body() -> None:
    html = ('<title>t</title>hello<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
            '<img src="http://cdn.example/c.png">')
    assert codes(html) == ["MC101"]


def test_report_only_meta_is_ignored() -> None:
    html = ('<head><meta http-equiv="Content-Security-Policy-Report-Only" content="upgrade-insecure-requests">'
            '</head><img src="http://cdn.example/c.png">')
    assert codes(html) == ["MC101"]


def test_base_is_reported_even_with_upgrade() -> None:
    html = ('<head><meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
            '<base href="http://old.example/"></head><img src=a.png>')
    assert codes(html) == ["MC105"]


@pytest.mark.parametrize("policy,upgrades", [
    ("upgrade-insecure-requests", True),
    ("UPGRADE-INSECURE-REQUESTS", True),
    ("default-src 'self'; upgrade-insecure-requests", True),
    ("block-all-mixed-content", False),
    ("upgrade-insecure-requests-x", False),
    ("default-src https:", False),
])
def test_policy_parsing(policy: str, upgrades: bool) -> None:
    assert policy_upgrades(policy) is upgrades


# ---- srcdoc -------------------------------------------------------------------------------------------------

def test_srcdoc_is_scanned_with_spans_into_the_attribute() -> None:
    html = '<iframe srcdoc="<img src=&quot;http://cdn.example/a.png&quot;><script src=http://c.example/s.js></script>"></iframe>'
    assert judge(html) == [("MC101", "http://cdn.example/a.png"), ("MC102", "http://c.example/s.js")]


def test_srcdoc_meta_refresh_is_a_navigation() -> None:
    html = '<iframe srcdoc="<meta http-equiv=refresh content=\'0; url=http://o.example/\'>"></iframe>'
    assert judge(html) == [("MC102", "http://o.example/")]


def test_top_level_meta_refresh_is_not_fetched() -> None:
    assert codes('<meta http-equiv=refresh content="0; url=http://o.example/">') == []


def test_refresh_url_parsing() -> None:
    c = "5; URL='http://o.example/x'"
    s, e = refresh_url(c)  # type: ignore[misc]
    assert c[s:e] == "http://o.example/x"


# ---- style in HTML ---------------------------------------------------------------------------------------------

def test_style_element_and_attribute() -> None:
    html = ('<style>@import "http://cdn.example/a.css"; body{background:url(http://cdn.example/bg.png)}'
            '@font-face{font-family:x;src:url("http://fonts.example/f.woff2")}</style>'
            '<div style="background-image: url(&quot;http://cdn.example/d.png&quot;)"></div>')
    assert judge(html) == [("MC102", "http://cdn.example/a.css"), ("MC101", "http://cdn.example/bg.png"),
                           ("MC102", "http://fonts.example/f.woff2"), ("MC101", "http://cdn.example/d.png")]


def test_svg_style_with_cdata() -> None:
    html = '<svg><style><![CDATA[ .a{fill:url(http://cdn.example/p.svg#g)} ]]></style></svg>'
    assert judge(html) == [("MC101", "http://cdn.example/p.svg#g")]


# ---- encodings and XHTML -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,prefix", [
    ("utf-8", "<meta charset=utf-8><p>日本語 é 😀</p>"),
    ("cp1252", "<meta charset=windows-1252><p>café € naïve</p>"),
    ("shift_jis", "<meta charset=shift_jis><p>日本語のページ</p>"),
])
def test_spans_exact_in_encodings(encoding: str, prefix: str) -> None:
    html = prefix + '<img src="http://cdn.example/ü.png">'.replace("ü", "u")
    assert judge(html, encoding=encoding) == [("MC101", "http://cdn.example/u.png")]


def test_xhtml_is_case_sensitive_and_has_no_raw_text() -> None:
    xhtml = ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
             '<style><![CDATA[ a{background:url(http://cdn.example/a.png)} ]]></style></head><body>'
             '<IMG src="http://cdn.example/upper.png"/><img src="http://cdn.example/b.png"/></body></html>')
    assert judge(xhtml, xml=True) == [("MC101", "http://cdn.example/a.png"), ("MC101", "http://cdn.example/b.png")]


@pytest.mark.parametrize("html", [
    '<p>x</p>\n<IMG SRC=http://cdn.example/upper.png>',
    '<p>x</p><img alt=x src=http://cdn.example/upper.png>',
    '<p>x</p><img src=http://cdn.example/upper.png alt=x>',
    "<p>x</p><img src='http://cdn.example/upper.png'>",
    '<p>x</p><img src=&#104;ttp://cdn.example/upper.png>',
    '<p>x</p><img src="ht\ntp://cdn.example/upper.png">',
])
def test_unquoted_and_spelled_values_after_the_head(html: str) -> None:
    # after the head every tag goes through the fast skip pattern: it must never swallow these
    assert codes(html) == ["MC101"]


@pytest.mark.parametrize("prefix,in_head", [
    ("<!DOCTYPE html><html><!-- c --><head><title>a <body> b</title>", True),
    ('<head><script>document.write("<body>")</script><style>p{}</style>', True),
    ("<head></head>\n", True),  # after </head> but before the body: still inserted into <head>
    ("<head><noscript><link rel=stylesheet href=x.css></noscript>", True),
    ("<head><template><div></div></template>", True),
    ("<head><div>", False),
    ("<head></head><body>", False),
    ("<head>text", False),
    ("<head><img src=x.png>", False),
    ("<head></body>", False),
])
def test_meta_csp_counts_only_while_in_head(prefix: str, in_head: bool) -> None:
    html = (prefix + '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
            '<img src="http://cdn.example/a.png">')
    assert codes(html) == ([] if in_head else ["MC101"])


# ---- found by scripts/fuzz.py -------------------------------------------------------------------------------

def test_a_base_without_a_value_changes_nothing_on_an_http_page() -> None:
    # HTML §4.2.3: the empty string parsed against the fallback base URL; it raised IndexError on an
    # http page (a finding with no value to point at)
    src = decode_html(b'<base href><base href="http://old.example/"><img src="a.png">')
    refs = extract_html(src, PageContext("http://example.invalid/d/p.html", False)).references
    assert [(r.element, r.url) for r in refs] == [("img", "http://example.invalid/d/a.png")]
    assert codes('<base href><base href="http://old.example/"><img src="a.png">') == []
