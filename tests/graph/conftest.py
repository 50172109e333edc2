"""Fixtures of the graph tests; the hand-made world lives in graph_world.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_world import write_world


@pytest.fixture()
def tiny_world(tmp_path: Path) -> Path:
    return write_world(tmp_path / "world")


@pytest.fixture(scope="session")
def synth_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic world (800 customers, 3 months), made once per test run."""
    synth = pytest.importorskip("daybreak.synth")
    out = tmp_path_factory.mktemp("synth") / "world"
    synth.write_world(synth.generate_world(800, 3, 3), out)
    return out
