"""Backtesting metrics on hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from daybreak.payments.evaluate import Scored, evaluate, evaluate_files
from daybreak.payments.inputs import PaymentsInputError


def _labels() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "subject_type": ["customer"] * 5 + ["beneficiary"],
            "subject_id": ["A", "B", "C", "D", "E", "X"],
            "label": [1, 1, 0, 0, 1, 1],
            "scenario": [
                "careful",
                "escalation",
                "family_remitter",
                "freelancer",
                "careful",
                "facilitator",
            ],
        }
    )


def test_average_precision_counts_missed_positives() -> None:
    alerts = [Scored("customer", "A", 0.9), Scored("customer", "C", 0.8),
              Scored("customer", "B", 0.7), Scored("beneficiary", "Z", 0.1)]  # fmt: skip
    r = evaluate(alerts, _labels(), ks=(1, 2))
    # ranks: A hit (1/1), C miss, B hit (2/3), Z miss; 4 positives in truth
    assert r["all"]["average_precision"] == round((1 + 2 / 3) / 4, 4)
    assert r["all"]["precision_at_1"] == 1.0
    assert r["all"]["precision_at_2"] == 0.5
    assert r["all"]["precision"] == 0.5
    assert r["all"]["recall"] == 0.5
    assert r["customer"]["recall"] == round(2 / 3, 4)
    assert r["scenario_recall"]["customer:careful"] == {"found": 1, "total": 2, "recall": 0.5}
    assert r["scenario_recall"]["beneficiary:facilitator"]["found"] == 0
    assert r["false_alarms_by_scenario"]["customer:family_remitter"]["alerted"] == 1
    assert r["unlabelled_alerts"] == 1


def test_another_crimes_subjects_are_neither_hits_nor_false_alarms() -> None:
    labels = pl.concat([_labels(), pl.DataFrame({
        "subject_type": ["beneficiary"], "subject_id": ["S"], "label": [0],
        "scenario": ["sextortion_handle"]})])  # fmt: skip
    alerts = [Scored("beneficiary", "S", 0.95), Scored("customer", "A", 0.9)]
    r = evaluate(alerts, labels, ks=(1,))
    # S is left out of the ranking: A ranks first (1/1 over 4 positives)
    assert r["all"]["average_precision"] == round(1 / 4, 4)
    assert r["all"]["precision_at_1"] == 1.0
    assert r["other_crimes"] == {"alerted": 1, "total": 1}
    assert "beneficiary:sextortion_handle" not in r["false_alarms_by_scenario"]
    assert r["unlabelled_alerts"] == 0


def test_evaluate_files_reports_a_bad_line(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text('{"subject_type": "customer", "subject_id": "A", "score": 1}\nnot json\n')
    truth = tmp_path / "truth"
    truth.mkdir()
    _labels().write_csv(truth / "labels.csv")
    with pytest.raises(PaymentsInputError, match=r"alerts\.jsonl, line 2"):
        evaluate_files(alerts, truth)
    alerts.write_text('{"subject_type": "customer", "subject_id": "A", "score": 1}\n')
    with pytest.raises(PaymentsInputError, match="labels file not found"):
        evaluate_files(alerts, tmp_path / "nowhere")
