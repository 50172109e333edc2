"""The tipline detector: reports (and, when triaged, their clusters) as alerts.

With a triaged queue (:func:`daybreak.tipline.load_world_reports`) each report carries
its cluster's ICAC-style tier and reasons; without one (a world folder read directly),
each report is scored by how strongly its type alone suggests a child at risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from daybreak.model.alerts import Alert

DETECTOR_ID = "tipline"
VERSION = "1"  # change when the scores below or the triage rules change

# How strongly a report type alone suggests a child at risk (before corroboration).
INCIDENT_SCORES: dict[str, float] = {
    "live_streaming_abuse": 0.8,
    "child_sex_trafficking": 0.8,
    "sextortion": 0.7,
    "online_enticement": 0.65,
    "grooming": 0.6,
    "child_sexual_abuse_material": 0.6,
    "other": 0.4,
}
LIVE_SCORE = 0.95  # a stream reported while it is running
TRUSTED_REPORTERS = ("platform", "law_enforcement")
MAX_REPORT_SCORE = 0.97  # one report alone is never certainty


def alerts_from_reports(reports: pl.DataFrame) -> list[Alert]:
    """One alert per report, in report order; the report id is subject and evidence."""
    out: list[Alert] = []
    for row in reports.iter_rows(named=True):
        incident = str(row["incident_type"])
        score = INCIDENT_SCORES.get(incident, INCIDENT_SCORES["other"])
        why = [f"{row['reporter_type']} report of {incident.replace('_', ' ')}"]
        if row.get("is_live"):
            score = max(score, LIVE_SCORE)
            why.append("the stream was live when reported")
        if row["reporter_type"] in TRUSTED_REPORTERS:
            score = min(MAX_REPORT_SCORE, score + 0.05)
        age = row.get("victim_age_estimate")
        if age is not None:
            why.append(f"victim age estimate {age}")
        out.append(
            Alert(
                alert_id=f"tipline:{row['report_id']}",
                detector=DETECTOR_ID,
                subject_type="report",
                subject_id=str(row["report_id"]),
                score=round(score, 4),
                typologies=(incident, *(("live",) if row.get("is_live") else ())),
                explanation="; ".join(why),
                evidence_source="reports",
                evidence_ids=(str(row["report_id"]),),
                first_seen=row["received_at"],
                last_seen=row["received_at"],
            )
        )
    return out


@dataclass(frozen=True)
class TiplineInput:
    """The public ``reports`` table and, optionally, its triaged queue
    (``ClusterSummary`` objects from the store, most urgent first)."""

    reports: pl.DataFrame
    queue: Sequence[Any] | None = None


def by_score(alerts: Sequence[Alert]) -> list[Alert]:
    """Highest score first; equal scores keep their order (the detector contract)."""
    return sorted(alerts, key=lambda a: -a.score)


class TiplineDetector:
    """Tipline reports behind the Detector protocol."""

    id = DETECTOR_ID
    version = VERSION

    def detect(self, data: TiplineInput) -> Sequence[Alert]:
        if data.queue is not None:
            from daybreak.tipline.world import report_alerts

            return by_score([a for summary in data.queue for a in report_alerts(summary)])
        return by_score(alerts_from_reports(data.reports))


def tipline_input(world: Path) -> TiplineInput:
    """A world folder's reports, validated against the public schema."""
    from daybreak.detectors import DetectorError
    from daybreak.schema import read_table, world_file

    path = world_file(world, "reports")
    if path is None:
        raise DetectorError(f"{world}: no reports.parquet or reports.csv")
    return TiplineInput(read_table(path, "reports").frame)
