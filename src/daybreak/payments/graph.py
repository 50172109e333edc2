"""Evidence that travels through the payer-beneficiary graph, as compiled SQL steps.

The graph is bipartite: customers on one side, corridor beneficiaries on the other, one
edge per (sender, beneficiary) pair *without* a family tie by name
(``payments.names``) and to a person (a beneficiary whose name reads as an
organisation, e.g. a charity or a supplier, has no edge). Each edge carries a weight in
[0, 1], how unusual the tie is:

    w = (1 - payroll_pattern of the sender)          # a firm's contractors: no edge
        * (0.25 + 0.75 * low-value share of the pair)  # small sums (AUSTRAC, AMLC)
        * ramp(payments on the pair, 0.5, 2)           # a one-off payment counts a third
        / kin                                          # relatives abroad count once
    v = (1 - payroll_pattern of the sender) * (0.5 + 0.5 * low-value share of the pair)
    u = (1 - payroll_pattern of the sender) * ramp(payments on the pair, 0.5, 2)

``w`` weighs a tie as structure (how many unusual senders a beneficiary has); ``kin``
is how many of the beneficiary's senders share a name token with this one (itself
included), so a couple or a family abroad paying one in-law counts as one sender, not
several unrelated ones. ``v`` is how much of a sender's own suspicion the tie carries
(one payment from a payer with strong signs is enough to implicate its beneficiary).
``u`` is how firmly the sender is tied to the beneficiary for the evidence it
*receives* from her: repeated payments, not payroll, but *not* the sender's own amounts
(a careful payer sends larger sums; what the sender looks like is scored locally, what
the hub looks like travels to every unrelated sender who pays her).

Suspicion starts at each customer's first-stage score ``x0`` (the local typologies) and
moves in a fixed number of rounds. In each round a beneficiary's evidence *for one of
its senders* is computed without that sender's own contribution (leave one out, so a
payer never raises itself through its own beneficiary):

    others_b  = 1 - prod over the other senders s' of (1 - 0.95 * v_s' * x_s')
    structure = ramp(sum of the other senders' weights, STRUCT_LO, STRUCT_HI)
    n_s       = max over the sender's edges of  u_s * max(others_b, structure)
    x_s       = 1 - (1 - x0_s) * (1 - n_s)

``structure`` is indicator 2 of payments-indicators.md (many unrelated senders -> one
beneficiary; AUSTRAC): a careful payer whose only beneficiary is paid by several
unrelated foreign senders gains evidence even when none of them shows another sign.
``others_b`` carries the other senders' own evidence (a noisy-OR). The beneficiary side
reads the same aggregates: ``weighted_senders`` (sum of edge weights) and
``sender_suspicion`` (noisy-OR of the final ``x`` of all its senders), and
``strongest_sender`` (the largest final ``x`` among them): a beneficiary is scored when
that reaches the propagation threshold, so the only beneficiary of a payer whose
evidence came through the graph (a careful payer) is scored like that of a payer with
strong signs of its own.
"""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.payments.context import ramp

STRUCT_LO, STRUCT_HI = 0.8, 2.0
DAMP = 0.95  # keeps 1 - DAMP * w * x > 0 for the logarithm
MIN_EDGE = 0.01


def edge_weight_sql() -> str:
    """The structural edge weight over ``pair r`` and ``customer_activity c`` (module
    docstring)."""
    return (
        "(1.0 - coalesce(c.payroll_pattern, 0.0)) * (0.25 + 0.75 * r.low_value_share)"
        f" * {ramp('r.n', 0.5, 2.0)}"
    )


def tie_weight_sql() -> str:
    """How firmly a sender is tied to a beneficiary, for the evidence it *receives* from
    her (module docstring): repeated, not payroll. Not the sender's own amounts: those
    are the sender's signs, scored locally, and a careful payer sends larger sums."""
    return f"(1.0 - coalesce(c.payroll_pattern, 0.0)) * {ramp('r.n', 0.5, 2.0)}"


def carry_weight_sql() -> str:
    """How much of a sender's suspicion its tie carries (module docstring)."""
    return "(1.0 - coalesce(c.payroll_pattern, 0.0)) * (0.5 + 0.5 * r.low_value_share)"


