"""The store's token buckets: kept in the database (``rate_buckets``) so that several
server processes share one limit, on SQLite (forced, for the logic) and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from daybreak.store import LoginGuard, LoginRefused, TiplineStore
from daybreak.store.repositories.throttles import (
    IDLE_SECONDS,
    MAX_LEASE,
    SharedRateLimiter,
    lease_size,
)
from daybreak.store.tables import rate_buckets
from daybreak.store.throttle import RateLimiter


def test_a_bucket_allows_its_burst_then_refuses_until_it_refills(store: TiplineStore) -> None:
    now = [1000.0]
    limiter = store.throttles.limiter("t", shared=True, clock=lambda: now[0])
    assert isinstance(limiter, SharedRateLimiter)
    assert [limiter.allow("k1", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.allow("k1", 3)
    assert wait == pytest.approx(20.0)  # 3 a minute: one token every 20 s
    assert limiter.allow("k2", 3) == 0.0  # another client has its own bucket
    now[0] += 19.0
    assert limiter.allow("k1", 3) == pytest.approx(1.0)  # a refused try takes nothing
    now[0] += 1.5
    assert limiter.allow("k1", 3) == 0.0
    assert limiter.allow("k1", 0) == 0.0  # 0: no limit


def test_two_limiters_of_one_scope_share_the_bucket(store: TiplineStore) -> None:
    """Two processes' limiters are two objects over one table: they count together."""
    now = [50.0]
    a = store.throttles.limiter("principal", shared=True, clock=lambda: now[0])
    b = store.throttles.limiter("principal", shared=True, clock=lambda: now[0])
    other = store.throttles.limiter("login-address", shared=True, clock=lambda: now[0])
    assert [a.allow("key:1", 4), b.allow("key:1", 4), a.allow("key:1", 4)] == [0.0] * 3
    assert b.allow("key:1", 4) == 0.0
    assert a.allow("key:1", 4) > 0 and b.allow("key:1", 4) > 0
    assert other.allow("key:1", 4) == 0.0  # scopes do not share


def _tokens(store: TiplineStore) -> float:
    with store.engine.connect() as conn:
        return float(conn.execute(select(rate_buckets.c.tokens)).scalar_one())


def test_a_high_limit_is_taken_in_leases_and_never_exceeded(store: TiplineStore) -> None:
    """6,000 a minute: a process takes 10 tokens per database write; two processes
    leasing from one bucket still get no more than it holds."""
    assert lease_size(6000) == 10 and lease_size(600) == 1 and lease_size(10**8) == MAX_LEASE
    now = [0.0]
    a = store.throttles.limiter("principal", shared=True, clock=lambda: now[0])
    b = store.throttles.limiter("principal", shared=True, clock=lambda: now[0])
    assert a.allow("key:big", 6000) == 0.0
    assert _tokens(store) == 5990.0  # one write took a lease of 10
    assert all(a.allow("key:big", 6000) == 0.0 for _ in range(9))  # spent from the lease
    assert _tokens(store) == 5990.0
    assert a.allow("key:big", 6000) == 0.0
    assert _tokens(store) == 5980.0
    granted = 10
    for i in range(2 * 6000):
        if (a if i % 2 else b).allow("key:big", 6000) > 0:
            break
        granted += 1
    assert 5990 <= granted <= 6000  # at most the bucket, whichever process took it


def test_concurrent_requests_take_exactly_the_tokens_there_are(store: TiplineStore) -> None:
    limiter = store.throttles.limiter("t", shared=True, clock=lambda: 10.0)
    results: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            wait = limiter.allow("busy", 12)
            with lock:
                results.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert results.count(0.0) == 12  # the bucket held 12; no two threads took one token


def test_the_table_keeps_no_client_in_clear_and_forgets_idle_buckets(
    store: TiplineStore,
) -> None:
    now = [0.0]
    limiter = store.throttles.limiter("login-address", shared=True, clock=lambda: now[0])
    limiter.allow("203.0.113.9", 5)
    with store.engine.connect() as conn:
        (bucket,) = conn.execute(select(rate_buckets.c.bucket)).one()
    assert "203.0.113" not in bucket and len(bucket) == 40
    now[0] += IDLE_SECONDS + 1
    limiter._purged = -1e9  # due: the purge runs at most once a minute per process
    limiter.allow("198.51.100.7", 5)
    with store.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(rate_buckets)).scalar_one()
    assert left == 1  # the idle bucket is gone, the fresh one kept


def test_the_database_decides_the_default(store: TiplineStore) -> None:
    shared = store.engine.dialect.name != "sqlite"
    assert store.throttles.shared is shared
    kind = SharedRateLimiter if shared else RateLimiter
    assert isinstance(store.throttles.limiter("principal"), kind)


def test_the_sign_in_limit_per_address_is_shared_by_two_guards(store: TiplineStore) -> None:
    """Two processes' login guards over one store refuse an address together."""
    now = [0.0]
    guards = [
        LoginGuard(
            per_address_per_minute=3,
            addresses=store.throttles.limiter("login-address", shared=True, clock=lambda: now[0]),
        )
        for _ in range(2)
    ]
    try:
        guards[0].admit("192.0.2.1")
        guards[1].admit("192.0.2.1")
        guards[0].admit("192.0.2.1")
        with pytest.raises(LoginRefused) as refused:
            guards[1].admit("192.0.2.1")
        assert refused.value.reason == "address"
        guards[1].admit("192.0.2.2")
    finally:
        for g in guards:
            g.close()


def test_the_hashing_budget_is_shared_by_two_guards(store: TiplineStore) -> None:
    """Two processes' guards draw on one hashing budget, from any addresses: 12 a
    minute is a burst of one, then one every 5 s, for both together."""
    now = [0.0]
    guards = [
        LoginGuard(
            per_address_per_minute=0,
            hashes_per_minute=12,
            budget=store.throttles.limiter("login-hashing", shared=True, clock=lambda: now[0]),
        )
        for _ in range(2)
    ]
    try:
        guards[0].admit("192.0.2.1")
        with pytest.raises(LoginRefused) as refused:
            guards[1].admit("198.51.100.7")
        assert refused.value.reason == "budget" and refused.value.retry_after == 6
        now[0] += 5.0
        guards[1].admit("198.51.100.7")
        with pytest.raises(LoginRefused):
            guards[0].admit("203.0.113.9")
    finally:
        for g in guards:
            g.close()


def test_a_server_sets_its_sign_in_limits(store: TiplineStore) -> None:
    store.accounts.use_login_limits(max_hashing=1, per_address_per_minute=2)
    for _ in range(2):
        assert store.accounts.login("nobody", "wrong", client="192.0.2.5") is None
    with pytest.raises(LoginRefused) as refused:
        store.accounts.login("nobody", "wrong", client="192.0.2.5")
    assert refused.value.reason == "address"
    assert store.accounts.login_guard.max_hashing == 1
