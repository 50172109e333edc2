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
from daybreak.synth.ledger import CHANNEL, F64, I32, I64, B, batch
from daybreak.synth.merchants import STREAM_VENDORS, VPN_VENDORS, vendor_purchases
from daybreak.synth.names import Person, family_name_keys, sample_people, variants
from daybreak.synth.population import ROLE

CORRIDOR_CULTURE = {
    "PH": "filipino",
    "TH": "thai",
    "CO": "colombian",
    "MX": "mexican",
    "DO": "dominican",
    "VN": "vietnamese",
    "ID": "indonesian",
}
# Kinds of careful payer: the first is the original one; the others are drawn in
# randomised worlds (see daybreak.synth.careful for what each does).
CAREFUL_KINDS = (
    "careful",
    "careful_steady",
    "careful_split_wallets",
    "careful_crypto",
    "careful_family_mimic",
)
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
    pop, b = ctx.pop, ctx.profile.behaviour
    payers = pop.members("payer")
    p = len(payers)
    n_rings = max(1, round(p / b.payers_per_ring))
    corridors = [c for c, _ in ctx.profile.corridors]
    cw = np.array([w for _, w in ctx.profile.corridors])
    ring_country = [corridors[i] for i in rng.choice(len(corridors), n_rings, p=cw / cw.sum())]
    ring_service = [handles.SERVICES[i] for i in rng.integers(0, len(handles.SERVICES), n_rings)]
    fac = Facilitators()
    ring_facs: list[list[int]] = []
    for r in range(n_rings):
        size = int(rng.choice([1, 2, 3], p=_normalised(b.ring_size_p)))
        c = ring_country[r]
        genders = ["F" if x < b.female_facilitator_share else "M" for x in rng.random(size)]
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
    pop_w = 1.0 / (1.0 + rng.permutation(n_rings)) ** b.ring_popularity
    main_ring = rng.choice(n_rings, p, p=pop_w / pop_w.sum())
    careful = rng.random(p) < ctx.profile.careful_share
    known = np.zeros(p, dtype=bool)
    if p >= 5:
        known[rng.choice(p, max(1, round(b.known_share * p)), replace=False)] = True
    heavy = ~careful & (rng.random(p) < b.heavy_share)
    travel = ~careful & (rng.random(p) < b.travel_share)
    escal = ~careful & (rng.random(p) < b.escalation_share)
    scenario = []
    for i in range(p):
        flags = (careful[i], known[i], heavy[i], travel[i], escal[i], True)
        scenario.append(SCENARIOS[flags.index(True)])
    _careful_kinds(ctx, careful, scenario)
    facs: list[list[int]] = []
    by_country: dict[str, list[int]] = {}
    for f, c in enumerate(fac.country):
        by_country.setdefault(c, []).append(f)
    for i in range(p):
        own = ring_facs[main_ring[i]]
        chosen = [own[0]] if careful[i] else list(own[: 1 + rng.integers(0, len(own))])
        if not careful[i]:
            extra = rng.poisson(b.extra_facilitators)
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


def _normalised(weights: tuple[float, ...]) -> F64:
    w = np.asarray(weights, dtype=np.float64)
    out: F64 = w / w.sum()
    return out


def _careful_kinds(ctx: Ctx, careful: B, scenario: list[str]) -> None:
    """Give each careful payer a kind (its scenario name), from the profile's mix. The
    hand-written profiles have one kind, "careful", and draw nothing here."""
    kinds = [(k, w) for k, w in ctx.profile.behaviour.careful_kinds if w > 0]
    unknown = sorted({k for k, _ in kinds} - set(CAREFUL_KINDS))
    if unknown:
        raise ValueError(f"unknown careful-payer kinds {unknown}; expected: {CAREFUL_KINDS}")
    if [k for k, _ in kinds] == ["careful"]:
        return
    rng = ctx.rng("payers.careful_kinds")
    who = np.flatnonzero(careful)
    pick = rng.choice(len(kinds), len(who), p=_normalised(tuple(w for _, w in kinds)))
    for i, k in zip(who, pick, strict=True):
        scenario[int(i)] = kinds[int(k)][0]


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


