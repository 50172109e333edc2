"""Compile a typology pack into SQL steps for a dialect. Nothing here runs SQL.

Inputs are two relations, ``transactions`` and ``customers`` (public schema).
``compile_scan`` chains stage compilers, each a function returning named steps that
declare what they read (``Step.inputs``): the rows read at all, corridor payments,
sender-beneficiary pairs and family ties, per-customer activity, words in context,
purchases and offender links, first-stage customer scores, the network rounds
(``payments.graph``), final customer scores and beneficiary scores. A second, small
pipeline pulls the evidence transactions of the subjects that became alerts.
"""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline, Step
from daybreak.payments import context
from daybreak.payments.config import Pack, Typology
from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES
from daybreak.payments.graph import add_network_steps
from daybreak.payments.names import accent_map, fold_steps, fold_word, particle_pattern
from daybreak.payments.rules import rule_sql
from daybreak.schema.columns import CHANNELS

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


# Names other modules read: the inputs, the step an in-place reader may provide, and
# the corridor payments (counted to check the input).
SCAN_INPUTS = ("transactions", "customers")
# World-wide context a scan may be given instead of deriving it from its own rows
# ("pinned": compile_scan(pinned=True)), so that a scan of a subset of the rows scores
# each subject as the scan of the world it was taken from did
# (daybreak.payments.realtime: the cover words' specificity, the peer groups' values,
# the observed period, the accounts read as one person's).
PINNED_INPUTS = ("pinned_word_spec", "pinned_peers", "pinned_period", "pinned_entities")
RELEVANT = "relevant_transactions"
CORRIDOR_PAYMENTS = "corridor_payments"


def _step(name: str, sql: str, *inputs: str, materialize: bool = False) -> Step:
    return Step(name, sql.strip(), inputs, materialize)


def compile_scan(pack: Pack, d: Dialect, *, pinned: bool = False) -> Pipeline:
    """Steps ending in ``customer_scores`` and ``beneficiary_scores``, stage by stage:
    the rows read at all, corridor payments, pairs and family ties, per-customer
    activity, words in context, purchases and offender links, first-stage customer
    scores, the network rounds, final customer scores, beneficiary scores. ``pinned``:
    the world-wide context is read from the ``PINNED_INPUTS`` instead of computed."""
    p = Pipeline(SCAN_INPUTS + (PINNED_INPUTS if pinned else ()))
    p.extend(_relevant_stage(pack, d))
    p.extend(_corridor_payment_stage(pack, d))
    p.extend(_sequence_stage(pack.related_purchase_days * DAY))
    p.extend(_pair_stage(pack, d))
    p.extend(_customer_activity_stage(pack, d))
    p.extend(_cover_word_stage(pinned))
    p.extend(_purchase_stage(pack, d, pinned))
    p.extend(_offender_stage())
    p.extend(_customer_base_stage(pack, d, pinned))
    add_network_steps(
        p,
        d,
        pack.network_iterations,
        pack.propagation_threshold,
        max_accounts=pack.entity_max_accounts,
        pinned=pinned,
    )
    p.extend(_customer_final_stage(pack, d))
    p.extend(_beneficiary_stage(pack, d))
    return p


def _relevant_stage(pack: Pack, d: Dialect) -> list[Step]:
    """The rows any later step reads: corridor payments and spend, related purchases.
    The only step that reads ``transactions``: an engine that filters the file itself
    provides it (``Pipeline.given``)."""
    sql = f"SELECT * FROM transactions t WHERE {relevant_filter(pack, d)}"
    return [_step(RELEVANT, sql, "transactions", materialize=True)]


def _cover_patterns(pack: Pack, d: Dialect) -> tuple[str, str]:
    """(regex finding a cover word in ``ref``, SQL test of a cover word or handle)."""
    words = "|".join(fold_free(w) for w in pack.cover_words)
    cover_re = f"(?:^|[^a-z])({words})(?:[^a-z]|$)"
    cover_test = d.regexp_matches("ref", cover_re)
    if pack.handle_pattern:
        cover_test = f"({cover_test} OR {d.regexp_matches('ref', pack.handle_pattern)})"
    return cover_re, cover_test


def _corridor_payment_stage(pack: Pack, d: Dialect) -> list[Step]:
    """``corridor_payments``: one row per corridor payment with its reference amount,
    local-time flags, cover word and sender name."""
    cover_re, cover_test = _cover_patterns(pack, d)
    # References repeat ("gift", "school fees"): fold and test them once per distinct
    # text rather than once per payment (over all relevant rows: the corridor filter
    # would cost more than the few extra texts).
    words = _step(
        "reference_cover_words",
        f"""
SELECT raw, CASE WHEN {cover_test} THEN 1 ELSE 0 END AS cover,
  {d.regexp_replace_all(d.regexp_extract("ref", cover_re), "[^a-z]+", " ")} AS cover_word
FROM (SELECT raw, lower(raw) AS ref
      FROM (SELECT DISTINCT coalesce(t.reference, '') AS raw FROM {RELEVANT} t) u) r
""",
        RELEVANT,
        materialize=True,
    )
    spend = ", ".join(d.string(c) for c in SPEND_CHANNELS)
    tz_rows = sorted(pack.default_timezones.items()) or [("", "UTC")]
    ch_rows = [(c, pack.channel_risk.get(c, 0.0), i) for i, c in enumerate(_channels(pack))]
    tz = "coalesce(c.timezone, tzd.tz, 'UTC')"
    n0, n1 = pack.night.start_hour, pack.night.end_hour
    night = f"(hr >= {n0} OR hr < {n1})" if n0 > n1 else f"(hr >= {n0} AND hr < {n1})"
    office0, office1 = context.OFFICE_HOURS
    # Among the relevant rows, every one that is not card or cash spend passed
    # relevant_filter's corridor test, so it is not repeated here. The step is read by
    # seven others and every column it carries is exported and read again per payment:
    # currency and channel travel as their rank among the known values (cur_i, ch_i:
    # a text minimum per sender cost ~8x a numeric one, reading the strings included),
    # the beneficiary's name only as whether it is blank (unnamed_w); the names go to
    # pair_names straight from the relevant rows, and what is cheap to compute again
    # (day, round amount) is computed where it is read.
    payments = _step(
        CORRIDOR_PAYMENTS,
        f"""
SELECT x.txn_id, x.ts, x.ts_s, x.sender_id, x.receiver_id, x.sender_country,
  x.receiver_country, x.amount, x.cur_i, x.ch_i, x.amount_ref, x.fx_rate, x.low_value,
  CASE WHEN {night} THEN 1 ELSE 0 END AS night, w.cover, w.cover_word, x.channel_w,
  x.unnamed_w, CASE WHEN hr >= {office0} AND hr < {office1} THEN 1 ELSE 0 END AS office
FROM (
  SELECT t.txn_id, t.timestamp AS ts, {d.epoch_seconds("t.timestamp")} AS ts_s,
    t.sender_id, t.receiver_id, t.sender_country, t.receiver_country, t.amount, fx.cur_i,
    ch.ch_i, t.amount * fx.rate AS amount_ref, fx.rate AS fx_rate,
    CASE WHEN t.amount <= fx.low_cap THEN 1 ELSE 0 END AS low_value,
    {_local_hour_sql(d, "t.timestamp", tz)} AS hr,
    coalesce(t.reference, '') AS raw_ref,
    coalesce(ch.w, 0.0) AS channel_w,
    CASE WHEN {_blank("t.receiver_name")} THEN coalesce(ch.w, 0.0) ELSE 0.0 END AS unnamed_w
  FROM {RELEVANT} t
  JOIN {_fx_values(pack, d)} ON fx.currency = t.currency
  LEFT JOIN customers c ON c.customer_id = t.sender_id
  LEFT JOIN {d.values(tz_rows, ["country", "tz"], "tzd")} ON tzd.country = t.sender_country
  LEFT JOIN {d.values(ch_rows, ["channel", "w", "ch_i"], "ch")} ON ch.channel = t.channel
  LEFT JOIN zone_days z ON z.tz = {tz} AND z.day_n = floor({d.epoch_seconds("t.timestamp")} / {DAY})
  WHERE t.channel NOT IN ({spend})
) x JOIN reference_cover_words w ON w.raw = x.raw_ref
""",
        RELEVANT,
        "customers",
        "reference_cover_words",
        "zone_days",
        materialize=True,
    )
    return [words, _zone_days_step(d, tz_rows), payments]


