"""Ordinary life: domestic card spending by merchant category, domestic P2P, bills, cash,
wallet purchases and trips abroad. This is the bulk of the rows (≈95%), so every step is
one vectorised pass over all of them."""

from __future__ import annotations

import numpy as np

from daybreak.synth import clock, handles
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I32, I64, batch
from daybreak.synth.merchants import AIRLINES, MCCS, TRIP_MCCS, build_domestic, hour_profile
from daybreak.synth.names import sample_people

KINDS = ("card", "p2p", "bill", "cash", "wallet")
KIND_P = (0.77, 0.11, 0.06, 0.03, 0.03)
P2P_REFS = ("dinner", "rent", "thanks!", "split bill", "beers", "birthday", "petrol", "tickets")
BILL_REFS = ("Bill payment", "Monthly account", "Invoice", "Direct debit", "Quarterly bill")
ATM_AUD = np.array([20, 40, 50, 60, 100, 100, 150, 200, 200, 300, 400], dtype=np.float64)


def generate(ctx: Ctx) -> None:
    rng = ctx.rng("benign")
    pop = ctx.pop
    n = len(pop)
    expected = ctx.txn_per_month * ctx.window.months * pop.activity
    counts = rng.poisson(expected)
    cust = np.repeat(np.arange(n, dtype=np.int32), counts)
    kind = rng.choice(len(KINDS), len(cust), p=KIND_P)
    countries = sorted(set(pop.country))
    ccode = np.array([countries.index(c) for c in pop.country], dtype=np.int32)
    for k, c in enumerate(countries):
        in_country = ccode[cust] == k
        share = float(np.mean(ccode == k))
        _card(ctx, rng, cust[in_country & (kind == 0)], c, share)
        _p2p(ctx, rng, cust[in_country & (kind == 1)], c, ccode == k)
        _bills(ctx, rng, cust[in_country & (kind == 2)], c)
        _cash(ctx, rng, cust[in_country & (kind == 3)], c)
        _wallet(ctx, rng, cust[in_country & (kind == 4)], c)
    _travel(ctx, ctx.rng("travel"))


def _card(ctx: Ctx, rng: np.random.Generator, cust: I32, country: str, share: float) -> None:
    total = int(np.clip(len(ctx.pop) * share / 8, 200, 20000))
    pool = build_domestic(rng, ctx.ledger, country, total)
    w = np.array([m.weight for m in MCCS])
    mk = rng.choice(len(MCCS), len(cust), p=w / w.sum())
    pick = pool.offset[mk] + (rng.random(len(cust)) * pool.count[mk]).astype(np.int32)
    med = np.array([m.median for m in MCCS])[mk]
    sig = np.array([m.sigma for m in MCCS])[mk]
    amount = ctx.money(np.maximum(lognormal(rng, med, sig, len(cust)), 1.0))
    days = clock.days_in(rng, ctx.window, len(cust))
    local = np.empty(len(cust), dtype=np.int64)
    kinds = np.array([m.hours for m in MCCS])[mk]
    for hk in ("day", "evening", "online"):
        sel = kinds == hk
        local[sel] = clock.at_hours(rng, days[sel], hour_profile(hk))
    mcc = np.array([m.code for m in MCCS], dtype=np.int16)[mk]
    ctx.ledger.add(
        batch(
            cust, local, pool.codes[pick], amount, CHANNEL["card"], rname=pool.names[pick], mcc=mcc
        )
    )


