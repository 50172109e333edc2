"""Alerts: what a detector says about one subject, with the evidence behind it."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SubjectType = Literal["customer", "beneficiary", "account", "report", "media", "entity"]


class HashMatch(BaseModel):
    """One media sighting whose hash matched an entry of a list of known material.

    This is the evidence behind any claim that a case holds "known material": an
    export may call a hash known only when it carries such a match (bank, the bank's
    version when matched, distance and the threshold it was within)."""

    model_config = ConfigDict(frozen=True)

    sighting_id: str
    hash_type: str = Field(description="pdq, md5, sha256, ...")
    bank: str = Field(description="the hash list (bank) that holds the listed hash")
    bank_version: int | None = Field(default=None, description="the bank's version then")
    listed_hash: str = Field(default="", description="the bank entry that matched")
    distance: int = Field(ge=0, description="0 for exact hashes; Hamming distance for PDQ")
    threshold: int | None = Field(default=None, ge=0, description="the bank's match limit")


class Alert(BaseModel):
    """One alerted subject. ``explanation`` is plain language a compliance officer or
    analyst can paste into a report; ``evidence_ids`` name the records behind it."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    detector: str = Field(description="detector id, e.g. 'payments', 'media', 'tipline'")
    subject_type: SubjectType
    subject_id: str
    score: float = Field(ge=0.0, le=1.0, description="0-1, higher = more likely")
    typologies: tuple[str, ...] = ()
    explanation: str
    evidence_source: str = Field(
        default="transactions", description="table the evidence ids refer to"
    )
    evidence_ids: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    hash_matches: tuple[HashMatch, ...] = Field(
        default=(), description="for known-material alerts: the matches behind them"
    )


def alert_score(score: float) -> float:
    """A computed score as an alert carries it: in [0, 1], four decimals, 0 for NaN or an
    infinity (an engine's arithmetic on degenerate rows must not break an alert)."""
    return round(min(1.0, max(0.0, score)), 4) if math.isfinite(score) else 0.0
