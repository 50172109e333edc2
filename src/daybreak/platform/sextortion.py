"""Financial sextortion: the compiled SQL, the score and the explanations.

Platform metadata joined with payments through the identifiers the world already links:
an ``identifiers`` row of source ``customers`` and kind ``account`` ties a minor's
platform account (``platform_accounts``: declared band under 18, or the minor flag) to
a bank customer, so the customer's payments are the minor's, made on the family's card
or account (the same join as the stream-payment detector's, here on minors' accounts).
Never message content, never media.

An *episode* is an actor (any other account), a minor it had contact
with, the customer tied to the minor, and a beneficiary abroad that customer paid after
the first contact and within ``window_days`` of it. Each episode is scored on
(platform-signals.md section 2):

- a new actor account (created less than ``new_account_days`` before its first contact
  with any minor tied to a customer) that made the first contact;
- a call or stream from the actor before the first payment, and how many calls came
  before it (one capture call, or a friendship of many);
- how fast the money followed the first contact (hours), and how many payments;
- a new payment handle: nobody paid the beneficiary before ``new_handle_days`` ahead of
  its first payment in any episode (half that when the transactions do not reach back
  that far: in the first ``new_handle_days`` of the data a handle's age is unknown);
- the family's own history: whether it had paid the beneficiary before the contact, and
  whether it paid another beneficiary new to it first after the contact;
- how many families paid the beneficiary after the actor made the first contact with
  their minor ("a payee funded by many unrelated minors"), how many others paid it after
  contacts their minors made (shops, sellers and tutors are contacted by the teenagers),
  and how many of those the same actor reached;
- how long the two had been silent when the money came (the payment follows the
  actor's demand; a stranger's contact long over before an unrelated payment does not),
  and whether they went on calling after the money: extortion stops once the money
  comes or the minor blocks; tutors, friends and relatives go on.

The score is a logistic function of these, computed in SQL so DuckDB and Spark give the
same numbers. A beneficiary's score is the mean of its episodes' scores, and
:func:`alerts` makes one alert per beneficiary reaching the alert score (the handle to
stop), naming the minors' accounts, the actors, the calls and the payments. Nothing here opens
an engine: :mod:`daybreak.engines.sextortion` runs the pipeline.
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

DETECTOR_ID = "sextortion"
VERSION = "9"  # change whenever the SQL, the weights or the explanations change
TYPOLOGY = "financial_sextortion"
# Also the incident type a tipline report of sextortion has, so a fused case is triaged
# like one (daybreak.graph.fusion: aggressive solicitation, tier 3).
INCIDENT = "sextortion"
INPUT_TABLES = ("platform_events", "platform_accounts", "identifiers", "transactions")
CONTACT_TYPES = ("friend_request", "message", "call", "stream")
SHOW_TYPES = ("call", "stream")
# Card purchases and cash withdrawals are not transfers to a person's handle.
SPEND_CHANNELS = ("card", "cash")

# Log-odds weights (a ridge-penalised logistic fit on development worlds from every band of
# benchmarks/platform_sextortion.py, rounded; the benchmark measures them on worlds with
# seeds never used in the fit). Each term is documented in docs/detectors/sextortion.md.
WEIGHTS: Mapping[str, float] = {
    "intercept": -4.3,
    "new_account": 1.0,  # the actor's account was days old at its first contact with a minor
    # the actor made the first contact (near 0 since strangers befriend teenagers too)
    "initiated": -0.3,
    "call_before_pay": 2.2,  # a call or stream from the actor before the money
    "log_calls_before_pay": -2.9,  # ln(1 + calls either side before it): a relationship
    "log_hours_to_pay": 0.2,  # ln(1 + hours from first contact to first payment)
    "log_payments": 1.9,  # ln(payments in the episode): several rapid transfers
    "new_handle": 3.1,  # nobody paid the beneficiary shortly before its first episode payment
    # ln(1 + families who paid the beneficiary after an account made the first contact
    # with their minor): a payee funded by many unrelated minors, each approached
    "log_approached_payers": 3.7,
    # ln(1 + the other families paying it after a contact their minor made): shops,
    # sellers and tutors are contacted by the teenagers
    "log_other_payers": -5.6,
    "log_actor_payers": -0.2,  # ln(of the beneficiary's families, those the actor reached)
    # ln(1 + hours the two had been silent when the first payment came): the money follows
    # the demand; a stranger's contact long over before an unrelated payment does not
    "log_hours_silent": -1.1,
    # ln(1 + calls between the two after the first payment): the contact goes on
    "log_calls_after_pay": -4.7,
    "paid_before": -2.4,  # the family had paid the beneficiary before the contact
    "later_payee": -1.5,  # the family paid another new beneficiary first after the contact
}


@dataclass(frozen=True)
class SextortionParams:
    window_days: float = 14.0  # payments this many days after the first contact
    new_account_days: float = 30.0  # an actor account created less than this before
    new_handle_days: float = 30.0  # nobody paid the beneficiary before this many days
    alert_score: float = 0.7  # handles whose episodes' mean score reaches this are alerts
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def __post_init__(self) -> None:
        for name in ("window_days", "new_account_days", "new_handle_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        check_score_and_weights(self.alert_score, self.weights, WEIGHTS)


def compile_pipeline(d: Dialect, params: SextortionParams) -> Pipeline:
    """The SQL steps, reading the four input tables by name; ``sextortion_episodes``
    holds one scored row per episode."""
    p = Pipeline(INPUT_TABLES)
    p.add(
        "sextortion_accounts",
        f"""
