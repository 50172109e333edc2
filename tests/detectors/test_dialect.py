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


def test_hash64_keys_tell_the_values_and_their_order_apart_on_duckdb() -> None:
    """The grooming fingerprints group and join on these hashes: equal inputs must hash
    equal, and a pair of values must not hash like its swap or its concatenation."""
    import duckdb

    h = DIALECTS["duckdb"].hash64
    pair_args = ("'s'", "'a1'")
    pair, swapped, joined = h(*pair_args), h(*reversed(pair_args)), h("'sa1'")
    con = duckdb.connect()
    sql = (
        f"SELECT {pair} = {h(*pair_args)}, {pair} <> {swapped}, {pair} <> {joined}, typeof({pair})"
    )
    assert con.execute(sql).fetchall() == [(True, True, True, "UBIGINT")]
    con.close()
