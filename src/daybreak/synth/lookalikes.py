"""Benign look-alikes that cause false positives (payments-indicators.md, "What makes it
hard"): diaspora family remittances, payroll to overseas freelancers, child sponsorship
through charities and romance-scam victims. Their beneficiaries are labelled 0 with
their scenario."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from daybreak.synth import clock, handles
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I32, I64, batch
from daybreak.synth.names import relatives, sample_people, variants
from daybreak.synth.names_data import CULTURES

# What senders of some cultures write instead (Filipino "padala" = remittance).
CULTURE_REFS = {
    "filipino": ("padala", "for Nanay", "pang gastos", "para kay Tatay"),
    "colombian": ("para mamá", "ayuda familiar", "gastos de la casa"),
    "mexican": ("para mamá", "ayuda familiar", "gastos de la casa"),
    "dominican": ("para mamá", "ayuda familiar", "remesa"),
    "thai": ("for mae", "family money"),
}
PAYROLL_REFS = (
    "Invoice INV-{y}{m:02d}-{k:03d}",
    "VA services {mon}",
    "Payroll {mon} {y}",
    "Web dev contract {mon}",
    "Bookkeeping {mon}",
    "Design work inv {k}",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CHARITIES = (
    "Hope Children's Foundation Inc.",
    "Bright Future Child Sponsorship",
    "Little Hands Mission",
    "Sunrise Children's Fund",
    "Kalinga Kids Foundation",
)
ROMANCE_REFS = (
    "loan",
    "visa fees",
    "medical bills",
    "flight ticket",
    "customs fee",
    "hospital",
    "for us",
    "gift",
    "rent help",
    "emergency",
)
FREELANCE_COUNTRIES = (("PH", 0.55), ("IN", 0.2), ("CO", 0.1), ("MX", 0.1), ("TH", 0.05))
ROMANCE_COUNTRIES = (("NG", 0.35), ("GH", 0.2), ("MY", 0.15), ("PH", 0.2), ("TH", 0.1))
CULTURE_OF = {
    "PH": "filipino",
    "IN": "indian",
    "CO": "colombian",
    "MX": "mexican",
    "TH": "thai",
    "NG": "west_african",
    "GH": "west_african",
    "MY": "chinese",
    "DO": "dominican",
    "VN": "vietnamese",
    "CN": "chinese",
    "ID": "indonesian",
}


def generate(ctx: Ctx) -> None:
    _family(ctx, ctx.rng("lookalike.family"))
    _freelancers(ctx, ctx.rng("lookalike.freelancers"))
    _charity(ctx, ctx.rng("lookalike.charity"))
    _romance(ctx, ctx.rng("lookalike.romance"))


def payout_handle(rng: np.random.Generator, country: str) -> str:
    return payout_handles(rng, [country])[0]


def payout_handles(rng: np.random.Generator, countries: list[str]) -> list[str]:
    """A wallet handle (60%) or a bank account in each country."""
    out = [""] * len(countries)
    wallet = rng.random(len(countries)) < 0.6
    for c in sorted(set(countries)):
        idx = [i for i, x in enumerate(countries) if x == c]
        ph = handles.phones(rng, c, len(idx))
        wl = handles.wallet_handles(rng, c, ph) if c in handles.PROVIDERS else ph
        bk = handles.bank_accounts(rng, c, len(idx))
        for k, i in enumerate(idx):
            out[i] = wl[k] if wallet[i] and c in handles.PROVIDERS else bk[k]
    return out


def _family(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w, b = ctx.pop, ctx.ledger, ctx.window, ctx.profile.behaviour
    who = pop.members("family_remitter")
    k = len(who)
    if k == 0:
        return
    # 1-3 family members each, in the home country of the sender's culture; most share
    # the family name (payments-indicators.md: family ties separate remittances).
    nb = rng.choice([1, 2, 3], k, p=[0.55, 0.35, 0.1])
    owner = np.repeat(np.arange(k), nb)
    cult = [pop.culture[who[o]] for o in owner]
    home = [CULTURES[c].country for c in cult]
    genders = ["F" if x < 0.65 else "M" for x in rng.random(len(owner))]
    rel = relatives(
        rng,
        [pop.people[who[o]] for o in owner],
        cult,
        genders,
        rng.random(len(owner)) < b.family_shared_surname,
    )
    ids = payout_handles(rng, home)
    recv = np.array(
        [led.receivers.add(r, c, "family") for r, c in zip(ids, home, strict=True)], dtype=np.int32
    )
    var = np.array(
        [[led.names.code(v) for v in (variants(p)[:3] * 3)[:3]] for p in rel], dtype=np.int32
    )
    first = np.concatenate([[0], np.cumsum(nb)[:-1]])
    # Near payday: each payday of the sender's pay group, with a personal probability.
    table = clock.payday_table(w, ctx.profile.payday)
    width = table.shape[1]
    grp = pop.pay_group[who] % len(table)
    p_send = rng.uniform(0.55, 1.0, k)
    send = (rng.random((k, width)) < p_send[:, None]) & (table[grp] >= 0)
    r, col = np.nonzero(send)
    day = table[grp[r], col] + rng.integers(0, 3, len(r)) * clock.US_PER_DAY
    slot = np.where(rng.random(len(r)) < 0.7, 0, (rng.random(len(r)) * nb[r]).astype(np.int64))
    ben = first[r] + slot
    # Occasional small gifts (birthdays, Christmas) to the main family member.
    g_n = rng.poisson(w.months / 4, k)
    g_r = np.repeat(np.arange(k), g_n)
    g_day = w.start_us + rng.integers(0, w.days, len(g_r)) * clock.US_PER_DAY
    rows_r = np.concatenate([r, g_r])
    gift = np.concatenate([np.zeros(len(r), dtype=bool), np.ones(len(g_r), dtype=bool)])
    ben = np.concatenate([ben, first[g_r]])
    day = np.concatenate([day, g_day]).astype(np.int64)
    m = len(rows_r)
    # Larger than abuse payments (AUD 150-600 typical), often round; gifts are small.
    amount = ctx.money(
        np.where(gift, lognormal(rng, 80, 0.4, m), lognormal(rng, b.family_median, 0.55, m))
    )
    amount = np.where(rng.random(m) < 0.6, np.round(amount, -1), amount)
    fam = np.array([led.refs.code(x) for x in b.family_refs], dtype=np.int32)
    gifts = np.array([led.refs.code(x) for x in b.gift_refs], dtype=np.int32)
    ref = np.where(gift, gifts[rng.integers(0, len(gifts), m)], fam[rng.integers(0, len(fam), m)])
    own_words = rng.random(m) < 0.4
    sender_culture = np.array(pop.culture)[who[rows_r]]
    for culture_key, words in CULTURE_REFS.items():
        sel = own_words & ~gift & (sender_culture == culture_key)
        codes = np.array([led.refs.code(x) for x in words], dtype=np.int32)
        ref[sel] = codes[rng.integers(0, len(codes), int(sel.sum()))]
    ref = np.where(rng.random(m) < 0.3, -1, ref)
    local = np.where(
        rng.random(m) < b.family_night_share,
        clock.at_hours(rng, day, clock.HOURS_NIGHT),
        clock.at_hours(rng, day, clock.HOURS_EVENING),
    )
    ch = np.array([CHANNEL["remittance"], CHANNEL["wallet"], CHANNEL["wire"]], dtype=np.int8)
    channel = ch[rng.choice(3, m, p=list(b.family_channels))]
    rname = var[ben, rng.integers(0, 3, m)]
    led.add(batch(who[rows_r], local, recv[ben], amount, channel, rname=rname, ref=ref))


def row_columns(rows: list[tuple[Any, ...]]) -> list[np.ndarray]:
    """The columns of rows built one by one (a row per tuple), as arrays."""
    return [np.array(col) for col in zip(*rows, strict=True)]


def month_local(ctx: Ctx) -> list[tuple[int, int, int, int]]:
    """(month-end local midnight us, month start us, year, month) per month of the window."""
    out = []
    y, mo = ctx.window.start.year, ctx.window.start.month
    for t in clock.month_ends(ctx.window):
        first = clock.Window(datetime(y, mo, 1), 1).start_us
        out.append((t, first, y, mo))
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return out


def _freelancers(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led = ctx.pop, ctx.ledger
    places = [c for c, _ in FREELANCE_COUNTRIES]
    pw = [w for _, w in FREELANCE_COUNTRIES]
    rows: list[tuple[int, int, int, int, float, int]] = []
    inv = 0
    months = month_local(ctx)
    for i in pop.members("freelancer_payroll"):
        for _ in range(int(rng.choice([1, 2, 3, 4], p=[0.5, 0.3, 0.15, 0.05]))):
            c = places[int(rng.choice(len(places), p=pw))]
            (person,) = sample_people(rng, CULTURE_OF[c], ["F" if rng.random() < 0.6 else "M"])
            recv = led.receivers.add(payout_handle(rng, c), c, "freelancer")
            name = led.names.code(variants(person)[int(rng.integers(0, 2))])
            fee = float(rng.choice([400, 500, 600, 800, 1000, 1200, 1500, 2000]))
            tmpl = PAYROLL_REFS[int(rng.integers(0, len(PAYROLL_REFS)))]
            for t, _, y, mo in months:
                inv += 1
                text = tmpl.format(y=y, m=mo, mon=MONTHS[mo - 1], k=inv % 1000)
                day = t - int(rng.integers(0, 3)) * clock.US_PER_DAY
                rows.append((int(i), day, recv, name, fee, led.refs.code(text)))
    if not rows:
        return
    cols = [np.array(col) for col in zip(*rows, strict=True)]
    cust, days, recvs, names, fees, ref = cols
    m = len(cust)
    # Fees round in the sender's currency; sometimes hours-based with cents.
    fees = np.round(ctx.money(fees) / 50) * 50
    amount = np.where(rng.random(m) < 0.8, fees, fees * rng.uniform(0.7, 1.3, m))
    ch = np.array([CHANNEL["wire"], CHANNEL["remittance"], CHANNEL["wallet"]], dtype=np.int8)
    channel = ch[rng.choice(3, m, p=[0.5, 0.4, 0.1])]
    local = clock.at_hours(rng, days.astype(np.int64), clock.HOURS_BUSINESS)
    led.add(batch(cust, local, recvs, amount, channel, rname=names, ref=ref))


def _charity(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led = ctx.pop, ctx.ledger
    corridors = [c for c, _ in ctx.profile.corridors]
    orgs = []
    for k, title in enumerate(CHARITIES):
        c = corridors[k % len(corridors)]
        rid = handles.bank_accounts(rng, c, 1)[0]
        orgs.append((led.receivers.add(rid, c, "charity"), led.names.code(title), c))
    domestic = led.receivers.add(f"mid:8398{ctx.home}charity", ctx.home, "merchant")
    dname = led.names.code(
        "Child Sponsorship Australia-wide Appeal"
        if ctx.home == "AU"
        else "Child Sponsorship Appeal"
    )
    rows_c, rows_t, rows_r, rows_n, rows_a, rows_ref, rows_card = [], [], [], [], [], [], []
    months = month_local(ctx)
    for i in pop.members("charity_sponsor"):
        direct = rng.random() < 0.45
        org = orgs[int(rng.integers(0, len(orgs)))]
        fee = float(rng.choice([39.0, 45.0, 48.0, 52.0, 60.0]))
        dom = int(rng.integers(1, 28))
        ref = led.refs.code(f"Child sponsorship #{int(rng.integers(10000, 99999))}")
        for _, first, _, _ in months:
            rows_c.append(int(i))
            rows_t.append(first + (dom - 1) * clock.US_PER_DAY)
            rows_r.append(org[0] if direct else domestic)
            rows_n.append(org[1] if direct else dname)
            rows_a.append(fee)
            rows_ref.append(ref if direct else -1)
            rows_card.append(not direct)
    if not rows_c:
        return
    card = np.array(rows_card)
    m = len(rows_c)
    channel = np.where(
        card, CHANNEL["card"], np.where(rng.random(m) < 0.7, CHANNEL["wire"], CHANNEL["remittance"])
    )
    local = clock.at_hours(rng, np.array(rows_t, dtype=np.int64), clock.HOURS_BUSINESS)
    led.add(
        batch(
            np.array(rows_c),
            local,
            np.array(rows_r),
            np.round(ctx.money(np.array(rows_a))),
            channel,
            rname=np.array(rows_n),
            ref=np.array(rows_ref),
            mcc=np.where(card, 8398, -1),
        )
    )


def _romance(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w = ctx.pop, ctx.ledger, ctx.window
    places = [c for c, _ in ROMANCE_COUNTRIES]
    pw = [x for _, x in ROMANCE_COUNTRIES]
    refs = np.array([led.refs.code(r) for r in ROMANCE_REFS], dtype=np.int32)
    for i in pop.members("romance_victim"):
        c = places[int(rng.choice(len(places), p=pw))]
        persona_gender = "M" if pop.gender[i] == "F" else "F"
        (persona,) = sample_people(rng, CULTURE_OF[c], [persona_gender])
        recv = led.receivers.add(payout_handle(rng, c), c, "romance")
        name = led.names.code(persona.canonical)
        start = w.start_us + int(rng.integers(0, max(1, w.days // 2))) * clock.US_PER_DAY
        months = (w.end_us - start) / (30.44 * clock.US_PER_DAY)
        m = int(rng.poisson(3.0 * months)) + 3
        u = np.sort(rng.random(m))
        day: I64 = start + (u * (w.end_us - start)).astype(np.int64)
        day = day - day % clock.US_PER_DAY
        # One beneficiary, amounts escalating from hundreds into the thousands.
        amount = lognormal(rng, 150.0, 0.4, m) * np.exp(np.log(rng.uniform(15, 40)) * u)
        amount = ctx.money(np.clip(amount, 50, 20000))
        amount = np.where(rng.random(m) < 0.5, np.round(amount, -1), amount)
        ch = np.where(
            rng.random(m) < 0.15,
            CHANNEL["crypto"],
            np.where(rng.random(m) < 0.6, CHANNEL["remittance"], CHANNEL["wire"]),
        )
        local = clock.at_hours(rng, day, clock.HOURS_EVENING)
        cust: I32 = np.full(m, i, dtype=np.int32)
        led.add(
            batch(
                cust,
                local,
                recv,
                amount,
                ch,
                rname=name,
                ref=refs[rng.integers(0, len(refs), m)],
            )
        )
