"""Shared fixtures: the ../shared folder, and services (PostgreSQL, Chromium, Java).

Tests that need a service skip with a clear reason when it is absent, unless
DAYBREAK_REQUIRE_SERVICES=1 (set by `.ci/run` and `scripts/dev.py test`), where a missing
service is a failure: CI must never go green by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _missing(what: str) -> None:
    if os.environ.get("DAYBREAK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required here (DAYBREAK_REQUIRE_SERVICES=1) but missing")
    pytest.skip(f"{what} is not available on this machine")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder (fixtures, standards, research)."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: fixture and standards tests need it")
    return SHARED


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of a scratch PostgreSQL database (DAYBREAK_TEST_PG_URL)."""
    url = os.environ.get("DAYBREAK_TEST_PG_URL")
    if not url:
        _missing("PostgreSQL (DAYBREAK_TEST_PG_URL)")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("DAYBREAK_CHROMIUM") or shutil.which("chromium")
    if not path:
        _missing("Chromium (DAYBREAK_CHROMIUM or chromium on PATH)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def java_home() -> str:
    java = shutil.which("java")
    if not java:
        _missing("Java (for PySpark local mode)")
    assert java is not None
    return java
