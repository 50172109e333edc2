"""What every repository of the store shares: engines, the writer lock, keys, routing.

Every repository method that reads or writes case data names the acting
:class:`~daybreak.store.auth.Actor` and adds an entry to the audit chain: a write in the
same transaction as the write itself (:meth:`StoreContext.audited`); a read through the
group commit of :class:`AuditCommitter` (:meth:`StoreContext.audit_read`), which
returns only once the entry is committed.

Organisations: a repository works for one organisation at a time, the acting actor's,
through :meth:`StoreContext.keys_of`: that organisation's keyring
(:meth:`~daybreak.store.keys.Keyring.for_org`) seals and opens its fields, computes its
blind indexes, and names the organisation (``keys.org_id``) whose rows the store's
queries read, change and write. A row of another organisation is not found, exactly
like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from daybreak.store.audit import PendingEntry, append_entries, append_one
from daybreak.store.auth import Actor, Role
from daybreak.store.db import WriterLock
from daybreak.store.keys import Keyring
from daybreak.store.writer import BatchWriter
from daybreak.tipline.routing import AgencyTable

T = TypeVar("T")


class PermissionDenied(PermissionError):
    pass


def require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    """Refuse ``actor`` unless their role is one of ``roles``."""
    if actor.role not in roles:
        raise PermissionDenied(f"role {actor.role.value} may not {what}")


class AuditCommitter:
    """Group commit of the audit entries of reads. A read used to commit its own
    entry: one fsync per page (22 of the queue's 31 ms on SQLite with
    ``synchronous=FULL``), and with ten analysts at once each waited for the nine commits
    before it. Here one thread appends every entry queued meanwhile in one transaction
    (under the writer lock, like the reports' group commit) and each reader waits for the
    commit holding its entry: same chain, same durability, one fsync per batch."""

    def __init__(self, engine: Engine, writer_lock: WriterLock, max_batch: int = 500) -> None:
        self._engine = engine
        self._lock = writer_lock
        self._writer: BatchWriter[PendingEntry, None] = BatchWriter(
            self._write, max_batch=max_batch, name="daybreak-audit"
        )

    def _write(self, entries: list[PendingEntry]) -> list[Exception | None]:
        with self._lock, self._engine.begin() as conn:
            append_entries(conn, entries)
        return [None] * len(entries)

    def commit(self, entry: PendingEntry) -> None:
        """Append ``entry`` and return once it is committed (raises if it could not be:
        the read it records must then not be answered)."""
        self.submit(entry).result()

    def submit(self, entry: PendingEntry) -> Future[None]:
        """Queue ``entry``; the future resolves once it is committed (an event loop
        awaits it without a thread of its own)."""
        return self._writer.submit(entry)

    @property
    def batches(self) -> tuple[int, int]:
        """(batches committed, entries in them)."""
        return self._writer.batches, self._writer.items

    def close(self) -> None:
        self._writer.close()


@dataclass
class StoreContext:
    """The engines (writes, and reads that need no lock), the lock the group-commit
    writer takes, the keys and the agencies table (routing)."""

    engine: Engine
    read_engine: Engine
    writer_lock: WriterLock
    keys: Keyring
    agencies: AgencyTable
    reads: AuditCommitter

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (the audit chain's head is locked by the first append)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def writing_in_turn(self) -> Iterator[Connection]:
        """A write transaction that, on SQLite, first takes the writer lock of the
        group-commit writers: a small write of every console page (a session's state)
        then waits its turn, instead of in SQLite's busy handler, which polls with
        sleeps of up to 100 ms while a batch commits (a search's p95 of 300-450 ms with
        ten analysts at 100,000 cases). PostgreSQL waits on row locks, not by polling.
        Never call it while holding the writer lock (it is not reentrant)."""
        if self.engine.dialect.name != "sqlite":
            with self.writing() as conn:
                yield conn
            return
        with self.writer_lock, self.writing() as conn:
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

    def audit_read(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Audit a read done on the read connection; returns once the entry is
        committed (call it before handing out what was read)."""
        self.audit_read_later(actor, action, object_type, object_id, detail).result()

    def audit_read_later(
        self,
        actor: Actor,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> Future[None]:
        """:meth:`audit_read` without waiting: the future resolves once the entry is
        committed."""
        entry = PendingEntry(self.keys_of(actor), actor.name, action, object_type, object_id)
        return self.reads.submit(entry if detail is None else replace(entry, detail=detail))

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