def _zone_days_step(d: Dialect, tz_rows: list[tuple[str, str]]) -> Step:
    """``zone_days``: for every time zone a sender's local hour may be read in (the
    customers', the pack's defaults, UTC) and every UTC day the relevant rows span, the
    zone's UTC offset at the start of the day (``o0``) and at the start of the next
    (``o1``). Where the two are equal the local hour is UTC time plus ``o0``
    (``_local_hour_sql``); a few thousand offsets instead of a time zone conversion per
    payment (~0.5 s of CPU at 10M rows, 15% corridor payments, against ~0.15 s for the
    join). No zone changes its offset twice within one day."""
    zones = d.values(tz_rows, ["country", "tz"], "v")
    return _step(
        "zone_days",
        f"""
SELECT tz, day_n, {d.utc_offset_at("day_n * " + str(DAY), "tz")} AS o0,
  {d.utc_offset_at("(day_n + 1.0) * " + str(DAY), "tz")} AS o1
FROM (SELECT z.tz, CAST(n.day_n AS DOUBLE) AS day_n
  FROM (SELECT DISTINCT timezone AS tz FROM customers WHERE timezone IS NOT NULL
        UNION SELECT tz FROM {zones} UNION SELECT 'UTC' AS tz) z
  CROSS JOIN (SELECT {d.integers_between("lo", "hi")} AS day_n
    FROM (SELECT floor(min({d.epoch_seconds("timestamp")}) / {DAY}) AS lo,
            floor(max({d.epoch_seconds("timestamp")}) / {DAY}) AS hi FROM {RELEVANT}) b) n) q
""",
        "customers",
        RELEVANT,
        materialize=True,
    )


def _local_hour_sql(d: Dialect, ts: str, tz: str) -> str:
    """The hour of ``ts`` in the zone ``tz``, from ``zone_days z`` joined on the zone and
    the UTC day: UTC time plus the day's offset, through the engine's time zone
    conversion only on a day the zone changes its offset (or one ``zone_days`` lacks)."""
    local = f"({d.epoch_seconds(ts)} + z.o0)"
    return (
        f"CASE WHEN z.o0 = z.o1 THEN floor(({local} - {DAY} * floor({local} / {DAY})) / 3600.0) "
        f"ELSE {d.local_hour(ts, tz)} END"
    )


def _currencies(pack: Pack) -> list[str]:
    """The currencies a corridor payment can be in (those the pack converts), in text
    order: ``cur_i`` is the position in this list, so the smallest ``cur_i`` is the
    smallest currency code."""
    return sorted(pack.fx_to_reference)


def _channels(pack: Pack) -> list[str]:
    """Every channel the public schema allows (and any the pack weighs), in text order:
    ``ch_i`` is the position in this list."""
    return sorted({*CHANNELS, *pack.channel_risk})


def _fx_values(pack: Pack, d: Dialect) -> str:
    """The inline table ``fx(currency, rate, low_cap, cur_i)``: each convertible
    currency's rate to the reference currency, its low-value cap and its position."""
    rows = [
        (c, pack.fx_to_reference[c], pack.low_value_cap(c), i)
        for i, c in enumerate(_currencies(pack))
    ]
    return d.values(rows, ["currency", "rate", "low_cap", "cur_i"], "fx")


def _decoded_min(code: str, values: list[str], d: Dialect) -> str:
    """The smallest of the texts whose positions in the sorted ``values`` are in the
    column ``code``: ``min(text)`` computed over numbers, decoded once per group."""
    whens = " ".join(f"WHEN {float(i)!r} THEN {d.string(v)}" for i, v in enumerate(values))
    return f"CASE min({code}) {whens} END"


