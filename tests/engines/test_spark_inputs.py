"""Parquet inputs on Spark are read by the executors where they lie, not by the driver,
and checked there against the public schema with errors naming file, row and column."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from daybreak.engines.payments import scan
from daybreak.payments.inputs import PaymentsInputError
from payments.tiny import tiny_world


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tx, cu = tiny_world()
    folder = tmp_path_factory.mktemp("tiny-parquet")
    tx.write_parquet(folder / "transactions.parquet")
    cu.write_parquet(folder / "customers.parquet")
    return folder / "transactions.parquet", folder / "customers.parquet"


def _small() -> object:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkSettings

    return SparkSettings(conf=SMALL_DATA_CONF)


def _spark_scan(transactions: Path | str, customers: Path | str | None) -> object:
    return scan(transactions, customers=customers, engine="spark", spark=_small())  # type: ignore[arg-type]


@pytest.mark.spark
def test_registered_files_are_a_scan_of_the_files_not_rows_sent_from_the_driver(
    java_home: str, tiny_files: tuple[Path, Path]
) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine, spark_session

    tx_file, _ = tiny_files
    with SparkEngine(SMALL_DATA_CONF) as eng:
        rows = eng.register_files("transactions", str(tx_file), "transactions")
        frame = spark_session().table("transactions")
        # Spark's own plan: the view reads the file (a file scan the executors run);
        # rows sent up by the driver (createDataFrame) would list no input file.
        assert frame.inputFiles() == [tx_file.resolve().as_uri()]
        assert rows == pl.read_parquet(tx_file).height
    sent = spark_session().createDataFrame(pl.read_parquet(tx_file).to_arrow())
    assert sent.inputFiles() == []


@pytest.mark.spark
def test_scan_of_parquet_files_on_spark_equals_duckdb(
    java_home: str, tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx_file, cu_file = tiny_files
    duck = scan(tx_file, customers=cu_file)
    # A folder of part files, as Spark writes them, given as a file:// URI.
    parts = tmp_path / "tx-parts"
    parts.mkdir()
    tx = pl.read_parquet(tx_file)
    half = tx.height // 2
    tx.head(half).write_parquet(parts / "part-00000.parquet")
    tx.tail(tx.height - half).write_parquet(parts / "part-00001.parquet")
    for source in (tx_file, parts.as_uri()):
        spark = _spark_scan(source, cu_file.as_uri())
        assert duck.alerts, "the tiny world must produce alerts"
        assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]  # type: ignore[attr-defined]
        assert spark.summary["transactions"] == tx.height  # type: ignore[attr-defined]


@pytest.mark.spark
def test_bad_values_are_named_by_part_file_row_and_column(
    java_home: str, tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx_file, cu_file = tiny_files
    tx = pl.read_parquet(tx_file).with_row_index("i")
    bad = tx.with_columns(
        receiver_country=pl.when(pl.col("i") == 4).then(pl.lit("XX")).otherwise("receiver_country"),
        sender_name=pl.when(pl.col("i").is_in([6, 9])).then(pl.lit("  ")).otherwise("sender_name"),
    ).drop("i")
    path = tmp_path / "bad.parquet"
    bad.write_parquet(path)
    with pytest.raises(PaymentsInputError) as caught:
        _spark_scan(path, cu_file)
    text = str(caught.value)
    assert f"{path}, row 5, column 'receiver_country'" in text, text
    assert "ISO 3166-1" in text
    assert f"{path}, row 7, column 'sender_name'" in text, text
    assert "(2 rows in all)" in text


@pytest.mark.spark
def test_header_problems_and_duplicate_ids_are_refused(
    java_home: str, tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx_file, cu_file = tiny_files
    tx = pl.read_parquet(tx_file)
    cases = {
        "missing.parquet": (tx.drop("channel"), "missing column(s) ['channel']"),
        "naive.parquet": (
            tx.with_columns(pl.col("timestamp").dt.replace_time_zone(None)),
            "expected a UTC timestamp",
        ),
        "dup.parquet": (
            tx.with_columns(txn_id=pl.lit("T00001")),
            "duplicate id(s) 'T00001'",
        ),
    }
    for name, (frame, expected) in cases.items():
        frame.write_parquet(tmp_path / name)
        with pytest.raises(PaymentsInputError, match=re.escape(expected)):
            _spark_scan(tmp_path / name, cu_file)
    customers = pl.read_parquet(cu_file)
    pl.concat([customers, customers.head(1)]).write_parquet(tmp_path / "cu.parquet")
    with pytest.raises(PaymentsInputError) as caught:
        _spark_scan(tx_file, tmp_path / "cu.parquet")
    assert f"row {customers.height + 1}, column 'customer_id': duplicate id" in str(caught.value)
    with pytest.raises(PaymentsInputError, match="Spark cannot read it as Parquet"):
        _spark_scan(tmp_path / "nowhere.parquet", cu_file)


def test_a_uri_needs_the_spark_engine(tiny_files: tuple[Path, Path]) -> None:
    tx_file, _ = tiny_files
    with pytest.raises(PaymentsInputError, match="a URI input is read by Spark"):
        scan(tx_file.as_uri())


@pytest.mark.spark
def test_csv_inputs_are_read_by_the_executors_and_scan_as_on_duckdb(
    java_home: str, tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine, spark_session

    tx_file, cu_file = tiny_files
    tx_csv, cu_csv = tmp_path / "transactions.csv", tmp_path / "customers.csv"
    pl.read_parquet(tx_file).write_csv(tx_csv)
    pl.read_parquet(cu_file).write_csv(cu_csv)
    duck = scan(tx_csv, customers=cu_csv)
    spark = _spark_scan(tx_csv, cu_csv)
    assert duck.alerts, "the tiny world must produce alerts"
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]  # type: ignore[attr-defined]
    with SparkEngine(SMALL_DATA_CONF) as eng:
        eng.register_files("transactions", tx_csv, "transactions")
        assert spark_session().table("transactions").inputFiles() == [tx_csv.resolve().as_uri()]


def test_source_plugin_files_are_refused_on_spark_with_the_conversion_to_run(
    tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    from payments.pacs import write_pacs008

    tx_file, _ = tiny_files
    xml = tmp_path / "batch.xml"
    write_pacs008(pl.read_parquet(tx_file).head(3), xml)
    with pytest.raises(PaymentsInputError) as caught:
        scan(xml, engine="spark")
    assert f"daybreak sources convert pacs008 {xml} -o transactions.parquet" in str(caught.value)
    assert len(scan(xml).summary) > 0  # DuckDB reads it through the plug-in in this process


@pytest.mark.spark
def test_results_to_a_uri_are_written_by_spark(
    java_home: str, tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    import json

    from daybreak.payments.scan import write_results

    tx_file, cu_file = tiny_files
    result = _spark_scan(tx_file, cu_file)
    local = tmp_path / "local"
    write_results(result, local)  # type: ignore[arg-type]
    shared = tmp_path / "shared"
    scan(tx_file, shared.as_uri(), customers=cu_file, engine="spark", spark=_small())  # type: ignore[arg-type]
    for name in ("alerts.parquet", "customer_scores.parquet", "beneficiary_scores.parquet"):
        # a folder of Spark's part files, the same rows as the local file
        parts = list((shared / name).glob("part-*.parquet"))
        assert len(parts) == 1, name
        assert pl.read_parquet(parts[0]).to_dicts() == pl.read_parquet(local / name).to_dicts()
    lines = [p.read_text("utf-8") for p in (shared / "alerts.jsonl").glob("part-*.json")]
    got = [json.loads(line) for text in lines for line in text.splitlines()]
    want = [json.loads(line) for line in (local / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert got == want and got
    (summary,) = (shared / "summary.json").glob("part-*.txt")
    assert json.loads(summary.read_text("utf-8")) == json.loads(
        (local / "summary.json").read_text("utf-8")
    )


def test_results_to_a_uri_need_the_spark_engine(
    tiny_files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx_file, cu_file = tiny_files
    with pytest.raises(PaymentsInputError, match="a URI is written by Spark"):
        scan(tx_file, (tmp_path / "out").as_uri(), customers=cu_file)
