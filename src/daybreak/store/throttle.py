"""Throttles: token buckets, and the guard in front of password checks.

:class:`RateLimiter` keeps its buckets in one process's memory (SQLite deployments:
``serve --workers N`` has N of each); on PostgreSQL the store hands out limiters whose
buckets every process shares (:mod:`daybreak.store.repositories.throttles`). The sign-in
lockout is always kept in the store (``users.failed_logins``, ``users.locked_until``;
see :mod:`daybreak.store.auth`). The hashing budget (password checks a minute, for all
addresses together) is such a limiter too: shared by every process on PostgreSQL. The cap
on concurrent password checks stays per process: it guards that machine's CPU.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")
HASHING_NICE = 19  # the password checks' CPU priority: only what report intake leaves

ADDRESS_TARPIT_SECONDS = 1.0  # answer to a client over its sign-in limit after this
# Answer a sign-in refused by the hashing budget or the cap on concurrent checks after
# this: the refusal is decided at once, without hashing or queueing, but a flooding
# connection then waits (a sleeping coroutine, no thread) instead of sending its next
# attempt straight away (benchmarks/login_flood.py: without the pause, 8 connections
# sent 450 refused sign-ins a second and tripled the server's CPU per report). (A locked account's refusal
# needs no pause: the budget has already bounded how many attempts reach it.)
REFUSAL_TARPIT_SECONDS = 1.0
BUDGET_KEY = "all"  # the hashing budget is one bucket for every address
BUDGET_BURST_SECONDS = 5  # the budget's bucket holds this many seconds' worth
REFUSALS_AUDITED_EVERY = 60.0  # seconds: refused sign-ins are audited as one tally
MAX_BUCKETS = 50_000  # tracked clients before full (idle) buckets are dropped


class Limiter(Protocol):
    """A rate limit per client: :class:`RateLimiter` (this process) or the store's
    shared one (:class:`~daybreak.store.repositories.throttles.SharedRateLimiter`)."""

    def allow(self, who: str, per_minute: int, burst: int | None = None) -> float:
        """0.0 when allowed, else seconds until the next request would be. The bucket
        holds ``burst`` tokens (default: ``per_minute``)."""
        ...


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token bucket per key: ``per_minute`` requests a minute, bursts up to the same
    (or to ``burst``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def allow(self, who: str, per_minute: int, burst: int | None = None) -> float:
        """0.0 when allowed, else seconds until the next request would be."""
        if per_minute <= 0:
            return 0.0
        now = self._clock()
        rate = per_minute / 60.0
        size = float(burst or per_minute)
        with self._lock:
            b = self._buckets.get(who)
            if b is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._drop_full(now, rate, size)
                b = self._buckets[who] = _Bucket(size, now)
            b.tokens = min(size, b.tokens + (now - b.at) * rate)
            b.at = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / rate

    def _drop_full(self, now: float, rate: float, size: float) -> None:
        """Forget buckets that have refilled (they would start full anyway), so many
        distinct clients cannot grow the table without bound."""
        for who, b in list(self._buckets.items()):
            if b.tokens + (now - b.at) * rate >= size:
                del self._buckets[who]


class LoginRefused(Exception):
    """A sign-in refused before or instead of checking the password. ``reason``:
    ``address`` (too many from this client), ``budget`` (the deployment's password
    checks for this second are spent), ``busy`` (all password-hashing slots in use),
    ``locked`` (the account is locked after failures). The message is safe to show.
    ``delay``: seconds the server waits before answering (a tarpit: it holds a
    connection, not a thread, and slows a client that retries in a loop)."""

    def __init__(self, reason: str, message: str, retry_after: int, delay: float = 0.0) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = max(1, retry_after)
        self.delay = delay


def _budget_refusal(wait: float) -> LoginRefused:
    return LoginRefused(
        "budget",
        "too many sign-in attempts on this server; try again shortly",
        int(wait) + 1,
        REFUSAL_TARPIT_SECONDS,
    )


def _lower_priority() -> None:
    """Run this thread (and the threads argon2 starts from it, which inherit it) at the
    lowest CPU priority. Linux keeps a nice value per thread; elsewhere this is a no-op."""
    with contextlib.suppress(AttributeError, OSError):  # elsewhere the cap still holds
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


class LoginGuard:
    """What a password check must pass, cheapest first:

    1. a per-client-address token bucket (``addresses``: shared by every process on
       PostgreSQL, see
       :meth:`daybreak.store.repositories.accounts.AccountRepository.use_login_limits`;
       by default this process's): stops one address, not a flood from many;
    2. the hashing budget: ``hashes_per_minute`` password checks a minute for every
       address together (0: no budget) (``budget``: shared by every process on PostgreSQL), in bursts
       of at most :data:`BUDGET_BURST_SECONDS` seconds' worth. Over it a sign-in is refused at once, before the
       account is read or any password hashed, so a flood from any number of addresses
       costs the server a token-bucket lookup per attempt and at most the budget's
       argon2 checks;
    3. this process's cap on concurrent argon2 verifications (``max_hashing``): over
       it a sign-in is refused at once rather than queued. The verifications run in
       threads of their own at the lowest CPU priority, so what hashing the budget
       admits uses only the CPU that report intake leaves idle (argon2 costs ~0.4 s of
       CPU per check, on several threads).

    The guard also tallies the refusals, which the store audits as one entry a minute
    (:meth:`take_tally`) rather than one write per refused attempt."""

    def __init__(
        self,
        *,
        max_hashing: int = 2,
        per_address_per_minute: int = 30,
        hashes_per_minute: int = 60,
        clock: Callable[[], float] = time.monotonic,
        addresses: Limiter | None = None,
        budget: Limiter | None = None,
    ) -> None:
        if max_hashing < 1:
            raise ValueError("max_hashing must be at least 1")
        self.max_hashing = max_hashing
        self.per_address_per_minute = per_address_per_minute
        self.hashes_per_minute = hashes_per_minute
        self.budget_burst = max(1, hashes_per_minute * BUDGET_BURST_SECONDS // 60)
        self._clock = clock
        self._slots = threading.BoundedSemaphore(max_hashing)
        self._addresses = addresses or RateLimiter(clock)
        self._budget = budget or RateLimiter(clock)
        self._hashers = ThreadPoolExecutor(
            max_hashing, thread_name_prefix="daybreak-password", initializer=_lower_priority
        )
        # When the budget refused, until when it stays spent (its bucket's next token):
        # until then a sign-in can be refused without consulting any limiter.
        self._budget_spent_until = float("-inf")
        self._tally: Counter[tuple[str, str]] = Counter()
        self._tally_since = clock()
        self._tally_lock = threading.Lock()

    def admit(self, client: str) -> None:
        """Raise :class:`LoginRefused` when ``client`` has used its sign-ins for now,
        or when the deployment's hashing budget is spent for now."""
        wait = self._addresses.allow(client or "?", self.per_address_per_minute)
        if wait > 0:
            raise LoginRefused(
                "address",
                "too many sign-in attempts from this address; try again later",
                int(wait) + 1,
                ADDRESS_TARPIT_SECONDS,
            )
        wait = self._budget.allow(BUDGET_KEY, self.hashes_per_minute, self.budget_burst)
        if wait > 0:
            self._budget_spent_until = self._clock() + wait
            raise _budget_refusal(wait)

    def refusal_while_spent(self) -> LoginRefused | None:
        """The budget's refusal while the budget is known to be spent (a refusal said
        until when), decided without any limiter, lock or database; None otherwise.
        Exact: nothing refills a bucket sooner than its next token, and other processes
        sharing it only spend tokens. Lets the server refuse a sign-in before reading
        its body (:class:`daybreak.api.login_fast.LoginFastRefusal`)."""
        wait = self._budget_spent_until - self._clock()
        return _budget_refusal(wait) if wait > 0 else None

    def tally_due(self) -> bool:
        """Whether the refusals' tally is due for its audit entry (see
        :meth:`take_tally`): such a sign-in goes the whole way, which writes it."""
        with self._tally_lock:
            return bool(self._tally) and self._clock() - self._tally_since >= REFUSALS_AUDITED_EVERY

    def check(self, verify: Callable[[], T]) -> T:
        """Run ``verify`` (a password check) in a hashing thread, or raise
        :class:`LoginRefused` at once when all ``max_hashing`` are busy."""
        if not self._slots.acquire(blocking=False):
            raise LoginRefused(
                "busy",
                "the server is busy with other sign-ins; try again",
                1,
                REFUSAL_TARPIT_SECONDS,
            )
        try:
            return self._hashers.submit(verify).result()
        finally:
            self._slots.release()

    def tally(self, reason: str, channel: str) -> None:
        """Count a refused sign-in (for :meth:`take_tally`; no database write)."""
        with self._tally_lock:
            self._tally[(reason, channel)] += 1

    def take_tally(self, *, force: bool = False) -> dict[str, int] | None:
        """The refusals counted since the last take (``{"budget/api": 312, ...}``), at
        most once per :data:`REFUSALS_AUDITED_EVERY` seconds unless ``force``; None when
        not due or nothing was refused."""
        with self._tally_lock:
            now = self._clock()
            if not self._tally or (not force and now - self._tally_since < REFUSALS_AUDITED_EVERY):
                return None
            counts = {f"{reason}/{channel}": n for (reason, channel), n in self._tally.items()}
            self._tally.clear()
            self._tally_since = now
            return dict(sorted(counts.items()))

    def close(self) -> None:
        self._hashers.shutdown(wait=False)
