"""``store.throttles``: the token buckets behind rate limits and sign-in throttles.

On SQLite (one machine, the embedded default) a bucket lives in each process's memory
(:class:`~daybreak.store.throttle.RateLimiter`): a database write per request would cost
intake its speed, and SQLite's single writer. On any other database (PostgreSQL) the
buckets are rows of ``rate_buckets``, taken from with ONE atomic ``INSERT … ON CONFLICT
DO UPDATE … RETURNING`` in autocommit: any number of server processes, on any number of
machines, then enforce one limit per key, analyst or client address. The time is the
database's clock (``clock_timestamp()``), so machines whose clocks differ agree.

A high limit is taken in small leases: a process takes up to a tenth of a second's worth
of tokens at once (``per_minute // 600``, at most :data:`MAX_LEASE`) and spends them
within :data:`LEASE_SECONDS`, so a key allowed 6,000 requests a minute costs one
database write per 10 requests. Leased tokens come out of the shared bucket, so all
processes together never exceed the limit (an unspent lease expires unused); limits
under 1,200 a minute (sign-ins, analysts) take one token at a time, exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Float, Insert, Integer, bindparam, case, delete, func
from sqlalchemy.sql.elements import ColumnElement

from daybreak.store.keys import Keyring
from daybreak.store.repositories.context import StoreContext
from daybreak.store.tables import rate_buckets
from daybreak.store.throttle import Limiter, RateLimiter

IDLE_SECONDS = 300.0  # a bucket untouched this long is full again (refill: one minute)
PURGE_EVERY = 60.0  # seconds between deletions of idle buckets, per process
MAX_LEASE = 50  # tokens taken from a shared bucket at once, at most
LEASE_SECONDS = 1.0  # a lease not spent within this is dropped (its tokens unused)


def lease_size(per_minute: int) -> int:
    """Tokens a process takes at once for a limit of ``per_minute``: a tenth of a
    second's worth, at least 1, at most :data:`MAX_LEASE`."""
    return max(1, min(MAX_LEASE, per_minute // 600))


def _upsert(dialect: str, now: ColumnElement[Any]) -> Insert:
    """Take up to ``lease`` tokens from the bucket (created full): the refill since the
    last take is added, capped at ``full``; ``granted`` is what was taken (the lease,
    else one token, else none). On conflict the SET expressions read the row as it was."""
    # Imported here: a SQLite store (which keeps buckets in memory) never loads the
    # PostgreSQL dialect, and a server starts that much sooner.
    from sqlalchemy.dialects import postgresql, sqlite

    t = rate_buckets.c
    full = bindparam("full", type_=Float)
    lease = bindparam("lease", type_=Integer)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    elapsed = case((now > t.at, now - t.at), else_=0.0)
    grown = t.tokens + elapsed * bindparam("rate", type_=Float)
    refilled = case((grown > full, full), else_=grown)
    granted = case((refilled >= lease, lease), (refilled >= 1.0, 1), else_=0)
    stmt = insert(rate_buckets).values(
        bucket=bindparam("bucket"), tokens=full - lease, at=now, granted=lease
    )
    return stmt.on_conflict_do_update(
        index_elements=[t.bucket],
        set_={"tokens": refilled - granted, "at": now, "granted": granted},
    ).returning(t.tokens, t.granted)


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
        self._leases: dict[str, tuple[int, float]] = {}  # who -> (tokens left, taken at)
        self._lock = threading.Lock()

    def allow(self, who: str, per_minute: int, burst: int | None = None) -> float:
        """0.0 when allowed, else seconds until the next request would be. A bucket
        with a ``burst`` smaller than ``per_minute`` is taken one token at a time."""
        if per_minute <= 0:
            return 0.0
        if self._spend_leased(who):
            return 0.0
        rate = per_minute / 60.0
        lease = 1 if burst else lease_size(per_minute)
        # A keyed hash: the table keeps no client address nor key id in clear.
        params: dict[str, Any] = {
            "bucket": self._keys.index(f"rate:{self._scope}:{who}"),
            "full": float(burst or per_minute),
            "rate": rate,
            "lease": lease,
        }
        if self._clock is not None:
            params["now"] = self._clock()
        with self._connect() as conn:
            tokens, granted = conn.execute(self._take, params).one()
            if time.monotonic() - self._purged > PURGE_EVERY:
                self._purged = time.monotonic()
                conn.execute(self._purge, {k: v for k, v in params.items() if k == "now"})
        if granted > 1:
            with self._lock:
                self._leases[who] = (int(granted) - 1, time.monotonic())
        return 0.0 if granted else (1.0 - float(tokens)) / rate

    def _spend_leased(self, who: str) -> bool:
        """Take a token this process leased earlier (and has not let expire)."""
        with self._lock:
            left, taken = self._leases.get(who, (0, 0.0))
            if left <= 0 or time.monotonic() - taken > LEASE_SECONDS:
                self._leases.pop(who, None)
                return False
            self._leases[who] = (left - 1, taken)
            return True

    def _connect(self) -> Any:
        """PostgreSQL: a connection in autocommit, so taking tokens is one round trip
        (no BEGIN, no COMMIT; the statement is atomic by itself, and a table that is
        UNLOGGED writes no WAL to wait for). SQLite (tests): a write transaction."""
        if self._pg:
            return self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._engine.begin()


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
