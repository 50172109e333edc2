"""Signals that are not yet alerts, turned into :class:`Alert` for the case builder.

Media hash matches already made (one alert per sighting) become alerts here; tipline
reports are scored by :mod:`daybreak.tipline.detector` (re-exported below), payments
alerts arrive as alerts already.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.signal_types import PdqSignal
from daybreak.tipline.detector import INCIDENT_SCORES, alerts_from_reports

__all__ = ["INCIDENT_SCORES", "MediaMatch", "alerts_from_media_matches", "alerts_from_reports"]


@dataclass(frozen=True)
class MediaMatch:
    """A media sighting whose hash matched a bank of known material."""

    sighting_id: str
    account_id: str | None
    bank: str
    distance: int
    hash_type: str = PdqSignal.name  # matches from before hash types were recorded
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
            hash_type=str(m.get("hash_type") or PdqSignal.name),
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
