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

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from daybreak.payments.compiler import MAX_EVIDENCE, SPEND_CHANNELS
from daybreak.payments.config import Pack
from daybreak.payments.realtime import PinnedContext, SubjectScore, subject_score
from daybreak.payments.realtime_features import (
    FirstStage,
    FirstStageContext,
    first_stage,
    is_relevant,
)
from daybreak.payments.realtime_graph import beneficiary_score, customer_score


class IncrementalScores:
    """The state's relevant rows by sender, their first stages and the beneficiary
    index, under one pinned context."""

    def __init__(
        self,
        pack: Pack,
        context: PinnedContext,
        customers: Iterable[Mapping[str, Any]],
        rows: Iterable[Mapping[str, Any]],
    ) -> None:
        t = context.tables
        self.pack = pack
        self.context = FirstStageContext.of(
            pack,
            customers,
            t["pinned_word_spec"].to_dicts(),
            t["pinned_peers"].to_dicts(),
            t["pinned_period"].to_dicts()[0],
        )
        self.rows: dict[str, list[Mapping[str, Any]]] = {}
        self.txn_ids: set[str] = set()
        self.stages: dict[str, FirstStage] = {}
        self.senders_of: dict[str, set[str]] = {}
        for r in rows:
            if r["txn_id"] not in self.txn_ids and is_relevant(r, pack):
                self.txn_ids.add(r["txn_id"])
                self.rows.setdefault(r["sender_id"], []).append(r)
        for sender in self.rows:
            self._restage(sender)

    def _restage(self, sender: str) -> None:
        stage = first_stage(sender, self.rows[sender], self.context, relevant=True)
        self.stages[sender] = stage
        for p in stage.pairs:
            self.senders_of.setdefault(p.receiver_id, set()).add(sender)

    def add(self, row: Mapping[str, Any]) -> bool:
        """Take one payment (public schema, ``timestamp`` a datetime with a time zone):
        False when it is not relevant or its ``txn_id`` is held already."""
        if row["txn_id"] in self.txn_ids or not is_relevant(row, self.pack):
            return False
        self.txn_ids.add(row["txn_id"])
        self.rows.setdefault(row["sender_id"], []).append(row)
        self._restage(row["sender_id"])
        return True

    def scores(
        self, sender_id: str, receiver_id: str | None
    ) -> tuple[SubjectScore, SubjectScore | None]:
        """The payer's and (for a corridor payment) the beneficiary's answers."""
        pack = self.pack
        payer_row = customer_score(sender_id, self.stages, self.senders_of, pack)
        payer = subject_score(
            pack, "customer", sender_id, payer_row,
            self._customer_evidence(sender_id) if payer_row is not None else [],
        )  # fmt: skip
        if receiver_id is None:
            return payer, None
        bene_row = beneficiary_score(
            receiver_id, self.stages, self.senders_of, pack, self.context.word_spec
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
