"""Platform events (metadata only, never content): streams and calls between payers and
facilitators around the payments, friend requests and messages before and between them,
logins with IPs, and the much larger everyday traffic of everyone else - including
diaspora families' evening video calls home, the look-alike on this side."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from daybreak.schema.columns import EVENT_TYPES
from daybreak.synth import clock, grooming, relative_calls, sextortion
from daybreak.synth.accounts import Accounts
from daybreak.synth.clock import LocalClock
from daybreak.synth.context import Ctx
from daybreak.synth.frames import conform, ids, lookup, utc
from daybreak.synth.ledger import I64
from daybreak.synth.payers import PayerPlan
from daybreak.synth.truth import case_id, links_of

ET = {name: i for i, name in enumerate(EVENT_TYPES)}
MIN = 60 * clock.US_PER_S


@dataclass
class _Rows:
    acct: list[I64] = field(default_factory=list)
    cp: list[I64] = field(default_factory=list)
    start: list[I64] = field(default_factory=list)
    dur_s: list[I64] = field(default_factory=list)
    etype: list[I64] = field(default_factory=list)
    case: list[I64] = field(default_factory=list)

    def add(
        self, acct: object, cp: object, start: object, dur_s: object, etype: int, case: object = -1
    ) -> None:
        a = np.asarray(acct, dtype=np.int64)
        n = len(a)

        def full(v: object) -> I64:
            return np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()

        self.acct.append(a)
        self.cp.append(full(cp))
        self.start.append(full(start))
        self.dur_s.append(full(dur_s))
        self.etype.append(full(etype))
        self.case.append(full(case))


def generate(
    ctx: Ctx,
    pl_: PayerPlan,
    acc: Accounts,
    lclock: LocalClock,
    relatives: relative_calls.RelativeCalls | None = None,
    groom: grooming.Grooming | None = None,
    sext: sextortion.Sextortion | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = ctx.rng("events")
    rows = _Rows()
    _abuse(ctx, rng, pl_, acc, lclock, rows)
    _everyday(ctx, rng, acc, lclock, rows)
    if relatives is not None:
        relative_calls.add_calls(relatives, acc, lclock, ctx.pop.tz, rows)
    if groom is not None:  # last: it adds its own accounts, which nothing above draws on
        groom.add_events(ctx, acc, rows)
    if sext is not None:  # also adds accounts (teenagers, actors) nothing above draws on
        sext.add_events(ctx, acc, lclock, rows)
    return _frame(acc, rows)


def _payer_account(acc: Accounts, cust: int, service: str) -> int:
    for a in acc.by_customer.get(cust, []):
        if acc.service[a] == service:
            return a
    return acc.by_customer[cust][0]


def _abuse(
    ctx: Ctx,
    rng: np.random.Generator,
    pl_: PayerPlan,
    acc: Accounts,
    lclock: LocalClock,
    rows: _Rows,
) -> None:
    if len(pl_.pay_cust) == 0:
        return
    pop = ctx.pop
    when = lclock.to_utc(pl_.pay_local, pop.tz[pl_.pay_cust])
    careful = set(int(pl_.payers[i]) for i in np.flatnonzero(pl_.careful))
    careful |= {j for i, j in pl_.linked.items() if pl_.careful[i]}
    p_stream = np.array([0.4 if int(c) in careful else 0.75 for c in pl_.pay_cust])
    keep = np.flatnonzero(rng.random(len(when)) < p_stream)
    fac_acct = np.array([acc.by_facilitator[int(f)] for f in pl_.pay_fac], dtype=np.int64)
    payer_acct = np.array(
        [
            _payer_account(acc, int(c), pl_.fac.service[int(f)])
            for c, f in zip(pl_.pay_cust, pl_.pay_fac, strict=True)
        ],
        dtype=np.int64,
    )
    # The show: a stream or call from the facilitator's account to the payer's, around
    # the time of the payment (which is at night in the payer's zone for most payers).
    start = when[keep] + rng.integers(-20, 60, len(keep)) * MIN
    is_stream = rng.random(len(keep)) < 0.6
    for et, sel in (("stream", is_stream), ("call", ~is_stream)):
        idx = keep[sel]
        rows.add(
            fac_acct[idx],
            payer_acct[idx],
            start[sel],
            rng.integers(300, 2700, len(idx)),
            ET[et],
            pl_.pay_case[idx],
        )
    # Friend request before the first payment, then messages while the payments go on.
    pair = payer_acct * (1 << 32) + fac_acct
    order = np.argsort(pair, kind="stable")
    uniq, first_idx, counts = np.unique(pair[order], return_index=True, return_counts=True)
    first = np.minimum.reduceat(when[order], first_idx)
    last = np.maximum.reduceat(when[order], first_idx)
    case = pl_.pay_case[order][first_idx]
    pa, fa = uniq >> 32, uniq & 0xFFFFFFFF
    rows.add(
        pa,
        fa,
        first - rng.integers(1, 15, len(uniq)) * clock.US_PER_DAY,
        -1,
        ET["friend_request"],
        case,
    )
    n_msg = rng.poisson(2 + counts)
    who = np.repeat(np.arange(len(uniq)), n_msg)
    t = first[who] + (rng.random(len(who)) * (last - first + clock.US_PER_DAY)[who]).astype(
        np.int64
    )
    from_payer = rng.random(len(who)) < 0.5
    rows.add(
        np.where(from_payer, pa[who], fa[who]),
        np.where(from_payer, fa[who], pa[who]),
        t - rng.integers(0, 120, len(who)) * MIN,
        -1,
        ET["message"],
        case[who],
    )


def _local_times(
    ctx: Ctx,
    rng: np.random.Generator,
    lclock: LocalClock,
    cust: I64,
    hours: np.ndarray,
) -> I64:
    days = clock.days_in(rng, ctx.window, len(cust))
    return lclock.to_utc(clock.at_hours(rng, days, hours), ctx.pop.tz[cust])


def _everyday(
    ctx: Ctx, rng: np.random.Generator, acc: Accounts, lclock: LocalClock, rows: _Rows
) -> None:
    months = ctx.window.months
    n = len(acc)
    owner = np.array(acc.owner, dtype=np.int64)
    kind = np.array(acc.owner_kind)
    # Logins: everyone, a few a month, from their usual IP.
    logins = rng.poisson(np.where(kind == "facilitator", 10.0, 1.0) * months)
    who = np.repeat(np.arange(n), logins)
    is_cust = kind[who] == "customer"
    t = ctx.window.start_us + (
        rng.random(len(who)) * (ctx.window.end_us - ctx.window.start_us)
    ).astype(np.int64)
    t[is_cust] = _local_times(ctx, rng, lclock, owner[who[is_cust]], clock.HOURS_ONLINE)
    rows.add(who, -1, t, -1, ET["login"])
    # Customers' calls and messages with the public on the same service.
    svc = np.array(acc.service)
    public = np.flatnonzero(kind == "public")
    by_svc = {str(s): public[svc[public] == s] for s in np.unique(svc)}
    cust_acc = np.flatnonzero(kind == "customer")
    k = rng.poisson(0.8 * months, len(cust_acc))
    who = np.repeat(cust_acc, k)
    cp = _same_service(rng, svc, by_svc, who)
    t = _local_times(ctx, rng, lclock, owner[who], clock.HOURS_EVENING)
    et = np.where(rng.random(len(who)) < 0.3, ET["call"], ET["message"])
    for e in (ET["call"], ET["message"]):
        sel = (et == e) & (cp >= 0)
        rows.add(
            who[sel],
            cp[sel],
            t[sel],
            rng.integers(60, 1800, int(sel.sum())) if e == ET["call"] else -1,
            e,
        )
    # Diaspora families: evening video calls home, a few times a month.
    fam = np.flatnonzero(kind == "family")
    k = rng.poisson(2.0 * months, len(fam))
    who = np.repeat(fam, k)
    callers = np.array([acc.by_customer[int(owner[f])][0] for f in who], dtype=np.int64)
    t = _local_times(ctx, rng, lclock, owner[who], clock.HOURS_EVENING)
    rows.add(callers, who, t, rng.integers(300, 3600, len(who)), ET["call"])
    # The public among themselves.
    k = rng.poisson(0.5 * months, len(public))
    who = np.repeat(public, k)
    cp = _same_service(rng, svc, by_svc, who)
    t = ctx.window.start_us + (
        rng.random(len(who)) * (ctx.window.end_us - ctx.window.start_us)
    ).astype(np.int64)
    et = rng.choice([ET["friend_request"], ET["message"], ET["call"]], len(who), p=[0.2, 0.6, 0.2])
    dur = np.where(et == ET["call"], rng.integers(60, 1800, len(who)), -1)
    ok = cp != who
    for e in (ET["friend_request"], ET["message"], ET["call"]):
        sel = ok & (et == e)
        rows.add(who[sel], cp[sel], t[sel], dur[sel], e)


def _same_service(
    rng: np.random.Generator,
    svc: np.ndarray,
    by_svc: dict[str, I64],
    who: I64,
) -> I64:
    """A random public account on the same service as each account in ``who``."""
    cp = np.full(len(who), -1, dtype=np.int64)
    u = rng.random(len(who))
    for s, pool in sorted(by_svc.items()):
        sel = svc[who] == s
        if len(pool):
            cp[sel] = pool[(u[sel] * len(pool)).astype(np.int64)]
    return cp


def _frame(acc: Accounts, rows: _Rows) -> tuple[pl.DataFrame, pl.DataFrame]:
    acct = np.concatenate(rows.acct)
    cp = np.concatenate(rows.cp)
    start = np.concatenate(rows.start) // clock.US_PER_S * clock.US_PER_S
    dur = np.concatenate(rows.dur_s)
    etype = np.concatenate(rows.etype)
    case = np.concatenate(rows.case)
    order = np.lexsort((np.arange(len(start)), start))
    acct, cp, start, dur, etype, case = (x[order] for x in (acct, cp, start, dur, etype, case))
    event_ids = ids("E", len(acct), 9)
    end = np.where(dur >= 0, start + dur * clock.US_PER_S, 0)
    frame = pl.DataFrame(
        {
            "event_id": event_ids,
            "service": lookup(acc.service, acct),
            "event_type": lookup(list(EVENT_TYPES), etype),
            "account_id": lookup(acc.account, acct),
            "counterparty_account_id": lookup(acc.account, cp),
            "started_at": utc(start),
            "ended_at": utc(end),
            "ip": lookup(acc.ip, acct),
            "device_id": lookup(acc.device, acct),
            "country": lookup(acc.country, acct),
        }
    ).with_columns(ended_at=pl.when(pl.Series(dur >= 0)).then(pl.col("ended_at")))
    linked = np.flatnonzero(case >= 0)
    names = pl.Series([case_id(c) for c in range(int(case.max(initial=-1)) + 1)], dtype=pl.String)
    links = links_of(
        "platform_events", lookup(names, case[linked]), event_ids.gather(pl.Series(linked))
    )
    return conform("platform_events", frame), links
