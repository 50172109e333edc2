"""Match the ``media_sightings`` table (hashes seen on services) against the banks.

A match is a signal on the account it was seen with: :func:`sighting_alerts` turns the
match records into :class:`~daybreak.model.alerts.Alert` objects for that account.
:func:`demo_matcher` builds a bank from some of the sightings' own hashes plus PDQ
near-duplicates, so the demo shows matches without any real hash list.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from pathlib import Path

import polars as pl

from daybreak.media.banks import BankEntry, BankStore
from daybreak.media.index import format_pdq, parse_pdq
from daybreak.media.matcher import MediaMatcher, match_threshold
from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.signal_types import PdqSignal
from daybreak.plugins import signal_type, signal_types

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "sighting_id": pl.String(),
    "account_id": pl.String(),
    "service": pl.String(),
    "seen_at": pl.Datetime("us", "UTC"),
    "hash_type": pl.String(),
    "bank": pl.String(),
    "listed_hash": pl.String(),
    "distance": pl.Int64(),
    "bank_version": pl.Int64(),
    "threshold": pl.Int64(),
    "labels": pl.List(pl.String()),
}


def _reliable() -> pl.Expr:
    """Rows whose hash is reliable enough to match: types without a quality floor, and
    the others at or above it (PDQ below 50 is noise) or with no quality given."""
    keep = pl.col("quality").is_null()
    floors = {st.name: st.min_quality for st in signal_types().values()}
    no_floor = [name for name, floor in floors.items() if floor is None]
    keep = keep | pl.col("hash_type").is_in(no_floor) | ~pl.col("hash_type").is_in(list(floors))
    for name, floor in floors.items():
        if floor is not None:
            keep = keep | ((pl.col("hash_type") == name) & (pl.col("quality") >= floor))
    return keep


def match_sightings(sightings: pl.DataFrame, matcher: MediaMatcher) -> pl.DataFrame:
    """One row per (sighting, listed hash) match with status ``match``.

    Columns: sighting_id, account_id, service, seen_at, hash_type, bank, listed_hash,
    distance, labels. Rows whose hash is malformed raise a ValueError naming the
    sighting_id; PDQ rows with quality below 50 are not matched (too unreliable).
    """
    need = {"sighting_id", "hash_type", "hash_value"}
    missing = need - set(sightings.columns)
    if missing:
        raise ValueError(f"media_sightings: missing column(s) {', '.join(sorted(missing))}")
    rows = sightings.with_columns(
        pl.col("hash_type").str.to_lowercase(), pl.col("hash_value").str.to_lowercase()
    )
    if "quality" in rows.columns:
        rows = rows.filter(_reliable())
    queries = list(zip(rows["hash_type"].to_list(), rows["hash_value"].to_list(), strict=True))
    try:
        matches = [m for m in matcher.match(queries) if m.status == "match"]
    except ValueError as exc:
        # "query N: ..." -> name the sighting
        text = str(exc)
        if text.startswith("query "):
            n = int(text.split()[1].rstrip(":"))
            text = f"sighting {rows['sighting_id'][n]}: " + text.split(":", 1)[1].strip()
        raise ValueError(f"media_sightings: {text}") from None
    if not matches:
        return pl.DataFrame(schema=MATCH_SCHEMA)
    pos = [m.query for m in matches]
    picked = rows[pos]
    banks = {b.name: b for b in matcher.store.banks()}

    def col(name: str) -> list[object]:
        return picked[name].to_list() if name in picked.columns else [None] * len(pos)

    return pl.DataFrame(
        {
            "sighting_id": col("sighting_id"),
            "account_id": col("account_id"),
            "service": col("service"),
            "seen_at": col("seen_at"),
            "hash_type": [m.hash_type for m in matches],
            "bank": [m.bank for m in matches],
            "listed_hash": [m.listed_hash for m in matches],
            "distance": [m.distance for m in matches],
            "bank_version": [banks[m.bank].version if m.bank in banks else None for m in matches],
            "threshold": [
                match_threshold(banks[m.bank], signal_type(m.hash_type))
                if m.bank in banks
                else None
                for m in matches
            ],
            "labels": [list(m.labels) for m in matches],
        },
        schema=MATCH_SCHEMA,
    )


def sighting_alerts(matches: pl.DataFrame) -> list[Alert]:
    """One alert per account: the listed media it was seen with, as evidence."""
    alerts = []
    with_account = matches.filter(pl.col("account_id").is_not_null())
    for (service, account), group in with_account.group_by(
        ["service", "account_id"], maintain_order=True
    ):
        subject = f"{service}:{account}" if service else str(account)
        exact = int((group["distance"] == 0).sum())
        banks = sorted(set(group["bank"].to_list()))
        times = group["seen_at"].drop_nulls()
        alerts.append(
            Alert(
                alert_id=f"media:{subject}",
                detector="media",
                subject_type="account",
                subject_id=subject,
                score=min(1.0, 0.8 + 0.05 * group.height),
                typologies=("known_material",),
                explanation=(
                    f"{group.height} media item(s) seen with account {subject} match "
                    f"hash lists of known material ({', '.join(banks)}); {exact} exact, "
                    f"closest distance {min(group['distance'].to_list())}."
                ),
                evidence_source="media_sightings",
                evidence_ids=tuple(sorted(set(group["sighting_id"].to_list()))),
                first_seen=times.min() if times.len() else None,
                last_seen=times.max() if times.len() else None,
                hash_matches=tuple(
                    HashMatch(
                        sighting_id=r["sighting_id"],
                        hash_type=r["hash_type"],
                        bank=r["bank"],
                        bank_version=r.get("bank_version"),
                        listed_hash=r["listed_hash"] or "",
                        distance=r["distance"],
                        threshold=r.get("threshold"),
                    )
                    for r in group.sort("sighting_id", "bank").iter_rows(named=True)
                ),
            )
        )
    return alerts


def near_duplicate(pdq_hex: str, bits: int, rng: random.Random) -> str:
    """The hash with ``bits`` distinct random bits flipped."""
    words = parse_pdq([pdq_hex])
    for b in rng.sample(range(256), bits):
        words[0, b // 64] ^= 1 << (63 - b % 64)
    return format_pdq(words)[0]


def demo_matcher(
    sightings: pl.DataFrame,
    directory: str | Path,
    share: float = 0.3,
    seed: int = 7,
    known_ids: Collection[str] | None = None,
) -> MediaMatcher:
    """A bank ``demo-known`` built from ``share`` of the sightings' hashes: MD5/SHA-256 as
    seen, PDQ shifted by 0-24 bits (still within 31, as a re-encoded copy would be) plus a
    decoy 40+ bits away that must not match. With ``known_ids`` (e.g. the sighting ids
    that truth/links.csv ties to cases) only those sightings' hashes are listed, so the
    demo's matches land on the accounts of the synthetic cases."""
    rng = random.Random(seed)
    store = BankStore(directory)
    store.create(
        "demo-known",
        source="synthetic demo list",
        description=("built from the synthetic world's own sightings; not real material"),
    )
    pool = sightings
    if known_ids is not None:
        pool = sightings.filter(pl.col("sighting_id").is_in(list(known_ids)))
    entries = []
    values = pool.select("hash_type", "hash_value").unique(maintain_order=True)
    for kind, value in values.iter_rows():
        if rng.random() >= share:
            continue
        kind, value = str(kind).lower(), str(value).lower()
        if kind == PdqSignal.name:
            entries.append(
                BankEntry(
                    PdqSignal.name,
                    near_duplicate(value, rng.randint(0, 24), rng),
                    ("demo", "near-duplicate"),
                )
            )
            entries.append(
                BankEntry(
                    PdqSignal.name,
                    near_duplicate(value, 40 + rng.randint(0, 20), rng),
                    ("demo", "decoy"),
                )
            )
        else:
            entries.append(BankEntry(kind, value, ("demo", "exact")))
    store.add("demo-known", entries)
    return MediaMatcher.build(store)
