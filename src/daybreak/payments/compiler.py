"""Compile a typology pack into SQL steps for a dialect. Nothing here runs SQL.

Inputs are two relations, ``transactions`` and ``customers`` (public schema). The steps
build corridor payments, name-pair family ties, per-customer and per-beneficiary
features, first-stage scores, network features and final raw scores. A second, small
pipeline pulls the evidence transactions of the subjects that became alerts.
"""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.payments import context
from daybreak.payments.config import Pack, Typology
from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES
from daybreak.payments.graph import add_network_steps
from daybreak.payments.names import accent_map, fold_steps, fold_word, particle_pattern
from daybreak.payments.rules import rule_sql

MAX_EVIDENCE = 50
DAY = 86400.0


def strength_column(t: Typology) -> str:
    return f"s__{t.id}"


def _accent_folded_sql(d: Dialect, col: str) -> str:
    """``col`` in lower case with accents folded (``accent_map``). Every accented letter
    lies outside printable ASCII, so names without such a character skip ``translate``,
    which costs ~0.1 ms per name on DuckDB (it rebuilds its character map on every row)."""
    low = f"lower(coalesce({col}, ''))"
    return (
        f"CASE WHEN {d.regexp_matches(low, '[^ -~]')} "
        f"THEN {d.translate(low, *accent_map())} ELSE {low} END"
    )


def _name_key_sql(d: Dialect, folded: str, particles: tuple[str, ...]) -> str:
    """SQL of the folded name key (tokens separated by one space) of ``folded``, a name
    already through ``_accent_folded_sql``; ``name_tokens`` is its Python reference.
    Tokens are set apart by two spaces so that one regex pass finds every initial or
    particle, however many stand side by side; the last token is marked with '#' so that
    a final particle ("Phuong Do") stays a surname."""
    (letters, space), *rest = fold_steps()
    text = folded
    comma = f"instr({text}, ',')"
    text = (
        f"CASE WHEN {comma} > 0 THEN concat(substr({text}, {comma} + 1), ' ', "
        f"substr({text}, 1, {comma} - 1)) ELSE {text} END"
    )  # "SURNAME, Given" -> "Given SURNAME"
    expr = d.regexp_replace_all(text, letters, space)
    expr = d.regexp_replace_all(f"concat(' ', trim({expr}), ' ')", " ", "  ")
    expr = d.regexp_replace_all(expr, " [a-z] ", " ")
    for pattern, repl in rest:
        expr = d.regexp_replace_all(expr, pattern, repl)
    marked = d.regexp_replace_all(
        f"concat(' ', trim({d.regexp_replace_all(expr, ' +', ' ')}))", "$", "#"
    )
    spaced = d.regexp_replace_all(f"concat({marked}, ' ')", " ", "  ")
    stripped = d.regexp_replace_all(spaced, particle_pattern(particles), " ")
    stripped = d.regexp_replace_all(d.regexp_replace_all(stripped, "#", ""), " +", " ")
    return f"trim({stripped})"


def _finite(x: str) -> str:
    """``x`` with NULL and NaN (zero variance) read as 0."""
    return f"CASE WHEN isnan(coalesce({x}, 0.0)) THEN 0.0 ELSE coalesce({x}, 0.0) END"


def _strengths(pack: Pack, subject: str, d: Dialect, *, network: bool) -> list[tuple[str, str]]:
    feats = CUSTOMER_FEATURES if subject == "customer" else BENEFICIARY_FEATURES
    out = []
    for t in pack.typologies_for(subject):
        if t.network and not network:
            continue
        out.append((strength_column(t), rule_sql(t.strength, feats, d.name)))
    return out


def _score(pack: Pack, subject: str, network: bool) -> str:
    terms = [
        f"{t.weight!r} * {strength_column(t)}"
        for t in pack.typologies_for(subject)
        if network or not t.network
    ]
    z = " + ".join([f"CAST({pack.bias!r} AS DOUBLE)", *terms])
    return f"1.0 / (1.0 + exp(-({z})))"


