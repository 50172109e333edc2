"""The payments detector: payers and facilitators of live-streamed abuse in transactions.

Public entry points: :func:`scan` (files or a world folder -> alerts written to a
folder), :func:`scan_frames` (polars frames -> :class:`ScanResult`),
:class:`PaymentsDetector` (the shared :class:`daybreak.detectors.Detector` interface),
:func:`load_pack` (the typology pack) and :func:`evaluate_files` (backtesting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.model.alerts import Alert
from daybreak.payments.config import ConfigError, Pack, load_pack
from daybreak.payments.evaluate import evaluate_files
from daybreak.payments.inputs import PaymentsInputError
from daybreak.payments.scan import ScanResult, scan, scan_frames, write_results


@dataclass(frozen=True)
class PaymentsInput:
    transactions: pl.DataFrame
    customers: pl.DataFrame | None = None


def payments_input(world: Path) -> PaymentsInput:
    """A world folder's transactions and customers (``<table>.parquet`` or ``.csv``),
    validated against the public schemas."""
    from daybreak.payments.inputs import read_customers, read_transactions
    from daybreak.schema.world import world_file

    transactions = world_file(world, "transactions")
    if transactions is None:
        raise PaymentsInputError(f"{world}: no transactions.parquet or transactions.csv")
    customers = world_file(world, "customers")
    return PaymentsInput(read_transactions(transactions), read_customers(customers))


class PaymentsDetector:
    """The payments detector behind the generic Detector protocol."""

    def __init__(self, pack: Pack | None = None, engine: str = "duckdb") -> None:
        self._pack = pack or load_pack()
        self._engine = engine

    @property
    def id(self) -> str:
        return "payments"

    @property
    def version(self) -> str:
        return self._pack.version

    def detect(self, data: PaymentsInput) -> Sequence[Alert]:
        from daybreak.payments.inputs import empty_customers

        customers = data.customers if data.customers is not None else empty_customers()
        return scan_frames(
            data.transactions, customers, pack=self._pack, engine=self._engine
        ).alerts


__all__ = [
    "ConfigError",
    "Pack",
    "PaymentsDetector",
    "PaymentsInput",
    "PaymentsInputError",
    "ScanResult",
    "evaluate_files",
    "load_pack",
    "payments_input",
    "scan",
    "scan_frames",
    "write_results",
]
