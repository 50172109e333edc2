"""Organisations kept apart, across every route: two organisations with data, and every
route of the served app (the API with the console mounted, enumerated from
``app.routes`` as the attack matrix does) tried with every credential of organisation
A against organisation B's case and report ids.

Allowed: 0 cross-organisation reads or writes. Checked three ways:

* every answer with one of B's ids is the answer to an id that does not exist (same
  status, same body once the id is blanked out): no existence oracle;
* no answer carries any of B's content (its case title, note, identifiers, ids);
* afterwards B's rows are as they were (case workflow columns and row MAC, notes,
  history, reports) and the audit trail holds no entry of A about B's ids, and no new
  entry in B's name.

Positive controls (B's own credentials read B's case; A's read A's) show the refusals
come from the organisation, not from a broken fixture.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from test_attack_matrix import (
    ADMIN,
    ADMIN_KEY,
    ANALYST,
    ANALYST_KEY,
    LAST,
    PASSWORD,
    PLATFORM_KEY,
    PLATFORM_SESSION,
    REPORT,
    SUPERVISOR,
    XSD,
    Credential,
    request_as,
    served_routes,
    served_store,
    signed_in_as,
)

from daybreak.model.cases import Case
from daybreak.store import Actor, Role, TiplineStore
from daybreak.store.tables import (
    audit_log,
    case_events,
    case_notes,
    case_tier_overrides,
    cases,
    reports,
)

ORG_A, ORG_B = "org-a", "org-b"
BOB = Actor("bob", Role.ADMIN, org_id=ORG_B)
CASE_A, CASE_B, MISSING_CASE = "CASE-A-1", "CASE-B-1", "CASE-Z-9"
MISSING_REPORT = "R-0000000000000000000000"
PHONE_B = "+639171234567"  # what the matrix's search bodies and forms look for
B_HOOK = "https://org-b-secret-hook.example/in"  # a failed delivery of B's (dead letter)
EXCHANGE_B, MISSING_EXCHANGE = "ORG_B_EXCHANGE", "NO_SUCH_EXCHANGE"  # B's hash exchange
B_EXCHANGE_URL = "https://org-b-secret-exchange.example/v26.0"
SECRETS_B = ("org-b secret title", "org-b secret note", "b-secret-account", PHONE_B, B_HOOK)
SECRETS_B += (B_EXCHANGE_URL,)
A_CREDENTIALS = (PLATFORM_KEY, PLATFORM_SESSION, ANALYST_KEY, ADMIN_KEY, ANALYST, SUPERVISOR)
A_CREDENTIALS += (ADMIN,)
FLASHED_ID = re.compile(r"no case (&#39;)?" + CASE_B + r"(&#39;)?<")
CSRF_FIELD = re.compile(r'(name="csrf_token" value=")[^"]+"')

REPORT_B: dict[str, Any] = {
    **REPORT,
    "reported_accounts": [{"service": "examplestream", "account_id": "b-secret-account"}],
}


@dataclass
class Orgs:
    app: FastAPI
    url: str
    store: TiplineStore
    creds: dict[str, Credential]
    report_b: str
    bea: Credential  # organisation B's analyst (the positive control)


def _b_snapshot(store: TiplineStore) -> dict[str, Any]:
    """Everything of organisation B that a cross-organisation write could change."""
    with store.engine.connect() as conn:
        case = conn.execute(
            select(cases.c.status, cases.c.assignee, cases.c.tier, cases.c.updated_at)
            .add_columns(cases.c.row_mac, cases.c.org_id)
            .where(cases.c.case_id == CASE_B)
        ).one()

        def count(table: Any) -> int:
            q = select(func.count()).select_from(table).where(table.c.org_id == ORG_B)
            return int(conn.execute(q).scalar_one())

        return {
            "case": tuple(case),
            **{t.name: count(t) for t in (case_notes, case_events, case_tier_overrides)},
            "reports": count(reports),
            "audit": count(audit_log),
            "exchanges": [(e.name, e.enabled, e.config) for e in store.exchanges.all(BOB)],
        }


def _credentials_of_a(store: TiplineStore, url: str) -> dict[str, Credential]:
    admin_a = Actor("adam", Role.ADMIN, org_id=ORG_A)
    keys = {
        PLATFORM_KEY: store.api_keys.create("a-platform", Role.PLATFORM, actor=admin_a),
        ANALYST_KEY: store.api_keys.create("a-analyst", Role.ANALYST, actor=admin_a),
        ADMIN_KEY: store.api_keys.create("a-admin", Role.ADMIN, actor=admin_a),
    }
    creds = {name: Credential(headers={"X-API-Key": key}) for name, key in keys.items()}
    for name, user in (
        (PLATFORM_SESSION, "platform-a"),
        (ANALYST, "ana"),
        (SUPERVISOR, "sue"),
        (ADMIN, "adam"),
    ):
        creds[name] = signed_in_as(url, user)
    return creds


def _two_organisations(store: TiplineStore) -> None:
    for org in (ORG_A, ORG_B):
        store.organisations.create(org, org.upper())
    for name, role, org in [
        ("ana", Role.ANALYST, ORG_A),
        ("sue", Role.SUPERVISOR, ORG_A),
        ("adam", Role.ADMIN, ORG_A),
        ("probe-a", Role.ANALYST, ORG_A),
        ("platform-a", Role.PLATFORM, ORG_A),
        ("bea", Role.ANALYST, ORG_B),
        ("bob", Role.ADMIN, ORG_B),
    ]:
        store.accounts.create(name, PASSWORD, role, org_id=org)
    admin_a = Actor("adam", Role.ADMIN, org_id=ORG_A)
    store.cases.upsert([Case(case_id=CASE_A, title="org-a case", priority=0.5)], admin_a)


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orgs]:
    with served_store(tmp_path_factory.mktemp("orgs"), _two_organisations) as s:
        store, url = s.store, s.url
        bob = Actor("bob", Role.ADMIN, org_id=ORG_B)
        key_b = store.api_keys.create("b-platform", Role.PLATFORM, actor=bob)
        with httpx.Client(base_url=url, timeout=30) as c:  # through the served intake
            sent = c.post("/v1/reports", json=REPORT_B, headers={"X-API-Key": key_b})
            assert sent.status_code == 202, sent.text
            report_b = sent.json()["report_id"]
        case_b = Case(
            case_id=CASE_B,
            title=SECRETS_B[0],
            priority=0.9,
            entity_keys=[f"phone:{PHONE_B}"],
            report_ids=[report_b],
        )
        store.cases.upsert([case_b], bob)
        store.cases.add_note(CASE_B, Actor("bea", Role.ANALYST, org_id=ORG_B), SECRETS_B[1])
        store.outbound.add_dead_letter("audit-1", B_HOOK, "case.create", "{}", 3, "HTTP 500", ORG_B)
        config = {"privacy_group": 4242, "endpoint": B_EXCHANGE_URL}
        store.exchanges.add(bob, EXCHANGE_B, "fb_threatexchange", EXCHANGE_B, config, "B_TOKEN")
        creds = _credentials_of_a(store, url)
        yield Orgs(s.app, url, store, creds, report_b, signed_in_as(url, "bea"))


def _path_values(case_id: str, report_id: str, exchange: str = EXCHANGE_B) -> dict[str, str]:
    return {
        "case_id": case_id,
        "report_id": report_id,
        "exchange_name": exchange,
        "api_name": "fb_threatexchange",
        "source": "reports",
        "record_id": report_id,
        "fmt": "stix",
        "referral_id": "1",
    }


def _blanked(text: str, *ids: str) -> str:
    text = CSRF_FIELD.sub(r'\1"', text)
    for value in ids:
        text = text.replace(value, "<id>")
    return text


def test_organisation_a_reaches_nothing_of_organisation_b(orgs: Orgs) -> None:
    before = _b_snapshot(orgs.store)
    with orgs.store.engine.connect() as conn:
        first_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar_one()
    routes = sorted(served_routes(orgs.app), key=lambda r: (r in LAST, r))
    b_ids = (CASE_B, orgs.report_b, EXCHANGE_B)
    oracles: list[str] = []
    leaks: list[str] = []
    errors: list[str] = []
    tried = 0
    for method, route in routes:
        if route == "/v1/reports/ncmec" and not XSD.exists():
            continue
        names_an_id = any(
            f"{{{name}" in route for name in ("case_id", "report_id", "record_id", "exchange_name")
        )
        for name in A_CREDENTIALS:
            cred = orgs.creds[name]
            with httpx.Client(
                base_url=orgs.url, headers=cred.headers, cookies=cred.cookies, timeout=30
            ) as client:
                got = request_as(client, method, route, cred, _path_values(*b_ids))
                tried += 1
                if got.status_code >= 500:
                    errors.append(f"{method} {route} with {name}: {got.status_code}")
                if names_an_id:
                    missing = request_as(
                        client,
                        method,
                        route,
                        cred,
                        _path_values(MISSING_CASE, MISSING_REPORT, MISSING_EXCHANGE),
                    )
                    same = got.status_code == missing.status_code and _blanked(
                        got.text, *b_ids
                    ) == _blanked(missing.text, MISSING_CASE, MISSING_REPORT, MISSING_EXCHANGE)
                    if not same:
                        oracles.append(
                            f"{method} {route} with {name}: {got.status_code} for B's id, "
                            f"{missing.status_code} for a missing one"
                        )
                # The console's refusal of an earlier post ("no case 'CASE-B-1'", the
                # same as for a missing id) is flashed on the next page: the user's own
                # input, echoed.
                echo = FLASHED_ID.sub("no case <id>", got.text)
                shown = _blanked(got.text, *b_ids) if names_an_id else echo
                found = [s for s in (*SECRETS_B, *b_ids) if s in shown]
                if found:
                    at = shown.find(found[0])
                    leaks.append(f"{method} {route} with {name}: {shown[at - 200 : at + 50]}")
    assert tried > 300  # every route x 7 credentials of organisation A
    assert errors == []
    assert oracles == []
    assert leaks == []
    assert _b_snapshot(orgs.store) == before
    with orgs.store.engine.connect() as conn:
        entries = list(conn.execute(select(audit_log).where(audit_log.c.seq > first_seq)))
        new_b_reports = conn.execute(
            select(func.count())
            .select_from(reports)
            .where(reports.c.org_id == ORG_B, reports.c.submitted_by.like("key:%"))
        ).scalar_one()
    assert entries, "organisation A's requests were audited"
    assert {e.org_id for e in entries} <= {ORG_A, "default"}  # default: anonymous sign-ins
    about_b = [e for e in entries if e.object_id in b_ids or any(i in e.detail for i in b_ids)]
    assert about_b == []
    assert new_b_reports == 1  # only B's own report


def test_the_controls_each_organisation_reads_its_own(orgs: Orgs) -> None:
    with httpx.Client(base_url=orgs.url, cookies=orgs.bea.cookies, timeout=30) as bea:
        case = bea.get(f"/v1/cases/{CASE_B}")
        assert case.status_code == 200 and case.json()["title"] == SECRETS_B[0]
        assert bea.get(f"/v1/reports/{orgs.report_b}").status_code == 200
        assert bea.get(f"/v1/cases/{CASE_A}").status_code == 404
        found = bea.post("/v1/search", json={"kind": "phone", "value": PHONE_B}).json()
        assert CASE_B in found["case_ids"]
        page = bea.get(f"/console/cases/{CASE_B}")
        assert page.status_code == 200 and SECRETS_B[1] in page.text
    with httpx.Client(base_url=orgs.url, cookies=signed_in_as(orgs.url, "bob").cookies) as bob:
        assert B_HOOK in bob.get("/console/deliveries").text
        exchange = bob.get(f"/hma/c/exchange/{EXCHANGE_B}")  # the name the matrix tried
        assert exchange.status_code == 200 and exchange.json()["endpoint"] == B_EXCHANGE_URL
    ana = signed_in_as(orgs.url, "ana")  # the matrix signed the first sessions out
    with httpx.Client(base_url=orgs.url, cookies=ana.cookies, timeout=30) as c:
        assert c.get(f"/v1/cases/{CASE_A}").status_code == 200
        assert c.get(f"/console/cases/{CASE_A}").status_code == 200
        assert c.get(f"/v1/cases/{CASE_B}").status_code == 404
        listed = c.get("/v1/cases").json()
        assert [x["case_id"] for x in listed] == [CASE_A]


def test_reports_sent_with_a_credential_land_in_its_organisation(orgs: Orgs) -> None:
    key = orgs.creds[PLATFORM_KEY].headers
    with httpx.Client(base_url=orgs.url, headers=key, timeout=30) as c:
        sent = c.post("/v1/reports", json=REPORT_B)
    assert sent.status_code == 202
    rid = sent.json()["report_id"]
    with orgs.store.engine.connect() as conn:
        org = conn.execute(select(reports.c.org_id).where(reports.c.report_id == rid)).scalar()
    assert org == ORG_A
    assert orgs.store.reports.get(rid, Actor("bea", Role.ANALYST, org_id=ORG_B)) is None
    # the same account reported in both organisations: two clusters, one in each
    mine = orgs.store.reports.get(rid, Actor("ana", Role.ANALYST, org_id=ORG_A))
    theirs = orgs.store.reports.get(orgs.report_b, Actor("bea", Role.ANALYST, org_id=ORG_B))
    assert mine is not None and theirs is not None
    assert mine.cluster_id != theirs.cluster_id


def test_an_org_admin_learns_of_problems_in_the_chain_but_not_of_other_rows(
    orgs: Orgs,
) -> None:
    with orgs.store.engine.begin() as conn:
        kept = conn.execute(select(cases.c.status).where(cases.c.case_id == CASE_B)).scalar()
        conn.execute(update(cases).where(cases.c.case_id == CASE_B).values(status="closed"))
    try:
        key = orgs.creds[ADMIN_KEY].headers
        with httpx.Client(base_url=orgs.url, headers=key, timeout=30) as c:
            report = c.get("/v1/audit/verify").json()
        assert report["ok"] is False
        assert CASE_B not in repr(report) and "problem(s) found" in report["problems"][0]
        assert any(CASE_B in p for p in orgs.store.audit.verify().problems)  # the operator
    finally:
        with orgs.store.engine.begin() as conn:
            conn.execute(update(cases).where(cases.c.case_id == CASE_B).values(status=kept))
    assert orgs.store.audit.verify().ok


def test_me_names_the_callers_organisation(orgs: Orgs) -> None:
    bea = signed_in_as(orgs.url, "bea")
    ana = signed_in_as(orgs.url, "ana")
    for cred, user, org in ((bea, "bea", ORG_B), (ana, "ana", ORG_A)):
        with httpx.Client(base_url=orgs.url, cookies=cred.cookies, timeout=30) as c:
            me = c.get("/v1/auth/me").json()
        assert me == {"username": user, "role": "analyst", "org_id": org}
    key = orgs.creds[PLATFORM_KEY].headers
    with httpx.Client(base_url=orgs.url, headers=key, timeout=30) as c:
        assert c.get("/v1/auth/me").json()["org_id"] == ORG_A


def test_a_case_of_another_organisation_cannot_be_merged_in_or_split(orgs: Orgs) -> None:
    before = _b_snapshot(orgs.store)
    ana = signed_in_as(orgs.url, "ana")
    with httpx.Client(base_url=orgs.url, cookies=ana.cookies, timeout=30) as c:
        answers = [
            c.post(f"/v1/cases/{CASE_A}/merge", json={"merged_case": other, "reason": "x"})
            for other in (CASE_B, MISSING_CASE)
        ]
        split = c.post(f"/v1/cases/{CASE_B}/split", json={"alert_ids": ["A-1"], "reason": "x"})
    assert [r.status_code for r in answers] == [404, 404]
    assert answers[0].text == answers[1].text
    assert split.status_code == 404
    assert _b_snapshot(orgs.store) == before
