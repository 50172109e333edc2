"""The network rounds and a customer's final score in Python, over cached first stages:
the second implementation of ``payments.graph.add_network_steps`` and
``compiler._customer_final_stage`` for one sender (module docstring of
:mod:`daybreak.payments.graph` for the formulas).

A sender's evidence after ``I`` rounds reads the first-stage scores of senders up to
``I`` steps away (sender -> its beneficiaries -> their other senders). Those are kept
per customer (:class:`daybreak.payments.realtime_features.FirstStage`) and stay valid
until that customer pays, so scoring a payment recomputes the payer's first stage and
runs the rounds here over the senders within reach, without SQL. Kept equal to the SQL
by ``tests/payments/test_realtime_features.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daybreak.payments.compiler import _alerted_sender_raw, strength_column
from daybreak.payments.config import Pack
from daybreak.payments.context import SPLIT_RUNS, TIE_PAYMENTS
from daybreak.payments.graph import DAMP, MIN_EDGE, STRUCT_HI, STRUCT_LO
from daybreak.payments.realtime_features import (
    FirstStage,
    Pair,
    _blank,
    _median,
    beneficiary_rule,
    customer_rule,
    evaluate_rule,
    ramp,
)
from daybreak.payments.scan import calibrate, suspect_score


@dataclass(frozen=True)
class Edge:
    """One row of ``network_edges_0`` (``w`` already divided by ``kin``)."""

    sender_id: str
    receiver_id: str
    w: float
    v: float
    u: float
    x0: float
    suspect: int


Tie = tuple[str, float, float, float, float, frozenset[str]]


@dataclass(frozen=True)
class Entities:
    """``beneficiary_entities`` (pinned with the context): the accounts the scan reads
    as one person's (``payments.graph``), by account and by person."""

    entity_of: Mapping[str, str] = field(default_factory=dict)
    accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]]) -> Entities:
        entity_of = {str(r["receiver_id"]): str(r["entity_id"]) for r in rows}
        accounts: dict[str, list[str]] = {}
        for receiver, entity in sorted(entity_of.items()):
            accounts.setdefault(entity, []).append(receiver)
        return cls(entity_of, {e: tuple(a) for e, a in accounts.items()})

    def entity(self, receiver_id: str) -> str:
        return self.entity_of.get(receiver_id, receiver_id)

    def count(self, entity: str) -> int:
        """How many accounts the person ``entity`` holds (1: an account of its own)."""
        return len(self.accounts.get(entity, ())) or 1

    def senders(self, receiver_id: str, senders_of: Mapping[str, Set[str]]) -> set[str]:
        """Every sender of the person behind ``receiver_id``, on any of her accounts."""
        entity = self.entity(receiver_id)
        out: set[str] = set()
        for account in self.accounts.get(entity, (receiver_id,)):
            out |= senders_of.get(account, set())
        return out


NO_ENTITIES = Entities()


def _ties(stage: FirstStage, entities: Entities) -> list[Tie]:
    """``network_ties`` of one sender: (beneficiary entity, w, v, u, x0, the sender's
    name tokens there) before ``kin``, its pairs to one person's accounts taken
    together (``graph._entity_pairs_sql``). Kept on the stage, which a payment of that
    sender replaces (every payment reads the ties of every sender within reach)."""
    cached: tuple[Entities, list[Tie]] | None = stage.__dict__.get("_ties")
    if cached is not None and cached[0] is entities:
        return cached[1]
    pp = stage.payroll_pattern or 0.0
    x0 = stage.base_score or 0.0
    merged: dict[str, list[Pair]] = {}
    for r in stage.pairs:
        if r.related == 0 and r.org == 0:
            merged.setdefault(entities.entity(r.receiver_id), []).append(r)
    out = []
    for entity, rows in merged.items():
        n = sum(r.n for r in rows)
        lv = (
            rows[0].low_value_share
            if len(rows) == 1
            else sum(r.n * r.low_value_share for r in rows) / n
        )
        v = (1.0 - pp) * (0.5 + 0.5 * lv)
        if v < MIN_EDGE:
            continue
        w = (1.0 - pp) * (0.25 + 0.75 * lv) * ramp(n, 0.5, 2.0)
        u = (1.0 - pp) * ramp(n, 0.5, 2.0)
        sk = max(r.sk for r in rows)
        # empty: no name (the name may come from the payments, so per pair)
        out.append((entity, w, v, u, x0, frozenset(sk.split(" ")) if sk else _NONE))
    object.__setattr__(stage, "_ties", (entities, out))  # frozen, not slotted: a cache
    return out


