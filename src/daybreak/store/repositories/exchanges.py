"""``store.exchanges``: the hash exchanges an organisation syncs banks from (NCMEC hash
sharing, Meta ThreatExchange, StopNCII; :mod:`daybreak.connectors.hash_exchange`), their
checkpoints, what each exchange item put in its bank, and the analysts' opinions waiting
to go back to the exchange. Every read and change is scoped to the actor's organisation;
adding, removing and syncing exchanges needs a manager's role and is audited."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, text, update

from daybreak.media.banks import check_bank_name
from daybreak.store.audit import utc
from daybreak.store.auth import CASE_READERS, MANAGERS, Actor
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import (
    media_exchange_items,
    media_exchange_opinions,
    media_exchanges,
    of_org,
)

AUDIT_TYPE = "hash_exchange"
VERDICTS = ("seen", "true_positive", "false_positive")
QUEUED, SENT, DEAD, UNSUPPORTED = "queued", "sent", "dead", "unsupported"


class ExchangeError(ValueError):
    """A bad exchange name or setting (the message names it)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    name: str
    api: str
    bank: str
    config: dict[str, Any]  # the API's collaboration settings (never a secret)
    credentials_env: str  # the environment variable holding the credentials
    credentials_file: str  # or the secret file ("" when none)
    checkpoint: str | None  # the exchange client's checkpoint as JSON (None: from the start)
    bank_current: bool  # False: a sync stored pages whose bank changes may not be written
    enabled: bool
    created_at: datetime
    synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class FetchState:
    """Where an exchange's syncing stands (HMA's ``FetchStatus``, without the
    checkpoint's time, which only the exchange's client can read)."""

    started_at: datetime | None  # the start of the sync running now (None: none runs)
    ended_at: datetime | None  # the end of the last sync
    succeeded: bool | None  # whether it succeeded (None: never synced)
    items: int  # the exchange items stored (each listing one or more hashes)


@dataclass(frozen=True, slots=True)
class ItemHash:
    """One hash an exchange item lists, and what an opinion about it names there."""

    hash_type: str
    hash: str
    ref: str


@dataclass(frozen=True, slots=True)
class PageChanges:
    """What applying a page of exchange updates changes in the bank."""

    added: list[tuple[str, str]]  # (hash_type, hash) no item listed before
    removed: list[tuple[str, str]]  # listed before, by no item any more
    updated: int  # items added or changed
    deleted: int  # items the exchange deleted


@dataclass(frozen=True, slots=True)
class Opinion:
    id: int
    exchange: str
    hash_type: str
    hash: str
    verdict: str
    case_id: str
    actor: str
    state: str
    attempts: int
    last_error: str
    created_at: datetime


def _exchange(r: Row[Any]) -> Exchange:
    return Exchange(
        r.name, r.api, r.bank, json.loads(r.config), r.credentials_env, r.credentials_file,
        r.checkpoint, r.bank_current, r.enabled, utc(r.created_at), utc(r.synced_at) if r.synced_at else None,
    )  # fmt: skip


def _opinion(r: Row[Any]) -> Opinion:
    return Opinion(
        r.id, r.exchange, r.hash_type, r.hash, r.verdict, r.case_id, r.actor, r.state,
        r.attempts, r.last_error, utc(r.created_at),
    )  # fmt: skip


# A block of a sync staged for comparison with the stored items (temporary tables: each
# connection has its own, emptied before each use; SQLite and PostgreSQL alike).
_BLOCK_KEYS, _BLOCK_ROWS = "exchange_block_keys", "exchange_block_rows"
_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BLOCK_KEYS} (item_key VARCHAR(400) PRIMARY KEY)",
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_BLOCK_ROWS} (item_key VARCHAR(400), "
    "hash_type VARCHAR(40), hash VARCHAR(200), ref VARCHAR(200))",
    f"DELETE FROM {_BLOCK_KEYS}",
    f"DELETE FROM {_BLOCK_ROWS}",
)
_MINE = "i.org_id = :org AND i.exchange = :exchange"
_IN_BLOCK = f"i.item_key IN (SELECT item_key FROM {_BLOCK_KEYS})"
# the stored items the block replaces
_OLD_ITEMS = text(f"SELECT i.item_key, i.hash_type, i.hash FROM media_exchange_items i "
                  f"WHERE {_MINE} AND {_IN_BLOCK}")  # fmt: skip
