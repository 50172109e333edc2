"""The same people across sources: accounts, platform events, reports, media sightings
and the identifiers that tie them together (and to the bank's customers)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from daybreak.synth import accounts, events, media, platform_accounts, sextortion, tipline
from daybreak.synth.clock import LocalClock
from daybreak.synth.context import Ctx
from daybreak.synth.frames import conform
from daybreak.synth.grooming import Grooming, account_facts, label_rows
from daybreak.synth.payers import PayerPlan
from daybreak.synth.relative_calls import RelativeCalls
from daybreak.synth.truth import LABEL_SCHEMA, LINK_SCHEMA, case_id


@dataclass(frozen=True)
class CrossSource:
    reports: pl.DataFrame
    platform_events: pl.DataFrame
    media_sightings: pl.DataFrame
    identifiers: pl.DataFrame
    links: pl.DataFrame
    platform_accounts: pl.DataFrame
    account_labels: pl.DataFrame  # planted platform truth (grooming, sextortion), else empty


def generate(
    ctx: Ctx,
    plan: PayerPlan,
    lclock: LocalClock,
    relatives: RelativeCalls | None = None,
    groom: Grooming | None = None,
    sext: sextortion.Sextortion | None = None,
) -> CrossSource:
    acc = accounts.build(ctx, plan)
    pay_utc = lclock.to_utc(plan.pay_local, ctx.pop.tz[plan.pay_cust])
    ev, ev_links = events.generate(ctx, plan, acc, lclock, relatives, groom, sext)
    reports, report_ids, report_links = tipline.generate(ctx, plan, acc, pay_utc)
    sightings, media_links = media.generate(ctx, plan, acc, pay_utc)
    idents = pl.concat([_customer_identifiers(ctx, acc), report_ids])
    return CrossSource(
        reports=reports,
        platform_events=ev,
        media_sightings=sightings,
        identifiers=idents,
        links=pl.concat(
            [
                _account_links(plan, acc),
                report_links,
                ev_links,
                media_links,
                *_sextortion_links(sext, acc),
            ]
        ),
        platform_accounts=platform_accounts.build(
            ctx, acc, {**account_facts(groom), **sextortion.account_facts(sext)}
        ),
        account_labels=pl.DataFrame(
            (list(label_rows(groom, acc, case_id)) if groom else [])
            + (list(sextortion.label_rows(sext, ctx, case_id)) if sext else []),
            schema=LABEL_SCHEMA,
            orient="row",
        ),
    )


def _sextortion_links(
    sext: sextortion.Sextortion | None, acc: accounts.Accounts
) -> list[pl.DataFrame]:
    if sext is None:
        return []
    rows = list(sextortion.case_links(sext, acc, case_id))
    return [pl.DataFrame(rows, schema=LINK_SCHEMA, orient="row")]


def _customer_identifiers(ctx: Ctx, acc: accounts.Accounts) -> pl.DataFrame:
    """Every customer's e-mail and phone, and their own platform accounts."""
    pop = ctx.pop
    owners = sorted(acc.by_customer)
    acct_owner = [pop.ids[c] for c in owners for _ in acc.by_customer[c]]
    acct_value = [acc.value(a) for c in owners for a in acc.by_customer[c]]
    n = len(pop)
    frame = pl.DataFrame(
        {
            "source_id": pop.ids + pop.ids + acct_owner,
            "kind": ["email"] * n + ["phone"] * n + ["account"] * len(acct_owner),
            "value": pop.email + pop.phone + acct_value,
        },
        schema={"source_id": pl.String, "kind": pl.String, "value": pl.String},
    ).with_columns(
        source=pl.lit("customers"),
        role=pl.lit("customer"),
        seen_at=pl.lit(None, dtype=pl.Datetime("us", "UTC")),
    )
    # Grouped by customer (stable), as a bank's contact-details export would be.
    return conform("identifiers", frame.sort("source_id", maintain_order=True))


def _account_links(plan: PayerPlan, acc: accounts.Accounts) -> pl.DataFrame:
    """Each case's platform accounts ("service:account_id"): facilitators' and payers'."""
    rows: list[tuple[str, str]] = []
    cases = set(plan.case.tolist())
    for f, a in sorted(acc.by_facilitator.items()):
        if plan.fac.ring[f] in cases:
            rows.append((case_id(plan.fac.ring[f]), acc.value(a)))
    for i, c in enumerate(plan.payers):
        for a in acc.by_customer.get(int(c), []):
            rows.append((case_id(int(plan.case[i])), acc.value(a)))
    return pl.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "source": ["accounts"] * len(rows),
            "record_id": [r[1] for r in rows],
        },
        schema=LINK_SCHEMA,
    ).unique(maintain_order=True)


__all__ = ["CrossSource", "generate"]