SELECT lower(service || ':' || account_id) AS account, lower(service) AS svc,
  lower(account_id) AS acc, country,
  {d.epoch_seconds("created_at")} AS created_s,
  CASE WHEN verified THEN 1 ELSE 0 END AS verified,
  CASE WHEN is_minor OR age_band IN ({d.strings(MINOR_AGE_BANDS)}) THEN 1 ELSE 0 END AS minor
FROM platform_accounts
""",
        inputs=("platform_accounts",),
        materialize=True,
    )
    p.add(
        "sextortion_minors",
        """
SELECT DISTINCT a.account AS minor, a.svc, a.acc, a.country AS minor_country,
  i.source_id AS customer_id,
  -- one number per (minor, customer): the contacts are grouped on it
  dense_rank() OVER (ORDER BY a.account, i.source_id) AS mid
FROM identifiers i JOIN sextortion_accounts a ON a.account = lower(i.value)
WHERE i.source = 'customers' AND i.kind = 'account' AND a.minor = 1
""",
        inputs=("identifiers", "sextortion_accounts"),
        materialize=True,
    )
    p.add(
        "sextortion_payments",
        # first: the pairs are aggregated only for the families that paid abroad at all
        f"""
SELECT t.txn_id, t.sender_id AS customer_id, t.receiver_id, t.receiver_country, t.amount,
  t.currency, t.timestamp AS paid_at, {d.epoch_seconds("t.timestamp")} AS t_s
FROM transactions t
WHERE t.receiver_country <> t.sender_country AND t.channel NOT IN ({d.strings(SPEND_CHANNELS)})
  AND t.sender_id IN (SELECT customer_id FROM sextortion_minors)
""",
        inputs=("transactions", "sextortion_minors"),
        materialize=True,
    )
    p.add("sextortion_contacts", _contacts_sql(d), inputs=_CONTACT_INPUTS, materialize=True)
    p.add("sextortion_pairs", _pairs_sql(d, params), inputs=_PAIRS_INPUTS, materialize=True)
    p.add(
        "sextortion_handles",
        f"""
SELECT h.receiver_id, h.first_paid_s, s.data_start_s
FROM (
  SELECT receiver_id, min({d.epoch_seconds("timestamp")}) AS first_paid_s
  FROM transactions
  WHERE receiver_id IN (SELECT receiver_id FROM sextortion_payments)
  GROUP BY receiver_id
) h
CROSS JOIN (SELECT min({d.epoch_seconds("timestamp")}) AS data_start_s FROM transactions) s
""",
        inputs=("transactions", "sextortion_payments"),
        materialize=True,
    )
    window = int(params.window_days * 86400)
    p.add(
        "sextortion_episode_payments",
        f"""
SELECT q.actor, q.minor, q.customer_id, y.txn_id, y.receiver_id, y.receiver_country,
  y.amount, y.currency, y.paid_at, y.t_s
FROM sextortion_pairs q
JOIN sextortion_payments y ON y.customer_id = q.customer_id
  AND y.t_s >= q.first_s AND y.t_s <= q.first_s + {window}