def _sequence_stage(window: float) -> list[Step]:
    """``sender_sequence``: trends over each sender's payments in time order
    (escalation, cadence), the payments made in pay runs (``run_payments``) and the
    union of the ``window``-second windows around its payments (``union_s``, read by
    ``purchase_baseline``)."""
    # The window runs over the few columns it needs and is aggregated at once: sorting
    # whole payments, or joining the positions back to them, cost more than the rest of
    # the corridor payments step. One window order serves every function (the last three
    # payments are those with no third successor). The same order finds the payments
    # that share their day with another one (day_n rises with ts): only those can be in
    # a pay run, so the (sender, day) grouping of context.runs_sql reads them alone, not
    # every payment (it grouped ~1.4M days at 10M rows, most of a single payment).
    # ts_s orders as ts does: microseconds since 1970 are exact in a double until 2255,
    # and a double key sorts cheaper than a timestamp with time zone.
    # Ties (one sender paying twice at the same instant) are ordered by txn_id. A string
    # in the sort key cost ~30% of the window, and ties are rare: the window orders by
    # ts_s alone, and only the senders it finds a tie for (a gap of 0) are ordered
    # again with txn_id. Which of two tied payments comes first changes only the
    # features read by position (amount_trend, first_amounts, last_amounts): the gaps,
    # the neighbours' days and the windows' union are the same in either order.
    fast = "PARTITION BY sender_id ORDER BY ts_s"
    exact = f"{fast}, txn_id"
    tied = (
        f"(SELECT * FROM {CORRIDOR_PAYMENTS} "
        "WHERE sender_id IN (SELECT sender_id FROM a WHERE min_gap = 0.0))"
    )
    sql = f"""
WITH o AS ({_sequence_rows_sql(fast, CORRIDOR_PAYMENTS)}),
a AS ({_sequence_features_sql("o", window, ", min(gap) AS min_gap")})
SELECT s.*, coalesce(r.run_payments, 0) AS run_payments
FROM (
  SELECT {", ".join(SEQUENCE_COLUMNS)} FROM a WHERE coalesce(min_gap, 1.0) <> 0.0
  UNION ALL
  {_sequence_features_sql(f"({_sequence_rows_sql(exact, tied)}) e", window)}
) s LEFT JOIN ({context.runs_sql("(SELECT * FROM o WHERE same_day = 1)")}) r
  ON r.sender_id = s.sender_id
"""
    # Materialised (one row per sender): customer_activity and purchase_baseline read
    # it, and a view would sort the payments twice.
    return [_step("sender_sequence", sql, CORRIDOR_PAYMENTS, materialize=True)]


SEQUENCE_COLUMNS = ("sender_id", "amount_trend", "gap_trend", "gap_cv", "first_amounts",
                    "last_amounts", "union_s", "first_s", "last_s")  # fmt: skip


def _sequence_rows_sql(order: str, payments: str) -> str:
    """Each payment of ``payments`` with its position in its sender's ``order`` (``rn``),
    the gap since the previous one, whether it is among the last three and whether a
    neighbour shares its UTC day (``same_day``)."""
    return f"""
  SELECT sender_id, receiver_id, day_n, amount, amount_ref, ts_s, rn, ts_s - prev_s AS gap,
    last3,
    -- the neighbours' day_n, computed as the payment's own
    CASE WHEN floor(prev_s / {DAY}) = day_n OR floor(next_s / {DAY}) = day_n
      THEN 1 ELSE 0 END AS same_day
  FROM (
    SELECT sender_id, receiver_id, floor(ts_s / {DAY}) AS day_n, amount, amount_ref, ts_s,
      row_number() OVER ({order}) AS rn,
      lag(ts_s) OVER ({order}) AS prev_s, lead(ts_s) OVER ({order}) AS next_s,
      CASE WHEN lead(1, 3) OVER ({order}) IS NULL THEN 1 ELSE 0 END AS last3
    FROM {payments}
  ) w"""


def _sequence_features_sql(rows: str, window: float, extra: str = "") -> str:
    """Per sender, the ``SEQUENCE_COLUMNS`` (and ``extra``) over ``rows`` (as
    ``_sequence_rows_sql`` gives them)."""
    return f"""
  SELECT sender_id,
    {_finite("corr(CAST(rn AS DOUBLE), amount_ref)")} AS amount_trend,
    {_finite("corr(CAST(rn AS DOUBLE), gap)")} AS gap_trend,
    {_finite("stddev_samp(gap) / nullif(avg(gap), 0.0)")} AS gap_cv,
    avg(CASE WHEN rn <= 3 THEN amount END) AS first_amounts,
    avg(CASE WHEN last3 = 1 THEN amount END) AS last_amounts,
    {_window_union_sql("gap", window)} AS union_s, min(ts_s) AS first_s,
    max(ts_s) AS last_s{extra}
  FROM {rows} GROUP BY sender_id"""


def _window_union_sql(gap: str, window: float) -> str:
    """The length of the union of the windows of ``window`` seconds either side of a
    sender's time-ordered payments, from ``gap`` (seconds since the previous payment,
    NULL for the first): each payment adds its gap, at most 2 * window; the first adds
    2 * window. (``purchase_baseline`` cuts it to the observed period.)"""
    w2 = 2 * window
    return f"CAST(sum(least(coalesce({gap}, {w2}), {w2})) AS DOUBLE)"


