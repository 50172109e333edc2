"""``store.throttles``: the token buckets behind rate limits and sign-in throttles.

On SQLite (one machine, the embedded default) a bucket lives in each process's memory
(:class:`~daybreak.store.throttle.RateLimiter`): a database write per request would cost
intake its speed, and SQLite's single writer. On any other database (PostgreSQL) the
buckets are rows of ``rate_buckets``, each request taking a token with ONE atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING``: any number of server processes, on any
number of machines, then enforce one limit per key, analyst or client address. The time
is the database's clock (``clock_timestamp()``), so machines whose clocks differ agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Float, Insert, bindparam, case, delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from daybreak.store.keys import Keyring
from daybreak.store.repositories.context import StoreContext
from daybreak.store.tables import rate_buckets
from daybreak.store.throttle import Limiter, RateLimiter

IDLE_SECONDS = 300.0  # a bucket untouched this long is full again (refill: one minute)
PURGE_EVERY = 60.0  # seconds between deletions of idle buckets, per process


def _upsert(dialect: str, now: ColumnElement[Any]) -> Insert:
    """Take a token from the bucket (created full) if it has one: the refill since the
    last request is added, capped at ``full``; ``allowed`` says whether a token was
    taken. On conflict the SET expressions all read the row as it was."""
    t = rate_buckets.c
    full = bindparam("full", type_=Float)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    elapsed = case((now > t.at, now - t.at), else_=0.0)
    grown = t.tokens + elapsed * bindparam("rate", type_=Float)
    refilled = case((grown > full, full), else_=grown)
    stmt = insert(rate_buckets).values(
        bucket=bindparam("bucket"), tokens=full - 1.0, at=now, allowed=True
    )
    return stmt.on_conflict_do_update(
        index_elements=[t.bucket],
        set_={
            "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
            "at": now,
            "allowed": refilled >= 1.0,
        },
    ).returning(t.tokens, t.allowed)


class SharedRateLimiter:
    """Token buckets in the database, one per (``scope``, client): the
    :class:`~daybreak.store.throttle.Limiter` of several server processes. ``clock``
    (seconds): the database's clock when None on PostgreSQL, else ``time.time``."""

    def __init__(
        self,
        engine: Engine,
        keys: Keyring,
        scope: str,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._scope = scope
        self._pg = engine.dialect.name == "postgresql"
        self._clock = clock if clock is not None or self._pg else time.time
        now: ColumnElement[Any] = (
            bindparam("now", type_=Float)
            if self._clock is not None
            else func.extract("epoch", func.clock_timestamp())
        )
        self._take = _upsert(engine.dialect.name, now)
        self._purge = delete(rate_buckets).where(rate_buckets.c.at < now - IDLE_SECONDS)
        self._purged = time.monotonic()

    def allow(self, who: str, per_minute: int) -> float:
        """0.0 when allowed, else seconds until the next request would be."""
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        # A keyed hash: the table keeps no client address nor key id in clear.
        params: dict[str, Any] = {
            "bucket": self._keys.index(f"rate:{self._scope}:{who}"),
            "full": float(per_minute),
            "rate": rate,
        }
        if self._clock is not None:
            params["now"] = self._clock()
        with self._engine.begin() as conn:
            if self._pg:  # a lost bucket only refills: no need to wait for the WAL flush
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            tokens, allowed = conn.execute(self._take, params).one()
            if time.monotonic() - self._purged > PURGE_EVERY:
                self._purged = time.monotonic()
                conn.execute(self._purge, {k: v for k, v in params.items() if k == "now"})
        return 0.0 if allowed else (1.0 - float(tokens)) / rate


class Throttles:
    """Hands out the limiters of the API and the sign-in guard: shared through the
    database unless it is SQLite (see the module's docstring)."""

    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx
        self.shared = ctx.engine.dialect.name != "sqlite"

    def limiter(
        self,
        scope: str,
        *,
        shared: bool | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Limiter:
        """The limiter of ``scope`` (e.g. ``principal``, ``login-address``); ``shared``
        overrides the choice by database (tests), ``clock`` the time source."""
        if shared if shared is not None else self.shared:
            return SharedRateLimiter(self._ctx.engine, self._ctx.keys, scope, clock)
        return RateLimiter(clock) if clock is not None else RateLimiter()