""",
        inputs=("sextortion_pairs", "sextortion_payments"),
        materialize=True,
    )
    p.add("sextortion_grouped", _grouped_sql(d, params), inputs=_GROUPED_INPUTS)
    p.add(
        "sextortion_approached",
        _APPROACHED_SQL,
        inputs=("sextortion_episode_payments", "sextortion_pairs"),
        materialize=True,
    )
    p.add(
        "sextortion_calls",
        _CALLS_SQL.format(shows=d.strings(SHOW_TYPES)),
        inputs=("sextortion_episode_payments", "sextortion_contacts", "sextortion_minors"),
        materialize=True,
    )
    p.add(
        "sextortion_episodes",
        _scored_sql(params),
        inputs=("sextortion_grouped", "sextortion_approached", "sextortion_calls"),
        materialize=True,
    )
    return p


_CONTACT_INPUTS = ("platform_events", "sextortion_minors", "sextortion_accounts")
_PAIRS_INPUTS = (
    "sextortion_contacts",
    "sextortion_accounts",
    "sextortion_minors",
    "sextortion_payments",
)
_GROUPED_INPUTS = (
    "sextortion_episode_payments",
    "sextortion_pairs",
    "sextortion_handles",
    "sextortion_contacts",
)


def _contacts_sql(d: Dialect) -> str:
    """Contact events between a minor tied to a customer and any other account (the
    actor; extortion accounts often claim to be teenagers too), in either direction
    (``outbound`` = from the actor). One scan of the events: each contact is looked at
    from both sides (``x.outbound``) and kept on the side whose other end is such a minor.

    The minors are matched on the lowercased service and account id as two columns, and
    the actor's ``service:account_id`` key is built only for the contacts kept: building
    and lowercasing both ends' keys for every contact event cost more than the join."""
    types = d.strings(CONTACT_TYPES)
    return f"""
SELECT c.event_id, c.event_type, c.started_at, c.t_s, c.svc || ':' || c.actor_acc AS actor,
  m.mid, c.outbound
FROM (
  SELECT e.event_id, e.event_type, e.started_at, e.t_s, e.svc, x.outbound,
    CASE WHEN x.outbound = 1 THEN e.src ELSE e.dst END AS actor_acc,
    CASE WHEN x.outbound = 1 THEN e.dst ELSE e.src END AS other
  FROM (
    SELECT event_id, event_type, started_at, {d.epoch_seconds("started_at")} AS t_s,
      lower(service) AS svc, lower(account_id) AS src, lower(counterparty_account_id) AS dst
    FROM platform_events
    WHERE event_type IN ({types}) AND counterparty_account_id IS NOT NULL
  ) e
  CROSS JOIN (VALUES (1), (0)) AS x(outbound)
) c
JOIN sextortion_minors m ON m.svc = c.svc AND m.acc = c.other
WHERE c.actor_acc <> m.acc
"""


def _pairs_sql(d: Dialect, params: SextortionParams) -> str:
    """Per (actor, minor tied to a customer): the first and last contact, who made it,
    the first call, the evidence events and the actor's account; only the pairs with a
    payment in their window (no other pair makes an episode)."""
    window = int(params.window_days * 86400)
    shows = d.strings(SHOW_TYPES)
    call = f"CASE WHEN event_type IN ({shows}) AND outbound = 1"
    return f"""
SELECT g.actor, k.minor, k.customer_id, g.first_s, g.last_s, g.first_out_s, g.first_in_s,
  g.call_s, g.first_event_id, g.first_event_type, g.call_event_id, g.first_seen,
  a.country AS actor_country, a.created_s, coalesce(a.verified, 0) AS verified,
  coalesce(a.minor, 0) AS actor_minor, m.minor_country,
  CASE WHEN g.first_out_s IS NOT NULL AND (g.first_in_s IS NULL OR g.first_out_s <= g.first_in_s)
    THEN 1 ELSE 0 END AS initiated
FROM (
  SELECT c.actor, c.mid,
    min(t_s) AS first_s,
    max(t_s) AS last_s,
    min(CASE WHEN outbound = 1 THEN t_s END) AS first_out_s,
    min(CASE WHEN outbound = 0 THEN t_s END) AS first_in_s,
    min({call} THEN t_s END) AS call_s,
    min_by(event_id, t_s) AS first_event_id,
    min_by(event_type, t_s) AS first_event_type,
    min_by({call} THEN event_id END, {call} THEN t_s END) AS call_event_id,
    min(started_at) AS first_seen
  FROM sextortion_contacts c
  JOIN (
    -- the pairs in an episode: the family paid abroad within the window after the first
    -- contact, found from the first contact alone (a cheap group-by) so that the
    -- per-pair aggregates are taken for these pairs only
    SELECT DISTINCT s.actor, s.mid
    FROM (
      SELECT actor, mid, min(t_s) AS first_s
      FROM sextortion_contacts
      -- only a minor whose family paid abroad (payments: transfers abroad)
      WHERE mid IN (
        SELECT k.mid FROM sextortion_minors k
        WHERE k.customer_id IN (SELECT customer_id FROM sextortion_payments)
      )
      GROUP BY actor, mid
    ) s
    JOIN sextortion_minors k ON k.mid = s.mid
    JOIN sextortion_payments y ON y.customer_id = k.customer_id
      AND y.t_s >= s.first_s AND y.t_s <= s.first_s + {window}
  ) kept ON kept.actor = c.actor AND kept.mid = c.mid
  GROUP BY c.actor, c.mid
) g
JOIN (SELECT DISTINCT mid, minor, customer_id FROM sextortion_minors) k ON k.mid = g.mid
LEFT JOIN sextortion_accounts a ON a.account = g.actor
JOIN (SELECT DISTINCT minor, minor_country FROM sextortion_minors) m ON m.minor = k.minor
"""


