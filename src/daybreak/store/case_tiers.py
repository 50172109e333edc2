"""An analyst's override of a case's tier, with the reason recorded.

The case builder computes a case's tier from its alerts (the most severe); an analyst
who knows better sets another one and says why. Every override is a row here (newest
last, the reason encrypted and bound to its row); the latest is the case's effective
tier, written to ``cases.tier`` so that the queue's order, its badges and its tier
filter all read the same value, and re-applied when the builder replaces the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from daybreak.model.cases import Tier
from daybreak.store.audit import utc
from daybreak.store.cases import NotFound, WorkflowError, inserted_id
from daybreak.store.integrity import refresh_mac
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import case_tier_overrides, cases, of_org

REASON = "case_tier_overrides.reason_enc"  # :id


@dataclass(frozen=True, slots=True)
class TierOverride:
    case_id: str
    at: datetime
    actor: str
    from_tier: Tier
    tier: Tier
    computed_tier: Tier  # what the case builder said, for the record
    reason: str


def override_tier(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    tier: Tier,
    actor: str,
    reason: str,
    now: datetime,
) -> TierOverride:
    """Set the case's tier to ``tier``; a reason is required and kept encrypted."""
    if not reason.strip():
        raise WorkflowError("overriding a case's tier needs a reason")
    row = conn.execute(
        select(cases.c.tier, cases.c.body_enc).where(
            cases.c.case_id == case_id, of_org(cases, keys.org_id)
        )
    )
    current = row.first()
    if current is None:
        raise NotFound(case_id)
    if int(current.tier) == int(tier):
        raise WorkflowError(f"the case is already tier {int(tier)}")
    computed = computed_tier(conn, case_id, int(current.tier))
    override_id = inserted_id(
        conn.execute(
            insert(case_tier_overrides).values(
                case_id=case_id,
                org_id=keys.org_id,
                computed_tier=computed,
                from_tier=int(current.tier),
                tier=int(tier),
                actor=actor,
                at=utc(now),
                reason_enc=b"",
            )
        )
    )
    conn.execute(  # bound to the override's id, known once it is inserted
        update(case_tier_overrides)
        .where(case_tier_overrides.c.id == override_id)
        .values(reason_enc=keys.encrypt_text(reason, bound(REASON, override_id)))
    )
    conn.execute(
        update(cases).where(cases.c.case_id == case_id).values(tier=int(tier), updated_at=now)
    )
    refresh_mac(conn, keys, cases, case_id)
    return TierOverride(case_id, utc(now), actor, Tier(current.tier), tier, Tier(computed), reason)


def computed_tier(conn: Connection, case_id: str, stored: int) -> int:
    """The builder's tier: the first override's record of it, else the stored tier."""
    first = conn.execute(
        select(case_tier_overrides.c.computed_tier)
        .where(case_tier_overrides.c.case_id == case_id)
        .order_by(case_tier_overrides.c.id)
        .limit(1)
    ).scalar()
    return stored if first is None else int(first)


def effective_tier(conn: Connection, case_id: str, computed: int) -> int:
    """The latest override's tier, else the builder's ``computed`` tier."""
    latest = conn.execute(
        select(case_tier_overrides.c.tier)
        .where(case_tier_overrides.c.case_id == case_id)
        .order_by(case_tier_overrides.c.id.desc())
        .limit(1)
    ).scalar()
    return computed if latest is None else int(latest)


def reapply(conn: Connection, keys: Keyring, case_id: str, computed: int) -> None:
    """After the builder replaced the case (``cases.tier`` = its ``computed`` tier), put
    back the analyst's override, if any."""
    tier = effective_tier(conn, case_id, computed)
    if tier != computed:
        conn.execute(update(cases).where(cases.c.case_id == case_id).values(tier=tier))
        refresh_mac(conn, keys, cases, case_id)


def tier_overrides(conn: Connection, keys: Keyring, case_id: str) -> list[TierOverride]:
    rows = conn.execute(
        select(case_tier_overrides)
        .where(
            case_tier_overrides.c.case_id == case_id,
            of_org(case_tier_overrides, keys.org_id),
        )
        .order_by(case_tier_overrides.c.id)
    )
    return [
        TierOverride(
            r.case_id,
            utc(r.at),
            r.actor,
            Tier(r.from_tier),
            Tier(r.tier),
            Tier(r.computed_tier),
            keys.decrypt_text(r.reason_enc, bound(REASON, r.id)),
        )
        for r in rows
    ]
