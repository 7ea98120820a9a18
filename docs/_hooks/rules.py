"""MkDocs hook: one page per rule, rules/<CODE>.md, generated from the package's own rule docs
(mixedcontent/rules/docs/<CODE>.md, the text `mixedcontent rule CODE` prints), so the site and the
command line never disagree; the "Rules" entry of the nav becomes a section listing them."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

from mixedcontent.rules import RULES


def on_config(config: Any) -> Any:
    nav = config["nav"] or []
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and entry.get("Rules") == "rules/index.md":
            nav[i] = {"Rules": [{"All rules": "rules/index.md"}]
                      + [{f"{r.code} {r.name}": f"rules/{r.code}.md"} for r in RULES.values()]}
    return config


def on_files(files: Files, *, config: Any) -> Files:
    for rule in RULES.values():
        files.append(File.generated(config, f"rules/{rule.code}.md", content=rule.doc()))
    return files
