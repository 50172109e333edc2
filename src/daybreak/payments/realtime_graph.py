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
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

from daybreak.payments.compiler import strength_column
from daybreak.payments.config import Pack
from daybreak.payments.graph import DAMP, MIN_EDGE, STRUCT_HI, STRUCT_LO
from daybreak.payments.realtime_features import FirstStage, customer_rule, evaluate_rule, ramp
from daybreak.payments.scan import calibrate


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


def _ties(stage: FirstStage) -> list[tuple[str, float, float, float, float, str]]:
    """``network_ties`` of one sender: (receiver, w, v, u, x0, sk) before ``kin``."""
    pp = stage.payroll_pattern or 0.0
    x0 = stage.base_score or 0.0
    out = []
    for r in stage.pairs:
        if r.related != 0 or r.org != 0:
            continue
        v = (1.0 - pp) * (0.5 + 0.5 * r.low_value_share)
        if v < MIN_EDGE:
            continue
        w = (1.0 - pp) * (0.25 + 0.75 * r.low_value_share) * ramp(r.n, 0.5, 2.0)
        u = (1.0 - pp) * ramp(r.n, 0.5, 2.0)
        out.append((r.receiver_id, w, v, u, x0, r.sk))
    return out


def reach(
    sender_id: str,
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, Set[str]],
    iterations: int,
) -> set[str]:
    """The senders within ``iterations`` steps of ``sender_id`` (each step: a sender's
    beneficiaries, then every sender of those)."""
    level = {sender_id}
    seen = {sender_id}
    for _ in range(iterations):
        nxt = set()
        for s in level:
            stage = stages.get(s)
            for r in stage.pairs if stage else ():
                nxt |= set(senders_of.get(r.receiver_id, ())) - seen
        seen |= nxt
        level = nxt
    return seen


def edges_among(
    senders: Set[str], stages: Mapping[str, FirstStage], threshold: float
) -> list[Edge]:
    """``network_edges_0`` of ``senders`` (``kin`` over the edges given: complete for a
    beneficiary whose senders are all in ``senders``)."""
    ties = {s: _ties(stages[s]) for s in senders if s in stages}
    at: dict[str, list[tuple[str, str]]] = {}
    for s, rows in ties.items():
        for receiver, *_rest, sk in rows:
            at.setdefault(receiver, []).append((s, sk))
    out = []
    for s, rows in ties.items():
        for receiver, w, v, u, x0, sk in rows:
            mine = set(sk.split(" "))
            kin = sum(
                1
                for other, osk in at[receiver]
                if other == s or (sk != "" and osk != "" and mine & set(osk.split(" ")))
            )
            out.append(Edge(s, receiver, w / kin, v, u, x0, int(x0 >= threshold)))
    return out


def network_features(sender_id: str, edges: list[Edge], iterations: int) -> dict[str, float | int]:
    """``customer_network`` of ``sender_id`` (0 when it has no edge), from ``edges`` that
    hold every edge of the senders within ``iterations`` steps of it."""
    if not edges:
        return {"network_evidence": 0.0, "hub_other_senders": 0, "hub_suspect_senders": 0}
    receivers = sorted({e.receiver_id for e in edges})
    senders = sorted({e.sender_id for e in edges})
    r_ix = {r: i for i, r in enumerate(receivers)}
    s_ix = {s: i for i, s in enumerate(senders)}
    er = np.array([r_ix[e.receiver_id] for e in edges])
    es = np.array([s_ix[e.sender_id] for e in edges])
    w = np.array([e.w for e in edges])
    v = np.array([e.v for e in edges])
    u = np.array([e.u for e in edges])
    x0 = np.array([e.x0 for e in edges])
    suspect = np.array([e.suspect for e in edges])
    x = x0.copy()
    nr, ns = len(receivers), len(senders)
    k = np.bincount(er, minlength=nr)
    suspects = np.bincount(er, weights=suspect, minlength=nr)
    wsum = np.bincount(er, weights=w, minlength=nr)
    evidence = np.zeros(ns)
    for _ in range(iterations):
        own = np.log(1.0 - DAMP * v * x)
        lsum = np.bincount(er, weights=own, minlength=nr)
        others = np.maximum(0.0, 1.0 - np.exp(lsum[er] - own))
        structure = np.clip((wsum[er] - w - STRUCT_LO) / (STRUCT_HI - STRUCT_LO), 0.0, 1.0)
        per_edge = u * np.maximum(others, structure)
        evidence = np.full(ns, -np.inf)
        np.maximum.at(evidence, es, per_edge)
        x = 1.0 - (1.0 - x0) * (1.0 - evidence[es])
    mine = es == s_ix.get(sender_id, -1)
    if not mine.any():
        return {"network_evidence": 0.0, "hub_other_senders": 0, "hub_suspect_senders": 0}
    return {
        "network_evidence": float(evidence[s_ix[sender_id]]),
        "hub_other_senders": int((k[er[mine]] - 1).max()),
        "hub_suspect_senders": int((suspects[er[mine]] - suspect[mine]).max()),
    }


def customer_score(
    sender_id: str,
    stages: Mapping[str, FirstStage],
    senders_of: Mapping[str, Set[str]],
    pack: Pack,
) -> dict[str, Any] | None:
    """``sender_id``'s ``customer_scores`` row with its calibrated ``score`` (as the
    batch scan's, without a trained model), or None when it is not scored."""
    stage = stages.get(sender_id)
    if stage is None or stage.row is None:
        return None
    near = reach(sender_id, stages, senders_of, pack.network_iterations)
    edges = edges_among(near, stages, pack.propagation_threshold)
    row = dict(stage.row)
    row.update(network_features(sender_id, edges, pack.network_iterations))
    for t in pack.typologies_for("customer"):
        if t.network:
            row[strength_column(t)] = evaluate_rule(customer_rule(t.strength), row)
    z = pack.bias + sum(t.weight * row[strength_column(t)] for t in pack.typologies_for("customer"))
    row["raw_score"] = 1.0 / (1.0 + math.exp(-z))
    prob = calibrate(np.array([row["raw_score"]]), pack.calibration.customer)
    row["score"] = float(np.round(prob, 6)[0])
    return row
