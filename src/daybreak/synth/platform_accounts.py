"""The ``platform_accounts`` table: what each service knows about each account.

Accounts planted by a behaviour (:mod:`daybreak.synth.grooming`) carry their own facts;
everyone else's are drawn here from their own random stream (so this table never
changes what the other tables draw): bank customers declare their real age band (from
their birth year) most of the time, facilitators and the public often declare none, and
a few public accounts are verified.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from daybreak.schema.columns import MINOR_AGE_BANDS
from daybreak.synth import clock
from daybreak.synth.accounts import Accounts
from daybreak.synth.context import Ctx
from daybreak.synth.frames import conform, utc
from daybreak.synth.grooming import AccountFacts

DECLARED_SHARE = {"customer": 0.8, "family": 0.7, "facilitator": 0.4, "public": 0.6}


def _adult_band(age: int) -> str:
    return "18-24" if age < 25 else "25+"


def build(ctx: Ctx, acc: Accounts, known: Mapping[int, AccountFacts]) -> pl.DataFrame:
    rng = ctx.rng("platform_accounts")
    n = len(acc)
    declared = rng.random(n)
    created = ctx.window.start_us - (rng.uniform(0.2, 8.0, n) * 365 * clock.US_PER_DAY).astype(
        np.int64
    )
    verified = rng.random(n) < 0.02
    young = rng.random(n) < 0.25  # a declared adult band without a birth year: 18-24
    year = ctx.window.start.year
    bands: list[str | None] = []
    for a in range(n):
        kind, owner = acc.owner_kind[a], acc.owner[a]
        if declared[a] >= DECLARED_SHARE.get(kind, 0.6):
            bands.append(None)
        elif kind == "customer" and ctx.pop.birth_year[owner] > 0:
            bands.append(_adult_band(year - int(ctx.pop.birth_year[owner])))
        else:
            bands.append("18-24" if young[a] else "25+")
    for a, facts in known.items():
        created[a] = facts.created_us
        bands[a] = facts.age_band
        verified[a] = facts.verified and True
    verified[[a for a in range(n) if acc.owner_kind[a] != "public" and a not in known]] = False
    frame = pl.DataFrame(
        {
            "service": acc.service,
            "account_id": acc.account,
            "created_at": utc(created // clock.US_PER_S * clock.US_PER_S),
            "age_band": pl.Series(bands, dtype=pl.String),
            "country": acc.country,
            "verified": pl.Series(verified, dtype=pl.Boolean),
        }
    ).with_columns(
        is_minor=pl.when(pl.col("age_band").is_not_null()).then(
            pl.col("age_band").is_in(list(MINOR_AGE_BANDS))
        )
    )
    # A customer with several accounts, or a known offender's linked bank account, lists
    # the same account once.
    return conform(
        "platform_accounts",
        frame.unique(["service", "account_id"], keep="first", maintain_order=True),
    )


__all__ = ["build"]
