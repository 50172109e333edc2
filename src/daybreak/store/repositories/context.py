"""What every repository of the store shares: engines, the writer lock, keys, routing.

Every repository method that reads or writes case data names the acting
:class:`~daybreak.store.auth.Actor` and adds an entry to the audit chain in the same
transaction as the read or write itself (:meth:`StoreContext.audited`).

Organisations: a repository works for one organisation at a time, the acting actor's,
through :meth:`StoreContext.keys_of`: that organisation's keyring
(:meth:`~daybreak.store.keys.Keyring.for_org`) seals and opens its fields, computes its
blind indexes, and names the organisation (``keys.org_id``) whose rows the store's
queries read, change and write. A row of another organisation is not found, exactly
like a missing one.
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

    def keys_of(self, actor: Actor) -> Keyring:
        """The keyring of the actor's organisation (see the module's docstring)."""
        return self.keys.for_org(actor.org_id)

    def audit(
        self,
        conn: Connection,
        actor: Actor | str,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry to the audit chain in ``conn``'s transaction, in the
        actor's organisation (a bare name: the default organisation's)."""
        if isinstance(actor, str):
            append_one(conn, self.keys, actor, action, object_type, object_id, detail)
        else:
            keys = self.keys_of(actor)
            append_one(conn, keys, actor.name, action, object_type, object_id, detail)

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