_NONE: frozenset[str] = frozenset()


def reach(
    seeds: Set[str],
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, Set[str]],
    iterations: int,
    entities: Entities = NO_ENTITIES,
) -> set[str]:
    """The senders within ``iterations`` steps of any of ``seeds`` (each step: a
    sender's beneficiaries, then every sender of those, on any account of the same
    person). One walk from all seeds at once, each person's senders gathered once: the
    union of the seeds' own walks (a person first met at step k gives her senders at
    step k + 1; meeting her later gives nothing nearer), without walking a hub's
    neighbourhood once per seed and once per pair that leads to it."""
    level = set(seeds)
    seen = set(seeds)
    met: set[str] = set()  # the persons whose senders are taken
    for _ in range(iterations):
        nxt: set[str] = set()
        for s in level:
            stage = stages.get(s)
            for r in stage.pairs if stage else ():
                person = entities.entity(r.receiver_id)
                if person not in met:
                    met.add(person)
                    nxt |= entities.senders(r.receiver_id, senders_of)
        nxt -= seen
        seen |= nxt
        level = nxt
    return seen


def edges_among(
    senders: Set[str],
    stages: Mapping[str, FirstStage],
    threshold: float,
    entities: Entities = NO_ENTITIES,
) -> list[Edge]:
    """``network_edges_0`` of ``senders`` (``kin`` over the edges given: complete for a
    beneficiary whose senders are all in ``senders``)."""
    ties = {s: _ties(stages[s], entities) for s in senders if s in stages}
    # each edge's sender name tokens, by receiver
    at: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for s, rows in ties.items():
        for receiver, *_rest, tokens in rows:
            at.setdefault(receiver, []).append((s, tokens))
    out = []
    for s, rows in ties.items():
        for receiver, w, v, u, x0, mine in rows:
            kin = sum(1 for other, t in at[receiver] if other == s or mine & t)
            out.append(Edge(s, receiver, w / kin, v, u, x0, int(x0 >= threshold)))
    return out


@dataclass(frozen=True)
class Rounds:
    """The edges after the network rounds: per edge its receiver, sender, weights and
    final ``x``; per sender its last round's ``network_evidence``."""

    edges: list[Edge]
    x: np.ndarray[Any, Any]
    evidence: dict[str, float]


def run_rounds(edges: list[Edge], iterations: int) -> Rounds:
    """``network_edges_0`` .. ``network_edges_I`` (``payments.graph``) over ``edges``."""
    receivers = {r: i for i, r in enumerate(sorted({e.receiver_id for e in edges}))}
    senders = {s: i for i, s in enumerate(sorted({e.sender_id for e in edges}))}
    er = np.array([receivers[e.receiver_id] for e in edges], dtype=np.int64)
    es = np.array([senders[e.sender_id] for e in edges], dtype=np.int64)
    w = np.array([e.w for e in edges])
    v = np.array([e.v for e in edges])
    u = np.array([e.u for e in edges])
    x0 = np.array([e.x0 for e in edges])
    x = x0.copy()
    wsum = np.bincount(er, weights=w, minlength=len(receivers))
    evidence = np.zeros(len(senders))
    for _ in range(iterations):
        own = np.log(1.0 - DAMP * v * x)
        lsum = np.bincount(er, weights=own, minlength=len(receivers))
        others = np.maximum(0.0, 1.0 - np.exp(lsum[er] - own))
        structure = np.clip((wsum[er] - w - STRUCT_LO) / (STRUCT_HI - STRUCT_LO), 0.0, 1.0)
        evidence = np.full(len(senders), -np.inf)
        np.maximum.at(evidence, es, u * np.maximum(others, structure))
        x = 1.0 - (1.0 - x0) * (1.0 - evidence[es])
    return Rounds(edges, x, {s: float(evidence[i]) for s, i in senders.items()})


def network_features(
    sender_id: str, rounds: Rounds, entities: Entities = NO_ENTITIES
) -> dict[str, float | int]:
    """``customer_network`` of ``sender_id`` (0 when it has no edge), from rounds over
    every edge of the senders within ``network_iterations`` steps of it."""
    mine = [e for e in rounds.edges if e.sender_id == sender_id]
    if not mine:
        return {
            "network_evidence": 0.0,
            "hub_other_senders": 0,
            "hub_suspect_senders": 0,
            "hub_accounts": 1,
        }
    at: dict[str, list[Edge]] = {}
    for e in rounds.edges:
        at.setdefault(e.receiver_id, []).append(e)
    return {
        "network_evidence": rounds.evidence[sender_id],
        "hub_other_senders": max(len(at[e.receiver_id]) - 1 for e in mine),
        "hub_suspect_senders": max(
            sum(o.suspect for o in at[e.receiver_id]) - e.suspect for e in mine
        ),
        "hub_accounts": max(entities.count(e.receiver_id) for e in mine),
    }


