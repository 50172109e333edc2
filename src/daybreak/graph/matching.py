"""Probabilistic person/organisation linking with splink (Fellegi-Sunter).

Who is probably the same person: customers and beneficiaries compared on normalised
name, birth year, country and shared identifiers. The m/u probabilities are fixed and
documented here (docs/link-analysis.md) rather than trained, so every match weight can
be read, explained in court and reproduced; a user can replace them with a trained
splink model (``settings``). DuckDB runs it by default; Spark for scale.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import polars as pl

from daybreak.graph.resolution import EDGE_SCHEMA, UTC_TS, ExactLinks
from daybreak.model.identifiers import TYPES
from daybreak.payments.names import given_names_first

Backend = Literal["duckdb", "spark"]

PERSON_COLUMNS = (
    "unique_id",
    "name",
    "forename",
    "surname",
    "birth_year",
    "country",
    "identifiers",
)
# Relations whose target is an identifier that says who a person is (its kind's type
# says so).
IDENTITY_KINDS = tuple(t.kind.value for t in TYPES.values() if t.identifies_person)
COMPARED = ("name", "birth_year", "country", "identifiers")

_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_WS = re.compile(r"\s+")


def normalise_name(raw: str | None) -> str | None:
    """Given names first ("GREEN, Donald" is "donald green"), lower case, accents and
    punctuation removed, white space collapsed."""
    if raw is None:
        return None
    # The payments detector's comma rule; the folding stays readable (no phonetic
    # steps): splink compares these strings, and its fitted weights are for this form.
    text = given_names_first(raw)
    if not text.isascii():  # ASCII has no decomposition and no combining marks
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower()
    text = _WS.sub(" ", _NON_ALNUM.sub(" ", text)).strip()
    return text or None


def person_identifiers(links: ExactLinks) -> pl.DataFrame:
    """(unique_id, identifiers): each customer's identity keys, sorted."""
    return (
        links.edges.filter(
            pl.col("source").str.starts_with("customer:")
            & pl.col("target").str.split(":").list.first().is_in(IDENTITY_KINDS)
        )
        .group_by("source")
        .agg(pl.col("target").unique().sort().alias("identifiers"))
        .rename({"source": "unique_id"})
    )


def beneficiaries(links: ExactLinks) -> pl.DataFrame:
    """(unique_id, label, country) of every named payment handle."""
    return links.nodes.filter(
        (pl.col("kind") == "payment_handle") & pl.col("label").is_not_null()
    ).select(pl.col("key").alias("unique_id"), "label", "country")


def person_records(customers: pl.DataFrame, links: ExactLinks) -> pl.DataFrame:
    """One row per customer and per named beneficiary, with its identifier keys.
    :mod:`daybreak.graph.people_sql` is the same table in SQL."""
    cust = customers.select(
        (pl.lit("customer:") + pl.col("customer_id").str.strip_chars()).alias("unique_id"),
        pl.col("name"),
        pl.col("birth_year").cast(pl.Int64),
        pl.col("country"),
    ).join(person_identifiers(links), on="unique_id", how="left")
    bene = beneficiaries(links).select(
        "unique_id",
        pl.col("label").alias("name"),
        pl.lit(None, pl.Int64).alias("birth_year"),
        pl.col("country"),
        pl.lit(None, pl.List(pl.String)).alias("identifiers"),
    )
    people = pl.concat([cust, bene], how="vertical_relaxed")
    # Each distinct spelling once (synthetic and real worlds repeat names).
    raw = people["name"].unique().drop_nulls()
    names = pl.DataFrame(
        {"name": raw, "_norm": [normalise_name(n) for n in raw.to_list()]},
        schema={"name": pl.String, "_norm": pl.String},
    )
    people = (
        people.join(names, on="name", how="left", maintain_order="left")
        .with_columns(pl.col("_norm").alias("name"))
        .drop("_norm")
        .filter(pl.col("name").is_not_null())
    )
    parts = pl.col("name").str.split(" ")
    return people.with_columns(
        parts.list.first().alias("forename"), parts.list.last().alias("surname")
    ).select(PERSON_COLUMNS)


DUPLICATE_RATE = 0.001  # expected share of records that are another record's person


def prior_for(n_records: int) -> float:
    """P(two random records are one person): expected duplicate pairs over all pairs.
    Without it, a common name with a shared birth year would link strangers."""
    n = max(2, n_records)
    return min(1e-4, 2.0 * DUPLICATE_RATE / n)


