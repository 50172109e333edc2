"""A tiny institution for the sharing tests: two payers of a facilitator (case K1), an
unrelated report (case K2) and an unrelated customer; every customer has KYC e-mails,
phones or accounts, and the K1 report gives the suspect's phone in Australian
national format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from daybreak.model.cases import Case, GraphNode

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FACILITATOR = "gcash:+639171234567"
SUSPECT_ACCOUNT = "kumu:maria88"
K1_PHONE = "+639171234567"  # named in report R1 and a node of case K1
K2_PHONE = "+639998887777"  # case K2 only
AU_NATIONAL = "0412 345 678"  # report R1, national format
AU_E164 = "+61412345678"
CUSTOMER_OWN = {
    ("email", "c1@bank.example"),
    ("phone", "+61400000001"),
    ("account", "kumu:payer_one"),
    ("email", "c2@bank.example"),
    ("email", "c3@bank.example"),
}
# What case K1 may share by default: its identifiers less customer ids and customers' own.
K1_SHAREABLE = {
    ("payment_handle", FACILITATOR),
    ("account", SUSPECT_ACCOUNT),
    ("phone", K1_PHONE),
}


def _txn(i: int, sender: str, receiver: str) -> dict[str, object]:
    return {
        "txn_id": f"T{i}", "timestamp": T0, "sender_id": sender, "sender_name": None,
        "sender_country": "AU", "receiver_id": receiver, "receiver_name": "M Santos",
        "receiver_country": "PH", "amount": 40.0, "currency": "AUD", "channel": "remittance",
        "reference": None, "merchant_category": None,
    }  # fmt: skip


def write_world(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        [_txn(1, "C1", FACILITATOR), _txn(2, "C2", FACILITATOR), _txn(3, "C3", "bdo:999000111")]
    ).write_parquet(folder / "transactions.parquet")
    pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "name": ["John Doe", "Al Brown", "Fay Blue"],
            "birth_year": [1970, 1960, 1980],
            "gender": ["M", "M", "F"],
            "country": ["AU"] * 3,
            "timezone": ["Australia/Sydney"] * 3,
            "known_offender": [False] * 3,
        }
    ).write_parquet(folder / "customers.parquet")
    pl.DataFrame(
        {
            "report_id": ["R1", "R2"],
            "received_at": [T0, T0],
            "reporter_type": ["platform", "public"],
            "incident_type": ["live_streaming_abuse", "other"],
            "occurred_at": [T0, None],
            "is_live": [True, False],
            "service": ["kumu", None],
            "victim_age_estimate": [11, None],
            "victim_country": ["PH", None],
            "description": ["panic button", "hotline"],
        }
    ).write_parquet(folder / "reports.parquet")
    rows = [
        ("customers", "C1", "email", "C1@Bank.example"),
        ("customers", "C1", "phone", "+61 400 000 001"),
        ("customers", "C1", "account", "kumu:payer_one"),
        ("customers", "C2", "email", "c2@bank.example"),
        ("customers", "C3", "email", "c3@bank.example"),
        ("reports", "R1", "payment_handle", FACILITATOR),
        ("reports", "R1", "account", SUSPECT_ACCOUNT),
        ("reports", "R1", "phone", K1_PHONE),
        ("reports", "R1", "phone", AU_NATIONAL),
        ("reports", "R2", "phone", K2_PHONE),
    ]
    pl.DataFrame(
        {
            "source": [r[0] for r in rows],
            "source_id": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "value": [r[3] for r in rows],
            "role": [None] * len(rows),
            "seen_at": [T0] * len(rows),
        },
        schema_overrides={"role": pl.String},
    ).write_parquet(folder / "identifiers.parquet")
    return folder


def _case(case_id: str, keys: list[str]) -> Case:
    return Case(
        case_id=case_id,
        title=f"case {case_id}",
        priority=0.9,
        entity_keys=keys,
        nodes=[GraphNode(key=k, kind=k.partition(":")[0], label=k) for k in keys],
    )


def cases() -> list[Case]:
    k1 = [
        "customer:C1", "customer:C2", f"payment_handle:{FACILITATOR}",
        f"account:{SUSPECT_ACCOUNT}", f"phone:{K1_PHONE}", "report:R1", "media:S1",
        "hash:pdq:" + "ab" * 32, "email:c1@bank.example", "account:kumu:payer_one",
    ]  # fmt: skip
    return [_case("K1", k1), _case("K2", ["report:R2", f"phone:{K2_PHONE}"])]


def write_cases(path: Path) -> Path:
    path.write_text("".join(c.model_dump_json() + "\n" for c in cases()), encoding="utf-8")
    return path