def add_network_steps(
    p: Pipeline,
    d: Dialect,
    iterations: int,
    threshold: float,
    *,
    max_accounts: int,
    pinned: bool = False,
) -> None:
    """Steps ending in ``customer_network`` (per customer: ``network_evidence``,
    ``hub_other_senders``, ``hub_suspect_senders``) and ``beneficiary_network`` (per
    beneficiary: ``weighted_senders``, ``sender_suspicion``, ``alerted_senders``,
    ``strongest_sender``, the figures of the person behind the account). Reads
    ``pair``, ``pair_ties``, ``customer_activity`` and ``customer_base_scores``;
    ``max_accounts``: the most accounts one person is read to hold (``_entities_sql``);
    ``pinned``: the accounts read as one person's are ``pinned_entities`` (a scan of
    part of the rows resolves them as the scan of the world did)."""
    if pinned:
        entities = "SELECT receiver_id, entity_id, accounts FROM pinned_entities"
        p.add("beneficiary_entities", entities, inputs=("pinned_entities",))
    else:
        p.add(
            "beneficiary_entities",
            _entities_sql(d, max_accounts),
            inputs=("pair_ties",),
            materialize=True,
        )
    p.add(
        "network_ties",
        f"""
SELECT * FROM (
  SELECT r.sender_id, r.receiver_id, r.sk, r.accounts, {edge_weight_sql()} AS w,
    {carry_weight_sql()} AS v, {tie_weight_sql()} AS u, coalesce(b.base_score, 0.0) AS x0
  FROM ({_entity_pairs_sql()}) r
  LEFT JOIN customer_activity c ON c.sender_id = r.sender_id
  LEFT JOIN customer_base_scores b ON b.sender_id = r.sender_id
) e
WHERE v >= {MIN_EDGE!r}
""",
        inputs=("pair", "beneficiary_entities", "customer_activity", "customer_base_scores"),
        materialize=True,
    )
    p.add("network_kin", _kin_sql(d), inputs=("network_ties",))
    p.add(
        "network_edges_0",
        f"""
SELECT e.sender_id, e.receiver_id, e.w / k.kin AS w, e.v, e.u, e.x0, e.x0 AS x,
  CASE WHEN e.x0 >= {threshold!r} THEN 1 ELSE 0 END AS suspect
FROM network_ties e JOIN network_kin k
  ON k.sender_id = e.sender_id AND k.receiver_id = e.receiver_id
""",
        inputs=("network_ties", "network_kin"),
        materialize=True,
    )
    for i in range(1, iterations + 1):
        prev = f"network_edges_{i - 1}"
        p.add(f"network_hubs_{i}", _beneficiary_aggregate(prev), inputs=(prev,), materialize=True)
        p.add(
            f"network_evidence_{i}",
            f"""
SELECT e.sender_id,
  max(e.u * greatest({_others_b("a", "e")}, {ramp("a.wsum - e.w", STRUCT_LO, STRUCT_HI)}))
    AS network_evidence,
  max(a.k - 1) AS hub_other_senders,
  max(a.suspects - e.suspect) AS hub_suspect_senders
FROM {prev} e JOIN network_hubs_{i} a ON a.receiver_id = e.receiver_id
GROUP BY e.sender_id
""",
            inputs=(prev, f"network_hubs_{i}"),
        )
        p.add(
            f"network_edges_{i}",
            f"""
SELECT e.sender_id, e.receiver_id, e.w, e.v, e.u, e.x0, e.suspect,
  1.0 - (1.0 - e.x0) * (1.0 - coalesce(c.network_evidence, 0.0)) AS x
FROM {prev} e LEFT JOIN network_evidence_{i} c ON c.sender_id = e.sender_id
""",
            inputs=(prev, f"network_evidence_{i}"),
            materialize=True,
        )
    last_evidence = f"network_evidence_{iterations}"
    p.add(
        "customer_network",
        f"""
SELECT n.*, coalesce(a.hub_accounts, 1) AS hub_accounts FROM {last_evidence} n
LEFT JOIN (SELECT sender_id, max(accounts) AS hub_accounts FROM network_ties GROUP BY sender_id) a
  ON a.sender_id = n.sender_id
""",
        inputs=(last_evidence, "network_ties"),
        materialize=True,
    )
    last = f"network_edges_{iterations}"
    p.add(
        "beneficiary_network",
        f"""
SELECT coalesce(en.receiver_id, a.receiver_id) AS receiver_id, a.wsum AS weighted_senders,
  greatest(0.0, 1.0 - exp(a.lsum)) AS sender_suspicion, a.suspects AS alerted_senders,
  m.strongest_sender, coalesce(en.accounts, 1) AS person_accounts
FROM ({_beneficiary_aggregate(last)}) a
JOIN (SELECT receiver_id, max(x) AS strongest_sender FROM {last} GROUP BY receiver_id) m
  ON m.receiver_id = a.receiver_id
LEFT JOIN beneficiary_entities en ON en.entity_id = a.receiver_id
""",
        inputs=(last, "beneficiary_entities"),
        materialize=True,
    )


