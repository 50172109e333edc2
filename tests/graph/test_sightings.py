"""Sightings from the entity graph: who each source saw, one row per resolved person
and list, on a small graph whose truth is known."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from daybreak.cli.estimate import estimate_report
from daybreak.graph import keys
from daybreak.graph.resolution import EDGE_SCHEMA, NODE_SCHEMA
from daybreak.graph.sightings import person_of_nodes, sightings
from daybreak.graph.tables import GraphTables
from daybreak.model.alerts import Alert

C1, C2 = keys.customer_key("C1"), keys.customer_key("C2")
PHONE = "phone:+61400000001"
A1 = keys.account_key("kinnect", "a1")  # C1's own account
KID = keys.account_key("kinnect", "kid")  # a minor's account, tied to C2 (the parent)
GROOMER = keys.account_key("kinnect", "g")
HANDLE = keys.beneficiary_key("gcash:+639000000001")
SHOP = keys.beneficiary_key("visa:shop1")  # a shop: not in the graph


def _tables() -> GraphTables:
    nodes = pl.DataFrame(
        [
            (C1, "customer", "Ann", "AU", False, None),
            (C2, "customer", "Bob", "US", False, None),
            (PHONE, "phone", "+61400000001", None, False, None),
            (A1, "account", "a1", None, False, "kinnect account; 25+; AU"),
            (KID, "account", "kid", "PH", False, "kinnect account; 13-15, a minor; PH"),
            (GROOMER, "account", "g", "GB", False, "kinnect account; 25+; GB"),
            (HANDLE, "payment_handle", "Cy", "PH", False, None),
            ("report:R1", "report", "R1", None, False, None),
            ("media:M1", "media", "M1", None, False, None),
            ("hash:pdq:ab", "hash", "ab", None, False, None),
        ],
        schema=NODE_SCHEMA,
        orient="row",
    )
    edge = [
        (C1, PHONE, "customer"),
        (C1, A1, "customer"),
        (C2, KID, "customer"),  # a parent and a child: a family, not one person
        (C1, HANDLE, "paid"),
        (C2, HANDLE, "paid"),
        ("report:R1", A1, "reported_account"),
        ("report:R1", KID, "victim"),
        ("media:M1", A1, "seen_with"),
        ("media:M1", "hash:pdq:ab", "has_hash"),
        (GROOMER, KID, "call"),
    ]
    edges = pl.DataFrame(
        [(s, t, r, 1, None, None, None, None, "test") for s, t, r in edge],
        schema=EDGE_SCHEMA,
        orient="row",
    )
    return GraphTables.build(nodes, [edges])


def _alert(alert_id: str, detector: str, subject: tuple[str, str], **kw: object) -> Alert:
    return Alert(
        alert_id=alert_id,
        detector=detector,
        subject_type=subject[0],  # type: ignore[arg-type]
        subject_id=subject[1],
        score=0.8,
        explanation="test",
        **kw,  # type: ignore[arg-type]
    )


ALERTS = [
    _alert("p1", "payments", ("customer", "C1"), evidence_source="transactions",
           evidence_ids=("T1", "T3"), first_seen=datetime(2025, 5, 2, tzinfo=UTC)),
    _alert("p2", "payments", ("beneficiary", "gcash:+639000000001"),
           evidence_source="transactions", evidence_ids=("T1", "T2"),
           first_seen=datetime(2025, 4, 9, tzinfo=UTC)),
    _alert("r1", "tipline", ("report", "R1"), evidence_source="reports",
           evidence_ids=("R1",), last_seen=datetime(2025, 3, 30, tzinfo=UTC)),
    _alert("m1", "media", ("media", "M1"), evidence_source="media_sightings",
           evidence_ids=("M1",), first_seen=datetime(2025, 6, 1, tzinfo=UTC)),
    _alert("g1", "grooming", ("account", "kinnect:g"), evidence_source="platform_events",
           evidence_ids=("E1",), first_seen=datetime(2025, 7, 1, tzinfo=UTC)),
]  # fmt: skip
TXNS = pl.DataFrame(
    {
        "txn_id": ["T1", "T2", "T3"],
        "sender_id": ["C1", "C2", "C1"],
        "receiver_id": ["gcash:+639000000001", "gcash:+639000000001", "visa:shop1"],
    }
)
EVENTS = pl.DataFrame(
    {"event_id": ["E1"], "service": ["kinnect"], "account_id": ["g"],
     "counterparty_account_id": ["kid"]}
)  # fmt: skip


def _rows() -> pl.DataFrame:
    return sightings(_tables(), ALERTS, evidence_events=EVENTS, evidence_transactions=TXNS)


def test_a_person_is_an_identity_cluster_not_a_contact_or_a_family() -> None:
    people = dict(person_of_nodes(_tables()).iter_rows())
    # C1, their phone and their account are one person, named by the smallest key
    assert people[C1] == people[PHONE] == people[A1] == A1
    # payments, calls and a parent's tie to a child's account join no one
    assert len({people[C1], people[C2], people[HANDLE], people[KID], people[GROOMER]}) == 5
    assert "report:R1" not in people and "hash:pdq:ab" not in people


def test_each_list_counts_the_people_its_alerts_name_one_row_per_person_and_list() -> None:
    rows = _rows()
    assert rows.select("person", "list").is_unique().all()
    per_list = dict(rows.group_by("list").len().iter_rows())
    # payments: C1 (subject, T1's payer), the handle (subject, T1's payee) and C2 (T2's
    # payer); the shop T3 paid is no node. tipline: C1's account and the victim.
    assert per_list == {"payments": 3, "tipline": 2, "media": 1, "grooming": 2}
    c1 = rows.filter(pl.col("person") == A1)
    assert sorted(c1["list"]) == ["media", "payments", "tipline"]
    assert set(c1["role"]) == {"payer"} and set(c1["country"]) == {"AU"}
    assert set(c1["quarter"]) == {"2025Q1"}  # the report, the first source that saw them
    assert c1.filter(pl.col("list") == "payments")["alerts"].item() == "p1 p2"
    assert c1.filter(pl.col("list") == "payments")["seen_as"].item() == C1
    roles = dict(rows.select("person", "role").unique().iter_rows())
    assert roles == {A1: "payer", C2: "payer", HANDLE: "facilitator", KID: "victim",
                     GROOMER: "other"}  # fmt: skip
    kid = rows.filter(pl.col("person") == KID)
    assert sorted(kid["list"]) == ["grooming", "tipline"]


def test_the_sightings_feed_the_estimate_by_role() -> None:
    report = estimate_report(_rows(), ["role"], 0.95, 20, 0)
    labels = [s.label for s in report.strata]
    assert labels == ["all", "role=facilitator", "role=other", "role=payer", "role=victim"]
    victim = report.strata[-1]
    # the victim is seen by grooming and tipline only: the other lists are left out, and
    # one person on both lists (no one on one only) has no finite estimate
    assert victim.estimate is None
    assert victim.error.endswith("(pairwise overlaps: grooming&tipline=1)")


def test_no_alert_gives_an_empty_table_with_the_columns() -> None:
    empty = sightings(_tables(), [])
    assert empty.height == 0 and empty.columns == [
        "person", "list", "role", "country", "quarter", "alerts", "seen_as"
    ]  # fmt: skip