def generate(ctx: Ctx, pl: PayerPlan) -> I64:
    """Payments of every payer but the newer careful kinds (daybreak.synth.careful adds
    theirs); returns when each payer starts paying (filled in for those payers only)."""
    start = np.zeros(len(pl.payers), dtype=np.int64)
    if len(pl.payers) == 0:
        return start
    sel = np.flatnonzero(~np.isin(np.array(pl.scenario), CAREFUL_KINDS[1:]))
    add_payments(pl, _payments(ctx, ctx.rng("payers.payments"), pl, sel, start))
    return start


def add_payments(pl: PayerPlan, more: Payments) -> None:
    if len(more.cust) == 0:
        return
    if len(pl.pay_cust) == 0:
        pl.pay_cust, pl.pay_fac, pl.pay_local = more.cust, more.fac, more.local
        pl.pay_case, pl.pay_recv = more.case, more.recv
        return
    pl.pay_cust = np.concatenate([pl.pay_cust, more.cust])
    pl.pay_fac = np.concatenate([pl.pay_fac, more.fac])
    pl.pay_local = np.concatenate([pl.pay_local, more.local])
    pl.pay_case = np.concatenate([pl.pay_case, more.case])
    pl.pay_recv = np.concatenate([pl.pay_recv, more.recv])


@dataclass
class Payments:
    """Abuse payments made by some payers (for the cross-source step)."""

    cust: I32
    fac: I32
    local: I64
    case: I32
    recv: I32


def no_payments() -> Payments:
    i32, i64 = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    return Payments(i32, i32.copy(), i64, i32.copy(), i32.copy())


def start_times(ctx: Ctx, rng: np.random.Generator, k: int) -> I64:
    """When each of ``k`` payers starts paying: 60 % before the window, others later."""
    w = ctx.window
    span = w.end_us - w.start_us
    late = np.where(rng.random(k) < 0.6, 0.0, 0.5)
    out: I64 = (w.start_us + rng.random(k) * late * span).astype(np.int64)
    return out


def _payments(
    ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, sel: I64, start_all: I64
) -> Payments:
    """Payments of the payers at positions ``sel`` (all but the newer careful kinds)."""
    led, w, b = ctx.ledger, ctx.window, ctx.profile.behaviour
    p = len(sel)
    if p == 0:
        return no_payments()
    sc = np.array(pl.scenario)[sel]
    careful = pl.careful[sel]
    rate = np.where(careful, b.careful_rate, b.payer_rate) * lognormal(rng, 1.0, 0.5, p)
    rate = np.where(sc == "heavy_repeater", b.heavy_rate * lognormal(rng, 1.0, 0.3, p), rate)
    start = start_times(ctx, rng, p)
    start_all[sel] = start
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
    night_share = np.where(careful, b.careful_night_share, rng.uniform(*b.night_share, p))[who]
    at_night = rng.random(m) < night_share
    local = np.where(
        at_night,
        clock.at_hours(rng, day, clock.HOURS_NIGHT),
        clock.at_hours(rng, day, clock.HOURS_EVENING),
    )
    median = np.where(
        careful,
        b.careful_median,
        np.where(sc == "heavy_repeater", b.heavy_median, b.payer_median),
    )[who]
    amount = lognormal(rng, median, 0.5, m)
    growth = rng.uniform(*b.escalation_growth, p)[who]
    amount = np.where(escalating, amount * np.exp(np.log(growth) * u) / 1.8, amount)
    # Often round in the sender's currency (FATF 2025).
    amount = ctx.money(np.clip(amount, 5.0, 3000.0))
    rounded = rng.random(m) < b.round_share
    amount = np.where(rounded, np.maximum(10.0, np.round(amount, -1)), amount)
    # Facilitator per payment: the main one most often.
    facs = [pl.facs[int(i)] for i in sel]
    nf = np.array([len(f) for f in facs])
    slot = np.minimum((rng.random(m) ** 2.0 * nf[who]).astype(np.int64), nf[who] - 1)
    fac_table = np.full((p, int(nf.max())), -1, dtype=np.int64)
    for i, fl in enumerate(facs):
        fac_table[i, : len(fl)] = fl
    fac = fac_table[who, slot]
    ch_p = np.where(careful[:, None], b.channels_careful, b.channels_bold)
    ch_cum = np.cumsum(ch_p, axis=1)[who]
    ch_k = (rng.random(m)[:, None] > ch_cum).sum(axis=1).clip(0, len(CH_ORDER) - 1)
    recv, rname = _receivers(ctx, rng, pl, fac, ch_k)
    ref = _references(ctx, rng, pl, careful, who, fac)
    cust = pl.payers[sel][who].astype(np.int32)
    cust = switch_linked(rng, pl, sel[who], cust, day)
    channel = np.array([CHANNEL[c] for c in CH_ORDER], dtype=np.int8)[ch_k]
    case = pl.case[sel][who]
    led.add(batch(cust, local, recv, amount, channel, rname=rname, ref=ref, case=case))
    return Payments(cust, fac.astype(np.int32), local, case, recv)


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