def _pair_stage(pack: Pack, d: Dialect) -> list[Step]:
    """``pair``: one row per sender and beneficiary with its family tie by name and
    whether the beneficiary reads as a woman or an organisation; ``payments_with_ties``
    for the evidence query."""
    # A female given name is one token of the key (tokens are letters, one space apart).
    # One regex per name instead of splitting the key into a list to test against the
    # list of names. An entry that folds to two words can never equal one token.
    female = sorted({fold_word(n) for n in pack.female_given_names} - {""})
    female_re = "(?:^| )(?:" + ("|".join(w for w in female if " " not in w) or "-") + ")(?: |$)"
    org_words = "|".join(fold_free(w) for w in pack.organisation_words) or "-"
    org_re = f"(?:^|[^a-z])({org_words})(?:[^a-z]|$)"
    # The sender's name is the customer file's, else the one on the payments: taken here,
    # per pair, rather than carried on every corridor payment. The names are read from
    # the relevant rows, the corridor payments among them picked as corridor_payments
    # does (not spend, a currency the pack converts): exporting the two names with every
    # corridor payment and reading them back cost more than filtering again.
    spend = ", ".join(d.string(c) for c in SPEND_CHANNELS)
    pair_names = _step(
        "pair_names",
        f"""
SELECT g.sender_id, g.receiver_id, coalesce(c.name, g.file_sn) AS sn, g.rn, g.sender_country,
  g.receiver_country, g.n, g.low_value_share
FROM (
  SELECT t.sender_id, t.receiver_id, max(t.sender_name) AS file_sn,
    max(t.receiver_name) AS rn, min(t.sender_country) AS sender_country,
    min(t.receiver_country) AS receiver_country, count(*) AS n,
    avg(CASE WHEN t.amount <= fx.low_cap THEN 1.0 ELSE 0.0 END) AS low_value_share
  FROM {RELEVANT} t JOIN {_fx_values(pack, d)} ON fx.currency = t.currency
  WHERE t.channel NOT IN ({spend})
  GROUP BY t.sender_id, t.receiver_id
) g LEFT JOIN customers c ON c.customer_id = g.sender_id
""",
        RELEVANT,
        "customers",
        materialize=True,
    )
    # Fold each distinct name once: far fewer names than pairs or payments. Known
    # offenders' names are folded too, to find their other accounts among the payers.
    folded = _step(
        "folded_names",
        f"""
SELECT nm, k,
  CASE WHEN {d.regexp_matches("k", female_re)} THEN 1 ELSE 0 END AS female,
  CASE WHEN {d.regexp_matches("low", org_re)} THEN 1 ELSE 0 END AS org
FROM (
  SELECT nm, low, {_name_key_sql(d, "low", pack.name_particles)} AS k
  FROM (
    SELECT nm, {_accent_folded_sql(d, "nm")} AS low
    FROM (SELECT sn AS nm FROM pair_names UNION SELECT rn AS nm FROM pair_names
          UNION SELECT name AS nm FROM customers WHERE known_offender) u
    WHERE nm IS NOT NULL
  ) a
) f
""",
        "pair_names",
        "customers",
        materialize=True,
    )
    ties = _step(
        "pair_ties",
        f"""
SELECT sender_id, receiver_id, n, sender_country, receiver_country, low_value_share, sk,
  CASE WHEN sk = '' OR rk = '' THEN 0 ELSE
    CASE WHEN {d.arrays_overlap(d.split_spaces("sk"), d.split_spaces("rk"))} THEN 1 ELSE 0 END
  END AS related,
  female, org, coalesce({d.regexp_extract("rk", "^([^ ]+) ")}, '') AS given,
  coalesce({d.regexp_extract("rk", "^[^ ]+ (.+)$")}, '') AS family
FROM (
  SELECT g.sender_id, g.receiver_id, g.n, g.sender_country, g.receiver_country,
    g.low_value_share, coalesce(a.k, '') AS sk, coalesce(b.k, '') AS rk, coalesce(b.female, 0) AS female,
    coalesce(b.org, 0) AS org
  FROM pair_names g
  LEFT JOIN folded_names a ON a.nm = g.sn
  LEFT JOIN folded_names b ON b.nm = g.rn
) k
""",
        "pair_names",
        "folded_names",
        materialize=True,
    )
    # A household abroad: beneficiaries of one sender who share a family name (a token
    # after the first) with each other but not with the sender, under different given
    # names (the first token): a spouse's family, in-laws. The same given name is one
    # person's other account, not a household (``alias``: also the same two names in the
    # other order, "RATANAKORN Ratana" and "Ratana RATANAKORN"). Read per sender
    # (household_share, unrelated_families, alias_share).
    families = d.arrays_overlap(d.split_spaces("a.family"), d.split_spaces("b.family"))
    swapped = (
        f"{d.arrays_overlap(d.split_spaces('a.family'), d.split_spaces('b.given'))} AND "
        f"{d.arrays_overlap(d.split_spaces('b.family'), d.split_spaces('a.given'))}"
    )
    pair = _step(
        "pair",
        f"""
SELECT t.sender_id, t.receiver_id, t.n, t.sender_country, t.low_value_share, t.related,
  t.female, t.org, t.sk, coalesce(h.household, 0) AS household, coalesce(h.alias, 0) AS alias
FROM pair_ties t LEFT JOIN (
  SELECT a.sender_id, a.receiver_id,
    max(CASE WHEN a.given <> b.given AND {families} THEN 1 ELSE 0 END) AS household,
    max(CASE WHEN (a.given = b.given AND {families}) OR ({swapped}) THEN 1 ELSE 0 END)
      AS alias
  FROM pair_ties a JOIN pair_ties b
    ON b.sender_id = a.sender_id AND b.receiver_id <> a.receiver_id
  WHERE a.related = 0 AND b.related = 0 AND a.org = 0 AND b.org = 0
    AND a.family <> '' AND b.family <> ''
  GROUP BY a.sender_id, a.receiver_id
) h ON h.sender_id = t.sender_id AND h.receiver_id = t.receiver_id
""",
        "pair_ties",
        materialize=True,
    )
    with_ties = _step(
        "payments_with_ties",
        f"""
SELECT p.*, r.related FROM {CORRIDOR_PAYMENTS} p
JOIN pair r ON r.sender_id = p.sender_id AND r.receiver_id = p.receiver_id
""",
        CORRIDOR_PAYMENTS,
        "pair",
    )
    return [pair_names, folded, ties, pair, with_ties]


def _blank(col: str) -> str:
    """Whether the text ``col`` is missing or only spaces: ``coalesce(trim(col), '') = ''``,
    trimming only a text that starts with a space (trimming every beneficiary name cost
    half of the unnamed-share aggregate)."""
    return f"({col} IS NULL OR {col} = '' OR ({col} LIKE ' %' AND trim({col}) = ''))"


def _median_ref(totals: str, median: str) -> str:
    """The median payment in the reference currency, from the median in the payments'
    own currency ``totals.median`` when all of them convert at one rate (fx_lo = fx_hi:
    the rate is positive, so it keeps their order and the median is the same payment,
    or the mean of the same two; equal to one ulp), else from ``_mixed_rate_medians``.
    One median per sender or beneficiary instead of two: each costs ~15% of the step."""
    return (
        f"CASE WHEN {totals}.fx_lo = {totals}.fx_hi THEN {totals}.{median} * {totals}.fx_lo "
        "ELSE mixed.median_ref END"
    )


def _mixed_rate_medians(d: Dialect, key: str, totals: str) -> str:
    """LEFT JOIN of the median in the reference currency of the ``key``s (senders or
    beneficiaries) in ``totals`` whose payments convert at several rates, computed over
    their payments alone (few: most pay or receive in one currency)."""
    return f"""LEFT JOIN (
  SELECT {key}, {d.median("amount_ref")} AS median_ref FROM {CORRIDOR_PAYMENTS}
  WHERE {key} IN (SELECT {key} FROM {totals} WHERE fx_lo <> fx_hi) GROUP BY {key}
) mixed ON mixed.{key} = {totals}.{key}"""


