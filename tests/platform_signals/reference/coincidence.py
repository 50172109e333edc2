"""Live stream - payment coincidence: the compiled SQL, the score and the explanations.

A *show* is a stream or call from an account (the streamer) to an account a bank
customer owns (the viewer; ``identifiers`` rows of source ``customers``, kind
``account``, tie the two). A *pair* is a show and a payment from that customer, to a
beneficiary in the streamer's country, within ``window_minutes`` before or after the
show starts. Pairs are grouped by *triple* (customer, streamer, beneficiary): repeated
coincidences with the same counterparties are the signal (platform-signals.md section
3; no published lag distribution exists, so the window is wide and the score reads how
the pairs fall in it). Each triple is scored in SQL, so DuckDB and Spark give the same
numbers; :func:`alerts` turns the scored triples into alerts that name the evidence.

Nothing here opens an engine: :mod:`daybreak.engines.stream_payment` runs the pipeline.
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

DETECTOR_ID = "stream_payment"
VERSION = "1"  # change whenever the SQL, the weights or the explanations change
TYPOLOGY = "stream_payment_coincidence"
INPUT_TABLES = ("platform_events", "identifiers", "transactions", "customers")
SHOW_TYPES = ("stream", "call")
# Payments that cannot pay for a show: card purchases and cash withdrawals abroad.
SPEND_CHANNELS = ("card", "cash")

# Log-odds weights of a triple's score (a logistic fit on default-profile worlds, seeds
# 1-4, rounded; benchmarks/stream_payment.py measures them on randomised worlds never used
# for tuning). Each term is documented in docs/detectors/stream_payment.md.
WEIGHTS: Mapping[str, float] = {
    "intercept": -6.0,
    "log_shows": 1.7,  # ln(coinciding shows): again and again, not once
    "stream_share": 2.5,  # one-to-one streams rather than calls
    "paid_before_share": 1.0,  # money first, then the show (UNICEF; AIC)
    "low_value_share": 1.0,  # small amounts (AIC T&I 639: median A$51)
    "night_share": 1.0,  # payer-local night (FATF 2025)
    "log_viewers": 3.0,  # ln(paying viewers of the same streamer): a seller hub
}


@dataclass(frozen=True)
class CoincidenceParams:
    window_minutes: int = 90  # a payment this many minutes before or after a show starts
    min_shows: int = 2  # an alert needs this many coinciding shows ("repeatedly")
    alert_score: float = 0.5  # triples scoring at least this become alerts
    night_start: int = 22  # payer-local hours counted as night: [start, 24) + [0, end)
    night_end: int = 6
    # currency -> the largest "low value" amount (from the payments pack's low_value)
    low_value_caps: Mapping[str, float] = field(default_factory=dict)
    default_low_value_cap: float = 100.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def __post_init__(self) -> None:
        if self.window_minutes < 1:
            raise ValueError(f"window_minutes must be at least 1, got {self.window_minutes}")
        if self.min_shows < 1:
            raise ValueError(f"min_shows must be at least 1, got {self.min_shows}")
        check_score_and_weights(self.alert_score, self.weights, WEIGHTS)


def compile_pipeline(d: Dialect, params: CoincidenceParams) -> Pipeline:
    """The SQL steps, reading the four input tables by name; the last two are
    ``coincidence_triples`` (one scored row per triple) and ``coincidence_pairs``."""
    p = Pipeline(("identifiers", "platform_events", "transactions", "customers"))
    p.add(
        "coincidence_owners",
        """
SELECT DISTINCT lower(value) AS account, source_id AS customer_id
FROM identifiers WHERE source = 'customers' AND kind = 'account'
""",
        inputs=("identifiers",),
    )
    p.add(
        "coincidence_shows",
        f"""
SELECT e.event_id, e.event_type, lower(e.service || ':' || e.account_id) AS streamer,
  o.customer_id, e.country AS streamer_country, e.started_at,
  {d.epoch_seconds("e.started_at")} AS t_s
FROM platform_events e
JOIN coincidence_owners o ON o.account = lower(e.service || ':' || e.counterparty_account_id)
WHERE e.event_type IN ({d.strings(SHOW_TYPES)}) AND e.country IS NOT NULL
""",
        inputs=("platform_events", "coincidence_owners"),
        materialize=True,
    )
    caps = sorted(params.low_value_caps.items()) or [("XXX", params.default_low_value_cap)]
    hour = d.local_hour("t.timestamp", "coalesce(c.timezone, 'UTC')")
    p.add(
        "coincidence_payments",
        f"""
