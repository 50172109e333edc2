"""The sextortion detector's SQL plan as it was before the speed work of issue #16 (the
reference ``test_plan_equivalence`` compares the faster plan with): the contact events
read in two scans, one per direction, and grouped on the minor's and customer's
strings, for every minor tied to a customer; the payments looked up for the families in
those pairs, and the actor's first contact taken from them. The other steps did not
change."""

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
    SPEND_CHANNELS,
    SextortionParams,
)

# the actor's first contact, before version 8 (the live plan takes it from the contacts)
_ACTOR_FIRST = """JOIN (SELECT actor, min(first_s) AS actor_first_s FROM sextortion_pairs GROUP BY actor) af
  ON af.actor = e.actor"""
_OLD_PAIRS_INPUTS = ("sextortion_contacts", "sextortion_accounts", "sextortion_minors")
_ORDER = ("sextortion_accounts", "sextortion_minors", "sextortion_contacts", "sextortion_pairs")


def compile_pipeline(d: Dialect, params: SextortionParams) -> Pipeline:
    live = sextortion.compile_pipeline(d, params)
    steps = {s.name: s for s in live.steps}
    grouped = steps["sextortion_grouped"].sql
    start = grouped.index("-- the actor's first contact with any minor")
    end = grouped.index("ON af.actor = e.actor", start) + len("ON af.actor = e.actor")
    old = {
        "sextortion_contacts": (_contacts_sql(d), None),
        "sextortion_pairs": (_pairs_sql(d), _OLD_PAIRS_INPUTS),
        "sextortion_payments": (_payments_sql(d), ("transactions", "sextortion_pairs")),
        "sextortion_grouped": (grouped[:start] + _ACTOR_FIRST + grouped[end:], None),
    }
    out = Pipeline(live.inputs)
    for name in [*_ORDER, *(n for n in steps if n not in _ORDER)]:
        s = steps[name]
        if name in old:
            sql, inputs = old[name]
            s = replace(s, sql=sql.strip(), inputs=inputs or s.inputs)
        out.append(s)
    return out


def _payments_sql(d: Dialect) -> str:
    return f"""
SELECT t.txn_id, t.sender_id AS customer_id, t.receiver_id, t.receiver_country, t.amount,
  t.currency, t.timestamp AS paid_at, {d.epoch_seconds("t.timestamp")} AS t_s
FROM transactions t
WHERE t.receiver_country <> t.sender_country AND t.channel NOT IN ({d.strings(SPEND_CHANNELS)})
  AND t.sender_id IN (SELECT customer_id FROM sextortion_pairs)
"""


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
