"""The sextortion detector's SQL plan as it was before the speed work of issue #16 (the
reference ``test_plan_equivalence`` compares the faster plan with): the contact events
read in two scans, one per direction. The other steps did not change."""

from __future__ import annotations

from dataclasses import replace

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.platform import sextortion
from daybreak.platform.sextortion import (
    CONTACT_TYPES,
    EPISODES_QUERY,
    PAYMENTS_QUERY,
    SextortionParams,
)


def compile_pipeline(d: Dialect, params: SextortionParams) -> Pipeline:
    live = sextortion.compile_pipeline(d, params)
    out = Pipeline(live.inputs)
    out.extend(
        replace(s, sql=_contacts_sql(d).strip()) if s.name == "sextortion_contacts" else s
        for s in live.steps
    )
    return out


def _contacts_sql(d: Dialect) -> str:
    """Contact events between a minor tied to a customer and any other account (the
    actor; extortion accounts often claim to be teenagers too), in either direction
    (``outbound`` = from the actor)."""
    types = d.strings(CONTACT_TYPES)
    src = "lower(e.service || ':' || e.account_id)"
    dst = "lower(e.service || ':' || e.counterparty_account_id)"
    return f"""
SELECT c.* FROM (
  SELECT e.event_id, e.event_type, e.started_at, {d.epoch_seconds("e.started_at")} AS t_s,
    {src} AS actor, m.minor, m.customer_id, 1 AS outbound
  FROM platform_events e JOIN sextortion_minors m ON m.minor = {dst}
  WHERE e.event_type IN ({types})
  UNION ALL
  SELECT e.event_id, e.event_type, e.started_at, {d.epoch_seconds("e.started_at")} AS t_s,
    {dst} AS actor, m.minor, m.customer_id, 0 AS outbound
  FROM platform_events e JOIN sextortion_minors m ON m.minor = {src}
  WHERE e.event_type IN ({types}) AND e.counterparty_account_id IS NOT NULL
) c
WHERE c.actor <> c.minor
"""


__all__ = ["EPISODES_QUERY", "PAYMENTS_QUERY", "compile_pipeline"]
