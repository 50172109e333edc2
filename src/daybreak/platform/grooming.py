"""Grooming contact patterns: the compiled SQL, the score and the explanations.

Metadata only: who sent a friend request, message or call to whom and when, which
device and IP each account used, and what the platform knows about each account
(``platform_accounts``: declared age band or minor flag, creation date, country,
verified). Never message content.

An *actor* is an account the platform does not know to be a minor; a *target* is one it
knows to be a minor (declared band under 18, or the minor flag). A *pair* is an actor
and a target with any contact; the actor *initiated* it when its first event in the
pair came from the actor. Each actor is scored on the pairs it initiated
(platform-signals.md section 1):

- fan-out: how many minors it (and the accounts sharing its device or IP) reached out to;
- unconnected targets: the share of those minors with no contact with another of them
  (a teacher's class, a relative's siblings and a gamer's circle know each other);
- speed: the share of targets with a private message within a day of the first contact,
  and with a call or stream from the actor within ``fast_call_hours``;
- foreign targets: the share in another country than the actor's;
- a new account: created less than ``new_account_days`` before its first contact;
- recreation: another account on the same service with the same device or IP that also
  contacted minors (back after a ban), or one on another service (the same person);
- verified accounts count against (creators, schools and clubs are often verified).

The actor's score is a logistic function of these, computed in SQL so DuckDB and Spark
give the same numbers; :func:`alerts` names the evidence. Nothing here opens an engine:
:mod:`daybreak.engines.grooming` runs the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.model.alerts import Alert, alert_score
from daybreak.platform.params import check_score_and_weights
from daybreak.schema.columns import MINOR_AGE_BANDS

DETECTOR_ID = "grooming"
VERSION = "7"  # change whenever the SQL, the weights or the explanations change
TYPOLOGY = "grooming_contact_pattern"
INPUT_TABLES = ("platform_events", "platform_accounts")
CONTACT_TYPES = ("friend_request", "message", "call", "stream")
SHOW_TYPES = ("call", "stream")

# Log-odds weights (a logistic fit on worlds from the tuning bands of
# benchmarks/platform_grooming.py, rounded; the benchmark measures them on worlds drawn
# from other bands). Each term is documented in docs/detectors/grooming.md.
WEIGHTS: Mapping[str, float] = {
    "intercept": -13.5,
    "log_fanout": 2.8,  # ln(minors the actor and its device siblings reached out to)
    "unconnected_share": 1.5,  # targets who have no contact with each other
    "quick_message_share": 1.1,  # a private message within a day
    "fast_call_share": 0.6,  # a call or stream within fast_call_hours
    "foreign_share": 2.5,  # targets in another country
    "new_account": 3.3,  # created shortly before the first contact
    "recreated": 0.8,  # another account, same service, same device or IP, also at minors
    "other_service": 0.7,  # an account on another service, same device or IP, at minors
    "verified": -0.3,  # verified by the platform
    # of the minors in contact with the actor, the share it reached out to first: an
    # adult fanning out requests, not one minors befriend too (classmates, relatives)
    "initiated_share": 1.8,
}


@dataclass(frozen=True)
class GroomingParams:
    # the actor and the accounts sharing its device or IP need to have reached out to
    # this many minors
    min_targets: int = 2
    alert_score: float = 0.5  # actors scoring at least this become alerts
    fast_call_hours: float = 72.0  # a call within this many hours of the first contact
    quick_message_hours: float = 24.0  # a message within this many hours
    new_account_days: float = 30.0  # created less than this many days before
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def __post_init__(self) -> None:
        if self.min_targets < 1:
            raise ValueError(f"min_targets must be at least 1, got {self.min_targets}")
        for name in ("fast_call_hours", "quick_message_hours", "new_account_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        check_score_and_weights(self.alert_score, self.weights, WEIGHTS)


def compile_pipeline(d: Dialect, params: GroomingParams) -> Pipeline:
    """The SQL steps, reading the two input tables by name; ``grooming_actors`` holds one
    scored row per actor and ``grooming_pairs`` one row per (actor, minor) pair.

    Accounts are numbered once (``aid``) and every later join and group-by is on those
    integers; the ``service:account_id`` key is joined back only for the rows shown."""
    p = Pipeline(INPUT_TABLES)
    p.add(
        "grooming_accounts",
        f"""
