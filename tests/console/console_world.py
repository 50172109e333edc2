"""A small, deterministic set of cases and alerts for the console's tests.

Neutral records only: ids, countries, amounts, hashes of benign test data. The top case
carries one identifier of each kind so identifier search can be checked end to end.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from daybreak.console.backend import Role
from daybreak.model.alerts import Alert
from daybreak.model.cases import (
    Case,
    CaseStatus,
    Evidence,
    GraphEdge,
    GraphNode,
    Tier,
    TimelineEvent,
)
from daybreak.testing.console import MemoryBackend

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TOP_CASE = "CASE-0001"
TOP_PHONE = "+639171234567"
TOP_EMAIL = "seller.example@example.org"
TOP_IBAN = "GB33BUKB20201555555555"
TOP_USERNAME = "streamhost:night_owl_77"
TOP_HASH = hashlib.sha256(b"benign test fixture 1").hexdigest()
PASSWORD = "correct horse battery staple"
USERS = {
    "ana": Role.ANALYST,
    "sam": Role.SUPERVISOR,
    "root": Role.ADMIN,
    "platform-bot": Role.PLATFORM,
}
COUNTRIES = ["PH", "TH", "CO", "KE", "RO", "MX", "GB", "AU"]
AGENCIES = {
    "PH": "PNP Women and Children Protection Center (WCPC) / PICACC",
    "TH": "Thailand Internet Crimes Against Children (TICAC) task force",
    "GB": "National Crime Agency (NCA) CEOP",
    "AU": "Australian Federal Police (AFP) / ACCCE",
}
TYPOLOGIES = ["low_value_corridor", "night_payments", "facilitator_hub", "cover_words"]


def _top_case() -> Case:
    created = NOW - timedelta(hours=5)
    nodes = [
        GraphNode(key="customer:C000123", kind="customer", label="C000123", alerted=True),
        GraphNode(
            key="beneficiary:gcash:09171234567",
            kind="beneficiary",
            label="gcash:09171234567",
            alerted=True,
        ),
        GraphNode(key=f"phone:{TOP_PHONE}", kind="phone", label=TOP_PHONE),
        GraphNode(key=f"email:{TOP_EMAIL}", kind="email", label=TOP_EMAIL),
        GraphNode(key=f"bank_account:{TOP_IBAN}", kind="bank_account", label=TOP_IBAN),
        GraphNode(key=f"username:{TOP_USERNAME}", kind="username", label=TOP_USERNAME),
        GraphNode(key="account:streamhost:88231", kind="account", label="streamhost:88231"),
        GraphNode(key="report:R-000042", kind="report", label="R-000042", alerted=True),
        GraphNode(key=f"media:{TOP_HASH}", kind="media", label=TOP_HASH[:16]),
    ]
    edges = [
        GraphEdge(
            source="customer:C000123",
            target="beneficiary:gcash:09171234567",
            relation="paid",
            count=14,
        ),
        GraphEdge(
            source="beneficiary:gcash:09171234567",
            target=f"phone:{TOP_PHONE}",
            relation="same_person",
        ),
        GraphEdge(
            source="beneficiary:gcash:09171234567",
            target=f"bank_account:{TOP_IBAN}",
            relation="same_person",
        ),
        GraphEdge(source="customer:C000123", target=f"email:{TOP_EMAIL}", relation="same_person"),
        GraphEdge(
            source="account:streamhost:88231",
            target=f"username:{TOP_USERNAME}",
            relation="same_person",
        ),
        GraphEdge(source="report:R-000042", target="account:streamhost:88231", relation="reported"),
        GraphEdge(
            source="customer:C000123", target="account:streamhost:88231", relation="called", count=6
        ),
        GraphEdge(
            source="account:streamhost:88231", target=f"media:{TOP_HASH}", relation="seen_with"
        ),
    ]
    timeline = [
        TimelineEvent(
            at=created - timedelta(days=3, hours=i),
            source="transactions",
            record_id=f"T{9000 + i}",
            summary=f"AUD {20 + i * 5:.2f} to gcash:09171234567",
        )
        for i in range(4)
    ] + [
        TimelineEvent(
            at=created - timedelta(hours=6),
            source="platform_events",
            record_id="E-771",
            summary="call streamhost:88231 with C000123, 41 min",
        ),
        TimelineEvent(
            at=created - timedelta(hours=1),
            source="reports",
            record_id="R-000042",
            summary="live stream reported by a platform, child age ~10",
        ),
        TimelineEvent(
            at=created - timedelta(minutes=30),
            source="media_sightings",
            record_id="M-5",
            summary=f"sha256 match {TOP_HASH[:16]}… in bank test-list",
        ),
    ]
    evidence = [
        Evidence(source=e.source, record_id=e.record_id, summary=e.summary) for e in timeline
    ]
    return Case(
        case_id=TOP_CASE,
        title="Live-stream report linked to corridor payments",
        priority=0.97,
        tier=Tier.LIVE_OR_IMMEDIATE_RISK,
        status=CaseStatus.NEW,
        explanation=(
            "A platform reported a live stream now; the reported account called a customer "
            "who paid a PH wallet 14 times at night."
        ),
        reasons=[
            "live now",
            "payment alert on the paying customer",
            "hash match on the reported account",
        ],
        sources=["transactions", "reports", "platform_events", "media_sightings"],
        entity_keys=[n.key for n in nodes],
        alert_ids=["A-pay-1", "A-tip-1", "A-media-1"],
        report_ids=["R-000042"],
        timeline=timeline,
        nodes=nodes,
        edges=edges,
        evidence=evidence,
        country="PH",
        routed_agency=AGENCIES["PH"],
        created_at=created,
        updated_at=created,
    )


def build_cases(n: int = 40, seed: int = 7) -> tuple[list[Case], list[Alert]]:
    rng = random.Random(seed)
    cases = [_top_case()]
    alerts = [
        Alert(
            alert_id="A-pay-1",
            detector="payments",
            subject_type="customer",
            subject_id="C000123",
            score=0.93,
            typologies=("low_value_corridor", "night_payments"),
            explanation="14 low-value night payments to PH",
            first_seen=NOW - timedelta(days=9),
            last_seen=NOW - timedelta(days=3),
        ),
        Alert(
            alert_id="A-tip-1",
            detector="tipline",
            subject_type="report",
            subject_id="R-000042",
            score=0.99,
            explanation="live stream in progress",
            evidence_source="reports",
            first_seen=NOW - timedelta(hours=6),
        ),
        Alert(
            alert_id="A-media-1",
            detector="media",
            subject_type="media",
            subject_id="M-5",
            score=1.0,
            explanation="exact SHA-256 match",
            evidence_source="media_sightings",
            first_seen=NOW - timedelta(hours=5, minutes=30),
        ),
    ]
    for i in range(2, n + 1):
        case_id = f"CASE-{i:04d}"
        country = rng.choice(COUNTRIES)
        tier = Tier(rng.choice([2, 3, 3, 4, 5, 5, 5, 6]))
        created = NOW - timedelta(hours=rng.randint(2, 24 * 20))
        customer = f"customer:C{100000 + i}"
        bene = f"beneficiary:wallet:{rng.randint(10**8, 10**9)}"
        phone = f"phone:+6391{rng.randint(10**7, 10**8 - 1)}"
        nodes = [
            GraphNode(key=customer, kind="customer", label=customer.split(":", 1)[1], alerted=True),
            GraphNode(key=bene, kind="beneficiary", label=bene.split(":", 1)[1]),
            GraphNode(key=phone, kind="phone", label=phone.split(":", 1)[1]),
        ]
        edges = [
            GraphEdge(source=customer, target=bene, relation="paid", count=rng.randint(2, 20)),
            GraphEdge(source=bene, target=phone, relation="same_person"),
        ]
        alert_id = f"A-{i}"
        typos = tuple(sorted(rng.sample(TYPOLOGIES, rng.randint(1, 2))))
        alerts.append(
            Alert(
                alert_id=alert_id,
                detector="payments",
                subject_type="customer",
                subject_id=customer,
                score=round(rng.uniform(0.5, 0.95), 2),
                typologies=typos,
                explanation="payments pattern",
                first_seen=created - timedelta(days=1),
            )
        )
        timeline = [
            TimelineEvent(
                at=created - timedelta(days=1, hours=k),
                source="transactions",
                record_id=f"T{i}{k}",
                summary=f"payment {k}",
            )
            for k in range(3)
        ]
        status = CaseStatus.NEW if i % 5 else CaseStatus.TRIAGED
        cases.append(
            Case(
                case_id=case_id,
                title=f"Corridor payments to {country}",
                priority=round(rng.uniform(0.3, 0.9), 3),
                tier=tier,
                status=status,
                explanation=f"Customer paid a {country} beneficiary repeatedly in small amounts.",
                reasons=[", ".join(typos)],
                sources=["transactions"] if i % 3 else ["transactions", "reports"],
                entity_keys=[n.key for n in nodes],
                alert_ids=[alert_id],
                timeline=timeline,
                nodes=nodes,
                edges=edges,
                evidence=[
                    Evidence(source="transactions", record_id=t.record_id, summary=t.summary)
                    for t in timeline
                ],
                country=country,
                routed_agency=AGENCIES.get(country),
                created_at=created,
                updated_at=created + timedelta(hours=rng.randint(1, 30)),
            )
        )
    # Cases carry their own alerts, as the case builder's do (the store reads their
    # typologies from them).
    by_id = {a.alert_id: a for a in alerts}
    carried = [
        c.model_copy(update={"alerts": [by_id[i] for i in c.alert_ids if i in by_id]})
        for c in cases
    ]
    return carried, alerts


# The routing table's answer for countries whose cases carry no agency of their own.
ROUTING_TABLE = {"MX": "FGR Mexico (routing table)"}


def build_backend(**kwargs: object) -> MemoryBackend:
    cases, alerts = build_cases()
    backend = MemoryBackend(cases, alerts, agencies=ROUTING_TABLE, **kwargs)  # type: ignore[arg-type]
    for name, role in USERS.items():
        backend.add_user(name, PASSWORD, role)
    return backend
