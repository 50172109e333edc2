"""Splink's people table as Spark SQL, made on the executors from the customers.

:func:`daybreak.graph.matching.normalise_name` folds a name with Unicode's NFKD, which
Spark SQL has no function for. The folding works one character at a time (NFKD's
canonical reordering only moves combining marks, which are dropped), so it is a table of
what each character becomes, derived from ``unicodedata`` over every code point: a
letter or digit (``É`` -> ``e``), several (``ĳ`` -> ``ij``, ``⑴`` -> `` 1 ``), or
nothing (a combining mark); anything else becomes a space with the rest of the name's
non-letters (``[^a-z0-9 ]+``), as in Python. Tests compare the SQL with
:func:`normalise_name` on every code point.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from daybreak.detectors.dialect import SparkDialect

_ALNUM = re.compile("[a-z0-9]")
_NON_ALNUM = re.compile("[^a-z0-9 ]+")
_SURROGATES = range(0xD800, 0xE000)


def _folded(ch: str) -> str:
    """``normalise_name``'s steps on one character, before the regex."""
    text = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@dataclass(frozen=True)
class NameFolding:
    """What each character that changes becomes (characters left out stay, and become
    a space with the regex unless they are a lower-case letter or a digit)."""

    single_from: str  # to one letter or digit each, in ``single_to``
    single_to: str
    dropped: str  # to nothing (combining marks)
    expanded: dict[str, str]  # to several letters and spaces (``ĳ`` -> ``ij``)


@cache
def name_folding() -> NameFolding:
    single_from, single_to, dropped = [], [], []
    expanded: dict[str, str] = {}
    for cp in range(0x110000):
        if cp in _SURROGATES:
            continue
        ch = chr(cp)
        out = _folded(ch)
        if out == ch:
            continue  # a letter or digit stays; anything else becomes a space
        if out == "":
            dropped.append(ch)
        elif len(out) == 1 and _ALNUM.fullmatch(out):
            single_from.append(ch)
            single_to.append(out)
        elif _ALNUM.search(out):
            expanded[ch] = _NON_ALNUM.sub(" ", out)
    return NameFolding("".join(single_from), "".join(single_to), "".join(dropped), expanded)


def normalised_name_sql(col: str) -> str:
    """Spark SQL of ``normalise_name(col)``: NULL for a name with no letter or digit.
    An ASCII name only needs ``lower``; any other goes through ``translate`` (one
    character to one, or to nothing), and the rare name holding a character that
    becomes several is mapped one code point at a time."""
    d = SparkDialect()
    fold = name_folding()
    # "SURNAME, Given" -> "Given SURNAME": Python swaps only when both sides have text,
    # but when one side folds to nothing the order of the two cannot show.
    comma = f"instr({col}, ',')"
    text = (
        f"CASE WHEN {comma} > 0 THEN concat(substr({col}, {comma} + 1), ' ', "
        f"substr({col}, 1, {comma} - 1)) ELSE {col} END"
    )
    one = d.translate(text, fold.single_from + fold.dropped, fold.single_to)
    pairs = ", ".join(f"{d.string(k)}, {d.string(v)}" for k, v in fold.expanded.items())
    chars = f"regexp_extract_all({one}, '(?s)(.)', 1)"
    several = (
        f"array_join(transform({chars}, c -> coalesce(try_element_at(map({pairs}), c), c)), '')"
    )
    # the class as code points (\x{...}), each written once in the regex
    every = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in fold.expanded) + "]"
    folded = f"CASE WHEN {d.regexp_matches(one, every)} THEN {several} ELSE {one} END"
    text = f"CASE WHEN {d.regexp_matches(text, '[^ -~]')} THEN {folded} ELSE lower({text}) END"
    text = d.regexp_replace_all(text, "[^a-z0-9 ]+", " ")
    text = f"trim({d.regexp_replace_all(text, ' +', ' ')})"
    return f"nullif({text}, '')"


PEOPLE = """
SELECT unique_id, name, split(name, ' ')[0] AS forename,
       element_at(split(name, ' '), -1) AS surname, birth_year, country, identifiers
FROM (
    SELECT c.unique_id, {name} AS name, c.birth_year, c.country, i.identifiers
    FROM (SELECT concat('customer:', regexp_replace(customer_id, '(?U)^\\\\s+|\\\\s+$', ''))
                     AS unique_id, name, CAST(birth_year AS BIGINT) AS birth_year, country
          FROM customers) c
    LEFT JOIN person_identifiers i ON i.unique_id = c.unique_id
    UNION ALL
    SELECT unique_id, {label} AS name, CAST(NULL AS BIGINT), country,
           CAST(NULL AS ARRAY<STRING>)
    FROM beneficiaries
)
WHERE name IS NOT NULL
"""


def people_sql() -> str:
    """Spark SQL of splink's people table (``person_records``' columns) from the views
    ``customers`` (the world's table), ``person_identifiers`` (unique_id, identifiers)
    and ``beneficiaries`` (unique_id, label, country)."""
    return PEOPLE.format(name=normalised_name_sql("c.name"), label=normalised_name_sql("label"))
