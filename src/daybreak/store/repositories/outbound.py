"""``store.outbound``: the durable state of outbound events (daybreak.connectors.stream_out):
each relay's cursor over the audit log, whose entries are the events, and the webhook
deliveries that failed every retry (the dead-letter list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from daybreak.store.audit import AuditEntry, entry_of, utc
from daybreak.store.auth import MANAGERS, Actor
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import audit_log, outbound_cursors, webhook_dead_letters


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    event_id: str
    url: str
    action: str
    body: str
    attempts: int
    last_error: str
    failed_at: datetime


class OutboundRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def cursor(self, relay: str) -> int:
        """The last audit sequence number ``relay`` finished publishing (0: none)."""
        with self._ctx.reading() as conn:
            seq = conn.execute(
                select(outbound_cursors.c.audit_seq).where(outbound_cursors.c.name == relay)
            ).scalar()
        return int(seq or 0)

    def advance(self, relay: str, seq: int) -> None:
        now = datetime.now(UTC)
        with self._ctx.writing() as conn:
            done = conn.execute(
                update(outbound_cursors)
                .where(outbound_cursors.c.name == relay)
                .values(audit_seq=seq, updated_at=now)
            ).rowcount
            if not done:
                conn.execute(
                    insert(outbound_cursors).values(name=relay, audit_seq=seq, updated_at=now)
                )

    def events_after(self, seq: int, actions: Sequence[str], limit: int) -> list[AuditEntry]:
        """Audit entries after ``seq`` whose action is one of ``actions``, oldest first."""
        q = (
            select(audit_log)
            .where(audit_log.c.seq > seq, audit_log.c.action.in_(list(actions)))
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        with self._ctx.reading() as conn:
            return [entry_of(r) for r in conn.execute(q)]

    def add_dead_letter(
        self, event_id: str, url: str, action: str, body: str, attempts: int, last_error: str
    ) -> None:
        with self._ctx.writing() as conn:
            conn.execute(
                insert(webhook_dead_letters).values(
                    event_id=event_id,
                    url=url,
                    action=action,
                    body=body,
                    attempts=attempts,
                    last_error=last_error[:200],
                    failed_at=datetime.now(UTC),
                )
            )

    def dead_letters(self, actor: Actor, limit: int = 100) -> list[DeadLetter]:
        """The newest webhook deliveries that failed every retry (managers only)."""
        require(actor, MANAGERS, "read the webhook dead letters")
        q = select(webhook_dead_letters).order_by(webhook_dead_letters.c.id.desc()).limit(limit)
        with self._ctx.reading() as conn:
            return [
                DeadLetter(
                    r.id,
                    r.event_id,
                    r.url,
                    r.action,
                    r.body,
                    r.attempts,
                    r.last_error,
                    utc(r.failed_at),
                )
                for r in conn.execute(q)
            ]
