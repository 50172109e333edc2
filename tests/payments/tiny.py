"""A tiny hand-made set of customers and transactions for fast tests.

Three kinds of senders: offenders paying unrelated women in the Philippines at night
with cover words, a diaspora customer paying relatives, and ordinary domestic payers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def tiny_world() -> tuple[pl.DataFrame, pl.DataFrame]:
    customers = [
        ("C1", "John Smith", 1961, "M", "AU", "Australia/Sydney", False),
        ("C2", "Peter Brown", 1958, "M", "AU", "Australia/Sydney", False),
        ("C3", "Jose Santos", 1980, "M", "AU", "Australia/Sydney", False),
        ("C4", "Alice Green", 1990, "F", "AU", "Australia/Sydney", False),
        ("C5", "Mark Jones", 1955, "M", "GB", "Europe/London", True),
    ]
    rows: list[tuple[object, ...]] = []
    n = 0

    def pay(
        sender: str,
        sname: str,
        recv: str,
        rname: str,
        rc: str,
        amount: float,
        when: datetime,
        ref: str | None,
        channel: str = "remittance",
        currency: str = "AUD",
        mcc: str | None = None,
        sc: str = "AU",
    ) -> None:
        nonlocal n
        n += 1
        rows.append(
            (
                f"T{n:05d}",
                when,
                sender,
                sname,
                sc,
                recv,
                rname,
                rc,
                amount,
                currency,
                channel,
                ref,
                mcc,
            )
        )

    # C1: 3 unrelated women, 30 payments, rising amounts, at 23:00 Sydney (12:00 UTC).
    women = [
        ("gcash:+639170000001", "Maria Dela Cruz"),
        ("gcash:+639170000002", "REYES, Ana"),
        ("bdo:000111", "Joy Bautista"),
    ]
    for i in range(30):
        recv, name = women[i % 3]
        when = T0 + timedelta(days=i * 3)
        pay("C1", "John Smith", recv, name, "PH", 25 + i * 2.5, when, "school fees")
    pay(
        "C1",
        "John Smith",
        "nordvpn",
        "NordVPN",
        "PA",
        12.0,
        T0 + timedelta(days=5),
        None,
        channel="card",
        mcc="4816",
    )
    # C2: pays two of the same women (a shared facilitator), night-time, cover words.
    for i in range(12):
        recv, name = women[i % 2]
        pay(
            "C2", "Peter Brown", recv, name, "PH", 40.0, T0 + timedelta(days=i * 7, hours=1), "gift"
        )
    # C3: diaspora, monthly 300 AUD to relatives, midday Sydney (02:00 UTC).
    for i in range(12):
        recv, name = (("bdo:222", "Maria Santos"), ("bdo:333", "SANTOS, Pedro R."))[i % 2]
        pay(
            "C3",
            "Jose Santos",
            recv,
            name,
            "PH",
            300.0,
            T0 + timedelta(days=30 * i, hours=-10),
            "family support",
        )
    # C4: domestic only, plus one card purchase.
    for i in range(10):
        pay(
            "C4",
            "Alice Green",
            f"anz:{i}",
            "Shop",
            "AU",
            50.0,
            T0 + timedelta(days=i),
            None,
            channel="card",
            mcc="5411",
        )
    pay("C4", "Alice Green", "bdo:999", "Lina Cruz", "PH", 80.0, T0, "rent", channel="wire")
    # C5: known offender in the UK, two small payments.
    for i in range(2):
        pay(
            "C5",
            "Mark Jones",
            "gcash:+639170000009",
            "Rose Lim",
            "PH",
            30.0,
            T0 + timedelta(days=i, hours=11),
            "load",
            currency="GBP",
            sc="GB",
        )
    tx = pl.DataFrame(
        rows,
        schema={
            "txn_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "sender_id": pl.String,
            "sender_name": pl.String,
            "sender_country": pl.String,
            "receiver_id": pl.String,
            "receiver_name": pl.String,
            "receiver_country": pl.String,
            "amount": pl.Float64,
            "currency": pl.String,
            "channel": pl.String,
            "reference": pl.String,
            "merchant_category": pl.String,
        },
        orient="row",
    )
    cu = pl.DataFrame(
        customers,
        schema={
            "customer_id": pl.String,
            "name": pl.String,
            "birth_year": pl.Int64,
            "gender": pl.String,
            "country": pl.String,
            "timezone": pl.String,
            "known_offender": pl.Boolean,
        },
        orient="row",
    )
    return tx, cu