def _grouped_sql(d: Dialect, params: SextortionParams) -> str:
    new_account = params.new_account_days * 86400.0
    new_handle = params.new_handle_days * 86400.0
    return f"""
SELECT x.*,
  -- another beneficiary new to the family was paid first after this contact: the family's
  -- own new payee, paid days after it paid the one the actor demanded
  CASE WHEN min(CASE WHEN x.paid_before = 0 THEN x.first_pay_s END)
    OVER (PARTITION BY x.actor, x.minor, x.customer_id) < x.first_pay_s THEN 1 ELSE 0 END
    AS later_payee
FROM (
SELECT e.*, q.first_s, q.call_s,
  -- lengths as DOUBLE: Spark divides by a literal in DECIMAL
  CAST(q.last_s - q.first_s AS DOUBLE) / 86400.0 AS contact_days, q.first_event_id, q.first_event_type, q.call_event_id,
  q.first_seen, q.actor_country, q.minor_country, q.verified, q.initiated, q.actor_minor,
  CAST(q.first_s - q.created_s AS DOUBLE) / 86400.0 AS account_age_days,
  -- new when the account was days old at the actor's first contact with any minor tied
  -- to a customer (an account's later victims see it weeks old)
  CASE WHEN q.created_s IS NOT NULL AND af.actor_first_s - q.created_s < {new_account!r}
    THEN 1 ELSE 0 END AS new_account,
  CASE WHEN q.actor_country IS NOT NULL AND q.minor_country IS NOT NULL
    AND q.actor_country <> q.minor_country THEN 1 ELSE 0 END AS foreign_actor,
  CASE WHEN q.call_s IS NOT NULL AND q.call_s <= e.first_pay_s THEN 1 ELSE 0 END
    AS call_before_pay,
  CAST(e.first_pay_s - q.first_s AS DOUBLE) / 3600.0 AS hours_to_pay,
  -- the handle's: 1 when nobody paid it before new_handle_days ahead of its first payment
  -- in any episode (a ring's later victims pay a handle its first victims opened);
  -- 0 when paid before that; 0.5 when the data do not reach back far enough to know
  -- (the first new_handle_days of the transactions). As DOUBLE: Spark reads 0.5 as a DECIMAL
  CAST(CASE WHEN h.first_paid_s < hp.handle_first_s - {new_handle!r} THEN 0.0
    WHEN h.first_paid_s >= h.data_start_s + {new_handle!r} THEN 1.0 ELSE 0.5 END AS DOUBLE)
    AS new_handle,
  CAST(e.first_pay_s - h.first_paid_s AS DOUBLE) / 86400.0 AS handle_age_days,
  hp.handle_payers, ap.actor_payers,
  -- the family had paid this beneficiary before the first contact: its own payee
  CASE WHEN cp.cust_first_paid_s < q.first_s THEN 1 ELSE 0 END AS paid_before
FROM (
  SELECT actor, minor, customer_id, receiver_id,
    min(receiver_country) AS receiver_country,
    count(*) AS payments,
    min(t_s) AS first_pay_s,
    min(paid_at) AS first_paid_at,
    max(paid_at) AS last_paid_at,
    -- in whole cents: a sum of floats can differ in its last bit between engines
    CAST(sum(CAST(round(amount * 100) AS BIGINT)) AS DOUBLE) / 100.0 AS total_amount,
    min(currency) AS currency
  FROM sextortion_episode_payments
  GROUP BY actor, minor, customer_id, receiver_id
) e
JOIN sextortion_pairs q ON q.actor = e.actor AND q.minor = e.minor
  AND q.customer_id = e.customer_id
JOIN sextortion_handles h ON h.receiver_id = e.receiver_id
JOIN (
  SELECT receiver_id, count(DISTINCT customer_id) AS handle_payers, min(t_s) AS handle_first_s
  FROM sextortion_episode_payments GROUP BY receiver_id
) hp ON hp.receiver_id = e.receiver_id
JOIN (
  SELECT customer_id, receiver_id, min(t_s) AS cust_first_paid_s
  FROM sextortion_payments GROUP BY customer_id, receiver_id
) cp ON cp.customer_id = e.customer_id AND cp.receiver_id = e.receiver_id
-- the actor's first contact with any minor tied to a customer (the pairs are only those
-- of families that paid abroad), for the actors of episodes only
JOIN (
  SELECT actor, min(t_s) AS actor_first_s FROM sextortion_contacts
  WHERE actor IN (SELECT actor FROM sextortion_episode_payments) GROUP BY actor
) af ON af.actor = e.actor
JOIN (
  SELECT actor, receiver_id, count(DISTINCT customer_id) AS actor_payers
  FROM sextortion_episode_payments GROUP BY actor, receiver_id
) ap ON ap.actor = e.actor AND ap.receiver_id = e.receiver_id
) x
"""


