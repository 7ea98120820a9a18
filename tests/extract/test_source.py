"""Decoding and position maps (mixedcontent.extract.source), against expectations written by hand from
HTML §13.2.3 (encoding sniffing), CSS Syntax §3.2, the Encoding standard and SPEC §6 (offsets, lines,
columns). Byte offsets are checked against counts written out here or against ``data.index(...)`` on the
raw bytes, never against values the code under test computes."""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mixedcontent.extract.source import SourceText, decode_css, decode_html, decode_xml, looks_binary

BOM8 = codecs.BOM_UTF8
BOM16LE = codecs.BOM_UTF16_LE
BOM16BE = codecs.BOM_UTF16_BE


def url_offset(src: SourceText, url: str = "http://") -> int:
    """Byte offset the source maps the first occurrence of ``url`` in its text to."""
    return src.byte_offset(src.text.index(url))


# ---- BOM (Encoding §6 BOM sniff wins over everything) -------------------------------------------------

def test_utf8_bom_is_skipped_and_counted_in_offsets() -> None:
    data = BOM8 + b'<p>h\xc3\xa9 <img src="http://a.example/x.png">'
    src = decode_html(data)
    assert (src.encoding, src.bom_length, src.text[:6]) == ("utf-8", 3, "<p>hé ")
    # 3 (BOM) + 4 ("<p>h") + 2 (é) + 11 (' <img src="')
    assert url_offset(src) == 20 == data.index(b"http://")


def test_utf16le_bom() -> None:
    data = BOM16LE + '<p>日本 <a ping="http://a.example/">'.encode("utf-16-le")
    src = decode_html(data)
    assert (src.encoding, src.codec, src.bom_length) == ("utf-16le", "utf-16-le", 2)
    assert src.text == '<p>日本 <a ping="http://a.example/">'
    # 2 (BOM) + 2 bytes for each of the 15 code points before "http"
    assert url_offset(src) == 32 == data.index("http".encode("utf-16-le"))
    assert src.byte_offset(len(src.text)) == len(data)


def test_utf16be_bom() -> None:
    data = BOM16BE + '<img src="http://a.example/">'.encode("utf-16-be")
    src = decode_html(data)
    assert (src.encoding, src.bom_length) == ("utf-16be", 2)
    assert url_offset(src) == 2 + 2 * 10 == data.index("http".encode("utf-16-be"))


def test_bom_beats_meta_charset() -> None:
    data = BOM8 + b"<meta charset=windows-1252><p>\xc3\xa9"
    src = decode_html(data)
    assert src.encoding == "utf-8"
    assert src.text.endswith("<p>é")


def test_bom_beats_transport_charset() -> None:
    data = BOM16LE + "<p>é".encode("utf-16-le")
    assert decode_html(data, transport_charset="windows-1252").encoding == "utf-16le"


# ---- HTML §13.2.3.2 prescan -----------------------------------------------------------------------

def test_meta_charset() -> None:
    src = decode_html(b'<meta charset="windows-1251"><p>\xc0\xe1')
    assert src.encoding == "windows-1251"
    assert src.text.endswith("<p>Аб")


def test_meta_charset_unquoted_and_uppercase() -> None:
    assert decode_html(b"<META CHARSET=KOI8-R><p>\xe9").encoding == "koi8-r"


def test_http_equiv_content_type_with_charset() -> None:
    data = b'<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=ISO-8859-2"><p>\xb1\xe6'
    src = decode_html(data)
    assert src.encoding == "iso-8859-2"
    assert src.text.endswith("<p>ąć")


def test_content_charset_without_http_equiv_is_ignored() -> None:
    # need pragma is true, got pragma false: the meta declares nothing; \xb1 is not UTF-8, so windows-1252
    src = decode_html(b'<meta content="text/html; charset=iso-8859-2"><p>\xb1')
    assert src.encoding == "windows-1252"
    assert src.text.endswith("<p>±")


def test_content_charset_with_other_http_equiv_is_ignored() -> None:
    src = decode_html(b'<meta http-equiv="refresh" content="0; charset=iso-8859-2"><p>\xb1')
    assert src.encoding == "windows-1252"