SELECT row_number() OVER (ORDER BY service, account_id) AS aid,
  {d.hash64("service", "account_id")} AS h,
  service || ':' || account_id AS account, service, account_id, country, age_band,
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
        "grooming_contact_pairs",
        _contact_pairs_sql(d),
        inputs=("platform_events", "grooming_accounts"),
        materialize=True,
    )
    p.add(
        "grooming_pair_times",
        f"SELECT actor, target, {_PAIR_COLUMNS} FROM grooming_contact_pairs WHERE dst_minor = 0",
        inputs=("grooming_contact_pairs",),
    )
    p.add(
        "grooming_neighbours",
        """
SELECT target AS minor, actor AS other FROM grooming_contact_pairs WHERE dst_minor = 1
UNION
SELECT actor AS minor, target AS other FROM grooming_contact_pairs WHERE dst_minor = 1
""",
        inputs=("grooming_contact_pairs",),
        materialize=True,
    )
    p.add(
        "grooming_connected",
        # a semi-join keeps each pair once: no DISTINCT over every (pair, neighbour) row
        f"""
SELECT p.actor, p.target
FROM grooming_pair_times p {d.semi_join} (
  SELECT q.actor, n.minor AS target
  FROM grooming_neighbours n JOIN grooming_pair_times q ON q.target = n.other
) c ON c.actor = p.actor AND c.target = p.target
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
        "grooming_actor_keys",
        """
SELECT o.actor, a.h FROM grooming_own_actors o JOIN grooming_accounts a ON a.account = o.actor
""",
        inputs=("grooming_own_actors", "grooming_accounts"),
        materialize=True,
    )
    p.add("grooming_actor_events", _actor_events_sql(d), inputs=_EVENT_INPUTS, materialize=True)
    p.add(
        "grooming_fingerprints",
        """
SELECT DISTINCT account, 'device' AS kind, device AS value
FROM grooming_actor_events WHERE device IS NOT NULL
UNION
SELECT DISTINCT account, 'ip' AS kind, ip AS value
FROM grooming_actor_events WHERE ip IS NOT NULL
""",
        inputs=("grooming_actor_events",),
        materialize=True,
    )
    p.add("grooming_siblings", _siblings_sql(), inputs=_SIBLING_INPUTS, materialize=True)
    p.add(
        "grooming_actors",
        _scored_sql(params),
        inputs=("grooming_own_actors", "grooming_siblings"),
        materialize=True,
    )
    return p


_PAIR_INPUTS = ("grooming_pair_times", "grooming_connected", "grooming_accounts")
_EVENT_INPUTS = ("platform_events", "grooming_actor_keys")
_SIBLING_INPUTS = ("grooming_own_actors", "grooming_fingerprints")


def _contact_pairs_sql(d: Dialect) -> str:
    """One row per pair of accounts with contact events between them, in one scan of the
    events, aggregated as they are joined (a table of every contact event, written and
    read back twice, cost more than the aggregation): an adult or unknown-age account
    and a minor seen from the actor's side (``dst_minor = 0``; ``outbound`` = sent by
    the actor), and two minors (``dst_minor = 1``: the minors' own circles; there
    ``target`` is the sender and ``actor`` the receiver).

    Both ends are joined on (service, account_id) as the events spell them, the
    receiver's service compared with ``IS NOT DISTINCT FROM`` (the same here: the sender's
    join already drops events without a service). Two plain equalities on e.service
    would let a planner derive s.service = t.service and join the accounts with each
    other first (DuckDB did, on Arrow steps without statistics, and ran out of memory);
    joining the receiver on a ``service:account_id`` key built for every contact event
    instead cost about a tenth more (CPU seconds, 1 M and 10 M events)."""
    return f"""
