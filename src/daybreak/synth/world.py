"""Assemble a synthetic world: customers, their payments, the other sources and the truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from daybreak.schema.columns import CHANNELS
from daybreak.synth import benign, crosssource, lookalikes, payers
from daybreak.synth.clock import WORLD_START, LocalClock, Window
from daybreak.synth.context import Ctx, rng_for
from daybreak.synth.frames import MCC_STRINGS, conform, ids, lookup, utc
from daybreak.synth.ledger import Ledger
from daybreak.synth.population import Population, build_population
from daybreak.synth.profiles import Profile, get_profile
from daybreak.synth.truth import base_links, case_id, labels, links_of

DEFAULT_TXN_PER_MONTH = 17.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class World:
    """Every table of a synthetic world (public schema) plus its truth."""

    transactions: pl.DataFrame
    customers: pl.DataFrame
    reports: pl.DataFrame
    platform_events: pl.DataFrame
    media_sightings: pl.DataFrame
    identifiers: pl.DataFrame
    labels: pl.DataFrame
    links: pl.DataFrame
    profile: str
    seed: int
    stats: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {
            "transactions": self.transactions,
            "customers": self.customers,
            "reports": self.reports,
            "platform_events": self.platform_events,
            "media_sightings": self.media_sightings,
            "identifiers": self.identifiers,
        }


STEPS = ("customers", "everyday spending", "look-alikes", "payers", "cross-source", "truth")


def generate_world(
    customers: int = 5000,
    months: int = 12,
    seed: int = 7,
    profile: str | Profile = "default",
    *,
    txn_per_month: float | None = None,
    transactions: int | None = None,
    progress: Progress | None = None,
) -> World:
    """Build a deterministic world: the same arguments always give the same frames.

    ``txn_per_month`` is the average number of everyday transactions per customer and
    month (default 17); ``transactions`` instead sets an approximate total row count.
    """
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be at least 1")
    prof = get_profile(profile) if isinstance(profile, str) else profile
    rate = DEFAULT_TXN_PER_MONTH if txn_per_month is None else txn_per_month
    if transactions is not None:
        rate = max(0.0, transactions / (customers * months) - 1.0)
    step = progress or (lambda _name: None)
    window = Window(WORLD_START, months)
    step("customers")
    pop = build_population(rng_for(seed, "population"), prof, customers)
    ctx = Ctx(seed, prof, window, pop, Ledger(), rate)
    plan = payers.plan(ctx)
    step("everyday spending")
    benign.generate(ctx)
    step("look-alikes")
    lookalikes.generate(ctx)
    step("payers")
    payers.generate(ctx, plan)
    clock = LocalClock(pop.zones, window)
    txns, txn_links, used = _transactions(ctx, clock)
    step("cross-source")
    cross = crosssource.generate(ctx, plan, clock)
    step("truth")
    truth = labels(pop, plan, ctx.ledger.receivers, used)
    links = pl.concat([base_links(truth), txn_links, cross.links])
    return World(
        transactions=txns,
        customers=_customers(pop),
        reports=cross.reports,
        platform_events=cross.platform_events,
        media_sightings=cross.media_sightings,
        identifiers=cross.identifiers,
        labels=truth,
        links=links,
        profile=prof.name,
        seed=seed,
    )


def _customers(pop: Population) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "customer_id": pop.ids,
            "name": pop.names,
            "birth_year": pl.Series(pop.birth_year).replace(0, None),
            "gender": pop.gender,
            "country": pop.country,
            "timezone": lookup(pop.zones, pop.tz),
            "known_offender": pl.Series(pop.known_offender, dtype=pl.Boolean),
        }
    )
    return conform("customers", frame)


def _transactions(ctx: Ctx, clock: LocalClock) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    led, pop = ctx.ledger, ctx.pop
    b = led.concat()
    used = np.bincount(b.recv, minlength=len(led.receivers.ids)) > 0
    ts = clock.to_utc(b.local_us, pop.tz[b.cust])
    # Sort by time: unique keys (whole seconds, then generation order) make the order
    # deterministic, and txn ids follow time so they reveal nothing about the truth.
    key = (ts // 1_000_000) * (1 << 28) + np.arange(len(ts), dtype=np.int64)
    order = pl.Series(key).arg_sort().to_numpy()
    # One random-access pass over rows packed in 5 int64 words is much cheaper than one
    # pass per column.
    packed = np.empty((len(ts), 5), dtype=np.int64)
    packed[:, 0] = _pair(b.cust, b.recv)
    packed[:, 1] = _pair(b.rname, b.ref)
    packed[:, 2] = _pair(b.case, b.mcc.astype(np.int32) * 256 + b.channel)
    packed[:, 3] = b.amount.view(np.int64)
    packed[:, 4] = ts
    del b, key
    packed = packed[order]
    del order
    unpacked: dict[str, np.ndarray] = {}
    unpacked["cust"], unpacked["recv"] = _split(packed[:, 0])
    unpacked["rname"], unpacked["ref"] = _split(packed[:, 1])
    unpacked["case"], mc = _split(packed[:, 2])
    unpacked["mcc"], unpacked["channel"] = mc // 256, mc % 256
    unpacked["amount"] = np.ascontiguousarray(packed[:, 3]).view(np.float64)
    unpacked["ts"] = np.ascontiguousarray(packed[:, 4])
    del packed

    def col(name: str) -> np.ndarray:
        return unpacked[name]

    cust, recv = col("cust"), col("recv")
    txn_ids = ids("T", len(cust), 10)
    frame = pl.DataFrame(
        {
            "txn_id": txn_ids,
            "timestamp": utc(col("ts")),
            "sender_id": lookup(pop.ids, cust),
            "sender_name": lookup(pop.names, cust),
            "sender_country": lookup(pop.country, cust),
            "receiver_id": lookup(led.receivers.ids.values, recv),
            "receiver_name": lookup(led.names.values, col("rname")),
            "receiver_country": lookup(led.receivers.country, recv),
            "amount": col("amount"),
            "currency": pl.repeat(ctx.profile.currency, len(cust), eager=True),
            "channel": lookup(list(CHANNELS), col("channel")),
            "reference": lookup(led.refs.values, col("ref")),
            "merchant_category": lookup(MCC_STRINGS, col("mcc")),
        }
    )
    case = col("case")
    linked = np.flatnonzero(case >= 0)
    case_names = pl.Series(
        [case_id(c) for c in range(int(case.max(initial=-1)) + 1)], dtype=pl.String
    )
    links = links_of(
        "transactions", lookup(case_names, case[linked]), txn_ids.gather(pl.Series(linked))
    )
    return conform("transactions", frame), links, used


def _pair(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Two int32 columns in one int64 word (lo stored as unsigned 32 bits)."""
    return (hi.astype(np.int64) << 32) | (lo.astype(np.int64) & 0xFFFFFFFF)


def _split(word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = (word >> 32).astype(np.int32)
    lo = (word & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    return hi, lo