def test_charset_attribute_beats_content_attribute() -> None:
    data = b'<meta charset=koi8-r content="text/html; charset=utf-8" http-equiv=content-type>\xe9'
    assert decode_html(data).encoding == "koi8-r"


def test_duplicate_meta_attribute_first_wins() -> None:
    assert decode_html(b"<meta charset=koi8-r charset=iso-8859-5>\xe9").encoding == "koi8-r"


def test_unknown_charset_label_falls_through_to_later_meta() -> None:
    assert decode_html(b"<meta charset=no-such-thing><meta charset=koi8-r>\xe9").encoding == "koi8-r"


def test_content_charset_quoted_label() -> None:
    data = b"<meta http-equiv=content-type content='text/html; charset=\"euc-jp\"'>"
    assert decode_html(data).encoding == "euc-jp"


def test_content_charset_unmatched_quote_declares_nothing() -> None:
    data = b"<meta http-equiv=content-type content='text/html; charset=\"euc-jp'><p>\xe9"
    assert decode_html(data).encoding == "windows-1252"


def test_meta_inside_comment_is_ignored() -> None:
    src = decode_html(b"<!-- <meta charset=koi8-r> --><p>caf\xe9")
    assert src.encoding == "windows-1252"
    assert src.text.endswith("café")


def test_comment_may_end_with_the_dashes_of_its_opening() -> None:
    # "<!-->" is a whole comment: the meta after it counts
    assert decode_html(b"<!--><meta charset=koi8-r>\xe9").encoding == "koi8-r"


def test_meta_inside_another_tags_attribute_is_ignored() -> None:
    assert decode_html(b'<div title="<meta charset=koi8-r>"><p>\xe9').encoding == "windows-1252"


def test_meta_after_other_tags_is_found() -> None:
    data = b'<!DOCTYPE html><html lang=ja><head><title>x</title><meta charset="euc-jp">'
    assert decode_html(data).encoding == "euc-jp"


def test_prescan_reads_only_the_first_1024_bytes() -> None:
    assert decode_html(b" " * 1000 + b"<meta charset=koi8-r>\xe9").encoding == "koi8-r"
    assert decode_html(b" " * 1100 + b"<meta charset=koi8-r>\xe9").encoding == "windows-1252"


def test_meta_cut_by_the_1024_byte_limit_declares_nothing() -> None:
    # '<meta charset="koi8-r">' starts at 1010 and ends at 1033: the prescan runs out of bytes inside it
    assert decode_html(b" " * 1010 + b'<meta charset="koi8-r">\xe9').encoding == "windows-1252"


def test_meta_declaring_utf16_means_utf8() -> None:
    src = decode_html(b'<meta charset="utf-16"><p>\xc3\xa9')
    assert src.encoding == "utf-8"
    assert src.text.endswith("<p>é")


def test_meta_declaring_x_user_defined_means_windows_1252() -> None:
    src = decode_html(b"<meta charset=x-user-defined><p>\x80")
    assert src.encoding == "windows-1252"
    assert src.text.endswith("€")


def test_xml_declaration_in_html_names_the_encoding() -> None:
    assert decode_html(b'<?xml version="1.0" encoding="koi8-r"?><html>\xe9').encoding == "koi8-r"


def test_utf16_xml_declaration_without_bom() -> None:
    data = '<?xml version="1.0"?><img src="http://a.example/">'.encode("utf-16-le")
    src = decode_html(data)
    assert src.encoding == "utf-16le"
    assert url_offset(src) == 2 * 31 == data.index("http".encode("utf-16-le"))


def test_transport_charset_beats_meta() -> None:
    assert decode_html(b"<meta charset=koi8-r>\xe9", transport_charset="iso-8859-2").encoding == "iso-8859-2"


def test_unknown_transport_charset_is_ignored() -> None:
    assert decode_html(b"<meta charset=koi8-r>\xe9", transport_charset="bogus").encoding == "koi8-r"


