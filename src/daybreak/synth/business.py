"""Businesses that pay abroad (look-alikes, label 0).

* ``payroll_firm`` → ``contractor``: a firm pays 3-20 offshore contractors (virtual
  assistants, developers, designers; mostly in the Philippines and India) once a month on
  its own fixed day, in office hours, one payroll run a few minutes apart, round fees,
  invoice-like references. Contractors often work for several firms, so a contractor is
  "one beneficiary, many unrelated senders" (indicator 2) and a firm is "one sender,
  many unrelated beneficiaries, mostly women abroad" (indicators 3 and 4); "Invoice" is
  on the ACAMS keyword sweep (indicator 7). payments-indicators.md names "payroll to
  overseas freelancers (round amounts, business references, month-end)" a look-alike.
* ``importer`` → ``supplier``: a small business pays overseas suppliers (China,
  Vietnam, Thailand, Indonesia, India, the Philippines, Mexico) a deposit when it orders
  and the balance weeks later, plus small sample and freight payments; invoice and
  order references, office hours, mostly wire.

Most such customers bank as a company ("Harbour Digital Pty Ltd", no gender or birth
year); some as sole traders under their own name.
"""

from __future__ import annotations

import numpy as np

from daybreak.synth import clock, handles
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, batch
from daybreak.synth.lookalikes import (
    CULTURE_OF,
    MONTHS,
    month_local,
    payout_handles,
    row_columns,
)
from daybreak.synth.names import sample_people, variants

FIRM_WORDS = (
    "Harbour",
    "Summit",
    "Bright",
    "Northside",
    "Blue Gum",
    "Keystone",
    "Pinnacle",
    "Redwood",
    "Clearview",
    "Ironbark",
    "Silverline",
    "Oakridge",
    "Lighthouse",
    "Riverbend",
    "Horizon",
    "Evergreen",
    "Coastal",
    "Granite",
    "Maple",
    "Atlas",
)
FIRM_TRADES = (
    "Digital",
    "Marketing",
    "Logistics",
    "Consulting",
    "Media",
    "Software",
    "Design",
    "Accounting",
    "Solutions",
    "Property",
    "Health",
    "Trading",
    "Imports",
    "Supplies",
    "Studio",
)
FIRM_SUFFIX = {
    "AU": ("Pty Ltd",),
    "NZ": ("Ltd", "Limited"),
    "US": ("LLC", "Inc."),
    "CA": ("Inc.", "Ltd."),
    "GB": ("Ltd", "Limited"),
    "DE": ("GmbH",),
    "NL": ("B.V.",),
    "FR": ("SARL", "SAS"),
    "ES": ("S.L.",),
    "IT": ("S.r.l.",),
}
COMPANY_SHARE = 0.65  # the rest bank as sole traders under their own name
# Where offshore contractors are (the Philippines is the largest virtual-assistant market).
CONTRACTOR_PLACES = (
    ("PH", 0.45),
    ("IN", 0.2),
    ("VN", 0.08),
    ("CO", 0.08),
    ("MX", 0.07),
    ("ID", 0.07),
    ("TH", 0.05),
)
# Monthly fees in AUD: part-time assistants to full-time developers.
CONTRACTOR_FEES = (150, 200, 250, 300, 400, 500, 600, 750, 800, 1000, 1200, 1500, 2000, 2500)
# Mostly the contractor's invoice number (indicator 7's "Invoice"), some payroll wording.
PAYROLL_REFS = (
    "Invoice INV-{y}{m:02d}-{k:03d}",
    "Invoice {k:04d}",
    "INV{y}{m:02d}{k:03d}",
    "invoice {mon} {y}",
    "Inv {k:04d}",
    "Payroll {mon} {y}",
    "Contractor fee {mon}",
    "Services rendered {mon} {y}",
)
PAY_DAY_RULES = ("last_working_day", "first_working_day", "fifteenth", "fixed")
SUPPLIER_PLACES = (
    ("CN", 0.45),
    ("VN", 0.12),
    ("TH", 0.1),
    ("ID", 0.1),
    ("IN", 0.1),
    ("PH", 0.08),
    ("MX", 0.05),
)
# Supplier company names per country: (first words, second words, form).
SUPPLIER_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "CN": (
        ("Guangzhou", "Shenzhen", "Yiwu", "Ningbo", "Xiamen", "Dongguan"),
        ("Hengda Trading", "Jinxin Textile", "Huamei Electronics", "Tianli Packaging"),
        "{a} {b} Co., Ltd.",
    ),
    "VN": (
        ("Saigon", "Hanoi", "Minh Phat", "Thanh Cong", "Viet Tien", "An Phu"),
        ("Craft", "Garment", "Furniture", "Coffee", "Ceramics"),
        "{a} {b} Co., Ltd",
    ),
    "TH": (
        ("Siam", "Chao Phraya", "Lanna", "Sukjai", "Rungroj"),
        ("Silk", "Rubber", "Handicraft", "Food Products"),
        "{a} {b} Co., Ltd.",
    ),
    "ID": (
        ("Sinar", "Maju", "Mitra", "Karya", "Bumi"),
        ("Jaya Abadi", "Bersama Sejahtera", "Utama Mandiri", "Indah Perkasa"),
        "PT {a} {b}",
    ),
    "IN": (
        ("Shree Ganesh", "Jaipur", "Royal", "Sai", "Om"),
        ("Textiles", "Handicrafts", "Spices", "Leather"),
        "{a} {b} Exports Pvt Ltd",
    ),
    "PH": (
        ("Cebu", "Manila", "Pacific", "Luzon", "Bayanihan"),
        ("Handicraft", "Furniture", "Trading", "Coco Products"),
        "{a} {b} Corp.",
    ),
    "MX": (
        ("Textiles", "Artesanías", "Cerámica", "Grupo"),
        ("del Norte", "Jalisco", "Talavera", "Pacífico"),
        "{a} {b} S.A. de C.V.",
    ),
}