SELECT actor, target, dst_minor,{pair_aggregates(d)}
FROM (
  SELECT e.event_id, e.event_type, e.started_at, {d.epoch_seconds("e.started_at")} AS t_s,
    CASE WHEN s.minor = 0 THEN s.aid ELSE t.aid END AS actor,
    CASE WHEN s.minor = 0 THEN t.aid ELSE s.aid END AS target,
    CASE WHEN s.minor = 0 THEN 1 ELSE 0 END AS outbound,
    s.minor + t.minor - 1 AS dst_minor
  FROM platform_events e
  JOIN grooming_accounts s ON s.service = e.service AND s.account_id = e.account_id
  JOIN grooming_accounts t ON t.account_id = e.counterparty_account_id
    AND t.service IS NOT DISTINCT FROM e.service
  WHERE e.event_type IN ({d.strings(CONTACT_TYPES)}) AND s.minor + t.minor >= 1
) c
GROUP BY actor, target, dst_minor
"""


# the columns of pair_aggregates
_PAIR_COLUMNS = (
    "first_s, first_out_s, first_in_s, message_s, call_s, first_event_id, first_event_type, "
    "call_event_id, first_seen, last_seen, events"
)


def pair_aggregates(d: Dialect) -> str:
    """Per (actor, target): first contact, first from each side, first message, first
    call or stream from the actor, the events that were first, and the span."""
    return f"""
  min(t_s) AS first_s,
  min(CASE WHEN outbound = 1 THEN t_s END) AS first_out_s,
  min(CASE WHEN outbound = 0 THEN t_s END) AS first_in_s,
  min(CASE WHEN event_type = 'message' THEN t_s END) AS message_s,
  min(CASE WHEN event_type IN ({d.strings(SHOW_TYPES)}) AND outbound = 1 THEN t_s END) AS call_s,
  min_by(event_id, t_s) AS first_event_id,
  min_by(event_type, t_s) AS first_event_type,
  min_by(CASE WHEN event_type IN ({d.strings(SHOW_TYPES)}) AND outbound = 1 THEN event_id END,
    CASE WHEN event_type IN ({d.strings(SHOW_TYPES)}) AND outbound = 1 THEN t_s END)
    AS call_event_id,
  min(started_at) AS first_seen,
  max(started_at) AS last_seen,
  count(*) AS events"""


def pair_flags(params: GroomingParams) -> str:
    """A pair's flags (initiated, quick message, fast call, foreign target, connected)
    from its times ``p``, the actor's and the target's accounts ``a`` and ``t`` and its
    row ``c`` of the connected pairs."""
    fast = int(params.fast_call_hours * 3600)
    quick = int(params.quick_message_hours * 3600)
    return f"""
  CASE WHEN p.first_out_s IS NOT NULL AND (p.first_in_s IS NULL OR p.first_out_s <= p.first_in_s)
    THEN 1 ELSE 0 END AS initiated,
  CASE WHEN p.message_s IS NOT NULL AND p.message_s - p.first_s <= {quick}
    THEN 1 ELSE 0 END AS quick_message,
  CASE WHEN p.call_s IS NOT NULL AND p.call_s - p.first_s <= {fast} THEN 1 ELSE 0 END AS fast_call,
  CASE WHEN a.country IS NOT NULL AND t.country IS NOT NULL AND a.country <> t.country
    THEN 1 ELSE 0 END AS foreign_target,
  CASE WHEN c.actor IS NOT NULL THEN 1 ELSE 0 END AS connected"""


def _pairs_sql(params: GroomingParams) -> str:
    """The pairs' flags and what the per-actor sums read; the evidence query joins the
    event ids and the target's details back for the alerted actors only (the strings of
    every pair, copied here, cost more than that join)."""
    return f"""
