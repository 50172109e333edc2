"""Private people who pay into the corridors for ordinary reasons (look-alikes, label 0).

Each imitates some indicators of payments-indicators.md and differs in what the
"What makes it hard" section says separates real look-alikes:

* ``student_parent`` → ``student``: a parent pays a son or daughter studying abroad
  every few days - small amounts (AUD ≈ 40), "allowance", "food", "rent" (in the world's
  reference language), late evening - and sometimes the monthly rent. Frequent
  low-value corridor payments (indicators 1, 5, 16) with cover-like words (6); the
  student usually shares the family name.
* ``private_sponsor`` → ``sponsored``: a fixed sum on a fixed day, monthly or quarterly,
  to a sponsored child's guardian or to a small school or parish fund that many
  unrelated sponsors pay (indicator 2's shape), "school fees", "scholarship".
* ``in_law_remitter`` → ``in_law``: a customer (mostly a man of the majority culture)
  supports his wife's family abroad: the mother-in-law and sisters-in-law share a family
  name with each other but not with him - several unrelated-looking women abroad
  (indicators 3, 4) - paid after payday, family references, larger amounts.
* ``gift_giver`` → ``gift_recipient``: occasional gifts to friends and godchildren
  abroad around Christmas, local holidays (Songkran, Tết, Lebaran, Mother's Day) and
  birthdays; several unrelated beneficiaries, "gift" (indicators 3, 6).
* ``corridor_traveller`` → ``own_account_abroad``, ``hotel``: long stays in a corridor
  country (flights, card spending, ATM cash; indicator 11's shape), money moved to
  their own account there and hotel deposits.
"""

from __future__ import annotations

import numpy as np

from daybreak.synth import clock
from daybreak.synth.benign import trip_rows
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, I32, I64, batch
from daybreak.synth.lookalikes import (
    CULTURE_OF,
    MONTHS,
    month_local,
    payout_handles,
    row_columns,
)
from daybreak.synth.names import relatives, sample_people, variants
from daybreak.synth.names_data import CULTURES

STUDY_ABROAD = ("GB", "US", "AU", "NZ", "CA", "DE")
SPONSOR_ORGS = (
    "St. Joseph Parish Scholarship Fund",
    "Bahay Pag-asa Learning Center",
    "Mercy Home Foundation",
    "Escuela Rural San Martín",
    "Little Lotus Education Fund",
    "Harapan Kita Foundation",
    "Hope Village School",
)
SPONSOR_REFS = (
    "Sponsorship {given}",
    "Scholarship {mon}",
    "school fees {given}",
    "support for {given}",
    "{given} school",
)
SPONSOR_AMOUNTS = (30.0, 40.0, 50.0, 75.0, 100.0, 150.0)  # AUD
GIFT_AMOUNTS = (20.0, 25.0, 30.0, 50.0, 75.0, 100.0, 150.0)  # AUD
# (month, day) of a holiday when people in each country get gifts, besides Christmas.
LOCAL_HOLIDAY = {
    "PH": (11, 1),
    "TH": (4, 13),
    "VN": (1, 27),
    "ID": (3, 29),
    "MX": (5, 10),
    "CO": (5, 11),
    "DO": (5, 25),
    "IN": (10, 20),
}
HOTEL_FORMS = ("{place} Bay Resort", "Hotel {place}", "{place} Guesthouse", "{place} Beach Inn")
HOTEL_PLACES = {
    "PH": ("Cebu", "Boracay", "Palawan", "Makati"),
    "TH": ("Pattaya", "Phuket", "Chiang Mai", "Hua Hin"),
    "VN": ("Da Nang", "Nha Trang", "Hoi An"),
    "ID": ("Bali", "Lombok", "Yogyakarta"),
    "CO": ("Cartagena", "Medellín", "Santa Marta"),
    "MX": ("Cancún", "Puerto Vallarta", "Tulum"),
    "DO": ("Punta Cana", "Sosúa", "Boca Chica"),
}
TRAVEL_REFS = ("own account", "travel money", "savings", "transfer to self")