def _references(
    ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, careful: B, who: I64, fac: I64
) -> I32:
    led, m, b = ctx.ledger, len(who), ctx.profile.behaviour
    cover = np.where(careful, b.careful_cover_share, rng.uniform(*b.cover_share, len(careful)))
    cover = cover[who]
    u = rng.random(m)
    words = np.array([led.refs.code(c) for c in b.cover_words], dtype=np.int32)
    styles = [(c.capitalize(), f"{b.for_word} {c}", c.upper()) for c in b.cover_words]
    styled = np.array([led.refs.code(s) for forms in styles for s in forms], dtype=np.int32)
    plain = np.array([led.refs.code(c) for c in b.plain_refs], dtype=np.int32)
    handle = np.array([led.refs.code("@" + h) for h in pl.fac.username], dtype=np.int32)
    ref = np.full(m, -1, dtype=np.int32)
    cov = u < cover
    ref[cov] = np.where(
        rng.random(int(cov.sum())) < 0.5,
        words[rng.integers(0, len(words), int(cov.sum()))],
        styled[rng.integers(0, len(styled), int(cov.sum()))],
    )
    hand = (u >= cover) & (u < cover + np.where(careful[who], 0.0, b.handle_share))
    ref[hand] = handle[fac[hand]]
    rest = ~cov & ~hand & (rng.random(m) < b.plain_ref_share)
    ref[rest] = plain[rng.integers(0, len(plain), int(rest.sum()))]
    return ref


def switch_linked(rng: np.random.Generator, pl: PayerPlan, who: I64, cust: I32, day: I64) -> I32:
    """A known offender's payments move to his second account part-way (``who`` holds
    payer positions)."""
    for i, j in pl.linked.items():
        rows = np.flatnonzero(who == i)
        if len(rows) < 2:
            continue
        cut = np.quantile(day[rows], rng.uniform(0.3, 0.7))
        cust[rows[day[rows] >= cut]] = j
    return cust


def related_purchases(ctx: Ctx, pl: PayerPlan, start: I64) -> None:
    """VPN subscriptions, streaming credits near payments and trips to offend, once every
    payer's payments are in ``pl``."""
    if len(pl.payers) == 0:
        return
    rng = ctx.rng("payers.purchases")
    sc = np.array(pl.scenario)
    w, p, b = ctx.window, len(pl.payers), ctx.profile.behaviour
    # VPN / encryption subscriptions (FINTRAC): monthly from the first payment on.
    vpn = rng.random(p) < np.where(pl.careful, b.careful_vpn_share, b.vpn_share)
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
    buys = rng.random(len(pl.pay_cust)) < b.stream_credit_share
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
