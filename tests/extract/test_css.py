"""CSS extraction (SPEC §4.2): what counts as a URL, and exact code-point spans into the text given.

Expectations are written by hand from the CSS specs; positions are either literal numbers or found
with ``str.index`` on the test's own text, never taken from the code under test.
"""

from __future__ import annotations

import dataclasses

import pytest
import tinycss2
from hypothesis import given, settings
from hypothesis import strategies as st

from mixedcontent import urls
from mixedcontent.extract.css import CssUrl, extract_declarations, extract_stylesheet, fetched, has_candidate

Row = tuple[str, str, str, str, str]  # raw, value, destination, element, property


def rows(found: list[CssUrl], text: str) -> list[Row]:
    """The results as comparable tuples, after checking the span invariant on each."""
    for u in found:
        assert text[u.start:u.end] == u.raw, u
    return [(u.raw, u.value, u.destination, u.element, u.property) for u in found]


def sheet(text: str) -> list[Row]:
    return rows(extract_stylesheet(text), text)


def decls(text: str) -> list[Row]:
    return rows(extract_declarations(text), text)


def image(raw: str, value: str | None = None, prop: str = "background") -> Row:
    return (raw, raw if value is None else value, "image", "style", prop)


def font(raw: str) -> Row:
    return (raw, raw, "font", "@font-face", "src")


def imported(raw: str) -> Row:
    return (raw, raw, "style", "@import", "@import")


def ignored_flags(text: str) -> list[tuple[str, bool]]:
    return [(u.value, u.import_ignored) for u in extract_stylesheet(text) if u.element == "@import"]


# ---- url() in declarations ----------------------------------------------------------------------

def test_unquoted_url_in_declaration_is_image_with_exact_span() -> None:
    text = "a{background:url(http://x/y.png)}"
    [u] = extract_stylesheet(text)
    assert (u.start, u.end, u.raw, u.value) == (17, 31, "http://x/y.png", "http://x/y.png")
    assert (u.destination, u.element, u.property, u.import_ignored) == ("image", "style", "background", False)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_quoted_url_raw_excludes_quotes(quote: str) -> None:
    text = f"a{{background-image:url({quote}http://x/y.png{quote})}}"
    [u] = extract_stylesheet(text)
    assert (u.start, u.end) == (text.index("http"), text.index(quote, text.index("http")))
    assert rows([u], text) == [image("http://x/y.png", prop="background-image")]


def test_other_quote_inside_string_is_part_of_the_url() -> None:
    assert sheet("""a{b:url("http://x/it's.png")}""") == [image("http://x/it's.png", prop="b")]
    assert sheet("""a{b:url('http://x/say"hi".png')}""") == [image('http://x/say"hi".png', prop="b")]


@pytest.mark.parametrize("text", [
    "a{background:url(   http://x/y.png   )}",
    "a{background:url(\thttp://x/y.png\t)}",
    "a{background:url(\n http://x/y.png \n)}",
    "a{background:url(  'http://x/y.png'  )}",
    'a{background:url(\n"http://x/y.png"\n)}',
])
def test_whitespace_inside_url_parens_is_not_raw(text: str) -> None:
    [u] = extract_stylesheet(text)
    assert (u.raw, u.value, u.start) == ("http://x/y.png", "http://x/y.png", text.index("http"))


@pytest.mark.parametrize("text", ["a{b:URL(http://x/y)}", "a{b:Url('http://x/y')}",
                                  'a{b:uRl( "http://x/y" )}'])
def test_url_function_name_is_ascii_case_insensitive(text: str) -> None:
    assert sheet(text) == [image("http://x/y", prop="b")]


def test_src_function_with_string_is_a_url() -> None:
    text = 'a{background-image:src("http://x/y.png")}'
    assert sheet(text) == [image("http://x/y.png", prop="background-image")]


def test_property_name_is_lower_cased() -> None:
    assert sheet("a{BACKGROUND-Image:url(http://x/y)}") == [image("http://x/y", prop="background-image")]


def test_custom_property_is_image_and_keeps_its_case() -> None:
    assert sheet(":root{--Hero-BG: url(http://x/hero.jpg)}") == [image("http://x/hero.jpg", prop="--Hero-BG")]


