"""Assemble a synthetic world: customers, their payments, the other sources and the truth."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from daybreak.schema.columns import CHANNELS
from daybreak.synth import (
    ads,
    benign,
    business,
    careful,
    crosssource,
    grooming,
    households,
    lookalikes,
    payers,
    relative_calls,
    sextortion,
)
from daybreak.synth.clock import US_PER_S, WORLD_START, LocalClock, Window
from daybreak.synth.context import Ctx, rng_for
from daybreak.synth.frames import MCC_STRINGS, conform, ids, lookup, utc
from daybreak.synth.ledger import Ledger
from daybreak.synth.population import Population, build_population
from daybreak.synth.priors import Priors
from daybreak.synth.profiles import Profile, get_profile
from daybreak.synth.truth import LABEL_SCHEMA, ad_links, base_links, case_id, labels, links_of

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
    # A randomised world's draw (truth/params.json); None for a hand-written profile.
    params: dict[str, Any] | None = None
    platform_accounts: pl.DataFrame | None = None
    # Planted platform actors (truth/account_labels.csv), when the world plants them.
    account_labels: pl.DataFrame | None = None
    # Job/model ads and profiles (no rows unless the world plants recruitment networks).
    platform_ads: pl.DataFrame | None = None

    def tables(self) -> dict[str, pl.DataFrame]:
        tables = {
            "transactions": self.transactions,
            "customers": self.customers,
            "reports": self.reports,
            "platform_events": self.platform_events,
            "media_sightings": self.media_sightings,
            "identifiers": self.identifiers,
        }
        if self.platform_accounts is not None:
            tables["platform_accounts"] = self.platform_accounts
        if self.platform_ads is not None:
            tables["platform_ads"] = self.platform_ads
        return tables


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
    randomize: bool = False,
    priors: Priors | None = None,
    relatives_calls: bool = False,
    grooming_priors: grooming.GroomingPriors | None = None,
    sextortion_priors: sextortion.SextortionPriors | None = None,
    ads_priors: ads.AdsPriors | None = None,
) -> World:
    """Build a deterministic world: the same arguments always give the same frames.

    ``txn_per_month`` is the average number of everyday transactions per customer and
    month (default 17); ``transactions`` instead sets an approximate total row count.
    ``randomize`` (or giving ``priors``) draws the whole profile from the seed instead
    of using ``profile`` (see :mod:`daybreak.synth.priors`); the draw is in
    ``World.params``. ``relatives_calls`` adds the stream-payment look-alike
    (:mod:`daybreak.synth.relative_calls`: relatives' calls home with payments around
    them); it is off by default so that the profile worlds, and every figure measured on
    them, stay byte for byte what they were. ``grooming_priors`` (off by default, for
    the same reason) plants groomers and their look-alikes among minors' accounts
    (:mod:`daybreak.synth.grooming`), labelled in ``account_labels`` (kept apart from
    ``labels`` so the bank-side evaluations are unchanged); their draw is recorded
    under ``params["grooming"]``. ``sextortion_priors`` (off by default, likewise) plants
    extortion rings paid by customers' teenagers and their look-alikes
    (:mod:`daybreak.synth.sextortion`), labelled per (customer, receiver) pair in
    ``account_labels``; the draw is under ``params["sextortion"]``. ``ads_priors``
    (likewise) writes ``platform_ads``: recruitment networks' ads and fake profiles with
    their look-alikes (:mod:`daybreak.synth.ads`), each ad labelled in ``account_labels``
    (``subject_type = ad``); the draw is under ``params["ads"]``.
    """
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be at least 1")
    params: dict[str, Any] | None = None
    if randomize or priors is not None:
        if not (isinstance(profile, str) and profile == "default"):
            raise ValueError("a randomised world draws its own profile: do not pass one")
        drawn = (priors or Priors()).draw(seed)
        prof, params = drawn.profile, drawn.params
    else:
        prof = get_profile(profile) if isinstance(profile, str) else profile
    rate = DEFAULT_TXN_PER_MONTH if txn_per_month is None else txn_per_month
    if transactions is not None:
        rate = max(0.0, transactions / (customers * months) - 1.0)
    step = progress or (lambda _name: None)
    window = Window(WORLD_START, months)
    step("customers")
    pop = build_population(rng_for(seed, "population"), prof, customers)
    ctx = Ctx(seed, prof, window, pop, Ledger(), rate)
    business.name_firms(ctx)
    plan = payers.plan(ctx)
    step("everyday spending")
    benign.generate(ctx)
    step("look-alikes")
    lookalikes.generate(ctx)
    business.generate(ctx)
    households.generate(ctx)
    relatives = relative_calls.plan(ctx) if relatives_calls else None
    step("payers")
    start = payers.generate(ctx, plan)
    careful.generate(ctx, plan, start)
    payers.related_purchases(ctx, plan, start)
    clock = LocalClock(pop.zones, window)
    groom = sext = None
    rings = max(int(plan.case.max(initial=-1)), max(plan.fac.ring, default=-1))
    if grooming_priors is not None:
        groom = grooming.plan(ctx, grooming_priors, case_base=rings + 1)
        params = {**(params or {}), "grooming": groom.behaviour}
    if sextortion_priors is not None:
        base = rings + 1 + (groom.groomers(len(pop)) if groom is not None else 0)
        sext = sextortion.plan(ctx, sextortion_priors, case_base=base)
        params = {**(params or {}), "sextortion": sext.behaviour}
    # The other sources need the payers' plan but not the transaction frame: build them
    # alongside (they only read shared state, and draw from their own random streams).
    with ThreadPoolExecutor(max_workers=1) as side:
        other_sources = side.submit(crosssource.generate, ctx, plan, clock, relatives, groom, sext)
        txns, txn_links, used = _transactions(ctx, clock)
        step("cross-source")
        cross = other_sources.result()
    step("truth")
    truth = labels(pop, plan, ctx.ledger.receivers, used)
    account_labels = cross.account_labels
    links = pl.concat([base_links(truth), base_links(account_labels), txn_links, cross.links])
    ad_frame = ads.empty()  # every world has every public table, this one empty
    if ads_priors is not None:
        cases = rings + 1 + (groom.groomers(len(pop)) if groom else 0) + (sext.rings if sext else 0)
        planted = ads.generate(ctx, ads_priors, case_base=cases)
        params = {**(params or {}), "ads": planted.behaviour}
        ad_frame = ads.frame(planted)
        ad_labels = pl.DataFrame(
            list(ads.label_rows(planted, ad_frame["ad_id"], case_id)),
            schema=LABEL_SCHEMA,
            orient="row",
        )
        account_labels = pl.concat([account_labels, ad_labels])
        links = pl.concat([links, ad_links(ad_labels)])
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
        params=params,
        platform_accounts=cross.platform_accounts,
        account_labels=(account_labels if groom or sext or ads_priors is not None else None),
        platform_ads=ad_frame,
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
    n = sum(len(b) for b in led.batches)
    # Rows packed in 40 bytes (ten int32 slots, permuted as five int64 words): one
    # random-access pass for the sort instead of one per column. Batches are written
    # straight into place (two threads; numpy releases the GIL) and dropped, which also
    # keeps peak memory down.
    packed = np.empty((n, 10), dtype=np.int32)
    ts = np.empty(n, dtype=np.int64)
    starts = np.cumsum([0] + [len(b) for b in led.batches])

    def fill(
        k: int, packed: npt.NDArray[np.int32] = packed, ts: npt.NDArray[np.int64] = ts
    ) -> npt.NDArray[np.bool_]:
        b, rows = led.batches[k], slice(int(starts[k]), int(starts[k + 1]))
        for slot, name in enumerate(("cust", "recv", "rname", "ref", "case", "mcc", "channel")):
            packed[rows, slot] = getattr(b, name)
        packed[rows, 7] = 0
        packed[rows, 8:10] = b.amount.view(np.int32).reshape(-1, 2)
        ts[rows] = clock.to_utc(b.local_us, pop.tz[b.cust]) // US_PER_S * US_PER_S
        out: npt.NDArray[np.bool_] = np.bincount(b.recv, minlength=len(led.receivers.ids)) > 0
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        used = np.logical_or.reduce(list(pool.map(fill, range(len(led.batches)))))
        led.batches = []
        # Sort by time; the stable sort keeps generation order among equal times, so the
        # order is deterministic, and txn ids follow time so they reveal nothing about the
        # truth. Everyday rows come as time-sorted runs, which the (tim)sort merges cheaply.
        order = np.argsort(ts, kind="stable")
        rows32 = _take_rows(pool, packed.view(np.int64), order).view(np.int32)
        del packed
        ts_sorted = ts[order]
        del order
        unpacked = _columns(pool, rows32)
    unpacked["amount"] = np.ascontiguousarray(rows32[:, 8:10]).view(np.float64).ravel()
    unpacked["ts"] = ts_sorted
    del rows32

    def col(name: str) -> np.ndarray:
        return unpacked[name]

    cust, recv = col("cust"), col("recv")
    txn_ids = ids("T", len(cust), 10)
    columns: dict[str, Callable[[], pl.Series]] = {
        "sender_id": lambda: lookup(pop.ids, cust),
        "sender_name": lambda: lookup(pop.names, cust),
        "sender_country": lambda: lookup(pop.country, cust),
        "receiver_id": lambda: lookup(led.receivers.ids.values, recv),
        "receiver_name": lambda: lookup(led.names.values, col("rname")),
        "receiver_country": lambda: lookup(led.receivers.country, recv),
        "channel": lambda: lookup(list(CHANNELS), col("channel")),
        "reference": lambda: lookup(led.refs.values, col("ref")),
        "merchant_category": lambda: lookup(MCC_STRINGS, col("mcc")),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(zip(columns, pool.map(lambda f: f(), columns.values()), strict=True))
    frame = pl.DataFrame(
        {
            "txn_id": txn_ids,
            "timestamp": utc(col("ts")),
            **built,
            "amount": col("amount"),
            "currency": pl.repeat(ctx.profile.currency, len(cust), eager=True),
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


def _take_rows(
    pool: ThreadPoolExecutor, words: npt.NDArray[np.int64], order: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """``words[order]`` in two halves on two threads."""
    out = np.empty_like(words)
    n = len(order)
    halves = [slice(0, n // 2), slice(n // 2, n)]
    list(pool.map(lambda h: np.take(words, order[h], axis=0, out=out[h]), halves))
    return out


def _columns(pool: ThreadPoolExecutor, rows32: npt.NDArray[np.int32]) -> dict[str, np.ndarray]:
    names = ("cust", "recv", "rname", "ref", "case", "mcc", "channel")
    cols = pool.map(lambda k: np.ascontiguousarray(rows32[:, k]), range(len(names)))
    return dict(zip(names, cols, strict=True))
