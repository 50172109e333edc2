"""The payments detector run on an engine: open it, register the inputs, run.

``scan_frames`` works on in-memory frames; ``scan`` reads files (or a world folder) and
writes ``alerts.jsonl``, ``alerts.parquet``, ``customer_scores.parquet``,
``beneficiary_scores.parquet`` and ``summary.json``. Large Parquet files on DuckDB take
the in-place path (:mod:`daybreak.engines.payments_inplace`). What the detector computes
(the compiled SQL, scores, explanations) is in :mod:`daybreak.payments`, which never
opens an engine itself.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from daybreak.engines import Engine, open_engine
from daybreak.model.alerts import Alert
from daybreak.payments import PaymentsInput
from daybreak.payments.config import Pack, load_pack
from daybreak.payments.inputs import (
    PaymentsInputError,
    check_against_pack,
    empty_customers,
    read_customers,
    read_transactions,
)
from daybreak.payments.model import TrainedModel
from daybreak.payments.scan import (
    Progress,
    ScanResult,
    scan_registered,
    write_results,
)
from daybreak.schema.world import no_world_file, world_file

if TYPE_CHECKING:
    from daybreak.engines.spark import SparkSettings


def scan_frames(
    transactions: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    pack: Pack | None = None,
    engine: str | Engine = "duckdb",
    model: TrainedModel | None = None,
    source: str = "transactions",
    progress: Progress | None = None,
) -> ScanResult:
    """Score every customer and beneficiary with corridor activity and return alerts."""
    pack = pack or load_pack()
    corridor = check_against_pack(transactions, pack, source)
    eng = open_engine(engine) if isinstance(engine, str) else engine
    try:
        compat = pl.CompatLevel.oldest()
        eng.register("transactions", transactions.to_arrow(compat_level=compat))
        eng.register("customers", customers.to_arrow(compat_level=compat))
        return scan_registered(eng, pack, model, transactions.height, corridor, progress)
    finally:
        if isinstance(engine, str):
            eng.close()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the scan. Its full pass walks every object the
    imports made (~40 ms, about 3% of a 10M-row scan) and would fall inside the scan;
    the scan's own data live in Arrow buffers it never looks at, and the few cycles the
    scan leaves are collected after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan(
    transactions: Path,
    out: Path | None = None,
    *,
    customers: Path | None = None,
    config: Path | None = None,
    engine: str = "duckdb",
    model_dir: Path | None = None,
    progress: Progress | None = None,
    spark: SparkSettings | None = None,
) -> ScanResult:
    """Scan files, or a world folder given as ``transactions``; write results to ``out``.
    ``spark``: where the Spark engine runs (local mode, a cluster, Spark Connect).

    This is the entry point for ``daybreak payments scan`` and ``daybreak demo``.
    """
    if transactions.is_dir():
        world = transactions
        found = world_file(world, "transactions")
        if found is None:
            raise PaymentsInputError(no_world_file(world, "transactions"))
        transactions = found
        customers = customers or world_file(world, "customers")
    with ExitStack() as stack:
        stack.enter_context(_collector_paused())
        in_place = None
        if engine == "duckdb" and transactions.suffix.lower() in (".parquet", ".pq"):
            from daybreak.engines.payments_inplace import ParquetInPlace

            # opened first: it checks the file while the pack and customers load
            in_place = stack.enter_context(ParquetInPlace(transactions))
        pack = load_pack(config)
        model = TrainedModel.load(model_dir) if model_dir else None
        cu = read_customers(customers)
        if in_place is not None:
            result = in_place.scan(cu, pack=pack, model=model, progress=progress)
        else:
            tx = read_transactions(transactions)
            eng = stack.enter_context(open_engine(engine, spark))
            result = scan_frames(tx, cu, pack=pack, engine=eng, model=model,
                                 source=str(transactions), progress=progress)  # fmt: skip
        if out is not None:
            (progress or (lambda _msg: None))("writing results")
            write_results(result, out)
    return result


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
        customers = data.customers if data.customers is not None else empty_customers()
        return scan_frames(
            data.transactions, customers, pack=self._pack, engine=self._engine
        ).alerts


__all__ = ["PaymentsDetector", "ScanResult", "scan", "scan_frames", "write_results"]
