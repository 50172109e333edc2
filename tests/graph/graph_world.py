"""A tiny hand-made world: one facilitator network seen by payments, a live report
and a media sighting, plus unrelated customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from daybreak.model.alerts import Alert

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FACILITATOR = "gcash:+639171234567"
FACILITATOR_BANK = "bdo:001234567890"


def ts(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _txn(
    i: int, sender: str, receiver: str, day: float, amount: float, name: str, rc: str
) -> dict[str, object]:
    return {
        "txn_id": f"T{i:04d}",
        "timestamp": ts(day),
        "sender_id": sender,
        "sender_name": None,
        "sender_country": "US",
        "receiver_id": receiver,
        "receiver_name": name,
        "receiver_country": rc,
        "amount": amount,
        "currency": "USD",
        "channel": "remittance",
        "reference": None,
        "merchant_category": None,
    }


def world_frames() -> dict[str, pl.DataFrame]:
    payers = [f"C{i}" for i in range(1, 8)]  # C1..C7 pay the facilitator
    txns = []
    i = 0
    for k, c in enumerate(payers):
        for d in range(3):
            i += 1
            txns.append(_txn(i, c, FACILITATOR, 1 + k + d * 7, 40.0 + k, "Maria Santos", "PH"))
    # C2 also pays the facilitator's bank account, under a spelling variant.
    i += 1
    txns.append(_txn(i, "C2", FACILITATOR_BANK, 5, 90.0, "Maria  Santos", "PH"))
    # Unrelated: C8 pays a grocer, C9 pays family.
    for d in range(4):
        i += 1
        txns.append(_txn(i, "C8", "bdo:999000111", d, 25.0, "Ana Reyes Store", "PH"))
        i += 1
        txns.append(_txn(i, "C9", "gcash:+639990000000", d * 10, 100.0, "Jose Cruz", "PH"))
    customers = pl.DataFrame(
        {
            "customer_id": [*payers, "C8", "C9", "C10"],
            "name": [
                "John Doe",
                "Jon Doe",
                "Al Brown",
                "Bo Green",
                "Cy White",
                "Di Black",
                "Ed Gray",
                "Fay Blue",
                "Gus Pink",
                "John Doe",
            ],
            "birth_year": [1970, 1970, 1960, 1961, 1962, 1963, 1964, 1980, 1981, 1990],
            "gender": ["M"] * 10,
            "country": ["US"] * 9 + ["GB"],
            "timezone": ["America/New_York"] * 9 + ["Europe/London"],
            "known_offender": [False, False, False, True, False, False, False, False, False, False],
        }
    )
    reports = pl.DataFrame(
        {
            "report_id": ["R1", "R2"],
            "received_at": [ts(20), ts(2)],
            "reporter_type": ["platform", "public"],
            "incident_type": ["live_streaming_abuse", "other"],
            "occurred_at": [ts(20), None],
            "is_live": [True, False],
            "service": ["kumu", None],
            "victim_age_estimate": [11, None],
            "victim_country": ["PH", None],
            "description": ["panic button", "spam"],
        }
    )
    identifiers = pl.DataFrame(
        {
            "source": [
                "customers",
                "customers",
                "customers",
                "reports",
                "reports",
                "reports",
                "reports",
                "platform_events",
            ],
            "source_id": ["C1", "C2", "C1", "R1", "R1", "R1", "R2", "E1"],
            "kind": [
                "account",
                "email",
                "email",
                "account",
                "payment_handle",
                "phone",
                "phone",
                "device",
            ],
            "value": [
                "kumu:john_d",
                "JOHN.DOE@example.com",
                "john.doe@example.com",
                "kumu:maria88",
                FACILITATOR,
                "+63 917 123 4567",
                "not-a-phone",
                "dev-1",
            ],
            "role": [
                None,
                None,
                None,
                "reported_account",
                "payment",
                "reported_phone",
                "reported_phone",
                None,
            ],
            "seen_at": [None, None, None, ts(20), ts(20), ts(20), ts(2), ts(19)],
        }
    )
    events = pl.DataFrame(
        {
            "event_id": ["E1", "E2", "E3"],
            "service": ["kumu", "kumu", "KUMU"],
            "event_type": ["stream", "call", "login"],
            "account_id": ["john_d", "john_d", "maria88"],
            "counterparty_account_id": ["maria88", "maria88", None],
            "started_at": [ts(19), ts(20), ts(20)],
            "ended_at": [ts(19.1), None, None],
            "ip": ["203.0.113.5", None, "198.51.100.7"],
            "device_id": ["dev-1", None, None],
            "country": ["US", "US", "PH"],
        }
    )
    media = pl.DataFrame(
        {
            "sighting_id": ["S1"],
            "seen_at": [ts(21)],
            "hash_type": ["pdq"],
            "hash_value": ["AB" * 32],
            "quality": [90],
            "service": ["kumu"],
            "account_id": ["maria88"],
            "location": [None],
        },
        schema_overrides={"location": pl.String},
    )
    # what the service knows: john_d declared 25+; maria88 declared no age and is verified
    accounts = pl.DataFrame(
        {
            "service": ["kumu", "kumu"],
            "account_id": ["john_d", "maria88"],
            "created_at": [ts(-400), ts(-3)],
            "age_band": ["25+", None],
            "is_minor": [False, None],
            "country": ["US", "PH"],
            "verified": [False, True],
        },
        schema_overrides={"age_band": pl.String, "is_minor": pl.Boolean},
    )
    links = pl.DataFrame(
        {
            "case_id": ["K1"] * 10 + ["K2"],
            "source": ["customers"] * 7
            + ["reports", "media_sightings", "platform_events", "customers"],
            "record_id": [*payers, "R1", "S1", "E1", "C9"],
        }
    )
    return {
        "transactions": pl.DataFrame(txns),
        "customers": customers,
        "reports": reports,
        "identifiers": identifiers,
        "platform_events": events,
        "media_sightings": media,
        "platform_accounts": accounts,
        "links": links,
    }


def write_world(folder: Path, fmt: str = "parquet") -> Path:
    frames = world_frames()
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    frames.pop("links").write_csv(folder / "truth" / "links.csv")
    for name, df in frames.items():
        if fmt == "csv":
            df.write_csv(folder / f"{name}.csv")
        else:
            df.write_parquet(folder / f"{name}.parquet")
    return folder


def payment_alerts() -> list[Alert]:
    return [
        Alert(
            alert_id="pay-1",
            detector="payments",
            subject_type="beneficiary",
            subject_id=FACILITATOR,
            score=0.8,
            typologies=("many_small_payers",),
            explanation="paid by 7 customers in small amounts",
            evidence_ids=("T0001", "T0004"),
            first_seen=ts(1),
            last_seen=ts(21),
        ),
        Alert(
            alert_id="pay-2",
            detector="payments",
            subject_type="customer",
            subject_id="C1",
            score=0.6,
            explanation="repeated small remittances to PH",
            evidence_ids=("T0001",),
            first_seen=ts(1),
            last_seen=ts(15),
        ),
        Alert(
            alert_id="pay-9",
            detector="payments",
            subject_type="customer",
            subject_id="C9",
            score=0.3,
            explanation="round amounts",
            evidence_ids=("T0024",),
            first_seen=ts(0),
            last_seen=ts(30),
        ),
    ]