# Per beneficiary: the customers who paid it in an episode whose actor made the first
# contact with their minor ("a payee funded by many unrelated minors", each approached
# by an account; platform-signals.md section 2). Shops, sellers and tutors are paid
# mostly after contacts the teenagers made themselves.
_APPROACHED_SQL = """
SELECT p.receiver_id, count(DISTINCT p.customer_id) AS initiated_payers
FROM sextortion_episode_payments p
JOIN sextortion_pairs q ON q.actor = p.actor AND q.minor = p.minor
  AND q.customer_id = p.customer_id
WHERE q.initiated = 1
GROUP BY p.receiver_id
"""

# Per episode: calls or streams between the two (either side) before and after the
# episode's first payment. Extortion is one video call, then demands, and ends in "pay,
# block or report" (platform-signals.md section 2); friends, tutors and relatives call
# again and again, before the money and after it.
_CALLS_SQL = """
SELECT p.actor, p.minor, p.customer_id, p.receiver_id,
  count(CASE WHEN c.event_type IN ({shows}) AND c.t_s > p.first_pay_s THEN c.event_id END)
    AS calls_after_pay,
  count(CASE WHEN c.event_type IN ({shows}) AND c.t_s <= p.first_pay_s THEN c.event_id END)
    AS calls_before_pay,
  -- hours the two had been silent (any contact, either side) when the first payment came
  CAST(min(p.first_pay_s) - max(CASE WHEN c.t_s <= p.first_pay_s THEN c.t_s END) AS DOUBLE)
    / 3600.0 AS hours_silent,
  max_by(CASE WHEN c.t_s <= p.first_pay_s THEN c.event_id END,
    CASE WHEN c.t_s <= p.first_pay_s THEN c.t_s END) AS last_event_id
FROM (
  SELECT actor, minor, customer_id, receiver_id, min(t_s) AS first_pay_s
  FROM sextortion_episode_payments GROUP BY actor, minor, customer_id, receiver_id
) p
JOIN sextortion_minors k ON k.minor = p.minor AND k.customer_id = p.customer_id
LEFT JOIN sextortion_contacts c ON c.actor = p.actor AND c.mid = k.mid
GROUP BY p.actor, p.minor, p.customer_id, p.receiver_id
"""


