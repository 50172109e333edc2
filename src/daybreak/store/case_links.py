"""Analysts' manual merges and splits of cases, with the reason recorded.

A merge moves everything case B holds (alerts, entities, reports, graph, evidence,
timeline) into case A and closes B with the outcome "merged"; a split moves chosen
alerts, with their entities and records, out of a case into a new one. Each is a row
on both cases (``case_links``: merged_into / merged_from, split_to / split_from) with
who, when, why and the alerts split out (encrypted, bound to the row), so that both
case pages show it and link to each other.

The case builder replaces a case's content on every run (:func:`daybreak.store.cases.
upsert`); :func:`rebuilt` and :func:`fold_into_target` apply the analysts' merges and
splits again to what it brings, so that they outlive a rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, func, insert, select, update

from daybreak.graph.case_edit import CaseEditError, fold, merge_cases, split_case
from daybreak.graph.case_edit import check_split as check_split_of
from daybreak.model.cases import Case, CaseStatus, Outcome
from daybreak.store import case_tiers
from daybreak.store import cases as case_ops
from daybreak.store.audit import utc
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import case_links, of_org

DETAIL = "case_links.detail_enc"  # :id


class LinkKind(StrEnum):
    MERGED_INTO = "merged_into"  # this case was merged into the other
    MERGED_FROM = "merged_from"  # the other case was merged into this one
    SPLIT_TO = "split_to"  # alerts of this case were split out into the other
    SPLIT_FROM = "split_from"  # this case was split out of the other


@dataclass(frozen=True, slots=True)
class CaseLink:
    case_id: str
    other_case_id: str
    kind: LinkKind
    actor: str
    at: datetime
    reason: str
    alert_ids: tuple[str, ...]  # the alerts split out (a split only)


def merge(
    conn: Connection,
    keys: Keyring,
    into_id: str,
    merged_id: str,
    actor: str,
    reason: str,
    now: datetime,
) -> tuple[Case, Case]:
    """Merge case ``merged_id`` into ``into_id``; returns both as stored afterwards."""
    if not reason.strip():
        raise case_ops.WorkflowError("merging cases needs a reason")
    into, merged = _open_case(conn, keys, into_id), _open_case(conn, keys, merged_id)
    try:
        combined = merge_cases(into, merged)
    except CaseEditError as exc:
        raise case_ops.WorkflowError(str(exc)) from exc
    _store(conn, keys, combined, now)
    closed = case_ops.transition(
        conn,
        keys,
        merged_id,
        CaseStatus.CLOSED,
        actor,
        f"merged into {into_id}: {reason}",
        now,
        outcome=Outcome.MERGED,
    )
    detail = {"reason": reason}
    _link(conn, keys, merged_id, into_id, LinkKind.MERGED_INTO, actor, now, detail)
    _link(conn, keys, into_id, merged_id, LinkKind.MERGED_FROM, actor, now, detail)
    stored = case_ops.get(conn, keys, into_id)
    assert stored is not None
    return stored, closed


def split(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    alert_ids: Collection[str],
    actor: str,
    reason: str,
    now: datetime,
) -> tuple[Case, Case]:
    """Split the alerts ``alert_ids`` (with their entities and records) out of
    ``case_id`` into a new case ``<case_id>-S<n>``; returns (the case, the new case)."""
    if not reason.strip():
        raise case_ops.WorkflowError("splitting a case needs a reason")
    case = _open_case(conn, keys, case_id)
    new_id = _next_split_id(conn, keys, case_id)
    try:
        rest, new = split_case(case, alert_ids, new_id)
    except CaseEditError as exc:
        raise case_ops.WorkflowError(str(exc)) from exc
    _store(conn, keys, rest, now)
    _store(conn, keys, new.model_copy(update={"created_at": now, "updated_at": now}), now)
    detail = {"reason": reason, "alerts": sorted(set(alert_ids))}
    _link(conn, keys, case_id, new_id, LinkKind.SPLIT_TO, actor, now, detail)
    _link(conn, keys, new_id, case_id, LinkKind.SPLIT_FROM, actor, now, detail)
    stored_rest, stored_new = case_ops.get(conn, keys, case_id), case_ops.get(conn, keys, new_id)
    assert stored_rest is not None and stored_new is not None
    return stored_rest, stored_new


def check_split(conn: Connection, keys: Keyring, case_id: str, alert_ids: Collection[str]) -> None:
    """NotFound or WorkflowError unless the alerts can be split out of the case."""
    case = case_ops.get(conn, keys, case_id)
    if case is None:
        raise case_ops.NotFound(case_id)
    try:
        check_split_of(case, alert_ids)
    except CaseEditError as exc:
        raise case_ops.WorkflowError(str(exc)) from exc


def links(conn: Connection, keys: Keyring, case_id: str) -> list[CaseLink]:
    """The case's merges and splits, oldest first."""
    rows = conn.execute(
        select(case_links)
        .where(case_links.c.case_id == case_id, of_org(case_links, keys.org_id))
        .order_by(case_links.c.id)
    )
    out = []
    for r in rows:
        detail = json.loads(keys.decrypt_text(r.detail_enc, bound(DETAIL, r.id)))
        out.append(
            CaseLink(
                r.case_id,
                r.other_case_id,
                LinkKind(r.kind),
                r.actor,
                utc(r.at),
                str(detail.get("reason", "")),
                tuple(detail.get("alerts", ())),
            )
        )
    return out


