"""SQL steps that judge a sender against context rather than raw counts.

Three pieces, each a few compiled steps (``compiler.compile_scan``'s stages place them):

* **Sending pattern** (``payroll_pattern``): a firm paying a pool of offshore contractors
  pays several beneficiaries on the same day, in office hours, about once a month each,
  in round amounts ("payroll to overseas freelancers (round amounts, business
  references, month-end)", payments-indicators.md, 'What makes it hard'). Volume and
  network evidence are discounted by it.
* **Words in context** (``word_spec``): a cover word counts as much as it is specific to
  the senders who pay a facilitator-like hub (a beneficiary several unrelated, non-payroll
  senders pay; AUSTRAC) compared with every corridor sender. A word every family or
  business uses ("allowance", "invoice") is then not a signal; a word only hub payers
  use is. The contrast is computed from the scanned data, shrunk toward a prior for
  words few senders use.
* **Peer-group anomaly** (``peer_anomaly``): percentile ranks of a few behaviour
  features within the sender's peer group (corridor country, currency, channel), a
  prior that needs no labels.
"""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect

# Payroll pattern: ramps over features of the sender (see payroll_pattern_sql).
PAYROLL_BENEFICIARIES = (2.5, 4.0)  # a pool of contractors, not one or two people
PAYROLL_RUN_SHARE = (0.2, 0.5)  # share of payments on days paying >= 2 beneficiaries
PAYROLL_OFFICE_SHARE = (0.4, 0.8)  # share of payments 08:00-18:00 sender-local
PAYROLL_PAIR_RATE = (1.5, 3.0)  # payments per beneficiary per 30 days (about monthly)
PAYROLL_ROUND_SHARE = (0.3, 0.7)  # share of amounts in whole tens (a soft factor)
OFFICE_HOURS = (8, 18)
# Words in context: a word's lift among hub payers, shrunk toward PRIOR_LIFT with
# PRIOR_SENDERS pseudo-senders, read through a ramp into a specificity in [0, 1].
PRIOR_LIFT = 2.0
PRIOR_SENDERS = 5.0
LIFT_RAMP = (0.8, 2.5)
HUB_MIN_WEIGHTED_SENDERS = 2.0
# Peer groups smaller than this are ranked against every scored customer instead.
PEER_MIN_GROUP = 30
# A sender who pays two members of one household abroad on the same days splits its
# payments (run_share high); one who pays them on separate occasions supports a family.
SPLIT_RUNS = (0.2, 0.5)
# How firmly a sender is tied to a beneficiary by the number of payments on the pair: a
# one-off payment counts a third, two or more fully (the graph's tie weight ``u``).
TIE_PAYMENTS = (0.5, 2.0)


