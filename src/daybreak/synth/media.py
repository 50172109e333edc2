"""Media-hash sightings. Hashes are random hex strings shaped like PDQ (256 bits), MD5 and
SHA-256 digests: they stand for "known material" without any media existing at all.

A case's known items are seen on its facilitators' accounts and, as PDQ near-duplicates
(a few bits flipped, as re-encoding does), on some payers' accounts. Everything else is
noise: unrelated hashes on everyday accounts, and a few viral benign items seen on many
accounts (which a naive "same hash on many accounts" rule would trip over)."""

from __future__ import annotations

import numpy as np
import polars as pl

from daybreak.synth import clock
from daybreak.synth.accounts import Accounts
from daybreak.synth.context import Ctx
from daybreak.synth.frames import conform, ids, lookup, utc
from daybreak.synth.payers import PayerPlan
from daybreak.synth.truth import case_id, links_of

HASH_BYTES = {"pdq": 32, "md5": 16, "sha256": 32}


def random_hex(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    raw = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def near_duplicate(rng: np.random.Generator, pdq_hex: str, max_bits: int = 16) -> str:
    """Flip 1..max_bits random bits of a 256-bit PDQ hash."""
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(pdq_hex), dtype=np.uint8))
    flip = rng.choice(256, int(rng.integers(1, max_bits + 1)), replace=False)
    bits[flip] ^= 1
    return np.packbits(bits).tobytes().hex()


def generate(
    ctx: Ctx,
    pl_: PayerPlan,
    acc: Accounts,
    pay_utc: np.ndarray,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = ctx.rng("media")
    acct: list[int] = []
    seen: list[int] = []
    htype: list[str] = []
    value: list[str] = []
    quality: list[int | None] = []
    case: list[int] = []

    def sight(a: int, t: int, kind: str, h: str, c: int = -1) -> None:
        acct.append(a)
        seen.append(t)
        htype.append(kind)
        value.append(h)
        quality.append(int(rng.integers(50, 101)) if kind == "pdq" else None)
        case.append(c)

    for c in np.unique(pl_.pay_case):
        rows = np.flatnonzero(pl_.pay_case == c)
        if rng.random() > 0.7:
            continue
        items = int(rng.integers(1, 5))
        pdq = random_hex(rng, items, 32)
        md5 = random_hex(rng, items, 16)
        sha = random_hex(rng, items, 32)
        facs = sorted({int(x) for x in pl_.pay_fac[rows]})
        payers = sorted({int(x) for x in pl_.pay_cust[rows]})
        for k in range(items):
            t = int(pay_utc[rows[int(rng.integers(0, len(rows)))]])
            fa = acc.by_facilitator[facs[int(rng.integers(0, len(facs)))]]
            sight(fa, t, "pdq", pdq[k], int(c))
            sight(fa, t, "md5", md5[k], int(c))
            sight(fa, t, "sha256", sha[k], int(c))
            for p in payers:
                if rng.random() < 0.3:
                    when = t + int(rng.integers(1, 30)) * clock.US_PER_DAY
                    sight(acc.by_customer[p][0], when, "pdq", near_duplicate(rng, pdq[k]), int(c))
    # Noise: unrelated media on everyday accounts, and viral items on many accounts.
    everyday = np.concatenate([acc.of_kind("customer"), acc.of_kind("public")])
    n_noise = max(50, len(ctx.pop) // 5 * ctx.window.months // 3)
    span = ctx.window.end_us - ctx.window.start_us
    kinds = rng.choice(list(HASH_BYTES), n_noise, p=[0.6, 0.25, 0.15])
    on = everyday[rng.integers(0, len(everyday), n_noise)]
    at = ctx.window.start_us + (rng.random(n_noise) * span).astype(np.int64)
    for kind in HASH_BYTES:
        sel = np.flatnonzero(kinds == kind)
        for j, h in zip(sel, random_hex(rng, len(sel), HASH_BYTES[kind]), strict=True):
            sight(int(on[j]), int(at[j]), kind, h)
    viral = random_hex(rng, 5, 32)
    for h in viral:
        for a in everyday[rng.integers(0, len(everyday), int(rng.integers(5, 30)))]:
            sight(int(a), ctx.window.start_us + int(rng.random() * span), "pdq", h)
    return _frame(acc, acct, seen, htype, value, quality, case)


def _frame(
    acc: Accounts,
    acct: list[int],
    seen: list[int],
    htype: list[str],
    value: list[str],
    quality: list[int | None],
    case: list[int],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    t = np.array(seen, dtype=np.int64) // clock.US_PER_S * clock.US_PER_S
    order = np.lexsort((np.arange(len(t)), t))
    a = np.array(acct, dtype=np.int64)[order]
    sighting_ids = ids("M", len(order), 9)
    services = lookup(acc.service, a)
    accounts = lookup(acc.account, a)
    frame = pl.DataFrame(
        {
            "sighting_id": sighting_ids,
            "seen_at": utc(t[order]),
            "hash_type": [htype[i] for i in order],
            "hash_value": [value[i] for i in order],
            "quality": pl.Series([quality[i] for i in order], dtype=pl.Int64),
            "service": services,
            "account_id": accounts,
        }
    ).with_columns(
        location=pl.concat_str(
            pl.lit("https://"),
            pl.col("service"),
            pl.lit(".example/"),
            pl.col("account_id"),
            pl.lit("/media/"),
            pl.col("hash_value").str.slice(0, 12),
        )
    )
    c = np.array(case, dtype=np.int64)[order]
    linked = np.flatnonzero(c >= 0)
    names = pl.Series([case_id(k) for k in range(int(c.max(initial=-1)) + 1)], dtype=pl.String)
    links = links_of(
        "media_sightings", lookup(names, c[linked]), sighting_ids.gather(pl.Series(linked))
    )
    return conform("media_sightings", frame), links