def test_default_applies_when_nothing_is_declared() -> None:
    src = decode_html(b"<p>\xe1", default="iso-8859-7")
    assert src.encoding == "iso-8859-7"
    assert src.text == "<p>α"


def test_replacement_encoding_labels_decode_as_windows_1252() -> None:
    data = b'<meta charset="iso-2022-kr"><p>\xe9 <img src="http://a.example/">'
    src = decode_html(data)
    assert src.encoding == "windows-1252"
    assert url_offset(src) == data.index(b"http://")


# ---- unlabelled documents ---------------------------------------------------------------------------

def test_undeclared_non_utf8_is_windows_1252() -> None:
    data = b'<p>caf\xe9 \x80 <img src="http://a.example/">'
    src = decode_html(data)
    assert (src.encoding, src.codec) == ("windows-1252", "cp1252")
    assert src.text == '<p>café € <img src="http://a.example/">'
    assert url_offset(src) == 20 == data.index(b"http://")


def test_undeclared_valid_utf8_is_utf8() -> None:
    src = decode_html("<p>日本 http://a.example/".encode())
    assert src.encoding == "utf-8"
    assert url_offset(src) == 10


def test_undeclared_ascii_is_utf8() -> None:
    assert decode_html(b"<p>plain http://a.example/").encoding == "utf-8"


def test_undeclared_bomless_utf16_markup_is_utf16() -> None:
    data = '<html><img src="http://a.example/">'.encode("utf-16-be")
    src = decode_html(data)
    assert src.encoding == "utf-16be"
    assert url_offset(src) == 2 * 16


# ---- single-byte encodings ----------------------------------------------------------------------------

def test_windows_1252_euro_and_undefined_bytes() -> None:
    # 0x80 is €; the five bytes cp1252 leaves undefined are C1 controls in WHATWG's index
    data = b'<meta charset=windows-1252><p>\x80\x81\x8d\x8f\x90\x9d\x9f <img src="http://a.example/">'
    src = decode_html(data)
    assert src.encoding == "windows-1252"
    assert src.text[30:38] == "€\x81\x8d\x8f\x90\x9dŸ "
    assert url_offset(src) == 48 == data.index(b"http://")
    assert src.encode(src.text) == data


def test_iso_8859_1_label_is_windows_1252() -> None:
    src = decode_html(b"<meta charset=iso-8859-1><p>\x80")
    assert src.encoding == "windows-1252"
    assert src.text.endswith("€")


def test_iso_8859_2() -> None:
    data = b'<meta charset="iso-8859-2"><p>\xb1\xe6\xbf <a ping="http://a.example/">'
    src = decode_html(data)
    assert (src.encoding, src.codec) == ("iso-8859-2", "iso8859-2")
    assert "<p>ąćż " in src.text
    assert url_offset(src) == data.index(b"http://")
    assert src.encode("ąćż") == b"\xb1\xe6\xbf"


def test_x_user_defined_from_transport() -> None:
    src = decode_html(b"<p>\x80\xff", transport_charset="x-user-defined")
    assert src.encoding == "x-user-defined"
    assert src.text == "<p>\uf780\uf7ff"
    assert src.encode(src.text) == b"<p>\x80\xff"


# ---- multi-byte encodings -----------------------------------------------------------------------------

def test_shift_jis_text_before_an_ascii_url() -> None:
    text = '<meta charset="Shift_JIS"><p>日本語のページです <img src="http://example.com/a.png">'
    data = text.encode("cp932")
    src = decode_html(data)
    assert (src.encoding, src.codec) == ("shift_jis", "cp932")
    assert src.text == text
    # 29 ASCII bytes, 9 double-byte characters (18 bytes), then ' <img src="' (11)
    assert url_offset(src) == 58 == data.index(b"http://example.com")
    assert src.encode("日本語") == "日本語".encode("cp932")


def test_shift_jis_duplicate_codes_keep_offsets_exact() -> None:
    # 0x8790 (NEC row 13) and 0x81E0 both decode to U+2252; the encoder writes 0x81E0
    data = b'<meta charset=shift_jis><p>\x87\x90\x87\x90 <img src="http://a.example/">'
    src = decode_html(data)
    assert src.text[27:29] == "≒≒"
    assert url_offset(src) == data.index(b"http://")


