"""Team inboxes in the store: cases sent to a team wait there, unassigned, until a
member takes one; who may send; audited; another organisation's teams are unknown."""

from __future__ import annotations

import pytest
from store_samples import case

from daybreak.model.cases import CaseStatus
from daybreak.store import (
    Actor,
    AuthError,
    CaseFilter,
    PermissionDenied,
    Role,
    TiplineStore,
    WorkflowError,
)

ANA = Actor("ana", Role.ANALYST)
BOB = Actor("bob", Role.ANALYST)
SUE = Actor("sue", Role.SUPERVISOR)


@pytest.fixture
def teams(store: TiplineStore) -> TiplineStore:
    for actor in (ANA, BOB, SUE):
        store.accounts.create(actor.name, "a long analyst password", actor.role)
    store.teams.add("payments", "ana", SUE)
    store.teams.add("hotline", "bob", SUE)
    store.cases.upsert([case(f"C-{i}") for i in range(4)])
    return store


def _inbox(store: TiplineStore, *teams: str) -> list[str]:
    found = store.cases.query(
        SUE, CaseFilter(teams=frozenset(teams), unassigned=True, open_only=True)
    )
    return sorted(c.case_id for c in found)


def test_a_case_sent_to_a_team_waits_in_its_inbox_until_taken(teams: TiplineStore) -> None:
    teams.cases.send_to_team("C-1", "payments", SUE)
    teams.cases.send_to_team("C-2", "payments", SUE)
    teams.cases.send_to_team("C-3", "hotline", SUE)
    assert teams.teams.of("ana", ANA) == ["payments"]
    assert _inbox(teams, "payments") == ["C-1", "C-2"]
    assert _inbox(teams, "hotline") == ["C-3"]
    got = teams.cases.get("C-1", ANA)
    assert got is not None and got.team == "payments"
    teams.cases.transition("C-1", CaseStatus.ASSIGNED, ANA, assignee="ana")  # takes it
    assert _inbox(teams, "payments") == ["C-2"]
    # A rebuild by the case builder keeps the team, as it keeps the workflow.
    teams.cases.upsert([case("C-2", title="rebuilt")])
    assert _inbox(teams, "payments") == ["C-2"]
    trail = [(e.action, e.object_id, e.detail) for e in teams.audit.trail(SUE)]
    assert ("case.team", "C-1", {"from": None, "to": "payments"}) in trail
    assert ("team.add", "payments", {}) in [(a, o, d or {}) for a, o, d in trail]


def test_who_may_send_and_which_teams_exist(teams: TiplineStore) -> None:
    with pytest.raises(WorkflowError, match="no team 'legal'"):
        teams.cases.send_to_team("C-1", "legal", SUE)
    teams.cases.transition("C-1", CaseStatus.ASSIGNED, SUE, assignee="bob")
    with pytest.raises(PermissionDenied, match="only they or a supervisor may send"):
        teams.cases.send_to_team("C-1", "payments", ANA)
    teams.cases.send_to_team("C-0", "hotline", ANA)  # unassigned: ana hands it over
    with pytest.raises(PermissionDenied):
        teams.teams.add("payments", "bob", ANA)  # analysts do not manage teams
    with pytest.raises(AuthError, match="already in team"):
        teams.teams.add("payments", "ana", SUE)
    teams.organisations.create("bank-b", "Bank B")
    other = Actor("root-b", Role.ADMIN, org_id="bank-b")
    assert teams.teams.listing(other) == {}
    with pytest.raises(AuthError, match="no user 'ana' in organisation 'bank-b'"):
        teams.teams.add("payments", "ana", other)
