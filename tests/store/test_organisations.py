"""Organisations: the operator creates them; accounts, API keys and sessions are bound
to their organisation; an organisation's admin manages its own accounts and keys only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_cli import _run, env  # noqa: F401  (the CLI fixture)

from daybreak.store import SYSTEM, Actor, AuthError, PermissionDenied, Role, TiplineStore

PASSWORD = "correct horse battery staple"


@pytest.fixture
def two_orgs(store: TiplineStore) -> TiplineStore:
    store.organisations.create("bank-a", "Bank A")
    store.organisations.create("bank-b", "Bank B")
    store.accounts.create("admin-a", PASSWORD, Role.ADMIN, org_id="bank-a")
    store.accounts.create("admin-b", PASSWORD, Role.ADMIN, org_id="bank-b")
    return store


def test_only_the_operator_creates_organisations(two_orgs: TiplineStore) -> None:
    assert [o.org_id for o in two_orgs.organisations.listing()] == ["bank-a", "bank-b", "default"]
    admin_a = two_orgs.accounts.authenticate("admin-a", PASSWORD)
    assert admin_a is not None
    with pytest.raises(PermissionDenied, match="operator"):
        two_orgs.organisations.create("bank-c", "Bank C", admin_a)
    with pytest.raises(AuthError, match="already exists"):
        two_orgs.organisations.create("bank-a", "again")
    with pytest.raises(AuthError, match="a-z"):
        two_orgs.organisations.create("Bank C!", "bad slug")
    assert any(e.action == "org.create" for e in two_orgs.audit.trail(SYSTEM))


def test_an_org_admin_manages_its_own_organisation_only(two_orgs: TiplineStore) -> None:
    admin_a = two_orgs.accounts.authenticate("admin-a", PASSWORD)
    assert admin_a == Actor("admin-a", Role.ADMIN, org_id="bank-a")
    two_orgs.accounts.create("ana", PASSWORD, Role.ANALYST, admin_a)  # into bank-a
    with pytest.raises(PermissionDenied, match="admin of bank-a may not create users"):
        two_orgs.accounts.create("bob", PASSWORD, Role.ANALYST, admin_a, org_id="bank-b")
    with pytest.raises(PermissionDenied, match="may not create API keys"):
        two_orgs.api_keys.create("platform", Role.PLATFORM, actor=admin_a, org_id="bank-b")
    secret_b = two_orgs.api_keys.create("platform-b", Role.PLATFORM, org_id="bank-b")
    # another organisation's key and users are, to bank-a's admin, unknown ones
    assert two_orgs.api_keys.revoke(secret_b.split("_")[1], admin_a) is False
    assert two_orgs.api_keys.revoke("0123456789abcdef", admin_a) is False
    for change in (
        lambda: two_orgs.accounts.set_disabled("admin-b", True, admin_a),
        lambda: two_orgs.accounts.set_password("admin-b", PASSWORD + "!", admin_a),
        lambda: two_orgs.accounts.set_role("admin-b", Role.ANALYST, admin_a),
        lambda: two_orgs.accounts.revoke("admin-b", admin_a),
    ):
        with pytest.raises(AuthError, match="no user 'admin-b'"):
            change()
    with pytest.raises(AuthError, match="no user 'nobody'"):
        two_orgs.accounts.set_role("nobody", Role.ANALYST, admin_a)
    two_orgs.accounts.set_role("ana", Role.SUPERVISOR, admin_a)  # its own user
    assert two_orgs.api_keys.check(secret_b) is not None
    assert two_orgs.accounts.authenticate("admin-b", PASSWORD) is not None  # untouched
    orgs = {a.username: a.org_id for a in two_orgs.accounts.listing()}
    assert orgs == {"admin-a": "bank-a", "admin-b": "bank-b", "ana": "bank-a"}
    assert {a.username for a in two_orgs.accounts.listing(admin_a)} == {"admin-a", "ana"}
    assert {a.name for a in two_orgs.accounts.active(admin_a)} == {"admin-a", "ana"}


def test_keys_and_sessions_act_in_their_users_organisation(two_orgs: TiplineStore) -> None:
    admin_b = two_orgs.accounts.authenticate("admin-b", PASSWORD)
    assert admin_b is not None
    secret = two_orgs.api_keys.create("platform-b", Role.PLATFORM, actor=admin_b)
    key_actor = two_orgs.api_keys.check(secret)
    assert key_actor is not None and key_actor.org_id == "bank-b"
    token = two_orgs.sessions.start(admin_b)
    assert two_orgs.sessions.check(token) == admin_b
    logged_in = two_orgs.accounts.login("admin-a", PASSWORD)
    assert logged_in is not None and logged_in.org_id == "bank-a"


def test_a_key_cannot_act_for_a_user_of_another_organisation(two_orgs: TiplineStore) -> None:
    with pytest.raises(AuthError, match="not of organisation"):
        two_orgs.api_keys.create("tool", Role.ANALYST, owner="admin-a", org_id="bank-b")
    with pytest.raises(AuthError, match="no organisation"):
        two_orgs.accounts.create("carl", PASSWORD, Role.ANALYST, org_id="nowhere")


def test_the_cli_creates_and_lists_organisations_and_their_users(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    code, text = _run(
        ["admin", "orgs", "create", "hotline-x", "--name", "Hotline X"], env, tmp_path
    )
    assert code == 0, text
    code, text = _run(["admin", "orgs", "list"], env, tmp_path)
    assert re.search(r"hotline-x\s+Hotline X", text) and re.search(r"default\s+default", text)
    code, text = _run(
        ["admin", "users", "create", "xena", "--role", "admin", "--org", "hotline-x"],
        env,
        tmp_path,
        DAYBREAK_NEW_PASSWORD=PASSWORD,
    )
    assert code == 0 and "in hotline-x" in text, text
    code, text = _run(["admin", "users", "list", "--org", "hotline-x"], env, tmp_path)
    assert re.search(r"xena\s+admin\s+active\s+hotline-x", text), text