def _p2p(ctx: Ctx, rng: np.random.Generator, cust: I32, country: str, members: np.ndarray) -> None:
    pop, led = ctx.pop, ctx.ledger
    m = len(cust)
    to_customer = rng.random(m) < 0.25
    # Each customer has a handful of regular contacts: a stable hash plus a small offset.
    pool_size = max(100, int(1.2 * members.sum()))
    friend = (cust.astype(np.int64) * 2654435761 + rng.integers(0, 6, m) * 97) % pool_size
    used = np.unique(friend[~to_customer])
    majority = ctx.profile.majority[country]
    people = sample_people(rng, majority, ["?"] * len(used))
    if ctx.profile.p2p_rail in ("payid", "zelle"):
        ids = [f"{ctx.profile.p2p_rail}:{p}" for p in handles.phones(rng, country, len(used))]
    else:
        ids = handles.domestic_accounts(rng, ctx.profile.p2p_rail, country, len(used))
    ext_recv = led.receivers.add_many(ids, [country] * len(used), "domestic_p2p")
    ext_name = led.names.codes(p.canonical for p in people)
    slot = np.searchsorted(used, friend)
    recv = np.empty(m, dtype=np.int32)
    rname = np.empty(m, dtype=np.int32)
    recv[~to_customer] = ext_recv[slot[~to_customer]]
    rname[~to_customer] = ext_name[slot[~to_customer]]
    idx = np.flatnonzero(members)
    target = idx[
        (
            cust[to_customer].astype(np.int64) * 7
            + rng.integers(1, 6, int(to_customer.sum())) * 104729
        )
        % len(idx)
    ]
    used_t = np.unique(target)
    t_recv = led.receivers.add_many(
        [pop.p2p_handle[i] for i in used_t], [country] * len(used_t), "domestic_p2p"
    )
    t_name = led.names.codes(pop.names[i] for i in used_t)
    ts = np.searchsorted(used_t, target)
    recv[to_customer] = t_recv[ts]
    rname[to_customer] = t_name[ts]
    refs = np.array([led.refs.code(r) for r in P2P_REFS], dtype=np.int32)
    ref = np.where(rng.random(m) < 0.5, refs[rng.integers(0, len(refs), m)], -1)
    amount = ctx.money(np.maximum(lognormal(rng, 45, 0.9, m), 2.0))
    local = clock.at_hours(rng, clock.days_in(rng, ctx.window, m), clock.HOURS_EVENING)
    led.add(batch(cust, local, recv, amount, CHANNEL["p2p"], rname=rname, ref=ref))


def _bills(ctx: Ctx, rng: np.random.Generator, cust: I32, country: str) -> None:
    led = ctx.ledger
    kinds = ("Power", "Water", "Insurance", "Council", "Mobile", "Internet", "Gym", "Strata")
    nb = 48
    ids = handles.domestic_accounts(rng, ctx.profile.bank_rail, country, nb)
    recv = led.receivers.add_many(ids, [country] * nb, "biller")
    names = led.names.codes(f"{kinds[k % len(kinds)]} Co {k // len(kinds) + 1}" for k in range(nb))
    m = len(cust)
    pick = (cust.astype(np.int64) * 31 + rng.integers(0, 4, m) * 7) % nb
    refs = np.array([led.refs.code(r) for r in BILL_REFS], dtype=np.int32)
    ref = np.where(rng.random(m) < 0.8, refs[rng.integers(0, len(refs), m)], -1)
    amount = ctx.money(lognormal(rng, 120, 0.7, m))
    local = clock.at_hours(rng, clock.days_in(rng, ctx.window, m), clock.HOURS_BUSINESS)
    led.add(batch(cust, local, recv[pick], amount, CHANNEL["wire"], rname=names[pick], ref=ref))


def _cash(ctx: Ctx, rng: np.random.Generator, cust: I32, country: str) -> None:
    led = ctx.ledger
    na = 300
    recv = led.receivers.add_many(
        [f"atm:{country}{k:05d}" for k in range(na)], [country] * na, "atm"
    )
    m = len(cust)
    amount = np.round(ctx.money(ATM_AUD[rng.integers(0, len(ATM_AUD), m)]), -1)
    local = clock.at_hours(rng, clock.days_in(rng, ctx.window, m), clock.HOURS_DAY)
    led.add(batch(cust, local, recv[rng.integers(0, na, m)], amount, CHANNEL["cash"]))


def _wallet(ctx: Ctx, rng: np.random.Generator, cust: I32, country: str) -> None:
    led = ctx.ledger
    ns = 500
    recv = led.receivers.add_many(
        [f"payly:seller{country.lower()}{k:05d}" for k in range(ns)], [country] * ns, "merchant"
    )
    names = led.names.codes(f"Marketplace seller {k:05d}" for k in range(ns))
    m = len(cust)
    pick = rng.integers(0, ns, m)
    amount = ctx.money(lognormal(rng, 35, 0.8, m))
    local = clock.at_hours(rng, clock.days_in(rng, ctx.window, m), clock.HOURS_ONLINE)
    led.add(batch(cust, local, recv[pick], amount, CHANNEL["wallet"], rname=names[pick]))


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
    p_trip = min(0.8, 0.15 * ctx.window.months / 12)
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