def test_shift_jis_stray_lead_byte_keeps_the_quote() -> None:
    data = b'<meta charset=shift_jis><img alt="\x81" src="http://a.example/">'
    src = decode_html(data)
    assert src.text == '<meta charset=shift_jis><img alt="\udc81" src="http://a.example/">'
    assert url_offset(src) == data.index(b"http://")
    assert src.encode(src.text) == data


def test_euc_jp() -> None:
    text = '<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP"><p>日本語 ｶﾅ <img src="http://a.example/">'
    data = text.encode("euc_jp")
    src = decode_html(data)
    assert src.encoding == "euc-jp"
    assert src.text == text
    # halfwidth katakana are two bytes in EUC-JP (0x8E lead)
    assert url_offset(src) == data.index(b"http://")


def test_gb18030_with_four_byte_sequences() -> None:
    text = '<meta charset="gb18030"><p>中文€😀\u00e9 <img src="http://a.example/">'
    data = text.encode("gb18030")
    src = decode_html(data)
    assert src.encoding == "gb18030"
    assert src.text == text
    assert url_offset(src) == data.index(b"http://")


def test_gbk_label_decodes_as_gb18030() -> None:
    data = '<meta charset="gbk"><p>😀 http://a.example/'.encode("gb18030")
    src = decode_html(data)
    assert (src.encoding, src.codec) == ("gbk", "gb18030")
    assert src.text.endswith("😀 http://a.example/")


def test_gb18030_invalid_sequence_restores_ascii_bytes() -> None:
    # 0x81 0x30 starts a four-byte sequence that the quote breaks: only 0x81 is an error
    data = b'<img alt="\x810" src="http://a.example/">'
    src = decode_html(data, transport_charset="gb18030")
    assert src.text == '<img alt="\udc810" src="http://a.example/">'
    assert url_offset(src) == data.index(b"http://")
    assert src.encode(src.text) == data


def test_big5_sequences_that_decode_to_two_code_points() -> None:
    data = b'\x88\x62 <img src="http://a.example/">'
    src = decode_html(data, transport_charset="big5")
    assert src.text.startswith("\u00ca\u0304 ")
    assert url_offset(src) == data.index(b"http://")


def test_euc_kr() -> None:
    text = "<p>한국어 http://a.example/"
    data = text.encode("cp949")
    src = decode_html(data, transport_charset="euc-kr")
    assert src.text == text
    assert url_offset(src) == 3 + 6 + 1


def test_iso_2022_jp() -> None:
    data = b'<p>\x1b$BF|K\\\x1b(B <img src="http://a.example/">'  # <p>日本 <img …>
    src = decode_html(data, transport_charset="iso-2022-jp")
    assert src.text == '<p>日本 <img src="http://a.example/">'
    assert url_offset(src) == data.index(b"http://")
    assert src.byte_offset(src.text.index("日")) == 6
    assert src.byte_offset(len(src.text)) == len(data)


def test_utf8_four_byte_characters() -> None:
    data = '😀😀 <img src="http://a.example/">'.encode()
    src = decode_html(data)
    assert url_offset(src) == 8 + 11 == data.index(b"http://")
    assert src.line_column(src.text.index("http")) == (1, 14)


def test_invalid_utf8_in_utf8_declared_file_keeps_offsets() -> None:
    data = b'<meta charset=utf-8><p>\xff\xfe\xc3 \xe3\x81"x" <img src="http://a.example/">'
    src = decode_html(data)
    assert src.encoding == "utf-8"
    assert src.text[23:33] == '\udcff\udcfe\udcc3 \udce3\udc81"x" '
    assert url_offset(src) == data.index(b"http://")
    assert len(src.text) == len(data)
    assert src.encode(src.text) == data


def test_utf16_dangling_odd_byte_is_left_out() -> None:
    data = BOM16LE + "ab".encode("utf-16-le") + b"\x00"
    src = decode_html(data)
    assert src.text == "ab"
    assert src.byte_offset(2) == 6


