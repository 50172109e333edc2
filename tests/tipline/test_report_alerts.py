from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from daybreak.tipline import report_alerts


def test_one_alert_per_report_carries_the_cluster_triage() -> None:
    summary = SimpleNamespace(
        cluster_id="CL-1",
        tier=1,
        score=0.93,
        report_ids=["R1", "R2"],
        reasons=["tier 1: live now", "+0.03 IP capture"],
        last_received=datetime(2025, 3, 1, tzinfo=UTC),
    )
    alerts = report_alerts(summary)  # type: ignore[arg-type]
    assert [a.subject_id for a in alerts] == ["R1", "R2"]
    assert all(a.subject_type == "report" and a.detector == "tipline" for a in alerts)
    assert {a.score for a in alerts} == {0.93}
    assert alerts[0].evidence_ids == ("R1",)
    assert alerts[0].explanation == "tier 1: live now; +0.03 IP capture"
    assert alerts[0].typologies == ("icac_tier_1",)
