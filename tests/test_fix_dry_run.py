"""``fix --dry-run`` prints a patch made from the bytes as stored (issue 15 item 13): ``git apply`` and
``patch -p1`` apply it to a copy of the site and give, byte for byte, the tree a real ``fix`` writes,
whatever the encodings, line endings and file names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

IMG = '<img src="http://img.example/{}.png">'


def _site(root: str) -> None:
    os.makedirs(os.path.join(root, "sub"))
    files = {
        b"w1252.html": b"<meta charset=windows-1252><p>caf\xe9 \x80 \x9f</p>\n" + IMG.format("w").encode() + b"\n<p>end</p>\n",
        b"latin1.html": b"<meta charset=iso-8859-1>\n<p>\xe0 la carte</p>\n" + IMG.format("l").encode() + b"\n",
        b"utf16.html": ("\ufeff<p>日本</p>\n" + IMG.format("u16") + "\n<p>b</p>\n").encode("utf-16-le"),
        b"crlf.html": b"<p>a</p>\r\n" + IMG.format("crlf").encode() + b"\r\n<p>b</p>\r\n",
        b"cr.html": b"<p>a</p>\r" + IMG.format("cr").encode() + b"\r<p>b</p>\r",
        b"nonl.html": b"<p>a</p>\n" + IMG.format("nonl").encode(),
        b"caf\xe9.html": IMG.format("name").encode() + b"\n",  # a name that is not UTF-8
        b"sub/my page.html": b"<p>x</p>\n" + IMG.format("space").encode() + b"\n",
        b"sub/s.css": b"a{background:url(http://img.example/css.png)}\r\n/* no newline */",
    }
    files[b"sub/my page.html"] = b"<link rel=stylesheet href=s.css>" + files[b"sub/my page.html"]
    for name, data in files.items():
        with open(os.path.join(os.fsencode(root), name), "wb") as fh:
            fh.write(data)


def _tree(root: str) -> dict[bytes, bytes]:
    out = {}
    for d, _, names in os.walk(os.fsencode(root)):
        for n in names:
            with open(os.path.join(d, n), "rb") as fh:
                out[os.path.relpath(os.path.join(d, n), os.fsencode(root))] = fh.read()
    return out


def _fix(site: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mixedcontent", "fix", ".", "--unsafe", *args],
                          cwd=site, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, check=False)


@pytest.mark.parametrize("tool", [["git", "apply", "-p1"], ["patch", "-p1", "--quiet", "-i"]], ids=["git", "patch"])
def test_dry_run_patch_applies_to_give_exactly_what_fix_writes(tmp_path, tool: list[str]) -> None:  # type: ignore[no-untyped-def]
    original, fixed, patched = (str(tmp_path / n) for n in ("original", "fixed", "patched"))
    _site(original)
    shutil.copytree(original, fixed)
    shutil.copytree(original, patched)
    dry = _fix(original, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert _tree(original) == _tree(patched)  # a dry run changes nothing
    real = _fix(fixed)
    assert real.returncode == 0, real.stderr
    assert b"rewrote 9 references in 9 files" in real.stdout
    patch = tmp_path / "fix.patch"
    patch.write_bytes(dry.stdout)
    res = subprocess.run([*tool, str(patch)], cwd=patched, capture_output=True, check=False)
    assert res.returncode == 0, res.stderr + res.stdout
    assert _tree(patched) == _tree(fixed)
    assert _tree(fixed) != _tree(original)
