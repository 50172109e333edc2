"""In-process throttles: token buckets, and the guard in front of password checks.

These live in one process's memory (``serve --workers N`` has N of each); the sign-in
lockout that must hold across processes is kept in the store (``users.failed_logins``,
``users.locked_until``; see :mod:`daybreak.store.auth`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MAX_BUCKETS = 50_000  # tracked clients before full (idle) buckets are dropped


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
    use), ``locked`` (the account is locked after failures). The message is safe to show."""

    def __init__(self, reason: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = max(1, retry_after)


class LoginGuard:
    """What a password check must pass in this process: a per-client-address token
    bucket, and a cap on concurrent argon2 verifications. Over the cap a sign-in is
    refused at once rather than queued, so a flood of logins can hold at most
    ``max_hashing`` threads and cores and never starves report intake."""

    def __init__(
        self,
        *,
        max_hashing: int = 2,
        per_address_per_minute: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_hashing < 1:
            raise ValueError("max_hashing must be at least 1")
        self.max_hashing = max_hashing
        self.per_address_per_minute = per_address_per_minute
        self._slots = threading.BoundedSemaphore(max_hashing)
        self._addresses = RateLimiter(clock)

    def admit(self, client: str) -> None:
        """Raise :class:`LoginRefused` when ``client`` has used its sign-ins for now."""
        wait = self._addresses.allow(client or "?", self.per_address_per_minute)
        if wait > 0:
            raise LoginRefused(
                "address",
                "too many sign-in attempts from this address; try again later",
                int(wait) + 1,
            )

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """Hold one password-hashing slot, or raise :class:`LoginRefused` at once."""
        if not self._slots.acquire(blocking=False):
            raise LoginRefused("busy", "the server is busy with other sign-ins; try again", 1)
        try:
            yield
        finally:
            self._slots.release()