def test_custom_property_with_a_block_value_is_searched() -> None:
    assert sheet("a{--mixin:{background:url(http://x/y)}}") == [image("http://x/y", prop="--mixin")]


@pytest.mark.parametrize("prop", ["cursor", "list-style", "border-image-source", "mask", "-webkit-mask-image",
                                  "content", "shape-outside", "filter", "clip-path", "unknown-property"])
def test_url_in_any_property_is_image(prop: str) -> None:
    assert sheet(f"a{{{prop}:url(http://x/y) auto}}") == [image("http://x/y", prop=prop)]


def test_several_urls_in_one_declaration_in_order() -> None:
    text = "a{background:url(http://x/1.png), url('http://x/2.png'), linear-gradient(red, blue)}"
    assert sheet(text) == [image("http://x/1.png"), image("http://x/2.png")]


def test_url_in_var_fallback_is_found() -> None:
    assert sheet("a{background:var(--bg, url(http://x/y))}") == [image("http://x/y")]


def test_important_does_not_hide_the_url() -> None:
    assert sheet("a{background:url(http://x/y) !important}") == [image("http://x/y")]


@pytest.mark.parametrize("text", [
    'a{content:"http://x/y"}',
    "a{font-family:'http://x/y'}",
    'a{background:linear-gradient(red, blue), "http://x/y"}',
    'a{quotes:"http://x" "y"}',
])
def test_bare_string_is_not_a_url(text: str) -> None:
    assert sheet(text) == []


def test_empty_url_is_reported_with_an_empty_span() -> None:
    text = "a{b:url()}"
    [u] = extract_stylesheet(text)
    assert (u.start, u.end, u.raw, u.value) == (8, 8, "", "")


# ---- image-set() -------------------------------------------------------------------------------

def test_image_set_strings_and_urls_with_resolutions() -> None:
    text = ('a{background-image:image-set("http://x/a.png" 1x, url(http://x/b.png) 2x,'
            ' url("http://x/c.png") 3dppx)}')
    assert sheet(text) == [image("http://x/a.png", prop="background-image"),
                           image("http://x/b.png", prop="background-image"),
                           image("http://x/c.png", prop="background-image")]


@pytest.mark.parametrize("name", ["-webkit-image-set", "-WEBKIT-IMAGE-SET", "Image-Set"])
def test_image_set_names_are_case_insensitive(name: str) -> None:
    text = f"a{{background:{name}('http://x/a.png' 1x, 'http://x/b.png' 2x)}}"
    assert sheet(text) == [image("http://x/a.png"), image("http://x/b.png")]


def test_image_set_type_string_is_not_a_url() -> None:
    text = 'a{background:image-set("http://x/a.avif" type("image/avif"), "http://x/a.png" type("image/png"))}'
    assert sheet(text) == [image("http://x/a.avif"), image("http://x/a.png")]


def test_image_set_beside_a_gradient_and_nested_in_a_function() -> None:
    text = ('a{background:linear-gradient(red, blue), image-set("http://x/a.png" 1x);'
            'mask:cross-fade(-webkit-image-set("http://x/m.png" 1x) 50%, url(http://x/n.png))}')
    assert sheet(text) == [image("http://x/a.png"), image("http://x/m.png", prop="mask"),
                           image("http://x/n.png", prop="mask")]


def test_strings_in_a_gradient_inside_image_set_are_not_urls() -> None:
    assert sheet('a{b:image-set(linear-gradient(red, blue) 1x, "http://x/a.png" 2x)}') == [
        image("http://x/a.png", prop="b")]


# ---- @import -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "@import url(http://x/a.css);",
    '@import "http://x/a.css";',
    "@import 'http://x/a.css';",
    '@import url("http://x/a.css");',
    "@IMPORT url( 'http://x/a.css' ) screen;",
    '@import url(http://x/a.css) layer(base) supports(display: grid) print;',
    "@import url(http://x/a.css)",  # no semicolon at EOF
])
def test_import_forms(text: str) -> None:
    [u] = extract_stylesheet(text)
    assert rows([u], text) == [imported("http://x/a.css")]
    assert u.start == text.index("http") and not u.import_ignored


