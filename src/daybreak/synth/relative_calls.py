"""Relatives' calls around payments: the look-alike of the stream-payment coincidence.

Diaspora customers' relatives in the corridor country call them (video calls home in the
evening, and late at night across time zones), and the customer often sends money
around the call: a mobile-wallet top-up, an allowance, the monthly remittance. These
calls come from an account in the same corridor countries, on the same services and in
the same direction (to the customer's account) as a facilitator's show, and a payment to
the relative falls within minutes of many of them, so a coincidence detector must tell
them apart by something other than the coincidence itself (issue #16 asks for them to be
about 5 % of all calls).

:func:`plan` runs in the look-alike step (it adds the payments to the ledger);
:func:`add_calls` runs with the platform events, once the accounts exist. Kept apart
from :mod:`daybreak.synth.lookalikes` (the payments look-alikes) so either can change
without the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from daybreak.schema.columns import EVENT_TYPES
from daybreak.synth import clock
from daybreak.synth.accounts import Accounts
from daybreak.synth.clock import LocalClock
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I64, batch

# Calls a month to each diaspora customer who sends money home. With the other calls a
# world makes (everyday calls, evening calls home, the shows) this makes relatives' calls
# to customers about 5 % of all calls (tests/synth/test_relative_calls.py checks it).
CALLS_PER_MONTH = 0.26
NIGHT_SHARE = 0.3  # late-night calls across time zones
MINUTES_AROUND = 60  # a payment up to this many minutes before or after the call starts
MIN = 60 * clock.US_PER_S
CALL = EVENT_TYPES.index("call")


@dataclass(frozen=True)
class RelativeCalls:
    """Calls to be made by each customer's relatives (customer-local start times)."""

    cust: I64
    local_us: I64
    dur_s: I64

    def __len__(self) -> int:
        return len(self.cust)


class _Rows(Protocol):  # daybreak.synth.events._Rows, without importing it (no cycle)
    def add(
        self, acct: object, cp: object, start: object, dur_s: object, etype: int, case: object = -1
    ) -> None: ...


def _main_relatives(ctx: Ctx) -> tuple[I64, I64, I64]:
    """(customer, receiver code, receiver-name code) of each customer's most frequent
    family receiver in the ledger so far."""
    led = ctx.ledger
    is_family = np.array([s == "family" for s in led.receivers.scenario], dtype=bool)
    parts = [
        (b.cust[sel], b.recv[sel], b.rname[sel])
        for b in led.batches
        if len(b) and (sel := is_family[b.recv]).any()
    ]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    cust, recv, rname = (np.concatenate([p[k] for p in parts]).astype(np.int64) for k in range(3))
    pair = cust * (1 << 32) + recv
    uniq, first, counts = np.unique(pair, return_index=True, return_counts=True)
    best = np.lexsort((-counts, uniq >> 32))  # per customer, most frequent receiver first
    keep = np.concatenate([[True], (uniq[best] >> 32)[1:] != (uniq[best] >> 32)[:-1]])
    chosen = best[keep]
    return uniq[chosen] >> 32, uniq[chosen] & 0xFFFFFFFF, rname[first[chosen]]


def plan(ctx: Ctx) -> RelativeCalls:
    """Relatives' calls, and the payments to the relative around some of them (added to
    the ledger now, so they are ordinary transactions in the world)."""
    rng = ctx.rng("lookalike.relative_calls")
    cust, recv, rname = _main_relatives(ctx)
    if len(cust) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return RelativeCalls(empty, empty, empty)
    w, b = ctx.window, ctx.profile.behaviour
    k = rng.poisson(CALLS_PER_MONTH * w.months, len(cust))
    who = np.repeat(np.arange(len(cust)), k)
    n = len(who)
    days = clock.days_in(rng, w, n)
    local = np.where(
        rng.random(n) < NIGHT_SHARE,
        clock.at_hours(rng, days, clock.HOURS_NIGHT),
        clock.at_hours(rng, days, clock.HOURS_EVENING),
    )
    dur = rng.integers(300, 3600, n)
    # Each family has its own habit of sending money during calls.
    p_pay = rng.uniform(0.3, 0.9, len(cust))
    paid = np.flatnonzero(rng.random(n) < p_pay[who])
    m = len(paid)
    offset = rng.integers(-MINUTES_AROUND, MINUTES_AROUND + 1, m) * MIN
    top_up = rng.random(m) < 0.5  # small wallet top-ups, in the abuse payments' range
    amount = ctx.money(
        np.where(top_up, lognormal(rng, 40, 0.5, m), lognormal(rng, b.family_median, 0.55, m))
    )
    amount = np.where(rng.random(m) < 0.6, np.maximum(10.0, np.round(amount, -1)), amount)
    channel = np.where(top_up, CHANNEL["wallet"], CHANNEL["remittance"]).astype(np.int8)
    refs = np.array([ctx.ledger.refs.code(x) for x in (*b.family_refs, "load")], dtype=np.int32)
    ref = np.where(rng.random(m) < 0.4, -1, refs[rng.integers(0, len(refs), m)])
    r = who[paid]
    ctx.ledger.add(
        batch(cust[r], local[paid] + offset, recv[r], amount, channel, rname=rname[r], ref=ref)
    )
    return RelativeCalls(cust[who], local.astype(np.int64), dur.astype(np.int64))


def add_calls(
    calls: RelativeCalls, acc: Accounts, lclock: LocalClock, tz: np.ndarray, rows: _Rows
) -> None:
    """Emit the calls of customers who have a platform account and a relative's account:
    from the relative's account to the customer's first account (the relative's account
    is on the same service)."""
    has = np.array([int(c) in acc.family_of for c in calls.cust], dtype=bool)
    if not has.any():
        return
    cust = calls.cust[has]
    relative = np.array([acc.family_of[int(c)] for c in cust], dtype=np.int64)
    account = np.array([acc.by_customer[int(c)][0] for c in cust], dtype=np.int64)
    start = lclock.to_utc(calls.local_us[has], tz[cust])
    rows.add(relative, account, start, calls.dur_s[has], CALL)


__all__ = ["RelativeCalls", "add_calls", "plan"]