SELECT t.txn_id, t.sender_id AS customer_id, t.receiver_id, t.receiver_country, t.amount,
  t.currency, t.timestamp AS paid_at, {d.epoch_seconds("t.timestamp")} AS t_s,
  CASE WHEN t.amount <= coalesce(fx.cap, {float(params.default_low_value_cap)!r})
    THEN 1.0 ELSE 0.0 END AS low_value,
  CASE WHEN {hour} >= {params.night_start} OR {hour} < {params.night_end}
    THEN 1.0 ELSE 0.0 END AS night
FROM transactions t
LEFT JOIN customers c ON c.customer_id = t.sender_id
LEFT JOIN {d.values(caps, ["currency", "cap"], "fx")} ON fx.currency = t.currency
WHERE t.receiver_country <> t.sender_country AND t.channel NOT IN ({d.strings(SPEND_CHANNELS)})
  AND t.sender_id IN (SELECT customer_id FROM coincidence_shows)
""",
        inputs=("transactions", "customers", "coincidence_shows"),
        materialize=True,
    )
    window = 60 * params.window_minutes
    p.add(
        "coincidence_candidates",
        f"""
SELECT s.event_id, s.event_type, s.streamer, s.customer_id, p.receiver_id, p.txn_id,
  s.started_at, p.paid_at, (p.t_s - s.t_s) / 60.0 AS minutes, p.amount, p.currency,
  p.low_value, p.night
FROM coincidence_shows s
JOIN coincidence_payments p ON p.customer_id = s.customer_id
  AND p.receiver_country = s.streamer_country
  AND p.t_s >= s.t_s - {window} AND p.t_s <= s.t_s + {window}
""",
        inputs=("coincidence_shows", "coincidence_payments"),
        materialize=True,
    )
    p.add(
        "coincidence_grouped",
        _grouped_sql(d),
        inputs=("coincidence_candidates", "coincidence_shows", "coincidence_payments"),
    )
    p.add(
        "coincidence_triples",
        _scored_sql(params),
        inputs=("coincidence_grouped",),
        materialize=True,
    )
    p.add(
        "coincidence_pairs",
        """
SELECT c.*, t.score, t.shows AS triple_shows
FROM coincidence_candidates c
JOIN coincidence_triples t ON t.customer_id = c.customer_id AND t.streamer = c.streamer
  AND t.receiver_id = c.receiver_id
""",
        inputs=("coincidence_candidates", "coincidence_triples"),
    )
    return p


def _grouped_sql(d: Dialect) -> str:
    return f"""
SELECT g.*, a.all_shows, b.all_payments
FROM (
  SELECT customer_id, streamer, receiver_id,
    count(DISTINCT event_id) AS shows,
    count(DISTINCT txn_id) AS payments,
    count(DISTINCT CASE WHEN event_type = 'stream' THEN event_id END) AS streams,
    -- as DOUBLE: Spark reads 1.0 as a DECIMAL, and its average keeps only 5 decimals
    avg(CAST(CASE WHEN minutes <= 0 THEN 1.0 ELSE 0.0 END AS DOUBLE)) AS paid_before_share,
    {d.median("abs(minutes)")} AS median_gap_minutes,
    avg(CAST(low_value AS DOUBLE)) AS low_value_share,
    avg(CAST(night AS DOUBLE)) AS night_share,
    -- in whole cents first: a median of two float amounts can differ in its last bit
    -- between engines, and then prints differently
    {d.median("CAST(round(amount * 100) AS BIGINT)")} / 100.0 AS median_amount,
    min(currency) AS currency,
    min(started_at) AS first_seen,
    max(started_at) AS last_seen
  FROM coincidence_candidates
  GROUP BY customer_id, streamer, receiver_id
) g
JOIN (
  SELECT customer_id, streamer, count(*) AS all_shows
  FROM coincidence_shows GROUP BY customer_id, streamer
) a ON a.customer_id = g.customer_id AND a.streamer = g.streamer
JOIN (
  SELECT customer_id, receiver_id, count(*) AS all_payments
  FROM coincidence_payments GROUP BY customer_id, receiver_id
) b ON b.customer_id = g.customer_id AND b.receiver_id = g.receiver_id
"""


def _scored_sql(params: CoincidenceParams) -> str:
    w = {k: float(v) for k, v in params.weights.items()}
    z = (
        f"{w['intercept']!r} + {w['log_shows']!r} * ln(CAST(g.shows AS DOUBLE))"
        f" + {w['stream_share']!r} * g.streams / g.shows"
        f" + {w['paid_before_share']!r} * g.paid_before_share"
        f" + {w['low_value_share']!r} * g.low_value_share"
        f" + {w['night_share']!r} * g.night_share"
        f" + {w['log_viewers']!r} * ln(CAST(h.viewers AS DOUBLE))"
    )
    return f"""
