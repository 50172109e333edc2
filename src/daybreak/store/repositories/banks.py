"""``store.banks``: the metadata of the hash lists of known material ("banks", see
:mod:`daybreak.media.banks`) in the store, per organisation.

:meth:`BankRepository.open` gives the media module's :class:`BankStore` over the
store's tables: every change is one write transaction (SQLite ``BEGIN IMMEDIATE``;
PostgreSQL an advisory lock per organisation) that re-reads the metadata, applies the
change, writes the entries file and appends to the audit chain, so the server and the
CLI no longer lose each other's changes. The listed hashes themselves stay in the bank
folder's Parquet files (the matcher reads them whole; see docs/detectors/media.md).

A folder's old ``banks.json`` is imported the first time the store opens that folder
for the default organisation, then renamed ``banks.json.imported-<UTC time>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, update

from daybreak.media.banks import (
    META_FILE,
    Bank,
    BankError,
    BankStore,
    check_bank_name,
    check_settings,
    read_meta_file,
)
from daybreak.store.audit import append_one, iter_entries
from daybreak.store.auth import MANAGERS, Actor, validate_org_id
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import (
    DEFAULT_ORG,
    media_bank_events,
    media_bank_quarantine,
    media_banks,
)

AUDIT_TYPE = "media_bank"  # object_type of the banks' entries in the audit chain
LEGACY_ACTION = re.compile(r"^(create|add|remove|update [a-z_,]{1,70})$")
NOT_VERSIONS = ("quarantine", "release", "import")  # events that are no bank version


def entries_root(root: Path, org_id: str) -> Path:
    """Where an organisation's entries files are in a bank folder: ``entries/`` for the
    default organisation (as before organisations), ``orgs/<org>/entries/`` otherwise."""
    return root / "entries" if org_id == DEFAULT_ORG else root / "orgs" / org_id / "entries"


def _lock_key(org_id: str) -> int:
    """A PostgreSQL advisory-lock key (signed 64 bits) for one organisation's banks."""
    digest = hashlib.sha256(f"daybreak.media_banks:{org_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StoreBankMeta:
    """A :class:`~daybreak.media.banks.BankMeta` over the store's tables, for the
    organisation of ``actor``. Changing a bank or releasing a hash needs a manager's
    role; quarantining (flood control, during matching) does not."""

    def __init__(self, ctx: StoreContext, actor: Actor, root: Path) -> None:
        self._ctx = ctx
        self._actor = actor
        self._org = validate_org_id(actor.org_id)
        self.entries_root = entries_root(root, self._org)
        self._conn: Connection | None = None  # the open transaction, if any

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self._ctx.reading() as conn:
                yield conn

    def token(self) -> Hashable:
        query = select(func.max(media_bank_events.c.id)).where(
            media_bank_events.c.org_id == self._org
        )
        with self._connection() as conn:
            return conn.execute(query).scalar()

    def load(self) -> dict[str, Any]:
        org = self._org
        with self._connection() as conn:
            banks = conn.execute(
                select(media_banks).where(media_banks.c.org_id == org).order_by(media_banks.c.id)
            ).all()
            events = conn.execute(
                select(media_bank_events)
                .where(media_bank_events.c.org_id == org)
                .where(media_bank_events.c.action.not_in(NOT_VERSIONS))
                .order_by(media_bank_events.c.id)
            ).all()
            held = conn.execute(
                select(media_bank_quarantine)
                .where(media_bank_quarantine.c.org_id == org)
                .order_by(media_bank_quarantine.c.id)
            ).all()
        return {
            "banks": {r.name: asdict(_bank(r)) for r in banks},
            "history": [
                {
                    "bank": e.bank,
                    "version": e.version,
                    "action": e.action,
                    "changed": e.changed,
                    "at": e.at,
                }
                for e in events
            ],
            "quarantine": [
                {"bank": q.bank, "hash": q.hash, "reason": q.reason, "at": q.at} for q in held
            ],
        }

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        with self._ctx.writing() as conn:
            if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(self._org)})
            self._conn = conn
            try:
                yield self.load()
            finally:
                self._conn = None

    def _writing(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("bank metadata changes only inside transaction()")
        return self._conn

    def put_bank(self, bank: Bank, event: dict[str, Any]) -> None:
        require(self._actor, MANAGERS, "change hash banks")
        conn = self._writing()
        values = _row(bank)
        done = conn.execute(
            update(media_banks)
            .where(media_banks.c.org_id == self._org, media_banks.c.name == bank.name)
            .values(**values)
        )
        if not done.rowcount:
            conn.execute(media_banks.insert().values(org_id=self._org, name=bank.name, **values))
        conn.execute(media_bank_events.insert().values(org_id=self._org, **event))

    def put_quarantine(self, row: dict[str, Any]) -> None:
        conn = self._writing()
        conn.execute(media_bank_quarantine.insert().values(org_id=self._org, **row))
        self._flood_event(row["bank"], "quarantine", row["at"])

    def drop_quarantine(self, bank: str, hash_value: str) -> None:
        require(self._actor, MANAGERS, "release quarantined hashes")
        q = media_bank_quarantine.c
        self._writing().execute(
            delete(media_bank_quarantine).where(
                q.org_id == self._org, q.bank == bank, q.hash == hash_value
            )
        )
        self._flood_event(bank, "release", datetime.now(UTC).isoformat(timespec="seconds"))

    def _flood_event(self, bank: str, action: str, at: str) -> None:
        """An event that is no bank version, so that other processes see the change."""
        self._writing().execute(
            media_bank_events.insert().values(
                org_id=self._org, bank=bank, version=0, action=action, changed=1, at=at
            )
        )

    def audit(self, actor: str, action: str, bank: str, detail: dict[str, Any]) -> None:
        verb = action.split(" ", 1)[0]  # "update enabled,threshold" -> bank.update
        full = {"org": self._org, "bank_action": action, **detail}
        # in the bank's organisation (the name may be a console user's or the CLI's)
        keys = self._ctx.keys.for_org(self._org)
        append_one(self._writing(), keys, actor[:80], f"bank.{verb}", AUDIT_TYPE, bank, full)

    def audit_log(self, name: str | None) -> list[dict[str, Any]]:
        with self._ctx.reading() as conn:
            entries = list(iter_entries(conn, name))
        return [
            {
                "at": e.at.isoformat(timespec="microseconds"),
                "actor": e.actor,
                "action": e.detail.get("bank_action", e.action),
                "bank": e.object_id,
                **{k: v for k, v in e.detail.items() if k not in ("org", "bank_action")},
            }
            for e in entries
            if e.object_type == AUDIT_TYPE and e.detail.get("org") == self._org
        ]

    def adopt_legacy(self, root: Path) -> Path | None:
        """Import the folder's ``banks.json`` (once), then rename it; returns the new
        name, or None when there was nothing to import. Banks already in the store
        keep the store's state."""
        path = root / META_FILE
        if self._org != DEFAULT_ORG or not path.exists():
            return None
        with self.transaction() as current:
            if not path.exists():  # another process imported it meanwhile
                return None
            legacy = read_meta_file(path)
            imported = self._import_legacy(path, legacy, current)
        kept = path.with_name(f"{META_FILE}.imported-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
        try:
            path.rename(kept)
        except FileNotFoundError:  # renamed by another process after its import
            return None
        return kept if imported else None

    def _import_legacy(
        self, path: Path, legacy: dict[str, Any], current: dict[str, Any]
    ) -> list[str] | None:
        conn = self._writing()
        new = {n: b for n, b in legacy["banks"].items() if n not in current["banks"]}
        for name, fields in new.items():
            bank = _legacy_bank(path, name, fields)
            conn.execute(media_banks.insert().values(org_id=self._org, name=name, **_row(bank)))
        for event in legacy.get("history", []):
            if isinstance(event, dict) and event.get("bank") in new:
                row = {k: event.get(k, 0) for k in ("bank", "version", "action", "changed")}
                if not isinstance(row["action"], str) or not LEGACY_ACTION.match(row["action"]):
                    raise BankError(f"{path}: history of {row['bank']}: unknown action")
                conn.execute(
                    media_bank_events.insert().values(
                        org_id=self._org, at=str(event.get("at", "")), **row
                    )
                )
        held = {(q["bank"], q["hash"]) for q in current["quarantine"]}
        for q in legacy.get("quarantine", []):
            if (q.get("bank"), q.get("hash")) not in held:
                row = {k: str(q.get(k, ""))[:200] for k in ("bank", "hash", "reason", "at")}
                conn.execute(media_bank_quarantine.insert().values(org_id=self._org, **row))
        if not new:
            return None
        self._flood_event(next(iter(new)), "import", datetime.now(UTC).isoformat())
        detail = {"from": str(path), "banks": sorted(new), "kept": sorted(current["banks"])}
        self.audit(self._actor.name, "import banks.json", "banks.json", detail)
        return sorted(new)


def _row(bank: Bank) -> dict[str, Any]:
    values = asdict(bank)
    del values["name"]
    values["entry_count"] = values.pop("count")
    return values


def _bank(row: Any) -> Bank:
    return Bank(
        name=row.name, enabled=row.enabled, negative=row.negative, threshold=row.threshold,
        source=row.source, description=row.description, version=row.version,
        entries_version=row.entries_version, updated_at=row.updated_at, count=row.entry_count,
    )  # fmt: skip


def _legacy_bank(path: Path, name: str, fields: Any) -> Bank:
    """A bank of an old ``banks.json``, checked like a new one (errors name the file)."""
    try:
        check_bank_name(name)
        if not isinstance(fields, dict):
            raise BankError(f"bank {name}: expected an object")
        bank = Bank(**{**fields, "name": name})
        check_settings(
            name,
            {
                k: getattr(bank, k)
                for k in ("enabled", "negative", "threshold", "source", "description")
            },
        )
    except (BankError, TypeError) as exc:
        raise BankError(f"{path}: {exc}") from None
    return bank


class BankRepository:
    """Opens an organisation's banks (see the module docstring)."""

    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def open(self, root: str | Path, actor: Actor, *, audit_name: str | None = None) -> BankStore:
        """The banks of ``actor``'s organisation, with entries under ``root`` (the media
        folder's ``banks/``); an old ``root/banks.json`` is imported first. Changes are
        audited as ``audit_name`` (default the actor's name) unless a call names
        someone else."""
        folder = Path(root)
        meta = StoreBankMeta(self._ctx, actor, folder)
        meta.adopt_legacy(folder)
        return BankStore(folder, actor=audit_name or actor.name, meta=meta)