# The fixed model's m and u probabilities per comparison, one per level (best first,
# the last for "anything else"; a comparison with a null side has a Bayes factor of 1).
M_U: dict[str, tuple[list[float], list[float]]] = {
    "name": ([0.75, 0.15, 0.05, 0.05], [0.0005, 0.003, 0.02, 0.9765]),
    "birth_year": ([0.9, 0.1], [0.02, 0.98]),
    "country": ([0.95, 0.05], [0.3, 0.7]),
    "identifiers": ([0.7, 0.3], [0.0001, 0.9999]),
}


def default_settings(n_records: int = 10_000) -> Any:
    """The fixed model. m = P(level | same person), u = P(level | different people)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior_for(n_records),
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.92, 0.8]).configure(
                m_probabilities=M_U["name"][0], u_probabilities=M_U["name"][1]
            ),
            cl.ExactMatch("birth_year").configure(
                m_probabilities=M_U["birth_year"][0], u_probabilities=M_U["birth_year"][1]
            ),
            cl.ExactMatch("country").configure(
                m_probabilities=M_U["country"][0], u_probabilities=M_U["country"][1]
            ),
            cl.ArrayIntersectAtSizes("identifiers", [1]).configure(
                m_probabilities=M_U["identifiers"][0], u_probabilities=M_U["identifiers"][1]
            ),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name"),
            block_on("surname", "birth_year"),
            block_on("forename", "birth_year"),
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


@dataclass(frozen=True)
class PersonMatches:
    """Scored pairs with the match weight of each comparison (``mw_*`` columns: log2
    Bayes factors; they add up, with the prior, to ``match_weight``)."""

    pairs: pl.DataFrame
    model: dict[str, Any]


def _duckdb_predict(people: pl.DataFrame, settings: Any, threshold: float) -> tuple[Any, Any]:
    from splink import DuckDBAPI, Linker

    db = DuckDBAPI(duckdb.connect())
    sdf = db.register(people.to_arrow(), table_name="daybreak_people")
    linker = Linker(sdf, settings, log_level=None)
    pred = linker.inference.predict(threshold_match_probability=threshold)
    return linker, pl.from_arrow(pred.as_duckdbpyrelation().to_arrow_table())


def _spark_predict(people: Any, settings: Any, threshold: float, spark: Any) -> tuple[Any, Any]:
    from splink import Linker, SparkAPI

    # Through Spark as Arrow both ways: no Python workers on the executors, and no file
    # only this machine sees (the session may be a cluster's or Spark Connect's). A
    # people table Spark already holds (built on the executors) is used as it is.
    frame = (
        spark.createDataFrame(people.to_arrow(compat_level=pl.CompatLevel.oldest()))
        if isinstance(people, pl.DataFrame)
        else people
    )
    db = SparkAPI(spark_session=spark, break_lineage_method="persist")  # type: ignore[no-untyped-call]
    # The session outlives one matching (a process may build several graphs in it):
    # splink refuses a table name that already exists.
    spark.catalog.dropTempView("daybreak_people")
    sdf = db.register(frame, table_name="daybreak_people")
    linker = Linker(sdf, settings, log_level=None)
    pred = linker.inference.predict(threshold_match_probability=threshold)
    return linker, pl.from_arrow(pred.as_spark_dataframe().toArrow())


def match_people(
    people: Any,
    *,
    backend: Backend = "duckdb",
    threshold: float = 0.5,
    settings: Any = None,
    spark_session: Any = None,
) -> PersonMatches:
    """Score candidate pairs; keep those with match probability >= ``threshold``.

    The Spark backend runs in ``spark_session``, which the caller opens
    (:func:`daybreak.engines.spark.spark_session`: local, a cluster or Spark Connect); it
    carries splink's jar for jaro_winkler (on Connect, the server's ``--jars``).
    ``people``: :func:`person_records`' frame, or with the Spark backend the same table
    as a Spark DataFrame (:mod:`daybreak.graph.people_sql`)."""
    if backend == "spark" and spark_session is None:
        raise ValueError(
            "backend 'spark' needs a spark_session (daybreak.engines.spark.spark_session())"
        )
    if backend != "spark" and not isinstance(people, pl.DataFrame):
        raise ValueError("a people table held by Spark is matched with backend 'spark'")
    n_people = people.height if isinstance(people, pl.DataFrame) else int(people.count())
    if n_people < 2:
        return PersonMatches(pairs=_empty_pairs(), model={})
    if settings is None and isinstance(people, pl.DataFrame):
        # The fixed model's pairs are scored one by one; those that cannot reach the
        # threshold are left out before splink compares them (the same pairs come out).
        people = _those_that_can_match(people, n_people, threshold)
    settings = settings or default_settings(n_people)
    if backend == "spark":
        linker, pairs = _spark_predict(people, settings, threshold, spark_session)
    else:
        linker, pairs = _duckdb_predict(people, settings, threshold)
    keep = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    for c in COMPARED:
        keep += [f"{c}_l", f"{c}_r", f"gamma_{c}", f"bf_{c}", f"mw_{c}"]
    present = [c for c in keep if c in pairs.columns]
    model: dict[str, Any] = json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))
    out = pairs.select(present).sort(
        "match_weight", "unique_id_l", "unique_id_r", descending=[True, False, False]
    )
    return PersonMatches(pairs=out, model=model)


def needs_shared_identifier(n_records: int, threshold: float) -> bool:
    """Whether, under the fixed model for ``n_records``, a pair that shares no
    identifier stays below ``threshold``: the prior's weight plus the best level of
    every other comparison (a null side: weight 0) is under the threshold's weight."""
    if not 0.0 < threshold < 1.0:
        return False
    prior = prior_for(n_records)
    best = math.log2(prior / (1.0 - prior))
    for name, levels in M_U.items():
        if name != "identifiers":
            best += max(0.0, *(math.log2(m / u) for m, u in zip(*levels, strict=True)))
    # a margin far above float rounding, far below any level's weight
    return best < math.log2(threshold / (1.0 - threshold)) - 1e-6


