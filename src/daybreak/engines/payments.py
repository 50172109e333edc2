"""The payments detector run on an engine: open it, register the inputs, run.

``scan_frames`` works on in-memory frames; ``scan`` reads files (or a world folder) and
writes ``alerts.jsonl``, ``alerts.parquet``, ``customer_scores.parquet``,
``beneficiary_scores.parquet`` and ``summary.json``. Large Parquet files on DuckDB take
the in-place path (:mod:`daybreak.engines.payments_inplace`). What the detector computes
(the compiled SQL, scores, explanations) is in :mod:`daybreak.payments`, which never
opens an engine itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from daybreak.engines import Engine, open_engine
from daybreak.engines.spark_inputs import is_uri
from daybreak.model.alerts import Alert
from daybreak.payments import PaymentsInput
from daybreak.payments.compiler import CORRIDOR_PAYMENTS, relevant_filter
from daybreak.payments.config import Pack, load_pack
from daybreak.payments.inputs import (
    PaymentsInputError,
    check_against_pack,
    currency_counts_sql,
    empty_customers,
    read_customers,
    read_transactions,
    refuse_duplicate_ids,
    refuse_no_corridor,
    refuse_unknown_currencies,
)
from daybreak.payments.model import TrainedModel
from daybreak.payments.scan import (
    Progress,
    ScanResult,
    scan_registered,
    write_results,
)
from daybreak.schema import SchemaError
from daybreak.schema.world import collector_paused, no_world_file, world_file

if TYPE_CHECKING:
    from daybreak.engines.spark import SparkSettings

Written = TypeVar("Written")


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


def scan(
    transactions: Path | str,
    out: Path | str | None = None,
    *,
    customers: Path | str | None = None,
    config: Path | None = None,
    engine: str = "duckdb",
    model_dir: Path | str | None = None,
    progress: Progress | None = None,
    spark: SparkSettings | None = None,
) -> ScanResult:
    """Scan files, or a world folder given as ``transactions``; write results to ``out``.
    ``spark``: where the Spark engine runs (local mode, a cluster, Spark Connect). On
    Spark, Parquet and CSV inputs (paths every worker mounts, or URIs such as ``s3a://``)
    are read by the executors, and an ``out`` given as a URI is written by them.

    This is the entry point for ``daybreak payments scan`` and ``daybreak demo``.
    """
    transactions, customers = _inputs(transactions, customers, engine)
    if out is not None and is_uri(out) and engine != "spark":
        raise PaymentsInputError(f"--out {out}: a URI is written by Spark (--engine spark)")
    with ExitStack() as stack:
        stack.enter_context(collector_paused())
        in_place = None
        if engine == "duckdb" and Path(transactions).suffix.lower() in (".parquet", ".pq"):
            from daybreak.engines.payments_inplace import ParquetInPlace

            # opened first: it checks the file while the pack and customers load
            in_place = stack.enter_context(ParquetInPlace(Path(transactions)))
        pack = load_pack(config)
        model = read_model(model_dir, _spark_of(engine, spark)) if model_dir else None
        if engine == "spark" and _read_by_spark(transactions):
            eng = stack.enter_context(open_engine(engine, spark))
            result = _scan_on_spark(eng, transactions, customers, pack, model, progress)
        elif in_place is not None:
            cu = read_customers(_local(customers))
            result = in_place.scan(cu, pack=pack, model=model, progress=progress)
        else:
            cu = read_customers(_local(customers))
            tx = read_transactions(Path(transactions))
            eng = stack.enter_context(open_engine(engine, spark))
            result = scan_frames(tx, cu, pack=pack, engine=eng, model=model,
                                 source=str(transactions), progress=progress)  # fmt: skip
        if out is not None:
            (progress or (lambda _msg: None))("writing results")
            _write(result, out, spark)
    return result


def _write(result: ScanResult, out: Path | str, spark: SparkSettings | None) -> None:
    """To a folder here, or to a URI (on Spark only) by Spark's executors."""
    import json

    from daybreak.engines.spark import SparkSettings, spark_session
    from daybreak.engines.spark_outputs import write_by_spark
    from daybreak.payments.scan import result_files

    if not is_uri(out):
        write_results(result, Path(out))
        return
    summary = json.dumps(result.summary, indent=2)
    session = spark_session(spark or SparkSettings())
    write_by_spark(session, str(out), result_files(result), {"summary.json": summary})


def write_model(
    out: Path | str, spark: SparkSettings | None, write: Callable[[Path], Written]
) -> Written:
    """Run ``write`` (it fills a model folder) for ``out``: a folder here, or on Spark a
    URI, the folder made in a temporary one and copied there file by file through the
    cluster's filesystem API (:func:`daybreak.engines.spark_outputs.copy_folder_to_uri`)."""
    if not is_uri(out):
        return write(Path(out))
    need_spark_for_uri("--out", out, spark)
    from daybreak.engines.spark import spark_session
    from daybreak.engines.spark_outputs import copy_folder_to_uri

    with tempfile.TemporaryDirectory(prefix="daybreak-model-") as tmp:
        written = write(Path(tmp))
        _through_hadoop(
            str(out), lambda: copy_folder_to_uri(spark_session(spark), Path(tmp), str(out))
        )
    return written


def read_model(model_dir: Path | str, spark: SparkSettings | None) -> TrainedModel:
    """A model folder here, or on Spark one under a URI (``payments train --out``),
    copied to a temporary folder through the cluster's filesystem API and checked there
    as a local one is."""
    if not is_uri(model_dir):
        return TrainedModel.load(Path(model_dir))
    need_spark_for_uri("--model", model_dir, spark)
    from daybreak.engines.spark import spark_session
    from daybreak.engines.spark_outputs import copy_folder_from_uri

    with tempfile.TemporaryDirectory(prefix="daybreak-model-") as tmp:
        _through_hadoop(
            str(model_dir),
            lambda: copy_folder_from_uri(spark_session(spark), str(model_dir), Path(tmp)),
        )
        try:
            return TrainedModel.load(Path(tmp))
        except PaymentsInputError as exc:  # named as the user gave it
            raise PaymentsInputError(str(exc).replace(tmp, str(model_dir)), exc.exit_code) from None


def _spark_of(engine: str, spark: SparkSettings | None) -> SparkSettings | None:
    """The Spark settings of a run on ``engine`` (local mode unless given), else None."""
    from daybreak.engines.spark import SparkSettings

    return (spark or SparkSettings()) if engine == "spark" else None


def need_spark_for_uri(option: str, where: Path | str, spark: SparkSettings | None) -> None:
    """A model URI goes through the cluster's filesystem API: the Spark engine only."""
    if is_uri(where) and spark is None:
        raise PaymentsInputError(
            f"{option} {where}: a URI is reached through Spark (--engine spark)"
        )


def _through_hadoop(uri: str, copy: Callable[[], object]) -> None:
    """``copy``, with the JVM's errors (no filesystem for the scheme, permissions)
    turned into one line naming ``uri``."""
    from daybreak.engines.spark import SparkConfigError

    try:
        copy()
    except SparkConfigError:
        raise
    except Exception as exc:  # Py4J's errors come from the JVM, typed by message only
        java = getattr(exc, "java_exception", None)  # the Java exception's own message
        said = str(java.getMessage()) if java is not None else str(exc).strip()
        first = (said.splitlines() or [type(exc).__name__])[0]
        raise PaymentsInputError(f"{uri}: {first}") from None


Source = Path | str  # a path, or (Spark only) a URI such as s3a://bucket/transactions/


def _inputs(
    transactions: Source, customers: Source | None, engine: str
) -> tuple[Source, Source | None]:
    """The transactions and customers files: a world folder stands for its files; a URI
    is Spark's to read."""
    for given in (transactions, customers):
        if given is not None and is_uri(given) and engine != "spark":
            raise PaymentsInputError(f"{given}: a URI input is read by Spark (--engine spark)")
    if engine == "spark":
        _refuse_source_files(transactions)
    if is_uri(transactions):
        return str(transactions), customers
    world = Path(transactions)
    if not world.is_dir():
        return world, customers
    found = world_file(world, "transactions")
    if found is not None:
        return found, customers or world_file(world, "customers")
    if engine == "spark" and _read_by_spark(world):
        return world, customers  # a folder of Parquet part files, as Spark writes them
    raise PaymentsInputError(no_world_file(world, "transactions"))


def _refuse_source_files(transactions: Source) -> None:
    """A file a source plug-in reads (ISO 20022 pacs.008 XML, say) is turned into the
    public schema by the plug-in's Python code: Spark's executors cannot run it without
    Python workers, and reading it here would put the whole input through this one
    process. It is converted once, to Parquet the cluster reads."""
    from daybreak.plugins import source_for

    source = source_for(transactions, "transactions")
    if source is not None:
        raise PaymentsInputError(
            f"{transactions}: {source.name} files are read by a source plug-in in this "
            "process, not by Spark's executors; convert it first with `daybreak sources "
            f"convert {source.name} {transactions} -o transactions.parquet` and scan the "
            "Parquet file (a path every worker mounts, or a URI)"
        )


def _read_by_spark(source: Source | None) -> bool:
    from daybreak.engines.spark_inputs import read_by_spark

    return source is not None and read_by_spark(source)


def _local(source: Source | None) -> Path | None:
    return None if source is None else Path(source)


def _scan_on_spark(
    eng: Engine,
    transactions: Source,
    customers: Source | None,
    pack: Pack,
    model: TrainedModel | None,
    progress: Progress | None,
) -> ScanResult:
    """The scan with the transactions (and customers, when in Parquet) read and checked
    by Spark's executors; only counts and results come back to this process."""
    from daybreak.engines.spark import SparkEngine

    assert isinstance(eng, SparkEngine)
    (progress or (lambda _msg: None))("reading and checking inputs on Spark")
    source = str(transactions)
    try:
        total = eng.register_files("transactions", transactions, "transactions",
                                   check_unique=False)  # fmt: skip
        if _read_by_spark(customers):
            assert customers is not None
            eng.register_files("customers", customers, "customers")
        else:
            eng.register("customers", read_customers(_local(customers)).to_arrow(
                compat_level=pl.CompatLevel.oldest()))  # fmt: skip
    except SchemaError as exc:
        raise PaymentsInputError(str(exc)) from exc
    if total == 0:
        raise PaymentsInputError(f"{source}: no transactions in the input")
    refuse_unknown_currencies(currency_counts_sql(eng.fetch, "transactions"), pack, source)
    _refuse_duplicate_ids(eng, pack, source)

    def corridor_count() -> int:
        n = int(eng.fetch(f"SELECT count(*) AS n FROM {CORRIDOR_PAYMENTS}").to_pylist()[0]["n"])
        refuse_no_corridor(n, total, pack, source)
        return n

    return scan_registered(eng, pack, model, total, corridor_count, progress)


def _refuse_duplicate_ids(eng: Engine, pack: Pack, source: str) -> None:
    """``txn_id`` must be unique among the rows the detector reads (alerts cite them);
    as on DuckDB's in-place path, the rest of the input is not counted."""
    dup = (
        eng.fetch(
            "SELECT txn_id FROM transactions t "
            f"WHERE {relevant_filter(pack, eng.dialect)} "
            "GROUP BY txn_id HAVING count(*) > 1 ORDER BY txn_id LIMIT 5"
        )
        .column("txn_id")
        .to_pylist()
    )
    refuse_duplicate_ids(dup, source)


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
