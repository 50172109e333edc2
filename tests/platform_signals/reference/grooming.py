"""The grooming detector's SQL plan as it was before the speed work of issue #16 (the
reference ``test_plan_equivalence`` compares the faster plan with); what did not change
is imported from the detector."""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.platform import grooming
from daybreak.platform.grooming import (
    ACTORS_QUERY,
    CONTACT_TYPES,
    INPUT_TABLES,
    SIBLINGS_QUERY,
    GroomingParams,
    actor_sums,
    pair_aggregates,
    pair_flags,
)
from daybreak.schema.columns import MINOR_AGE_BANDS


def compile_pipeline(d: Dialect, params: GroomingParams) -> Pipeline:
    """The SQL steps, reading the two input tables by name; ``grooming_actors`` holds one
    scored row per actor and ``grooming_pairs`` one row per (actor, minor) pair."""
    p = Pipeline(INPUT_TABLES)
    p.add(
        "grooming_accounts",
        f"""
SELECT service || ':' || account_id AS account, service, account_id, country, age_band,
  created_at,
  {d.epoch_seconds("created_at")} AS created_s,
  CASE WHEN verified THEN 1 ELSE 0 END AS verified,
  CASE WHEN is_minor OR age_band IN ({d.strings(MINOR_AGE_BANDS)}) THEN 1 ELSE 0 END AS minor
FROM platform_accounts
""",
        inputs=("platform_accounts",),
        materialize=True,
    )
    p.add(
        "grooming_edges",
        f"""
SELECT e.event_id, e.event_type, s.account AS src, t.account AS dst, e.started_at,
  {d.epoch_seconds("e.started_at")} AS t_s, s.minor AS src_minor, t.minor AS dst_minor
FROM platform_events e
-- joined on built keys, not on (service, account_id) twice: from the latter a planner
-- derives s.service = t.service and may join the accounts with each other first
JOIN grooming_accounts s ON s.account = e.service || ':' || e.account_id
JOIN grooming_accounts t ON t.account = e.service || ':' || e.counterparty_account_id
WHERE e.event_type IN ({d.strings(CONTACT_TYPES)}) AND (s.minor = 1 OR t.minor = 1)
""",
        inputs=("platform_events", "grooming_accounts"),
        materialize=True,
    )
    p.add(
        "grooming_contacts",
        """
SELECT event_id, event_type, started_at, t_s,
  CASE WHEN src_minor = 0 THEN src ELSE dst END AS actor,
  CASE WHEN src_minor = 0 THEN dst ELSE src END AS target,
  CASE WHEN src_minor = 0 THEN 1 ELSE 0 END AS outbound
FROM grooming_edges WHERE src_minor + dst_minor = 1
""",
        inputs=("grooming_edges",),
        materialize=True,
    )
    p.add(
        "grooming_pair_times",
        _pair_times_sql(d),
        inputs=("grooming_contacts",),
        materialize=True,
    )
    p.add(
        "grooming_neighbours",
        """
SELECT DISTINCT src AS minor, dst AS other FROM grooming_edges WHERE src_minor + dst_minor = 2
UNION
SELECT DISTINCT dst AS minor, src AS other FROM grooming_edges WHERE src_minor + dst_minor = 2
""",
        inputs=("grooming_edges",),
        materialize=True,
    )
    p.add(
        "grooming_connected",
        """
SELECT DISTINCT p.actor, p.target
FROM grooming_pair_times p
JOIN grooming_neighbours n ON n.minor = p.target
JOIN grooming_pair_times q ON q.actor = p.actor AND q.target = n.other
""",
        inputs=("grooming_pair_times", "grooming_neighbours"),
        materialize=True,
    )
    p.add("grooming_pairs", _pairs_sql(params), inputs=_PAIR_INPUTS, materialize=True)
    p.add(
        "grooming_own_actors",
        _own_sql(d, params),
        inputs=("grooming_pairs", "grooming_accounts"),
        materialize=True,
    )
    p.add(
        "grooming_actor_events",
        # one scan of the events for both fingerprints (two scans cost twice as much)
        """
SELECT DISTINCT o.actor AS account, e.device_id, e.ip
FROM platform_events e
JOIN grooming_own_actors o ON o.service = e.service AND o.account_id = e.account_id
WHERE e.device_id IS NOT NULL OR e.ip IS NOT NULL
""",
        inputs=("platform_events", "grooming_own_actors"),
        materialize=True,
    )
    p.add(
        "grooming_fingerprints",
        """
SELECT DISTINCT account, 'device' AS kind, device_id AS value
FROM grooming_actor_events WHERE device_id IS NOT NULL
UNION
SELECT DISTINCT account, 'ip' AS kind, ip AS value
FROM grooming_actor_events WHERE ip IS NOT NULL
""",
        inputs=("grooming_actor_events",),
        materialize=True,
    )
    p.add(
        "grooming_siblings",
        """
SELECT x.actor, y.actor AS sibling, y.service AS sibling_service,
  CASE WHEN y.service = x.service THEN 1 ELSE 0 END AS same_service, y.initiated
FROM (SELECT DISTINCT o.actor, o.service, f.kind, f.value FROM grooming_own_actors o
      JOIN grooming_fingerprints f ON f.account = o.actor) x
JOIN (SELECT DISTINCT o.actor, o.service, o.initiated, f.kind, f.value FROM grooming_own_actors o
      JOIN grooming_fingerprints f ON f.account = o.actor) y
  ON y.kind = x.kind AND y.value = x.value AND y.actor <> x.actor
GROUP BY x.actor, y.actor, y.service, x.service, y.initiated
""",
        inputs=("grooming_own_actors", "grooming_fingerprints"),
        materialize=True,
    )
    # the scores did not change
    p.extend(s for s in grooming.compile_pipeline(d, params).steps if s.name == "grooming_actors")
    return p


