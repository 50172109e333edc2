"""Fixtures for the media tests (generated benign videos, a guard on disk writes)."""

from __future__ import annotations

import builtins
import tempfile
from typing import Any

import pytest

from .gen import make_video, noise, scene


@pytest.fixture(scope="session")
def scene_video() -> bytes:
    return make_video(scene)


@pytest.fixture(scope="session")
def other_video() -> bytes:
    return make_video(lambda i: noise(320, 240, seed=500 + i // 10))


@pytest.fixture
def disk_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files opened for writing from now on (uploads must never be written); any
    temporary file fails the test at once."""
    writes: list[str] = []
    real_open = builtins.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if any(c in mode for c in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *args, **kw)

    def no_temp(*_: Any, **__: Any) -> Any:
        raise AssertionError("a temporary file was created for the upload")

    monkeypatch.setattr(builtins, "open", guarded_open)
    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temp)
    return writes