def _mcc_rows(pack: Pack) -> list[tuple[str, str]]:
    mcc = pack.mcc
    kinds = [("vpn", mcc.vpn_software), ("webcam", mcc.webcam_streaming), ("flight", mcc.airlines)]
    return [(code, kind) for kind, codes in kinds for code in codes] or [("0000", "none")]


ROUTING_COLUMNS = ("sender_country", "receiver_country", "channel", "merchant_category")
# Channels of spending in person (travel), not of sending money.
SPEND_CHANNELS = ("card", "cash")


def relevant_filter(pack: Pack, d: Dialect, alias: str = "t") -> str:
    """Which transactions the detector reads at all (over ``ROUTING_COLUMNS`` only)."""
    corridor = ", ".join(d.string(c) for c in pack.corridor_countries)
    mcc_list = ", ".join(d.string(code) for code, _ in _mcc_rows(pack))
    t = f"{alias}." if alias else ""
    return (
        f"(({t}receiver_country IN ({corridor}) AND {t}receiver_country <> {t}sender_country) "
        f"OR ({t}channel = 'card' AND {t}merchant_category IN ({mcc_list})))"
    )


def relevant_prefilter(pack: Pack, d: Dialect) -> str:
    """A wider filter than ``relevant_filter`` over two of its columns: payments to a
    corridor country (domestic ones there included) and listed merchant codes on any
    channel. Cheaper to test on every row of a file; the exact filter follows."""
    corridor = ", ".join(d.string(c) for c in pack.corridor_countries)
    mcc_list = ", ".join(d.string(code) for code, _ in _mcc_rows(pack))
    return f"(receiver_country IN ({corridor}) OR merchant_category IN ({mcc_list}))"