def _customer_activity_stage(pack: Pack, d: Dialect) -> list[Step]:
    """``customer_activity``: per corridor sender, aggregates of its payments, pairs,
    sequence and pay runs, and its payroll pattern."""
    activity = _step(
        "customer_activity",
        f"""
WITH a AS (SELECT sender_id,
  count(*) AS corridor_payments,
  sum(amount_ref) AS corridor_total_ref,
  max(amount_ref) AS corridor_max_ref,
  avg(CAST(low_value AS DOUBLE)) AS low_value_share,
  avg(CAST(night AS DOUBLE)) AS night_share,
  avg(unnamed_w) AS unnamed_share,
  CAST(sum(cover) AS BIGINT) AS cover_word_payments,
  avg(CAST(cover AS DOUBLE)) AS cover_word_share,
  avg(CAST(office AS DOUBLE)) AS office_share,
  avg(CASE WHEN abs(amount - 10.0 * round(amount / 10.0)) < 0.005 THEN 1.0 ELSE 0.0 END)
    AS round_share,
  (max(ts_s) - min(ts_s)) / {DAY} AS active_days,
  avg(channel_w) AS channel_risk,
  {d.median("amount")} AS median_amount, min(fx_rate) AS fx_lo, max(fx_rate) AS fx_hi,
  -- In whole cents: a parallel sum of doubles depends on the order rows arrive in,
  -- and the explanations state this total, so two runs must give the same one.
  CAST(sum(CAST(round(amount * 100) AS BIGINT)) AS DOUBLE) / 100 AS corridor_total,
  {_decoded_min("cur_i", _currencies(pack), d)} AS currency,
  min(receiver_country) AS countries,
  {_decoded_min("ch_i", _channels(pack), d)} AS main_channel,
  min(ts) AS first_seen, max(ts) AS last_seen, min(ts_s) AS first_s, max(ts_s) AS last_s
FROM {CORRIDOR_PAYMENTS} GROUP BY sender_id)
SELECT z.*, {context.payroll_pattern_sql("z.")} AS payroll_pattern
FROM (
SELECT a.sender_id, a.corridor_payments, b.corridor_beneficiaries,
  b.unrelated_beneficiaries, b.female_beneficiaries, b.related_share, b.household_share,
  b.household_members, b.alias_share,
  a.corridor_total_ref, {_median_ref("a", "median_amount")} AS corridor_median_ref,
  a.corridor_max_ref, a.low_value_share,
  a.night_share, a.unnamed_share, a.cover_word_payments, a.cover_word_share, q.amount_trend,
  q.gap_trend,
  q.gap_cv, a.office_share, a.round_share,
  q.run_payments / CAST(a.corridor_payments AS DOUBLE) AS run_share,
  a.active_days, a.channel_risk, q.first_amounts, q.last_amounts, a.median_amount,
  a.corridor_total, a.currency, a.countries, a.main_channel,
  a.first_seen, a.last_seen, a.first_s, a.last_s
FROM a
JOIN (SELECT sender_id, count(*) AS corridor_beneficiaries,
    sum(n * related) / CAST(sum(n) AS DOUBLE) AS related_share,
    sum(n * household) / CAST(sum(n) AS DOUBLE) AS household_share,
    sum(n * alias) / CAST(sum(n) AS DOUBLE) AS alias_share,
    count(CASE WHEN household = 1 THEN 1 END) AS household_members,
    count(CASE WHEN related = 0 THEN 1 END) AS unrelated_beneficiaries,
    count(CASE WHEN related = 0 AND female = 1 THEN 1 END) AS female_beneficiaries
  FROM pair GROUP BY sender_id) b ON b.sender_id = a.sender_id
JOIN sender_sequence q ON q.sender_id = a.sender_id
{_mixed_rate_medians(d, "sender_id", "a")}
) z
""",
        CORRIDOR_PAYMENTS,
        "pair",
        "sender_sequence",
        materialize=True,
    )
    return [activity]


def _cover_word_stage(pinned: bool) -> list[Step]:
    """Cover words in context: how specific each word is to senders paying a hub
    (``word_spec``, or the pinned one), and per sender (``sender_cover``)."""
    words = _step("sender_words", context.sender_words_sql(), CORRIDOR_PAYMENTS, materialize=True)
    if pinned:
        spec = _step("word_spec", "SELECT * FROM pinned_word_spec", "pinned_word_spec")
        return [
            words,
            spec,
            _step("sender_cover", context.sender_cover_sql(), "sender_words", "word_spec"),
        ]
    return [
        words,
        _step(
            "hub_payers", context.hub_payers_sql(), "pair", "customer_activity", materialize=True
        ),
        _step(
            "word_spec",
            context.word_spec_sql(),
            "sender_words",
            "hub_payers",
            "customer_activity",
            materialize=True,
        ),
        _step("sender_cover", context.sender_cover_sql(), "sender_words", "word_spec"),
    ]