def test_import_after_charset_and_layer_statements_is_valid() -> None:
    text = '@charset "utf-8";\n@layer base, theme;\n@import url(a.css);\n@import "b.css";\na{b:url(c.png)}'
    assert ignored_flags(text) == [("a.css", False), ("b.css", False)]
    assert sheet(text)[-1] == image("c.png", prop="b")


def test_import_after_comments_and_cdo_is_valid() -> None:
    assert ignored_flags("<!-- /* x */ @import 'a.css'; -->") == [("a.css", False)]


@pytest.mark.parametrize("before", [
    "a{color:red}",
    "@media print{a{color:red}}",
    "@font-face{font-family:x}",
    "@layer base{a{color:red}}",
    "@supports (display:grid){}",
    '@namespace svg url("http://www.w3.org/2000/svg");',
])
def test_import_after_another_rule_is_ignored_but_reported(before: str) -> None:
    text = f'@import "a.css";\n{before}\n@import url(b.css);'
    assert ignored_flags(text) == [("a.css", False), ("b.css", True)]


def test_layer_statement_after_an_import_ends_the_imports() -> None:
    # CSS Cascade 5 §2 as Blink and Gecko apply it: @layer statements are free only before the imports
    assert ignored_flags('@import "a.css"; @layer x; @import "b.css";') == [("a.css", False), ("b.css", True)]


def test_namespace_between_imports_ends_the_imports() -> None:
    text = '@import "a.css"; @namespace url(http://www.w3.org/1999/xhtml); @import "b.css";'
    assert ignored_flags(text) == [("a.css", False), ("b.css", True)]


def test_invalid_import_does_not_end_the_imports() -> None:
    # "@import foo;" has no URL: dropped, reported nowhere, and the next @import stays valid
    assert sheet('@import foo; @import "a.css";') == [imported("a.css")]
    assert ignored_flags('@import foo; @import "a.css";') == [("a.css", False)]


def test_unknown_at_rule_does_not_end_the_imports() -> None:
    # Blink drops an unknown at-rule without leaving the import prelude: the @import is still fetched
    assert ignored_flags('@meida print { a{color:red} } @import "a.css";') == [("a.css", False)]


def test_style_rule_without_selector_does_not_end_the_imports() -> None:
    assert ignored_flags('{color:red} @import "a.css";') == [("a.css", False)]


def test_import_with_a_block_is_ignored() -> None:
    assert ignored_flags('@import "a.css" {}') == [("a.css", True)]


def test_import_inside_a_block_is_not_reported() -> None:
    # CSS Cascade 5 §2: @import is valid only at the top level; browsers drop a nested one unfetched
    assert sheet('@media screen { @import url(http://x/a.css); a{b:url(http://x/c.png)} }') == [
        image("http://x/c.png", prop="b")]
    assert sheet('a { @import "http://x/a.css"; }') == []


def test_import_in_declarations_is_not_reported() -> None:
    assert decls('@import "http://x/a.css"; background:url(http://x/y)') == [image("http://x/y")]


# ---- @font-face ----------------------------------------------------------------------------------

def test_font_face_src_urls_and_not_local() -> None:
    text = ('@font-face { font-family: F; src: url(http://x/a.woff2) format("woff2"), local(Foo),'
            ' local("http://x/l"), url("http://x/b.woff") }')
    assert sheet(text) == [font("http://x/a.woff2"), font("http://x/b.woff")]


def test_font_face_other_descriptors_are_not_urls() -> None:
    text = ('@font-face { font-family: "http://x/f"; font-display: url(http://x/d);'
            ' SRC: url(http://x/a.woff) }')
    assert sheet(text) == [font("http://x/a.woff")]


def test_font_face_inside_media_and_supports() -> None:
    text = "@media screen{@supports (x:y){@font-face{src:url(http://x/a.woff)}}}"
    assert sheet(text) == [font("http://x/a.woff")]


def test_font_face_does_not_end_in_style_rules() -> None:
    text = "@font-face{src:url(a.woff)} a{src:url(b.png)}"
    assert sheet(text) == [font("a.woff"), image("b.png", prop="src")]


# ---- inert contexts ------------------------------------------------------------------------------