def compile_scan(pack: Pack, d: Dialect) -> Pipeline:
    """Steps ending in ``customer_scores`` and ``beneficiary_scores``."""
    p = Pipeline()
    s = d.string
    corridor = ", ".join(s(c) for c in pack.corridor_countries)
    spend = ", ".join(s(c) for c in SPEND_CHANNELS)
    fx_rows = [(c, r, pack.low_value_cap(c)) for c, r in sorted(pack.fx_to_reference.items())]
    tz_rows = sorted(pack.default_timezones.items()) or [("", "UTC")]
    ch_rows = sorted(pack.channel_risk.items()) or [("", 0.0)]
    words = "|".join(fold_free(w) for w in pack.cover_words)
    cover_re = f"(?:^|[^a-z])({words})(?:[^a-z]|$)"
    cover_test = d.regexp_matches("ref", cover_re)
    if pack.handle_pattern:
        cover_test = f"({cover_test} OR {d.regexp_matches('ref', pack.handle_pattern)})"
    tz = "coalesce(c.timezone, tzd.tz, 'UTC')"
    n0, n1 = pack.night.start_hour, pack.night.end_hour
    night = f"(hr >= {n0} OR hr < {n1})" if n0 > n1 else f"(hr >= {n0} AND hr < {n1})"
    mcc_rows = _mcc_rows(pack)
    office0, office1 = context.OFFICE_HOURS
    # The rows any later step reads: corridor payments and spend, related purchases.
    p.add("relevant", f"SELECT * FROM transactions t WHERE {relevant_filter(pack, d)}",
          materialize=True)  # fmt: skip
    # References repeat ("gift", "school fees"): fold and test them once per distinct
    # text rather than once per payment (over all relevant rows: the corridor filter
    # would cost more than the few extra texts).
    p.add(
        "reference_words",
        f"""
SELECT raw, CASE WHEN {cover_test} THEN 1 ELSE 0 END AS cover,
  {d.regexp_replace_all(d.regexp_extract("ref", cover_re), "[^a-z]+", " ")} AS cover_word
FROM (SELECT raw, lower(raw) AS ref
      FROM (SELECT DISTINCT coalesce(t.reference, '') AS raw FROM relevant t) u) r
""",
        materialize=True,
    )
    # Corridor payments: among the relevant rows, every one that is not card or cash spend
    # passed relevant_filter's corridor test, so it is not repeated here.
    p.add(
        "pay",
        f"""
SELECT x.txn_id, x.ts, x.ts_s, x.sender_id, x.receiver_id, x.sender_country,
  x.receiver_country, x.amount, x.currency, x.channel, x.amount_ref, x.low_value,
  CASE WHEN {night} THEN 1 ELSE 0 END AS night, w.cover, w.cover_word, x.channel_w,
  x.sender_name, x.receiver_name,
  CASE WHEN hr >= {office0} AND hr < {office1} THEN 1 ELSE 0 END AS office,
  CASE WHEN abs(x.amount - 10.0 * round(x.amount / 10.0)) < 0.005 THEN 1 ELSE 0 END AS whole,
  floor(x.ts_s / {DAY}) AS day_n
FROM (
  SELECT t.txn_id, t.timestamp AS ts, {d.epoch_seconds("t.timestamp")} AS ts_s,
    t.sender_id, t.receiver_id, t.sender_country, t.receiver_country, t.amount, t.currency,
    t.channel, t.amount * fx.rate AS amount_ref,
    CASE WHEN t.amount <= fx.low_cap THEN 1 ELSE 0 END AS low_value,
    {d.local_hour("t.timestamp", tz)} AS hr,
    coalesce(t.reference, '') AS raw_ref,
    coalesce(ch.w, 0.0) AS channel_w,
    coalesce(c.name, t.sender_name) AS sender_name, t.receiver_name
  FROM relevant t
  JOIN {d.values(fx_rows, ["currency", "rate", "low_cap"], "fx")} ON fx.currency = t.currency
  LEFT JOIN customers c ON c.customer_id = t.sender_id
  LEFT JOIN {d.values(tz_rows, ["country", "tz"], "tzd")} ON tzd.country = t.sender_country
  LEFT JOIN {d.values(ch_rows, ["channel", "w"], "ch")} ON ch.channel = t.channel
  WHERE t.channel NOT IN ({spend})
) x JOIN reference_words w ON w.raw = x.raw_ref
""",
        materialize=True,
    )
    # Escalation reads each payment's place in its sender's sequence. The window runs over
    # the few columns it needs and is aggregated at once: sorting whole payments, or
    # joining the positions back to them, cost more than the rest of ``pay``. One window
    # order serves all three (the last three payments are those with no third successor).
    order = "PARTITION BY sender_id ORDER BY ts, txn_id"
    p.add(
        "sequence",
        f"""
SELECT sender_id,
  {_finite("corr(CAST(rn AS DOUBLE), amount_ref)")} AS amount_trend,
  {_finite("corr(CAST(rn AS DOUBLE), gap)")} AS gap_trend,
  {_finite("stddev_samp(gap) / nullif(avg(gap), 0.0)")} AS gap_cv,
  avg(CASE WHEN rn <= 3 THEN amount END) AS first_amounts,
  avg(CASE WHEN last3 = 1 THEN amount END) AS last_amounts
FROM (
  SELECT sender_id, amount, amount_ref,
    row_number() OVER ({order}) AS rn,
    ts_s - lag(ts_s) OVER ({order}) AS gap,
    CASE WHEN lead(1, 3) OVER ({order}) IS NULL THEN 1 ELSE 0 END AS last3
  FROM pay
) o
GROUP BY sender_id
""",
    )
    # A female given name is one token of the key (tokens are letters, one space apart).
    # One regex per name instead of splitting the key into a list to test against the
    # list of names. An entry that folds to two words can never equal one token.
    female = sorted({fold_word(n) for n in pack.female_given_names} - {""})
    female_re = "(?:^| )(?:" + ("|".join(w for w in female if " " not in w) or "-") + ")(?: |$)"
    parts = pack.name_particles
    org_words = "|".join(fold_free(w) for w in pack.organisation_words) or "-"
    org_re = f"(?:^|[^a-z])({org_words})(?:[^a-z]|$)"
    p.add(
        "pair_names",
        """
SELECT sender_id, receiver_id, max(sender_name) AS sn, max(receiver_name) AS rn,
  min(sender_country) AS sender_country, count(*) AS n,
  avg(CAST(low_value AS DOUBLE)) AS low_value_share
FROM pay GROUP BY sender_id, receiver_id
""",
        materialize=True,
    )
    # Fold each distinct name once: far fewer names than pairs or payments. Known
    # offenders' names are folded too, to find their other accounts among the payers.
    p.add(
        "name_key",
        f"""
SELECT nm, k,
  CASE WHEN {d.regexp_matches("k", female_re)} THEN 1 ELSE 0 END AS female,
  CASE WHEN {d.regexp_matches("low", org_re)} THEN 1 ELSE 0 END AS org
FROM (
  SELECT nm, low, {_name_key_sql(d, "low", parts)} AS k
  FROM (
    SELECT nm, {_accent_folded_sql(d, "nm")} AS low
    FROM (SELECT sn AS nm FROM pair_names UNION SELECT rn AS nm FROM pair_names
          UNION SELECT name AS nm FROM customers WHERE known_offender) u
    WHERE nm IS NOT NULL
  ) a
) f
""",
        materialize=True,
    )
    p.add(
        "pair",
        f"""
SELECT sender_id, receiver_id, n, sender_country, low_value_share,
  CASE WHEN sk = '' OR rk = '' THEN 0 ELSE
    CASE WHEN {d.arrays_overlap(d.split_spaces("sk"), d.split_spaces("rk"))} THEN 1 ELSE 0 END
  END AS related,
  female, org
FROM (
  SELECT g.sender_id, g.receiver_id, g.n, g.sender_country, g.low_value_share,
    coalesce(a.k, '') AS sk, coalesce(b.k, '') AS rk, coalesce(b.female, 0) AS female,
    coalesce(b.org, 0) AS org
  FROM pair_names g
  LEFT JOIN name_key a ON a.nm = g.sn
  LEFT JOIN name_key b ON b.nm = g.rn
) k
""",
        materialize=True,
    )
    # Payments with their pair's family tie, for the evidence query.
    p.add(
        "seq",
        """
SELECT p.*, r.related FROM pay p
JOIN pair r ON r.sender_id = p.sender_id AND r.receiver_id = p.receiver_id
""",
    )
    p.add("runs", context.runs_sql())
    p.add(
        "cust",
        f"""
SELECT z.*, {context.payroll_pattern_sql("z.")} AS payroll_pattern
FROM (
SELECT a.sender_id, a.corridor_payments, b.corridor_beneficiaries,
  b.unrelated_beneficiaries, b.female_beneficiaries, b.related_share,
  a.corridor_total_ref, a.corridor_median_ref, a.corridor_max_ref, a.low_value_share,
  a.night_share, a.cover_word_payments, a.cover_word_share, q.amount_trend, q.gap_trend,
  q.gap_cv, a.office_share, a.round_share, u.run_share,
  a.active_days, a.channel_risk, q.first_amounts, q.last_amounts, a.median_amount,
  a.corridor_total, a.currency, a.countries, a.main_channel,
  a.first_seen, a.last_seen, a.first_s, a.last_s
FROM (SELECT sender_id,
  count(*) AS corridor_payments,
  sum(amount_ref) AS corridor_total_ref,
  {d.median("amount_ref")} AS corridor_median_ref,
  max(amount_ref) AS corridor_max_ref,
  avg(CAST(low_value AS DOUBLE)) AS low_value_share,
  avg(CAST(night AS DOUBLE)) AS night_share,
  CAST(sum(cover) AS BIGINT) AS cover_word_payments,
  avg(CAST(cover AS DOUBLE)) AS cover_word_share,
  avg(CAST(office AS DOUBLE)) AS office_share,
  avg(CAST(whole AS DOUBLE)) AS round_share,
  (max(ts_s) - min(ts_s)) / {DAY} AS active_days,
  avg(channel_w) AS channel_risk,
  {d.median("amount")} AS median_amount,
  -- In whole cents: a parallel sum of doubles depends on the order rows arrive in,
  -- and the explanations state this total, so two runs must give the same one.
  CAST(sum(CAST(round(amount * 100) AS BIGINT)) AS DOUBLE) / 100 AS corridor_total,
  min(currency) AS currency,
  min(receiver_country) AS countries,
  min(channel) AS main_channel,
  min(ts) AS first_seen, max(ts) AS last_seen, min(ts_s) AS first_s, max(ts_s) AS last_s
FROM pay GROUP BY sender_id) a
JOIN (SELECT sender_id, count(*) AS corridor_beneficiaries,
    sum(n * related) / CAST(sum(n) AS DOUBLE) AS related_share,
    count(CASE WHEN related = 0 THEN 1 END) AS unrelated_beneficiaries,
    count(CASE WHEN related = 0 AND female = 1 THEN 1 END) AS female_beneficiaries
  FROM pair GROUP BY sender_id) b ON b.sender_id = a.sender_id
JOIN sequence q ON q.sender_id = a.sender_id
JOIN runs u ON u.sender_id = a.sender_id
) z
""",
        materialize=True,
    )
    # Cover words in context: how specific each word is to senders paying a hub.
    p.add("sender_words", context.sender_words_sql(), materialize=True)
    p.add("hub_payers", context.hub_payers_sql(), materialize=True)
    p.add("word_spec", context.word_spec_sql(), materialize=True)
    p.add("sender_cover", context.sender_cover_sql())
    window = pack.related_purchase_days * DAY
    p.add(
        "purchase",
        f"""
SELECT t.txn_id, t.sender_id, m.kind, {d.epoch_seconds("t.timestamp")} AS ts_s, t.timestamp AS ts
FROM relevant t JOIN {d.values(mcc_rows, ["mcc", "kind"], "m")} ON m.mcc = t.merchant_category
WHERE t.channel = 'card'
""",
    )
    p.add(
        "related_purchase",
        f"""
SELECT DISTINCT q.txn_id, q.sender_id, q.kind, q.ts
FROM purchase q JOIN pay p ON p.sender_id = q.sender_id
  AND p.ts_s BETWEEN q.ts_s - {window} AND q.ts_s + {window}
""",
        materialize=True,
    )
    p.add(
        "travel",
        f"""
SELECT t.sender_id, count(*) AS corridor_card_spend
FROM relevant t
WHERE t.channel IN ({spend}) AND t.receiver_country IN ({corridor})
  AND t.receiver_country <> t.sender_country
GROUP BY t.sender_id
""",
    )
    # Only scored customers (corridor payers) and known offenders take part. Their folded
    # names come from name_key: every corridor payer's name and every offender's is there.
    p.add(
        "person",
        """
SELECT c.customer_id, coalesce(c.known_offender, false) AS ko, c.gender, c.birth_year,
  coalesce(k.k, '') AS nk
FROM customers c LEFT JOIN name_key k ON k.nm = c.name
LEFT JOIN cust s ON s.sender_id = c.customer_id
WHERE c.known_offender OR s.sender_id IS NOT NULL
""",
    )
    p.add(
        "offender",
        """
SELECT a.customer_id,
  max(CASE WHEN a.ko THEN 1 ELSE 0 END) AS known_offender,
  max(CASE WHEN b.customer_id IS NOT NULL THEN 1 ELSE 0 END) AS linked_offender_account,
  max(CASE WHEN a.gender = 'M' THEN 1 ELSE 0 END) AS sender_male,
  max(a.birth_year) AS birth_year
FROM person a LEFT JOIN person b ON b.ko AND a.nk <> '' AND b.nk = a.nk
  AND b.birth_year = a.birth_year AND b.customer_id <> a.customer_id
GROUP BY a.customer_id
""",
    )
    p.add(
        "cfeat",
        f"""
SELECT c.*, 1.0 - c.related_share AS unrelated_share,
  c.corridor_payments * 30.0 / greatest(c.active_days, 30.0) AS payments_per_30d,
  c.corridor_payments * 30.0 / greatest(c.active_days, 30.0) * (1.0 - c.payroll_pattern)
    * {context.ramp("c.gap_cv", 0.3, 0.7)} AS irregular_rate,
  coalesce(sc.cover_specific_payments, 0.0) / c.corridor_payments AS cover_specific_share,
  sc.top_cover_word, coalesce(sc.top_cover_word_spec, 0.0) AS top_cover_word_spec,
  coalesce(rp.vpn, 0) AS vpn_purchases, coalesce(rp.webcam, 0) AS webcam_purchases,
  coalesce(rp.flight, 0) AS corridor_flights,
  coalesce(tr.corridor_card_spend, 0) AS corridor_card_spend,
  coalesce(o.known_offender, 0) AS known_offender,
  coalesce(o.linked_offender_account, 0) AS linked_offender_account,
  coalesce(o.sender_male, 0) AS sender_male,
  CASE WHEN o.birth_year IS NULL THEN 0
    ELSE year(c.last_seen) - o.birth_year END AS sender_age
FROM cust c
LEFT JOIN sender_cover sc ON sc.sender_id = c.sender_id
LEFT JOIN (SELECT sender_id,
    count(DISTINCT CASE WHEN kind = 'vpn' THEN txn_id END) AS vpn,
    count(DISTINCT CASE WHEN kind = 'webcam' THEN txn_id END) AS webcam,
    count(DISTINCT CASE WHEN kind = 'flight' THEN txn_id END) AS flight
  FROM related_purchase GROUP BY sender_id) rp ON rp.sender_id = c.sender_id
LEFT JOIN travel tr ON tr.sender_id = c.sender_id
LEFT JOIN offender o ON o.customer_id = c.sender_id
WHERE c.corridor_payments >= {pack.min_corridor_payments}
   OR coalesce(o.known_offender, 0) + coalesce(o.linked_offender_account, 0) > 0
""",
        materialize=True,  # the peer ranks read it twice
    )
    p.add("cpeer", context.peer_sql(d, "cfeat"))
    local = _strengths(pack, "customer", d, network=False)
    cols = ", ".join(f"{sql} AS {name}" for name, sql in local)
    p.add("cstage", f"SELECT f.*, {cols} FROM cpeer f")
    p.add(
        "cbase",
        f"SELECT *, {_score(pack, 'customer', network=False)} AS base_score FROM cstage",
        materialize=True,
    )
    thr = pack.propagation_threshold
    add_network_steps(p, pack.network_iterations, thr)
    net = [
        (n, sql) for n, sql in _strengths(pack, "customer", d, network=True) if n not in dict(local)
    ]
    net_cols = "".join(f", {sql} AS {name}" for name, sql in net)
    p.add(
        "cnetfeat",
        """
SELECT b.*, coalesce(n.network_evidence, 0.0) AS network_evidence,
  coalesce(n.hub_other_senders, 0) AS hub_other_senders,
  coalesce(n.hub_suspect_senders, 0) AS hub_suspect_senders
FROM cbase b LEFT JOIN cnet n ON n.sender_id = b.sender_id
""",
    )
    p.add("cfinal", f"SELECT f.*{net_cols} FROM cnetfeat f")
    p.add(
        "customer_scores",
        f"SELECT *, {_score(pack, 'customer', network=True)} AS raw_score FROM cfinal",
        materialize=True,
    )
    # Beneficiaries are scored when two or more senders pay them or an alerted customer
    # does (by its own signs, or by evidence through the graph: strongest_sender). Sender counts come from pairs (one row per sender and beneficiary), and only
    # those beneficiaries' payments are aggregated: most have a single sender.
    p.add(
        "beneficiary_senders",
        f"""
SELECT r.receiver_id, count(*) AS inbound_senders,
  count(CASE WHEN r.related = 0 THEN 1 END) AS unrelated_senders,
  count(DISTINCT r.sender_country) AS sender_countries,
  max(r.org) AS organisation
FROM pair r LEFT JOIN cbase b ON b.sender_id = r.sender_id
LEFT JOIN bnet n ON n.receiver_id = r.receiver_id
GROUP BY r.receiver_id
HAVING count(*) >= 2
  OR count(CASE WHEN r.related = 0 AND b.base_score >= {thr} THEN 1 END) > 0
  OR max(coalesce(n.strongest_sender, 0.0)) >= {thr}
""",
    )
    spec = "CASE WHEN p.cover = 1 THEN coalesce(ws.spec, 1.0) ELSE 0.0 END"
    p.add(
        "bfeat",
        f"""
SELECT a.receiver_id, a.inbound_payments, b.inbound_senders, b.unrelated_senders,
  a.inbound_low_value_share, a.inbound_cover_word_share, a.inbound_specific_cover_share,
  a.inbound_night_share, a.inbound_median_ref, a.inbound_median, b.sender_countries,
  b.organisation, coalesce(n.alerted_senders, 0) AS alerted_senders,
  coalesce(n.weighted_senders, 0.0) AS weighted_senders,
  coalesce(n.sender_suspicion, 0.0) AS sender_suspicion,
  a.currency, a.countries, a.first_seen, a.last_seen
FROM (SELECT p.receiver_id,
  count(*) AS inbound_payments,
  avg(CAST(p.low_value AS DOUBLE)) AS inbound_low_value_share,
  avg(CAST(p.cover AS DOUBLE)) AS inbound_cover_word_share,
  avg({spec}) AS inbound_specific_cover_share,
  avg(CAST(p.night AS DOUBLE)) AS inbound_night_share,
  {d.median("p.amount_ref")} AS inbound_median_ref,
  {d.median("p.amount")} AS inbound_median,
  min(p.currency) AS currency, min(p.receiver_country) AS countries,
  min(p.ts) AS first_seen, max(p.ts) AS last_seen
FROM pay p LEFT JOIN word_spec ws ON ws.cover_word = p.cover_word
WHERE p.receiver_id IN (SELECT receiver_id FROM beneficiary_senders)
GROUP BY p.receiver_id) a
JOIN beneficiary_senders b ON b.receiver_id = a.receiver_id
LEFT JOIN bnet n ON n.receiver_id = a.receiver_id
""",
    )
    bcols = "".join(
        f", {sql} AS {name}" for name, sql in _strengths(pack, "beneficiary", d, network=True)
    )
    p.add("bstage", f"SELECT f.*{bcols} FROM bfeat f")
    p.add(
        "beneficiary_scores",
        f"SELECT *, {_score(pack, 'beneficiary', network=True)} AS raw_score FROM bstage",
        materialize=True,
    )
    return p