def rebuilt(conn: Connection, keys: Keyring, case: Case, now: datetime) -> Case:
    """The case builder's ``case`` with the analysts' edits applied again: alerts split
    out of it leave it again (into their case, refreshed), and the cases merged into it
    are folded in again. Called before the case is stored."""
    for link in links(conn, keys, case.case_id):
        if link.kind is LinkKind.SPLIT_TO:
            present = set(link.alert_ids) & {a.alert_id for a in case.alerts}
            if present and len(present) < len(case.alerts):
                case, part = split_case(case, present, link.other_case_id)
                _fold_stored(conn, keys, link.other_case_id, part, now)
        elif link.kind is LinkKind.MERGED_FROM:
            merged = case_ops.get(conn, keys, link.other_case_id)
            if merged is not None:
                case = fold(case, merged)
    return case


def fold_into_target(conn: Connection, keys: Keyring, case: Case, now: datetime) -> None:
    """After the builder replaced ``case``: when it was merged into another case, what
    it holds now is folded into that case too."""
    for link in links(conn, keys, case.case_id):
        if link.kind is LinkKind.MERGED_INTO:
            _fold_stored(conn, keys, link.other_case_id, case, now)


def _fold_stored(
    conn: Connection, keys: Keyring, target_id: str, part: Case, now: datetime
) -> None:
    target = case_ops.get(conn, keys, target_id)
    if target is not None:
        _store(conn, keys, fold(target, part), now)


def _open_case(conn: Connection, keys: Keyring, case_id: str) -> Case:
    case = case_ops.get(conn, keys, case_id)
    if case is None:
        raise case_ops.NotFound(case_id)
    if case.status is CaseStatus.CLOSED:
        raise case_ops.WorkflowError(f"{case_id} is closed: reopen it first")
    return case


def _store(conn: Connection, keys: Keyring, case: Case, now: datetime) -> None:
    """Write the case's content (its workflow kept) and its tier, the analyst's
    override put back if it has one."""
    case_ops.upsert(conn, keys, case, now)
    case_tiers.reapply(conn, keys, case.case_id, int(case.tier))


def _next_split_id(conn: Connection, keys: Keyring, case_id: str) -> str:
    done = conn.execute(
        select(func.count())
        .select_from(case_links)
        .where(
            case_links.c.case_id == case_id,
            case_links.c.kind == LinkKind.SPLIT_TO.value,
            of_org(case_links, keys.org_id),
        )
    ).scalar_one()
    n = int(done) + 1
    while case_ops.exists(conn, f"{case_id}-S{n}"):
        n += 1
    return f"{case_id}-S{n}"


def _link(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    other: str,
    kind: LinkKind,
    actor: str,
    now: datetime,
    detail: Mapping[str, object],
) -> None:
    link_id = case_ops.inserted_id(
        conn.execute(
            insert(case_links).values(
                case_id=case_id,
                org_id=keys.org_id,
                other_case_id=other,
                kind=kind.value,
                actor=actor,
                at=utc(now),
                detail_enc=b"",
            )
        )
    )
    conn.execute(  # bound to the link's id, known once it is inserted
        update(case_links)
        .where(case_links.c.id == link_id)
        .values(detail_enc=keys.encrypt_text(json.dumps(detail), bound(DETAIL, link_id)))
    )
