"""The shared detector test kit: it passes a good detector and catches bad ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.detectors import Detector
from daybreak.detectors.info import detectors
from daybreak.engines.payments import PaymentsDetector
from daybreak.graph.signals import alerts_from_reports
from daybreak.media.detector import MediaDetector, MediaInput
from daybreak.media.sightings import demo_matcher, match_sightings, sighting_alerts
from daybreak.model.alerts import Alert
from daybreak.payments import PaymentsInput
from daybreak.testing import check_detector, check_detector_info
from daybreak.tipline.detector import TiplineDetector, tipline_input
from payments.tiny import tiny_world


def test_payments_detector_passes_the_kit() -> None:
    tx, cu = tiny_world()
    alerts = check_detector(
        PaymentsDetector(), PaymentsInput(tx, cu), evidence_ids=set(tx["txn_id"].to_list())
    )
    assert {a.subject_id for a in alerts if a.subject_type == "customer"} >= {"C1", "C2"}


@dataclass
class _Fake:
    alerts: list[Alert]
    id: str = "fake"
    version: str = "1"

    def detect(self, data: object) -> Sequence[Alert]:
        return list(self.alerts)


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = dict(
        alert_id="a1", detector="fake", subject_type="customer", subject_id="C1", score=0.5,
        explanation="why", evidence_ids=("T1",),
    )  # fmt: skip
    base.update(kw)
    return Alert.model_validate(base)


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ([_alert(evidence_ids=("T404",))], "do not exist"),
        ([_alert(explanation="  ")], "empty explanation"),
        ([_alert(detector="other")], "detector is other"),
        ([_alert(score=0.1), _alert(alert_id="a2", score=0.9)], "not sorted"),
        ([_alert(), _alert()], "duplicate alert id"),
    ],
)
def test_kit_catches_broken_detectors(alerts: list[Alert], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_detector(_Fake(alerts), None, evidence_ids={"T1"})


def test_kit_catches_nondeterminism() -> None:
    class Flaky(_Fake):
        calls = 0

        def detect(self, data: object) -> Sequence[Alert]:
            self.calls += 1
            return [_alert(score=0.5 if self.calls == 1 else 0.6)]

    with pytest.raises(AssertionError, match="deterministic"):
        check_detector(Flaky([]), None, evidence_ids={"T1"})


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from daybreak.synth import generate_world, write_world

    folder = tmp_path_factory.mktemp("world")
    world = generate_world(200, 2, 5)
    write_world(world, folder)
    return folder, world


def test_every_built_in_detector_is_registered_and_implements_the_protocol() -> None:
    infos = detectors()
    for name in ("payments", "tipline", "media"):
        assert infos[name].name == name and infos[name].reads
    assert isinstance(TiplineDetector(), Detector)


def test_tipline_detector_passes_the_kit(small_world: tuple[Path, Any]) -> None:
    folder, world = small_world
    ids = set(world.reports["report_id"].to_list())
    alerts = check_detector_info(detectors()["tipline"], folder, ids)
    assert {a.subject_id for a in alerts} == ids  # one alert per report
    # the same alerts the case builder fuses, only ordered by score
    plain = alerts_from_reports(tipline_input(folder).reports)
    assert sorted(alerts, key=lambda a: a.alert_id) == sorted(plain, key=lambda a: a.alert_id)


def test_media_detector_passes_the_kit(small_world: tuple[Path, Any], tmp_path: Path) -> None:
    folder, world = small_world
    sightings = world.media_sightings
    matcher = demo_matcher(sightings, tmp_path / "banks", share=0.5)
    detector = MediaDetector(matcher)
    alerts = check_detector(
        detector, MediaInput(sightings), set(sightings["sighting_id"].to_list())
    )
    assert all(a.subject_type == "account" and a.hash_matches for a in alerts)
    assert sorted(alerts, key=lambda a: a.alert_id) == sorted(
        sighting_alerts(match_sightings(sightings, matcher)), key=lambda a: a.alert_id
    )
    # from the CLI, with the bank in a media folder: the same alerts, as JSON lines
    out = tmp_path / "media.jsonl"
    done = CliRunner().invoke(
        app,
        ["detect", "media", "--world", str(folder), "--out", str(out),
         "--media-home", str(tmp_path)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    written = [Alert.model_validate_json(line) for line in out.read_text().splitlines()]
    assert written == list(alerts)


def test_detect_cli_runs_a_plugin_and_names_bad_input(
    small_world: tuple[Path, Any], tmp_path: Path
) -> None:
    folder, _ = small_world
    out = tmp_path / "round.jsonl"
    args = ["detect", "round_amounts", "--world", str(folder), "--out", str(out)]
    done = CliRunner().invoke(app, [*args, "--min-payments", "1"])
    assert done.exit_code == 0, done.output
    assert "alert(s) from round_amounts 1" in done.output
    assert out.read_text().count("\n") >= 1
    missing = CliRunner().invoke(app, ["detect", "tipline", "--world", str(tmp_path),
                                       "--out", str(out)])  # fmt: skip
    assert missing.exit_code == 2 and "no reports.parquet or reports.csv" in missing.output
