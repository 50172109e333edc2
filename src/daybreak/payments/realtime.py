"""Real-time payment scoring, the pure part: pinned context, the neighbourhood a
payment's scores depend on, and the decision. Nothing here opens an engine or a file
(:mod:`daybreak.engines.payments_realtime` runs it).

**Pinned context.** A few things the batch scan derives from the whole world, not from a
subject's own rows: each cover word's specificity (``word_spec``: its senders against
hub payers, over every corridor sender), the peer groups' feature values
(``peer_anomaly`` ranks a customer among every scored customer of its corridor,
currency and channel) and the observed period (``purchase_baseline`` cuts each
sender's windows to it). ``CONTEXT_QUERIES`` take them from a finished scan;
``compile_scan(pack, d, pinned=True)`` reads them back as inputs, so a scan of a
subset of the rows scores each subject as the scan of the whole world did, under
that context.

**The neighbourhood.** Everything else a customer's score reads is its own relevant
rows and the payer-beneficiary graph around it. The network typologies run
``network_iterations`` rounds (``payments.graph``): round ``i`` of a sender reads the
round ``i - 1`` evidence of every other sender of its beneficiaries, so after ``I``
rounds a sender's evidence reads the first-stage scores (its own rows only) of senders
up to ``I`` steps away in the sender-beneficiary-sender graph, and the edges of the
beneficiaries in between with all their senders. A beneficiary's score reads the final
evidence of each of its senders. So for a payment from ``S`` to ``R`` the seeds are
``S`` and every sender of ``R``, and the senders needed are those within
``network_iterations`` steps of a seed (each step: a sender's corridor beneficiaries,
then every sender of those); every relevant row of each of them is scanned (their
purchases and card spend too: the first-stage score reads them). The steps go over
every corridor pair, with or without a family tie (a superset of the graph's edges,
which the name folding in SQL decides): more senders than needed never change a score.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from daybreak.payments.compiler import (
    PINNED_INPUTS,
    SPEND_CHANNELS,
    strength_column,
)
from daybreak.payments.config import Pack
from daybreak.payments.context import peer_values_sql
from daybreak.payments.explain import beneficiary_lead, customer_lead, render

# What a finished scan pins, by the input name compile_scan(pinned=True) reads.
CONTEXT_QUERIES: dict[str, str] = {
    "pinned_word_spec": "SELECT * FROM word_spec",
    "pinned_peers": peer_values_sql("customer_features"),
    "pinned_period": "SELECT d0, d1 FROM observed_period",
    "pinned_entities": "SELECT receiver_id, entity_id, accounts FROM beneficiary_entities",
}
assert tuple(CONTEXT_QUERIES) == PINNED_INPUTS


@dataclass(frozen=True)
class PinnedContext:
    """The world-wide context of one scan (``CONTEXT_QUERIES``), by input name, and its
    version (a digest of the tables and the pack that made them)."""

    tables: Mapping[str, pl.DataFrame]
    version: str

    @classmethod
    def of(cls, tables: Mapping[str, pl.DataFrame], pack_version: str) -> PinnedContext:
        missing = [n for n in PINNED_INPUTS if n not in tables]
        if missing:
            raise ValueError(f"pinned context lacks {', '.join(missing)}")
        digest = hashlib.sha256(pack_version.encode())
        for name in PINNED_INPUTS:
            frame = tables[name].sort(tables[name].columns)
            digest.update(name.encode())
            digest.update(frame.write_csv().encode())
        return cls(dict(tables), f"{pack_version}/{digest.hexdigest()[:12]}")


def corridor_test(alias: str = "h") -> str:
    """Among relevant rows (``compiler.relevant_filter``), the corridor payments: every
    relevant row not on a spending channel passed the corridor test."""
    spend = ", ".join(f"'{c}'" for c in SPEND_CHANNELS)
    return f"{alias}.channel NOT IN ({spend})"


def _paid(history: str, entities: str) -> str:
    """(sender, person paid) of every corridor pair of ``history``: the beneficiary's
    entity (``pinned_entities``: one person's accounts, ``payments.graph``) or, for an
    account of no entity, the account itself."""
    return f"""SELECT DISTINCT h.sender_id, coalesce(e.entity_id, h.receiver_id) AS receiver_id
  FROM {history} h LEFT JOIN {entities} e ON e.receiver_id = h.receiver_id
  WHERE {corridor_test()}"""


def neighbourhood_sql(
    iterations: int,
    history: str = "history",
    seeds: str = "seeds",
    entities: str = "pinned_entities",
) -> str:
    """The senders whose relevant rows a scan of the ``seeds(sender_id)`` must read to
    score them and their beneficiaries as the scan of all of ``history`` (relevant rows
    in the public schema) would (module docstring): ``iterations`` steps of sender ->
    corridor beneficiaries (any account of the same person) -> their senders."""
    pay = f"({_paid(history, entities)})"
    level = f"(SELECT DISTINCT sender_id FROM {seeds})"
    for _ in range(max(iterations, 0)):
        level = f"""(SELECT sender_id FROM {level} l0
  UNION SELECT p2.sender_id FROM {pay} p2 WHERE p2.receiver_id IN (
    SELECT p1.receiver_id FROM {pay} p1 WHERE p1.sender_id IN (SELECT sender_id FROM {level} l1)))"""
    return f"SELECT DISTINCT sender_id FROM {level} n"


def seeds_sql(history: str = "history", entities: str = "pinned_entities") -> str:
    """The seeds of a payment given as ``payment(sender_id, receiver_id)``: its payer and
    every sender of its beneficiary (on any account of the same person)."""
    return f"""
SELECT sender_id FROM payment
UNION SELECT h.sender_id FROM ({_paid(history, entities)}) h JOIN (
  SELECT coalesce(e.entity_id, p.receiver_id) AS receiver_id
  FROM payment p LEFT JOIN {entities} e ON e.receiver_id = p.receiver_id
) q ON h.receiver_id = q.receiver_id
"""


def labelled_neighbourhoods_sql(
    iterations: int,
    history: str = "history",
    payments: str = "payments",
    entities: str = "pinned_entities",
) -> str:
    """Each payment's neighbourhood at once: ``(k, sender_id)`` for the payments given as
    ``payments(k, sender_id, receiver_id)`` (``receiver_id`` null unless a corridor
    payment), the same steps as :func:`seeds_sql` and :func:`neighbourhood_sql` with
    the payment's label carried along. Micro-batching compares them: payments whose
    neighbourhoods are disjoint cannot change each other's scores."""
    steps = [
        f"pay AS ({_paid(history, entities)})",
        f"""l0 AS (SELECT k, sender_id FROM {payments}
  UNION SELECT p.k, h.sender_id FROM pay h JOIN (
    SELECT q.k, coalesce(e.entity_id, q.receiver_id) AS receiver_id
    FROM {payments} q LEFT JOIN {entities} e ON e.receiver_id = q.receiver_id
  ) p ON h.receiver_id = p.receiver_id)""",
    ]
    for i in range(1, max(iterations, 0) + 1):
        steps.append(
            f"""l{i} AS (SELECT k, sender_id FROM l{i - 1}
  UNION SELECT l.k, p2.sender_id FROM l{i - 1} l JOIN pay p1 ON p1.sender_id = l.sender_id
  JOIN pay p2 ON p2.receiver_id = p1.receiver_id)"""
        )
    return f"WITH {', '.join(steps)} SELECT DISTINCT k, sender_id FROM l{max(iterations, 0)}"


def runs_of(
    payments: Sequence[tuple[str, str, str | None]], hoods: Mapping[int, frozenset[str]]
) -> int:
    """How many of ``payments`` (``(key, sender_id, corridor receiver_id or None)`` in
    arrival order, neighbourhood of the ``k``-th in ``hoods[k]``) one scoring run may
    take: the longest prefix in which no payment shares its idempotency key, a sender of
    its neighbourhood or its beneficiary with an earlier one. A later payment in the
    same run would otherwise enter an earlier one's history (each answer reflects the
    history up to and including its own payment, not later ones)."""
    keys: set[str] = set()
    senders: set[str] = set()
    receivers: set[str] = set()
    for k, (key, sender, receiver) in enumerate(payments):
        hood = hoods.get(k, frozenset()) | {sender}
        if k and (
            key in keys or hood & senders or (receiver is not None and receiver in receivers)
        ):
            return k
        keys.add(key)
        senders |= hood
        if receiver is not None:
            receivers.add(receiver)
    return len(payments)


# --- decisions ----------------------------------------------------------------------

DECISIONS = ("allow", "review", "hold")


def decide(score: float, review: float, hold: float) -> str:
    """``hold`` at or above ``hold``, ``review`` at or above ``review``, else ``allow``."""
    if score >= hold:
        return "hold"
    if score >= review:
        return "review"
    return "allow"


@dataclass(frozen=True)
class SubjectScore:
    """One side of a payment: its score (0 when not scored), the typologies that fired,
    the explanation and the ids of the transactions it rests on."""

    subject_type: str  # customer | beneficiary
    subject_id: str
    scored: bool
    score: float = 0.0
    typologies: tuple[str, ...] = ()
    explanation: str = ""
    evidence_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "scored": self.scored,
            "score": self.score,
            "typologies": list(self.typologies),
            "explanation": self.explanation,
            "evidence_txn_ids": list(self.evidence_ids),
        }


