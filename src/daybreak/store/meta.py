"""Named values the store keeps about itself (``store_meta``): versions of upgrades."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from daybreak.store.tables import store_meta

ROW_BINDING = "row_binding"  # "1": ciphertexts bound to their rows, row MACs written
AUDIT_LEGACY_UNTIL = "audit_legacy_until"  # last audit entry keyed from the field key
FIELD_KEY_CHECK = "field_key_check"  # Keyring.field_key_check() of the key since a rotation
CASES_DELETED = "cases_deleted"  # cases ever deleted (part of daybreak.store.cases.version)


def get(conn: Connection, name: str) -> str | None:
    value = conn.execute(select(store_meta.c.value).where(store_meta.c.name == name)).scalar()
    return None if value is None else str(value)


def put(conn: Connection, name: str, value: str) -> None:
    conn.execute(delete(store_meta).where(store_meta.c.name == name))
    conn.execute(insert(store_meta).values(name=name, value=value))


def add(conn: Connection, name: str, amount: int) -> None:
    """Add ``amount`` to the number kept under ``name`` (0 when not kept yet)."""
    put(conn, name, str(int(get(conn, name) or 0) + amount))
