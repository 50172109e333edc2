"""Family ties by name: transliteration, order, initials and particles, in SQL and Python."""

from __future__ import annotations

import random

import duckdb
import pytest

from daybreak.detectors.dialect import DuckDBDialect
from daybreak.payments.config import load_pack
from daybreak.payments.names import family_tie, name_tokens
from payments.name_keys import folded_names_sql

PARTICLES = tuple(load_pack().name_particles)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Nguyễn Văn An", "NGUYEN, Mai"),  # diacritics and order
        ("SANTOS, Maria", "Jose R. Santos"),  # order and initials
        ("Maria Dela Cruz", "Pedro de la Cruz"),  # particles
        ("Somchai Srisook", "Malee Srisuk"),  # romanisation
        ("Hans Müller", "Anna Mueller"),  # umlaut spellings
        ("Juan Pérez-Gómez", "Rosa Gomez"),  # hyphenated surnames
    ],
)
def test_family_ties_survive_spelling_variants(a: str, b: str) -> None:
    assert family_tie(a, b, PARTICLES)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("John Smith", "Maria Santos"),
        ("Nguyen Thi Mai", "Tran Thi Lan"),  # shared middle name is not a surname
        ("J. Smith", "A. Jones"),  # initials alone are not a tie
        ("", "Maria Santos"),
        (None, None),
    ],
)
def test_unrelated_names_have_no_tie(a: str | None, b: str | None) -> None:
    assert not family_tie(a, b, PARTICLES)


def test_sql_name_key_matches_the_python_reference_on_random_names() -> None:
    rng = random.Random(5)
    parts = ["Maria", "de la", "Cruz", "Nguyễn", "Thị", "Srisook", "O'Brien", "J.", "Müller",
             "PHILLIPS", "Yvonne", "Zoë", "Đặng", "  ", "Ñuñez", "dela", "Schmitt", "van", "Do",
             "Ho", "da", "Thị", "Y", "Lê", "DAS,", "Santos, ", ",", "de,"]  # fmt: skip
    names = [" ".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) for _ in range(300)]
    keys = duckdb_name_keys(names)
    assert set(keys) == set(names)
    for name, key in keys.items():
        assert key == name_tokens(name, PARTICLES), name


@pytest.mark.parametrize(
    "name",
    ["Zoë Đặng", "plain ascii", "TAB\there", "ÆØÅ æøå", "ẞtraße", "Łukasz", "ı", "~`!{}", "€"],
)
def test_accent_folding_skips_translate_only_for_printable_ascii(name: str) -> None:
    """The SQL folds accents only when a character lies outside printable ASCII; the
    keys must equal the Python reference, which folds every name."""
    assert duckdb_name_keys([name]) == {name: name_tokens(name, PARTICLES)}


def duckdb_name_keys(names: list[str]) -> dict[str, list[str]]:
    """Each name's key, as the scan's ``folded_names`` step computes it on DuckDB."""
    con = duckdb.connect()
    con.execute("CREATE TABLE pair_names(sn VARCHAR, rn VARCHAR)")
    con.executemany("INSERT INTO pair_names VALUES (?, NULL)", [(x,) for x in names])
    con.execute("CREATE TABLE customers(name VARCHAR, known_offender BOOLEAN)")
    sql = f"SELECT nm, k FROM ({folded_names_sql(DuckDBDialect())}) f"
    return {nm: k.split() for nm, k in con.execute(sql).fetchall()}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Long Do", "DO, Phuong"),  # Vietnamese surname that is a particle elsewhere
        ("Quang Ho", "Linh Ho"),  # folds to one letter, but is no initial
        ("Anh Le", "LE, Thi Hoa"),
    ],
)
def test_short_surnames_are_names(a: str, b: str) -> None:
    assert family_tie(a, b, PARTICLES)


def test_a_particle_before_a_name_goes_and_a_final_one_is_a_surname() -> None:
    assert name_tokens("Maria do Carmo", PARTICLES) == ["maria", "karmo"]
    assert name_tokens("Phuong Do", PARTICLES) == ["fuong", "do"]
    assert name_tokens("DAS, Divya Meena", PARTICLES) == ["dibia", "mina", "das"]
    assert not family_tie("Maria do Carmo", "Phuong Do", PARTICLES)
    assert family_tie("Ravi Suresh Das", "DAS, Divya Meena", PARTICLES)