def _purchase_stage(pack: Pack, d: Dialect, pinned: bool) -> list[Step]:
    """``related_purchases`` (listed merchant codes near a corridor payment),
    ``purchase_baseline`` (how many of them the sender's own rate would put there) and
    ``corridor_card_spend`` (spending in person in a corridor country: travel)."""
    mcc_rows = _mcc_rows(pack)
    window = pack.related_purchase_days * DAY
    # A purchase near any corridor payment of its sender is kept once: a semi join, not
    # the (purchase, payment) pairs made distinct again (~30% of the step at 10M, 15%).
    flagged = _step(
        "flagged_purchases",
        f"""
SELECT t.txn_id, t.sender_id, m.kind, {d.epoch_seconds("t.timestamp")} AS ts_s, t.timestamp AS ts
FROM {RELEVANT} t JOIN {d.values(mcc_rows, ["mcc", "kind"], "m")} ON m.mcc = t.merchant_category
WHERE t.channel = 'card'
""",
        RELEVANT,
        materialize=True,  # read by related_purchases and purchase_baseline
    )
    related = _step(
        "related_purchases",
        f"""
SELECT DISTINCT q.txn_id, q.sender_id, q.kind, q.ts
FROM flagged_purchases q {d.semi_join} {CORRIDOR_PAYMENTS} p ON p.sender_id = q.sender_id
  AND p.ts_s BETWEEN q.ts_s - {window} AND q.ts_s + {window}
""",
        "flagged_purchases",
        CORRIDOR_PAYMENTS,
        materialize=True,
    )
    corridor = ", ".join(d.string(c) for c in pack.corridor_countries)
    spend = ", ".join(d.string(c) for c in SPEND_CHANNELS)
    period = (
        _step("observed_period", "SELECT d0, d1 FROM pinned_period", "pinned_period")
        if pinned
        else _step(
            "observed_period",
            """
SELECT CAST(min(lo) AS DOUBLE) AS d0, CAST(max(hi) AS DOUBLE) AS d1
FROM (SELECT min(ts_s) AS lo, max(ts_s) AS hi FROM flagged_purchases
      UNION ALL SELECT min(first_s), max(last_s) FROM sender_sequence) u
""",
            "flagged_purchases",
            "sender_sequence",
        )
    )
    baseline = _step(
        "purchase_baseline",
        _purchase_baseline_sql(window),
        "flagged_purchases",
        "related_purchases",
        "sender_sequence",
        "observed_period",
    )
    travel = _step(
        "corridor_card_spend",
        f"""
SELECT t.sender_id, count(*) AS corridor_card_spend
FROM {RELEVANT} t
WHERE t.channel IN ({spend}) AND t.receiver_country IN ({corridor})
  AND t.receiver_country <> t.sender_country
GROUP BY t.sender_id
""",
        RELEVANT,
    )
    return [flagged, related, period, baseline, travel]


# The weight of an airline purchase against one VPN/software or webcam/streaming purchase.
FLIGHT_WEIGHT = 2


def _purchase_baseline_sql(window: float) -> str:
    """Per sender with listed purchases: ``window_share``, the share of the observed
    period within ``window`` seconds of one of its corridor payments, and the weighted
    count of its listed purchases near payments and in all (airlines ``FLIGHT_WEIGHT``).

    A customer who buys software or streaming every month and pays the corridor every
    few weeks has most purchases near a payment by chance: ``window_share`` of them are
    expected there. Only purchases beyond that carry evidence."""
    weighted = f"CASE WHEN kind = 'flight' THEN {FLIGHT_WEIGHT} ELSE 1 END"
    # The union of the windows around time-ordered payments (sender_sequence.union_s,
    # computed by the sequence window: sorting the payments once serves both), cut to
    # the period (observed_period: over every sender's, or pinned).
    return f"""
SELECT s.sender_id, n.near_weighted, n.all_weighted,
  least(1.0, greatest(0.0, (s.union_s - greatest(0.0, sp.d0 - (s.first_s - {window}))
    - greatest(0.0, s.last_s + {window} - sp.d1)) / greatest(sp.d1 - sp.d0, 1.0))) AS window_share
FROM sender_sequence s
JOIN (SELECT q.sender_id,
    sum(CASE WHEN r.txn_id IS NULL THEN 0 ELSE {weighted} END) AS near_weighted,
    sum({weighted}) AS all_weighted
  FROM flagged_purchases q LEFT JOIN (SELECT DISTINCT txn_id FROM related_purchases) r
    ON r.txn_id = q.txn_id
  WHERE q.sender_id IN (SELECT sender_id FROM related_purchases)
  GROUP BY q.sender_id) n ON n.sender_id = s.sender_id
CROSS JOIN observed_period sp
"""


def _offender_stage() -> list[Step]:
    """``offender_links``: known offenders, and scored customers whose folded name and
    birth year match another account's that is a known offender's."""
    # Only scored customers (corridor payers) and known offenders take part. Their folded
    # names come from folded_names: every corridor payer's name and every offender's is
    # there.
    candidates = _step(
        "offender_candidates",
        """
SELECT c.customer_id, coalesce(c.known_offender, false) AS ko, c.gender, c.birth_year,
  coalesce(k.k, '') AS nk
FROM customers c LEFT JOIN folded_names k ON k.nm = c.name
LEFT JOIN customer_activity s ON s.sender_id = c.customer_id
WHERE c.known_offender OR s.sender_id IS NOT NULL
""",
        "customers",
        "folded_names",
        "customer_activity",
    )
    links = _step(
        "offender_links",
        """
SELECT a.customer_id,
  max(CASE WHEN a.ko THEN 1 ELSE 0 END) AS known_offender,
  max(CASE WHEN b.customer_id IS NOT NULL THEN 1 ELSE 0 END) AS linked_offender_account,
  max(CASE WHEN a.gender = 'M' THEN 1 ELSE 0 END) AS sender_male,
  max(a.birth_year) AS birth_year
FROM offender_candidates a LEFT JOIN offender_candidates b ON b.ko AND a.nk <> ''
  AND b.nk = a.nk AND b.birth_year = a.birth_year AND b.customer_id <> a.customer_id
GROUP BY a.customer_id
""",
        "offender_candidates",
    )
    return [candidates, links]