def _entities_sql(d: Dialect, max_accounts: int) -> str:
    """``beneficiary_entities``: accounts that are one person's (receiver_id ->
    entity_id, the smallest of the person's account ids). Accounts are one person when
    their folded names are equal and carry a given name and two family names (a
    middle or maternal family name: "Lorna Lopez Ocampo", "Rosa Garcia Flores"), in
    one country, and no more than ``max_accounts`` accounts carry that name, each at
    another provider (a bank account, a wallet and a crypto address; several accounts
    of one provider under one name are more likely namesakes)."""
    stem = d.regexp_extract("receiver_id", "^([^:]+):")
    return f"""
WITH acc AS (
  SELECT receiver_id, max(concat(given, ' ', family)) AS k, min(receiver_country) AS rc
  FROM pair_ties
  WHERE org = 0 AND given <> '' AND family LIKE '% %'
  GROUP BY receiver_id
), grp AS (
  SELECT k, rc, count(*) AS accounts, count(DISTINCT coalesce(stem, receiver_id)) AS stems,
    min(receiver_id) AS entity_id
  FROM (SELECT receiver_id, k, rc, {stem} AS stem FROM acc) s
  GROUP BY k, rc
)
SELECT a.receiver_id, g.entity_id, g.accounts
FROM acc a JOIN grp g ON g.k = a.k AND g.rc = a.rc
WHERE g.accounts BETWEEN 2 AND {max_accounts:d} AND g.stems = g.accounts
"""


def _entity_pairs_sql() -> str:
    """``pair`` rows without family tie to a person, one per sender and beneficiary
    *entity* (``beneficiary_entities``; an account of no entity is its own)."""
    return """
SELECT p.sender_id, coalesce(m.entity_id, p.receiver_id) AS receiver_id, max(p.sk) AS sk,
  sum(p.n) AS n, max(coalesce(m.accounts, 1)) AS accounts,
  CASE WHEN count(*) = 1 THEN max(p.low_value_share)
    ELSE sum(p.n * p.low_value_share) / sum(p.n) END AS low_value_share
FROM pair p LEFT JOIN beneficiary_entities m ON m.receiver_id = p.receiver_id
WHERE p.related = 0 AND p.org = 0
GROUP BY p.sender_id, coalesce(m.entity_id, p.receiver_id)
"""


def _kin_sql(d: Dialect) -> str:
    """Per edge, ``kin``: how many senders of its beneficiary (itself included) share a
    name token with its sender. Relatives abroad who all pay one person (a couple, their
    in-laws) are one family, not several unrelated senders (indicator 2 asks for senders
    without family ties), so each of their edges counts 1/kin toward the structure."""
    overlap = d.arrays_overlap(d.split_spaces("a.sk"), d.split_spaces("b.sk"))
    return f"""
SELECT a.sender_id, a.receiver_id,
  count(CASE WHEN a.sender_id = b.sender_id OR (a.sk <> '' AND b.sk <> '' AND {overlap})
    THEN 1 END) AS kin
FROM network_ties a JOIN network_ties b ON b.receiver_id = a.receiver_id
GROUP BY a.sender_id, a.receiver_id
"""


def _beneficiary_aggregate(edges: str) -> str:
    return f"""
SELECT receiver_id, sum(w) AS wsum, sum(ln(1.0 - {DAMP!r} * v * x)) AS lsum,
  count(*) AS k, sum(suspect) AS suspects
FROM {edges} GROUP BY receiver_id
"""


def _others_b(a: str, e: str) -> str:
    """Noisy-OR of the other senders' evidence at the beneficiary (leave one out)."""
    own = f"ln(1.0 - {DAMP!r} * {e}.v * {e}.x)"
    return f"greatest(0.0, 1.0 - exp({a}.lsum - {own}))"