def fold_free(word: str) -> str:
    """A cover word as a regex alternative (letters and spaces only)."""
    cleaned = "".join(ch for ch in word.lower() if ch.isalpha() or ch == " ").strip()
    return cleaned.replace(" ", "[^a-z]+") or "-"


def compile_evidence(d: Dialect) -> Pipeline:
    """Evidence rows for subjects in the registered ``alerted(subject_type, subject_id)``.

    Unrelated, night-time, cover-word and low-value payments come first, then the rest,
    then related purchases; ties by time and id so every engine picks the same rows.
    """
    p = Pipeline()
    p.add(
        "evidence_rows",
        f"""
SELECT subject_type, subject_id, txn_id, ts FROM (
  SELECT subject_type, subject_id, txn_id, ts, row_number() OVER (
    PARTITION BY subject_type, subject_id ORDER BY prio DESC, ts, txn_id) AS k
  FROM (
    SELECT a.subject_type, a.subject_id, s.txn_id, s.ts,
      (1 - s.related) * 8 + s.night * 2 + s.cover * 2 + s.low_value AS prio
    FROM alerted a JOIN seq s ON a.subject_type = 'customer' AND s.sender_id = a.subject_id
    UNION ALL
    SELECT a.subject_type, a.subject_id, s.txn_id, s.ts,
      (1 - s.related) * 8 + s.night * 2 + s.cover * 2 + s.low_value AS prio
    FROM alerted a JOIN seq s ON a.subject_type = 'beneficiary' AND s.receiver_id = a.subject_id
    UNION ALL
    SELECT a.subject_type, a.subject_id, q.txn_id, q.ts, 5 AS prio
    FROM alerted a JOIN related_purchase q
      ON a.subject_type = 'customer' AND q.sender_id = a.subject_id
  ) u
) r WHERE k <= {MAX_EVIDENCE}
""",
    )
    return p
