"""Fixtures for the media tests (generated benign videos)."""

from __future__ import annotations

import pytest

from .gen import make_video, noise, scene


@pytest.fixture(scope="session")
def scene_video() -> bytes:
    return make_video(scene)


@pytest.fixture(scope="session")
def other_video() -> bytes:
    return make_video(lambda i: noise(320, 240, seed=500 + i // 10))