def generate(ctx: Ctx) -> None:
    _students(ctx, ctx.rng("lookalike.students"))
    _sponsors(ctx, ctx.rng("lookalike.sponsors"))
    _in_laws(ctx, ctx.rng("lookalike.in_laws"))
    _gift_givers(ctx, ctx.rng("lookalike.gifts"))
    _travellers(ctx, ctx.rng("lookalike.travellers"))


def _corridor_places(ctx: Ctx, rng: np.random.Generator, n: int) -> list[str]:
    keys = [c for c, _ in ctx.profile.corridors]
    w = np.array([x for _, x in ctx.profile.corridors])
    return [keys[int(k)] for k in rng.choice(len(keys), n, p=w / w.sum())]


def _codes(ctx: Ctx, words: tuple[str, ...]) -> I32:
    return np.array([ctx.ledger.refs.code(x) for x in words], dtype=np.int32)


def _blank_some(rng: np.random.Generator, ref: I32, share_blank: float) -> I32:
    out: I32 = np.where(rng.random(len(ref)) < share_blank, -1, ref).astype(np.int32)
    return out


def _channels(rng: np.random.Generator, m: int, p: tuple[float, float, float]) -> np.ndarray:
    """Remittance, wallet or wire with probabilities ``p``."""
    ch = np.array([CHANNEL["remittance"], CHANNEL["wallet"], CHANNEL["wire"]], dtype=np.int8)
    return ch[rng.choice(3, m, p=list(p))]


def _cadence_days(rng: np.random.Generator, ctx: Ctx, every: float) -> I64:
    """Local midnights from a random first day, gaps of about ``every`` days (±40 %)."""
    w = ctx.window
    n = int(w.days / every * 1.5) + 2
    gaps = np.maximum(1, np.round(every * rng.uniform(0.6, 1.4, n))).astype(np.int64)
    days = int(rng.integers(0, max(1, int(every)))) + np.cumsum(gaps) - gaps[0]
    days = days[days < w.days]
    out: I64 = w.start_us + days * clock.US_PER_DAY
    return out