def beneficiary_network(receiver_id: str, rounds: Rounds) -> dict[str, float] | None:
    """``beneficiary_network`` of ``receiver_id`` (None without edges), from rounds over
    every edge of the senders within ``network_iterations`` steps of its senders."""
    ix = [i for i, e in enumerate(rounds.edges) if e.receiver_id == receiver_id]
    if not ix:
        return None
    edges = [rounds.edges[i] for i in ix]
    x = rounds.x[ix]
    v = np.array([e.v for e in edges])
    lsum = float(np.sum(np.log(1.0 - DAMP * v * x)))
    return {
        "weighted_senders": float(sum(e.w for e in edges)),
        "sender_suspicion": max(0.0, 1.0 - math.exp(lsum)),
        "alerted_senders": sum(e.suspect for e in edges),
        "strongest_sender": float(x.max()),
    }


def near_rounds(
    seeds: Set[str],
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, Set[str]],
    pack: Pack,
    entities: Entities,
) -> Rounds:
    """The rounds over every edge of the senders within ``network_iterations`` steps of
    ``seeds``: they give each seed's network features as rounds over its own
    neighbourhood do (a wider set completes the kin of edges whose weight cannot reach
    the seed in that many rounds; the restricted scan relies on the same), so one call
    serves a payer and its beneficiary's senders."""
    near = reach(seeds, stages, senders_of, pack.network_iterations, entities)
    edges = edges_among(near, stages, pack.propagation_threshold, entities)
    return run_rounds(edges, pack.network_iterations)


def _raw(pack: Pack, subject: str, row: dict[str, Any]) -> float:
    z = pack.bias + sum(t.weight * row[strength_column(t)] for t in pack.typologies_for(subject))
    return 1.0 / (1.0 + math.exp(-z))


def _calibrated(pack: Pack, subject: str, raw: float) -> float:
    prob = calibrate(np.array([raw]), getattr(pack.calibration, subject))
    return float(np.round(prob, 6)[0])


def customer_score(
    sender_id: str,
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, Set[str]],
    pack: Pack,
    memo: dict[str, dict[str, Any] | None] | None = None,
    rounds: Rounds | None = None,
    entities: Entities = NO_ENTITIES,
) -> dict[str, Any] | None:
    """``sender_id``'s ``customer_scores`` row with its calibrated ``score`` (as the
    batch scan's, without a trained model), or None when it is not scored. ``memo``:
    rows computed before on the same stages (a payer is often its beneficiary's sole
    sender, whose score the beneficiary's reads). ``rounds``: :func:`near_rounds` of
    seeds that include ``sender_id`` (by default of it alone)."""
    if memo is not None:
        if sender_id not in memo:
            memo[sender_id] = customer_score(
                sender_id, stages, senders_of, pack, None, rounds, entities
            )
        return memo[sender_id]
    stage = stages.get(sender_id)
    if stage is None or stage.row is None:
        return None
    row = dict(stage.row)
    if rounds is None:
        rounds = near_rounds({sender_id}, stages, senders_of, pack, entities)
    row.update(network_features(sender_id, rounds, entities))
    for t in pack.typologies_for("customer"):
        if t.network:
            row[strength_column(t)] = evaluate_rule(customer_rule(t.strength), row)
    row["raw_score"] = _raw(pack, "customer", row)
    row["score"] = _calibrated(pack, "customer", row["raw_score"])
    return row