def test_utf16_lone_surrogate_is_one_code_unit() -> None:
    data = BOM16LE + b"\x00\xd8" + "x http://a.example/".encode("utf-16-le")
    src = decode_html(data)
    assert src.text[0] == "\ud800"
    assert url_offset(src) == 2 + 2 * 3
    assert src.encode(src.text) == data[2:]


def test_long_shift_jis_document_offsets_in_every_block() -> None:
    # ~60 KB: many checkpoint blocks; NEC twins (0x8790) and stray lead bytes (0x81) force the exact walk
    lines = []
    for k in range(600):
        lines.append("日本語のテキストです。".encode("cp932") + (b"\x87\x90" if k % 7 == 0 else b"")
                     + (b"\x81" if k % 11 == 0 else b"")
                     + f' <img src="http://example.com/{k}.png"> ｱ'.encode("cp932") + b"\r\n")
    data = b"<meta charset=shift_jis>\n" + b"".join(lines)
    src = decode_html(data)
    byte_starts = [m.start() for m in re.finditer(rb"http://example\.com/\d+\.png", data)]
    char_starts = [m.start() for m in re.finditer(r"http://example\.com/\d+\.png", src.text)]
    assert len(byte_starts) == len(char_starts) == 600
    assert [src.byte_offset(i) for i in char_starts] == byte_starts
    assert [src.byte_offset(i + 27) for i in char_starts[::37]] == [b + 27 for b in byte_starts[::37]]
    # 11 characters of text, one twin, one stray lead byte, then ' <img src="' (11): column 25
    assert src.line_column(char_starts[0]) == (2, 25)
    assert src.line_column(char_starts[599])[0] == 601
    assert src.byte_offset(len(src.text)) == len(data)


def test_long_utf8_document_offsets() -> None:
    unit = "😀é日 http://a.example/x\n"
    data = (unit * 3000).encode()
    src = decode_html(data, transport_charset="utf-8")
    # each unit: 4 + 2 + 3 + 1 bytes before the URL, 18 + 1 from it: 29 bytes, 23 code points
    for k in (0, 1, 163, 1500, 2999):
        assert src.byte_offset(23 * k + 4) == 29 * k + 10
        assert src.line_column(23 * k + 4) == (k + 1, 5)


# ---- CSS Syntax §3.2 ----------------------------------------------------------------------------------

def test_css_charset_rule() -> None:
    data = b'@charset "iso-8859-2"; a::before{content:"\xb1"} b{background:url(http://a.example/x.png)}'
    src = decode_css(data)
    assert src.encoding == "iso-8859-2"
    assert 'content:"ą"' in src.text
    assert url_offset(src) == data.index(b"http://")


def test_css_charset_utf16_means_utf8() -> None:
    assert decode_css(b'@charset "utf-16"; a{content:"\xc3\xa9"}').encoding == "utf-8"


def test_css_charset_must_be_exact() -> None:
    # the byte pattern is case-sensitive, needs double quotes and one space, at byte 0
    assert decode_css(b'@CHARSET "koi8-r"; a{}').encoding == "utf-8"
    assert decode_css(b"@charset 'koi8-r'; a{}").encoding == "utf-8"
    assert decode_css(b'@charset  "koi8-r"; a{}').encoding == "utf-8"
    assert decode_css(b' @charset "koi8-r"; a{}').encoding == "utf-8"


def test_css_transport_beats_charset_rule() -> None:
    assert decode_css(b'@charset "koi8-r"; a{}', transport_charset="iso-8859-5").encoding == "iso-8859-5"


def test_css_environment_encoding() -> None:
    src = decode_css(b"a{content:'\xe9'}", environment="windows-1250")
    assert src.encoding == "windows-1250"
    assert decode_css(b'@charset "koi8-r"; a{}', environment="windows-1250").encoding == "koi8-r"


def test_css_default_is_utf8_and_bom_wins() -> None:
    assert decode_css(b"a{}").encoding == "utf-8"
    src = decode_css(BOM8 + b'@charset "koi8-r"; a{background:url(http://a.example/)}')
    assert (src.encoding, src.bom_length) == ("utf-8", 3)
    assert url_offset(src) == 3 + 36


