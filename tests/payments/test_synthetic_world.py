"""End to end on small synthetic worlds: quality bar, careful payers, train and --model."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak.payments.evaluate import Scored, evaluate, read_labels
from daybreak.payments.scan import scan

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
