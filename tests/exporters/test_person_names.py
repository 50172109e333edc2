"""Defect 4 of #14: names split into given and family names as written, comma- and
particle-aware, so "STEWART, Matthew" never has the first name STEWART."""

from __future__ import annotations

import pytest

from daybreak.payments.names import name_tokens, split_person_name


@pytest.mark.parametrize(
    ("name", "given", "family"),
    [
        ("STEWART, Matthew", "Matthew", "STEWART"),
        ("DE LEON, Maria Magbanua", "Maria Magbanua", "DE LEON"),
        ("Maria de la Cruz", "Maria", "de la Cruz"),
        ("Ludwig van der Berg", "Ludwig", "van der Berg"),
        ("John O'Brien", "John", "O'Brien"),
        ("Jose R. Santos", "Jose R.", "Santos"),
        ("Long Do", "Long", "Do"),
        ("De Leon", "", "De Leon"),
        ("Madonna", "", "Madonna"),
        ("  Jane   Roe ", "Jane", "Roe"),
        ("", "", ""),
    ],
)
def test_split_person_name(name: str, given: str, family: str) -> None:
    assert split_person_name(name) == (given, family)


def test_the_family_name_is_what_the_detector_reads_last() -> None:
    """The reports and the payments detector read the comma form alike."""
    for name in ("STEWART, Matthew", "DE LEON, Maria Magbanua", "Maria de la Cruz"):
        given, family = split_person_name(name)
        assert name_tokens(f"{given} {family}") == name_tokens(name)