def test_css_multibyte_offsets() -> None:
    data = 'a::before{content:"日本"} b{background:url(http://a.example/x.png)}'.encode()
    src = decode_css(data)
    assert url_offset(src) == data.index(b"http://") == 19 + 6 + 20


# ---- XML (.xhtml) -------------------------------------------------------------------------------------

def test_xml_declaration_encoding() -> None:
    text = '<?xml version="1.0" encoding="Shift_JIS"?>\n<html><p>日本</p><img src="http://a.example/"/></html>'
    data = text.encode("cp932")
    src = decode_xml(data)
    assert src.encoding == "shift_jis"
    assert src.text == text
    assert url_offset(src) == data.index(b"http://")


def test_xml_declaration_single_quotes() -> None:
    assert decode_xml(b"<?xml version='1.0' encoding='ISO-8859-2'?><a/>").encoding == "iso-8859-2"


def test_xml_without_declaration_is_utf8() -> None:
    assert decode_xml(b"<html xmlns='http://www.w3.org/1999/xhtml'>\xe9</html>").encoding == "utf-8"


def test_xml_utf16_label_in_ascii_bytes_is_utf8() -> None:
    assert decode_xml(b'<?xml version="1.0" encoding="UTF-16"?><a/>').encoding == "utf-8"


def test_xml_bom_and_transport() -> None:
    assert decode_xml(BOM16BE + '<?xml version="1.0"?><a/>'.encode("utf-16-be")).encoding == "utf-16be"
    data = b'<?xml version="1.0" encoding="koi8-r"?><a/>'
    assert decode_xml(data, transport_charset="windows-1251").encoding == "windows-1251"


def test_xml_bomless_utf16() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><a href="http://a.example/"/>'.encode("utf-16-le")
    src = decode_xml(data)
    assert src.encoding == "utf-16le"
    assert url_offset(src) == 2 * 48


# ---- lines and columns (SPEC §6) ---------------------------------------------------------------------

def test_line_column_with_lf_crlf_cr() -> None:
    src = decode_html(b"a\nb\r\nc\rd")
    expected = [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (4, 1), (4, 2)]
    assert [src.line_column(i) for i in range(9)] == expected


def test_crlf_is_one_line_break() -> None:
    src = decode_html(b"x\r\n\r\ny\n\rz")
    assert src.line_column(5) == (3, 1)
    assert src.line_column(8) == (5, 1)


def test_column_counts_code_points() -> None:
    src = decode_html("😀é\n😀日x".encode())
    assert src.line_column(5) == (2, 3)
    assert src.byte_offset(5) == 4 + 2 + 1 + 4 + 3


def test_line_column_in_utf16_counts_code_points_not_units() -> None:
    src = decode_html(BOM16LE + "😀😀x\ny".encode("utf-16-le"))
    assert src.line_column(2) == (1, 3)
    assert src.byte_offset(2) == 2 + 8
    assert src.line_column(4) == (2, 1)


def test_positions_at_the_end_of_the_text() -> None:
    src = decode_html("ab\n日".encode())
    assert src.line_column(4) == (2, 2)
    assert src.byte_offset(4) == 6
    empty = decode_html(b"")
    assert (empty.text, empty.byte_offset(0), empty.line_column(0)) == ("", 0, (1, 1))


def test_index_outside_the_text_is_an_error() -> None:
    src = decode_html(b"abc")
    with pytest.raises(IndexError):
        src.byte_offset(4)
    with pytest.raises(IndexError):
        src.line_column(-1)


def test_source_text_is_a_frozen_value() -> None:
    src = decode_html(b"<p>x")
    with pytest.raises(AttributeError):
        src.text = "y"  # type: ignore[misc]
    assert src == decode_html(b"<p>x")


# ---- looks_binary -------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


BINARY_FILES = [
    PNG,
    gzip.compress(b"<html><img src='http://a.example/'>"),
    b"GIF89a\x01\x00\x01\x00",
    b"\xff\xd8\xff\xe0\x00\x10JFIF",
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    b"PK\x03\x04\x14\x00\x00\x00",
    b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    b"\x00\x00\x00\x18ftypmp42",
    b"wOF2\x00\x01\x00\x00",
    b"\x00\x00\x01\x00\x01\x00\x10\x10",
]


