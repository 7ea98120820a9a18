"""The CI gate: exit codes, configuration and its precedence, per-path ignores, inline suppression,
baselines that survive unrelated edits."""

from __future__ import annotations

import json

import pytest

PAGE = """<!DOCTYPE html><html><head><title>t</title></head><body>
<img src="http://cdn.example/a.png">
<script src="http://cdn.example/a.js"></script>
</body></html>
"""


def _site(tmp_path, files):  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    for name, text in files.items():
        p = site / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return site


def _codes(run, *args):  # type: ignore[no-untyped-def]
    r = run("scan", *args, "--format", "json")
    assert r.code in (0, 1), r.err
    rep = json.loads(r.out)
    return sorted((f["file"], f["code"]) for f in rep["findings"]), rep["summary"]["suppressed"], r.code


@pytest.mark.parametrize("config,flags,expected_codes,exit_code", [
    ("", [], ["MC101", "MC102"], 1),
    ('select = ["MC101"]', [], ["MC101"], 0),
    ('select = ["MC101"]', ["--select", "MC102"], ["MC102"], 1),  # flags win
    ('ignore = ["MC1"]\nselect = ["MC102"]', [], ["MC102"], 1),  # longest prefix wins
    ('fail-on = "warning"\nselect = ["MC101"]', [], ["MC101"], 1),
    ('fail-on = "warning"\nselect = ["MC101"]', ["--fail-on", "error"], ["MC101"], 0),
    ('fail-on = "never"', [], ["MC101", "MC102"], 0),
])
def test_config_and_flags(run, tmp_path, monkeypatch, config, flags, expected_codes, exit_code) -> None:  # type: ignore[no-untyped-def]
    _site(tmp_path, {"index.html": PAGE})
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname='x'\n\n[tool.mixedcontent]\n{config}\n")
    monkeypatch.chdir(tmp_path)
    found, _, code = _codes(run, "site", *flags)
    assert [c for _, c in found] == expected_codes
    assert code == exit_code