def _scored_sql(params: SextortionParams) -> str:
    w = {k: float(v) for k, v in params.weights.items()}
    z = (
        f"{w['intercept']!r}"
        f" + {w['new_account']!r} * g.new_account"
        f" + {w['initiated']!r} * g.initiated"
        f" + {w['call_before_pay']!r} * g.call_before_pay"
        f" + {w['log_calls_before_pay']!r} * ln(1.0 + g.calls_before_pay)"
        f" + {w['log_hours_to_pay']!r} * ln(1.0 + g.hours_to_pay)"
        f" + {w['log_payments']!r} * ln(CAST(g.payments AS DOUBLE))"
        f" + {w['new_handle']!r} * g.new_handle"
        f" + {w['log_approached_payers']!r} * ln(1.0 + g.initiated_payers)"
        f" + {w['log_other_payers']!r} * ln(1.0 + g.handle_payers - g.initiated_payers)"
        f" + {w['log_actor_payers']!r} * ln(CAST(g.actor_payers AS DOUBLE))"
        f" + {w['log_hours_silent']!r} * ln(1.0 + g.hours_silent)"
        f" + {w['log_calls_after_pay']!r} * ln(1.0 + g.calls_after_pay)"
        f" + {w['paid_before']!r} * g.paid_before"
        f" + {w['later_payee']!r} * g.later_payee"
    )
    # The handle's score is its episodes' mean: one family's odd episode does not make a
    # shop or a seller an extortion handle, and every family of a ring's handle counts.
    return f"""
SELECT s.*, avg(s.score) OVER (PARTITION BY s.receiver_id) AS handle_score
FROM (
  SELECT g.*, 1.0 / (1.0 + exp(-({z}))) AS score
  FROM (
    SELECT e.*, coalesce(r.initiated_payers, 0) AS initiated_payers, k.calls_after_pay,
      k.calls_before_pay, k.hours_silent, k.last_event_id
    FROM sextortion_grouped e
    LEFT JOIN sextortion_approached r ON r.receiver_id = e.receiver_id
    JOIN sextortion_calls k ON k.actor = e.actor AND k.minor = e.minor
      AND k.customer_id = e.customer_id AND k.receiver_id = e.receiver_id
  ) g
) s
"""


# Every episode (and its payments) of a beneficiary whose score (its episodes' mean)
# reaches the alert score: each family that paid it after such a contact matters.
_ALERTED = """(SELECT DISTINCT receiver_id FROM sextortion_episodes
  WHERE handle_score >= {min_score})"""
EPISODES_QUERY = f"""
SELECT e.* FROM sextortion_episodes e JOIN {_ALERTED} h ON h.receiver_id = e.receiver_id
ORDER BY e.receiver_id, e.score DESC, e.customer_id, e.actor
"""
PAYMENTS_QUERY = f"""
SELECT p.actor, p.minor, p.customer_id, p.receiver_id, p.txn_id, p.paid_at, p.amount,
  p.currency
FROM sextortion_episode_payments p JOIN {_ALERTED} h ON h.receiver_id = p.receiver_id
ORDER BY p.receiver_id, p.customer_id, p.paid_at, p.txn_id
"""


def _when(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if isinstance(ts, datetime) else str(ts)


def _hours(h: float) -> str:
    return f"{h:.0f} hours" if h >= 2 else f"{round(h * 60)} minutes"


def _episode_text(e: Mapping[str, Any], payments: Sequence[Mapping[str, Any]]) -> str:
    age = e["account_age_days"]
    made = f"created {float(age):.0f} days before" if age is not None else "creation unknown"
    first = str(e["first_event_type"]).replace("_", " ")
    text = (
        f"{e['actor']} ({e['actor_country'] or 'country unknown'}, {made}) "
        f"{'made' if int(e['initiated']) else 'received'} the first contact with minor "
        f"{e['minor']} ({e['minor_country'] or 'country unknown'}), {first} "
        f"{e['first_event_id']} at {_when(e['first_seen'])}"
    )
    if e["call_event_id"] is not None and e["call_s"] is not None:
        gap = (float(e["call_s"]) - float(e["first_s"])) / 3600.0
        text += f"; call {e['call_event_id']} {_hours(gap)} later"
        if int(e["calls_before_pay"]) > 1:
            text += f" ({int(e['calls_before_pay'])} calls before the first payment)"
    paid = ", ".join(
        f"{p['txn_id']} {float(p['amount']):.2f} {p['currency']} at {_when(p['paid_at'])}"
        for p in payments[:4]
    )
    more = f" and {len(payments) - 4} more" if len(payments) > 4 else ""
    return (
        f"{text}; then customer {e['customer_id']} (tied to the minor's account) paid "
        f"{int(e['payments'])} time(s), the first {_hours(float(e['hours_to_pay']))} after "
        f"the first contact and {_hours(float(e['hours_silent']))} after their last contact "
        f"before it ({e['last_event_id']}): {paid}{more}"
    )


def _episode_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(row["actor"]), str(row["minor"]), str(row["customer_id"]))


