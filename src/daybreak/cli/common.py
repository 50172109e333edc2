"""Helpers shared by the CLI modules: clear errors, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from daybreak.engines.spark import SparkSettings

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (2 = bad input)."""
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def spinner() -> Progress:
    """A spinner with the step's description and elapsed time on stderr, cleared when
    done: for long steps whose length is not known."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # when used

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=err, transient=True)  # fmt: skip


# The Spark options of every command with a Spark path (payments scan and train, graph
# build, cases build); docs/operations.md shows them against a cluster.
SPARK_MASTER = typer.Option(
    None,
    "--spark-master",
    help="Spark master: spark://host:7077, yarn, k8s://…, local[N], or sc://host:15002 for "
    "Spark Connect (default: DAYBREAK_SPARK_MASTER, SPARK_REMOTE, the spark-submit "
    "session, else local mode).",
)
SPARK_CONF = typer.Option(
    [],
    "--spark-conf",
    help="Spark setting KEY=VALUE (repeatable), over DAYBREAK_SPARK_CONF_FILE.",
)
SPARK_EXCHANGE = typer.Option(
    None,
    "--spark-exchange",
    help="URI every Spark worker reaches (shared mount, hdfs://, s3a://) for data in and "
    "out as Parquet (default: DAYBREAK_SPARK_EXCHANGE, else through Spark itself).",
)


def spark_settings(
    engine: str, master: str | None, conf: list[str], exchange: str | None
) -> SparkSettings | None:
    """The Spark settings of a command, or None when it does not run on Spark."""
    from daybreak.engines.spark import SparkConfigError, SparkSettings

    if engine != "spark":
        if master or conf or exchange:
            fail("--spark-master/--spark-conf/--spark-exchange need the spark engine")
        return None
    try:
        return SparkSettings.from_environment(master, conf, exchange)
    except SparkConfigError as exc:
        fail(str(exc))