def _customer_base_stage(pack: Pack, d: Dialect, pinned: bool) -> list[Step]:
    """``customer_features`` (every customer feature but the network's), peer ranks,
    the local typologies' strengths and ``customer_base_scores`` (the first-stage score
    the network starts from)."""
    features = _step(
        "customer_features",
        f"""
SELECT c.*, 1.0 - c.related_share AS unrelated_share,
  c.unrelated_beneficiaries - (c.household_members - least(c.household_members, 1))
    * (1.0 - {context.ramp("c.run_share", *context.SPLIT_RUNS)}) AS unrelated_families,
  c.corridor_payments * 30.0 / greatest(c.active_days, 30.0) AS payments_per_30d,
  c.corridor_payments * 30.0 / greatest(c.active_days, 30.0) * (1.0 - c.payroll_pattern)
    * {context.ramp("c.gap_cv", 0.3, 0.7)} AS irregular_rate,
  coalesce(sc.cover_specific_payments, 0.0) / c.corridor_payments AS cover_specific_share,
  sc.top_cover_word, coalesce(sc.top_cover_word_spec, 0.0) AS top_cover_word_spec,
  coalesce(rp.vpn, 0) AS vpn_purchases, coalesce(rp.webcam, 0) AS webcam_purchases,
  coalesce(rp.flight, 0) AS corridor_flights,
  coalesce(pb.all_weighted * pb.window_share, 0.0) AS related_purchases_expected,
  coalesce(pb.near_weighted - pb.all_weighted * pb.window_share, 0.0)
    AS related_purchase_excess,
  coalesce(tr.corridor_card_spend, 0) AS corridor_card_spend,
  coalesce(o.known_offender, 0) AS known_offender,
  coalesce(o.linked_offender_account, 0) AS linked_offender_account,
  coalesce(o.sender_male, 0) AS sender_male,
  CASE WHEN o.birth_year IS NULL THEN 0
    ELSE year(c.last_seen) - o.birth_year END AS sender_age
FROM customer_activity c
LEFT JOIN sender_cover sc ON sc.sender_id = c.sender_id
LEFT JOIN (SELECT sender_id,
    count(DISTINCT CASE WHEN kind = 'vpn' THEN txn_id END) AS vpn,
    count(DISTINCT CASE WHEN kind = 'webcam' THEN txn_id END) AS webcam,
    count(DISTINCT CASE WHEN kind = 'flight' THEN txn_id END) AS flight
  FROM related_purchases GROUP BY sender_id) rp ON rp.sender_id = c.sender_id
LEFT JOIN purchase_baseline pb ON pb.sender_id = c.sender_id
LEFT JOIN corridor_card_spend tr ON tr.sender_id = c.sender_id
LEFT JOIN offender_links o ON o.customer_id = c.sender_id
WHERE c.corridor_payments >= {pack.min_corridor_payments}
   OR coalesce(o.known_offender, 0) + coalesce(o.linked_offender_account, 0) > 0
""",
        "customer_activity",
        "sender_cover",
        "related_purchases",
        "purchase_baseline",
        "corridor_card_spend",
        "offender_links",
        materialize=True,  # the peer ranks read it twice
    )
    local = _strengths(pack, "customer", d, network=False)
    cols = ", ".join(f"{sql} AS {name}" for name, sql in local)
    return [
        features,
        _step(
            "customer_peer_ranks",
            context.pinned_peer_sql("customer_features", "pinned_peers"),
            "customer_features",
            "pinned_peers",
        )
        if pinned
        else _step(
            "customer_peer_ranks", context.peer_sql(d, "customer_features"), "customer_features"
        ),
        _step(
            "customer_local_strengths",
            f"SELECT f.*, {cols} FROM customer_peer_ranks f",
            "customer_peer_ranks",
        ),
        _step(
            "customer_base_scores",
            f"SELECT *, {_score(pack, 'customer', network=False)} AS base_score "
            "FROM customer_local_strengths",
            "customer_local_strengths",
            materialize=True,
        ),
    ]


def _customer_final_stage(pack: Pack, d: Dialect) -> list[Step]:
    """``customer_scores``: the first-stage row with the network's evidence, the network
    typologies' strengths and the final raw score."""
    local = dict(_strengths(pack, "customer", d, network=False))
    net = [(n, sql) for n, sql in _strengths(pack, "customer", d, network=True) if n not in local]
    net_cols = "".join(f", {sql} AS {name}" for name, sql in net)
    return [
        _step(
            "customer_network_features",
            """
SELECT b.*, coalesce(n.network_evidence, 0.0) AS network_evidence,
  coalesce(n.hub_other_senders, 0) AS hub_other_senders,
  coalesce(n.hub_suspect_senders, 0) AS hub_suspect_senders,
  coalesce(n.hub_accounts, 1) AS hub_accounts
FROM customer_base_scores b LEFT JOIN customer_network n ON n.sender_id = b.sender_id
""",
            "customer_base_scores",
            "customer_network",
        ),
        _step(
            "customer_strengths",
            f"SELECT f.*{net_cols} FROM customer_network_features f",
            "customer_network_features",
        ),
        _step(
            "customer_scores",
            f"SELECT *, {_score(pack, 'customer', network=True)} AS raw_score "
            "FROM customer_strengths",
            "customer_strengths",
            materialize=True,
        ),
    ]