def test_namespace_url_is_not_reported() -> None:
    assert sheet("@namespace url(http://www.w3.org/1999/xhtml);") == []
    assert sheet("@namespace svg 'http://www.w3.org/2000/svg';") == []


@pytest.mark.parametrize("text", [
    "/* a{background:url(http://x/y)} */",
    "a{/* background:url(http://x/y) */color:red}",
    "a{background:/* url(http://x/y) */ none}",
    "/* unterminated url(http://x/y)",
])
def test_url_in_a_comment_is_not_reported(text: str) -> None:
    assert sheet(text) == []
    assert decls(text) == []


@pytest.mark.parametrize("text", [
    "a[style*='url(http://x/y)']{color:red}",
    "@supports (background:url(http://x/y)) {}",
    "@media (url(http://x/y)) {}",
    "url(http://x/y)",  # a top-level prelude that never gets a block
])
def test_url_in_a_selector_or_prelude_is_not_reported(text: str) -> None:
    assert sheet(text) == []


def test_document_prelude_is_not_reported_but_its_rules_are() -> None:
    text = "@document url-prefix(http://x/) { a { background: url(http://x/y) } }"
    assert sheet(text) == [image("http://x/y")]


# ---- nesting: every declaration anywhere ---------------------------------------------------------

@pytest.mark.parametrize("text", [
    "@media screen and (min-width: 1px) { a { background: url(http://x/y) } }",
    "@supports (display: grid) { a { background: url(http://x/y) } }",
    "@layer base { a { background: url(http://x/y) } }",
    "@container card (min-width: 1px) { a { background: url(http://x/y) } }",
    "@document url-prefix() { a { background: url(http://x/y) } }",
    "@scope (.card) to (.content) { img { background: url(http://x/y) } }",
    "@scope (.card) { background: url(http://x/y) }",
    "@starting-style { a { background: url(http://x/y) } }",
    "@keyframes k { from { background: url(http://x/y) } }",
    "@-webkit-keyframes k { 50% { background: url(http://x/y) } }",
    "@page :first { @top-left { background: url(http://x/y) } }",
    "@unknown-rule x { a { background: url(http://x/y) } }",
    "a { & b { background: url(http://x/y) } }",
    "a { .c { background: url(http://x/y) } }",
    "a { b:hover { background: url(http://x/y) } }",
    "a { color: red; @media print { background: url(http://x/y) } }",
    "@media screen { @supports (x: y) { @layer l { a { b { &:hover { background: url(http://x/y) } } } } } }",
])
def test_nested_blocks_are_searched(text: str) -> None:
    [u] = extract_stylesheet(text)
    assert rows([u], text) == [image("http://x/y")]
    assert u.start == text.index("http://x/y")


def test_results_are_in_source_order() -> None:
    text = ("a{background:url(1), url(2)} @media x{ b{c:url(3); & d{e:url(4)}} f:g{h:url(5)} }"
            " i{j:image-set('6' 1x)} @font-face{src:url(7)}")
    values = [u.value for u in extract_stylesheet(text)]
    assert values == ["1", "2", "3", "4", "5", "6", "7"]


# ---- style="" declaration lists ------------------------------------------------------------------

def test_style_attribute_declarations() -> None:
    text = "background: url( 'http://a/b.png' ) no-repeat; color:red"
    [u] = extract_declarations(text)
    assert (u.start, u.end, u.raw, u.value) == (18, 32, "http://a/b.png", "http://a/b.png")
    assert (u.destination, u.element, u.property, u.import_ignored) == ("image", "style", "background", False)


def test_style_attribute_several_declarations_and_custom_property() -> None:
    text = ("--BG:url(http://x/1.png);Cursor:url(http://x/2.cur),auto;color:red;"
            "list-style:image-set('http://x/3.png' 1x)")
    assert decls(text) == [image("http://x/1.png", prop="--BG"), image("http://x/2.cur", prop="cursor"),
                           image("http://x/3.png", prop="list-style")]


def test_style_attribute_nested_rule_is_not_searched() -> None:
    # CSS Style Attributes: the attribute is a declaration list; a nested rule in it never applies
    assert decls("color:red; a{background:url(http://x/y)}") == []


def test_style_attribute_font_src_is_image() -> None:
    assert decls("src:url(http://x/y)") == [image("http://x/y", prop="src")]


