"""The demo path: media_sightings matched against a bank built from some of them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from daybreak.media.index import hamming, parse_pdq
from daybreak.media.sightings import demo_matcher, match_sightings, near_duplicate, sighting_alerts


def sightings(n: int = 200) -> pl.DataFrame:
    rng = random.Random(9)
    rows = []
    for i in range(n):
        kind = ["pdq", "md5", "sha256"][i % 3]
        length = {"pdq": 64, "md5": 32, "sha256": 64}[kind]
        rows.append(
            {
                "sighting_id": f"ms-{i}",
                "seen_at": datetime(2026, 1, 1 + i % 28, tzinfo=UTC),
                "hash_type": kind,
                "hash_value": "".join(rng.choice("0123456789abcdef") for _ in range(length)),
                "quality": 90 if kind == "pdq" else None,
                "service": "streamsite",
                "account_id": f"acct-{i % 17}",
                "location": None,
            }
        )
    return pl.DataFrame(rows)


def test_demo_bank_matches_a_share_of_sightings(tmp_path: Path) -> None:
    world = sightings()
    matcher = demo_matcher(world, tmp_path / "banks", share=0.3, seed=1)
    matches = match_sightings(world, matcher)
    assert matches.columns[:3] == ["sighting_id", "account_id", "service"]
    listed = matcher.store.entries("demo-known")
    exact_listed = set(listed.filter(pl.col("hash_type") != "pdq")["hash"].to_list())
    expected_exact = set(
        world.filter(pl.col("hash_value").is_in(list(exact_listed)))["sighting_id"].to_list()
    )
    got_exact = set(matches.filter(pl.col("hash_type") != "pdq")["sighting_id"].to_list())
    assert got_exact == expected_exact and expected_exact
    # every PDQ sighting within 31 of a listed near-duplicate is found, decoys are not
    pdq_rows = world.filter(pl.col("hash_type") == "pdq")
    listed_pdq = parse_pdq(listed.filter(pl.col("hash_type") == "pdq")["hash"].to_list())
    d = hamming(parse_pdq(pdq_rows["hash_value"].to_list())[:, None, :], listed_pdq[None])
    expected = set(pdq_rows.filter(pl.Series(d.min(axis=1) <= 31))["sighting_id"].to_list())
    got = matches.filter(pl.col("hash_type") == "pdq")
    assert set(got["sighting_id"].to_list()) == expected and expected
    assert got["distance"].max() <= 31
    assert all("demo" in labels for labels in matches["labels"].to_list())


def test_alerts_per_account(tmp_path: Path) -> None:
    world = sightings()
    matches = match_sightings(world, demo_matcher(world, tmp_path, seed=2))
    alerts = sighting_alerts(matches)
    assert {a.subject_id for a in alerts} == {
        f"streamsite:{a}" for a in matches["account_id"].unique().to_list()
    }
    for a in alerts:
        assert a.detector == "media" and a.subject_type == "account"
        assert a.evidence_source == "media_sightings" and a.evidence_ids
        assert set(a.evidence_ids) <= set(matches["sighting_id"].to_list())


def test_low_quality_and_malformed_sightings(tmp_path: Path) -> None:
    world = sightings(30)
    matcher = demo_matcher(world, tmp_path, share=1.0, seed=3)
    low = world.with_columns(pl.lit(10).alias("quality"))
    assert match_sightings(low, matcher).filter(pl.col("hash_type") == "pdq").height == 0
    bad = world.with_columns(
        pl.when(pl.col("sighting_id") == "ms-4")
        .then(pl.lit("zz"))
        .otherwise(pl.col("hash_value"))
        .alias("hash_value")
    )
    with pytest.raises(ValueError, match="sighting ms-4"):
        match_sightings(bad, matcher)
    with pytest.raises(ValueError, match="missing column"):
        match_sightings(world.drop("hash_type"), matcher)
    assert match_sightings(world.head(0), matcher).height == 0


def test_near_duplicate_flips_exactly_the_asked_bits() -> None:
    h = "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    for bits in (0, 1, 31, 32):
        nd = near_duplicate(h, bits, random.Random(bits))
        assert int(hamming(parse_pdq([h]), parse_pdq([nd]))[0]) == bits


def test_demo_bank_from_known_sightings_only(tmp_path: Path) -> None:
    world = sightings()
    known = [f"ms-{i}" for i in range(0, 60)]
    matches = match_sightings(world, demo_matcher(world, tmp_path, share=1.0, known_ids=known))
    known_values = set(world.filter(pl.col("sighting_id").is_in(known))["hash_value"].to_list())
    assert set(matches["sighting_id"].to_list()) >= set(known)  # every known item found
    hit_values = world.filter(pl.col("sighting_id").is_in(matches["sighting_id"]))["hash_value"]
    assert all(v in known_values for v in hit_values.to_list())