SELECT p.actor, p.target, p.first_s, p.call_s, p.first_seen, p.last_seen,{pair_flags(params)}
FROM grooming_pair_times p
JOIN grooming_accounts a ON a.aid = p.actor
JOIN grooming_accounts t ON t.aid = p.target
LEFT JOIN grooming_connected c ON c.actor = p.actor AND c.target = p.target
"""


def actor_sums(d: Dialect) -> str:
    """Per actor, over its pairs: how many, how many it initiated, and of those how many
    are unconnected, had a quick message, a fast call, are abroad; the median hours to a
    call; its first contact and first and last events."""
    return f"""count(*) AS pairs, CAST(sum(initiated) AS BIGINT) AS initiated,
    CAST(sum(initiated * (1 - connected)) AS BIGINT) AS unconnected,
    CAST(sum(initiated * quick_message) AS BIGINT) AS quick_messages,
    CAST(sum(initiated * fast_call) AS BIGINT) AS fast_calls,
    CAST(sum(initiated * foreign_target) AS BIGINT) AS foreign_targets,
    {d.median("CASE WHEN initiated = 1 AND call_s IS NOT NULL THEN (call_s - first_s) / 3600.0 END")}
      AS median_call_hours,
    min(CASE WHEN initiated = 1 THEN first_s END) AS first_contact_s,
    min(first_seen) AS first_seen, max(last_seen) AS last_seen"""


def _own_sql(d: Dialect, params: GroomingParams) -> str:
    new = params.new_account_days * 86400.0
    return f"""
SELECT a.account AS actor, g.pairs, g.initiated, g.unconnected, g.quick_messages,
  g.fast_calls, g.foreign_targets, g.median_call_hours, g.first_contact_s, g.first_seen,
  g.last_seen, a.service, a.account_id, a.country, a.age_band, a.created_at, a.verified,
  CASE WHEN g.first_contact_s - a.created_s < {new!r} THEN 1 ELSE 0 END AS new_account,
  (g.first_contact_s - a.created_s) / 86400.0 AS account_age_days
FROM (
  SELECT actor, {actor_sums(d)}
  FROM grooming_pairs GROUP BY actor
) g
JOIN grooming_accounts a ON a.aid = g.actor
WHERE g.initiated > 0
"""


def _actor_events_sql(d: Dialect) -> str:
    """The actors' distinct (account, device, IP) triples, in one scan of every event.

    Hashed (64 bits: ``hash`` on DuckDB, ``xxhash64`` on Spark): the account as
    (service, account_id), the device and the IP each on its own. Only equality is asked
    of them (which account, which value is shared), and integers are grouped and joined
    for about a quarter fewer CPU seconds than the four strings (10 M events). Two
    different strings hashing equal is the one way this can differ from comparing the
    strings: for a million distinct values about one chance in 10^7. The actors'
    hashes are a semi-join filter before the DISTINCT, which then groups only their
    events (about half of all at 10 M)."""
    return f"""
SELECT o.actor AS account, e.device, e.ip
FROM (
  SELECT DISTINCT x.h, x.device, x.ip
  FROM (
    SELECT {d.hash64("service", "account_id")} AS h,
      CASE WHEN device_id IS NOT NULL THEN {d.hash64("device_id")} END AS device,
      CASE WHEN ip IS NOT NULL THEN {d.hash64("ip")} END AS ip
    FROM platform_events WHERE device_id IS NOT NULL OR ip IS NOT NULL
  ) x {d.semi_join} grooming_actor_keys k ON k.h = x.h
) e
JOIN grooming_actor_keys o ON o.h = e.h
"""


def _siblings_sql() -> str:
    """Other actors sharing a device or IP with each actor: on the same service (back
    after a ban) or on another (the same person elsewhere)."""
    # the fingerprints are distinct per (account, kind, value), so a value on two rows is
    # shared; most are not, and only the shared ones are joined with the actors
    return """
SELECT x.actor, y.actor AS sibling, y.service AS sibling_service,
  CASE WHEN y.service = x.service THEN 1 ELSE 0 END AS same_service, y.initiated