# ---- exact spans: line endings, escapes, non-ASCII ------------------------------------------------

@pytest.mark.parametrize("newline", ["\r\n", "\r", "\f", "\n", "\r\r\n", "\n\r", "\r\n\r\n\f"])
def test_span_is_exact_after_any_line_ending(newline: str) -> None:
    nl = newline
    text = f"/* one */{nl}a {{{nl}  color: red;{nl}  background:{nl}url(http://x/y.png){nl}}}"
    [u] = extract_stylesheet(text)
    start = text.index("http")
    assert (u.start, u.end, u.raw) == (start, text.index(")", start), "http://x/y.png")


def test_span_with_crlf_inside_the_url_parens() -> None:
    text = "a{b:url(\r\n\r\n  http://x/y  \r\n)}\r\nc{d:url(\r\n'http://x/z'\r\n)}"
    assert [(u.start, u.end, u.raw) for u in extract_stylesheet(text)] == [(14, 24, "http://x/y"),
                                                                        (43, 53, "http://x/z")]


def test_span_in_declarations_after_crlf() -> None:
    text = "color:red;\r\nbackground:\r\n url(http://x/y)"
    [u] = extract_declarations(text)
    assert (u.start, u.end) == (30, 40) and u.raw == "http://x/y"


def test_hex_escape_in_url_is_resolved_in_value_and_kept_in_raw() -> None:
    text = r"a{background:url(\68ttp://a/x)}"
    [u] = extract_stylesheet(text)
    assert (u.raw, u.value, u.start, u.end) == (r"\68ttp://a/x", "http://a/x", 17, 29)


def test_hex_escape_swallows_one_whitespace() -> None:
    assert sheet(r"a{b:url(\68 ttp://a/x)}") == [image(r"\68 ttp://a/x", "http://a/x", prop="b")]
    assert sheet(r"a{b:url(\000068ttp://a/x)}") == [image(r"\000068ttp://a/x", "http://a/x", prop="b")]


def test_hex_escape_terminated_by_crlf() -> None:
    text = "a{b:url(\\68\r\nttp://a/x)}"
    [u] = extract_stylesheet(text)
    assert (u.raw, u.value) == ("\\68\r\nttp://a/x", "http://a/x")


def test_hex_escape_at_the_end_keeps_its_whitespace_in_raw() -> None:
    # CSS Syntax §4.3.7: the space after "\2f" belongs to the escape, so it is part of the raw text
    assert sheet(r"a{b:url(http://a\2f )}") == [image(r"http://a\2f ", "http://a/", prop="b")]


def test_escaped_close_paren_and_quote_stay_in_raw() -> None:
    assert sheet(r"a{b:url(http://x/a\)b\'c)}") == [image(r"http://x/a\)b\'c", "http://x/a)b'c", prop="b")]


def test_escapes_in_a_quoted_url() -> None:
    text = r'a{b:url("\68ttp://x/\"q\".png")}'
    assert sheet(text) == [image(r'\68ttp://x/\"q\".png', 'http://x/"q".png', prop="b")]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\f"])
def test_backslash_newline_in_a_string_is_a_continuation(newline: str) -> None:
    text = f'a{{b:url("http://x/\\{newline}y.png")}}'
    [u] = extract_stylesheet(text)
    assert (u.raw, u.value) == (f"http://x/\\{newline}y.png", "http://x/y.png")


@pytest.mark.parametrize("name", [r"\75 rl", r"\55 RL", r"u\72l", r"\000075\000072\00006c", r"\u\r\l"])
def test_escaped_url_function_name(name: str) -> None:
    text = f"a{{b:{name}(http://x/y)}}"
    [u] = extract_stylesheet(text)
    assert (u.raw, u.value, u.start) == ("http://x/y", "http://x/y", text.index("http"))


def test_escaped_url_function_name_with_a_string() -> None:
    assert sheet(r'a{b:\75 rl("http://x/y")}') == [image("http://x/y", prop="b")]


def test_escaped_image_set_name() -> None:
    assert sheet(r'a{b:\69 mage-set("http://x/y" 1x)}') == [image("http://x/y", prop="b")]


