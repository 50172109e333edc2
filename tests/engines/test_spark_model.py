"""`payments train --out` and `payments scan --model` given as URIs on Spark: the model
folder is copied file by file through the cluster's filesystem API (Hadoop's, with the
session's storage settings), byte for byte, and read back the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daybreak.cli.payments import app
from daybreak.engines.spark import SMALL_DATA_CONF, SparkConfigError

synth = pytest.importorskip("daybreak.synth")

SPARK = ["--engine", "spark", *[a for k, v in SMALL_DATA_CONF.items()
                                for a in ("--spark-conf", f"{k}={v}")]]  # fmt: skip


@pytest.fixture(scope="module")
def labelled_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model-world") / "world"
    synth.write_world(synth.generate_world(1000, 6, 3), out, "parquet")
    return out


def _train(world: Path, out: str, *args: str) -> str:
    res = CliRunner().invoke(app, ["train", "-t", str(world), "--labels",
                                   str(world / "truth" / "labels.csv"), "--out", out, *args])  # fmt: skip
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.spark
@pytest.mark.slow
def test_train_on_spark_writes_the_model_to_a_uri_and_scan_reads_it_from_there(
    java_home: str, labelled_world: Path, tmp_path: Path
) -> None:
    from daybreak.payments.model import TrainedModel

    shared = tmp_path / "shared" / "model"
    _train(labelled_world, shared.as_uri() + "/", *SPARK)
    # each a file (not a folder of part files, as Spark's table writers make), the
    # pickles byte for byte (the manifest's checksums)
    names = {p.name for p in shared.iterdir() if p.is_file()}
    assert {"manifest.json", "MODEL_CARD.md", "rule_calibration.yaml", "customer.pkl"} <= names
    assert names == {p.name for p in shared.iterdir()}
    assert TrainedModel.load(shared).subjects
    # read back from the URI on Spark: the alerts of the same model read from the folder
    # by a DuckDB scan
    alerts = []
    for model, args in ((shared.as_uri(), SPARK), (str(shared), [])):
        out = tmp_path / f"scan{len(alerts)}"
        res = CliRunner().invoke(app, ["scan", "-t", str(labelled_world), "--model", model,
                                       "-o", str(out), *args])  # fmt: skip
        assert res.exit_code == 0, res.output
        assert "+model:" in json.loads((out / "summary.json").read_text("utf-8"))["version"]
        alerts.append((out / "alerts.jsonl").read_text("utf-8"))
    assert alerts[0] and alerts[1] == alerts[0]


def test_a_model_uri_needs_the_spark_engine(labelled_world: Path, tmp_path: Path) -> None:
    for args in (
        ["train", "-t", str(labelled_world), "--labels", str(labelled_world / "truth" / "labels.csv"),
         "--out", (tmp_path / "m").as_uri()],
        ["scan", "-t", str(labelled_world), "--model", (tmp_path / "m").as_uri(),
         "-o", str(tmp_path / "res")],
    ):  # fmt: skip
        res = CliRunner().invoke(app, args)
        assert res.exit_code != 0
        assert "a URI is reached through Spark (--engine spark)" in res.output
    assert not (tmp_path / "m").exists() and not (tmp_path / "res").exists()


@pytest.mark.spark
def test_a_missing_model_uri_and_an_unknown_scheme_are_named(
    java_home: str, labelled_world: Path, tmp_path: Path
) -> None:
    missing = (tmp_path / "nothing").as_uri()
    res = CliRunner().invoke(app, ["scan", "-t", str(labelled_world), "--model", missing,
                                   "-o", str(tmp_path / "res"), *SPARK])  # fmt: skip
    assert res.exit_code != 0 and f"{missing}: not found" in res.output
    res = CliRunner().invoke(app, ["scan", "-t", str(labelled_world), "--model",
                                   "nosuchfs://bucket/model", "-o", str(tmp_path / "res"), *SPARK])  # fmt: skip
    assert res.exit_code != 0 and "nosuchfs://bucket/model: " in res.output
    assert "No FileSystem for scheme" in res.output


def test_a_session_without_a_driver_here_cannot_copy_files(tmp_path: Path) -> None:
    # A Spark Connect session has no driver JVM in this process (no ``_jsc``).
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    from daybreak.engines.spark_outputs import copy_folder_to_uri

    assert not hasattr(ConnectSession, "_jsc")
    with pytest.raises(SparkConfigError, match="Spark Connect session does not have"):
        copy_folder_to_uri(object.__new__(ConnectSession), tmp_path, "s3a://bucket/model")
