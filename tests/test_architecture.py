"""Dependencies point inward: the model imports nothing of ours; no core module imports a face."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "daybreak"
FACES = ("daybreak.cli", "daybreak.api", "daybreak.console")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "daybreak" or name.startswith("daybreak.")}


def modules(under: str) -> list[Path]:
    return sorted((PKG / under).rglob("*.py")) if (PKG / under).is_dir() else []


@pytest.mark.parametrize("path", modules("model"), ids=lambda p: p.name)
def test_model_imports_nothing_of_ours(path: Path) -> None:
    # Modules of the model may use each other (a case holds its alerts), nothing else.
    assert {m for m in imports_of(path) if not m.startswith("daybreak.model")} == set()


def core_modules() -> list[Path]:
    faces = {PKG / f.split(".")[1] for f in FACES}
    return [p for p in sorted(PKG.rglob("*.py")) if not any(p.is_relative_to(f) for f in faces)]


def test_there_are_core_modules_to_check() -> None:
    assert len(core_modules()) >= 5


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_core_modules_do_not_import_faces(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.startswith(FACES)}
    assert not bad, f"{path.relative_to(PKG)} imports a face: {sorted(bad)}"