SELECT g.*, h.viewers, CAST(g.shows AS DOUBLE) / g.all_shows AS show_share,
  CASE WHEN g.shows >= {params.min_shows} THEN 1.0 / (1.0 + exp(-({z}))) ELSE 0.0 END AS score
FROM coincidence_grouped g
JOIN (
  SELECT streamer, count(DISTINCT customer_id) AS viewers
  FROM coincidence_grouped GROUP BY streamer
) h ON h.streamer = g.streamer
"""


# The rows the explanations need; fetched for the triples above the alert score only.
TRIPLES_QUERY = """
SELECT * FROM coincidence_triples WHERE score >= {min_score}
ORDER BY score DESC, customer_id, streamer, receiver_id
"""
EVIDENCE_QUERY = """
SELECT p.customer_id, p.streamer, p.receiver_id, p.event_id, p.event_type, p.txn_id,
  p.started_at, p.paid_at, p.minutes, p.amount, p.currency
FROM coincidence_pairs p WHERE p.score >= {min_score}
ORDER BY p.customer_id, p.streamer, p.receiver_id, p.started_at, p.event_id, p.txn_id
"""


def _minutes(m: float) -> str:
    whole = round(abs(m))
    unit = "minute" if whole == 1 else "minutes"
    return f"{whole} {unit} {'before' if m <= 0 else 'after'}"


def _pair_text(pair: Mapping[str, Any]) -> str:
    started = pair["started_at"]
    when = started.strftime("%Y-%m-%d %H:%M UTC") if isinstance(started, datetime) else started
    return (
        f"{pair['event_type']} {pair['event_id']} at {when}, payment {pair['txn_id']} "
        f"of {pair['amount']:.2f} {pair['currency']} {_minutes(float(pair['minutes']))} it started"
    )


def explain(triple: Mapping[str, Any], pairs: Sequence[Mapping[str, Any]]) -> str:
    """Plain language naming the evidence: which shows, which payments, minutes apart."""
    shows, payments = int(triple["shows"]), int(triple["payments"])
    examples = "; ".join(_pair_text(p) for p in pairs[:3])
    more = f" (and {len(pairs) - 3} more pairs)" if len(pairs) > 3 else ""
    parts = [
        f"{shows} streams or calls from {triple['streamer']} to an account of customer "
        f"{triple['customer_id']} coincide with {payments} payments from that customer to "
        f"{triple['receiver_id']} in the streamer's country, within "
        f"{triple['median_gap_minutes']:.0f} minutes of each other at the median: "
        f"{examples}{more}.",
        f"{int(triple['streams'])} of the {shows} are one-to-one streams; "
        f"{100 * float(triple['paid_before_share']):.0f}% of the payments came before the "
        f"show started; {100 * float(triple['low_value_share']):.0f}% are low-value "
        f"(median {float(triple['median_amount']):.2f} {triple['currency']}); "
        f"{100 * float(triple['night_share']):.0f}% at the payer's night.",
        f"{shows} of the streamer's {int(triple['all_shows'])} shows to this viewer had a "
        f"payment around them; the streamer has {int(triple['viewers'])} viewer(s) whose "
        "bank customer paid around its shows.",
    ]
    return " ".join(parts)


def alerts(triples: Sequence[Mapping[str, Any]], pairs: Sequence[Mapping[str, Any]]) -> list[Alert]:
    """One alert per scored triple (subject: the paying customer), highest score first;
    evidence ids are the shows' event ids (``platform_events``), and the explanation
    names each show's payment."""
    by_triple: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for pair in pairs:
        key = (str(pair["customer_id"]), str(pair["streamer"]), str(pair["receiver_id"]))
        by_triple.setdefault(key, []).append(pair)
    out = []
    for t in triples:
        key = (str(t["customer_id"]), str(t["streamer"]), str(t["receiver_id"]))
        evidence = by_triple.get(key, [])
        score = float(t["score"])
        out.append(
            Alert(
                alert_id=f"{DETECTOR_ID}:{key[0]}:{key[1]}:{key[2]}",
                detector=DETECTOR_ID,
                subject_type="customer",
                subject_id=key[0],
                score=alert_score(score),
                typologies=(TYPOLOGY,),
                explanation=explain(t, evidence),
                evidence_source="platform_events",
                evidence_ids=tuple(dict.fromkeys(str(p["event_id"]) for p in evidence)),
                first_seen=t["first_seen"],
                last_seen=t["last_seen"],
            )
        )
    return sorted(out, key=lambda a: (-a.score, a.alert_id))


__all__ = [
    "DETECTOR_ID",
    "EVIDENCE_QUERY",
    "INPUT_TABLES",
    "TRIPLES_QUERY",
    "VERSION",
    "WEIGHTS",
    "CoincidenceParams",
    "alerts",
    "compile_pipeline",
    "explain",
]