def name_firms(ctx: Ctx) -> None:
    """Give most payroll firms and importers a company name (no gender, no birth year)."""
    pop = ctx.pop
    firms = np.concatenate([pop.members("payroll_firm"), pop.members("importer")])
    if len(firms) == 0:
        return
    rng = ctx.rng("business.names")
    for i in np.sort(firms):
        if rng.random() >= COMPANY_SHARE:
            continue
        suffixes = FIRM_SUFFIX.get(pop.country[i], ("Ltd",))
        name = " ".join(
            (
                FIRM_WORDS[int(rng.integers(0, len(FIRM_WORDS)))],
                FIRM_TRADES[int(rng.integers(0, len(FIRM_TRADES)))],
                suffixes[int(rng.integers(0, len(suffixes)))],
            )
        )
        pop.names[i] = name
        pop.gender[i] = None
        pop.birth_year[i] = 0
        pop.email[i] = handles.emails(rng, [name])[0]


def generate(ctx: Ctx) -> None:
    _payroll(ctx, ctx.rng("lookalike.payroll"))
    _importers(ctx, ctx.rng("lookalike.importers"))


def _pick_places(
    rng: np.random.Generator, places: tuple[tuple[str, float], ...], n: int
) -> list[str]:
    keys = [c for c, _ in places]
    w = np.array([x for _, x in places])
    return [keys[int(k)] for k in rng.choice(len(keys), n, p=w / w.sum())]


def _pay_days(ctx: Ctx, rng: np.random.Generator) -> list[int]:
    """A firm's payroll day in each month of the window (local midnight)."""
    rule = PAY_DAY_RULES[int(rng.integers(0, len(PAY_DAY_RULES)))]
    months = month_local(ctx)
    if rule == "last_working_day":
        return [t for t, _, _, _ in months]
    # A fixed day from the 4th to the 28th: a weekend moves it back within the month.
    offset = {"first_working_day": 0, "fifteenth": 14}.get(rule, int(rng.integers(3, 28)))
    days = np.array([first + offset * clock.US_PER_DAY for _, first, _, _ in months])
    if rule == "first_working_day":
        wd = clock.weekday(days)
        days = days + np.where(wd >= 5, 7 - wd, 0) * clock.US_PER_DAY
        return [int(d) for d in days]
    return [int(d) for d in clock.working_day_on_or_before(days)]