def _students(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, b = ctx.pop, ctx.ledger, ctx.profile.behaviour
    parents = pop.members("student_parent")
    if len(parents) == 0:
        return
    home = {CULTURES[c].country for c in ctx.profile.majority.values()}
    rows_c, rows_t, rows_r, rows_n, rows_a, rows_rent = [], [], [], [], [], []
    months = month_local(ctx)
    for i in parents:
        culture = pop.culture[i]
        if CULTURES[culture].country not in home and rng.random() < 0.6:
            place = CULTURES[culture].country  # studying back home
        elif rng.random() < 0.75:
            (place,) = _corridor_places(ctx, rng, 1)
        else:
            options = [c for c in STUDY_ABROAD if c not in home]
            place = options[int(rng.integers(0, len(options)))]
        gender = "F" if rng.random() < 0.5 else "M"
        (student,) = relatives(rng, [pop.people[i]], [culture], [gender], rng.random(1) < 0.9)
        (rid,) = payout_handles(rng, [place])
        recv = led.receivers.add(rid, place, "student")
        name = led.names.code(variants(student)[int(rng.integers(0, 2))])
        days = _cadence_days(rng, ctx, float(rng.uniform(*b.student_every_days)))
        median = b.student_median * float(rng.uniform(0.6, 1.4))
        amount = lognormal(rng, median, 0.35, len(days))
        rent = rng.random() < 0.5
        if rent:
            fee = float(rng.uniform(300, 800))
            firsts = np.array([first for _, first, _, _ in months], dtype=np.int64)
            days = np.concatenate([days, firsts])
            amount = np.concatenate([amount, np.full(len(firsts), fee)])
        k = len(days)
        rows_c.append(np.full(k, i))
        rows_t.append(days)
        rows_r.append(np.full(k, recv))
        rows_n.append(np.full(k, name))
        rows_a.append(amount)
        rows_rent.append(np.arange(k) >= k - (len(months) if rent else 0))
    cust, day = np.concatenate(rows_c), np.concatenate(rows_t)
    m = len(cust)
    amount = ctx.money(np.concatenate(rows_a))
    amount = np.where(rng.random(m) < 0.6, np.maximum(5.0, np.round(amount / 5) * 5), amount)
    words = _codes(ctx, b.allowance_refs)
    ref = _blank_some(rng, words[rng.integers(0, len(words), m)], 0.25)
    is_rent = np.concatenate(rows_rent)
    rent_word = words[min(2, len(words) - 1)]  # "rent" in every vocabulary's third place
    ref = np.where(is_rent, rent_word, ref)
    local = clock.at_hours(rng, day, clock.HOURS_LATE_EVENING)
    led.add(
        batch(
            cust,
            local,
            np.concatenate(rows_r),
            amount,
            _channels(rng, m, (0.35, 0.55, 0.1)),
            rname=np.concatenate(rows_n),
            ref=ref,
        )
    )


def _sponsors(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w = ctx.pop, ctx.ledger, ctx.window
    sponsors = pop.members("private_sponsor")
    if len(sponsors) == 0:
        return
    n_orgs = min(len(SPONSOR_ORGS), 2 + len(sponsors) // 10)
    org_places = _corridor_places(ctx, rng, n_orgs)
    orgs = [
        (
            led.receivers.add(payout_handles(rng, [c])[0], c, "sponsored"),
            led.names.code(SPONSOR_ORGS[k]),
        )
        for k, c in enumerate(org_places)
    ]
    months = month_local(ctx)
    rows: list[tuple[int, int, int, int, float, int]] = []
    for i in sponsors:
        if rng.random() < 0.45:
            recv, name = orgs[int(rng.integers(0, len(orgs)))]
            given = "student"
        else:
            (c,) = _corridor_places(ctx, rng, 1)
            (child,) = sample_people(rng, CULTURE_OF[c], ["F" if rng.random() < 0.5 else "M"])
            guardian = relatives(rng, [child], [CULTURE_OF[c]], ["F"], np.array([True]))[0]
            recv = led.receivers.add(payout_handles(rng, [c])[0], c, "sponsored")
            name = led.names.code(guardian.canonical)
            given = child.given
        fee = float(rng.choice(SPONSOR_AMOUNTS))
        dom = int(rng.integers(1, 29))
        every = 1 if rng.random() < 0.8 else 3
        tmpl = SPONSOR_REFS[int(rng.integers(0, len(SPONSOR_REFS)))]
        for k, (_, first, _, mo) in enumerate(months):
            if k % every:
                continue
            text = tmpl.format(given=given, mon=MONTHS[mo - 1])
            day = first + (dom - 1) * clock.US_PER_DAY
            rows.append((int(i), day, recv, name, fee * every, led.refs.code(text)))
    cust, days, recvs, rnames, fees, ref = row_columns(rows)
    m = len(cust)
    local = clock.at_hours(rng, np.minimum(days, w.end_us - clock.US_PER_DAY), clock.HOURS_DAY)
    channel = np.where(rng.random(m) < 0.5, CHANNEL["wire"], CHANNEL["remittance"])
    amount = np.maximum(5.0, np.round(ctx.money(fees) / 5) * 5)
    led.add(batch(cust, local, recvs, amount, channel, rname=rnames, ref=ref))


def _in_laws(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w, b = ctx.pop, ctx.ledger, ctx.window, ctx.profile.behaviour
    senders = pop.members("in_law_remitter")
    if len(senders) == 0:
        return
    places = _corridor_places(ctx, rng, len(senders))
    n_kin = rng.choice([1, 2, 3, 4], len(senders), p=[0.4, 0.3, 0.2, 0.1])
    table = clock.payday_table(w, ctx.profile.payday)
    fam, gifts = _codes(ctx, b.family_refs), _codes(ctx, b.gift_refs)
    cust, days, recv, names, amount, ref = [], [], [], [], [], []
    for i, place, n in zip(senders, places, n_kin, strict=True):
        culture = CULTURE_OF[place]
        (spouse,) = sample_people(rng, culture, ["M" if pop.gender[i] == "F" else "F"])
        genders = ["F" if x < 0.65 else "M" for x in rng.random(n)]
        kin = relatives(rng, [spouse] * n, [culture] * n, genders, rng.random(n) < 0.8)
        ids = payout_handles(rng, [place] * n)
        codes = [led.receivers.add(r, place, "in_law") for r in ids]
        kin_names = [led.names.code(variants(p)[int(rng.integers(0, 2))]) for p in kin]
        paydays = table[pop.pay_group[i] % len(table)]
        paydays = paydays[(paydays >= 0) & (rng.random(len(paydays)) < rng.uniform(0.4, 0.9))]
        sent = paydays + rng.integers(0, 3, len(paydays)) * clock.US_PER_DAY
        gift_days = clock.days_in(rng, w, int(rng.poisson(w.months / 4)))
        who = np.where(rng.random(len(sent)) < 0.7, 0, rng.integers(0, n, len(sent)))
        who = np.concatenate([who, rng.integers(0, n, len(gift_days))])
        is_gift = np.arange(len(who)) >= len(sent)
        k = len(who)
        cust.append(np.full(k, i))
        days.append(np.concatenate([sent, gift_days]))
        recv.append(np.array(codes)[who])
        names.append(np.array(kin_names)[who])
        amount.append(
            np.where(
                is_gift,
                lognormal(rng, 80.0, 0.4, k),
                lognormal(rng, 0.8 * b.family_median, 0.5, k),
            )
        )
        ref.append(
            np.where(
                is_gift, gifts[rng.integers(0, len(gifts), k)], fam[rng.integers(0, len(fam), k)]
            )
        )
    all_days = np.minimum(np.concatenate(days), w.end_us - clock.US_PER_DAY)
    m = len(all_days)
    money = ctx.money(np.concatenate(amount))
    money = np.where(rng.random(m) < 0.6, np.maximum(10.0, np.round(money, -1)), money)
    local = np.where(
        rng.random(m) < b.family_night_share,
        clock.at_hours(rng, all_days, clock.HOURS_NIGHT),
        clock.at_hours(rng, all_days, clock.HOURS_EVENING),
    )
    led.add(
        batch(
            np.concatenate(cust),
            local,
            np.concatenate(recv),
            money,
            _channels(rng, m, b.family_channels),
            rname=np.concatenate(names),
            ref=_blank_some(rng, np.concatenate(ref), 0.3),
        )
    )


def _holidays(ctx: Ctx, country: str, birthday: tuple[int, int]) -> list[int]:
    """Christmas, the country's own gift holiday and a birthday in each year of the
    window (local midnights inside it)."""
    w = ctx.window
    dates = [(12, 20), LOCAL_HOLIDAY.get(country, (1, 1)), birthday]
    out = []
    for year in range(w.start.year, w.end.year + 1):
        for month, day in dates:
            t = clock.midnight_of(year, month, min(day, 28))
            if w.start_us <= t < w.end_us:
                out.append(t)
    return out


def _gift_givers(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w, b = ctx.pop, ctx.ledger, ctx.window, ctx.profile.behaviour
    givers = pop.members("gift_giver")
    if len(givers) == 0:
        return
    rows: list[tuple[int, int, int, int]] = []  # customer, day, receiver, name
    for i in givers:
        n = int(rng.integers(1, 6))
        places = _corridor_places(ctx, rng, n)
        for place in places:
            (friend,) = sample_people(rng, CULTURE_OF[place], ["F" if rng.random() < 0.6 else "M"])
            recv = led.receivers.add(payout_handles(rng, [place])[0], place, "gift_recipient")
            name = led.names.code(variants(friend)[0])
            birthday = (int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            for t in _holidays(ctx, place, birthday):
                if rng.random() < 0.7:
                    early = int(rng.integers(0, 10)) * clock.US_PER_DAY
                    rows.append((int(i), max(w.start_us, t - early), recv, name))
    if not rows:
        return
    cust, days, recvs, rnames = row_columns(rows)
    m = len(cust)
    # Round in the sender's currency (to 5), now and then an odd sum.
    amount = ctx.money(np.array(GIFT_AMOUNTS)[rng.integers(0, len(GIFT_AMOUNTS), m)])
    amount = np.maximum(5.0, np.round(amount / 5) * 5)
    amount = np.where(rng.random(m) < 0.15, amount * rng.uniform(0.8, 1.3, m), amount)
    words = _codes(ctx, b.gift_refs)
    ref = _blank_some(rng, words[rng.integers(0, len(words), m)], 0.3)
    local = clock.at_hours(rng, days.astype(np.int64), clock.HOURS_EVENING)
    channel = _channels(rng, m, (0.5, 0.4, 0.1))
    led.add(batch(cust, local, recvs, amount, channel, rname=rnames, ref=ref))


def _travellers(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w = ctx.pop, ctx.ledger, ctx.window
    travellers = pop.members("corridor_traveller")
    if len(travellers) == 0:
        return
    trips = np.maximum(1, rng.poisson(1.5 * w.months / 12, len(travellers)))
    who = np.repeat(travellers, trips)
    home_place = _corridor_places(ctx, rng, len(travellers))
    dest = [home_place[int(k)] for k in np.repeat(np.arange(len(travellers)), trips)]
    length = np.minimum(rng.integers(7, 46, len(who)), w.days - 1).astype(np.int64)
    start = w.start_us + (rng.random(len(who)) * (w.days - length)).astype(np.int64) * (
        clock.US_PER_DAY
    )
    trip_rows(ctx, rng, who.astype(np.int32), dest, start, length, per_day=3.0, atm_per_trip=4.0)
    own: dict[int, tuple[int, int]] = {}
    rows: list[tuple[int, int, int, int, float, str]] = []
    for t, (i, place) in enumerate(zip(who, dest, strict=True)):
        c = int(i)
        if c not in own and rng.random() < 0.7:
            rid = payout_handles(rng, [place])[0]
            own[c] = (
                led.receivers.add(rid, place, "own_account_abroad"),
                led.names.code(pop.names[c]),
            )
        if c in own:
            for _ in range(int(rng.integers(1, 4))):
                when = (
                    int(start[t])
                    + int(rng.integers(-14, int(length[t]) // 2 + 1)) * clock.US_PER_DAY
                )
                amount = float(rng.choice([300.0, 500.0, 800.0, 1000.0, 1500.0, 2000.0]))
                text = (
                    TRAVEL_REFS[int(rng.integers(0, len(TRAVEL_REFS)))]
                    if rng.random() < 0.5
                    else ""
                )
                rows.append((c, when, *own[c], amount, text))
        if rng.random() < 0.6 and place in HOTEL_PLACES:
            spots = HOTEL_PLACES[place]
            form = HOTEL_FORMS[int(rng.integers(0, len(HOTEL_FORMS)))]
            hotel = form.format(place=spots[int(rng.integers(0, len(spots)))])
            rid = payout_handles(rng, [place])[0]
            code = led.receivers.add(rid, place, "hotel")
            when = int(start[t]) - int(rng.integers(14, 61)) * clock.US_PER_DAY
            booking = f"booking {int(rng.integers(10000, 99999))}"
            rows.append(
                (c, when, code, led.names.code(hotel), float(rng.uniform(100, 600)), booking)
            )
    if not rows:
        return
    cust, when_us, recvs, rnames, aud, texts = row_columns(rows)
    days = np.clip(when_us.astype(np.int64), w.start_us, w.end_us - clock.US_PER_DAY)
    m = len(cust)
    ref = np.array([led.refs.code(str(x)) if x else -1 for x in texts], dtype=np.int32)
    channel = np.where(rng.random(m) < 0.6, CHANNEL["wire"], CHANNEL["remittance"])
    local = clock.at_hours(rng, days - (days - w.start_us) % clock.US_PER_DAY, clock.HOURS_DAY)
    money = ctx.money(aud.astype(np.float64))
    # Transfers to themselves are round (to 50); hotel deposits are what the hotel asks.
    is_hotel = np.array([led.receivers.scenario[int(r)] == "hotel" for r in recvs])
    money = np.where(is_hotel, money, np.maximum(50.0, np.round(money / 50) * 50))
    led.add(batch(cust, local, recvs, money, channel, rname=rnames, ref=ref))