def test_escaped_import_keyword() -> None:
    assert sheet(r'@\69 mport "http://x/a.css";') == [imported("http://x/a.css")]


def test_non_ascii_text_before_the_url_counts_code_points() -> None:
    text = "/* é 日本 😀 */ a{background:url(http://x/y)}"
    [u] = extract_stylesheet(text)
    assert (u.start, u.end, u.raw) == (30, 40, "http://x/y")


def test_non_ascii_inside_the_url() -> None:
    text = "a{b:url(http://例え.jp/ü😀.png)} c{d:url('http://x/é')}"
    assert sheet(text) == [image("http://例え.jp/ü😀.png", prop="b"), image("http://x/é", prop="d")]


def test_nul_before_the_url_keeps_indexes() -> None:
    # CSS Syntax §3.3: NUL becomes U+FFFD, one code point for one
    text = 'a{b:"\0\0"; c\0:x; d:url(http://x/y)}'
    [u] = extract_stylesheet(text)
    assert (u.start, u.raw) == (text.index("http"), "http://x/y")


# ---- malformed CSS ------------------------------------------------------------------------------

def test_unterminated_string_url_ends_at_eof() -> None:
    text = 'a{b:url("http://x/y'
    [u] = extract_stylesheet(text)
    assert (u.start, u.end, u.raw, u.value) == (9, 19, "http://x/y", "http://x/y")


def test_unterminated_unquoted_url_ends_at_eof() -> None:
    assert sheet("a{b:url(http://x/y  ") == [image("http://x/y", prop="b")]


def test_string_broken_by_a_newline_is_not_a_url() -> None:
    # CSS Syntax §4.3.5: an unescaped newline makes a bad-string token, which is no URL
    assert sheet('a{b:url("http://x/y\n")}') == []


@pytest.mark.parametrize("text", [
    'a{b:url(http://x/"y")}',
    "a{b:url(http://x/ y)}",
    "a{b:url(http://x/(y)}",
    "a{b:url(http://x/\\\ny)}",
])
def test_bad_url_token_is_not_a_url(text: str) -> None:
    assert sheet(text) == []


def test_backslash_at_eof_in_a_url() -> None:
    # tinycss2 turns an escaped EOF into U+FFFD; the raw backslash is still the span
    assert sheet("a{b:url(http://x/\\") == [image("http://x/\\", "http://x/\ufffd", prop="b")]


@pytest.mark.parametrize("text", [
    "", "{", "}", "}}}{{{", "a{", "a{b:", "a{b:url(", 'a{b:url("', "a{b:url('", "@import", "@import url(",
    '@import "', "@media{", "@font-face{src:", "a{b:image-set(", 'a{b:image-set("', "\\", "\\\\", "url(\\",
    "a{b:url(x)}}}}", "a{b:url(x)))))}", ")))", "a{{{{b:url(http://x/y)", "\r", "\r\n", "\f", "\0",
    "@charset;", "@layer;", "@namespace;", "@\\", "a{--x:", "a{b:\\75 rl(", "a{b:url(\\\r\n)}",
])
def test_malformed_css_never_raises(text: str) -> None:
    for found in (extract_stylesheet(text), extract_declarations(text)):
        for u in found:
            assert text[u.start:u.end] == u.raw
    assert isinstance(has_candidate(text), bool)


def test_unclosed_blocks_still_yield_their_urls() -> None:
    assert sheet("@media x { a { b { background: url(http://x/y)") == [image("http://x/y")]


# ---- has_candidate -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a{b:url(http://x/y)}", "a{b:url(HTTP://x/y)}", "a{b:url(HtTp://x/y)}", r"a{b:url(\68ttp://x/y)}",
    "@import 'a.css';", "@IMPORT url(a.css);", '@\\69mport "a.css";', 'a{b:url("ht\ttp://x/y")}',
    'a{b:image-set("h\t\tt\tt\tp://x/y" 1x)}', "https://x/",
])
def test_has_candidate_true(text: str) -> None:
    assert has_candidate(text)