def beneficiary_score(
    receiver_id: str,
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, Set[str]],
    pack: Pack,
    word_spec: Mapping[str, float],
    memo: dict[str, dict[str, Any] | None] | None = None,
    rounds: Rounds | None = None,
    entities: Entities = NO_ENTITIES,
) -> dict[str, Any] | None:
    """``receiver_id``'s ``beneficiary_scores`` row with its ``score`` after calibration
    and the sole sender's bound (``scan._capped_by_sole_sender``), or None when the
    scan does not score it (``compiler._beneficiary_stage``); ``memo`` as for
    :func:`customer_score`; ``rounds``: :func:`near_rounds` of seeds that include
    every sender of ``receiver_id`` (by default of them alone)."""
    senders = sorted(senders_of.get(receiver_id, ()))
    pairs = [
        (s, r)
        for s in senders
        if s in stages
        for r in stages[s].pairs
        if r.receiver_id == receiver_id
    ]
    if not pairs:
        return None
    thr = pack.propagation_threshold
    if rounds is None:
        seeds = entities.senders(receiver_id, senders_of)
        rounds = near_rounds(seeds, stages, senders_of, pack, entities)
    # the network is the person's, over all her accounts (``graph._entities_sql``)
    net = beneficiary_network(entities.entity(receiver_id), rounds)
    sole = pairs[0][0] if len(pairs) == 1 else None
    sole_row = (
        customer_score(sole, stages, senders_of, pack, memo, rounds, entities) if sole else None
    )
    # as compiler._beneficiary_stage: a household member counts when the sender splits
    split = sole_row is not None and float(sole_row["run_share"]) >= SPLIT_RUNS[1]
    ties_free = [r.related == 0 and (r.household == 0 or split) and r.org == 0 for _, r in pairs]
    scored = (
        len(pairs) >= 2
        or any(r.related == 0 and (stages[s].base_score or -1.0) >= thr for s, r in pairs)
        or (net is not None and net["strongest_sender"] >= thr)
        or (
            sole_row is not None
            and ties_free[0]
            and sole_row["raw_score"] >= _alerted_sender_raw(pack)
        )
    )
    if not scored:
        return None
    pays = [p for s, _ in pairs for p in stages[s].payments if p.receiver_id == receiver_id]
    n = len(pays)
    fx = [p.fx_rate for p in pays]
    median = _median([p.amount for p in pays])
    median_ref = (
        None if median is None else median * fx[0]
        if min(fx) == max(fx)
        else _median([p.amount_ref for p in pays])
    )  # fmt: skip
    specific = [
        (word_spec.get(p.cover_word, 1.0) if p.cover_word is not None else 1.0) if p.cover else 0.0
        for p in pays
    ]
    row: dict[str, Any] = {
        "receiver_id": receiver_id,
        "inbound_payments": n,
        "inbound_senders": len(pairs),
        "unrelated_senders": sum(1 for _, r in pairs if r.related == 0),
        "inbound_low_value_share": sum(p.low_value for p in pays) / n,
        "inbound_cover_word_share": sum(p.cover for p in pays) / n,
        "inbound_specific_cover_share": sum(specific) / n,
        "inbound_night_share": sum(p.night for p in pays) / n,
        "inbound_unnamed_share": sum(p.channel_w for p in pays if _blank(p.receiver_name)) / n,
        "inbound_median_ref": median_ref,
        "inbound_median": median,
        "sender_countries": len({r.sender_country for _, r in pairs}),
        "sole_sender": sole,
        "sole_sender_tie": (
            ramp(pairs[0][1].n, 0.5, 2.0) if sole is not None and ties_free[0] else 0.0
        ),
        "organisation": max(r.org for _, r in pairs),
        "alerted_senders": net["alerted_senders"] if net else 0,
        "weighted_senders": net["weighted_senders"] if net else 0.0,
        "sender_suspicion": net["sender_suspicion"] if net else 0.0,
        "person_accounts": entities.count(entities.entity(receiver_id)) if net else 1,
        "currency": min(p.currency for p in pays),
        "countries": min(p.receiver_country for p in pays),
        "first_seen": min(p.ts for p in pays),
        "last_seen": max(p.ts for p in pays),
    }
    for t in pack.typologies_for("beneficiary"):
        row[strength_column(t)] = evaluate_rule(beneficiary_rule(t.strength), row)
    row["raw_score"] = _raw(pack, "beneficiary", row)
    score = _calibrated(pack, "beneficiary", row["raw_score"])
    bound = None if sole_row is None else float(sole_row["score"])
    # the cap weighs the sender's score by the tie (scan._capped_by_sole_sender)
    cap = None if bound is None else float(np.round(bound * ramp(n, *TIE_PAYMENTS), 6))
    capped = cap is not None and score > cap
    floor = None if bound is None else float(np.round(bound * row["sole_sender_tie"], 6))
    raised = (
        bound is not None
        and floor is not None
        and bound >= suspect_score(pack, None)
        and floor > score
    )
    row["sole_sender_score"] = bound
    row["score"] = cap if capped else floor if raised else score
    row["capped_by_sender"] = capped
    row["raised_by_sender"] = raised
    return row
