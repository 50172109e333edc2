"""The shared detector test kit: it passes a good detector and catches bad ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from daybreak.model.alerts import Alert
from daybreak.payments import PaymentsDetector, PaymentsInput
from daybreak.testing import check_detector
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
