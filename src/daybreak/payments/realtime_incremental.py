"""Incremental real-time scores, in memory: each sender's relevant rows and cached first
stage, and per beneficiary its senders. A payment recomputes its payer's first stage
(:func:`daybreak.payments.realtime_features.first_stage`, no SQL); every other sender's
cached stage stays valid, since its rows did not change. The payer's and beneficiary's
scores then run the network rounds over the cached stages of the senders within reach
(:mod:`daybreak.payments.realtime_graph`), so they equal the compiled scan's of the
same history under the same pinned context (tests/payments/test_realtime_features.py,
tests/api/test_payments_score_api.py). Nothing here opens an engine or a file: the
engine persists the rows and answers (:mod:`daybreak.engines.payments_realtime`).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from daybreak.payments.compiler import MAX_EVIDENCE, SPEND_CHANNELS
from daybreak.payments.config import Pack
from daybreak.payments.realtime import PinnedContext, SubjectScore, subject_score
from daybreak.payments.realtime_features import (
    FirstStage,
    FirstStageContext,
    Payment,
    Spending,
    is_relevant,
    payment_of,
    payment_order,
    stage_of,
)
from daybreak.payments.realtime_graph import (
    Entities,
    beneficiary_score,
    customer_score,
    near_rounds,
)


@dataclass(slots=True)
class History:
    """What the first stage reads of one sender's relevant rows: its corridor payments
    in time order (:func:`payment_order`) and its spending (no row is kept as such)."""

    payments: list[Payment] = field(default_factory=list)
    spending: Spending = field(default_factory=Spending)


def _digest(txn_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(txn_id.encode(), digest_size=8).digest(), "little")


class TxnIndex:
    """The ``txn_id`` s held (or any ids: the engine keeps the stored idempotency keys
    in one too), as 64-bit digests in a sorted array (8 bytes a row; a set of the ids
    took about 100): ``maybe_held`` is False for an id never added, and True for one
    added or, very rarely, one whose digest collides with an added one's (the caller
    then checks the id itself)."""

    MERGE_AT = 1 << 16

    def __init__(self, txn_ids: Iterable[str]) -> None:
        digests = np.fromiter((_digest(t) for t in txn_ids), dtype=np.uint64)
        self._sorted = np.unique(digests)
        self._recent: set[int] = set()

    def maybe_held(self, txn_id: str) -> bool:
        d = _digest(txn_id)
        if d in self._recent:
            return True
        i = int(np.searchsorted(self._sorted, np.uint64(d)))
        return i < len(self._sorted) and int(self._sorted[i]) == d

    def add(self, txn_id: str) -> None:
        self._recent.add(_digest(txn_id))
        if len(self._recent) >= self.MERGE_AT:
            recent = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            self._sorted = np.union1d(self._sorted, recent)
            self._recent.clear()

    @property
    def nbytes(self) -> int:
        return int(self._sorted.nbytes)


class IncrementalScores:
    """The state's relevant rows by sender (as :class:`History`), their first stages
    and the beneficiary index, under one pinned context. ``held(txn_id)``: whether the
    state holds that id already, asked only when the digest index cannot tell (a
    payment sent again under another idempotency key, or a digest collision)."""

    def __init__(
        self,
        pack: Pack,
        context: PinnedContext,
        customers: Iterable[Mapping[str, Any]],
        rows: Iterable[Mapping[str, Any]],
        held: Callable[[str], bool],
    ) -> None:
        t = context.tables
        self.pack = pack
        self.held = held
        self.context = FirstStageContext.of(
            pack,
            customers,
            t["pinned_word_spec"].to_dicts(),
            t["pinned_peers"].to_dicts(),
            t["pinned_period"].to_dicts()[0],
        )
        self.entities = Entities.of(t["pinned_entities"].to_dicts())
        self.histories: dict[str, History] = {}
        self.stages: dict[str, FirstStage] = {}
        self.senders_of: dict[str, set[str]] = {}
        seen: set[str] = set()  # exact while building, then digests only
        for r in rows:
            if r["txn_id"] not in seen and is_relevant(r, pack):
                seen.add(r["txn_id"])
                self._take(r)
        self.txn_ids = TxnIndex(seen)
        del seen
        for history in self.histories.values():
            history.payments.sort(key=payment_order)
        for sender in self.histories:
            self._restage(sender)

    def _take(self, row: Mapping[str, Any], *, in_order: bool = False) -> None:
        """Keep what the first stage reads of ``row``; ``in_order``: keep the sender's
        payments in order (else the caller sorts them once)."""
        sender = row["sender_id"]
        history = self.histories.get(sender)
        if history is None:
            history = self.histories[sender] = History()
        payment = payment_of(row, self.context.customers.get(sender), self.pack)
        if payment is None:
            history.spending.add(row, self.pack)
        elif in_order:
            bisect.insort(history.payments, payment, key=payment_order)
        else:
            history.payments.append(payment)

    def _restage(self, sender: str) -> None:
        history = self.histories[sender]
        stage = stage_of(sender, history.payments, history.spending, self.context)
        self.stages[sender] = stage
        for p in stage.pairs:
            self.senders_of.setdefault(p.receiver_id, set()).add(sender)

    def add(self, row: Mapping[str, Any]) -> bool:
        """Take one payment (public schema, ``timestamp`` a datetime with a time zone):
        False when it is not relevant or its ``txn_id`` is held already."""
        txn_id = row["txn_id"]
        if not is_relevant(row, self.pack):
            return False
        if self.txn_ids.maybe_held(txn_id) and self.held(txn_id):
            return False
        self.txn_ids.add(txn_id)
        self._take(row, in_order=True)
        self._restage(row["sender_id"])
        return True

    def scores(
        self, sender_id: str, receiver_id: str | None
    ) -> tuple[SubjectScore, SubjectScore | None]:
        """The payer's and (for a corridor payment) the beneficiary's answers."""
        pack = self.pack
        memo: dict[str, dict[str, Any] | None] = {}  # the payer may be the sole sender
        # one set of network rounds for both sides: the payer's neighbourhood and its
        # beneficiary's senders' over all her accounts (the payer is one of them)
        rounds = None
        if receiver_id is not None:
            seeds = {sender_id, *self.entities.senders(receiver_id, self.senders_of)}
            rounds = near_rounds(seeds, self.stages, self.senders_of, pack, self.entities)
        payer_row = customer_score(
            sender_id, self.stages, self.senders_of, pack, memo, rounds, self.entities
        )
        payer = subject_score(
            pack, "customer", sender_id, payer_row,
            self._customer_evidence(sender_id) if payer_row is not None else [],
        )  # fmt: skip
        if receiver_id is None:
            return payer, None
        bene_row = beneficiary_score(
            receiver_id,
            self.stages,
            self.senders_of,
            pack,
            self.context.word_spec,
            memo,
            rounds,
            self.entities,
        )
        beneficiary = subject_score(
            pack, "beneficiary", receiver_id, bene_row,
            self._beneficiary_evidence(receiver_id) if bene_row is not None else [],
        )  # fmt: skip
        return payer, beneficiary

    def is_corridor(self, row: Mapping[str, Any]) -> bool:
        return (
            row["receiver_country"] in self.pack.corridor_countries
            and row["receiver_country"] != row["sender_country"]
            and row["channel"] not in SPEND_CHANNELS
        )

    # ``compiler.compile_evidence``: unrelated, night-time, cover-word and low-value
    # payments first, then the rest, then related purchases; ties by time and id; the
    # ids in time order.

    def _customer_evidence(self, sender_id: str) -> list[str]:
        stage = self.stages[sender_id]
        related = {p.receiver_id: p.related for p in stage.pairs}
        ranked = [
            (_priority(related[p.receiver_id], p.night, p.cover, p.low_value), p.ts, p.txn_id)
            for p in stage.payments
        ]
        ranked += [(5, ts, txn) for txn, ts in stage.related_purchases]
        return _top(ranked)

    def _beneficiary_evidence(self, receiver_id: str) -> list[str]:
        ranked = []
        for s in self.senders_of.get(receiver_id, ()):
            stage = self.stages[s]
            related = next(p.related for p in stage.pairs if p.receiver_id == receiver_id)
            ranked += [
                (_priority(related, p.night, p.cover, p.low_value), p.ts, p.txn_id)
                for p in stage.payments
                if p.receiver_id == receiver_id
            ]
        return _top(ranked)


def _priority(related: int, night: int, cover: int, low_value: int) -> int:
    return (1 - related) * 8 + night * 2 + cover * 2 + low_value


def _top(ranked: list[tuple[int, datetime, str]]) -> list[str]:
    ranked.sort(key=lambda x: (-x[0], x[1], x[2]))
    return [txn for _, _, txn in sorted(ranked[:MAX_EVIDENCE], key=lambda x: (x[1], x[2]))]