@pytest.mark.parametrize("data", BINARY_FILES)
def test_a_file_of_another_format_is_binary_labeled_or_not(data: bytes) -> None:
    # MIME Sniffing §6.1-6.4 signatures: an image, archive, font or video renamed .html
    assert looks_binary(data)
    assert looks_binary(data, labeled=False)


@pytest.mark.parametrize("data", [
    b"",
    b"<!DOCTYPE html><html><body><img src='http://a.example/x.png'></body></html>",
    "<p>日本語 😀</p>".encode(),
    "<p>caf\xe9</p>".encode("cp1252"),
    BOM16LE + "<html><p>日本</p></html>".encode("utf-16-le"),
    BOM16BE + "<html><p>日本</p></html>".encode("utf-16-be"),
    "<html><body><p>hello</p></body></html>".encode("utf-16-le"),
    "<html><body><p>hello</p></body></html>".encode("utf-16-be"),
    b"BMW cars are nice",
])
def test_text_content(data: bytes) -> None:
    assert not looks_binary(data)


@pytest.mark.parametrize("data", [
    b"<html>\x00<body>",
    b"<p>W3C test page</p>\n\x00",  # a real W3C test page ends in a NUL
    b"abc\x00def" + b"x" * 100,
    BOM8 + b"<p>\x00\x01\x02",
    b"<p>\x1b[31m red \x7f</p>",
])
def test_control_bytes_do_not_make_a_document_labeled_html_binary(data: bytes) -> None:
    # MIME Sniffing §7 step 4: a supplied HTML MIME type is the computed type (browsers render it)
    assert not looks_binary(data)


@pytest.mark.parametrize("data,binary", [
    (b"<html>\x00<body>", False),            # §7.1: an HTML pattern comes first
    (b"  <!DOCTYPE html >\x01", False),
    (b"<!-- x -->\x00", False),
    (b"<?xml version='1.0'?>\x00", False),
    (BOM8 + b"<p>\x00\x01\x02", False),     # a BOM: text/plain
    (b"abc\x00def" + b"x" * 100, True),      # a binary data byte in the resource header
    (b"abc def\x01", True),
    (b"abc \x1b$B\x1b(B def", False),      # ESC is not a binary data byte (ISO-2022-JP uses it)
    (b"x" * 1445 + b"\x00", False),          # past the 1445-byte resource header
    (b"<pre>plain text", False),              # no pattern, no binary data byte: text
    (zlib.compress(b"x") + b"\x00", True),
])
def test_unlabeled_content_is_sniffed_as_mime_sniffing_7_1_says(data: bytes, binary: bool) -> None:
    assert looks_binary(data, labeled=False) is binary


# ---- properties ---------------------------------------------------------------------------------------

BOMS = (BOM8, BOM16LE, BOM16BE)
CP1252_ALPHABET = [chr(b) for b in range(0x80)] + [
    bytes([b]).decode("cp1252", "replace").replace("\ufffd", chr(b)) for b in range(0x80, 0x100)]


def _cp1252_bytes(text: str) -> bytes:
    """windows-1252 as WHATWG defines it: cp1252, plus U+0081 U+008D U+008F U+0090 U+009D as their bytes."""
    return b"".join(bytes([ord(c)]) if c in "\x81\x8d\x8f\x90\x9d" else c.encode("cp1252") for c in text)


def _cp932_alphabet() -> list[str]:
    ranges = [(0x20, 0x7F), (0x3041, 0x3097), (0x30A1, 0x30F7), (0x4E00, 0x5200), (0xFF61, 0xFFA0)]
    out = ["\n", "\r", "\t", "≒", "①", "㈱"]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            c = chr(cp)
            try:
                if c.encode("cp932").decode("cp932") == c:
                    out.append(c)
            except UnicodeError:
                pass
    return out


