"""Dependencies point inward: the layer table of docs/architecture.md, checked on every
import of every module, including imports inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "daybreak"

MODEL = {"model"}
PLUGINS = {"plugins"}  # the entry-point registries: a module, checked like a package
SCHEMA = {"schema"}
PURE = {
    "payments",
    "tipline",
    "media",
    "graph",
    "exporters",
    "sharing",
    "synth",
    "detectors",
    "platform",
}
EXECUTION = {"engines", "store"}
CONNECTORS = {"connectors"}  # network I/O (NCMEC, NATS, webhooks): execution, over the store
TESTING = {"testing"}  # test kits and fakes shipped for plug-in authors and our own tests
FACES = {"cli", "api", "console"}

# package -> the packages of ours it may import (besides itself). The faces import
# everything except each other; the CLI starts the API and the console, so it may
# import them, and nothing imports the CLI.
MAY_IMPORT: dict[str, set[str]] = {
    "model": set(),
    "plugins": MODEL,
    "schema": MODEL | PLUGINS,
    **{p: MODEL | PLUGINS | SCHEMA | PURE for p in PURE},
    **{p: MODEL | PLUGINS | SCHEMA | PURE for p in EXECUTION},
    # the kits check plug-ins against the pure interfaces; the fakes (the console's
    # in-memory backend) implement the faces' interfaces, so testing sits beside the
    # faces and nothing of ours imports it
    "testing": MODEL | PLUGINS | SCHEMA | PURE | EXECUTION | {"console"},
    "connectors": MODEL | PLUGINS | SCHEMA | PURE | {"store"},
    "api": MODEL | PLUGINS | SCHEMA | PURE | EXECUTION | CONNECTORS,
    "console": MODEL | PLUGINS | SCHEMA | PURE | EXECUTION | CONNECTORS,
    "cli": MODEL | PLUGINS | SCHEMA | PURE | EXECUTION | CONNECTORS | {"api", "console"},
}


def _parse(source: str) -> ast.Module:
    """CPython 3.11 can raise "AST constructor recursion depth mismatch" for valid
    source when an earlier error left the thread's recursion counter off (seen in this
    suite; CPython gh-106905): the same source parses in a fresh thread."""
    try:
        return ast.parse(source)
    except SystemError:
        with ThreadPoolExecutor(1) as fresh:
            return fresh.submit(ast.parse, source).result()


def imported_modules(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file (or in ``source`` as if it were the
    file), relative ones resolved; ``from a import b`` yields ``a.b`` (b may be a module)."""
    tree = _parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = list(path.relative_to(PKG.parent).parent.parts)  # where the file lies
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def package_of(module: str) -> str | None:
    """The top-level package of ours (``daybreak.<package>``) a module belongs to."""
    parts = module.split(".")
    if parts[0] != "daybreak" or len(parts) < 2 or parts[1] == "__version__":
        return None
    return parts[1]


def layer_of(path: Path) -> str:
    """The package a module belongs to (a top-level module is its own)."""
    parts = path.relative_to(PKG).parts
    return parts[0] if len(parts) > 1 else path.stem


def all_modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if p.parent != PKG or p.stem in MAY_IMPORT)


def test_the_table_names_every_package() -> None:
    packages = {p.name for p in PKG.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    packages |= {p.stem for p in PKG.glob("*.py") if p.stem in PLUGINS}
    assert packages == set(MAY_IMPORT), "add the package to docs/architecture.md and here"


def test_the_table_matches_the_documentation() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| [a-z ]+ \| (`daybreak\..*?) \|", doc, flags=re.MULTILINE)
    documented = set(re.findall(r"`daybreak\.(\w+)`", " ".join(rows)))
    assert documented == set(MAY_IMPORT)


def test_the_walk_sees_imports_inside_functions() -> None:
    source = "def f():\n    from daybreak.engines.spark import spark_session\n"
    found = list(imported_modules(PKG / "graph" / "matching.py", source))
    assert found == [(2, "daybreak.engines.spark.spark_session")]


def test_relative_imports_are_resolved() -> None:
    source = "from ..engines import open_engine\nfrom . import scan\n"
    found = list(imported_modules(PKG / "payments" / "inplace.py", source))
    assert found == [(1, "daybreak.engines.open_engine"), (2, "daybreak.payments.scan")]


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_every_import_follows_the_layers(path: Path) -> None:
    own = layer_of(path)
    allowed = MAY_IMPORT[own] | {own}
    bad = sorted(
        f"line {line}: {module}"
        for line, module in imported_modules(path)
        if (target := package_of(module)) is not None and target not in allowed
    )
    assert not bad, f"{path.relative_to(PKG)} ({own}) imports across the layers: {bad}"


def package_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {p: set() for p in MAY_IMPORT}
    for path in all_modules():
        own = layer_of(path)
        for _, module in imported_modules(path):
            target = package_of(module)
            if target is not None and target != own and target in edges:
                edges[own].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_of_ours_imports_the_test_kits_and_fakes() -> None:
    importers = sorted(p for p, targets in package_edges().items() if "testing" in targets)
    assert importers == [], "production code must not depend on daybreak.testing"


def test_packages_do_not_import_each_other_in_a_cycle() -> None:
    # Pure packages may use each other, but not both ways round.
    assert find_cycle(package_edges()) is None
