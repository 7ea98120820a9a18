"""The package's import graph (STYLE "imports point one way"): no cycle between modules, no private
name imported across modules, and no module importing from a layer above its own.

Every import counts, including the lazy ones inside functions (a cycle broken only by importing late
is still a cycle). ``LAYERS`` is the declared order, top first; a module may import from its own
layer and the ones below it. ``KNOWN`` lists today's violations: each entry must still exist (a stale
entry fails too), so the list only shrinks.
"""

from __future__ import annotations

import ast
import fnmatch
import os
from dataclasses import dataclass

from conftest import ROOT

PACKAGE = "mixedcontent"

# Top to bottom; a module's layer is the first whose patterns match it, the catch-all "*" tried last
# (so modules no pattern names are stages: sources, extract, classify, probe, report, …).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the command line and the documentation-site plugins, which consume the pipeline as the CLI does
    ("entry", ("mixedcontent.__main__", "mixedcontent.cli", "mixedcontent.cli.*", "mixedcontent.progress",
               "mixedcontent.mkdocs", "mixedcontent.sphinx", "mixedcontent.sitegen")),
    ("api", ("mixedcontent",)),
    # the pipeline and the commands that consume it (fix, audit, audit --hosts)
    ("scan", ("mixedcontent.scan", "mixedcontent.engine", "mixedcontent.engine.*", "mixedcontent.fixer",
              "mixedcontent.posture", "mixedcontent.fleet")),
    ("stages", ("*",)),
    ("model", ("mixedcontent.model", "mixedcontent.errors", "mixedcontent.version", "mixedcontent.rules")),
)

# Known violations, to be emptied by the restructuring of issue 14 (importer, imported module, name or "").
KNOWN: frozenset[tuple[str, str, str]] = frozenset({
    # cycle: the engine package's facade imports its two engines (lazily), which import EngineSettings
    # back from the facade; EngineSettings could live in settings.py (or engine/settings.py)
    ("mixedcontent.engine", "mixedcontent.engine.local", ""),
    ("mixedcontent.engine", "mixedcontent.engine.dask", ""),
    # the fix report reads FixResult, which lives with the fix stage instead of the model
    ("mixedcontent.report.fixes", "mixedcontent.fixer", ""),
})


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    module: str  # the module whose code runs (a package's __init__ is the package's name)
    name: str  # the name taken from it ("" for a module import)
    line: int


def _modules() -> dict[str, str]:
    out = {}
    base = os.path.join(ROOT, PACKAGE)
    for directory, _, files in os.walk(base):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(directory, file)
                name = os.path.relpath(path[:-3], ROOT).replace(os.sep, ".")
                out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):  # every import, at module level or inside a function
            if isinstance(node, ast.Import):
                found += [Import(module, a.name, "", node.lineno) for a in node.names
                          if a.name.split(".")[0] == PACKAGE]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    target = f"{base}.{node.module}" if node.module else base
                elif node.module and node.module.split(".")[0] == PACKAGE:
                    target = node.module
                else:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    found.append(Import(module, sub, "", node.lineno) if sub in MODULES
                                 else Import(module, target, alias.name, node.lineno))
    return found


IMPORTS = _imports()


def _layer(module: str) -> int:
    ordered = sorted(enumerate(LAYERS), key=lambda item: "*" in item[1][1])  # the catch-all last
    for index, (_, patterns) in ordered:
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return index
    raise AssertionError(f"{module} is in no layer")


def _known(i: Import) -> bool:
    return (i.importer, i.module, i.name) in KNOWN or (i.importer, i.module, "") in KNOWN


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read() -> None:
    # the walk finds lazy imports too: the public scan() imports the scan module inside the function
    assert {"mixedcontent.model", "mixedcontent.cli", "mixedcontent.report.json"} <= set(MODULES)
    assert any(i.importer == "mixedcontent" and i.module == "mixedcontent.scan" for i in IMPORTS)


def test_no_import_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for i in IMPORTS:
        if i.importer != i.module and not _known(i):
            edges.setdefault(i.importer, set()).add(i.module)
    assert _cycles(edges) == []


def test_no_private_name_is_imported_across_modules() -> None:
    private = [f"{i.importer}:{i.line} imports {i.name} from {i.module}" for i in IMPORTS
               if i.name.startswith("_") and not i.name.startswith("__") and not _known(i)]
    assert private == []


def test_imports_point_down_the_layers() -> None:
    upward = [f"{i.importer}:{i.line} ({LAYERS[_layer(i.importer)][0]}) imports {i.module} "
              f"({LAYERS[_layer(i.module)][0]})" for i in IMPORTS
              if _layer(i.module) < _layer(i.importer) and not _known(i)]
    assert upward == []


def test_model_imports_nothing_from_the_package() -> None:
    assert [i for i in IMPORTS if i.importer == "mixedcontent.model"] == []


def test_every_known_violation_still_exists() -> None:
    # an entry whose import is gone must leave KNOWN, so the list only shrinks
    seen = {(i.importer, i.module, i.name) for i in IMPORTS} | {(i.importer, i.module, "") for i in IMPORTS}
    assert sorted(KNOWN - seen) == []


def test_the_version_is_imported_from_its_own_module() -> None:
    via_root = [f"{i.importer}:{i.line}" for i in IMPORTS if i.module == PACKAGE and i.name == "__version__"]
    assert via_root == []
