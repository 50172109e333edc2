"""The transaction ledger under construction: integer-coded columns, strings interned once.

Generators append :class:`TxnBatch` es of numpy arrays; strings (receiver ids, names,
references) live in :class:`Codes` tables and are only expanded into a Polars frame at the
end, with one gather per column. This is what keeps 10 million rows fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from daybreak.schema.columns import CHANNELS

I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

CHANNEL = {name: i for i, name in enumerate(CHANNELS)}


class Codes:
    """Interned strings: each distinct string gets a stable integer code."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}

    def code(self, value: str) -> int:
        found = self._index.get(value)
        if found is None:
            found = len(self.values)
            self._index[value] = found
            self.values.append(value)
        return found

    def codes(self, values: Iterable[str]) -> I32:
        index, known = self._index, self.values
        out: list[int] = []
        for v in values:
            found = index.get(v)
            if found is None:
                found = index[v] = len(known)
                known.append(v)
            out.append(found)
        return np.array(out, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Receivers:
    """Every beneficiary (receiver_id) with its country and truth."""

    ids: Codes = field(default_factory=Codes)
    country: list[str] = field(default_factory=list)
    scenario: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    case: list[int] = field(default_factory=list)

    def add(
        self, receiver_id: str, country: str, scenario: str, label: int = 0, case: int = -1
    ) -> int:
        before = len(self.ids)
        code = self.ids.code(receiver_id)
        if code == before:
            self.country.append(country)
            self.scenario.append(scenario)
            self.label.append(label)
            self.case.append(case)
        return code

    def add_many(self, receiver_ids: Sequence[str], countries: Sequence[str], scenario: str) -> I32:
        """Register many receivers at once (label 0); known ids keep their first entry."""
        before = len(self.ids)
        codes = self.ids.codes(receiver_ids)
        for k in np.flatnonzero(codes >= before):
            if codes[k] == len(self.country):  # first occurrence of a new id
                self.country.append(countries[int(k)])
        added = len(self.ids) - before
        self.scenario += [scenario] * added
        self.label += [0] * added
        self.case += [-1] * added
        return codes


@dataclass
class TxnBatch:
    cust: I32
    local_us: I64  # naive local time of the sender, microseconds since 1970
    recv: I32
    amount: F64
    channel: I8
    rname: I32  # code in Ledger.names, -1 = null
    ref: I32  # code in Ledger.refs, -1 = null
    mcc: I16  # 4-digit MCC as a number, -1 = null (card payments only)
    case: I32  # truth: case id of an abuse payment, -1 otherwise

    def __len__(self) -> int:
        return len(self.cust)


def batch(
    cust: npt.ArrayLike,
    local_us: npt.ArrayLike,
    recv: npt.ArrayLike,
    amount: npt.ArrayLike,
    channel: npt.ArrayLike,
    *,
    rname: npt.ArrayLike | None = None,
    ref: npt.ArrayLike | None = None,
    mcc: npt.ArrayLike | None = None,
    case: npt.ArrayLike | None = None,
) -> TxnBatch:
    """A batch with defaults for the optional columns; scalars broadcast. Amounts are
    rounded to cents here, once; arrays of the right type are used without copying."""
    c = np.asarray(cust, dtype=np.int32)
    n = len(c)

    def col(v: npt.ArrayLike | None, dtype: type[np.generic], default: int) -> np.ndarray:
        if v is None:
            return np.full(n, default, dtype=dtype)
        arr = np.asarray(v, dtype=dtype)
        return arr if arr.shape == (n,) else np.full(n, arr, dtype=dtype)

    return TxnBatch(
        cust=c,
        local_us=col(local_us, np.int64, 0),
        recv=col(recv, np.int32, 0),
        amount=np.round(col(amount, np.float64, 0), 2),
        channel=col(channel, np.int8, 0),
        rname=col(rname, np.int32, -1),
        ref=col(ref, np.int32, -1),
        mcc=col(mcc, np.int16, -1),
        case=col(case, np.int32, -1),
    )


@dataclass
class Ledger:
    receivers: Receivers = field(default_factory=Receivers)
    names: Codes = field(default_factory=Codes)
    refs: Codes = field(default_factory=Codes)
    batches: list[TxnBatch] = field(default_factory=list)

    def add(self, b: TxnBatch) -> None:
        if len(b):
            self.batches.append(b)

    def concat(self) -> TxnBatch:
        return concat(self.batches)


def concat(bs: list[TxnBatch]) -> TxnBatch:
    return TxnBatch(
        cust=np.concatenate([b.cust for b in bs]),
        local_us=np.concatenate([b.local_us for b in bs]),
        recv=np.concatenate([b.recv for b in bs]),
        amount=np.concatenate([b.amount for b in bs]),
        channel=np.concatenate([b.channel for b in bs]),
        rname=np.concatenate([b.rname for b in bs]),
        ref=np.concatenate([b.ref for b in bs]),
        mcc=np.concatenate([b.mcc for b in bs]),
        case=np.concatenate([b.case for b in bs]),
    )
