"""Graph node keys: one string ``kind:value`` per entity, the same in every source.

A beneficiary (``transactions.receiver_id``) and a payment handle named in a report are
the same node, ``payment_handle:<provider>:<account>``, so the two link exactly.
"""

from __future__ import annotations

from daybreak.model.identifiers import IdentifierError, IdentifierKind, identifier_type

# Node kinds that are records rather than identifiers.
CUSTOMER = IdentifierKind.CUSTOMER.value
REPORT = "report"
MEDIA = "media"
HASH = "hash"
PAYMENT_HANDLE = IdentifierKind.PAYMENT_HANDLE.value
ACCOUNT = IdentifierKind.ACCOUNT.value


class NodeKeyError(ValueError):
    """A subject or identifier that cannot be turned into a node key."""


def make_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def split_key(key: str) -> tuple[str, str]:
    kind, sep, value = key.partition(":")
    if not sep or not kind or not value:
        raise NodeKeyError(f"not a 'kind:value' node key: {key!r}")
    return kind, value


def identifier_key(kind: str, raw: str) -> str:
    """The node key of an identifier after normalisation (raises IdentifierError, or
    ValueError for an unknown kind): its kind's :class:`IdentifierType` decides."""
    return identifier_type(kind).node_key(raw)


def customer_key(customer_id: str) -> str:
    return identifier_key(IdentifierKind.CUSTOMER, customer_id)


def beneficiary_key(receiver_id: str) -> str:
    return identifier_key(IdentifierKind.PAYMENT_HANDLE, receiver_id)


def account_key(service: str, account_id: str) -> str:
    return identifier_key(IdentifierKind.ACCOUNT, f"{service}:{account_id}")


def subject_key(subject_type: str, subject_id: str) -> str:
    """The node an alert's subject stands for.

    ``entity`` subjects already carry a ``kind:value`` key (re-normalised here)."""
    try:
        match subject_type:
            case "customer" | "beneficiary" | "account":  # identifier kinds themselves
                return identifier_key(subject_type, subject_id)
            case "report":
                return make_key(REPORT, subject_id.strip())
            case "media":
                return make_key(MEDIA, subject_id.strip())
            case "entity":
                kind, value = split_key(subject_id)
                if kind in (CUSTOMER, REPORT, MEDIA, HASH):
                    return make_key(kind, value.strip())
                return identifier_key(kind, value)
    except (IdentifierError, ValueError) as exc:
        raise NodeKeyError(f"alert subject {subject_type}:{subject_id!r}: {exc}") from exc
    raise NodeKeyError(f"unknown alert subject_type {subject_type!r}")
