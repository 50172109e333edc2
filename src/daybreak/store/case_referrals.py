"""Referrals with the export actually sent: who received the case (the agency), in
which format, the exact bytes sent (encrypted, bound to the row; their SHA-256 kept in
the clear to show and compare), and the receiver's reference number, which can be added
when the receiver answers. One row per referral (``case_referrals``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update

from daybreak.store import cases as case_ops
from daybreak.store.audit import utc
from daybreak.store.cases import NotFound, WorkflowError, inserted_id
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import case_referrals, of_org

EXPORT = "case_referrals.export_enc"  # :id
REFERENCE = "case_referrals.reference_enc"  # :id
MAX_REFERENCE = 200


@dataclass(frozen=True, slots=True)
class SentExport:
    """An export as it was sent: the format's name, file name, media type and bytes."""

    format: str
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Referral:
    referral_id: int
    case_id: str
    agency: str
    format: str | None  # None: referred without an export attached
    filename: str | None
    media_type: str | None
    digest: str | None  # SHA-256 of the bytes sent, hex
    size: int | None
    reference: str | None  # the receiver's reference number, once known
    actor: str
    at: datetime
    reference_by: str | None
    reference_at: datetime | None


def record(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    agency: str,
    sent: SentExport | None,
    reference: str,
    actor: str,
    now: datetime,
) -> Referral:
    """A referral of the case to ``agency`` with the export ``sent`` (if any)."""
    reference = _checked(reference)
    values: dict[str, object] = {
        "case_id": case_id,
        "org_id": keys.org_id,
        "agency": agency,
        "actor": actor,
        "at": utc(now),
    }
    if sent is not None:
        values |= {
            "format": sent.format,
            "filename": sent.filename,
            "media_type": sent.media_type,
            "digest": hashlib.sha256(sent.content).hexdigest(),
            "size": len(sent.content),
        }
    if reference:
        values |= {"reference_by": actor, "reference_at": utc(now)}
    referral_id = inserted_id(conn.execute(insert(case_referrals).values(**values)))
    sealed: dict[str, bytes] = {}  # bound to the row's id, known once it is inserted
    if sent is not None:
        sealed["export_enc"] = keys.encrypt(sent.content, bound(EXPORT, referral_id))
    if reference:
        sealed["reference_enc"] = keys.encrypt_text(reference, bound(REFERENCE, referral_id))
    if sealed:
        conn.execute(
            update(case_referrals).where(case_referrals.c.id == referral_id).values(**sealed)
        )
    return _one(conn, keys, case_id, referral_id)


def add_reference(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    referral_id: int,
    reference: str,
    actor: str,
    now: datetime,
) -> Referral:
    """Record the receiver's reference number of a referral that has none yet."""
    reference = _checked(reference)
    if not reference:
        raise WorkflowError("type the receiver's reference number")
    found = _one(conn, keys, case_id, referral_id)
    if found.reference is not None:
        raise WorkflowError(f"the referral already has the reference {found.reference!r}")
    conn.execute(
        update(case_referrals)
        .where(case_referrals.c.id == referral_id)
        .values(
            reference_enc=keys.encrypt_text(reference, bound(REFERENCE, referral_id)),
            reference_by=actor,
            reference_at=utc(now),
        )
    )
    return _one(conn, keys, case_id, referral_id)


def listing(conn: Connection, keys: Keyring, case_id: str) -> list[Referral]:
    """The case's referrals, oldest first (without the bytes sent)."""
    rows = conn.execute(_select(keys, case_id).order_by(case_referrals.c.id))
    return [_referral(keys, r) for r in rows]


def sent_export(
    conn: Connection, keys: Keyring, case_id: str, referral_id: int
) -> tuple[Referral, bytes]:
    """A referral and the exact bytes sent with it (NotFound without an export)."""
    r = conn.execute(_select(keys, case_id).where(case_referrals.c.id == referral_id)).first()
    if r is None or r.export_enc is None:
        raise _missing(conn, keys, case_id, f"no export sent with referral {referral_id}")
    content = keys.decrypt(r.export_enc, bound(EXPORT, r.id))
    if hashlib.sha256(content).hexdigest() != r.digest:  # the digest shown is what is sent
        raise WorkflowError(f"referral {referral_id}: the stored export does not match its digest")
    return _referral(keys, r), content


def _checked(reference: str) -> str:
    reference = reference.strip()
    if len(reference) > MAX_REFERENCE or any(not c.isprintable() for c in reference):
        raise WorkflowError(f"a reference number is 1-{MAX_REFERENCE} printable characters")
    return reference


def _select(keys: Keyring, case_id: str) -> Select[Any]:
    return select(case_referrals).where(
        case_referrals.c.case_id == case_id, of_org(case_referrals, keys.org_id)
    )


def _one(conn: Connection, keys: Keyring, case_id: str, referral_id: int) -> Referral:
    r = conn.execute(_select(keys, case_id).where(case_referrals.c.id == referral_id)).first()
    if r is None:
        raise _missing(conn, keys, case_id, f"no referral {referral_id}")
    return _referral(keys, r)


def _missing(conn: Connection, keys: Keyring, case_id: str, what: str) -> Exception:
    """NotFound for a case the organisation does not have (as for any missing case),
    else a WorkflowError naming what the case lacks."""
    if case_ops.get(conn, keys, case_id) is None:
        return NotFound(case_id)
    return WorkflowError(f"{case_id} has {what}")


def _referral(keys: Keyring, r: Any) -> Referral:
    row = r._mapping
    reference = (
        keys.decrypt_text(row["reference_enc"], bound(REFERENCE, row["id"]))
        if row["reference_enc"] is not None
        else None
    )
    return Referral(
        row["id"],
        row["case_id"],
        row["agency"],
        row["format"],
        row["filename"],
        row["media_type"],
        row["digest"],
        row["size"],
        reference,
        row["actor"],
        utc(row["at"]),
        row["reference_by"],
        utc(row["reference_at"]) if row["reference_at"] is not None else None,
    )
