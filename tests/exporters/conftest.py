"""Hand-built bundles and the real schemas (read from ../shared, never copied)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from daybreak.exporters.bundle import Address, CaseBundle, Contact, OrgSettings
from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.cases import Case, Evidence, GraphEdge, Tier
from daybreak.schema import TABLES

T0 = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
HANDLE = "gcash:+639171234567"


@pytest.fixture(scope="session")
def standards(shared_dir: Path) -> Path:
    return shared_dir / "standards"


@pytest.fixture(scope="session")
def uae_xsd(standards: Path) -> Path:
    return standards / "goaml" / "uae_fiu_5.0.2" / "goAMLSchema.xsd"


@pytest.fixture(scope="session")
def uae_patched_xsd(standards: Path) -> Path:
    return standards / "goaml" / "uae_fiu_5.0.2" / "goAMLSchema.strict-xsd10-patched.xsd"


@pytest.fixture(scope="session")
def srilanka_xsd(standards: Path) -> Path:
    return standards / "goaml" / "srilanka_fiu_v2.0" / "goAMLSchema-Version_2.0.xsd"


@pytest.fixture(scope="session")
def ncmec_xsd(standards: Path) -> Path:
    return standards / "ncmec" / "cybertipline_report.xsd"


# A reporting organisation as an institution would configure it (--org-file org.yaml).
TEST_ORG = OrgSettings(
    name="Example Remittance Ltd",
    country="AU",
    currency_local="AUD",
    rentity_id=123,  # Sri Lanka allows three digits
    rentity_branch="SYD-01",
    reporting_person=Contact(
        first_name="Sam", last_name="Lee", email="mlro@example.com", phone="+61299990000"
    ),
    address=Address(address="1 Example St", city="Sydney", state="NSW", country="AU"),
    esp_service="Example App",
    fx_usd={"AUD": 0.66, "PHP": 0.0175, "USD": 1.0},
    fx_source="test rates 2026-03-01",
)


def make_bundle() -> CaseBundle:
    """One case with every signal: two payers (one with full KYC) paying one wallet
    handle, a live-stream report naming the handle and an account, platform events
    of that account, and three hash sightings (PDQ, SHA-256, MD5) of which only the
    PDQ one (M1) matched a list of known material."""
    case = Case(
        case_id="CASE-TEST-1",
        title="Payments to a wallet named in a live-stream report",
        priority=0.93,
        tier=Tier.LIVE_OR_IMMEDIATE_RISK,
        explanation="A payment alert, a panic-button report and a hash match point at one person.",
        reasons=["facilitator hub", "live report", "hash match"],
        sources=["payments", "reports", "media"],
        entity_keys=["customer:C1", "customer:C2", f"payment_handle:{HANDLE}"],
        edges=[
            GraphEdge(
                source=f"payment_handle:{HANDLE}",
                target="account:chatapp:u123",
                relation="same_person",
            )
        ],
        evidence=[
            Evidence(source="transactions", record_id="T1"),
            Evidence(source="reports", record_id="R1"),
        ],
        report_ids=["R1"],
        alert_ids=["A1", "A2"],
        country="PH",
        routed_agency="PNP-WCPC",
    )
    txns = [
        {"txn_id": "T1", "timestamp": datetime(2026, 3, 1, 20, 0, tzinfo=UTC), "sender_id": "C1",
         "sender_name": "John O'Brien", "sender_country": "AU", "receiver_id": HANDLE,
         "receiver_name": "María de la Cruz", "receiver_country": "PH", "amount": 45.0,
         "currency": "AUD", "channel": "remittance", "reference": "load", "merchant_category": None},
        {"txn_id": "T2", "timestamp": datetime(2026, 3, 2, 20, 0, tzinfo=UTC), "sender_id": "C2",
         "sender_name": "Jane Roe", "sender_country": "AU", "receiver_id": HANDLE,
         "receiver_name": "María de la Cruz", "receiver_country": "PH", "amount": 60.0,
         "currency": "PHP", "channel": "wallet", "reference": None, "merchant_category": None},
    ]  # fmt: skip
    customers = [
        {"customer_id": "C1", "name": "John O'Brien", "birth_year": 1970, "gender": "M",
         "country": "AU", "timezone": "Australia/Sydney", "known_offender": False,
         # KYC the institution holds (not in the public schema; used when present)
         "birthdate": datetime(1970, 5, 1), "id_number": "PA1234567", "nationality": "AU",
         "identifications": [{"type": "passport", "number": "PA1234567",
                              "issue_date": datetime(2020, 1, 1), "expiry_date": datetime(2030, 1, 1),
                              "issue_country": "AU"}],
         "tax_reg_number": "Y", "occupation": "Engineer",
         "address": {"address": "12 Example Road Unit 4", "city": "Sydney", "state": "NSW", "country": "AU"}},
        {"customer_id": "C2", "name": "Jane Roe", "birth_year": 1980, "gender": "F",
         "country": "AU", "timezone": "Australia/Sydney", "known_offender": False},
    ]  # fmt: skip
    identifiers = [
        {"source": "customers", "source_id": "C1", "kind": "email", "value": "john@example.com", "role": None, "seen_at": None},
        {"source": "customers", "source_id": "C1", "kind": "phone", "value": "+61412345678", "role": None, "seen_at": None},
        {"source": "reports", "source_id": "R1", "kind": "payment_handle", "value": HANDLE, "role": "payment", "seen_at": None},
        {"source": "reports", "source_id": "R1", "kind": "account", "value": "chatapp:u123", "role": "reported_account", "seen_at": None},
        {"source": "reports", "source_id": "R1", "kind": "username", "value": "chatapp:coolguy", "role": "reported_account", "seen_at": None},
        {"source": "reports", "source_id": "R1", "kind": "ip", "value": "203.0.113.5", "role": "reported_account", "seen_at": T0},
        {"source": "reports", "source_id": "R1", "kind": "url", "value": "https://chatapp.example/u/u123", "role": "reported_account", "seen_at": None},
        {"source": "reports", "source_id": "R1", "kind": "email", "value": "seller@example.net", "role": "reported_account", "seen_at": None},
        {"source": "reports", "source_id": "R1", "kind": "email", "value": "reporter@example.net", "role": "reporter", "seen_at": None},
    ]  # fmt: skip
    reports = [
        {"report_id": "R1", "received_at": datetime(2026, 3, 1, 21, 5, tzinfo=UTC), "reporter_type": "platform",
         "incident_type": "live_streaming_abuse", "occurred_at": T0, "is_live": True, "service": "chatapp",
         "victim_age_estimate": 11, "victim_country": "PH", "description": "neutral test text"},
    ]  # fmt: skip
    events = [
        {"event_id": "E1", "service": "chatapp", "event_type": "login", "account_id": "u123",
         "counterparty_account_id": None, "started_at": datetime(2026, 3, 1, 19, 0, tzinfo=UTC),
         "ended_at": None, "ip": "198.51.100.7", "device_id": "dev-1", "country": "PH"},
    ]  # fmt: skip
    media = [
        {"sighting_id": "M1", "seen_at": datetime(2026, 3, 1, 20, 0, tzinfo=UTC), "hash_type": "pdq",
         "hash_value": "f" * 64, "quality": 90, "service": "chatapp", "account_id": "u123",
         "location": "https://chatapp.example/m/1"},
        {"sighting_id": "M2", "seen_at": datetime(2026, 3, 1, 20, 30, tzinfo=UTC), "hash_type": "sha256",
         "hash_value": "a" * 64, "quality": None, "service": "chatapp", "account_id": "u123", "location": None},
        {"sighting_id": "M3", "seen_at": datetime(2026, 3, 1, 20, 40, tzinfo=UTC), "hash_type": "md5",
         "hash_value": "b" * 32, "quality": None, "service": "chatapp", "account_id": "u123", "location": None},
    ]  # fmt: skip
    alerts = [
        Alert(alert_id="A1", detector="payments", subject_type="beneficiary", subject_id=HANDLE,
              score=0.9, typologies=("facilitator_hub",), explanation="many payers",
              evidence_ids=("T1", "T2")),
        Alert(alert_id="A2", detector="media", subject_type="account", subject_id="chatapp:u123",
              score=0.85, typologies=("known_material",), explanation="1 media item matched",
              evidence_source="media_sightings", evidence_ids=("M1",),
              hash_matches=(HashMatch(sighting_id="M1", hash_type="pdq", bank="known-list",
                                      bank_version=3, listed_hash="f" * 63 + "e", distance=1,
                                      threshold=31),)),
    ]  # fmt: skip
    return CaseBundle(
        case=case,
        transactions=txns,
        customers=customers,
        reports=reports,
        identifiers=identifiers,
        platform_events=events,
        media_sightings=media,
        alerts=alerts,
        org=TEST_ORG,
        generated_at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
    )


@pytest.fixture()
def bundle() -> CaseBundle:
    return make_bundle()


@pytest.fixture()
def no_kyc_bundle() -> CaseBundle:
    """The same case without the institution's KYC: payers go out as t_from."""
    b = make_bundle()
    plain = [{k: c[k] for k in ("customer_id", "name", "birth_year", "gender", "country", "timezone", "known_offender")} for c in b.customers]  # fmt: skip
    return replace(b, customers=plain)


