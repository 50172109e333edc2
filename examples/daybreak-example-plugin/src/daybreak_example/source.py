"""A ledger export: a reader of someone else's format into Daybreak's transactions schema.

Many core-banking systems export a day's postings as semicolon-separated text with their
own column names and a decimal comma. The source maps it onto the public
``transactions`` schema; Daybreak then checks every row like any CSV it reads.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

# ledger column -> transactions column
COLUMNS = {
    "Booked": "timestamp",
    "Ref": "txn_id",
    "Payer": "sender_id",
    "PayerName": "sender_name",
    "PayerCountry": "sender_country",
    "Payee": "receiver_id",
    "PayeeName": "receiver_name",
    "PayeeCountry": "receiver_country",
    "Amount": "amount",
    "Ccy": "currency",
    "Channel": "channel",
    "Memo": "reference",
}


def read_ledger(path: Path | str) -> pl.DataFrame:
    """The ledger file as a transactions frame; ValueError naming the file and the
    columns it lacks."""
    raw = pl.read_csv(path, separator=";", infer_schema=False)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path}: not a ledger export: missing column(s) {', '.join(missing)} "
            f"(expected {';'.join(COLUMNS)})"
        )
    return raw.select(pl.col(name).alias(column) for name, column in COLUMNS.items()).with_columns(
        pl.col("timestamp").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC", strict=False),
        pl.col("amount").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False),
        pl.lit(None, pl.String).alias("merchant_category"),
    )