FROM (
  SELECT o.actor, o.service, o.initiated, f.kind, f.value
  FROM grooming_fingerprints f
  JOIN (SELECT kind, value FROM grooming_fingerprints GROUP BY kind, value HAVING count(*) > 1) v
    ON v.kind = f.kind AND v.value = f.value
  JOIN grooming_own_actors o ON o.actor = f.account
) x
JOIN (
  SELECT o.actor, o.service, o.initiated, f.kind, f.value
  FROM grooming_fingerprints f
  JOIN (SELECT kind, value FROM grooming_fingerprints GROUP BY kind, value HAVING count(*) > 1) v
    ON v.kind = f.kind AND v.value = f.value
  JOIN grooming_own_actors o ON o.actor = f.account
) y ON y.kind = x.kind AND y.value = x.value AND y.actor <> x.actor
GROUP BY x.actor, y.actor, y.service, x.service, y.initiated
"""


def _scored_sql(params: GroomingParams) -> str:
    w = {k: float(v) for k, v in params.weights.items()}
    share = "CAST({0} AS DOUBLE) / o.initiated"
    z = (
        f"{w['intercept']!r}"
        f" + {w['log_fanout']!r} * ln(CAST(o.initiated + coalesce(s.sibling_targets, 0) AS DOUBLE))"
        f" + {w['unconnected_share']!r} * {share.format('o.unconnected')}"
        f" + {w['quick_message_share']!r} * {share.format('o.quick_messages')}"
        f" + {w['fast_call_share']!r} * {share.format('o.fast_calls')}"
        f" + {w['foreign_share']!r} * {share.format('o.foreign_targets')}"
        f" + {w['new_account']!r} * o.new_account"
        f" + {w['recreated']!r} * CASE WHEN coalesce(s.same_service, 0) > 0 THEN 1 ELSE 0 END"
        f" + {w['other_service']!r} * CASE WHEN coalesce(s.other_service, 0) > 0 THEN 1 ELSE 0 END"
        f" + {w['verified']!r} * o.verified"
        f" + {w['initiated_share']!r} * CAST(o.initiated AS DOUBLE) / o.pairs"
    )
    return f"""
SELECT o.*, {float(params.fast_call_hours)!r} AS fast_call_hours,
  coalesce(s.same_service, 0) AS same_service_siblings,
  coalesce(s.other_service, 0) AS other_service_siblings,
  coalesce(s.sibling_targets, 0) AS sibling_targets,
  CASE WHEN o.initiated + coalesce(s.sibling_targets, 0) >= {params.min_targets} THEN 1.0 / (1.0 + exp(-({z}))) ELSE 0.0 END
    AS score
FROM grooming_own_actors o
LEFT JOIN (
  SELECT actor, CAST(sum(same_service) AS BIGINT) AS same_service,
    CAST(sum(1 - same_service) AS BIGINT) AS other_service,
    CAST(sum(initiated) AS BIGINT) AS sibling_targets
  FROM grooming_siblings GROUP BY actor
) s ON s.actor = o.actor
"""


ACTORS_QUERY = """
SELECT * FROM grooming_actors WHERE score >= {min_score} ORDER BY score DESC, actor
"""
EVIDENCE_QUERY = """
SELECT a.account AS actor, t.account AS target, t.country AS target_country,
  t.age_band AS target_band, x.first_event_id, x.first_event_type, x.call_event_id,
  p.first_s, p.call_s, x.message_s, p.first_seen, p.connected
