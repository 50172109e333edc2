"""Small builders for store tests."""

from __future__ import annotations

from typing import Any

from daybreak.model.cases import Case, Tier
from daybreak.store import Submission
from daybreak.tipline.intake import ReportIn


def report(
    account: str = "u-1", *, phone: str | None = None, live: bool = False, **extra: Any
) -> ReportIn:
    acc: dict[str, Any] = {"service": "examplestream", "account_id": account}
    if phone:
        acc["phones"] = [phone]
    return ReportIn.model_validate(
        {
            "reporter": {"type": "platform"},
            "incident_type": "online_enticement",
            "is_live": live,
            "reported_accounts": [acc],
            "victim": {"age_estimate": 10, "country": "PH"},
            "description": "Synthetic description 7731",
            **extra,
        }
    )


def sub(r: ReportIn, who: str = "key:test", key: str | None = None) -> Submission:
    return Submission(r, who, "api", idempotency_key=key)


def case(case_id: str = "C-1", **kw: Any) -> Case:
    base: dict[str, Any] = {
        "case_id": case_id,
        "title": "Payments to gcash:+639171234567",
        "priority": 0.8,
        "tier": Tier.KNOWN_OFFENDER_ACCESS,
        "entity_keys": ["phone:+639171234567", "account:examplestream:u-1"],
        "report_ids": [],
        "reasons": ["synthetic"],
    }
    base.update(kw)
    return Case.model_validate(base)
