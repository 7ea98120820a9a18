"""Decoding documents once, the way browsers choose an encoding, with exact maps back to the bytes.

- HTML: WHATWG HTML §13.2.3 "determining the character encoding" (BOM, transport, prescan, default).
- CSS: CSS Syntax §3.2 (BOM, transport, ``@charset``, environment, UTF-8).
- XML: BOM, transport, the XML declaration, UTF-8.

Invalid byte sequences never raise and never shift positions: every undecodable byte becomes one
code point (``surrogateescape``) and encodes back to the same byte. Labels are mapped with
``webencodings`` (the WHATWG label table); the Python codec is chosen to match the WHATWG decoder
(Shift_JIS is Microsoft's cp932 in browsers, GBK is GB18030, and so on).

Units: ``byte_offset`` takes a 0-based code-point index into ``text`` and returns a 0-based byte
offset into ``data`` (BOM included); ``line_column`` returns a 1-based line and a 1-based column in
code points, where LF, CRLF and CR each end one line.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right

import webencodings

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16le"), (codecs.BOM_UTF16_BE, "utf-16be"))

# WHATWG encoding name -> Python codec that decodes the same way
_CODECS = {
    "utf-8": "utf-8", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be",
    "windows-1252": "cp1252", "shift_jis": "cp932", "euc-kr": "cp949", "gbk": "gb18030",
    "gb18030": "gb18030", "big5": "big5hkscs", "euc-jp": "euc_jp", "iso-2022-jp": "iso2022_jp",
    "iso-8859-8-i": "iso-8859-8", "x-mac-cyrillic": "mac-cyrillic", "macintosh": "mac-roman",
    "koi8-u": "koi8-u", "koi8-r": "koi8-r", "ibm866": "cp866", "windows-874": "cp874",
    "x-user-defined": "cp1252",
}
_SINGLE_BYTE_PREFIXES = ("iso-8859-", "windows-12", "cp12", "koi8", "mac-", "cp866", "cp874")
_CHUNK = 4096

_META = re.compile(rb"<meta[\t\n\f\r /]", re.IGNORECASE)
_PRESCAN_ATTR = re.compile(
    rb"""[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r /=>]*)(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]*)))?"""
)
_CHARSET_IN_CONTENT = re.compile(rb"""charset[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"?|'([^']*)'?|([^\t\n\f\r ;"']+))""",
                                 re.IGNORECASE)
_CSS_CHARSET = re.compile(rb'@charset "([^"]*)";')
_XML_DECL = re.compile(rb"""<\?xml[^>]*?encoding[\t\n\r ]*=[\t\n\r ]*["']([A-Za-z0-9._-]+)["']""")
_LINE_BREAK = re.compile(r"\r\n?|\n")
_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF",
                 b"BZh", b"\xfd7zXZ", b"RIFF", b"\x00\x00\x01\x00", b"wOFF", b"wOF2", b"OggS")


def _label(label: bytes | str | None) -> str | None:
    """WHATWG "get an encoding": the encoding name for a label, or None."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    enc = webencodings.lookup(label.strip("\t\n\f\r "))
    if enc is None:
        return None
    name = str(enc.name)
    if name == "replacement":
        # WHATWG decodes these (iso-2022-kr, hz-gb-2312, …) to one U+FFFD; we want spans, not rendering
        return "windows-1252"
    return name


def _codec(encoding: str) -> str:
    return _CODECS.get(encoding, encoding)


class SourceText:
    """One decoded document and the maps from code-point indexes back to its bytes."""

    __slots__ = ("data", "text", "encoding", "codec", "bom_length", "_ascii", "_single", "_lines", "_chunks",
                 "_cursor", "_queries")

    def __init__(self, data: bytes, encoding: str, bom_length: int = 0) -> None:
        self.data = data
        self.encoding = encoding
        self.codec = _codec(encoding)
        self.bom_length = bom_length
        body = data[bom_length:] if bom_length else data
        self._ascii = body.isascii() and self.codec not in ("utf-16-le", "utf-16-be")
        if self._ascii:
            self.text = body.decode("ascii")
        else:
            self.text = body.decode(self.codec, "surrogateescape")
        info = codecs.lookup(self.codec)
        self._single = self._ascii or info.name.startswith(_SINGLE_BYTE_PREFIXES) or info.name in (
            "cp1252", "latin-1", "iso8859-1", "ascii")
        self._lines: list[int] | None = None
        self._cursor = (0, 1)  # (index, line) of the last line_column query
        self._queries = 0
        self._chunks: list[int] | None = None

    def encode(self, s: str) -> bytes:
        """``s`` in the document's encoding (the inverse of decoding, invalid bytes included)."""
        if self._ascii and s.isascii():
            return s.encode("ascii")
        return s.encode(self.codec, "surrogateescape")

    def byte_offset(self, index: int) -> int:
        if self._single:
            return self.bom_length + index
        if self.codec in ("utf-16-le", "utf-16-be"):
            prefix = self.text[:index]
            return self.bom_length + 2 * len(prefix) + 2 * sum(1 for c in prefix if ord(c) > 0xFFFF)
        if self._chunks is None:
            sizes = [0]
            total = 0
            text = self.text
            for start in range(0, len(text), _CHUNK):
                total += len(self.encode(text[start:start + _CHUNK]))
                sizes.append(total)
            self._chunks = sizes
        chunk = index // _CHUNK
        start = chunk * _CHUNK
        return self.bom_length + self._chunks[chunk] + len(self.encode(self.text[start:index]))

    def line_column(self, index: int) -> tuple[int, int]:
        text = self.text
        if self._lines is None:
            # few queries (the usual case): count line breaks in C from the last query onwards
            start, line = self._cursor
            if index < start:
                start, line = 0, 1
            # a CRLF split by ``start`` must not count twice
            if start and text[start - 1] == "\r" and text.startswith("\n", start):
                start += 1
            line += text.count("\n", start, index) + text.count("\r", start, index) \
                - text.count("\r\n", start, index)
            self._cursor = (index, line)
            self._queries += 1
            if self._queries > 64:
                self._lines = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
            last = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index))
            return line, index - last
        line = bisect_right(self._lines, index)
        return line, index - self._lines[line - 1] + 1


