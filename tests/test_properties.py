"""Invariants over arbitrary (also malformed) input: never raises, spans equal raw, deterministic,
and the fast skip pattern never changes what is found."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mixedcontent.classify import classify
from mixedcontent.extract import css
from mixedcontent.extract import html as html_module
from mixedcontent.extract.html import PageContext, extract_html
from mixedcontent.extract.source import decode_html
from mixedcontent.model import Context, ProbeResult, ProbeStatus, Reference, RefKind, Span

FRAGMENTS = [
    "<img src=", "<IMG SRC=", "<img srcset=\"", "<picture>", "</picture>", "<source srcset=", "<source src=", "<video ", "</video>", "<track src=",
    "<audio>", "<script>", "</script>", "<script src=", "<style>", "</style>", "<svg>", "</svg>", "<math>",
    "<template>", "</template>", "<!--", "-->", "<!", "<?", "</", "<base href=", "<head>", "</head>",
    "<body>", "<meta http-equiv=Content-Security-Policy content=upgrade-insecure-requests>",
    "<iframe srcdoc=\"", "<iframe>", "</iframe>", "<textarea>", "</textarea>", "<noscript>", "<form action=",
    "<link rel=stylesheet href=", "<a ping=", "<image href=", "<![CDATA[", "]]>", "<p>", "<div style=\"",
    "background:url(", ")", "http://cdn.example/a.png", "http://192.0.2.1/x", "HTTP://X.example/",
    "https://ok.example/", "&#104;ttp://e.example/", "&quot;", "&amp;", "&#58;", "\"", "'", "=", ">", "/>",
    " ", "\n", "\r\n", "\t", ",", " 2x, ", "é", "日本", "😀", "\\", "onclick=\"f('http://s.example/')\"",
    "<meta ", "http-equiv=", "refresh", "content=\"0;url=http://r.example/\"", "<link ", "rel=", "stylesheet",
    "STYLESHEET", "<title>", "</title>", "<!--<script>", "@import ", "url(", "\\68ttp://", "</style ", "</script ",
    # the attributes the fast pattern reads (URL-bearing, style, on*) and some it skips unread
    "<video poster=", "<object data=", "<embed src=", "<body background=", "<td BACKGROUND=", "<frame src=",
    "<input type=image src=", "<button formaction=", "<input type=submit formaction=", "<a href=", " href=",
    " alt=", " title=\"", " POSTER=", " OnLoad=", " srcset=", " data=", " action=", " src=", " srcdoc=",
    " style=", " datax=", " =", "</p title=\"",
    # loopback hosts the fast pattern skips as trustworthy, and look-alikes that are not loopback
    "http://127.0.0.1/", "http://LOCALHOST/", "http://localhost:8080/", "http://127.0.0.1?", "http://127.1/",
    "http://127.0.0.1", "http://127.0.0.256/", "localhost", "127.0.0.1", ".evil.example/", "@cdn.example/",
    ":80", "#", "?",
    # an "h" the fast pattern takes with the four letters after it (a plain "https"), and look-alikes
    "https:", "HtTpS://", "http\ts://", "h\nttps://", "httpss", "hTTP", "<img src=\"https", "<img alt=https",
    # what <template> content skipped whole must still end at: raw text, nested templates, foreign content
    "<template><img src=http://t.example/a.png>", "<template ", "</template ", "<TEMPLATE>", "</TEMPLATE>",
    "<xmp>", "</xmp>", "<title>", "<noembed>", "<noframes>", "</noscript>", "<plaintext>", "<video>",
    "<picture><img src=http://p.example/a.png>", "<base href=http://b.example/>", "<iframe src=",
    "<link rel=next href=", "<a href=http://l.example/>", "<area href=",
]
html_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map("".join)
ENCODINGS = ["utf-8", "utf-16", "cp1252", "shift_jis"]


def _findings(data: bytes, exhaustive: bool = False) -> list[tuple[str, int, int, str]]:
    src = decode_html(data)
    ext = extract_html(src, PageContext("https://example.invalid/p.html", True), exhaustive=exhaustive)
    out = []
    for ref in ext.references:
        f = classify(ref, "p.html")
        if f is not None:
            out.append((f.code, f.offset or 0, f.length or 0, f.raw or ""))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_text)
def test_never_raises_and_spans_equal_raw(html: str) -> None:
    data = html.encode("utf-8", "surrogatepass")
    src = decode_html(data)
    for code, offset, length, raw in _findings(data):
        assert src.data[offset:offset + length] == src.encode(raw), (code, raw)


@settings(max_examples=400, deadline=None)
@given(html_text)
def test_fast_path_finds_exactly_what_the_exhaustive_path_finds(html: str) -> None:
    data = html.encode("utf-8", "surrogatepass")
    assert _findings(data) == _findings(data, exhaustive=True)


PAGES = [
    PageContext("https://example.invalid/p.html", True),
    PageContext("https://example.invalid/p.html", True, upgrade_insecure=True),
    PageContext("https://example.invalid/p.html", True, scripting=False),
    PageContext("http://example.invalid/p.html", True),  # judged as https, relative URLs are http
]


def _extraction(data: bytes, page: PageContext, links: bool, exhaustive: bool) -> tuple[object, ...]:
    ext = extract_html(decode_html(data), page, links=links, exhaustive=exhaustive)
    return tuple(ext.references), tuple(ext.stylesheets), tuple(ext.links)


# whole tags, so that short documents reach the states each skip pattern is chosen in (inside <picture>,
# <template>, foreign content, after an http <base>) and the tags each must stop at
WHOLE_TAGS = [
    "<picture>", "</picture>", "<video>", "</video>", "<audio>", "</audio>", "<template>", "</template>",
    "<svg>", "</svg>", "<math>", "</math>", "<script>", "</script>", "<style>", "</style>", "<textarea>",
    "</textarea>", "<iframe src=f.html>", "</iframe>", "<!--", "-->", "<p>", "</p>", "<div>", "</div>",
    "<img src=a.png>", "<img src=\"//h.example/i.png\">", "<img src='http://127.0.0.1/a.png'>",
    "<img src=http://i.example/a.png>", "<IMG SRCSET=\"b.png 2x, http://i.example/c.png 3x\">",
    "<source src=v.mp4>", "<source srcset=s.png>", "<base href=http://b.example/>", "<base href=/d/>",
    "<a href=l.html>", "<a href=http://l.example/ ping=p>", "<a href=\"http://l.example/\">", "<a href=>", "<link rel=stylesheet href=s.css>",
    "<link rel=next href=n.html>", "<link rel=icon href=http://i.example/f.ico>", "<form action=f>",
    "<div style=\"background:url(http://c.example/a.png)\">", "<span style=background:url(b.png)>",
    "p{background:url(q.png)}", "x", " ", "<image href=http://i.example/a.png>", "<use href=u.svg#x>",
    "<meta http-equiv=Content-Security-Policy content=upgrade-insecure-requests>", "<noscript>", "</noscript>",
    "<object data=o.swf>", "<button formaction=http://f.example/>", "<script src=s.js></script>",
]
whole_tags = st.lists(st.sampled_from(WHOLE_TAGS), max_size=25).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.one_of(html_text, whole_tags), st.sampled_from(PAGES), st.booleans())
# a <picture> opened in a <template> stays the parent we track after it (as in the exhaustive walk)
@example("<template><picture></template><img src=http://i.example/a.png>", PAGES[0], False)
# a double-escaped script in a <template> does not end at its first </script>
@example("<template><script><!--<script></script></template><img src=http://i.example/a.png></script></template>",
         PAGES[0], False)
# an SVG <title> in a <template> is an element, not RCDATA
@example("<template><svg><title></template><img src=http://i.example/a.png>", PAGES[0], False)
def test_fast_path_extracts_exactly_what_the_exhaustive_path_extracts(html: str, page: PageContext,
                                                                       links: bool) -> None:
    # every reference (not only findings), every stylesheet and every link, on every kind of page
    data = html.encode("utf-8", "surrogatepass")
    assert _extraction(data, page, links, False) == _extraction(data, page, links, True)


@settings(max_examples=150, deadline=None)
@given(html_text, st.sampled_from(ENCODINGS))
def test_spans_exact_in_other_encodings(html: str, encoding: str) -> None:
    declared = {"utf-16": "", "cp1252": "<meta charset=windows-1252>", "shift_jis": "<meta charset=shift_jis>",
                "utf-8": "<meta charset=utf-8>"}[encoding]
    text = declared + html
    data = text.encode(encoding, "replace")
    for code, offset, length, raw in _findings(data):
        assert decode_html(data).encode(raw) == data[offset:offset + length], (code, raw)


@settings(max_examples=100, deadline=None)
@given(html_text)
def test_deterministic(html: str) -> None:
    data = html.encode("utf-8", "surrogatepass")
    assert _findings(data) == _findings(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["url(", "url(\"", "\"", "'", "\\", "@import ", "{", "}", ";", ":",
                                           "\r\n", "\r", "\f", "http://a.example/x", "image-set(", "@font-face",
                                           "src:", "/*", "*/", " ", ")", "\\68 ttp://"]),
                          st.text(max_size=6)), max_size=30).map("".join))
def test_css_never_raises_and_spans_equal_raw(text: str) -> None:
    for u in css.extract_stylesheet(text) + css.extract_declarations(text):
        assert text[u.start:u.end] == u.raw


URL_PARTS = ["http://", "HTTP://", "https://", "ws://", "h.example", "H.Example", "127.1", "[::1]", "[2001:db8::443]",
             ":80", ":443", ":8443", ":0443", "user:pw@", "u%40@", "/", "/a/../b", "?q=1", "#f", "%2F", "é", " ", "\t",
             "\\", "@", ":", "//", "x"]


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(["", "http://", "HTTPS://", "//", "ws://", "data:", "\x00 ", "\udc80"]),
       st.lists(st.one_of(st.sampled_from(URL_PARTS + ["%", "日本", "xn--", "😀", "0x7f.1", "\x7f"]), st.text(max_size=3)),
                min_size=1, max_size=8).map("".join),
       st.sampled_from(["https://base.example/dir/page.html", "http://b.example/", "about:blank", "file:///x/y"]))
def test_resolve_through_the_c_entry_points_equals_ada_url(scheme: str, text: str, base: str) -> None:
    from ada_url import URL

    from mixedcontent import urls

    try:
        expected: str | None = URL(scheme + text, base).href
    except ValueError:
        expected = None
    href = urls.resolve(scheme + text, base)
    assert href == expected
    if href is not None:
        u = URL(href)
        assert urls._parts(href) == (u.protocol, u.hostname, int(u.host_type))


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(["", "http://", "HTTP://", "http:\t//", "//", "ws://", "https://", "httpx:", "Http:"]),
       st.lists(st.sampled_from(URL_PARTS + ["127.0.0.1", "127.0.0.1.", "localhost", "LocalHost.", "a.localhost",
                                             "localhost.x", "127.0.0.1.example", "0x7f.1", "[::1]", "[0::1]",
                                             "2130706433", ".", "%2e"]),
                min_size=1, max_size=8).map("".join))
def test_insecure_href_equals_the_parsers_verdict(scheme: str, text: str) -> None:
    from mixedcontent import urls

    href = urls.resolve(scheme + text, "https://base.example/dir/page.html")
    if href is None:
        return
    assert urls.is_insecure_href(href) == (urls.is_http(href) and not urls.is_potentially_trustworthy(href))
    assert html_module._is_http(href) == urls.is_http(href)  # the extractor reads the scheme from the text


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["h", "H", "t", "T", "p", "P", "s", ":", "/", "\t", "\n", "\r", " ", "\x00", "\x1f",
                                 "\x0c", "http:", "HTTP:", "https:", "a.example", "\u00a0", "\u3000", "x"]),
                max_size=8).map("".join))
def test_may_be_http_is_what_the_parser_says_of_the_scheme(text: str) -> None:
    """urls.may_be_http, a cheap test run on every URL attribute, against the URL parser: the value parses
    as an http URL on its own exactly when it says so (or does not parse at all)."""
    from mixedcontent import urls

    href = urls.resolve(text, "https://base.example/dir/page.html")
    absolute = urls.resolve(text, "about:blank")  # (fails for a relative URL: no base to resolve it against)
    if href is not None and href.startswith("http:"):
        assert urls.may_be_http(text), text  # never missed
    if urls.may_be_http(text) and absolute is not None:
        assert absolute.startswith("http:"), text


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(["", "http://", "HTTP://", "https://", "//", "ws://", "about:", "data:"]),
       st.lists(st.sampled_from(URL_PARTS + ["127.0.0.1", "127.0.0.1.", "localhost", "LocalHost.", "a.localhost",
                                             "localhost.x", "0x7f.1", "[::1]", "[0::1]", "[::ffff:127.0.0.1]",
                                             "2130706433", "192.0.2.1", "blank", "srcdoc", "a.0x1f", "0x",
                                             ".0x", "xn--a", "xn--nxasmq6b", "1a", "a..b", "-", "_x", ".09",
                                             "a.localhost.", "@", ":8080", "B"]),
                min_size=1, max_size=8).map("".join))
def test_insecure_host_type_is_the_three_questions_it_replaces(scheme: str, text: str) -> None:
    # classify.decide asks it once instead of is_http, is_potentially_trustworthy and is_ip_literal
    from ada_url import URL, HostType

    from mixedcontent import urls

    try:
        url = URL(scheme + text, "https://base.example/dir/page.html").href
    except ValueError:
        return
    insecure = urls.is_http(url) and not urls.is_potentially_trustworthy(url)
    host_type = urls.insecure_host_type(url)
    assert (host_type is not None) == insecure
    if insecure:
        assert host_type == URL(url).host_type
        assert (host_type in (HostType.IPV4, HostType.IPV6)) == urls.is_ip_literal(url)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(["", "http://"]), st.lists(st.sampled_from(URL_PARTS), min_size=1, max_size=8).map("".join))
def test_twin_of_a_serialised_url_equals_the_parsers(scheme: str, text: str) -> None:
    from mixedcontent import urls

    href = urls.resolve(scheme + text, "https://base.example/dir/page.html")
    if href is None or not href.startswith(("http:", "ws:")):
        return
    assert urls.href_twin(href) == urls.https_twin(href)


def _decide_by_the_steps(ref: Reference, probe: ProbeResult | None) -> str | None:
    """docs/judging.md#steps written out with urls' three predicates, as classify.decide was before it asked
    urls.insecure_host_type once (the oracle of the property below)."""
    from mixedcontent import urls

    url = ref.url
    fails = probe is not None and probe.fails and ref.kind is RefKind.REQUEST and url is not None and ref.secure \
        and urls.is_http(url) and not urls.is_potentially_trustworthy(url)
    if url is None or not ref.secure or not urls.is_http(url) or urls.is_potentially_trustworthy(url):
        return None
    if ref.kind is RefKind.BASE:
        return "MC105"
    if ref.upgrade_insecure:
        return "MC303" if fails else None
    if ref.kind is RefKind.FORM:
        return "MC201"
    if ref.kind is RefKind.SCRIPT_LITERAL:
        return "MC401"
    if ref.destination in ("image", "audio", "video") and ref.initiator != "imageset" and ref.detail != "icon":
        if urls.is_ip_literal(url):
            return "MC302" if fails else "MC104"
        return "MC301" if fails else "MC101"
    if fails:
        return "MC302"
    if ref.destination == "image" and ref.initiator == "imageset":
        return "MC103"
    return "MC102"


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from([None, "http://cdn.example/a", "http://192.0.2.1/a", "http://[2001:db8::1]/a",
                        "http://127.0.0.1/a", "http://[::1]/a", "http://a.localhost/a", "https://cdn.example/a",
                        "ws://cdn.example/a", "data:,x", "about:blank"]),
       st.sampled_from(list(RefKind)), st.booleans(), st.booleans(),
       st.sampled_from([None, "", "image", "audio", "video", "script", "style", "iframe"]),
       st.sampled_from([None, "", "imageset", "prefetch"]), st.sampled_from([None, "icon", "candidate 1"]),
       st.one_of(st.none(), st.sampled_from(list(ProbeStatus)).map(lambda s: ProbeResult(s, "r"))))
def test_decide_follows_the_steps(url: str | None, kind: RefKind, secure: bool, upgrade: bool,
                                  destination: str | None, initiator: str | None, detail: str | None,
                                  probe: ProbeResult | None) -> None:
    from mixedcontent.classify import decide

    ref = Reference(kind=kind, raw=url or "x", url=url, span=Span(0, 1, 1, 1), element="img", attribute="src",
                    context=Context.HTML, destination=destination, initiator=initiator, secure=secure,
                    upgrade_insecure=upgrade, page="https://p.example/", detail=detail)
    assert decide(ref, probe) == _decide_by_the_steps(ref, probe)
