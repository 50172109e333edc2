"""Signals that are not yet alerts, turned into :class:`Alert` so any detector plugs in.

Tipline reports (until the tipline triage lands, or for worlds without it) and media
hash matches become alerts here; payments alerts arrive as alerts already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from daybreak.model.alerts import Alert, HashMatch

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
    """One alert per report; the report id is both subject and evidence."""
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
                detector="tipline",
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
class MediaMatch:
    """A media sighting whose hash matched a bank of known material."""

    sighting_id: str
    account_id: str | None
    bank: str
    distance: int
    hash_type: str = "pdq"
    listed_hash: str = ""
    bank_version: int | None = None
    threshold: int | None = None

    def evidence(self) -> HashMatch:
        return HashMatch(
            sighting_id=self.sighting_id,
            hash_type=self.hash_type,
            bank=self.bank,
            bank_version=self.bank_version,
            listed_hash=self.listed_hash,
            distance=self.distance,
            threshold=self.threshold,
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _as_match(m: MediaMatch | Mapping[str, Any]) -> MediaMatch:
    if isinstance(m, MediaMatch):
        return m
    try:
        return MediaMatch(
            sighting_id=str(m["sighting_id"]),
            account_id=None if m.get("account_id") is None else str(m["account_id"]),
            bank=str(m["bank"]),
            distance=int(m["distance"]),
            hash_type=str(m.get("hash_type") or "pdq"),
            listed_hash=str(m.get("listed_hash") or ""),
            bank_version=_optional_int(m.get("bank_version")),
            threshold=_optional_int(m.get("threshold")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"media match {dict(m)!r}: expected sighting_id, account_id, bank, distance "
            f"(and optionally hash_type, listed_hash, bank_version, threshold) ({exc})"
        ) from exc


def alerts_from_media_matches(
    matches: Iterable[MediaMatch | Mapping[str, Any]], seen_at: Mapping[str, Any] | None = None
) -> list[Alert]:
    """A match to known material is strong evidence; closer hashes score higher
    (PDQ distance 0 -> 0.95, the usual threshold 31 -> ~0.75)."""
    out: list[Alert] = []
    for raw in matches:
        m = _as_match(raw)
        score = max(0.5, 0.95 - 0.0065 * m.distance)
        when = (seen_at or {}).get(m.sighting_id)
        out.append(
            Alert(
                alert_id=f"media:{m.sighting_id}:{m.bank}",
                detector="media",
                subject_type="media",
                subject_id=m.sighting_id,
                score=round(score, 4),
                typologies=("known_material",),
                explanation=(
                    f"sighting {m.sighting_id} matched hash bank '{m.bank}' at distance "
                    f"{m.distance}" + (f" (account {m.account_id})" if m.account_id else "")
                ),
                evidence_source="media_sightings",
                evidence_ids=(m.sighting_id,),
                first_seen=when,
                last_seen=when,
                hash_matches=(m.evidence(),),
            )
        )
    return out
