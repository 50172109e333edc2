"""Retroactive matching: when the banks gain hashes, the sightings seen before are
matched again, and each sighting that now matches *only* hashes listed since the last
pass raises an alert (a sighting that already matched an older hash raised its alert
then; a new sighting on an already alerted account is new evidence and is alerted).

A pass remembers, in the banks' audit log, the newest ``added_at`` among the hashes it
matched against (not the clock): a hash listed while the pass ran is newer than that and
is caught by the next pass. A match to a hash whose listing date cannot be read counts
as new: at worst an alert is raised twice (alert ids are stable, so cases fold it in),
never missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from daybreak.media.banks import BankStore
from daybreak.media.matcher import MediaMatcher
from daybreak.media.sightings import match_sightings, sighting_alerts
from daybreak.model.alerts import Alert

LISTED_SCHEMA = pl.Schema(
    {
        "bank": pl.String(),
        "hash_type": pl.String(),
        "listed_hash": pl.String(),
        "added_at": pl.Datetime("us", "UTC"),
    }
)


@dataclass(frozen=True)
class Rematch:
    matches: pl.DataFrame  # the new matches (match_sightings' columns plus added_at)
    alerts: Sequence[Alert]
    through: datetime | None  # every hash listed up to here was matched against


def listed_hashes(store: BankStore) -> pl.DataFrame:
    """Every listed hash of every bank with the time it was added."""
    frames = [
        store.entries(b.name)
        .select(
            pl.lit(b.name).alias("bank"),
            pl.col("hash_type").str.to_lowercase(),
            pl.col("hash").str.to_lowercase().alias("listed_hash"),
            "added_at",
        )
        .cast(LISTED_SCHEMA)
        for b in store.banks()
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=LISTED_SCHEMA)


def new_matches(
    matches: pl.DataFrame, listed: pl.DataFrame, since: datetime | None
) -> pl.DataFrame:
    """The matches of sightings that matched nothing listed at ``since``: only their
    matches to hashes added after it (``since`` None: every match is new)."""
    keys = ["bank", "hash_type", "listed_hash"]
    dated = matches.join(listed.unique(keys, keep="first"), on=keys, how="left")
    if since is None:
        return dated
    old = pl.col("added_at").is_not_null() & (pl.col("added_at") <= since)
    seen_before = dated.filter(old)["sighting_id"].unique()
    return dated.filter(~old & ~pl.col("sighting_id").is_in(seen_before.implode()))


def rematch(sightings: pl.DataFrame, matcher: MediaMatcher, since: datetime | None) -> Rematch:
    """Match ``sightings`` against the banks again; alerts for the sightings whose only
    matches are to hashes listed after ``since``."""
    listed = listed_hashes(matcher.store)
    fresh = new_matches(match_sightings(sightings, matcher), listed, since)
    newest = listed["added_at"].max()
    through = newest if isinstance(newest, datetime) else since
    return Rematch(fresh, sighting_alerts(fresh), through)
