"""The payments detector: payers and facilitators of live-streamed abuse in transactions.

Public entry points here: :func:`load_pack` (the typology pack), :func:`evaluate_files`
(backtesting), :func:`write_results` and :class:`PaymentsInput`. Running the detector
needs an engine, so :func:`scan` (files or a world folder -> alerts written to a folder),
:func:`scan_frames` (polars frames -> :class:`ScanResult`) and
:class:`PaymentsDetector` (the shared :class:`daybreak.detectors.Detector` interface)
are in :mod:`daybreak.engines.payments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.payments.config import ConfigError, Pack, load_pack
from daybreak.payments.evaluate import evaluate_files
from daybreak.payments.inputs import PaymentsInputError
from daybreak.payments.scan import ScanResult, write_results


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


__all__ = [
    "ConfigError",
    "Pack",
    "PaymentsInput",
    "PaymentsInputError",
    "ScanResult",
    "evaluate_files",
    "load_pack",
    "payments_input",
    "write_results",
]
