"""Where Spark runs comes from the command line, then the environment (no JVM here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.engines.spark import Exchange, SparkConfigError, SparkSettings


def test_the_command_line_wins_over_the_environment() -> None:
    env = {"DAYBREAK_SPARK_MASTER": "spark://a:7077", "SPARK_REMOTE": "sc://b:15002"}
    s = SparkSettings.from_environment("spark://c:7077", env=env)
    assert (s.master, s.mode, s.remote) == ("spark://c:7077", "cluster", None)
    assert SparkSettings.from_environment(env=env).master == "spark://a:7077"


def test_spark_remote_alone_selects_spark_connect() -> None:
    s = SparkSettings.from_environment(env={"SPARK_REMOTE": "sc://b:15002"})
    assert (s.mode, s.remote) == ("connect", "sc://b:15002")
    via_conf = SparkSettings.from_environment(conf=["spark.remote=sc://c:15002"], env={})
    assert (via_conf.mode, via_conf.remote) == ("connect", "sc://c:15002")


def test_no_master_is_local_mode_unless_under_spark_submit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert SparkSettings.from_environment(env={}).mode == "local"
    assert SparkSettings(master="local[4]").mode == "local"
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "41234")  # what spark-submit sets
    assert SparkSettings.from_environment(env={}).mode == "submitted"


def test_settings_file_then_command_line(tmp_path: Path) -> None:
    props = tmp_path / "spark.conf"
    props.write_text(
        "# cluster\nspark.sql.shuffle.partitions 400\nspark.executor.memory=8g\n\n", "utf-8"
    )
    s = SparkSettings.from_environment(
        conf=["spark.sql.shuffle.partitions=64"],
        env={"DAYBREAK_SPARK_CONF_FILE": str(props), "DAYBREAK_SPARK_EXCHANGE": "/mnt/x"},
    )
    assert dict(s.conf) == {"spark.sql.shuffle.partitions": "64", "spark.executor.memory": "8g"}
    assert s.exchange == "/mnt/x"


def test_bad_settings_name_the_file_line_or_item(tmp_path: Path) -> None:
    props = tmp_path / "spark.conf"
    props.write_text("spark.ok 1\nlonely\n", "utf-8")
    with pytest.raises(SparkConfigError, match=r"spark.conf, line 2: expected 'key value'"):
        SparkSettings.from_environment(env={"DAYBREAK_SPARK_CONF_FILE": str(props)})
    with pytest.raises(SparkConfigError, match="expected KEY=VALUE"):
        SparkSettings.from_environment(conf=["spark.sql.shuffle.partitions"], env={})
    with pytest.raises(SparkConfigError, match="cannot read"):
        SparkSettings.from_environment(env={"DAYBREAK_SPARK_CONF_FILE": str(tmp_path / "no")})


def test_an_exchange_must_be_reachable_by_every_worker(tmp_path: Path) -> None:
    with pytest.raises(SparkConfigError, match="absolute path every worker mounts"):
        Exchange("relative/folder")
    ex = Exchange(str(tmp_path))
    (run,) = list(tmp_path.iterdir())  # one folder of this run's own
    assert run.name.startswith("daybreak-")
    ex.remove()
    assert list(tmp_path.iterdir()) == []


def test_spark_options_need_the_spark_engine(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["payments", "scan", "-t", str(tmp_path),
                                   "--spark-master", "spark://h:7077"])  # fmt: skip
    assert res.exit_code == 2
    assert "need the spark engine" in res.output
