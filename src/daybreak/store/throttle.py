"""Throttles: token buckets, and the guard in front of password checks.

:class:`RateLimiter` keeps its buckets in one process's memory (SQLite deployments:
``serve --workers N`` has N of each); on PostgreSQL the store hands out limiters whose
buckets every process shares (:mod:`daybreak.store.repositories.throttles`). The sign-in
lockout is always kept in the store (``users.failed_logins``, ``users.locked_until``;
see :mod:`daybreak.store.auth`). The cap on concurrent password checks stays per
process: it guards that machine's CPU.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")
HASHING_NICE = 19  # the password checks' CPU priority: only what report intake leaves

ADDRESS_TARPIT_SECONDS = 1.0  # answer to a client over its sign-in limit after this
MAX_BUCKETS = 50_000  # tracked clients before full (idle) buckets are dropped


class Limiter(Protocol):
    """A rate limit per client: :class:`RateLimiter` (this process) or the store's
    shared one (:class:`~daybreak.store.repositories.throttles.SharedRateLimiter`)."""

    def allow(self, who: str, per_minute: int) -> float:
        """0.0 when allowed, else seconds until the next request would be."""
        ...


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token bucket per key: ``per_minute`` requests a minute, bursts up to the same."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def allow(self, who: str, per_minute: int) -> float:
        """0.0 when allowed, else seconds until the next request would be."""
        if per_minute <= 0:
            return 0.0
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            b = self._buckets.get(who)
            if b is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._drop_full(now, rate, float(per_minute))
                b = self._buckets[who] = _Bucket(float(per_minute), now)
            b.tokens = min(float(per_minute), b.tokens + (now - b.at) * rate)
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
    ``address`` (too many from this client), ``busy`` (all password-hashing slots in
    use), ``locked`` (the account is locked after failures). The message is safe to show.
    ``delay``: seconds the server waits before answering (a tarpit: it holds a
    connection, not a thread, and slows a client that retries in a loop)."""

    def __init__(self, reason: str, message: str, retry_after: int, delay: float = 0.0) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = max(1, retry_after)
        self.delay = delay


def _lower_priority() -> None:
    """Run this thread (and the threads argon2 starts from it, which inherit it) at the
    lowest CPU priority. Linux keeps a nice value per thread; elsewhere this is a no-op."""
    with contextlib.suppress(AttributeError, OSError):  # elsewhere the cap still holds
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


class LoginGuard:
    """What a password check must pass: a per-client-address token bucket
    (``addresses``: shared by every process on PostgreSQL, see
    :meth:`daybreak.store.repositories.accounts.AccountRepository.use_login_limits`;
    by default this process's), and this process's cap on concurrent argon2 verifications. Over the cap a sign-in is
    refused at once rather than queued. The verifications run in ``max_hashing``
    threads of their own at the lowest CPU priority, so a flood of logins uses only the
    CPU that report intake leaves idle and can never starve it (argon2 costs ~0.4 s of
    CPU per check, on several threads; at normal priority two at once take a 2-core
    machine)."""

    def __init__(
        self,
        *,
        max_hashing: int = 2,
        per_address_per_minute: int = 30,
        clock: Callable[[], float] = time.monotonic,
        addresses: Limiter | None = None,
    ) -> None:
        if max_hashing < 1:
            raise ValueError("max_hashing must be at least 1")
        self.max_hashing = max_hashing
        self.per_address_per_minute = per_address_per_minute
        self._slots = threading.BoundedSemaphore(max_hashing)
        self._addresses = addresses or RateLimiter(clock)
        self._hashers = ThreadPoolExecutor(
            max_hashing, thread_name_prefix="daybreak-password", initializer=_lower_priority
        )

    def admit(self, client: str) -> None:
        """Raise :class:`LoginRefused` when ``client`` has used its sign-ins for now."""
        wait = self._addresses.allow(client or "?", self.per_address_per_minute)
        if wait > 0:
            raise LoginRefused(
                "address",
                "too many sign-in attempts from this address; try again later",
                int(wait) + 1,
                ADDRESS_TARPIT_SECONDS,
            )

    def check(self, verify: Callable[[], T]) -> T:
        """Run ``verify`` (a password check) in a hashing thread, or raise
        :class:`LoginRefused` at once when all ``max_hashing`` are busy."""
        if not self._slots.acquire(blocking=False):
            raise LoginRefused("busy", "the server is busy with other sign-ins; try again", 1)
        try:
            return self._hashers.submit(verify).result()
        finally:
            self._slots.release()

    def close(self) -> None:
        self._hashers.shutdown(wait=False)
