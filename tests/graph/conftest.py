"""Fixtures of the graph tests; the hand-made world lives in graph_world.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_world import write_world


@pytest.fixture()
def tiny_world(tmp_path: Path) -> Path:
    return write_world(tmp_path / "world")