def ramp(x: str, lo: float, hi: float) -> str:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between (as the rules' ramp)."""
    return f"least(1.0, greatest(0.0, (CAST({x} AS DOUBLE) - {lo!r}) / {hi - lo!r}))"


def payroll_pattern_sql(c: str = "") -> str:
    """Payroll-likeness of a sender in [0, 1], over the columns of ``customer_activity``
    (``c`` is a table alias with its dot, or empty)."""
    per_pair = (
        f"({c}corridor_payments * 30.0 / greatest({c}active_days, 30.0)"
        f" / greatest({c}corridor_beneficiaries, 1))"
    )
    return (
        f"({ramp(f'{c}corridor_beneficiaries', *PAYROLL_BENEFICIARIES)}"
        f" * {ramp(f'{c}run_share', *PAYROLL_RUN_SHARE)}"
        f" * {ramp(f'{c}office_share', *PAYROLL_OFFICE_SHARE)}"
        f" * (1.0 - {ramp(per_pair, *PAYROLL_PAIR_RATE)})"
        f" * (0.5 + 0.5 * {ramp(f'{c}round_share', *PAYROLL_ROUND_SHARE)}))"
    )


# Every corridor payment with its UTC day number, as the sequence step numbers days.
PAYMENT_DAYS = (
    "(SELECT sender_id, receiver_id, floor(ts_s / 86400.0) AS day_n FROM corridor_payments)"
)


def runs_sql(payments: str = PAYMENT_DAYS) -> str:
    """Per sender: the corridor payments made on a (UTC) day on which the sender paid
    two or more distinct beneficiaries (a pay run), over ``payments`` (a relation with
    ``sender_id``, ``day_n`` and ``receiver_id``; it may hold only the payments that share
    their day with another, as no other can be in a run). Two or more distinct
    beneficiaries is min <> max: one aggregation instead of a DISTINCT count per day."""
    return f"""
SELECT sender_id, sum(CASE WHEN several THEN n ELSE 0 END) AS run_payments
FROM (SELECT sender_id, day_n, count(*) AS n, min(receiver_id) <> max(receiver_id) AS several
      FROM {payments} d GROUP BY sender_id, day_n) d
GROUP BY sender_id
"""


def sender_words_sql() -> str:
    """Per sender and cover word: payments carrying it (a NULL word is a handle)."""
    return """
SELECT sender_id, cover_word, count(*) AS n FROM corridor_payments WHERE cover = 1
GROUP BY sender_id, cover_word
"""


def hub_payers_sql() -> str:
    """Senders paying, without family tie, a person whom unrelated non-payroll senders
    worth at least HUB_MIN_WEIGHTED_SENDERS pay (the population words are contrasted on)."""
    return f"""
SELECT DISTINCT r.sender_id FROM pair r JOIN (
  SELECT q.receiver_id FROM pair q LEFT JOIN customer_activity c ON c.sender_id = q.sender_id
  WHERE q.related = 0 AND q.org = 0
  GROUP BY q.receiver_id
  HAVING sum(1.0 - coalesce(c.payroll_pattern, 0.0)) >= {HUB_MIN_WEIGHTED_SENDERS!r}
) h ON h.receiver_id = r.receiver_id
WHERE r.related = 0 AND r.org = 0
"""


def word_spec_sql() -> str:
    """Each cover word's specificity in [0, 1]: its lift among hub payers (share of its
    senders who pay a hub over the share of all corridor senders who do), shrunk toward
    PRIOR_LIFT for words few senders use. With no hub at all the lift still falls for
    words many senders use (an IDF-like contrast)."""
    lift = (
        f"(w.hub + {PRIOR_SENDERS!r} * {PRIOR_LIFT!r} * b.base)"
        f" / ((w.n + {PRIOR_SENDERS!r}) * b.base)"
    )
    return f"""
SELECT w.cover_word, w.n AS word_senders, w.hub AS word_hub_senders,
  {lift} AS word_lift, {ramp(lift, *LIFT_RAMP)} AS spec
FROM (
  SELECT s.cover_word, count(*) AS n, count(h.sender_id) AS hub
  FROM (SELECT DISTINCT sender_id, cover_word FROM sender_words
        WHERE cover_word IS NOT NULL) s
  LEFT JOIN hub_payers h ON h.sender_id = s.sender_id
  GROUP BY s.cover_word
) w CROSS JOIN (
  SELECT greatest((SELECT count(*) FROM hub_payers)
    / CAST(greatest((SELECT count(*) FROM customer_activity), 1) AS DOUBLE), 1e-6) AS base
) b
"""


def sender_cover_sql() -> str:
    """Per sender: specificity-weighted cover payments and the most specific word."""
    spec = "coalesce(ws.spec, CASE WHEN sw.cover_word IS NULL THEN 1.0 ELSE 0.0 END)"
    return f"""
SELECT sender_id, sum(n * spec) AS cover_specific_payments,
  max(CASE WHEN k = 1 THEN cover_word END) AS top_cover_word,
  max(CASE WHEN k = 1 THEN spec END) AS top_cover_word_spec
FROM (
  SELECT sw.sender_id, sw.cover_word, sw.n, {spec} AS spec,
    row_number() OVER (PARTITION BY sw.sender_id
      ORDER BY CASE WHEN sw.cover_word IS NULL THEN 1 ELSE 0 END, {spec} DESC, sw.n DESC,
        sw.cover_word) AS k
  FROM sender_words sw LEFT JOIN word_spec ws ON ws.cover_word = sw.cover_word
) x
GROUP BY sender_id
"""


# Features ranked within the peer group; higher is more unusual for each.
PEER_FEATURES = (
    "night_share",
    "unrelated_beneficiaries",
    "cover_specific_share",
    "low_value_share * unrelated_share",
    "irregular_rate",
)


def peer_sql(d: Dialect, source: str) -> str:
    """``source`` with ``peer_anomaly``: the mean percentile rank of PEER_FEATURES among
    customers of the same corridor country, currency and channel (or among all scored
    customers when that group has fewer than PEER_MIN_GROUP members). ``source`` has one
    row per ``sender_id`` and is read twice (materialise it)."""
    del d  # the same SQL on every engine
    group = "PARTITION BY countries, currency, main_channel"
    ranks = []
    for i in range(len(PEER_FEATURES)):
        ranks.append(
            f"CASE WHEN peer_group_size >= {PEER_MIN_GROUP} "
            f"THEN percent_rank() OVER ({group} ORDER BY pf_{i}) "
            f"ELSE percent_rank() OVER (ORDER BY pf_{i}) END AS peer_rank_{i}"
        )
    features = ", ".join(f"{feat} AS pf_{i}" for i, feat in enumerate(PEER_FEATURES))
    names = ", ".join(f"k.peer_rank_{i}" for i in range(len(PEER_FEATURES)))
    mean = " + ".join(f"peer_rank_{i}" for i in range(len(PEER_FEATURES)))
    inner = ",\n    ".join(ranks)
    # The windows run over the few columns they read, then join back: each window
    # operator carries every column of its input, and a scored customer has ~50.
    return f"""
SELECT f.*, k.peer_group_size, {names}, k.peer_anomaly
FROM {source} f JOIN (
  SELECT r.*, ({mean}) / {float(len(PEER_FEATURES))!r} AS peer_anomaly
  FROM (
    SELECT g.sender_id, g.peer_group_size,
      {inner}
    FROM (SELECT sender_id, countries, currency, main_channel, {features},
            count(*) OVER ({group}) AS peer_group_size FROM {source}) g
  ) r
) k ON k.sender_id = f.sender_id
"""


def peer_values_sql(source: str) -> str:
    """The peer groups' values a scan pins (``pinned_peers``): per customer of
    ``source``, its group and PEER_FEATURES as ``pf_0``…"""
    features = ", ".join(f"{feat} AS pf_{i}" for i, feat in enumerate(PEER_FEATURES))
    return f"SELECT countries, currency, main_channel, {features} FROM {source}"


def pinned_peer_sql(source: str, pinned: str) -> str:
    """``peer_sql`` against pinned peer values (``peer_values_sql`` of the world the
    context was taken from) instead of ``source``'s own rows: each rank is the share of
    the pinned group (or of every pinned customer, when the group has fewer than
    PEER_MIN_GROUP) strictly below the customer's value, over the group's size less
    one: ``percent_rank`` of a customer that is one of the pinned ones."""
    n = len(PEER_FEATURES)
    features = ", ".join(f"{feat} AS pf_{i}" for i, feat in enumerate(PEER_FEATURES))
    keys = ("countries", "currency", "main_channel")
    same = " AND ".join(f"p.{k} = f.{k}" for k in keys)

    def ranks(join: str, size: str, where: str) -> str:
        cols = ", ".join(
            f"least(1.0, count(CASE WHEN p.pf_{i} < f.pf_{i} THEN 1 END)"
            f" / CAST(greatest({size} - 1, 1) AS DOUBLE)) AS peer_rank_{i}"
            for i in range(n)
        )
        return f"""
  SELECT f.sender_id, f.peer_group_size, {cols}
  FROM f {join} WHERE {where}
  GROUP BY f.sender_id, f.peer_group_size, {size}"""

    mean = " + ".join(f"peer_rank_{i}" for i in range(n))
    names = ", ".join(f"k.peer_rank_{i}" for i in range(n))
    big = ranks(
        f"JOIN {pinned} p ON {same}", "f.peer_group_size", f"f.peer_group_size >= {PEER_MIN_GROUP}"
    )
    small = ranks(
        f"CROSS JOIN (SELECT count(*) AS n FROM {pinned}) t LEFT JOIN {pinned} p ON true",
        "t.n",
        f"f.peer_group_size < {PEER_MIN_GROUP}",
    )
    return f"""
WITH f AS (
  SELECT v.*, coalesce(g.n, 0) AS peer_group_size
  FROM (SELECT sender_id, countries, currency, main_channel, {features} FROM {source}) v
  LEFT JOIN (SELECT countries, currency, main_channel, count(*) AS n FROM {pinned}
             GROUP BY countries, currency, main_channel) g
    ON g.countries = v.countries AND g.currency = v.currency
    AND g.main_channel = v.main_channel
)
SELECT s.*, k.peer_group_size, {names}, k.peer_anomaly
FROM {source} s JOIN (
  SELECT r.*, ({mean}) / {float(n)!r} AS peer_anomaly
  FROM ({big}
  UNION ALL{small}) r
) k ON k.sender_id = s.sender_id
"""