def _beneficiary_stage(pack: Pack, d: Dialect) -> list[Step]:
    """``beneficiary_scores``: beneficiaries paid by two or more senders, by a customer
    whose first-stage score passed the propagation threshold, by one whose evidence
    through the graph did (``strongest_sender``), or, without family tie, by a customer
    who is alerted himself (final score at the alert threshold, ``_alerted_sender_raw``):
    a careful payer's facilitator is then scored even when no sender of hers crosses
    the propagation threshold (the scan caps her at that payer's score)."""
    # Sender counts come from pairs (one row per sender and beneficiary), and only those
    # beneficiaries' payments are aggregated: most have a single sender.
    # A sole sender is tied to her without family name, organisation or household; a
    # household member counts when the sender splits its payments over the household's
    # accounts on the same days (``run_share``, ``context.SPLIT_RUNS``: a split payment,
    # not support of a family paid on separate occasions).
    tie_free = (
        "r.related = 0 AND r.org = 0 AND (r.household = 0 "
        f"OR coalesce(f.run_share, 0.0) >= {context.SPLIT_RUNS[1]!r})"
    )
    senders = _step(
        "beneficiary_senders",
        f"""
SELECT r.receiver_id, count(*) AS inbound_senders,
  count(CASE WHEN r.related = 0 THEN 1 END) AS unrelated_senders,
  count(DISTINCT r.sender_country) AS sender_countries,
  max(r.org) AS organisation,
  CASE WHEN count(*) = 1 THEN max(r.sender_id) END AS sole_sender,
  CASE WHEN count(*) = 1 THEN max(CASE WHEN {tie_free}
    THEN {context.ramp("r.n", 0.5, 2.0)} ELSE 0.0 END) END AS sole_sender_tie
FROM pair r LEFT JOIN customer_base_scores b ON b.sender_id = r.sender_id
LEFT JOIN customer_scores f ON f.sender_id = r.sender_id
LEFT JOIN beneficiary_network n ON n.receiver_id = r.receiver_id
GROUP BY r.receiver_id
HAVING count(*) >= 2
  OR count(CASE WHEN r.related = 0 AND b.base_score >= {pack.propagation_threshold} THEN 1 END) > 0
  OR max(coalesce(n.strongest_sender, 0.0)) >= {pack.propagation_threshold}
  OR count(CASE WHEN {tie_free}
    AND f.raw_score >= {_alerted_sender_raw(pack)!r} THEN 1 END) > 0
""",
        "pair",
        "customer_base_scores",
        "customer_scores",
        "beneficiary_network",
        # beneficiary_features reads it twice (which payments, and the join): as a view
        # its joins ran twice (~0.08 s of CPU at 10M rows, 15% corridor payments)
        materialize=True,
    )
    spec = "CASE WHEN p.cover = 1 THEN coalesce(ws.spec, 1.0) ELSE 0.0 END"
    features = _step(
        "beneficiary_features",
        f"""
WITH a AS (SELECT p.receiver_id,
  count(*) AS inbound_payments,
  avg(CAST(p.low_value AS DOUBLE)) AS inbound_low_value_share,
  avg(CAST(p.cover AS DOUBLE)) AS inbound_cover_word_share,
  avg({spec}) AS inbound_specific_cover_share,
  avg(CAST(p.night AS DOUBLE)) AS inbound_night_share,
  avg(p.unnamed_w) AS inbound_unnamed_share,
  {d.median("p.amount")} AS inbound_median, min(p.fx_rate) AS fx_lo, max(p.fx_rate) AS fx_hi,
  {_decoded_min("p.cur_i", _currencies(pack), d)} AS currency,
  min(p.receiver_country) AS countries,
  min(p.ts) AS first_seen, max(p.ts) AS last_seen
FROM {CORRIDOR_PAYMENTS} p LEFT JOIN word_spec ws ON ws.cover_word = p.cover_word
WHERE p.receiver_id IN (SELECT receiver_id FROM beneficiary_senders)
GROUP BY p.receiver_id)
SELECT a.receiver_id, a.inbound_payments, b.inbound_senders, b.unrelated_senders,
  a.inbound_low_value_share, a.inbound_cover_word_share, a.inbound_specific_cover_share,
  a.inbound_night_share, a.inbound_unnamed_share,
  {_median_ref("a", "inbound_median")} AS inbound_median_ref, a.inbound_median,
  b.sender_countries, b.sole_sender, coalesce(b.sole_sender_tie, 0.0) AS sole_sender_tie,
  b.organisation, coalesce(n.alerted_senders, 0) AS alerted_senders,
  coalesce(n.weighted_senders, 0.0) AS weighted_senders,
  coalesce(n.sender_suspicion, 0.0) AS sender_suspicion,
  coalesce(n.person_accounts, 1) AS person_accounts,
  a.currency, a.countries, a.first_seen, a.last_seen
FROM a
JOIN beneficiary_senders b ON b.receiver_id = a.receiver_id
{_mixed_rate_medians(d, "receiver_id", "a")}
LEFT JOIN beneficiary_network n ON n.receiver_id = a.receiver_id
""",
        CORRIDOR_PAYMENTS,
        "word_spec",
        "beneficiary_senders",
        "beneficiary_network",
    )
    bcols = "".join(
        f", {sql} AS {name}" for name, sql in _strengths(pack, "beneficiary", d, network=True)
    )
    return [
        senders,
        features,
        _step(
            "beneficiary_strengths",
            f"SELECT f.*{bcols} FROM beneficiary_features f",
            "beneficiary_features",
        ),
        _step(
            "beneficiary_scores",
            f"SELECT *, {_score(pack, 'beneficiary', network=True)} AS raw_score "
            "FROM beneficiary_strengths",
            "beneficiary_strengths",
            materialize=True,
        ),
    ]


def _alerted_sender_raw(pack: Pack) -> float:
    """The raw customer score at which the pack's calibration reaches its alert
    threshold (a finite number: SQL has no infinity literal)."""
    return min(pack.calibration.customer.first_raw_at(pack.alert_threshold), 1e9)


def fold_free(word: str) -> str:
    """A cover word as a regex alternative (letters and spaces only)."""
    cleaned = "".join(ch for ch in word.lower() if ch.isalpha() or ch == " ").strip()
    return cleaned.replace(" ", "[^a-z]+") or "-"


def compile_evidence(d: Dialect) -> Pipeline:
    """Evidence rows for subjects in the registered ``alerted(subject_type, subject_id)``,
    read from the scan's ``payments_with_ties`` and ``related_purchases`` (run after it
    on the same engine).

    Unrelated, night-time, cover-word and low-value payments come first, then the rest,
    then related purchases; ties by time and id so every engine picks the same rows.
    """
    p = Pipeline(("alerted", "payments_with_ties", "related_purchases"))
    # Each subject is numbered first: the window sorting the candidate rows (~380,000
    # at 10M transactions, 15% corridor payments) then partitions by one integer
    # instead of two strings (~20% of this step's CPU).
    p.add(
        "evidence_rows",
        f"""
WITH a AS (
  SELECT subject_type, subject_id,
    row_number() OVER (ORDER BY subject_type, subject_id) AS subject_n
  FROM alerted
)
SELECT subject_type, subject_id, txn_id, ts FROM (
  SELECT subject_type, subject_id, txn_id, ts, row_number() OVER (
    PARTITION BY subject_n ORDER BY prio DESC, ts, txn_id) AS k
  FROM (
    SELECT a.subject_n, a.subject_type, a.subject_id, s.txn_id, s.ts,
      (1 - s.related) * 8 + s.night * 2 + s.cover * 2 + s.low_value AS prio
    FROM a JOIN payments_with_ties s
      ON a.subject_type = 'customer' AND s.sender_id = a.subject_id
    UNION ALL
    SELECT a.subject_n, a.subject_type, a.subject_id, s.txn_id, s.ts,
      (1 - s.related) * 8 + s.night * 2 + s.cover * 2 + s.low_value AS prio
    FROM a JOIN payments_with_ties s
      ON a.subject_type = 'beneficiary' AND s.receiver_id = a.subject_id
    UNION ALL
    SELECT a.subject_n, a.subject_type, a.subject_id, q.txn_id, q.ts, 5 AS prio
    FROM a JOIN related_purchases q
      ON a.subject_type = 'customer' AND q.sender_id = a.subject_id
  ) u
) r WHERE k <= {MAX_EVIDENCE}
""",
        inputs=("alerted", "payments_with_ties", "related_purchases"),
    )
    return p
