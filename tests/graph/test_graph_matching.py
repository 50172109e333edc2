"""Probabilistic person linking with splink: inspectable match weights."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from daybreak.graph.matching import (
    default_settings,
    explain_pair,
    match_people,
    normalise_name,
    prior_for,
    same_person_edges,
    sharing_an_identifier,
)
from daybreak.payments.names import fold_word, name_tokens

PEOPLE = pl.DataFrame(
    {
        "unique_id": ["customer:A", "customer:B", "customer:C", "customer:D", "customer:E"],
        "name": ["maria santos", "maria santos", "maria santos", "john smith", "jon smith"],
        "forename": ["maria", "maria", "maria", "john", "jon"],
        "surname": ["santos", "santos", "santos", "smith", "smith"],
        "birth_year": [1985, 1985, 1962, 1970, 1970],
        "country": ["PH", "PH", "PH", "US", "US"],
        "identifiers": [
            ["phone:+63917"],
            ["phone:+63917"],
            None,
            ["email:j@x.org"],
            ["email:j@x.org"],
        ],
    }
)


def _prob(pairs: pl.DataFrame, a: str, b: str) -> float:
    row = pairs.filter(
        ((pl.col("unique_id_l") == a) & (pl.col("unique_id_r") == b))
        | ((pl.col("unique_id_l") == b) & (pl.col("unique_id_r") == a))
    )
    return float(row["match_probability"][0]) if row.height else 0.0


def test_name_birth_year_and_shared_identifier_link_people() -> None:
    m = match_people(PEOPLE, threshold=0.0)
    assert _prob(m.pairs, "customer:A", "customer:B") > 0.99
    # Same common name, other birth year, nothing shared: not the same person.
    assert _prob(m.pairs, "customer:A", "customer:C") < 0.5
    # A spelling variant with the same e-mail and birth year is.
    assert _prob(m.pairs, "customer:D", "customer:E") > 0.99


def test_match_weights_add_up_and_are_explained() -> None:
    m = match_people(PEOPLE, threshold=0.0)
    prior = m.model["probability_two_random_records_match"]
    assert prior == pytest.approx(1e-4)  # capped: five records would give more
    import math

    prior_weight = math.log2(prior / (1 - prior))
    for row in m.pairs.iter_rows(named=True):
        parts = sum(row[f"mw_{c}"] for c in ("name", "birth_year", "country", "identifiers"))
        assert row["match_weight"] == pytest.approx(prior_weight + parts, abs=1e-6)
    top = m.pairs.row(0, named=True)
    text = explain_pair(top)
    assert "match weight" in text and "identifiers +" in text


def test_same_person_edges_respect_the_bar() -> None:
    m = match_people(PEOPLE, threshold=0.0)
    edges = same_person_edges(m, min_probability=0.9)
    pairs = {tuple(sorted(p)) for p in edges.select("source", "target").iter_rows()}
    assert pairs == {("customer:A", "customer:B"), ("customer:D", "customer:E")}
    assert set(edges["relation"]) == {"same_person"}
    assert all(0.9 <= w <= 1.0 for w in edges["weight"])


def test_prior_shrinks_with_more_records() -> None:
    assert prior_for(1_000_000) == pytest.approx(2e-9)
    assert prior_for(10) == 1e-4


def test_normalise_name() -> None:
    assert normalise_name("  José   O'Brien-Santos ") == "jose o brien santos"
    assert normalise_name("GREEN, Donald Peter") == normalise_name("Donald Peter Green")
    assert normalise_name("...") is None


@pytest.mark.parametrize(
    "name", ["GREEN, Donald", "SANTOS, Maria, Jr", "Smith,", ", Ana", "de la Cruz, Jose R."]
)
def test_the_graph_reads_the_comma_form_like_the_payments_detector(name: str) -> None:
    # One comma rule: the graph's name has the detector's tokens in the same order.
    folded = normalise_name(name)
    assert folded is not None
    assert [fold_word(w) for w in folded.split() if len(w) > 1] == name_tokens(name)


def test_fewer_than_two_people_gives_no_pairs() -> None:
    assert match_people(PEOPLE.head(1)).pairs.height == 0


def test_spark_backend_needs_a_session_from_the_caller() -> None:
    # graph is pure logic: it never opens an engine itself.
    with pytest.raises(ValueError, match="spark_session"):
        match_people(PEOPLE, backend="spark")


@pytest.mark.spark
@pytest.mark.slow
def test_spark_backend_gives_the_same_weights(java_home: str, tmp_path: Path) -> None:
    duck = match_people(PEOPLE, threshold=0.0).pairs
    from daybreak.engines.spark import spark_session

    spark = match_people(
        PEOPLE, threshold=0.0, backend="spark", spark_session=spark_session()
    ).pairs
    key = ["unique_id_l", "unique_id_r"]
    a = duck.select(*key, "match_weight").sort(key)
    b = spark.select(*key, "match_weight").sort(key)
    assert a["unique_id_l"].to_list() == b["unique_id_l"].to_list()
    for x, y in zip(a["match_weight"], b["match_weight"], strict=True):
        assert x == pytest.approx(y, abs=1e-6)


def _many_people(n: int, seed: int) -> pl.DataFrame:
    """``n`` records from few names and birth years (blocking pairs many of them); some
    share a phone with a record of the same name and year, some with another person."""
    import random

    rng = random.Random(seed)
    forenames, surnames = ["maria", "jose", "ana", "john"], ["santos", "cruz", "smith", "reyes"]
    rows = []
    for i in range(n):
        fore, sur = rng.choice(forenames), rng.choice(surnames)
        ids = [f"phone:+6391{rng.randrange(n // 4)}"] if rng.random() < 0.3 else None
        rows.append((f"customer:{i}", f"{fore} {sur}", fore, sur, rng.randrange(1960, 1966),
                     rng.choice(["PH", "US"]), ids))  # fmt: skip
    return pl.DataFrame(rows, schema=PEOPLE.schema, orient="row")


@pytest.mark.parametrize("seed", [3, 11])
def test_records_that_cannot_match_are_left_out_with_the_same_pairs(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.graph import matching

    people = _many_people(700, seed)
    assert matching.needs_shared_identifier(people.height, 0.5)
    assert not matching.needs_shared_identifier(PEOPLE.height, 0.5)  # a small world's prior
    assert not matching.needs_shared_identifier(people.height, 0.0)
    scored: list[int] = []
    predict = matching._duckdb_predict

    def counted(frame: pl.DataFrame, *args: object) -> object:
        scored.append(frame.height)
        return predict(frame, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(matching, "_duckdb_predict", counted)
    fast = match_people(people)
    # the same fixed model handed in as settings: every record is compared
    every = match_people(people, settings=matching.default_settings(people.height))
    assert scored[1] == people.height and scored[0] == sharing_an_identifier(people).height
    assert scored[0] < people.height / 2
    assert fast.pairs.height > 0
    assert fast.pairs.equals(every.pairs)
    assert fast.model["probability_two_random_records_match"] == prior_for(people.height)


def test_with_no_identifier_shared_no_pair_is_made() -> None:
    people = _many_people(700, 5).with_columns(
        pl.lit(None, pl.List(pl.String)).alias("identifiers")
    )
    assert sharing_an_identifier(people).height == 0
    m = match_people(people)
    assert m.pairs.height == 0
    assert m.pairs.equals(match_people(people, settings=default_settings(people.height)).pairs)


def test_names_are_normalised_per_row_as_one_at_a_time() -> None:
    # person_records normalises each distinct spelling once, ASCII without decomposing:
    # every row still gets what normalise_name gives its own name, accents and all.
    from daybreak.graph.matching import person_records
    from daybreak.graph.resolution import ExactLinks

    names = ["José Ñúñez", "GREEN, Donald", "Jose Nunez", "GREEN, Donald", "Ｆｕｌｌ Ｗｉｄｔｈ",
             "Zoë  O'Brien", None, "...", "Łukasz Żółw", "José Ñúñez"]  # fmt: skip
    customers = pl.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(names))],
            "name": names,
            "birth_year": [1980 + i for i in range(len(names))],
            "country": ["PH"] * len(names),
        }
    )
    empty = pl.DataFrame(schema={"source": pl.String, "target": pl.String})
    nodes = pl.DataFrame(schema={"key": pl.String, "kind": pl.String, "label": pl.String,
                                 "country": pl.String})  # fmt: skip
    people = person_records(customers, ExactLinks(nodes=nodes, edges=empty, issues=empty))
    want = [(f"customer:C{i}", normalise_name(n)) for i, n in enumerate(names)]
    assert people.select("unique_id", "name").rows() == [w for w in want if w[1] is not None]
    assert normalise_name("Zoë  O'Brien") == "zoe o brien"
    assert normalise_name("Ｆｕｌｌ Ｗｉｄｔｈ") == "full width"
