"""The test kit every detector must pass (built-ins and plug-ins alike).

    from daybreak.testing import check_detector
    check_detector(MyDetector(), data, evidence_ids={...all record ids in data...})

It checks what any consumer of alerts relies on: the detector is deterministic, every
alert has a non-empty explanation, scores are in [0, 1] and sorted highest first, alert
ids are unique, evidence ids name records that exist, and ``detector`` is the
detector's id. :func:`check_detector_info` checks a registered detector's description
and runs the kit on its own input read from a world folder.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from daybreak.detectors import Detector
from daybreak.detectors.info import DetectorInfo
from daybreak.model.alerts import Alert


def check_detector(
    detector: Detector[Any],
    data: Any,
    evidence_ids: Collection[str],
    *,
    expect_alerts: bool = True,
) -> Sequence[Alert]:
    assert isinstance(detector, Detector), "does not implement the Detector protocol"
    assert detector.id and detector.version, "id and version must be non-empty"
    first = list(detector.detect(data))
    second = list(detector.detect(data))
    assert first == second, "detector is not deterministic: two runs gave different alerts"
    if expect_alerts:
        assert first, "expected at least one alert on this data"
    known = set(evidence_ids)
    seen_ids: set[str] = set()
    for alert in first:
        assert isinstance(alert, Alert)
        assert alert.detector == detector.id, f"{alert.alert_id}: detector is {alert.detector}"
        assert 0.0 <= alert.score <= 1.0, f"{alert.alert_id}: score {alert.score} not in [0, 1]"
        assert alert.explanation.strip(), f"{alert.alert_id}: empty explanation"
        assert alert.alert_id not in seen_ids, f"duplicate alert id {alert.alert_id}"
        seen_ids.add(alert.alert_id)
        missing = [e for e in alert.evidence_ids if e not in known]
        assert not missing, f"{alert.alert_id}: evidence ids that do not exist: {missing[:5]}"
    scores = [a.score for a in first]
    assert scores == sorted(scores, reverse=True), "alerts are not sorted by score"
    return first


def check_detector_info(
    info: DetectorInfo,
    world: Path,
    evidence_ids: Collection[str],
    *,
    expect_alerts: bool = True,
    **options: Any,
) -> Sequence[Alert]:
    """A registered detector: its description is complete, the detector it makes agrees
    with it, and it passes :func:`check_detector` on input read from ``world``."""
    assert info.name.isidentifier(), f"name {info.name!r} is not an identifier"
    assert info.label.strip() and info.description.strip(), f"{info.name}: label/description"
    detector = info.create(**options)
    assert detector.id == info.name, f"{info.name}: the detector's id is {detector.id!r}"
    data = info.input_from_world(world)
    return check_detector(detector, data, evidence_ids, expect_alerts=expect_alerts)