def sharing_an_identifier(people: pl.DataFrame) -> pl.DataFrame:
    """The records holding an identifier that another record also holds, in order."""
    held = people.select("unique_id", "identifiers").explode("identifiers").drop_nulls().unique()
    shared = held.filter(pl.col("unique_id").n_unique().over("identifiers") >= 2)["unique_id"]
    return people.filter(pl.col("unique_id").is_in(shared.implode()))


def _those_that_can_match(people: pl.DataFrame, n_records: int, threshold: float) -> pl.DataFrame:
    """``people`` without the records no pair above ``threshold`` can have (at 100,000
    customers splink compared 2.6 million blocked pairs for 27 matches). Splink still
    runs (its model is written out) on two records at least: the pairs of records
    left out cannot reach the threshold, so they add none."""
    if not needs_shared_identifier(n_records, threshold):
        return people
    kept = sharing_an_identifier(people)
    return kept if kept.height >= 2 else people.head(2)


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "unique_id_l": pl.String,
            "unique_id_r": pl.String,
            "match_weight": pl.Float64,
            "match_probability": pl.Float64,
        }
    )


def same_person_edges(matches: PersonMatches, *, min_probability: float = 0.9) -> pl.DataFrame:
    """``same_person`` edges (weight = match probability) for pairs above the bar."""
    strong = matches.pairs.filter(pl.col("match_probability") >= min_probability)
    return strong.select(
        pl.col("unique_id_l").alias("source"),
        pl.col("unique_id_r").alias("target"),
        pl.lit("same_person").alias("relation"),
        pl.lit(1, pl.Int64).alias("n"),
        pl.lit(None, pl.Float64).alias("amount"),
        pl.col("match_probability").cast(pl.Float64).alias("weight"),
        pl.lit(None, UTC_TS).alias("first_seen"),
        pl.lit(None, UTC_TS).alias("last_seen"),
        pl.lit("splink").alias("origin"),
    ).cast(EDGE_SCHEMA)  # type: ignore[arg-type]


def explain_pair(row: dict[str, Any]) -> str:
    """One line an analyst can read: which comparisons pushed the weight up or down."""
    parts = [f"{c} {row[f'mw_{c}']:+.1f}" for c in COMPARED if row.get(f"mw_{c}") is not None]
    return (
        f"{row['unique_id_l']} ~ {row['unique_id_r']}: match weight {row['match_weight']:.1f} "
        f"(p={row['match_probability']:.3f}; " + ", ".join(parts) + ")"
    )
