"""End to end on small synthetic worlds: quality bar, careful payers, train and --model."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.engines.payments import scan
from daybreak.payments.evaluate import Scored, evaluate, read_labels

synth = pytest.importorskip("daybreak.synth")


_WORLDS: dict[str, Path] = {}


def _world(profile: str, factory: pytest.TempPathFactory) -> Path:
    if profile not in _WORLDS:
        out = factory.mktemp(f"world-{profile}")
        synth.write_world(synth.generate_world(2500, 12, 3, profile), out, "parquet")
        _WORLDS[profile] = out
    return _WORLDS[profile]


@pytest.fixture(scope="module", params=["default", "uk-careful"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _world(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _world("default", tmp_path_factory)


def test_average_precision_and_careful_payers(world: Path, tmp_path: Path) -> None:
    result = scan(world, tmp_path / "res")
    report = evaluate(
        [Scored(a.subject_type, a.subject_id, a.score) for a in result.alerts],
        read_labels(world / "truth"),
    )
    assert report["all"]["average_precision"] >= 0.9, report["all"]
    careful = report["scenario_recall"].get("customer:careful")
    if careful:  # the careful payers show few signs; most must still be found
        assert careful["recall"] >= 0.5, careful
    assert report["all"]["precision"] >= 0.8, report["all"]


def test_train_writes_a_model_card_and_scan_uses_the_model(
    default_world: Path, tmp_path: Path
) -> None:
    world = default_world
    from typer.testing import CliRunner

    from daybreak.cli.payments import app

    runner = CliRunner()
    model = tmp_path / "model"
    res = runner.invoke(app, ["train", "-t", str(world), "--labels",
                              str(world / "truth" / "labels.csv"), "--out", str(model)])  # fmt: skip
    assert res.exit_code == 0, res.output
    card = (model / "MODEL_CARD.md").read_text()
    for heading in ("## Data", "## Features", "## Metrics", "## Limits"):
        assert heading in card
    assert "`night_share`" in card
    result = scan(world, tmp_path / "res", model_dir=model)
    assert "+model:" in result.summary["version"]
    report = evaluate(
        [Scored(a.subject_type, a.subject_id, a.score) for a in result.alerts],
        read_labels(world / "truth"),
    )
    assert report["all"]["average_precision"] >= 0.85, report["all"]
    assert all(a.explanation and a.evidence_ids for a in result.alerts)


def _one_row_group_per_sender_country(world: Path, out: Path, drop: tuple[str, ...]) -> Path:
    """The world's files with the transactions sent from ``drop`` left out and each sender
    country in row groups of its own, so the file's statistics show that no row group
    holds a payment sent from those countries."""
    import polars as pl
    import pyarrow.parquet as pq

    out.mkdir()
    txns = pl.read_parquet(world / "transactions.parquet")
    kept = txns.filter(~pl.col("sender_country").is_in(list(drop))).sort("sender_country")
    with pq.ParquetWriter(out / "transactions.parquet", kept.to_arrow().schema) as writer:
        for _, part in kept.group_by("sender_country", maintain_order=True):
            writer.write_table(part.to_arrow())
    (out / "customers.parquet").write_bytes((world / "customers.parquet").read_bytes())
    return out


@pytest.mark.parametrize("wide_first", [True, False])
def test_the_in_place_parquet_scan_matches_the_in_memory_scan(
    world: Path, wide_first: bool, tmp_path: Path
) -> None:
    """Large Parquet files take their own path (read where they lie, validated as they
    are read, customers narrowed to those the detector reads); it must agree exactly,
    whichever order of filters the file's statistics allow."""
    import polars as pl

    from daybreak.engines.payments import scan_frames
    from daybreak.engines.payments_inplace import ParquetInPlace
    from daybreak.payments.config import load_pack

    pack = load_pack()
    if wide_first:
        world = _one_row_group_per_sender_country(world, tmp_path / "w", pack.corridor_countries)
    with ParquetInPlace(world / "transactions.parquet") as opened:
        assert opened.reads_wide_first(pack) == wide_first
    in_place = scan(world)
    in_memory = scan_frames(
        pl.read_parquet(world / "transactions.parquet"),
        pl.read_parquet(world / "customers.parquet"),
    )
    assert in_place.alerts_table.height > 0
    assert in_place.alerts_table.equals(in_memory.alerts_table)
    for got, want in ((in_place.customer_scores, in_memory.customer_scores),
                      (in_place.beneficiary_scores, in_memory.beneficiary_scores)):  # fmt: skip
        assert got.columns == want.columns and got.height == want.height
        numeric = [c for c, t in want.schema.items() if t.is_numeric()]
        diff = got.select(numeric) - want.select(numeric)
        assert max(abs(v) for v in diff.max().row(0) + diff.min().row(0) if v is not None) < 1e-9
        texts = [c for c in want.columns if c not in numeric]
        assert got.select(texts).equals(want.select(texts))
