"""Payers for live-streamed abuse, and the facilitators they pay.

Grounded in ../shared/research/payments-indicators.md: frequent low-value corridor
payments (AUD 10-100, median ≈ 50; AUSTRAC, AIC T&I 639), escalation (AUSTRAC; AIC 589),
night-time (FATF 2025), cover words (AUSTRAC, FATF), several facilitators without family
ties (Westpac claim; FINTRAC), facilitators shared by many payers (AUSTRAC), related
purchases (FINTRAC), channel risk (FinCEN), a few heavy repeaters (AIC 589), known
offenders with second accounts (Westpac) - and careful payers who show few of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from daybreak.synth import benign, clock, handles
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I32, I64, B, batch
from daybreak.synth.merchants import STREAM_VENDORS, VPN_VENDORS, vendor_purchases
from daybreak.synth.names import Person, family_name_keys, sample_people, variants
from daybreak.synth.population import ROLE

CORRIDOR_CULTURE = {
    "PH": "filipino",
    "TH": "thai",
    "CO": "colombian",
    "MX": "mexican",
    "DO": "dominican",
}
COVER_WORDS = (
    "school fees",
    "gift",
    "medical bills",
    "uniform",
    "accommodation",
    "family support",
    "education",
    "allowance",
    "tuition",
    "bday gift",
    "load",
    "expenses",
)
PLAIN_REFS = ("transfer", "payment", "thanks", "for you")
SCENARIOS = (
    "careful",
    "known_offender",
    "heavy_repeater",
    "travel_to_offend",
    "escalation",
    "frequent_low_value",
)
# Channel preferences (remittance, wallet, p2p, crypto, wire): FinCEN/FINTRAC channel risk.
CH_ORDER = ("remittance", "wallet", "p2p", "crypto", "wire")
CH_BOLD = (0.45, 0.25, 0.15, 0.08, 0.07)
CH_CAREFUL = (0.6, 0.1, 0.0, 0.0, 0.3)


@dataclass
class Facilitators:
    people: list[Person] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    ring: list[int] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    wallet: list[str] = field(default_factory=list)
    bank: list[str] = field(default_factory=list)
    crypto: list[str] = field(default_factory=list)
    service: list[str] = field(default_factory=list)
    account: list[str] = field(default_factory=list)
    username: list[str] = field(default_factory=list)
    ip: list[str] = field(default_factory=list)


@dataclass
class PayerPlan:
    payers: I64  # customer index of each payer's main account
    scenario: list[str]
    careful: B
    case: I32  # case id = the payer's main facilitator ring
    facs: list[list[int]]  # facilitators each payer pays, main first
    linked: dict[int, int]  # payer position -> customer index of a second account
    ring_country: list[str]
    ring_service: list[str]
    fac: Facilitators
    # Filled by generate(): each abuse payment (for the cross-source step).
    pay_cust: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    pay_fac: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    pay_local: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pay_case: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    pay_recv: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))


def plan(ctx: Ctx) -> PayerPlan:
    rng = ctx.rng("payers.plan")
    pop = ctx.pop
    payers = pop.members("payer")
    p = len(payers)
    n_rings = max(1, round(p / 4))
    corridors = [c for c, _ in ctx.profile.corridors]
    cw = np.array([w for _, w in ctx.profile.corridors])
    ring_country = [corridors[i] for i in rng.choice(len(corridors), n_rings, p=cw / cw.sum())]
    ring_service = [handles.SERVICES[i] for i in rng.integers(0, len(handles.SERVICES), n_rings)]
    fac = Facilitators()
    ring_facs: list[list[int]] = []
    for r in range(n_rings):
        size = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        c = ring_country[r]
        genders = ["F" if x < 0.8 else "M" for x in rng.random(size)]
        people = sample_people(rng, CORRIDOR_CULTURE[c], genders)
        ph = handles.phones(rng, c, size)
        ring_facs.append(list(range(len(fac.people), len(fac.people) + size)))
        fac.people += people
        fac.country += [c] * size
        fac.ring += [r] * size
        fac.phone += ph
        fac.wallet += handles.wallet_handles(rng, c, ph)
        fac.bank += handles.bank_accounts(rng, c, size)
        fac.crypto += handles.crypto_wallets(rng, size)
        fac.service += [ring_service[r]] * size
        fac.account += handles.account_ids(rng, size)
        fac.username += [
            f"{pp.given.lower()}_{int(x)}"
            for pp, x in zip(people, rng.integers(10, 99, size), strict=True)
        ]
        fac.ip += handles.ips(rng, [c] * size)
    # A few rings are very popular: many payers share their facilitators (AUSTRAC).
    pop_w = 1.0 / (1.0 + rng.permutation(n_rings)) ** 1.1
    main_ring = rng.choice(n_rings, p, p=pop_w / pop_w.sum())
    careful = rng.random(p) < ctx.profile.careful_share
    known = np.zeros(p, dtype=bool)
    if p >= 5:
        known[rng.choice(p, max(1, round(0.08 * p)), replace=False)] = True
    heavy = ~careful & (rng.random(p) < 0.06)
    travel = ~careful & (rng.random(p) < 0.12)
    escal = ~careful & (rng.random(p) < 0.35)
    scenario = []
    for i in range(p):
        flags = (careful[i], known[i], heavy[i], travel[i], escal[i], True)
        scenario.append(SCENARIOS[flags.index(True)])
    facs: list[list[int]] = []
    by_country: dict[str, list[int]] = {}
    for f, c in enumerate(fac.country):
        by_country.setdefault(c, []).append(f)
    for i in range(p):
        own = ring_facs[main_ring[i]]
        chosen = [own[0]] if careful[i] else list(own[: 1 + rng.integers(0, len(own))])
        if not careful[i]:
            extra = rng.poisson(1.2)
            pool = by_country[ring_country[main_ring[i]]]
            for f in rng.choice(pool, min(extra, len(pool)), replace=False):
                if int(f) not in chosen:
                    chosen.append(int(f))
        facs.append(chosen)
        # No family tie between payer and facilitator (FINTRAC, Westpac).
        payer_keys = family_name_keys(pop.names[payers[i]])[1]
        for f in chosen:
            if family_name_keys(fac.people[f].canonical)[0] & payer_keys:
                (fac.people[f],) = sample_people(rng, CORRIDOR_CULTURE[fac.country[f]], ["F"])
    linked = _link_second_accounts(ctx, rng, payers, known)
    for k in np.flatnonzero(known):
        pop.known_offender[int(payers[k])] = True
    return PayerPlan(
        payers,
        scenario,
        careful,
        main_ring.astype(np.int32),
        facs,
        linked,
        ring_country,
        ring_service,
        fac,
    )


def _link_second_accounts(
    ctx: Ctx, rng: np.random.Generator, payers: I64, known: B
) -> dict[int, int]:
    """Westpac: an offender opened accounts after release. The second account is an
    ordinary customer row re-used for the same person: another spelling of the name, the
    same birth year and phone, and no known_offender flag."""
    pop = ctx.pop
    benign = pop.members("benign")
    linked: dict[int, int] = {}
    for i in np.flatnonzero(known):
        if rng.random() > 0.7 or len(benign) == 0:
            continue
        j = int(benign[rng.integers(0, len(benign))])
        benign = benign[benign != j]
        src = int(payers[i])
        person = pop.people[src]
        forms = variants(person)
        pop.people[j] = person
        pop.names[j] = forms[min(len(forms) - 1, 1 + int(rng.integers(0, 2)))]
        pop.birth_year[j] = pop.birth_year[src]
        pop.gender[j] = pop.gender[src]
        pop.tz[j] = pop.tz[src]
        pop.country[j] = pop.country[src]
        pop.phone[j] = pop.phone[src]
        pop.known_offender[j] = None
        pop.role[j] = ROLE["payer_linked_account"]
        linked[int(i)] = j
    return linked


def generate(ctx: Ctx, pl: PayerPlan) -> None:
    rng = ctx.rng("payers.payments")
    led, w = ctx.ledger, ctx.window
    p = len(pl.payers)
    if p == 0:
        return
    sc = np.array(pl.scenario)
    rate = np.where(pl.careful, 1.5, 5.0) * lognormal(rng, 1.0, 0.5, p)
    rate = np.where(sc == "heavy_repeater", 45.0 * lognormal(rng, 1.0, 0.3, p), rate)
    span = w.end_us - w.start_us
    late = np.where(rng.random(p) < 0.6, 0.0, 0.5)
    start: I64 = (w.start_us + rng.random(p) * late * span).astype(np.int64)
    end = np.full(p, w.end_us, dtype=np.int64)
    months = (end - start) / (30.44 * clock.US_PER_DAY)
    count = rng.poisson(rate * months) + 2
    who = np.repeat(np.arange(p), count)
    m = len(who)
    u = rng.random(m)
    escalating = np.isin(sc, ["escalation", "heavy_repeater"])[who]
    # Escalation: later payments come closer together (density rising) and grow larger.
    u = np.where(escalating, u ** (1 / 2.2), u)
    day = start[who] + (u * (end - start)[who]).astype(np.int64)
    day = w.start_us + ((day - w.start_us) // clock.US_PER_DAY) * clock.US_PER_DAY
    night_share = np.where(pl.careful, 0.1, rng.uniform(0.55, 0.9, p))[who]
    at_night = rng.random(m) < night_share
    local = np.where(
        at_night,
        clock.at_hours(rng, day, clock.HOURS_NIGHT),
        clock.at_hours(rng, day, clock.HOURS_EVENING),
    )
    median = np.where(pl.careful, 75.0, np.where(sc == "heavy_repeater", 42.0, 50.0))[who]
    amount = lognormal(rng, median, 0.5, m)
    growth = rng.uniform(2.5, 5.0, p)[who]
    amount = np.where(escalating, amount * np.exp(np.log(growth) * u) / 1.8, amount)
    # Often round in the sender's currency (FATF 2025).
    amount = ctx.money(np.clip(amount, 5.0, 3000.0))
    rounded = rng.random(m) < 0.35
    amount = np.where(rounded, np.maximum(10.0, np.round(amount, -1)), amount)
    # Facilitator per payment: the main one most often.
    nf = np.array([len(f) for f in pl.facs])
    slot = np.minimum((rng.random(m) ** 2.0 * nf[who]).astype(np.int64), nf[who] - 1)
    fac_table = np.full((p, int(nf.max())), -1, dtype=np.int64)
    for i, fl in enumerate(pl.facs):
        fac_table[i, : len(fl)] = fl
    fac = fac_table[who, slot]
    ch_p = np.where(pl.careful[:, None], CH_CAREFUL, CH_BOLD)
    ch_cum = np.cumsum(ch_p, axis=1)[who]
    ch_k = (rng.random(m)[:, None] > ch_cum).sum(axis=1).clip(0, len(CH_ORDER) - 1)
    recv, rname = _receivers(ctx, rng, pl, fac, ch_k)
    ref = _references(ctx, rng, pl, who, fac)
    cust = pl.payers[who].astype(np.int32)
    cust = _switch_linked(rng, pl, who, cust, day)
    channel = np.array([CHANNEL[c] for c in CH_ORDER], dtype=np.int8)[ch_k]
    case = pl.case[who]
    led.add(batch(cust, local, recv, amount, channel, rname=rname, ref=ref, case=case))
    pl.pay_cust, pl.pay_fac, pl.pay_local, pl.pay_case, pl.pay_recv = (
        cust,
        fac.astype(np.int32),
        local,
        case,
        recv,
    )
    _related_purchases(ctx, ctx.rng("payers.purchases"), pl, sc, start)


def _receivers(
    ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, fac: I64, ch_k: I64
) -> tuple[I32, I32]:
    led, f = ctx.ledger, pl.fac
    # wallet/p2p -> wallet handle; remittance -> wallet or bank; wire -> bank; crypto -> wallet.
    use_bank = (ch_k == 4) | ((ch_k == 0) & (rng.random(len(fac)) < 0.4))
    kind = np.where(ch_k == 3, 2, np.where(use_bank, 1, 0))
    recv = np.empty(len(fac), dtype=np.int32)
    for key in np.unique(fac * 3 + kind):
        fi, k = divmod(int(key), 3)
        rid = (f.wallet, f.bank, f.crypto)[k][fi]
        code = led.receivers.add(rid, f.country[fi], "facilitator", 1, f.ring[fi])
        recv[(fac == fi) & (kind == k)] = code
    var_codes = [led.names.codes(variants(person)[:4]) for person in f.people]
    pick = rng.integers(0, 4, len(fac))
    rname = np.array(
        [var_codes[fi][k % len(var_codes[fi])] for fi, k in zip(fac, pick, strict=True)],
        dtype=np.int32,
    )
    return recv, rname


def _references(ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, who: I64, fac: I64) -> I32:
    led, m = ctx.ledger, len(who)
    cover = np.where(pl.careful, 0.04, rng.uniform(0.35, 0.85, len(pl.payers)))[who]
    u = rng.random(m)
    words = np.array([led.refs.code(c) for c in COVER_WORDS], dtype=np.int32)
    styled = np.array(
        [led.refs.code(s) for c in COVER_WORDS for s in (c.capitalize(), f"for {c}", c.upper())],
        dtype=np.int32,
    )
    plain = np.array([led.refs.code(c) for c in PLAIN_REFS], dtype=np.int32)
    handle = np.array([led.refs.code("@" + h) for h in pl.fac.username], dtype=np.int32)
    ref = np.full(m, -1, dtype=np.int32)
    cov = u < cover
    ref[cov] = np.where(
        rng.random(int(cov.sum())) < 0.5,
        words[rng.integers(0, len(words), int(cov.sum()))],
        styled[rng.integers(0, len(styled), int(cov.sum()))],
    )
    hand = (u >= cover) & (u < cover + np.where(pl.careful[who], 0.0, 0.08))
    ref[hand] = handle[fac[hand]]
    rest = ~cov & ~hand & (rng.random(m) < 0.3)
    ref[rest] = plain[rng.integers(0, len(plain), int(rest.sum()))]
    return ref


def _switch_linked(rng: np.random.Generator, pl: PayerPlan, who: I64, cust: I32, day: I64) -> I32:
    for i, j in pl.linked.items():
        rows = np.flatnonzero(who == i)
        if len(rows) < 2:
            continue
        cut = np.quantile(day[rows], rng.uniform(0.3, 0.7))
        cust[rows[day[rows] >= cut]] = j
    return cust


def _related_purchases(
    ctx: Ctx,
    rng: np.random.Generator,
    pl: PayerPlan,
    sc: np.ndarray,
    start: I64,
) -> None:
    w, p = ctx.window, len(pl.payers)
    # VPN / encryption subscriptions (FINTRAC): monthly from the first payment on.
    vpn = rng.random(p) < np.where(pl.careful, 0.1, 0.55)
    rows_c, rows_t, rows_v = [], [], []
    for i in np.flatnonzero(vpn):
        t = int(start[i])
        v = int(rng.integers(0, len(VPN_VENDORS)))
        while t < w.end_us:
            rows_c.append(int(pl.payers[i]))
            rows_t.append(t)
            rows_v.append(v)
            t += 30 * clock.US_PER_DAY
    # Webcam / streaming credits bought close to corridor payments.
    buys = rng.random(len(pl.pay_cust)) < 0.2
    careful_cust = set(int(pl.payers[i]) for i in np.flatnonzero(pl.careful))
    for c, t in zip(pl.pay_cust[buys], pl.pay_local[buys], strict=True):
        if int(c) in careful_cust:
            continue
        rows_c.append(int(c))
        rows_t.append(int(t) - int(rng.integers(5, 120)) * 60 * clock.US_PER_S)
        rows_v.append(len(VPN_VENDORS) + int(rng.integers(0, len(STREAM_VENDORS))))
    vendor_purchases(
        ctx,
        rng,
        np.array(rows_c, dtype=np.int64),
        np.array(rows_t, dtype=np.int64),
        np.array(rows_v, dtype=np.int64),
    )
    # Travelling to offend (FINTRAC 2025): flights and long stays in the corridor.
    trav = np.flatnonzero(sc == "travel_to_offend")
    if len(trav):
        length = rng.integers(10, 31, len(trav)).astype(np.int64)
        length = np.minimum(length, w.days - 1)
        begin = (
            w.start_us
            + (rng.random(len(trav)) * (w.days - length)).astype(np.int64) * clock.US_PER_DAY
        )
        dest = [pl.ring_country[int(pl.case[i])] for i in trav]
        benign.trip_rows(
            ctx,
            rng,
            pl.payers[trav].astype(np.int32),
            dest,
            begin,
            length,
            per_day=3.0,
            atm_per_trip=6.0,
            case=pl.case[trav],
        )
