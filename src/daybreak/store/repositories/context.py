"""What every repository of the store shares: engines, the writer lock, keys, routing.

Every repository method that reads or writes case data names the acting
:class:`~daybreak.store.auth.Actor` and adds an entry to the audit chain in the same
transaction as the read or write itself (:meth:`StoreContext.audited`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from daybreak.store.audit import append_one
from daybreak.store.auth import Actor, Role
from daybreak.store.db import WriterLock
from daybreak.store.keys import Keyring
from daybreak.tipline.routing import AgencyTable

T = TypeVar("T")


class PermissionDenied(PermissionError):
    pass


def require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    """Refuse ``actor`` unless their role is one of ``roles``."""
    if actor.role not in roles:
        raise PermissionDenied(f"role {actor.role.value} may not {what}")


@dataclass
class StoreContext:
    """The engines (writes, and reads that need no lock), the lock the group-commit
    writer takes, the keys and the agencies table (routing)."""

    engine: Engine
    read_engine: Engine
    writer_lock: WriterLock
    keys: Keyring
    agencies: AgencyTable

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (the audit chain's head is locked by the first append)."""
        with self.engine.begin() as conn:
            yield conn

    def reading(self) -> Any:
        """A connection of the read engine (no transaction that blocks writers)."""
        return self.read_engine.connect()

    def audit(
        self,
        conn: Connection,
        actor: Actor | str,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit chain in ``conn``'s transaction."""
        name = actor if isinstance(actor, str) else actor.name
        append_one(conn, self.keys, name, action, object_type, object_id, detail)

    def audited(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: str,
        write: Callable[[Connection], T],
    ) -> T:
        """Run ``write`` and audit it as ``action`` on the object, in one transaction."""
        with self.writing() as conn:
            result = write(conn)
            self.audit(conn, actor, action, object_type, object_id)
        return result