@pytest.fixture()
def reports_only_bundle() -> CaseBundle:
    """A tipline-only case: no transactions (goAML SAR with report parties)."""
    b = make_bundle()
    return replace(b, transactions=(), customers=(), alerts=())


def write_world(bundle: CaseBundle, folder: Path) -> Path:
    """``bundle``'s rows as a world folder of Parquet files (``folder``, created), plus
    one unrelated payment that must not enter a bundle read back from it."""
    folder.mkdir()
    rows = {
        "transactions": bundle.transactions,
        "customers": bundle.customers,
        "reports": bundle.reports,
        "identifiers": bundle.identifiers,
        "platform_events": bundle.platform_events,
        "media_sightings": bundle.media_sightings,
    }
    for name, items in rows.items():
        cols = TABLES[name].names
        frame = pl.DataFrame([{c: r.get(c) for c in cols} for r in items], infer_schema_length=None)
        frame.write_parquet(folder / f"{name}.parquet")
    # an unrelated payment that must not enter the bundle
    other = pl.DataFrame(
        [dict(bundle.transactions[0], txn_id="T9", sender_id="C9", receiver_id="bdo:1")]
    )
    pl.concat([pl.read_parquet(folder / "transactions.parquet"), other.select(TABLES["transactions"].names)]).write_parquet(folder / "transactions.parquet")  # fmt: skip
    return folder