FROM grooming_pairs p
JOIN grooming_accounts a ON a.aid = p.actor
JOIN grooming_actors g ON g.actor = a.account
JOIN grooming_accounts t ON t.aid = p.target
JOIN grooming_pair_times x ON x.actor = p.actor AND x.target = p.target
WHERE g.score >= {min_score} AND p.initiated = 1
ORDER BY a.account, p.first_s, t.account
"""
SIBLINGS_QUERY = """
SELECT s.actor, s.sibling FROM grooming_siblings s JOIN grooming_actors a ON a.actor = s.actor
WHERE a.score >= {min_score} ORDER BY s.actor, s.sibling
"""


def _hours(seconds: float) -> str:
    h = seconds / 3600.0
    return f"{h:.0f} hours" if h >= 2 else f"{round(h * 60)} minutes"


def _pair_text(pair: Mapping[str, Any]) -> str:
    seen = pair["first_seen"]
    when = seen.strftime("%Y-%m-%d %H:%M UTC") if isinstance(seen, datetime) else seen
    band = pair["target_band"] or "minor flag"
    text = (
        f"{str(pair['first_event_type']).replace('_', ' ')} {pair['first_event_id']} at {when} "
        f"to {pair['target']} ({band}, {pair['target_country'] or 'country unknown'})"
    )
    if pair["call_event_id"] is not None and pair["call_s"] is not None:
        gap = float(pair["call_s"]) - float(pair["first_s"])
        text += f", call {pair['call_event_id']} {_hours(gap)} later"
    return text


def _pct(part: Any, whole: int) -> str:
    return f"{int(part)} of {whole}"


def explain(
    actor: Mapping[str, Any], pairs: Sequence[Mapping[str, Any]], siblings: Sequence[str] = ()
) -> str:
    """Plain language naming the evidence: the minors, the events, the hours between."""
    n = int(actor["initiated"])
    declared = actor["age_band"] or "no declared age"
    age = float(actor["account_age_days"])
    parts = [
        f"Account {actor['actor']} ({declared}, {actor['country'] or 'country unknown'}, "
        f"created {age:.0f} days before its first contact) reached out to {n} minor accounts: "
        f"{_pct(actor['unconnected'], n)} have no contact with any other of them; "
        f"{_pct(actor['foreign_targets'], n)} are in another country; a private message "
        f"followed within a day for {_pct(actor['quick_messages'], n)} and a call or stream "
        f"from the account within {float(actor['fast_call_hours']):.0f} hours for "
        f"{_pct(actor['fast_calls'], n)}.",
        "E.g. " + "; ".join(_pair_text(p) for p in pairs[:3]) + ".",
    ]
    if siblings:
        parts.append(
            f"It shares a device or IP with {', '.join(siblings)}, which reached out to "
            f"{int(actor['sibling_targets'])} more minors "
            f"({int(actor['same_service_siblings'])} on the same service: a recreated account)."
        )
    if int(actor["verified"]):
        parts.append("The account is verified by the platform (which lowers the score).")
    return " ".join(parts)


def alerts(
    actors: Sequence[Mapping[str, Any]],
    pairs: Sequence[Mapping[str, Any]],
    siblings: Sequence[Mapping[str, Any]] = (),
) -> list[Alert]:
    """One alert per actor above the alert score (subject: the account,
    ``service:account_id``), highest score first; evidence ids are the first event of
    each pair and the call that followed."""
    by_actor: dict[str, list[Mapping[str, Any]]] = {}
    for pair in pairs:
        by_actor.setdefault(str(pair["actor"]), []).append(pair)
    sibling_of: dict[str, list[str]] = {}
    for row in siblings:
        sibling_of.setdefault(str(row["actor"]), []).append(str(row["sibling"]))
    out = []
    for a in actors:
        key = str(a["actor"])
        evidence = by_actor.get(key, [])
        ids = [str(e) for p in evidence for e in (p["first_event_id"], p["call_event_id"]) if e]
        score = float(a["score"])
        out.append(
            Alert(
                alert_id=f"{DETECTOR_ID}:{key}",
                detector=DETECTOR_ID,
                subject_type="account",
                subject_id=key,
                score=alert_score(score),
                typologies=(TYPOLOGY,),
                explanation=explain(a, evidence, sibling_of.get(key, [])),
                evidence_source="platform_events",
                evidence_ids=tuple(dict.fromkeys(ids)),
                first_seen=a["first_seen"],
                last_seen=a["last_seen"],
            )
        )
    return sorted(out, key=lambda x: (-x.score, x.alert_id))


__all__ = [
    "ACTORS_QUERY",
    "DETECTOR_ID",
    "EVIDENCE_QUERY",
    "INPUT_TABLES",
    "SIBLINGS_QUERY",
    "VERSION",
    "WEIGHTS",
    "GroomingParams",
    "actor_sums",
    "alerts",
    "compile_pipeline",
    "explain",
    "pair_aggregates",
    "pair_flags",
]
