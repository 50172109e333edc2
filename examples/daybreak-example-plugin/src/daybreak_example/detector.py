"""Round cross-border amounts: a detector in the shape every Daybreak detector has."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from daybreak.detectors import DetectorError
from daybreak.model.alerts import Alert
from daybreak.schema import read_table, world_file

ROUND = 50  # a "round" amount is a whole multiple of this


class RoundAmountsDetector:
    id = "round_amounts"
    version = "1"

    def __init__(self, min_payments: int = 5) -> None:
        if min_payments < 1:
            raise DetectorError(f"min_payments must be at least 1, got {min_payments}")
        self.min_payments = min_payments

    def detect(self, data: pl.DataFrame) -> Sequence[Alert]:
        """One alert per sender with ``min_payments`` or more round cross-border
        payments; the payments are the evidence. Highest score first."""
        flagged = data.filter(
            (pl.col("sender_country") != pl.col("receiver_country"))
            & (pl.col("amount") > 0)
            & ((pl.col("amount") % ROUND) == 0)
        )
        groups = (
            flagged.group_by("sender_id")
            .agg(
                pl.col("txn_id").sort(),
                pl.col("timestamp").min().alias("first"),
                pl.col("timestamp").max().alias("last"),
            )
            .filter(pl.col("txn_id").list.len() >= self.min_payments)
        )
        alerts = [
            Alert(
                alert_id=f"round_amounts:{row['sender_id']}",
                detector=self.id,
                subject_type="customer",
                subject_id=str(row["sender_id"]),
                score=round(min(0.6, 0.2 + 0.02 * len(row["txn_id"])), 4),
                typologies=("round_cross_border_amounts",),
                explanation=(
                    f"{len(row['txn_id'])} payments of whole multiples of {ROUND} to "
                    "receivers in another country."
                ),
                evidence_source="transactions",
                evidence_ids=tuple(row["txn_id"]),
                first_seen=row["first"],
                last_seen=row["last"],
            )
            for row in groups.iter_rows(named=True)
        ]
        return sorted(alerts, key=lambda a: (-a.score, a.alert_id))


def transactions_of(world: Path) -> pl.DataFrame:
    """The world's transactions, validated against Daybreak's public schema."""
    path = world_file(world, "transactions")
    if path is None:
        raise DetectorError(f"{world}: no transactions.parquet or transactions.csv")
    return read_table(path, "transactions").frame