def subject_score(
    pack: Pack,
    subject_type: str,
    subject_id: str,
    row: Mapping[str, Any] | None,
    evidence_ids: Sequence[str],
) -> SubjectScore:
    """A scored subject's answer from its row of ``customer_scores`` or
    ``beneficiary_scores`` (with ``score`` after calibration and the sole-sender cap,
    as the batch scan's), explained as an alert is; None: not scored."""
    if row is None:
        return SubjectScore(subject_type, subject_id, False)
    fired = []
    for t in pack.typologies_for(subject_type):
        strength = float(row.get(strength_column(t)) or 0.0)
        if t.weight > 0 and strength >= t.fires_at:
            fired.append((t.weight * strength, t.id, render(t.explain, row)))
    fired.sort(key=lambda x: (-x[0], x[1]))
    lead = customer_lead if subject_type == "customer" else beneficiary_lead
    return SubjectScore(
        subject_type,
        subject_id,
        True,
        float(row["score"]),
        tuple(f[1] for f in fired),
        " ".join([lead(dict(row)), *(f[2] for f in fired)]),
        tuple(evidence_ids),
    )


@dataclass(frozen=True)
class Decision:
    """The answer for one payment: the decision from the higher of its payer's and its
    beneficiary's scores, both sides, and the context version it was scored under."""

    txn_id: str
    decision: str
    score: float
    context_version: str
    payer: SubjectScore
    beneficiary: SubjectScore | None
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def typologies(self) -> list[str]:
        sides = [self.payer, *([self.beneficiary] if self.beneficiary else [])]
        return [t for s in sides for t in s.typologies]

    @property
    def explanation(self) -> str:
        sides = [self.payer, *([self.beneficiary] if self.beneficiary else [])]
        said = [f"{s.subject_type} {s.subject_id}: {s.explanation}" for s in sides if s.scored]
        return " ".join(said) or "Neither the payer nor the beneficiary is scored yet."

    def to_json(self) -> dict[str, Any]:
        return {
            "txn_id": self.txn_id,
            "decision": self.decision,
            "score": self.score,
            "typologies": self.typologies,
            "explanation": self.explanation,
            "context_version": self.context_version,
            "thresholds": self.thresholds,
            "payer": self.payer.to_json(),
            "beneficiary": None if self.beneficiary is None else self.beneficiary.to_json(),
        }


def decision_of(
    txn_id: str,
    payer: SubjectScore,
    beneficiary: SubjectScore | None,
    context_version: str,
    review: float,
    hold: float,
) -> Decision:
    score = max(payer.score, beneficiary.score if beneficiary else 0.0)
    return Decision(
        txn_id,
        decide(score, review, hold),
        score,
        context_version,
        payer,
        beneficiary,
        {"review": review, "hold": hold},
    )


def body_digest(body: Mapping[str, Any]) -> str:
    """The digest an idempotency key is bound to: the canonical JSON of the payment."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