def _bom(data: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def prescan(data: bytes) -> str | None:
    """HTML §13.2.3.2 prescan a byte stream to determine its encoding (first 1024 bytes)."""
    head = data[:1024]
    pos = 0
    n = len(head)
    while pos < n:
        lt = head.find(b"<", pos)
        if lt < 0:
            return None
        if head.startswith(b"<!--", lt):
            end = head.find(b"-->", lt + 2)
            if end < 0:
                return None
            pos = end + 3
            continue
        m = _META.match(head, lt)
        if m:
            found = _meta_encoding(head, m.end())
            if found[0] is not None:
                return found[0]
            pos = found[1]
            continue
        if lt + 1 < n and (head[lt + 1:lt + 2].isalpha() or head[lt + 1:lt + 2] == b"/"):
            # skip a start or end tag with its attributes
            p = lt + 2 if head[lt + 1:lt + 2] == b"/" else lt + 1
            while p < n and head[p:p + 1] not in b"\t\n\f\r />":
                p += 1
            while True:
                a = _PRESCAN_ATTR.match(head, p)
                if a is None or a.end() == p:
                    break
                p = a.end()
            gt = head.find(b">", p)
            if gt < 0:
                return None
            pos = gt + 1
            continue
        if head.startswith((b"<!", b"</", b"<?"), lt):
            gt = head.find(b">", lt)
            if gt < 0:
                return None
            pos = gt + 1
            continue
        pos = lt + 1
    return None


def _meta_encoding(head: bytes, p: int) -> tuple[str | None, int]:
    """The attributes of one <meta>: (encoding or None, position after the tag)."""
    seen: set[bytes] = set()
    got_pragma = False
    need_pragma: bool | None = None
    charset: str | None = None
    while True:
        a = _PRESCAN_ATTR.match(head, p)
        if a is None or a.end() == p:
            break
        p = a.end()
        name = a.group(1).lower()
        if name in seen:
            continue
        seen.add(name)
        value = next((g for g in a.groups()[1:] if g is not None), b"")
        if name == b"http-equiv":
            if value.lower() == b"content-type":
                got_pragma = True
        elif name == b"content" and charset is None:
            # HTML §2.6.5 extracting a character encoding from a meta element
            cm = _CHARSET_IN_CONTENT.search(value)
            if cm:
                label = next((g for g in cm.groups() if g is not None), b"")
                enc = _label(label)
                if enc is not None:
                    charset = enc
                    need_pragma = True
        elif name == b"charset":
            enc = _label(value)
            if enc is not None:
                charset = enc
                need_pragma = False
    gt = head.find(b">", p)
    end = gt + 1 if gt >= 0 else len(head)
    if need_pragma is None or (need_pragma and not got_pragma) or charset is None:
        return None, end
    if charset in ("utf-16le", "utf-16be"):
        charset = "utf-8"
    if charset == "x-user-defined":
        charset = "windows-1252"
    return charset, end


def decode_html(data: bytes, *, transport_charset: str | None = None, default: str | None = None) -> SourceText:
    bom = _bom(data)
    if bom is not None:
        return SourceText(data, bom[0], bom[1])
    enc = _label(transport_charset) or prescan(data) or _label(default)
    if enc is None:
        # no declaration: valid UTF-8 is UTF-8 (what browsers' detectors pick), else windows-1252
        try:
            data.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError:
            enc = "windows-1252"
    return SourceText(data, enc)


def decode_css(data: bytes, *, transport_charset: str | None = None, environment: str | None = None) -> SourceText:
    bom = _bom(data)
    if bom is not None:
        return SourceText(data, bom[0], bom[1])
    enc = _label(transport_charset)
    if enc is None:
        m = _CSS_CHARSET.match(data)
        if m:
            enc = _label(m.group(1))
            if enc in ("utf-16le", "utf-16be"):
                enc = "utf-8"
    return SourceText(data, enc or _label(environment) or "utf-8")


def decode_xml(data: bytes, *, transport_charset: str | None = None) -> SourceText:
    bom = _bom(data)
    if bom is not None:
        return SourceText(data, bom[0], bom[1])
    enc = _label(transport_charset)
    if enc is None:
        m = _XML_DECL.match(data)
        if m:
            enc = _label(m.group(1))
    return SourceText(data, enc or "utf-8")


def looks_binary(data: bytes) -> bool:
    """True for content that is clearly not a text document (images, archives, executables)."""
    if data.startswith(_BINARY_MAGIC):
        return True
    if _bom(data) is not None:
        return False
    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 without BOM has NULs in every other byte of ASCII text; treat as text only then
        even = head[0::2].count(0)
        odd = head[1::2].count(0)
        half = len(head) // 2 or 1
        return not (even > 0.4 * half or odd > 0.4 * half) or head.count(b"\x00") > 0.7 * len(head)
    return False
