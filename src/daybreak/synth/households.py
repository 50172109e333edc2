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
from daybreak.synth.lookalikes import CULTURE_OF, MONTHS, month_local, row_columns
from daybreak.synth.names import relatives, variants
from daybreak.synth.names_data import CULTURES
from daybreak.synth.pools import Pools

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
    draw = Pools(rng)
    home = {CULTURES[c].country for c in ctx.profile.majority.values()}
    abroad = [c for c in STUDY_ABROAD if c not in home]
    places = []
    for i in parents:
        origin = CULTURES[pop.culture[i]].country
        if origin not in home and draw.random() < 0.6:
            places.append(origin)  # studying back home
        elif draw.random() < 0.75:
            places.append(draw.choice(ctx.profile.corridors))
        else:
            places.append(abroad[draw.index(len(abroad))])
    students = relatives(
        rng,
        [pop.people[i] for i in parents],
        [pop.culture[i] for i in parents],
        ["F" if draw.random() < 0.5 else "M" for _ in parents],
        rng.random(len(parents)) < b.student_shared_surname,
    )
    firsts = np.array([first for _, first, _, _ in month_local(ctx)], dtype=np.int64)
    rows_c, rows_t, rows_r, rows_n, rows_a, rows_rent = [], [], [], [], [], []
    for i, place, student in zip(parents, places, students, strict=True):
        recv = led.receivers.add(draw.handle(place), place, "student")
        name = led.names.code(variants(student)[draw.index(2)])
        days = _cadence_days(rng, ctx, float(rng.uniform(*b.student_every_days)))
        amount = lognormal(rng, b.student_median * float(rng.uniform(0.6, 1.4)), 0.35, len(days))
        rent = draw.random() < 0.5  # and the monthly rent on the 1st
        if rent:
            days = np.concatenate([days, firsts])
            amount = np.concatenate([amount, np.full(len(firsts), draw.random() * 500 + 300)])
        k = len(days)
        rows_c.append(np.full(k, i))
        rows_t.append(days)
        rows_r.append(np.full(k, recv))
        rows_n.append(np.full(k, name))
        rows_a.append(amount)
        rows_rent.append(np.arange(k) >= k - (len(firsts) if rent else 0))
    cust, day = np.concatenate(rows_c), np.concatenate(rows_t)
    m = len(cust)
    amount = ctx.money(np.concatenate(rows_a))
    amount = np.where(rng.random(m) < 0.6, np.maximum(5.0, np.round(amount / 5) * 5), amount)
    words = _codes(ctx, b.allowance_refs)
    ref = _blank_some(rng, words[rng.integers(0, len(words), m)], 0.25)
    rent_word = words[min(2, len(words) - 1)]  # "rent" in every vocabulary's third place
    ref = np.where(np.concatenate(rows_rent), rent_word, ref)
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
    draw = Pools(rng)
    n_orgs = min(len(SPONSOR_ORGS), 2 + len(sponsors) // 10)
    orgs = []
    for k in range(n_orgs):
        c = draw.choice(ctx.profile.corridors)
        orgs.append(
            (led.receivers.add(draw.handle(c), c, "sponsored"), led.names.code(SPONSOR_ORGS[k]))
        )
    # Half sponsor a child directly: the money goes to the child's mother or guardian.
    direct = [draw.random() >= 0.45 for _ in sponsors]
    places = [draw.choice(ctx.profile.corridors) for d in direct if d]
    children = [draw.person(CULTURE_OF[c], "F" if draw.random() < 0.5 else "M") for c in places]
    cultures = [CULTURE_OF[c] for c in places]
    guardians = relatives(
        rng, children, cultures, ["F"] * len(children), np.ones(len(children), bool)
    )
    kids = iter(zip(places, children, guardians, strict=True))
    months = month_local(ctx)
    rows: list[tuple[int, int, int, int, float, int]] = []
    for i, own in zip(sponsors, direct, strict=True):
        if own:
            c, child, guardian = next(kids)
            recv = led.receivers.add(draw.handle(c), c, "sponsored")
            name, given = led.names.code(guardian.canonical), child.given
        else:
            (recv, name), given = orgs[draw.index(len(orgs))], "student"
        fee = SPONSOR_AMOUNTS[draw.index(len(SPONSOR_AMOUNTS))]
        dom = 1 + draw.index(28)
        every = 1 if draw.random() < 0.8 else 3  # monthly or quarterly
        tmpl = SPONSOR_REFS[draw.index(len(SPONSOR_REFS))]
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
    draw = Pools(rng)
    places = _corridor_places(ctx, rng, len(senders))
    n_kin = rng.choice([1, 2, 3, 4], len(senders), p=[0.4, 0.3, 0.2, 0.1])
    # The spouse's family: mother, sisters, brothers; most share the spouse's surname.
    spouses = [
        draw.person(CULTURE_OF[c], "M" if pop.gender[i] == "F" else "F")
        for i, c in zip(senders, places, strict=True)
    ]
    owner = np.repeat(np.arange(len(senders)), n_kin)
    kin = relatives(
        rng,
        [spouses[o] for o in owner],
        [CULTURE_OF[places[o]] for o in owner],
        ["F" if x < 0.65 else "M" for x in rng.random(len(owner))],
        rng.random(len(owner)) < 0.8,
    )
    kin_recv = np.array(
        [led.receivers.add(draw.handle(places[o]), places[o], "in_law") for o in owner],
        dtype=np.int32,
    )
    kin_name = np.array([led.names.code(variants(p)[draw.index(2)]) for p in kin], dtype=np.int32)
    first_kin = np.cumsum(n_kin) - n_kin
    table = clock.payday_table(w, ctx.profile.payday)
    cust, days, slot, gift = [], [], [], []
    for s, i in enumerate(senders):
        paydays = table[pop.pay_group[i] % len(table)]
        paydays = paydays[(paydays >= 0) & (rng.random(len(paydays)) < draw.random() * 0.5 + 0.4)]
        sent = paydays + rng.integers(0, 3, len(paydays)) * clock.US_PER_DAY
        gift_days = clock.days_in(rng, w, int(rng.poisson(w.months / 4)))
        who = np.where(rng.random(len(sent)) < 0.7, 0, rng.integers(0, n_kin[s], len(sent)))
        who = np.concatenate([who, rng.integers(0, n_kin[s], len(gift_days))])
        cust.append(np.full(len(who), i))
        days.append(np.concatenate([sent, gift_days]))
        slot.append(first_kin[s] + who)
        gift.append(np.arange(len(who)) >= len(sent))
    is_gift, ben = np.concatenate(gift), np.concatenate(slot)
    all_days = np.minimum(np.concatenate(days), w.end_us - clock.US_PER_DAY)
    m = len(all_days)
    aud = np.where(
        is_gift, lognormal(rng, 80.0, 0.4, m), lognormal(rng, 0.8 * b.family_median, 0.5, m)
    )
    money = ctx.money(aud)
    money = np.where(rng.random(m) < 0.6, np.maximum(10.0, np.round(money, -1)), money)
    fam, gifts = _codes(ctx, b.family_refs), _codes(ctx, b.gift_refs)
    ref = np.where(
        is_gift, gifts[rng.integers(0, len(gifts), m)], fam[rng.integers(0, len(fam), m)]
    )
    local = np.where(
        rng.random(m) < b.family_night_share,
        clock.at_hours(rng, all_days, clock.HOURS_NIGHT),
        clock.at_hours(rng, all_days, clock.HOURS_EVENING),
    )
    led.add(
        batch(
            np.concatenate(cust),
            local,
            kin_recv[ben],
            money,
            _channels(rng, m, b.family_channels),
            rname=kin_name[ben],
            ref=_blank_some(rng, ref, 0.3),
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
    draw = Pools(rng)
    rows: list[tuple[int, int, int, int]] = []  # customer, day, receiver, name
    for i in givers:
        for _ in range(1 + draw.index(5)):  # friends and godchildren abroad
            place = draw.choice(ctx.profile.corridors)
            friend = draw.person(CULTURE_OF[place], "F" if draw.random() < 0.6 else "M")
            recv = led.receivers.add(draw.handle(place), place, "gift_recipient")
            name = led.names.code(variants(friend)[0])
            birthday = (1 + draw.index(12), 1 + draw.index(28))
            for t in _holidays(ctx, place, birthday):
                if draw.random() < 0.7:
                    early = draw.index(10) * clock.US_PER_DAY
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
    draw = Pools(rng)
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
        if c not in own and draw.random() < 0.7:  # an account of their own over there
            own[c] = (
                led.receivers.add(draw.handle(place), place, "own_account_abroad"),
                led.names.code(pop.names[c]),
            )
        if c in own:
            for _ in range(1 + draw.index(3)):
                offset = draw.index(14 + int(length[t]) // 2 + 1) - 14
                amount = (300.0, 500.0, 800.0, 1000.0, 1500.0, 2000.0)[draw.index(6)]
                text = TRAVEL_REFS[draw.index(len(TRAVEL_REFS))] if draw.random() < 0.5 else ""
                when = int(start[t]) + offset * clock.US_PER_DAY
                rows.append((c, when, *own[c], amount, text))
        if draw.random() < 0.6 and place in HOTEL_PLACES:
            spots = HOTEL_PLACES[place]
            form = HOTEL_FORMS[draw.index(len(HOTEL_FORMS))]
            hotel = led.names.code(form.format(place=spots[draw.index(len(spots))]))
            code = led.receivers.add(draw.handle(place), place, "hotel")
            when = int(start[t]) - (14 + draw.index(47)) * clock.US_PER_DAY
            booking = f"booking {10000 + draw.index(90000)}"
            rows.append((c, when, code, hotel, 100 + 500 * draw.random(), booking))
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
