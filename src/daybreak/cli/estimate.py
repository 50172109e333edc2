"""`daybreak estimate`: how many people none of the sources saw (multiple-systems
estimation, :mod:`daybreak.graph.estimate`), overall or per stratum."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from daybreak.cli._store import DataDir, Dev, Org, known_org, open_store
from daybreak.cli.common import fail, out
from daybreak.graph.estimate import (
    EstimateReport,
    EstimationError,
    StratumEstimate,
    capture_table,
    estimate,
)
from daybreak.store.auth import operator_in

REQUIRED = ("person", "list")


def _read(path: Path, by: list[str]) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        fail(f"{path}: cannot read it ({exc})")
    missing = [c for c in (*REQUIRED, *by) if c not in frame.columns]
    if missing:
        fail(f"{path}: no column {', '.join(missing)}; expected person, list and the --by columns")
    frame = frame.select([pl.col(c).cast(pl.String) for c in (*REQUIRED, *by)])
    blank = frame.with_row_index("row", offset=2).filter(
        pl.any_horizontal(pl.col(c).is_null() for c in (*REQUIRED, *by))
    )
    if blank.height:
        fail(f"{path}: row {blank['row'][0]} has an empty person, list or --by value")
    if by:
        strata = frame.group_by("person").agg(pl.struct(by).n_unique().alias("n"))
        torn = strata.filter(pl.col("n") > 1)
        if torn.height:
            fail(f"{path}: person {torn['person'][0]!r} is in more than one stratum of {by}")
    return frame


def estimate_report(
    frame: pl.DataFrame, by: list[str], level: float, replicates: int, seed: int
) -> EstimateReport:
    """An estimate for everyone, then one per stratum of the ``by`` columns. A list
    that sees no one in a stratum carries no information there and is left out of its
    estimate (each estimate names the lists it used)."""
    lists = sorted(frame["list"].unique().to_list())
    groups = [((), frame)] if not by else [((), frame), *sorted(frame.group_by(by))]
    strata = []
    for key, part in groups:
        label = "all" if not key else ", ".join(f"{c}={v}" for c, v in zip(by, key, strict=True))
        people = part.group_by("person").agg(pl.col("list").unique())["list"].to_list()
        here = sorted(part["list"].unique().to_list())
        try:
            found = estimate(
                capture_table(people, here), level=level, replicates=replicates, seed=seed
            )
        except EstimationError as exc:
            strata.append(StratumEstimate(label, None, str(exc)))
            continue
        strata.append(StratumEstimate(label, found))
    return EstimateReport(tuple(lists), tuple(by), level, tuple(strata))


def estimate_command(
    sightings: Path = typer.Argument(
        ...,
        help="CSV or Parquet: one row per person and list they are on (columns "
        "person, list; plus any --by columns), e.g. resolved entities and their sources.",
    ),
    by: list[str] = typer.Option([], "--by", help="Estimate per value of this column too."),
    level: float = typer.Option(0.95, min=0.5, max=0.99, help="Interval level."),
    replicates: int = typer.Option(200, min=20, help="Bootstrap replicates."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    db: str | None = typer.Option(
        None, "--db", help="Also keep the run in this store (the console's dashboards show it)."
    ),
    data_dir: Path = DataDir,
    dev: bool = Dev,
    org: str = Org,
) -> None:
    report = estimate_report(_read(sightings, by), by, level, replicates, seed)
    for stratum in report.strata:
        out.print(f"[bold]{stratum.label}[/]", highlight=False)
        if stratum.estimate is None:
            out.print(f"  no estimate: {stratum.error}", highlight=False)
        else:
            out.print("  " + stratum.estimate.summary().replace("\n", "\n  "), highlight=False)
    if db is not None:
        store = open_store(data_dir, db, dev)
        try:
            stored = store.estimates.save(operator_in(known_org(store, org)), report)
        finally:
            store.close()
        out.print(f"kept in the store as {stored.estimate_id} (organisation {org})")
