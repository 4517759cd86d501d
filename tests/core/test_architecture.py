"""Guards on the architecture.

The core never imports the web framework, a cluster runtime, or (for pure stages) the database.

The layers, read from the real import graph (every ``import`` of ``bastion`` anywhere in a module, function
bodies included, and every string naming a ``bastion`` module, which is how the registries load plugins): no
file imports itself in a circle, no package imports one above it and no two packages import each other - but
for the debts listed in ``DEBT``, each with what it would take to pay it. A new wrong-way import fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PURE = ["bastion.records", "bastion.signals", "bastion.policy.engine", "bastion.policy.loader",
        "bastion.detector", "bastion.pipeline.runtime", "bastion.ingest"]
CORE = [*PURE, "bastion.text", "bastion.media", "bastion.accounts", "bastion.campaigns", "bastion.threats",
        "bastion.store.writer", "bastion.audit.log"]


def imported_after(module: str) -> set[str]:
    code = f"import importlib, sys; importlib.import_module({module!r}); print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return {m.split(".")[0] for m in out.split()}


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_web_or_cluster_runtimes(module: str) -> None:
    mods = imported_after(module)
    assert not mods & {"fastapi", "starlette", "uvicorn", "pyspark", "jinja2"}, module


@pytest.mark.parametrize("module", PURE)
def test_pure_stages_never_import_the_database(module: str) -> None:
    assert "sqlalchemy" not in imported_after(module), module

SRC = Path(__file__).resolve().parents[2] / "src" / "bastion"

#: Bottom to top. A package may import its own layer and the layers below it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"records", "errors", "canonical", "settings", "yamlio"}),
    frozenset({"signals", "ingest", "policy", "batch"}),
    frozenset({"store"}),
    frozenset({"audit"}),
    frozenset({"detector", "actions"}),
    frozenset({"text", "media", "accounts", "campaigns", "threats", "review", "transparency"}),
    frozenset({"catalogue"}),
    frozenset({"pipeline", "spark"}),  # runtimes: one process, or a Spark cluster
    frozenset({"api", "ui", "cli"}),
)

#: Wrong-way imports that stand today (issue #15), and what paying each takes.
DEBT: Mapping[tuple[str, str], str] = {
    ("store", "audit"): "the writer appends the batch's audit entries itself; the act stage should hand them over",
    ("store", "media"): "the bank repository (store/media.py) takes media's bank model; the model belongs below",
}

#: Packages of one layer that import each other today, and what untangling each takes.
TANGLES: Mapping[frozenset[str], str] = {
    frozenset({"api", "ui"}): "the API mounts the review UI's pages and the UI reads the API's keys and state; "
                              "an app factory above both should mount them",
}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def imports(root: Path = SRC) -> dict[str, set[str]]:
    """module -> the ``bastion`` modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    modules = {_module(p) for p in root.rglob("*.py")}
    for path in root.rglob("*.py"):
        mod = _module(path)
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("bastion."):
                out.add(node.value.split(":")[0])  # "bastion.media.hashers.pdq:PdqHasher"
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("bastion."))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "bastion":
                    out.update(f"bastion.{a.name}" for a in node.names)
                elif node.module.startswith("bastion."):
                    # "from bastion.x import y" imports bastion.x.y when y is a module
                    out.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                               for a in node.names)
        graph[mod] = {m for m in out if m in modules and m != mod}
    graph.pop("bastion", None)  # the package's own __init__ (its version) sits outside the layers
    return graph


def package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def package_edges(graph: Mapping[str, Iterable[str]]) -> set[tuple[str, str]]:
    return {(package(a), package(b)) for a, targets in graph.items() for b in targets if package(a) != package(b)}


def layer_of(pkg: str) -> int:
    for i, layer in enumerate(LAYERS):
        if pkg in layer:
            return i
    raise AssertionError(f"package {pkg!r} has no layer: add it to LAYERS")


def wrong_way(edges: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in edges if layer_of(b) > layer_of(a)}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return imports()


def test_no_module_imports_itself_in_a_circle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_every_package_has_a_layer(graph: dict[str, set[str]]) -> None:
    for mod in graph:
        layer_of(package(mod))


def test_no_package_imports_one_above_it_but_the_listed_debts(graph: dict[str, set[str]]) -> None:
    found = wrong_way(package_edges(graph))
    assert found - set(DEBT) == set(), "new wrong-way imports"
    assert set(DEBT) - found == set(), "a debt is paid: remove it from DEBT"


def test_no_two_packages_import_each_other_but_the_listed_tangles(graph: dict[str, set[str]]) -> None:
    edges = package_edges(graph)
    found = {frozenset((a, b)) for a, b in edges if (b, a) in edges} - {frozenset(d) for d in DEBT}
    assert found - set(TANGLES) == set(), "new packages that import each other"
    assert set(TANGLES) - found == set(), "a tangle is undone: remove it from TANGLES"


def test_the_checks_catch_what_they_are_for() -> None:
    # a store that imports a detector's capability, and two modules that import each other
    assert wrong_way({("store", "threats"), ("threats", "store")}) == {("store", "threats")}
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_importlib_for_the_project_s_own_modules() -> None:
    """A module that ships is imported by name, so the type checker sees it (the detector and sink catalogue
    does so lazily inside functions)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "import_module(\"bastion." in text or "import_module('bastion." in text:
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