def _payroll(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, b = ctx.pop, ctx.ledger, ctx.profile.behaviour
    firms = pop.members("payroll_firm")
    if len(firms) == 0:
        return
    lo, hi = b.payroll_contractors
    pool: list[tuple[int, int]] = []  # (receiver code, name code) of contractors so far
    rows: list[tuple[int, int, int, int, float, int]] = []
    months = month_local(ctx)
    for i in firms:
        size = lo + int(rng.beta(1.0, 2.0) * (hi - lo + 1))
        mine = _contractors(ctx, rng, pool, min(size, hi))
        pay_days = _pay_days(ctx, rng)
        tmpl = PAYROLL_REFS[int(rng.integers(0, len(PAYROLL_REFS)))]
        run_hour = clock.at_hours(rng, np.array(pay_days, dtype=np.int64), clock.HOURS_BUSINESS)
        thirteenth = rng.random() < 0.5  # a 13th-month bonus in December (Philippine custom)
        for recv, name in mine:
            fee = float(CONTRACTOR_FEES[int(rng.integers(0, len(CONTRACTOR_FEES)))])
            invoice = int(rng.integers(1, 900))
            first = 0 if rng.random() < 0.7 else int(rng.integers(0, len(months)))
            last = len(months) if rng.random() < 0.8 else int(rng.integers(first, len(months)) + 1)
            for k in range(first, last):
                _, _, y, mo = months[k]
                text = tmpl.format(y=y, m=mo, mon=MONTHS[mo - 1], k=invoice + k)
                at = int(run_hour[k]) + len(rows) % 20 * 60 * clock.US_PER_S
                rows.append((int(i), at, recv, name, fee, led.refs.code(text)))
                if thirteenth and mo == 12:
                    rows.append((int(i), at, recv, name, fee, led.refs.code("13th month pay")))
    if not rows:
        return
    cust, local, recvs, rnames, aud, ref = row_columns(rows)
    m = len(cust)
    # Fees round in the sender's currency (to 50); now and then pro-rata or with overtime.
    fees = np.maximum(50.0, np.round(ctx.money(aud) / 50) * 50)
    amount = np.where(rng.random(m) < 0.9, fees, fees * rng.uniform(0.6, 1.3, m))
    channel = np.array([CHANNEL["wire"], CHANNEL["remittance"], CHANNEL["wallet"]], dtype=np.int8)
    channel = channel[rng.choice(3, m, p=[0.6, 0.3, 0.1])]
    led.add(batch(cust, local, recvs, amount, channel, rname=rnames, ref=ref))


def _contractors(
    ctx: Ctx, rng: np.random.Generator, pool: list[tuple[int, int]], size: int
) -> list[tuple[int, int]]:
    """A firm's contractors: some already work for other firms (shared contractors)."""
    led, share = ctx.ledger, ctx.profile.behaviour.shared_contractor_share
    mine: list[tuple[int, int]] = []
    for _ in range(size):
        if pool and rng.random() < share:
            pick = pool[int(rng.integers(0, len(pool)))]
            if pick not in mine:
                mine.append(pick)
                continue
        (c,) = _pick_places(rng, CONTRACTOR_PLACES, 1)
        (person,) = sample_people(rng, CULTURE_OF[c], ["F" if rng.random() < 0.6 else "M"])
        (rid,) = payout_handles(rng, [c])
        new = (led.receivers.add(rid, c, "contractor"), led.names.code(variants(person)[0]))
        pool.append(new)
        mine.append(new)
    return mine


def _supplier_name(rng: np.random.Generator, country: str) -> str:
    first, second, form = SUPPLIER_NAMES[country]
    a = first[int(rng.integers(0, len(first)))]
    return form.format(a=a, b=second[int(rng.integers(0, len(second)))])


def _importers(ctx: Ctx, rng: np.random.Generator) -> None:
    pop, led, w = ctx.pop, ctx.ledger, ctx.window
    importers = pop.members("importer")
    if len(importers) == 0:
        return
    rows: list[tuple[int, int, int, int, float, str]] = []
    for i in importers:
        n_sup = int(rng.choice([1, 2, 3, 4], p=[0.35, 0.35, 0.2, 0.1]))
        places = _pick_places(rng, SUPPLIER_PLACES, n_sup)
        accounts = [handles.bank_accounts(rng, c, 1)[0] for c in places]
        sup = [
            (led.receivers.add(rid, c, "supplier"), led.names.code(_supplier_name(rng, c)))
            for rid, c in zip(accounts, places, strict=True)
        ]
        orders = rng.poisson(0.8 * w.months) + 1
        for _ in range(orders):
            recv, name = sup[int(rng.integers(0, len(sup)))]
            ordered = w.start_us + int(rng.integers(0, w.days)) * clock.US_PER_DAY
            value = float(lognormal(rng, 2500.0, 0.8, 1)[0])
            no = int(rng.integers(1000, 99999))
            rows.append((int(i), ordered, recv, name, 0.3 * value, f"PI {no} deposit 30%"))
            balance = ordered + int(rng.integers(20, 50)) * clock.US_PER_DAY
            if balance < w.end_us:
                rows.append((int(i), balance, recv, name, 0.7 * value, f"Invoice {no} balance"))
            if rng.random() < 0.4:
                small = float(rng.choice([40.0, 60.0, 85.0, 120.0, 150.0, 200.0]))
                words = ("sample order", "freight", "shipping fee", f"samples PO {no}")
                text = words[int(rng.integers(0, len(words)))]
                before = max(w.start_us, ordered - 10 * clock.US_PER_DAY)
                rows.append((int(i), before, recv, name, small, text))
    cust, days, recvs, rnames, aud, texts = row_columns(rows)
    m = len(cust)
    amount = ctx.money(aud.astype(np.float64))
    amount = np.where(rng.random(m) < 0.5, np.round(amount, -1), amount)
    channel = np.where(rng.random(m) < 0.75, CHANNEL["wire"], CHANNEL["remittance"])
    local = clock.at_hours(rng, days.astype(np.int64), clock.HOURS_BUSINESS)
    ref = led.refs.codes(str(t) for t in texts)
    led.add(batch(cust, local, recvs, amount, channel, rname=rnames, ref=ref))
