"""Rows as versions before 0003 wrote them: ciphertexts bound to table.column only, an
audit chain keyed from the field key, no row MACs (to test the upgrade at open)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, insert
from store_samples import case, report

from daybreak.store import Keyring
from daybreak.store.audit import GENESIS
from daybreak.store.tables import (
    audit_head,
    audit_log,
    case_events,
    case_notes,
    cases,
    clusters,
    report_identifiers,
    reports,
    subject_labels,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def legacy_audit_body(
    seq: int, at: datetime, actor: str, action: str, otype: str, oid: str, detail: str
) -> str:
    """The text an audit entry's MAC covers, spelt out as versions before 0003 wrote it
    (a compact ASCII JSON list, the time in UTC to the microsecond): written here, not
    taken from the store, so that the upgrade is tested against the old format itself."""
    return json.dumps(
        [seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, action, otype,
         oid, detail],
        separators=(",", ":"),
        ensure_ascii=True,
    )  # fmt: skip


def write_legacy_case(engine: Engine, keys: Keyring, case_id: str = "C-1") -> None:
    body = case(case_id).model_dump_json()
    with engine.begin() as conn:
        conn.execute(
            insert(cases).values(
                case_id=case_id,
                priority=0.8,
                tier=2,
                status="new",
                created_at=NOW,
                updated_at=NOW,
                body_enc=keys.encrypt_text(body, "cases.body_enc"),
            )
        )


def write_legacy_rows(engine: Engine, keys: Keyring) -> None:
    """One report (with an identifier), one case with a note, a reasoned transition and
    a subject label, and three audit entries, all in the pre-0003 format."""
    write_legacy_case(engine, keys)
    payload = report("legacy-1").model_dump_json()
    with engine.begin() as conn:
        conn.execute(
            insert(clusters).values(
                cluster_id="CL-1", created_at=NOW, updated_at=NOW, report_count=1, tier=3, score=0.4
            )
        )
        conn.execute(
            insert(reports).values(
                report_id="R-1",
                received_at=NOW,
                source="api",
                submitted_by="key:test",
                reporter_type="platform",
                incident_type="online_enticement",
                is_live=False,
                tier=3,
                score=0.4,
                reasons="[]",
                route_basis="default",
                agency="X",
                cluster_id="CL-1",
                payload_enc=keys.encrypt_text(payload, "reports.payload_enc"),
            )
        )
        conn.execute(
            insert(report_identifiers).values(
                report_id="R-1",
                kind="account",
                role="suspect",
                value_index="ix-1",
                value_enc=keys.encrypt_text(
                    "examplestream:legacy-1", "report_identifiers.value_enc"
                ),
            )
        )
        conn.execute(
            insert(case_notes).values(
                case_id="C-1",
                author="ana",
                at=NOW,
                text_enc=keys.encrypt_text("a legacy note", "case_notes.text_enc"),
            )
        )
        conn.execute(
            insert(case_events).values(
                case_id="C-1",
                at=NOW,
                actor="ana",
                from_status="new",
                to_status="triaged",
                reason_enc=keys.encrypt_text("a legacy reason", "case_events.reason_enc"),
            )
        )
        conn.execute(
            insert(subject_labels).values(
                case_id="C-1",
                subject_type="customer",
                value_index="ix-2",
                subject_enc=keys.encrypt_text("C-PAYER-1", "subject_labels.subject_enc"),
                disposition="payer_confirmed",
                label=1,
                actor="ana",
                at=NOW,
            )
        )
        prev = GENESIS
        for seq in (1, 2, 3):
            detail = json.dumps({}, separators=(",", ":"))
            body = legacy_audit_body(seq, NOW, "system", "case.create", "case", "C-1", detail)
            digest = keys.legacy_audit_mac(prev, body)
            conn.execute(
                insert(audit_log).values(
                    seq=seq,
                    at=NOW,
                    actor="system",
                    action="case.create",
                    object_type="case",
                    object_id="C-1",
                    detail=detail,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        conn.execute(insert(audit_head).values(id=1, seq=3, hash=prev))