@pytest.mark.parametrize("text", [
    "", "a{color:red}", "a{b:url(/img/x.png)}", "a{b:url(//cdn.example/x.png)}",
    "a{b:url(data:image/png;base64,AA)}",
    "@font-face{src:url(a.woff)}", "@media print{a{b:url(ftp://x/y)}}", "a{b:url(htp://x)}", "@imp 'a.css';",
])
def test_has_candidate_false(text: str) -> None:
    assert not has_candidate(text)


def test_tab_split_http_in_a_string_is_really_http() -> None:
    # why has_candidate looks past tabs: the string keeps the tab, the URL parser removes it
    text = 'a{b:url("ht\ttp://x/y")}'
    [u] = extract_stylesheet(text)
    assert u.value == "ht\ttp://x/y"
    assert urls.resolve(u.value, "https://page.example/") == "http://x/y"
    assert has_candidate(text)


# ---- fetched() and the value type -----------------------------------------------------------------

def test_fetched_resolves_and_drops_ignored_imports_and_empty_urls() -> None:
    text = '@import "a.css"; b{c:url(img/x.png); d:url(); e:url("")} @import "z.css";'
    base = "https://site.example/css/main.css"
    got = [(u.value, resolved) for u, resolved in fetched(extract_stylesheet(text), base)]
    assert got == [("a.css", "https://site.example/css/a.css"),
                   ("img/x.png", "https://site.example/css/img/x.png")]


def test_fetched_drops_unparseable_urls() -> None:
    text = "a{b:url(http://[bad/x.png)}"
    assert [u.value for u in extract_stylesheet(text)] == ["http://[bad/x.png"]
    assert list(fetched(extract_stylesheet(text), "https://site.example/")) == []


def test_css_url_is_frozen() -> None:
    [u] = extract_stylesheet("a{b:url(x)}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.start = 0  # type: ignore[misc]
    assert not hasattr(u, "__dict__")


# ---- properties ------------------------------------------------------------------------------------

CSS_FRAGMENTS = [
    "url(", 'url("', "url('", "URL(", "\\75 rl(", "u\\72l(", "src(", '"', "'", "\\", "\\\\", "\\68 ", "\\)",
    "\\\r\n", "@import ", "@import url(", "@layer a;", "@charset 'x';", "@media x", "@font-face", "src:",
    "local(", "{", "}", "(", ")", ";", ":", "--x:", "b:", "\r\n", "\r", "\f", "\n", "\t", " ", "/*", "*/", "<!--",
    "-->", "image-set(", "-webkit-image-set(", " 1x", ",", "http://a.example/x", "ht\ttp://b", "HTTP://c", "é",
    "日本", "😀", "\0", "&",
]
css_text = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(CSS_FRAGMENTS), st.text(max_size=4)), max_size=40).map("".join),
    st.lists(st.sampled_from(CSS_FRAGMENTS), max_size=30).map(lambda parts: "a{b:" + "".join(parts)),
)


def _tinycss2_value(text: str, u: CssUrl) -> str:
    """The value tinycss2 gives the raw text re-tokenized alone: quoted in its own quote, or in url( )."""
    quote = text[u.start - 1:u.start]
    if quote in ("'", '"'):
        token = tinycss2.parse_component_value_list(text[u.start - 1:u.end + 1])[0]
    else:
        # a newline ends the url token without changing its value; at EOF add nothing (escaped EOF)
        token = tinycss2.parse_component_value_list("url(" + u.raw + ("" if u.end == len(text) else "\n)"))[0]
    value: str = token.value
    return value


@settings(max_examples=400, deadline=None)
@given(css_text)
def test_never_raises_and_spans_equal_raw(text: str) -> None:
    for found in (extract_stylesheet(text), extract_declarations(text)):
        starts = [u.start for u in found]
        assert starts == sorted(starts)
        for u in found:
            assert 0 <= u.start <= u.end <= len(text)
            assert text[u.start:u.end] == u.raw
            assert _tinycss2_value(text, u) == u.value


@settings(max_examples=300, deadline=None)
@given(css_text)
def test_has_candidate_false_means_nothing_http_and_no_import(text: str) -> None:
    if has_candidate(text):
        return
    for u in extract_stylesheet(text) + extract_declarations(text):
        assert u.destination != "style"
        resolved = urls.resolve(u.value, "https://page.example/") if u.value else None
        assert resolved is None or not resolved.startswith("http:")