def test_mixedcontent_toml_and_explicit_config(run, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _site(tmp_path, {"index.html": PAGE})
    (tmp_path / "mixedcontent.toml").write_text('ignore = ["MC101"]\n')
    other = tmp_path / "other.toml"
    other.write_text('ignore = ["MC102"]\n')
    monkeypatch.chdir(tmp_path)
    assert [c for _, c in _codes(run, "site")[0]] == ["MC102"]
    assert [c for _, c in _codes(run, "site", "--config", str(other))[0]] == ["MC101"]
    assert [c for _, c in _codes(run, "site", "--no-config")[0]] == ["MC101", "MC102"]


@pytest.mark.parametrize("config,message", [
    ("selekt = ['MC1']", "unknown key 'selekt'"),
    ("select = 'MC1'", "select must be a list"),
    ("select = ['XX1']", "unknown rule code"),
    ("fail-on = 'sometimes'", "fail-on must be one of"),
    ("jobs = true", "jobs must be an integer"),
    ("select = [", "not valid TOML"),
])
def test_bad_config_is_a_one_line_usage_error(run, tmp_path, monkeypatch, config, message) -> None:  # type: ignore[no-untyped-def]
    _site(tmp_path, {"index.html": PAGE})
    (tmp_path / "mixedcontent.toml").write_text(config + "\n")
    monkeypatch.chdir(tmp_path)
    r = run("scan", "site")
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err


def test_per_path_ignores(run, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _site(tmp_path, {"index.html": PAGE, "legacy/old.html": PAGE, "legacy/deep/older.html": PAGE})
    (tmp_path / "mixedcontent.toml").write_text('[per-path-ignores]\n"legacy/*" = ["MC1"]\n')
    monkeypatch.chdir(tmp_path)
    found, suppressed, _ = _codes(run, "site")
    assert found == [("index.html", "MC101"), ("index.html", "MC102")]
    assert suppressed == 4  # fnmatch's * crosses "/": legacy/deep/older.html is covered too


def test_inline_suppression_on_element_and_ancestor(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = _site(tmp_path, {"index.html": """<body>
<div data-mixedcontent-ignore="MC101"><p><img src="http://cdn.example/ancestor.png">
<script src="http://cdn.example/not-covered.js"></script></p></div>
<img src="http://cdn.example/after.png">
<img data-mixedcontent-ignore src="http://cdn.example/own-all.png">
<section data-mixedcontent-ignore="MC102"><iframe srcdoc="<img src=http://cdn.example/in-srcdoc.png><script src=http://cdn.example/s.js></script>"></iframe></section>
<style>
/* mixedcontent-ignore: MC101 */
.a { background: url(http://cdn.example/css-next-line.png) }
.b { background: url(http://cdn.example/css-not-covered.png) }
</style>
</body>"""})
    r = run("scan", str(site), "--format", "json")
    rep = json.loads(r.out)
    assert [f["raw"] for f in rep["findings"]] == [
        "http://cdn.example/not-covered.js", "http://cdn.example/after.png", "http://cdn.example/in-srcdoc.png",
        "http://cdn.example/css-not-covered.png"]
    assert rep["summary"]["suppressed"] == 4
    shown = json.loads(run("scan", str(site), "--format", "json", "--show-suppressed").out)
    assert sorted(f["suppressed_by"] for f in shown["findings"] if "suppressed_by" in f) == ["inline"] * 4
    off = json.loads(run("scan", str(site), "--format", "json", "--no-inline-ignores").out)
    assert off["summary"]["findings"] == 8


@pytest.mark.parametrize("marker", ["DATA-MIXEDCONTENT-IGNORE", "Data-MixedContent-Ignore", "data-mixedcontent-iGnOrE"])
def test_inline_marker_name_is_case_insensitive(run, tmp_path, marker: str) -> None:  # type: ignore[no-untyped-def]
    site = _site(tmp_path, {"index.html": f'<p {marker}><img src="http://cdn.example/a.png"></p>'
                                          '<img src="http://cdn.example/b.png">'})
    rep = json.loads(run("scan", str(site), "--format", "json").out)
    assert [f["raw"] for f in rep["findings"]] == ["http://cdn.example/b.png"]
    assert rep["summary"]["suppressed"] == 1


def test_baseline_reports_only_new_findings_and_survives_edits(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = _site(tmp_path, {"index.html": PAGE, "other.html": PAGE})
    baseline = tmp_path / "baseline.json"
    r = run("scan", str(site), "--write-baseline", str(baseline))
    assert r.code == 0 and "recorded 4 findings" in r.err
    assert run("scan", str(site), "--baseline", str(baseline)).code == 0
    # unrelated edits and line moves: nothing new
    (site / "index.html").write_text("<!-- a new comment -->\n\n\n" + PAGE.replace("<title>t</title>",
                                                                                  "<title>New title</title>"))
    found, suppressed, code = _codes(run, str(site), "--baseline", str(baseline))
    assert (found, suppressed, code) == ([], 4, 0)
    # a genuinely new finding fails the gate, and only it is reported
    (site / "other.html").write_text(PAGE + '<iframe src="http://w.example/new"></iframe>')
    found, suppressed, code = _codes(run, str(site), "--baseline", str(baseline))
    assert (found, suppressed, code) == ([("other.html", "MC102")], 4, 1)


def test_bad_baseline_file(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = _site(tmp_path, {"index.html": PAGE})
    bad = tmp_path / "b.json"
    bad.write_text("[]")
    r = run("scan", str(site), "--baseline", str(bad))
    assert r.code == 2 and "not a mixedcontent baseline" in r.err
    r = run("scan", str(site), "--baseline", str(tmp_path / "missing.json"))
    assert r.code == 2 and r.err.count("\n") == 1


def test_inline_marker_in_utf16_and_upper_case(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    html = '<DIV DATA-MIXEDCONTENT-IGNORE="mc101"><img src="http://cdn.example/a.png"></DIV>'
    site = tmp_path / "site"
    site.mkdir()
    (site / "u16.html").write_bytes("\ufeff".encode("utf-16-le") + html.encode("utf-16-le"))
    (site / "u8.html").write_text(html)
    found, suppressed, code = _codes(run, str(site))
    assert (found, suppressed, code) == ([], 2, 0)
