"""Ordinary life: domestic card spending by merchant category, domestic P2P, bills, cash,
wallet purchases and trips abroad. This is the bulk of the rows (≈95%), so every step is
one vectorised pass over all of them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from daybreak.synth import clock, handles
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I32, I64, TxnBatch, batch
from daybreak.synth.merchants import (
    AIRLINES,
    MCCS,
    STREAM_VENDORS,
    TRIP_MCCS,
    VPN_VENDORS,
    MerchantPool,
    build_domestic,
    hour_profile,
    vendor_purchases,
)
from daybreak.synth.names import sample_people

KINDS = ("card", "p2p", "bill", "cash", "wallet")  # shares: Behaviour.everyday_mix
BILL_REFS = ("Bill payment", "Monthly account", "Invoice", "Direct debit", "Quarterly bill")
ATM_AUD = np.array([20, 40, 50, 60, 100, 100, 150, 200, 200, 300, 400], dtype=np.float64)


@dataclass
class _Pools:
    """Receivers of one sending country, registered before any row is drawn."""

    merchants: MerchantPool
    p2p_recv: I32  # external people (index = friend slot), then customers (by position)
    p2p_name: I32
    members: I64  # customers of the country
    bills_recv: I32
    bills_name: I32
    atm: I32
    seller: I32
    seller_name: I32


def _register(ctx: Ctx, rng: np.random.Generator, country: str, members: I64) -> _Pools:
    led, pop, prof = ctx.ledger, ctx.pop, ctx.profile
    share = len(members) / len(pop)
    merchants = build_domestic(rng, led, country, int(np.clip(len(pop) * share / 8, 200, 20000)))
    ext = max(100, int(1.2 * len(members)))
    people = sample_people(rng, prof.majority[country], ["?"] * ext)
    if prof.p2p_rail in handles.PHONE_RAILS:
        ext_ids = [f"{prof.p2p_rail}:{p}" for p in handles.phones(rng, country, ext)]
    else:
        ext_ids = handles.domestic_accounts(rng, prof.p2p_rail, country, ext)
    p2p_recv = np.concatenate(
        [
            led.receivers.add_many(ext_ids, [country] * ext, "domestic_p2p"),
            led.receivers.add_many(
                [pop.p2p_handle[i] for i in members], [country] * len(members), "domestic_p2p"
            ),
        ]
    )
    p2p_name = np.concatenate(
        [
            led.names.codes(p.canonical for p in people),
            led.names.codes(pop.names[i] for i in members),
        ]
    )
    kinds = ("Power", "Water", "Insurance", "Council", "Mobile", "Internet", "Gym", "Strata")
    nb = 48
    bill_ids = handles.domestic_accounts(rng, prof.bank_rail, country, nb)
    return _Pools(
        merchants=merchants,
        p2p_recv=p2p_recv,
        p2p_name=p2p_name,
        members=members,
        bills_recv=led.receivers.add_many(bill_ids, [country] * nb, "biller"),
        bills_name=led.names.codes(
            f"{kinds[k % len(kinds)]} Co {k // len(kinds) + 1}" for k in range(nb)
        ),
        atm=led.receivers.add_many(
            [f"atm:{country}{k:05d}" for k in range(300)], [country] * 300, "atm"
        ),
        seller=led.receivers.add_many(
            [f"payly:seller{country.lower()}{k:05d}" for k in range(500)],
            [country] * 500,
            "merchant",
        ),
        seller_name=led.names.codes(f"Marketplace seller {k:05d}" for k in range(500)),
    )


def generate(ctx: Ctx) -> None:
    """Everyday rows as one time-sorted stream per (time zone, kind): the final sort by
    time then merges a few dozen sorted runs instead of shuffling millions of rows."""
    pop = ctx.pop
    reg = ctx.rng("benign.register")
    pools: dict[str, _Pools] = {}
    for country in sorted(set(pop.country)):
        members = np.flatnonzero(np.array(pop.country) == country).astype(np.int64)
        pools[country] = _register(ctx, reg, country, members)
    ref_codes = {
        "p2p": np.array(
            [ctx.ledger.refs.code(r) for r in ctx.profile.behaviour.p2p_refs], dtype=np.int32
        ),
        "bill": np.array([ctx.ledger.refs.code(r) for r in BILL_REFS], dtype=np.int32),
    }
    jobs = []
    for z, zone in enumerate(pop.zones):
        members = np.flatnonzero(pop.tz == z).astype(np.int64)
        if len(members) == 0:
            continue
        country = pop.country[int(members[0])]
        for kind in KINDS:
            jobs.append((zone, kind, members, pools[country]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        streams = list(pool.map(lambda job: _stream(ctx, *job, refs=ref_codes), jobs))
    for batches in streams:
        for b in batches:
            ctx.ledger.add(b)
    _travel(ctx, ctx.rng("travel"))
    _privacy_and_streaming(ctx, ctx.rng("benign.vendors"))


def _privacy_and_streaming(ctx: Ctx, rng: np.random.Generator) -> None:
    """Ordinary VPN subscribers (≈ 4 %) and adults buying streaming credits (≈ 1.5 %):
    the related-purchase vendors are not a signal on their own."""
    w, n = ctx.window, len(ctx.pop)
    subs = np.flatnonzero(rng.random(n) < 0.04)
    renewals = np.arange(w.months)
    cust = np.repeat(subs, len(renewals))
    first = rng.integers(0, 30, len(subs))
    when = (
        w.start_us
        + (np.repeat(first, len(renewals)) + np.tile(renewals, len(subs)) * 30) * clock.US_PER_DAY
    )
    vendor = np.repeat(rng.integers(0, len(VPN_VENDORS), len(subs)), len(renewals))
    buyers = np.flatnonzero(rng.random(n) < 0.015)
    k = rng.poisson(w.months, len(buyers))
    b_cust = np.repeat(buyers, k)
    b_when = clock.at_hours(rng, clock.days_in(rng, w, len(b_cust)), clock.HOURS_ONLINE)
    b_vendor = len(VPN_VENDORS) + rng.integers(0, len(STREAM_VENDORS), len(b_cust))
    keep = when < w.end_us
    vendor_purchases(
        ctx,
        rng,
        np.concatenate([cust[keep], b_cust]),
        np.concatenate([when[keep], b_when]),
        np.concatenate([vendor[keep], b_vendor]),
    )


def _stream(
    ctx: Ctx, zone: str, kind: str, members: I64, pools: _Pools, *, refs: dict[str, I32]
) -> list[TxnBatch]:
    rng = ctx.rng(f"benign.{zone}.{kind}")
    weights = ctx.pop.activity[members]
    share = ctx.profile.behaviour.everyday_mix[KINDS.index(kind)]
    rate = ctx.txn_per_month * ctx.window.months * float(weights.sum()) * share
    # Customers in proportion to their activity: a ticket per 1/8 of mean activity, so a
    # row's customer is one uniform draw (a cumulative search per row costs more).
    tickets = np.repeat(
        members, np.maximum(1, np.round(weights / weights.mean() * 8)).astype(np.int64)
    )

    def customers(n: int) -> I32:
        out: I32 = tickets[rng.integers(0, len(tickets), n)].astype(np.int32)
        return out

    if kind == "card":
        return _card(ctx, rng, rate, customers, pools.merchants)
    n = int(rng.poisson(rate))
    cust = customers(n)
    hours = {
        "p2p": clock.HOURS_EVENING,
        "bill": clock.HOURS_BUSINESS,
        "cash": clock.HOURS_DAY,
        "wallet": clock.HOURS_ONLINE,
    }[kind]
    local = clock.sorted_times(rng, ctx.window, n, hours)
    if kind == "p2p":
        return [_p2p(ctx, rng, cust, local, pools, refs["p2p"])]
    if kind == "bill":
        pick = (cust.astype(np.int64) * 31 + rng.integers(0, 4, n) * 7) % len(pools.bills_recv)
        ref = np.where(rng.random(n) < 0.8, refs["bill"][rng.integers(0, 5, n)], -1)
        amount = ctx.money(lognormal(rng, 120, 0.7, n))
        return [
            batch(
                cust,
                local,
                pools.bills_recv[pick],
                amount,
                CHANNEL["wire"],
                rname=pools.bills_name[pick],
                ref=ref,
            )
        ]
    if kind == "cash":
        amount = np.round(ctx.money(ATM_AUD[rng.integers(0, len(ATM_AUD), n)]), -1)
        return [
            batch(
                cust, local, pools.atm[rng.integers(0, len(pools.atm), n)], amount, CHANNEL["cash"]
            )
        ]
    pick = rng.integers(0, len(pools.seller), n)
    amount = ctx.money(lognormal(rng, 35, 0.8, n))
    return [
        batch(
            cust,
            local,
            pools.seller[pick],
            amount,
            CHANNEL["wallet"],
            rname=pools.seller_name[pick],
        )
    ]


def _card(
    ctx: Ctx,
    rng: np.random.Generator,
    rate: float,
    customers: Callable[[int], I32],
    pool: MerchantPool,
) -> list[TxnBatch]:
    w = np.array([m.weight for m in MCCS])
    parts = []
    for hk in ("day", "evening", "online"):
        in_kind = np.flatnonzero([m.hours == hk for m in MCCS])
        share = float(w[in_kind].sum() / w.sum())
        n = int(rng.poisson(rate * share))
        cust = customers(n)
        mk = in_kind[rng.choice(len(in_kind), n, p=w[in_kind] / w[in_kind].sum())]
        pick = pool.offset[mk] + (rng.random(n) * pool.count[mk]).astype(np.int32)
        med = np.array([m.median for m in MCCS])[mk]
        sig = np.array([m.sigma for m in MCCS])[mk]
        amount = ctx.money(np.maximum(lognormal(rng, med, sig, n), 1.0))
        local = clock.sorted_times(rng, ctx.window, n, hour_profile(hk))
        mcc = np.array([m.code for m in MCCS], dtype=np.int16)[mk]
        parts.append(
            batch(
                cust,
                local,
                pool.codes[pick],
                amount,
                CHANNEL["card"],
                rname=pool.names[pick],
                mcc=mcc,
            )
        )
    return parts


def _p2p(
    ctx: Ctx, rng: np.random.Generator, cust: I32, local: I64, pools: _Pools, refs: I32
) -> TxnBatch:
    m = len(cust)
    ext = len(pools.p2p_recv) - len(pools.members)
    # Each customer has a handful of regular contacts: a stable hash plus a small offset;
    # a quarter of transfers go to other customers of the bank.
    friend = (cust.astype(np.int64) * 2654435761 + rng.integers(0, 6, m) * 97) % ext
    other = (cust.astype(np.int64) * 7 + rng.integers(1, 6, m) * 104729) % len(pools.members)
    slot = np.where(rng.random(m) < 0.25, ext + other, friend)
    ref = np.where(rng.random(m) < 0.5, refs[rng.integers(0, len(refs), m)], -1)
    amount = ctx.money(np.maximum(lognormal(rng, 45, 0.9, m), 2.0))
    return batch(
        cust,
        local,
        pools.p2p_recv[slot],
        amount,
        CHANNEL["p2p"],
        rname=pools.p2p_name[slot],
        ref=ref,
    )


def trip_rows(
    ctx: Ctx,
    rng: np.random.Generator,
    cust: I32,
    dest: list[str],
    start: I64,
    length: I64,
    per_day: float,
    *,
    atm_per_trip: float = 1.5,
    case: I32 | None = None,
) -> None:
    """Card spending abroad during trips, the flight bought before, and ATM cash there."""
    led = ctx.ledger
    k = len(cust)
    case_arr = np.full(k, -1, dtype=np.int32) if case is None else case
    rows = rng.poisson(length * per_day)
    who = np.repeat(np.arange(k), rows)
    day = start[who] + (rng.random(len(who)) * length[who]).astype(np.int64) * clock.US_PER_DAY
    tm = rng.choice(len(TRIP_MCCS), len(who), p=[w for _, w, _ in TRIP_MCCS])
    places = sorted(set(dest))
    place = np.array([places.index(d) for d in dest], dtype=np.int64)
    table_r = np.empty((len(places), len(TRIP_MCCS), 25), dtype=np.int32)
    table_n = np.empty_like(table_r)
    for p, c in enumerate(places):
        for t, (code, _, _) in enumerate(TRIP_MCCS):
            for s in range(25):
                table_r[p, t, s] = led.receivers.add(f"mid:{c}{code}{s:04d}", c, "merchant")
                table_n[p, t, s] = led.names.code(f"{c} merchant {code}-{s:02d}")
    slot = rng.integers(0, 25, len(who))
    recv = table_r[place[who], tm, slot]
    names = table_n[place[who], tm, slot]
    med = np.array([m for _, _, m in TRIP_MCCS])[tm]
    amount = ctx.money(lognormal(rng, med, 0.6, len(who)))
    local = clock.at_hours(rng, day, clock.HOURS_EVENING)
    mcc = np.array([c for c, _, _ in TRIP_MCCS], dtype=np.int16)[tm]
    led.add(
        batch(
            cust[who],
            local,
            recv,
            amount,
            CHANNEL["card"],
            rname=names,
            mcc=mcc,
            case=case_arr[who],
        )
    )
    # The flight, 2-12 weeks before departure (never before the window opens).
    air = rng.integers(0, len(AIRLINES), k)
    bought = np.maximum(start - rng.integers(14, 90, k) * clock.US_PER_DAY, ctx.window.start_us)
    a_recv = np.array(
        [led.receivers.add(f"mid:air{AIRLINES[a][1]}{a:03d}", ctx.home, "merchant") for a in air],
        dtype=np.int32,
    )
    a_name = np.array([led.names.code(AIRLINES[a][0]) for a in air], dtype=np.int32)
    led.add(
        batch(
            cust,
            clock.at_hours(rng, bought, clock.HOURS_ONLINE),
            a_recv,
            ctx.money(lognormal(rng, 950, 0.45, k)),
            CHANNEL["card"],
            rname=a_name,
            mcc=np.array([AIRLINES[a][1] for a in air], dtype=np.int16),
            case=case_arr,
        )
    )
    atm = rng.poisson(atm_per_trip, k)
    who = np.repeat(np.arange(k), atm)
    day = start[who] + (rng.random(len(who)) * length[who]).astype(np.int64) * clock.US_PER_DAY
    a_recv = np.array(
        [led.receivers.add(f"atm:{dest[w]}{w % 40:05d}", dest[w], "atm") for w in who],
        dtype=np.int32,
    )
    led.add(
        batch(
            cust[who],
            clock.at_hours(rng, day, clock.HOURS_DAY),
            a_recv,
            np.round(ctx.money(ATM_AUD[rng.integers(0, len(ATM_AUD), len(who))]) * 2, -1),
            CHANNEL["cash"],
            case=case_arr[who],
        )
    )


def _travel(ctx: Ctx, rng: np.random.Generator) -> None:
    n = len(ctx.pop)
    p_trip = min(0.8, ctx.profile.behaviour.trip_share * ctx.window.months / 12)
    who = np.flatnonzero(rng.random(n) < p_trip).astype(np.int32)
    k = len(who)
    places = [c for c, _ in ctx.profile.travel]
    w = np.array([x for _, x in ctx.profile.travel])
    dest = [places[i] for i in rng.choice(len(places), k, p=w / w.sum())]
    length = np.minimum(rng.integers(4, 17, k), ctx.window.days - 1).astype(np.int64)
    start = (
        ctx.window.start_us
        + (rng.random(k) * (ctx.window.days - length)).astype(np.int64) * clock.US_PER_DAY
    )
    trip_rows(ctx, rng, who, dest, start, length, per_day=2.5)
