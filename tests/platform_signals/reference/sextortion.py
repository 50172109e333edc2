"""The sextortion detector's SQL plan as it was before the speed work of issue #16 (the
reference ``test_plan_equivalence`` compares the faster plan with): the contact events
read in two scans, one per direction, and grouped on the minor's and customer's
strings. The other steps did not change."""

from __future__ import annotations

from dataclasses import replace

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.platform import sextortion
from daybreak.platform.sextortion import (
    CONTACT_TYPES,
    EPISODES_QUERY,
    PAYMENTS_QUERY,
    SHOW_TYPES,
    SextortionParams,
)


def compile_pipeline(d: Dialect, params: SextortionParams) -> Pipeline:
    live = sextortion.compile_pipeline(d, params)
    out = Pipeline(live.inputs)
    old = {"sextortion_contacts": _contacts_sql(d), "sextortion_pairs": _pairs_sql(d)}
    out.extend(replace(s, sql=old[s.name].strip()) if s.name in old else s for s in live.steps)
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
    {src} AS actor, m.minor, m.customer_id, m.mid, 1 AS outbound
  FROM platform_events e JOIN sextortion_minors m ON m.minor = {dst}
  WHERE e.event_type IN ({types})
  UNION ALL
  SELECT e.event_id, e.event_type, e.started_at, {d.epoch_seconds("e.started_at")} AS t_s,
    {dst} AS actor, m.minor, m.customer_id, m.mid, 0 AS outbound
  FROM platform_events e JOIN sextortion_minors m ON m.minor = {src}
  WHERE e.event_type IN ({types}) AND e.counterparty_account_id IS NOT NULL
) c
WHERE c.actor <> c.minor
"""


def _pairs_sql(d: Dialect) -> str:
    shows = d.strings(SHOW_TYPES)
    call = f"CASE WHEN event_type IN ({shows}) AND outbound = 1"
    return f"""
SELECT g.*, a.country AS actor_country, a.created_s, coalesce(a.verified, 0) AS verified,
  coalesce(a.minor, 0) AS actor_minor, m.minor_country,
  CASE WHEN g.first_out_s IS NOT NULL AND (g.first_in_s IS NULL OR g.first_out_s <= g.first_in_s)
    THEN 1 ELSE 0 END AS initiated
FROM (
  SELECT actor, minor, customer_id,
    min(t_s) AS first_s,
    max(t_s) AS last_s,
    min(CASE WHEN outbound = 1 THEN t_s END) AS first_out_s,
    min(CASE WHEN outbound = 0 THEN t_s END) AS first_in_s,
    min({call} THEN t_s END) AS call_s,
    min_by(event_id, t_s) AS first_event_id,
    min_by(event_type, t_s) AS first_event_type,
    min_by({call} THEN event_id END, {call} THEN t_s END) AS call_event_id,
    min(started_at) AS first_seen
  FROM sextortion_contacts
  GROUP BY actor, minor, customer_id
) g
LEFT JOIN sextortion_accounts a ON a.account = g.actor
JOIN (SELECT DISTINCT minor, minor_country FROM sextortion_minors) m ON m.minor = g.minor
"""


__all__ = ["EPISODES_QUERY", "PAYMENTS_QUERY", "compile_pipeline"]
