"""The documentation under docs/ stands alone: it builds with `mkdocs build --strict` (links and
anchors checked, our own MkDocs plugin scanning the result), every rule has its page, the docs pages
the code cites exist with the anchors cited, and nothing in README, the package or the docs points
at files outside the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from test_docs_plugins import _env, _mkdocs_plugin_installed

from mixedcontent.rules import RULES

DOCS = Path(ROOT, "docs")


def test_grep_finds_no_reference_outside_the_repository() -> None:
    grep = shutil.which("grep")
    assert grep is not None
    res = subprocess.run([grep, "-rnI", "--exclude-dir=__pycache__", r"shared/\|SPEC §", "README.md", "mixedcontent/", "docs/", "mkdocs.yml"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 1, res.stdout  # grep: 1 = no line matched
    # nor by another spelling: the developers' SPEC.md, a path that leaves the repository
    outside = re.compile(r"SPEC\.md|SPEC §|\.\./shared|/work/")
    for base in ("README.md", "mixedcontent", "docs", "action.yml", "ci"):
        for path in [Path(ROOT, base)] if base.endswith((".md", ".yml")) else Path(ROOT, base).rglob("*"):
            if path.is_file() and path.suffix in (".md", ".py", ".json", ".yml", ".toml", ".txt", ""):
                text = path.read_text(encoding="utf-8", errors="replace")
                assert not outside.search(text), f"{path}: {outside.search(text)}"


def _anchors(page: Path) -> set[str]:
    """Explicit {#id} anchors and the ids MkDocs's toc gives headings (lower case, words joined by -)."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = re.search(r"\{#([\w-]+)\}\s*$", line)
            title = re.sub(r"\{#[\w-]+\}\s*$", "", line.lstrip("#")).strip()
            out.add(m.group(1) if m else re.sub(r"[^\w\s-]", "", title.lower()).strip().replace(" ", "-"))
    return out


def test_docs_pages_the_code_cites_exist_with_their_anchors() -> None:
    cited = set()
    for path in Path(ROOT, "mixedcontent").rglob("*"):
        if path.suffix in (".py", ".json", ".md"):
            cited |= set(re.findall(r"docs/([\w/-]+\.md)(#[\w-]+)?", path.read_text(encoding="utf-8")))
    assert ("probe.md", "") in cited and ("judging.md", "#css") in cited  # what the package cites today
    for page, anchor in cited:
        if page.startswith("rules/") and page != "rules/index.md":
            continue
        assert (DOCS / page).is_file(), page
        if anchor:
            assert anchor[1:] in _anchors(DOCS / page), f"{page}{anchor}"


def test_rules_index_lists_every_rule_with_its_page() -> None:
    index = (DOCS / "rules" / "index.md").read_text(encoding="utf-8")
    for rule in RULES.values():
        assert f"| [{rule.code}]({rule.code}.md) | {rule.name}" in index, rule.code


def test_mkdocs_build_strict_of_the_docs(tmp_path: Path) -> None:
    _mkdocs_plugin_installed()  # mkdocs.yml uses our own plugin on its own docs
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "mixedcontent: 0 findings in" in res.stderr  # the plugin ran over the built docs
    for rule in RULES.values():  # each rule page generated from mixedcontent/rules/docs
        page = (tmp_path / "site" / "rules" / rule.code / "index.html").read_text(encoding="utf-8")
        assert f">{rule.code} {rule.name}<" in page
    judging = (tmp_path / "site" / "judging" / "index.html").read_text(encoding="utf-8")
    assert 'id="css"' in judging and 'id="steps"' in judging
    assert not os.path.exists(tmp_path / "site" / "_hooks")


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_every_docs_page_is_in_the_nav(page: str) -> None:
    assert f": {page}" in Path(ROOT, "mkdocs.yml").read_text(encoding="utf-8")
