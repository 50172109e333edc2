"""Per-organisation field keys: derived from the field key and the org id, audit shared."""

from __future__ import annotations

import pytest

from daybreak.store.keys import KeyError_, Keyring, bound, generate_key


@pytest.fixture
def deployment() -> Keyring:
    return Keyring.from_text(generate_key(), audit=generate_key())


def test_a_row_of_one_organisation_does_not_decrypt_with_another_ones_keys(
    deployment: Keyring,
) -> None:
    a, b = deployment.for_org("bank-a"), deployment.for_org("bank-b")
    context = bound("reports.payload_enc", "R-1")
    sealed = a.encrypt_text("a report of bank A", context)
    assert a.decrypt_text(sealed, context) == "a report of bank A"
    for other in (b, deployment):
        with pytest.raises(KeyError_, match="wrong key or tampered"):
            other.decrypt_text(sealed, context)


def test_blind_indexes_differ_per_organisation_so_identifiers_never_join(
    deployment: Keyring,
) -> None:
    key = "phone:+639171234567"
    indexes = {deployment.for_org(o).index(key) for o in ("default", "bank-a", "bank-b")}
    assert len(indexes) == 3


def test_the_default_organisation_keeps_the_deployment_keys(deployment: Keyring) -> None:
    """Rows stored before organisations existed belong to "default" and still decrypt."""
    assert deployment.for_org("default") is deployment
    a = deployment.for_org("bank-a")
    assert a.for_org("default") is deployment  # asked from an organisation's keyring too
    assert a.for_org("bank-a") is a


def test_the_audit_keys_are_the_deployments_for_every_organisation(
    deployment: Keyring,
) -> None:
    """One audit chain for the whole deployment: `audit verify` checks every entry."""
    a = deployment.for_org("bank-a")
    assert a.audit_mac("0" * 64, "body") == deployment.audit_mac("0" * 64, "body")
    assert a.row_mac("row") == deployment.row_mac("row")


def test_the_same_field_key_derives_the_same_organisation_keys() -> None:
    field, audit = generate_key(), generate_key()
    one = Keyring.from_text(field, audit=audit).for_org("bank-a")
    two = Keyring.from_text(field, audit=audit).for_org("bank-a")
    context = bound("cases.body_enc", "C-1")
    assert two.decrypt_text(one.encrypt_text("case", context), context) == "case"
