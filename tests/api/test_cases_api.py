"""Cases over HTTP with an analyst session: list, read, transition, notes, history."""

from __future__ import annotations

from api_server import Api

from daybreak.graph import keys
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, Tier
from daybreak.store import Actor, Role


def test_case_workflow_over_http(api: Api) -> None:
    api.store.cases.upsert(
        [
            Case(
                case_id="C-http",
                title="Cluster around u9",
                priority=0.9,
                tier=Tier.LIVE_OR_IMMEDIATE_RISK,
                entity_keys=["account:examplestream:u9"],
            )
        ]
    )
    with api.analyst() as a:
        listed = a.get("/v1/cases", params={"tier": 1}).json()
        assert "C-http" in [c["case_id"] for c in listed]
        assert a.get("/v1/cases/C-http").json()["title"] == "Cluster around u9"
        assert a.get("/v1/cases/nope").status_code == 404
        bad = a.post("/v1/cases/C-http/transition", json={"to": "referred"})
        assert bad.status_code == 409 and bad.json()["detail"][0]["loc"] == ["body", "to"]
        unknown = a.post("/v1/cases/C-http/transition", json={"to": "paused"})
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "to"]
        ok = a.post("/v1/cases/C-http/transition", json={"to": "assigned", "assignee": "ana"})
        assert ok.status_code == 200 and ok.json()["status"] == "assigned"
        forbidden = a.post(
            "/v1/cases/C-http/transition", json={"to": "assigned", "assignee": "sue"}
        )
        assert forbidden.status_code == 403  # only supervisors assign to others
        note = a.post("/v1/cases/C-http/notes", json={"text": "Platform confirmed the stream."})
        assert note.status_code == 201 and note.json()["author"] == "ana"
        assert a.post("/v1/cases/C-http/notes", json={"text": ""}).status_code == 422
        assert [n["text"] for n in a.get("/v1/cases/C-http/notes").json()] == [
            "Platform confirmed the stream."
        ]
        closing = a.post("/v1/cases/C-http/transition", json={"to": "closed"})
        assert closing.status_code == 409 and "outcome" in closing.json()["detail"][0]["msg"]
        closed = a.post(
            "/v1/cases/C-http/transition", json={"to": "closed", "outcome": "referred_to_police"}
        )
        assert closed.json()["outcome"] == "referred_to_police"
        history = a.get("/v1/cases/C-http/history").json()
        assert [h["to_status"] for h in history] == ["new", "assigned", "closed"]
        hits = a.post("/v1/search", json={"kind": "account", "value": "ExampleStream:u9"}).json()
        assert "C-http" in hits["case_ids"]
        assert a.post("/v1/search", json={"kind": "phone", "value": "abc"}).status_code == 422
        a.post("/v1/auth/logout")
        assert a.get("/v1/cases").status_code == 401
    with api.analyst("sue") as s:
        reopened = s.post("/v1/cases/C-http/transition", json={"to": "assigned", "assignee": "ana"})
        assert reopened.status_code == 200
    trail = [e.action for e in api.store.audit.trail(Actor("root", Role.ADMIN), "C-http")]
    assert "case.read" in trail and "case.transition" in trail and "case.note" in trail


def test_a_beneficiary_search_finds_the_payment_handle_the_graph_links(api: Api) -> None:
    # The graph keys a transaction's receiver_id as a payment-handle node; a case built
    # around it carries that key. Searching the receiver as a beneficiary, as typed in
    # another spelling, must find the case (the beneficiary kind is an alias).
    node = keys.beneficiary_key("GCash:+63 917 000 0003")
    assert node == "payment_handle:gcash:+639170000003"
    api.store.cases.upsert(
        [Case(case_id="C-bene", title="Payee", priority=0.5, tier=Tier.OTHER, entity_keys=[node])]
    )
    with api.analyst() as a:
        for kind in ("beneficiary", "payment_handle"):
            body = {"kind": kind, "value": "gcash:+639170000003"}
            assert "C-bene" in a.post("/v1/search", json=body).json()["case_ids"], kind
        other = {"kind": "beneficiary", "value": "gcash:+639170000004"}
        assert "C-bene" not in a.post("/v1/search", json=other).json()["case_ids"]


def _alerted(case_id: str, *alert_ids: str) -> Case:
    alerts = [
        Alert(
            alert_id=a,
            detector="payments",
            subject_type="customer",
            subject_id=f"customer:{a}",
            score=0.6,
            explanation="synthetic",
        )
        for a in alert_ids
    ]
    return Case(
        case_id=case_id,
        title=f"Case {case_id}",
        priority=0.5,
        entity_keys=[f"customer:{a}" for a in alert_ids],
        alerts=alerts,
        alert_ids=list(alert_ids),
    )


def test_merge_and_split_over_http(api: Api) -> None:
    api.store.cases.upsert([_alerted("C-m1", "A-1"), _alerted("C-m2", "A-2", "A-3")])
    with api.analyst() as a:
        missing = a.post("/v1/cases/C-m1/merge", json={"merged_case": "nope", "reason": "x"})
        assert missing.status_code == 404
        no_reason = a.post("/v1/cases/C-m1/merge", json={"merged_case": "C-m2", "reason": ""})
        assert no_reason.status_code == 422
        merged = a.post("/v1/cases/C-m1/merge", json={"merged_case": "C-m2", "reason": "one payer"})
        assert merged.status_code == 200, merged.text
        assert merged.json()["case"]["alert_ids"] == ["A-1", "A-2", "A-3"]
        assert merged.json()["merged"]["outcome"] == "merged"
        again = a.post("/v1/cases/C-m1/merge", json={"merged_case": "C-m2", "reason": "again"})
        assert again.status_code == 409 and "closed" in again.json()["detail"][0]["msg"]
        split = a.post(
            "/v1/cases/C-m1/split", json={"alert_ids": ["A-3"], "reason": "another payer"}
        )
        assert split.status_code == 200, split.text
        assert split.json()["new_case"]["case_id"] == "C-m1-S1"
        assert split.json()["case"]["alert_ids"] == ["A-1", "A-2"]
        unknown = a.post("/v1/cases/C-m1/split", json={"alert_ids": ["A-9"], "reason": "x"})
        assert unknown.status_code == 409 and "no alert A-9" in unknown.json()["detail"][0]["msg"]
    trail = [e.action for e in api.store.audit.trail(Actor("root", Role.ADMIN), "C-m1")]
    assert "case.merge" in trail and "case.split" in trail