_PAIR_INPUTS = ("grooming_pair_times", "grooming_connected", "grooming_accounts")


def _pair_times_sql(d: Dialect) -> str:
    return f"""
SELECT actor, target,{pair_aggregates(d)}
FROM grooming_contacts
GROUP BY actor, target
"""


def _pairs_sql(params: GroomingParams) -> str:
    return f"""
SELECT p.*, t.country AS target_country, t.age_band AS target_band,{pair_flags(params)}
FROM grooming_pair_times p
JOIN grooming_accounts a ON a.account = p.actor
JOIN grooming_accounts t ON t.account = p.target
LEFT JOIN grooming_connected c ON c.actor = p.actor AND c.target = p.target
"""


def _own_sql(d: Dialect, params: GroomingParams) -> str:
    new = params.new_account_days * 86400.0
    return f"""
SELECT g.*, a.service, a.account_id, a.country, a.age_band, a.created_at, a.verified,
  CASE WHEN g.first_contact_s - a.created_s < {new!r} THEN 1 ELSE 0 END AS new_account,
  (g.first_contact_s - a.created_s) / 86400.0 AS account_age_days
FROM (
  SELECT actor, {actor_sums(d)}
  FROM grooming_pairs GROUP BY actor
) g
JOIN grooming_accounts a ON a.account = g.actor
WHERE g.initiated > 0
"""


EVIDENCE_QUERY = """
SELECT p.actor, p.target, p.target_country, p.target_band, p.first_event_id,
  p.first_event_type, p.call_event_id, p.first_s, p.call_s, p.message_s, p.first_seen,
  p.connected
FROM grooming_pairs p JOIN grooming_actors a ON a.actor = p.actor
WHERE a.score >= {min_score} AND p.initiated = 1
ORDER BY p.actor, p.first_s, p.target
"""


__all__ = ["ACTORS_QUERY", "EVIDENCE_QUERY", "SIBLINGS_QUERY", "compile_pipeline"]
