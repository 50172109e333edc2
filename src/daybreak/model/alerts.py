"""Alerts: what a detector says about one subject, with the evidence behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SubjectType = Literal["customer", "beneficiary", "account", "report", "media", "entity"]


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
