"""Kinds of careful payer (label 1) that show few of the usual signs.

The original careful payer (scenario ``careful``, built in payers.py) pays one
facilitator 1-2 times a month. Randomised worlds mix in these other kinds, each of
which keeps some indicators of payments-indicators.md and hides the others:

* ``careful_steady`` - one beneficiary, office hours, blank references, a steady cadence
  every 10-30 days, the same moderate amount, remittance or wallet. Keeps indicators
  1, 5 and 13 (low-value corridor payments); hides 6 (no words), 8 (no escalation) and
  9 (daytime).
* ``careful_split_wallets`` - splits each payment over two wallets a few minutes apart:
  the facilitator's and a relative's (another wallet of the same ring), each half under
  a round limit. Keeps 1, 5 and 12 (wallets); the two beneficiaries share a surname with
  each other, not with the payer (indicator 3 only weakly).
* ``careful_crypto`` - pays the facilitator's crypto wallet (indicator 12) only, in
  round USDT amounts that are odd sums in the sender's currency, with no reference.
* ``careful_family_mimic`` - imitates a family remittance ("What makes it hard"): pays
  just after payday, in the evening, larger amounts (0.6 × the family median), family
  references ("family support", "padala"), remittance or wire, one beneficiary - but no
  family tie (the one separator left).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from daybreak.synth import clock, handles
from daybreak.synth.context import Ctx, lognormal
from daybreak.synth.ledger import CHANNEL, F64, I8, I32, I64, B, batch
from daybreak.synth.names import relatives, variants
from daybreak.synth.payers import (
    CORRIDOR_CULTURE,
    PayerPlan,
    Payments,
    add_payments,
    start_times,
    switch_linked,
)

WALLET, BANK, CRYPTO = 0, 1, 2
AUD_PER_USD = 1 / 0.66
USDT_AMOUNTS = np.array([20, 25, 30, 40, 50, 60, 75, 100, 120, 150], dtype=np.float64)


@dataclass
class _Rows:
    who: I64  # payer position per payment
    fac: I64  # the facilitator behind each payment
    day: I64  # local midnight
    local: I64
    recv: I32
    rname: I32
    amount: F64
    channel: I8
    ref: I32


def generate(ctx: Ctx, pl: PayerPlan, start: I64) -> None:
    """Payments of the payers whose scenario is one of the kinds below; fills ``start``
    for them. Draws nothing when there are none (the hand-written profiles)."""
    sc = np.array(pl.scenario)
    rng = ctx.rng("payers.careful")
    for kind, make in KINDS.items():
        sel = np.flatnonzero(sc == kind)
        if len(sel) == 0:
            continue
        start[sel] = start_times(ctx, rng, len(sel))
        rows = make(ctx, rng, pl, sel, start)
        cust = pl.payers[rows.who].astype(np.int32)
        cust = switch_linked(rng, pl, rows.who, cust, rows.day)
        case = pl.case[rows.who]
        ctx.ledger.add(
            batch(
                cust,
                rows.local,
                rows.recv,
                rows.amount,
                rows.channel,
                rname=rows.rname,
                ref=rows.ref,
                case=case,
            )
        )
        add_payments(pl, Payments(cust, rows.fac.astype(np.int32), rows.local, case, rows.recv))


def _facilitator_receiver(ctx: Ctx, pl: PayerPlan, f: int, kind: int) -> int:
    rid = (pl.fac.wallet, pl.fac.bank, pl.fac.crypto)[kind][f]
    return ctx.ledger.receivers.add(rid, pl.fac.country[f], "facilitator", 1, pl.fac.ring[f])


def _name_codes(ctx: Ctx, rng: np.random.Generator, people: list[list[str]], idx: I64) -> I32:
    """One spelling per payment of the person ``people[idx]`` (a list of name variants)."""
    tables = [ctx.ledger.names.codes(forms) for forms in people]
    pick = rng.integers(0, 1 << 16, len(idx))
    return np.array(
        [tables[int(i)][int(k) % len(tables[int(i)])] for i, k in zip(idx, pick, strict=True)],
        dtype=np.int32,
    )


def _main_facilitators(pl: PayerPlan, sel: I64) -> I64:
    return np.array([pl.facs[int(i)][0] for i in sel], dtype=np.int64)


def _uniform_days(
    ctx: Ctx, rng: np.random.Generator, start: I64, per_month: F64
) -> tuple[I64, I64]:
    """Payment days of each payer: Poisson(per_month × months) + 2, uniform from its
    start to the end of the window. Returns (local payer index, local midnight)."""
    w = ctx.window
    months = (w.end_us - start) / (30.44 * clock.US_PER_DAY)
    count = rng.poisson(per_month * months) + 2
    who = np.repeat(np.arange(len(start)), count)
    t = start[who] + (rng.random(len(who)) * (w.end_us - start)[who]).astype(np.int64)
    return who, _midnight(ctx, t)


def _midnight(ctx: Ctx, t: I64) -> I64:
    w = ctx.window
    t = np.clip(t, w.start_us, w.end_us - 1)
    out: I64 = w.start_us + (t - w.start_us) // clock.US_PER_DAY * clock.US_PER_DAY
    return out


def _refs(ctx: Ctx, rng: np.random.Generator, words: tuple[str, ...], share: float, m: int) -> I32:
    """``words`` on a ``share`` of ``m`` payments, blank otherwise."""
    codes = np.array([ctx.ledger.refs.code(x) for x in words], dtype=np.int32)
    picked = codes[rng.integers(0, len(codes), m)]
    out: I32 = np.where(rng.random(m) < share, picked, -1).astype(np.int32)
    return out


@dataclass
class _Paid:
    """Payments of payers to their main facilitator, before receivers and names."""

    who: I64  # local payer index per payment
    day: I64
    local: I64
    amount: F64
    to_bank: B  # per payer: the facilitator's bank, else wallet
    channel: I8  # per payer


def _to_main_facilitators(
    ctx: Ctx,
    rng: np.random.Generator,
    pl: PayerPlan,
    sel: I64,
    paid: _Paid,
    words: tuple[str, ...],
    share: float,
) -> _Rows:
    """Rows paying each payer's main facilitator (bank or wallet), with one of its
    names and ``words`` as reference on a ``share`` of payments."""
    fac = _main_facilitators(pl, sel)
    recv = np.array(
        [
            _facilitator_receiver(ctx, pl, int(f), BANK if bank else WALLET)
            for f, bank in zip(fac, paid.to_bank, strict=True)
        ],
        dtype=np.int32,
    )
    names = [variants(pl.fac.people[int(f)])[:4] for f in fac]
    who = paid.who
    return _Rows(
        who=sel[who],
        fac=fac[who],
        day=paid.day,
        local=paid.local,
        recv=recv[who],
        rname=_name_codes(ctx, rng, names, who),
        amount=paid.amount,
        channel=paid.channel[who],
        ref=_refs(ctx, rng, words, share, len(who)),
    )


def _steady(ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, sel: I64, start: I64) -> _Rows:
    b, w, k = ctx.profile.behaviour, ctx.window, len(sel)
    every = rng.uniform(*b.steady_every_days, k) * clock.US_PER_DAY
    first = start[sel] + (rng.random(k) * every).astype(np.int64)
    n = np.maximum(1, ((w.end_us - clock.US_PER_DAY - first) // every).astype(np.int64) + 1)
    who = np.repeat(np.arange(k), n)
    nth = np.arange(len(who)) - np.repeat(np.cumsum(n) - n, n)
    jitter = rng.integers(-1, 2, len(who)) * clock.US_PER_DAY
    day = _midnight(ctx, first[who] + (nth * every[who]).astype(np.int64) + jitter)
    local = clock.at_hours(rng, day, clock.HOURS_BUSINESS)
    # One amount, rounded to 5, paid nearly every time.
    base = np.maximum(5.0, np.round(ctx.money(lognormal(rng, b.careful_median, 0.4, k)) / 5) * 5)
    m = len(who)
    amount = np.where(rng.random(m) < 0.8, base[who], base[who] * rng.uniform(0.85, 1.2, m))
    wallet = rng.random(k) < 0.4
    to_bank = ~wallet & (rng.random(k) < 0.5)
    channel = np.where(wallet, CHANNEL["wallet"], CHANNEL["remittance"]).astype(np.int8)
    paid = _Paid(who, day, local, amount, to_bank, channel)
    return _to_main_facilitators(ctx, rng, pl, sel, paid, b.plain_refs, 0.05)


def _second_wallets(
    ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, facs: I64
) -> dict[int, tuple[int, list[str]]]:
    """A relative's wallet for each facilitator (receiver code, name variants): part of
    the ring, so labelled facilitator."""
    out: dict[int, tuple[int, list[str]]] = {}
    for f in sorted({int(x) for x in facs}):
        c = pl.fac.country[f]
        gender = "F" if rng.random() < 0.7 else "M"
        (kin,) = relatives(
            rng, [pl.fac.people[f]], [CORRIDOR_CULTURE[c]], [gender], np.array([True])
        )
        wallet = handles.wallet_handles(rng, c, handles.phones(rng, c, 1))[0]
        code = ctx.ledger.receivers.add(wallet, c, "facilitator", 1, pl.fac.ring[f])
        out[f] = (code, variants(kin)[:3])
    return out


def _split_wallets(
    ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, sel: I64, start: I64
) -> _Rows:
    b, k = ctx.profile.behaviour, len(sel)
    who, day = _uniform_days(ctx, rng, start[sel], b.careful_rate * lognormal(rng, 1.3, 0.4, k))
    m = len(who)
    at_night = rng.random(m) < 0.15
    local = np.where(
        at_night,
        clock.at_hours(rng, day, clock.HOURS_NIGHT),
        clock.at_hours(rng, day, clock.HOURS_EVENING),
    )
    total = ctx.money(lognormal(rng, 1.5 * b.careful_median, 0.4, m))
    half = np.maximum(5.0, np.floor(total / 2 / 5) * 5)
    fac = _main_facilitators(pl, sel)
    second = _second_wallets(ctx, rng, pl, fac)
    own = np.array([_facilitator_receiver(ctx, pl, int(f), WALLET) for f in fac], dtype=np.int32)
    kin = np.array([second[int(f)][0] for f in fac], dtype=np.int32)
    own_names = [variants(pl.fac.people[int(f)])[:4] for f in fac]
    kin_names = [second[int(f)][1] for f in fac]
    later = local + rng.integers(2, 40, m) * 60 * clock.US_PER_S
    both = np.concatenate([who, who])
    return _Rows(
        who=sel[both],
        fac=fac[both],
        day=np.concatenate([day, day]),
        local=np.concatenate([local, later]),
        recv=np.concatenate([own[who], kin[who]]),
        rname=np.concatenate(
            [_name_codes(ctx, rng, own_names, who), _name_codes(ctx, rng, kin_names, who)]
        ),
        amount=np.concatenate([half, half - 5.0 * rng.integers(0, 2, m)]).clip(5.0),
        channel=np.full(2 * m, CHANNEL["wallet"], dtype=np.int8),
        ref=_refs(ctx, rng, b.plain_refs, 0.3, 2 * m),
    )


def _crypto(ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, sel: I64, start: I64) -> _Rows:
    b, k = ctx.profile.behaviour, len(sel)
    who, day = _uniform_days(ctx, rng, start[sel], b.careful_rate * lognormal(rng, 1.0, 0.4, k))
    m = len(who)
    local = clock.at_hours(rng, day, clock.HOURS_ONLINE)
    # Round USDT sums (scaled with the world's careful-payer median), plus a fee.
    usdt = USDT_AMOUNTS[rng.integers(0, len(USDT_AMOUNTS), m)] * b.careful_median / 75.0
    amount = ctx.money(usdt * AUD_PER_USD) * rng.uniform(1.005, 1.02, m)
    fac = _main_facilitators(pl, sel)
    recv = np.array([_facilitator_receiver(ctx, pl, int(f), CRYPTO) for f in fac], dtype=np.int32)
    return _Rows(
        who=sel[who],
        fac=fac[who],
        day=day,
        local=local,
        recv=recv[who],
        rname=np.full(m, -1, dtype=np.int32),
        amount=amount,
        channel=np.full(m, CHANNEL["crypto"], dtype=np.int8),
        ref=np.full(m, -1, dtype=np.int32),
    )


def _family_mimic(ctx: Ctx, rng: np.random.Generator, pl: PayerPlan, sel: I64, start: I64) -> _Rows:
    b, k = ctx.profile.behaviour, len(sel)
    table = clock.payday_table(ctx.window, ctx.profile.payday)
    grp = ctx.pop.pay_group[pl.payers[sel]] % len(table)
    p_send = rng.uniform(0.5, 0.9, k)
    paydays = table[grp]
    send = (rng.random(paydays.shape) < p_send[:, None]) & (paydays >= start[sel][:, None])
    who, col = np.nonzero(send)
    day = _midnight(ctx, paydays[who, col] + rng.integers(0, 3, len(who)) * clock.US_PER_DAY)
    m = len(who)
    local = np.where(
        rng.random(m) < 0.08,
        clock.at_hours(rng, day, clock.HOURS_NIGHT),
        clock.at_hours(rng, day, clock.HOURS_EVENING),
    )
    amount = ctx.money(lognormal(rng, 0.6 * b.family_median, 0.4, m))
    amount = np.where(rng.random(m) < 0.7, np.maximum(10.0, np.round(amount, -1)), amount)
    wire = rng.random(k) < 0.3
    to_bank = wire | (rng.random(k) < 0.5)
    channel = np.where(wire, CHANNEL["wire"], CHANNEL["remittance"]).astype(np.int8)
    paid = _Paid(who, day, local, amount, to_bank, channel)
    return _to_main_facilitators(ctx, rng, pl, sel, paid, b.family_refs, 0.7)


Maker = Callable[[Ctx, np.random.Generator, PayerPlan, I64, I64], _Rows]
KINDS: dict[str, Maker] = {
    "careful_steady": _steady,
    "careful_split_wallets": _split_wallets,
    "careful_crypto": _crypto,
    "careful_family_mimic": _family_mimic,
}
