"""Stored reports as rows of the public world schema (``reports``, ``identifiers``,
``media_sightings``), so exporters and engines read tipline intake exactly like a
synthetic or real world's files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from daybreak.tipline.intake import ReportIn, report_identifiers

Row = dict[str, Any]


def report_rows(
    report_id: str, received_at: datetime, report: ReportIn
) -> tuple[Row, list[Row], list[Row]]:
    """(reports row, identifiers rows, media_sightings rows) for one report."""
    victim = report.victim
    row: Row = {
        "report_id": report_id,
        "received_at": received_at,
        "reporter_type": report.reporter.type.value,
        "incident_type": report.incident_type.value,
        "occurred_at": report.occurred_at,
        "is_live": report.is_live,
        "service": report.service,
        "victim_age_estimate": victim.age_estimate if victim else None,
        "victim_country": victim.country if victim else None,
        "description": report.description,
    }
    idents: list[Row] = []
    sightings: list[Row] = []
    for ident in report_identifiers(report):
        if ident.kind == "hash":
            hash_type, _, value = ident.value.partition(":")
            sightings.append(
                {
                    "sighting_id": f"{report_id}:{len(sightings) + 1}",
                    "seen_at": received_at,
                    "hash_type": hash_type,
                    "hash_value": value,
                    "quality": None,
                    "service": report.service,
                    "account_id": None,
                    "location": None,
                }
            )
            continue
        idents.append(
            {
                "source": "reports",
                "source_id": report_id,
                "kind": ident.kind,
                "value": ident.value,
                "role": ident.role,
                "seen_at": ident.seen_at,
            }
        )
    return row, idents, sightings