CP932_ALPHABET = _cp932_alphabet()
ENCODED = [
    ("utf-8", st.text(), lambda t: t.encode("utf-8"), {"transport_charset": "utf-8"}),
    ("utf-16le+bom", st.text(), lambda t: BOM16LE + t.encode("utf-16-le"), {}),
    ("utf-16be+bom", st.text(), lambda t: BOM16BE + t.encode("utf-16-be"), {}),
    ("windows-1252", st.text(st.sampled_from(CP1252_ALPHABET)), _cp1252_bytes, {"transport_charset": "cp1252"}),
    ("shift_jis", st.text(st.sampled_from(CP932_ALPHABET)), lambda t: t.encode("cp932"),
     {"transport_charset": "shift_jis"}),
]


@pytest.mark.parametrize("name,texts,encode,kwargs", ENCODED, ids=[e[0] for e in ENCODED])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_spans_of_encoded_text_are_exact(name: str, texts: st.SearchStrategy[str], encode: object,
                                         kwargs: dict[str, str], data: st.DataObject) -> None:
    text = data.draw(texts, label="text")
    raw: bytes = encode(text)  # type: ignore[operator]
    bom = 0 if name in ("utf-8", "windows-1252", "shift_jis") else 2
    if bom == 0:
        assume(not raw.startswith(BOMS))
    src = decode_html(raw, **kwargs)
    assert src.text == text
    assert src.byte_offset(0) == bom
    assert src.byte_offset(len(text)) == len(raw)
    i = data.draw(st.integers(0, len(text)), label="i")
    j = data.draw(st.integers(i, len(text)), label="j")
    assert raw[src.byte_offset(i):src.byte_offset(j)] == src.encode(text[i:j])


@pytest.mark.parametrize("label", ["utf-8", "shift_jis", "euc-jp", "gb18030", "euc-kr", "windows-1252"])
@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=300), data=st.data())
def test_spans_of_arbitrary_bytes_decode_to_their_text(label: str, raw: bytes, data: st.DataObject) -> None:
    assume(not raw.startswith(BOMS))
    src = decode_html(raw, transport_charset=label)
    offsets = [src.byte_offset(i) for i in range(len(src.text) + 1)]
    assert offsets[0] == 0 and offsets[-1] == len(raw)
    assert offsets == sorted(offsets)
    i = data.draw(st.integers(0, len(src.text)), label="i")
    j = data.draw(st.integers(i, len(src.text)), label="j")
    piece = raw[offsets[i]:offsets[j]]
    assume(not piece.startswith(BOMS))
    assert decode_html(piece, transport_charset=label).text == src.text[i:j]


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from("ab\r\n😀é")), data=st.data())
def test_line_and_column_follow_the_line_breaks(text: str, data: st.DataObject) -> None:
    src = decode_html(text.encode())
    index = data.draw(st.integers(0, len(text)))
    assume(not (index > 0 and text[index - 1:index + 1] == "\r\n"))  # the LF of a CRLF belongs to the CR's line
    before = text[:index]
    line = before.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
    assert src.line_column(index) == (line, index - line_start + 1)


# ---- a stray NUL through the whole scan and fix -------------------------------------------------------

def test_a_page_with_a_stray_nul_is_scanned_not_an_error(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "page.html").write_bytes(b'<p>a\x00b</p><img src="http://cdn.example/a.png">\x00')
    (tmp_path / "logo.html").write_bytes(PNG)
    r = run("scan", str(tmp_path), "--format", "json")
    rep = json.loads(r.out)
    assert [f["url"] for f in rep["findings"]] == ["http://cdn.example/a.png"]
    assert [{k: e[k] for k in ("file", "url", "message")} for e in rep["errors"]] == [
        {"file": "logo.html", "url": None, "message": "not an HTML file: binary content"}]


def test_fix_rewrites_a_page_with_a_stray_nul(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "page.html"
    page.write_bytes(b'<p>a\x00b</p><img src="http://cdn.example/a.png">\x00')
    run("fix", str(tmp_path), "--unsafe")
    assert page.read_bytes() == b'<p>a\x00b</p><img src="https://cdn.example/a.png">\x00'
