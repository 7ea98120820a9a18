#!/usr/bin/env python3
"""Write fixtures/mirror-site/: a small archived site as `wget -m -k -E` and HTTrack leave it (legacy
encodings, CRLF, a UTF-16 page, query strings in file names, a `.orig` backup, XHTML), used by the
`fix` tests. The files are committed; this script documents how their bytes were made.

    python3 scripts/make_mirror_fixture.py
"""

from __future__ import annotations

import os

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "mirror-site",
                    "www.example.org")


def write(rel: str, data: bytes) -> None:
    path = os.path.join(ROOT, *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main() -> None:
    # windows-1252 home page with CRLF, as wget -k left it, and the .orig backup wget -k keeps
    home = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<HTML>
<HEAD>
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1252">
<TITLE>Caf\u00e9 M\u00fcller \u2013 Home</TITLE>
<LINK REL=stylesheet HREF="css/style.css?v=3.css">
<SCRIPT SRC="http://cdn.example/jquery-1.4.2.min.js"></SCRIPT>
</HEAD>
<BODY BGCOLOR=#ffffff BACKGROUND="http://img.example/bg.gif">
<!-- Mirrored from www.example.org/ by HTTrack Website Copier/3.x [XR&CO'2014], Sat, 04 Mar 2023 10:12:41 GMT -->
<TABLE WIDTH=600><TR><TD><IMG SRC=http://img.example/logo.gif ALT="Caf\u00e9"></TD></TR></TABLE>
<P>Men\u00fc: <A HREF="news.php?id=2.html">Neuigkeiten</A> \u2022 <A HREF="jp/index.html">&#26085;&#26412;&#35486;</A></P>
<P><IMG SRC="http://img.example/spacer.gif?w=1&amp;h=1" WIDTH=1 HEIGHT=1>
<IMG SRC="http&#58;//img.example/counter.gif" ALT="">
<EMBED SRC="http://media.example/intro.swf" WIDTH=400 HEIGHT=300>
</BODY>
</HTML>
""".replace("\n", "\r\n")
    write("index.html", home.encode("cp1252"))
    write("index.html.orig", home.replace('HREF="news.php?id=2.html"', 'HREF="/news.php?id=2"').encode("cp1252"))
    # ISO-8859-1 page behind an http <base href>, under a wget -E file name with its query string
    news = """<!doctype html>
<html lang="de"><head><meta charset="iso-8859-1"><title>Neuigkeiten</title>
<base href="http://www.example.org/">
<link rel="stylesheet" href="css/style.css?v=3.css"></head>
<body><h1>Neuigkeiten f\u00fcr M\u00e4rz</h1>
<img src="img/plan.png" srcset="img/plan.png 1x, img/plan@2x.png 2x" alt="Plan">
<p><video src="http://media.example/clip.mp4" controls></video></p>
<form action="http://www.example.org/cgi-bin/subscribe.pl" method="post"><input name="email"></form>
</body></html>
"""
    write("news.php?id=2.html", news.encode("latin-1"))
    css = """@charset "windows-1252";
/* Caf\u00e9 theme \u2014 mirrored */
@import url("http://fonts.example/css?family=Lobster");
body { background: url( 'http://img.example/paper.jpg' ) repeat; }
h1 { font-family: "M\u00fcller Sans"; }
@font-face { font-family: Lobster; src: url(http://fonts.example/lobster.woff) format("woff"); }
"""
    write("css/style.css?v=3.css", css.encode("cp1252"))
    # Shift_JIS (cp932) page: NEC special characters (U+2460 is 0x8740) right beside the URLs
    jp = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><title>\u65e5\u672c\u8a9e</title></head>
<body><p>\u2460\u30ed\u30b4<img src="http://img.example/\u30ed\u30b4.png" alt="\u30ed\u30b4\u2461"></p>
<p><iframe src="http://maps.example/embed?q=\u6771\u4eac"></iframe></p>
</body></html>
"""
    # the first U+2460 becomes 0xED 0x40: an NEC-selected IBM extension (U+7E8A) whose canonical cp932
    # bytes are 0xFA 0x5C; a rewrite that re-encoded the text would change it
    write("jp/index.html", jp.encode("cp932").replace("\u2460".encode("cp932"), b"\xed\x40", 1))
    # UTF-16LE with a BOM and CRLF
    u16 = """<!DOCTYPE html>
<html><head><title>UTF-16 page \u2603</title></head>
<body><img src="http://img.example/snow.png" alt="\u2603"><audio src="http://media.example/jingle.ogg"></audio></body></html>
""".replace("\n", "\r\n")
    write("utf16.html", b"\xff\xfe" + u16.encode("utf-16-le"))
    xh = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en"><head><title>Feed</title></head>
<body><p><img src="http://img.example/rss.png" alt="RSS" /><object data="http://media.example/player.swf" type="application/x-shockwave-flash"></object></p></body></html>
"""
    write("feed.xhtml", xh.encode("utf-8"))
    write("robots.txt", b"User-agent: *\nDisallow: /cgi-bin/\n")


if __name__ == "__main__":
    main()
