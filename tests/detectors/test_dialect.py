"""A SQL dialect must supply every engine-specific expression before it can be made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from daybreak.detectors.dialect import DIALECTS, Dialect


@dataclass(frozen=True)
class HalfDialect(Dialect):
    """Fills only one gap of the base."""

    name: str = "half"

    def string_array(self, values: Sequence[str]) -> str:
        return "[]"


def test_an_incomplete_dialect_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError, match="abstract method"):
        HalfDialect()


def test_the_base_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError, match="abstract"):
        Dialect("bare")  # type: ignore[abstract]


def test_the_built_in_dialects_are_complete() -> None:
    for name, dialect in DIALECTS.items():
        assert dialect.name == name
        assert dialect.median("x")  # every abstract method is implemented
