"""``store.outbound``: the durable state of outbound events (daybreak.connectors.stream_out):
each relay's cursor over the audit log, whose entries are the events, and the webhook
deliveries that failed every retry (the dead-letter list)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from daybreak.store.audit import AuditEntry, entry_of, utc
from daybreak.store.auth import MANAGERS, Actor
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import (
    DEFAULT_ORG,
    audit_log,
    of_org,
    outbound_cursors,
    webhook_dead_letters,
)


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

    def events_after(
        self, seq: int, actions: Sequence[str], limit: int, org_id: str = DEFAULT_ORG
    ) -> list[AuditEntry]:
        """``org_id``'s audit entries after ``seq`` whose action is one of ``actions``,
        oldest first."""
        q = (
            select(audit_log)
            .where(
                audit_log.c.seq > seq,
                audit_log.c.action.in_(list(actions)),
                of_org(audit_log, org_id),
            )
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        with self._ctx.reading() as conn:
            return [entry_of(r) for r in conn.execute(q)]

    def add_dead_letter(
        self,
        event_id: str,
        url: str,
        action: str,
        body: str,
        attempts: int,
        last_error: str,
        org_id: str = DEFAULT_ORG,
    ) -> None:
        """Keep a delivery that failed every retry, in the organisation of its event
        (whose managers see it in the console)."""
        with self._ctx.writing() as conn:
            conn.execute(
                insert(webhook_dead_letters).values(
                    org_id=org_id,
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
        """The newest webhook deliveries of the actor's organisation that failed every
        retry (managers only)."""
        require(actor, MANAGERS, "read the webhook dead letters")
        t = webhook_dead_letters
        q = select(t).where(of_org(t, actor.org_id)).order_by(t.c.id.desc()).limit(limit)
        with self._ctx.reading() as conn:
            return [_dead_letter(r) for r in conn.execute(q)]

    def redelivered(self, actor: Actor, letter: DeadLetter) -> None:
        """``letter`` reached its webhook at last: it leaves the list, and the audit trail
        records that it went (the failure itself stays in the trail's history)."""
        require(actor, MANAGERS, "redeliver webhook dead letters")
        t = webhook_dead_letters

        def drop(conn: Connection) -> None:
            conn.execute(delete(t).where(t.c.id == letter.id, of_org(t, actor.org_id)))

        self._ctx.audited(actor, "webhook.redelivered", "event", letter.event_id, drop)

    def failed_again(self, actor: Actor, letter: DeadLetter, attempts: int, error: str) -> None:
        """Another redelivery of ``letter`` failed: it stays, with the attempts added."""
        require(actor, MANAGERS, "redeliver webhook dead letters")
        t = webhook_dead_letters
        with self._ctx.writing() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == letter.id, of_org(t, actor.org_id))
                .values(
                    attempts=letter.attempts + attempts,
                    last_error=error[:200],
                    failed_at=datetime.now(UTC),
                )
            )


def _dead_letter(r: Row[Any]) -> DeadLetter:
    return DeadLetter(
        r.id, r.event_id, r.url, r.action, r.body, r.attempts, r.last_error, utc(r.failed_at)
    )