# the block's hashes (old and new) that an item outside the block lists
# (driven from the block's hashes, each looked up in the hash index: CROSS JOIN keeps
# SQLite from scanning the organisation's every item instead, a sync made quadratic)
_LISTED_ELSEWHERE = text(
    "SELECT DISTINCT i.hash_type, i.hash FROM ("
    f"SELECT hash_type, hash FROM {_BLOCK_ROWS} UNION "
    f"SELECT i.hash_type, i.hash FROM media_exchange_items i WHERE {_MINE} AND {_IN_BLOCK}"
    ") h CROSS JOIN media_exchange_items i WHERE i.org_id = :org "
    "AND i.hash_type = h.hash_type AND i.hash = h.hash AND i.exchange = :exchange "
    f"AND NOT {_IN_BLOCK}"
)
_DROP_ITEMS = text(f"DELETE FROM media_exchange_items WHERE org_id = :org AND exchange = :exchange "
                   f"AND item_key IN (SELECT item_key FROM {_BLOCK_KEYS})")  # fmt: skip
_MOVE_ROWS = text(
    "INSERT INTO media_exchange_items (org_id, exchange, item_key, hash_type, hash, ref) "
    f"SELECT :org, :exchange, item_key, hash_type, hash, ref FROM {_BLOCK_ROWS} "
    "ORDER BY hash_type, hash"  # index pages filled in order, not at random
)


def _stage(
    conn: Connection, keys: Sequence[str], rows: Sequence[tuple[str, str, str, str]]
) -> None:
    """Put a block's keys and rows in the staging tables, through the driver's own
    executemany (no per-row parameter processing: tens of thousands of rows)."""
    for statement in _STAGING:
        conn.exec_driver_sql(statement)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    if keys:
        conn.exec_driver_sql(
            f"INSERT INTO {_BLOCK_KEYS} VALUES ({mark})", [(k,) for k in sorted(keys)]
        )
    if rows:
        values = ", ".join([mark] * 4)
        conn.exec_driver_sql(f"INSERT INTO {_BLOCK_ROWS} VALUES ({values})", list(rows))


class ExchangeRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    # -- exchanges --------------------------------------------------------------------

    def add(
        self,
        actor: Actor,
        name: str,
        api: str,
        bank: str,
        config: Mapping[str, Any],
        credentials_env: str,
        credentials_file: str = "",
    ) -> Exchange:
        """Register an exchange that fills ``bank`` (audited; managers only)."""
        require(actor, MANAGERS, "add hash exchanges")
        check_bank_name(name, "exchange name")
        check_bank_name(bank)
        t = media_exchanges
        row = {
            "org_id": actor.org_id,
            "name": name,
            "api": api,
            "bank": bank,
            "config": json.dumps(dict(config), sort_keys=True),
            "credentials_env": credentials_env,
            "credentials_file": credentials_file,
            "checkpoint": None,
            "bank_current": True,
            "enabled": True,
            "created_at": datetime.now(UTC),
        }
        with self._ctx.writing() as conn:
            taken = conn.execute(select(t.c.id).where(of_org(t, actor.org_id), t.c.name == name))
            if taken.first() is not None:
                raise ExchangeError(f"an exchange named {name!r} exists already")
            conn.execute(insert(t).values(**row))
            detail = {"api": api, "bank": bank, "config": dict(config)}
            self._ctx.audit(conn, actor, "exchange.add", AUDIT_TYPE, name, detail)
        return self.get(actor, name)

    def get(self, actor: Actor, name: str) -> Exchange:
        t = media_exchanges
        with self._ctx.reading() as conn:
            row = conn.execute(select(t).where(of_org(t, actor.org_id), t.c.name == name)).first()
        if row is None:
            known = ", ".join(e.name for e in self.all(actor)) or "none"
            raise ExchangeError(f"no exchange named {name!r} (known: {known})")
        return _exchange(row)

    def all(self, actor: Actor) -> list[Exchange]:
        t = media_exchanges
        with self._ctx.reading() as conn:
            rows = conn.execute(select(t).where(of_org(t, actor.org_id)).order_by(t.c.name))
            return [_exchange(r) for r in rows]

    def set_enabled(self, actor: Actor, name: str, enabled: bool) -> Exchange:
        """Sync the exchange with the others (``sync`` without names) or not (audited;
        managers only)."""
        require(actor, MANAGERS, "change hash exchanges")
        if self.get(actor, name).enabled != enabled:
            with self._ctx.writing() as conn:
                self._set(conn, actor.org_id, name, enabled=enabled)
                action = "exchange.enable" if enabled else "exchange.disable"
                self._ctx.audit(conn, actor, action, AUDIT_TYPE, name)
        return self.get(actor, name)

    def record_credentials(self, actor: Actor, api: str, given: bool) -> None:
        """Audit that an API's credentials were set (``given``) or removed (never the
        values; managers only)."""
        require(actor, MANAGERS, "set exchange credentials")
        action = "exchange.credentials_set" if given else "exchange.credentials_removed"
        with self._ctx.writing() as conn:
            self._ctx.audit(conn, actor, action, AUDIT_TYPE, api)

    def remove(self, actor: Actor, name: str) -> None:
        """Forget an exchange, its items and its unsent opinions (the bank stays)."""
        require(actor, MANAGERS, "remove hash exchanges")
        self.get(actor, name)
        org = actor.org_id
        with self._ctx.writing() as conn:
            ex = media_exchanges
            conn.execute(delete(ex).where(of_org(ex, org), ex.c.name == name))
            for t in (media_exchange_items, media_exchange_opinions):
                conn.execute(delete(t).where(of_org(t, org), t.c.exchange == name))
            self._ctx.audit(conn, actor, "exchange.remove", AUDIT_TYPE, name)

    # -- syncing ----------------------------------------------------------------------

    def store_block(
        self,
        actor: Actor,
        name: str,
        updates: Mapping[str, Sequence[ItemHash] | None],
        checkpoint: str,
    ) -> PageChanges:
        """Replace the listed items by ``updates`` (None: deleted) and store the
        checkpoint after them, in one transaction; returns what that changes in the
        bank: hashes no other item listed before, and hashes no item lists after.

        The block's keys and rows are staged in temporary tables and compared with the
        stored items in SQL (one join each, not a query per few hundred keys), then
        moved in with one INSERT ... SELECT: a sync stores tens of thousands of items
        per transaction (docs/detectors/media.md, "An exchange sync end to end")."""
        require(actor, MANAGERS, "sync hash exchanges")
        org = actor.org_id
        rows = [
            (key, i.hash_type, i.hash, i.ref) for key, items in updates.items() for i in items or ()
        ]
        with self._ctx.writing() as conn:
            _stage(conn, list(updates), rows)
            where = {"org": org, "exchange": name}
            old = conn.execute(_OLD_ITEMS, where).all()
            elsewhere = {(r.hash_type, r.hash) for r in conn.execute(_LISTED_ELSEWHERE, where)}
            if old:
                conn.execute(_DROP_ITEMS, where)
            if rows:
                conn.execute(_MOVE_ROWS, where)
            self._set(conn, org, name, checkpoint=checkpoint, bank_current=False)
        before = {(r.hash_type, r.hash) for r in old}
        after = {(t, h) for _, t, h, _ in rows}
        had = {r.item_key for r in old}
        return PageChanges(
            added=sorted(after - before - elsewhere),
            removed=sorted(before - after - elsewhere),
            updated=sum(1 for v in updates.values() if v is not None),
            deleted=sum(1 for k, v in updates.items() if v is None and k in had),
        )

    def commit_page(
        self,
        actor: Actor,
        name: str,
        updates: Mapping[str, Sequence[ItemHash] | None],
        checkpoint: str,
    ) -> None:
        """:meth:`store_block` without the bank changes."""
        self.store_block(actor, name, updates, checkpoint)

    def bank_written(self, actor: Actor, name: str) -> None:
        """The bank holds every change of the stored pages."""
        with self._ctx.writing() as conn:
            self._set(conn, actor.org_id, name, bank_current=True)

    def listed(self, actor: Actor, name: str) -> set[tuple[str, str]]:
        """Every (hash type, hash) an item of the exchange lists."""
        t = media_exchange_items
        q = select(t.c.hash_type, t.c.hash).where(of_org(t, actor.org_id), t.c.exchange == name)
        with self._ctx.reading() as conn:
            return {(r.hash_type, r.hash) for r in conn.execute(q.distinct())}

    def _set(self, conn: Connection, org: str, name: str, **values: Any) -> None:
        t = media_exchanges
        conn.execute(update(t).where(of_org(t, org), t.c.name == name).values(**values))

    def reset(self, actor: Actor, name: str) -> None:
        """Start the next sync from the beginning (a stale checkpoint), audited."""
        require(actor, MANAGERS, "sync hash exchanges")
        with self._ctx.writing() as conn:
            self._set(conn, actor.org_id, name, checkpoint=None)
            self._ctx.audit(conn, actor, "exchange.reset", AUDIT_TYPE, name)

    def fetch_started(self, actor: Actor, name: str) -> None:
        """A sync of the exchange starts now (its status shows it running)."""
        require(actor, MANAGERS, "sync hash exchanges")
        with self._ctx.writing() as conn:
            self._set(conn, actor.org_id, name, fetch_started_at=datetime.now(UTC))

    def record_sync(self, actor: Actor, name: str, detail: dict[str, Any]) -> None:
        """The end of a sync: audited with its counts (and the error that stopped it,
        if any), kept as the exchange's fetch status."""
        now, ok = datetime.now(UTC), "error" not in detail
        with self._ctx.writing() as conn:
            if ok:
                self._set(conn, actor.org_id, name, synced_at=now)
            self._set(conn, actor.org_id, name, fetch_started_at=None, fetch_ended_at=now,
                      fetch_succeeded=ok)  # fmt: skip
            self._ctx.audit(conn, actor, "exchange.sync", AUDIT_TYPE, name, detail)

    def fetch_state(self, actor: Actor, name: str) -> FetchState:
        self.get(actor, name)
        ex, items = media_exchanges, media_exchange_items
        count = select(func.count(func.distinct(items.c.item_key))).where(
            of_org(items, actor.org_id), items.c.exchange == name
        )
        with self._ctx.reading() as conn:
            row = conn.execute(
                select(ex.c.fetch_started_at, ex.c.fetch_ended_at, ex.c.fetch_succeeded).where(
                    of_org(ex, actor.org_id), ex.c.name == name
                )
            ).one()
            stored = int(conn.execute(count).scalar_one())
        return FetchState(
            utc(row.fetch_started_at) if row.fetch_started_at else None,
            utc(row.fetch_ended_at) if row.fetch_ended_at else None,
            row.fetch_succeeded,
            stored,
        )

    def refs(self, actor: Actor, hash_type: str, hash_value: str) -> list[tuple[str, str]]:
        """(exchange, ref) of every exchange item of the organisation listing the hash."""
        t = media_exchange_items
        q = select(t.c.exchange, t.c.ref).where(
            of_org(t, actor.org_id), t.c.hash_type == hash_type, t.c.hash == hash_value
        )
        with self._ctx.reading() as conn:
            return sorted({(r.exchange, r.ref) for r in conn.execute(q)})

    # -- opinions ---------------------------------------------------------------------

    def queue_opinion(
        self, actor: Actor, hash_type: str, hash_value: str, verdict: str, case_id: str = ""
    ) -> list[str]:
        """Queue ``verdict`` on a listed hash for every exchange that listed it (once per
        case: the same verdict of the same case is not queued again); returns those
        exchanges (none: the hash came from no exchange, or all have it). Audited."""
        require(actor, CASE_READERS, "give opinions on hash matches")
        if verdict not in VERDICTS:
            raise ExchangeError(f"verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
        listed = {e for e, _ in self.refs(actor, hash_type, hash_value)}
        exchanges = sorted(
            listed - self._queued_before(actor, hash_type, hash_value, verdict, case_id)
        )
        now = datetime.now(UTC)
        rows = [
            {"org_id": actor.org_id, "exchange": e, "hash_type": hash_type, "hash": hash_value,
             "verdict": verdict, "case_id": case_id[:80], "actor": actor.name[:80],
             "state": QUEUED, "attempts": 0, "last_error": "", "created_at": now, "next_at": now}
            for e in exchanges
        ]  # fmt: skip
        if rows:
            with self._ctx.writing() as conn:
                conn.execute(insert(media_exchange_opinions), rows)
                detail = {"hash_type": hash_type, "hash": hash_value, "verdict": verdict,
                          "case_id": case_id, "exchanges": exchanges}  # fmt: skip
                # about the case when there is one: its history shows the analyst's verdict
                about = case_id[:80] or ",".join(exchanges)
                self._ctx.audit(conn, actor, "exchange.opinion", AUDIT_TYPE, about, detail)
        return exchanges

    def _queued_before(
        self, actor: Actor, hash_type: str, hash_value: str, verdict: str, case_id: str
    ) -> set[str]:
        """The exchanges that already have this verdict of this case on this hash."""
        t = media_exchange_opinions
        q = select(t.c.exchange).where(
            of_org(t, actor.org_id), t.c.hash_type == hash_type, t.c.hash == hash_value,
            t.c.verdict == verdict, t.c.case_id == case_id[:80],
        )  # fmt: skip
        with self._ctx.reading() as conn:
            return set(conn.execute(q).scalars())

    def opinions(
        self,
        actor: Actor,
        state: str | None = None,
        due_at: datetime | None = None,
        case_id: str | None = None,
    ) -> list[Opinion]:
        """The organisation's opinions (in a ``state``; ``due_at``: the queued ones whose
        retry time has come by then; of one case), oldest first."""
        t = media_exchange_opinions
        q = select(t).where(of_org(t, actor.org_id))
        if case_id is not None:
            q = q.where(t.c.case_id == case_id[:80])
        if state is not None:
            q = q.where(t.c.state == state)
        if due_at is not None:
            q = q.where(t.c.state == QUEUED, t.c.next_at <= due_at)
        with self._ctx.reading() as conn:
            return [_opinion(r) for r in conn.execute(q.order_by(t.c.id))]

    def opinion_done(
        self,
        actor: Actor,
        opinion: Opinion,
        state: str,
        error: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        """Record a delivery attempt: ``sent``, ``unsupported``, ``queued`` again (a
        failure to retry at ``retry_at``) or ``dead`` (failed too often). Audited."""
        t, now = media_exchange_opinions, datetime.now(UTC)
        values: dict[str, Any] = {"state": state, "attempts": opinion.attempts + 1,
                                  "last_error": error[:200], "next_at": retry_at or now}  # fmt: skip
        if state == SENT:
            values["sent_at"] = now
        with self._ctx.writing() as conn:
            conn.execute(
                update(t).where(of_org(t, actor.org_id), t.c.id == opinion.id).values(**values)
            )
            detail = {"opinion": opinion.id, "verdict": opinion.verdict, "state": state,
                      "attempts": opinion.attempts + 1, "error": error[:200]}  # fmt: skip
            self._ctx.audit(conn, actor, f"exchange.opinion_{state}", AUDIT_TYPE, opinion.exchange, detail)  # fmt: skip

    def requeue(self, actor: Actor, opinion_id: int) -> None:
        """Put a dead-lettered opinion back in the queue (managers only)."""
        require(actor, MANAGERS, "requeue exchange opinions")
        t = media_exchange_opinions
        with self._ctx.writing() as conn:
            conn.execute(
                update(t)
                .where(of_org(t, actor.org_id), t.c.id == opinion_id, t.c.state == DEAD)
                .values(state=QUEUED, attempts=0, next_at=datetime.now(UTC))
            )
            self._ctx.audit(conn, actor, "exchange.opinion_requeued", AUDIT_TYPE, str(opinion_id))