def explain(episodes: Sequence[Mapping[str, Any]], payments: Sequence[Mapping[str, Any]]) -> str:
    """Plain language naming the evidence: the minors' accounts, the actors, the calls,
    the payments and the hours between."""
    top = episodes[0]
    customers = sorted({str(e["customer_id"]) for e in episodes})
    actors = sorted({str(e["actor"]) for e in episodes})
    age = top["handle_age_days"]
    parts = [
        f"Beneficiary {top['receiver_id']} ({top['receiver_country'] or 'country unknown'}) "
        f"was paid by {len(customers)} customer(s) shortly after another account "
        f"contacted their minor's platform account "
        f"({len(actors)} such account(s): {', '.join(actors[:4])}"
        f"{' …' if len(actors) > 4 else ''}); in {int(top['initiated_payers'])} of these "
        f"families the contacting account made the first contact; the handle was first paid "
        f"{float(age):.0f} days before the first of these payments.",
    ]
    known = sorted({str(e["customer_id"]) for e in episodes if int(e["paid_before"])})
    if known:
        parts.append(
            f"Customer(s) {', '.join(known[:4])} had paid the handle before the contact "
            "(which lowers the score)."
        )
    by_episode: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for p in payments:
        by_episode.setdefault(_episode_key(p), []).append(p)
    examples = [_episode_text(e, by_episode.get(_episode_key(e), [])) for e in episodes[:3]]
    parts.append("E.g. " + "; ".join(examples) + ".")
    if len(episodes) > 3:
        parts.append(f"({len(episodes) - 3} more episode(s).)")
    if any(int(e["verified"]) for e in episodes):
        parts.append("A contacting account is verified by the platform.")
    return " ".join(parts)


def alerts(
    episodes: Sequence[Mapping[str, Any]], payments: Sequence[Mapping[str, Any]]
) -> list[Alert]:
    """One alert per beneficiary whose score (the mean of its episodes' scores) reaches
    the alert score (subject: the beneficiary), highest first; evidence ids are each
    episode's first contact, call and last contact before the money
    (``platform_events``), and the explanation names the payments."""
    by_handle: dict[str, list[Mapping[str, Any]]] = {}
    for e in episodes:
        by_handle.setdefault(str(e["receiver_id"]), []).append(e)
    paid: dict[str, list[Mapping[str, Any]]] = {}
    for p in payments:
        paid.setdefault(str(p["receiver_id"]), []).append(p)
    out = []
    for handle, eps in by_handle.items():
        eps = sorted(
            eps, key=lambda e: (-float(e["score"]), str(e["customer_id"]), str(e["actor"]))
        )
        ids = [
            str(x)
            for e in eps
            for x in (e["first_event_id"], e["call_event_id"], e["last_event_id"])
            if x
        ]
        out.append(
            Alert(
                alert_id=f"{DETECTOR_ID}:{handle}",
                detector=DETECTOR_ID,
                subject_type="beneficiary",
                subject_id=handle,
                score=alert_score(float(eps[0]["handle_score"])),
                typologies=(TYPOLOGY, INCIDENT),
                explanation=explain(eps, paid.get(handle, [])),
                evidence_source="platform_events",
                evidence_ids=tuple(dict.fromkeys(ids)),
                first_seen=min(e["first_seen"] for e in eps),
                last_seen=max(e["last_paid_at"] for e in eps),
            )
        )
    return sorted(out, key=lambda a: (-a.score, a.alert_id))


__all__ = [
    "DETECTOR_ID",
    "EPISODES_QUERY",
    "INPUT_TABLES",
    "PAYMENTS_QUERY",
    "VERSION",
    "WEIGHTS",
    "SextortionParams",
    "alerts",
    "compile_pipeline",
    "explain",
]
