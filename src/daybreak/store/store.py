"""The store the rest of Daybreak uses: one object holding a repository per kind of
thing stored, over one shared context (engines, writer lock, keys, routing table).

* ``store.reports`` (:class:`ReportRepository`): intake, reading, the triaged queue,
  identifier search;
* ``store.cases`` (:class:`CaseRepository`): cases, their workflow and labels;
* ``store.accounts`` (:class:`AccountRepository`): users, their lifecycle, sign-in;
* ``store.api_keys`` (:class:`ApiKeyRepository`), ``store.sessions``
  (:class:`SessionRepository`), ``store.web_sessions`` (:class:`WebSessionRepository`:
  the console's);
* ``store.teams`` (:class:`TeamRepository`): analysts' teams, whose inboxes cases
  are sent to;
* ``store.organisations`` (:class:`OrganisationRepository`), ``store.retention``
  (:class:`Retention`);
* ``store.throttles`` (:class:`Throttles`): rate limits and sign-in attempts per
  address, shared by every server process on PostgreSQL;
* ``store.audit`` (:class:`AuditTrail`): the trail, checkpoints, verification;
* ``store.banks`` (:class:`BankRepository`): the hash lists' metadata (media banks);
* ``store.estimates`` (:class:`EstimateRepository`): runs of ``daybreak estimate --db``;
* ``store.exchanges`` (:class:`ExchangeRepository`): hash exchanges that keep banks
  current, their checkpoints and the opinions sent back.

Every method that reads or writes case data names the acting :class:`Actor` and adds an
entry to the audit chain: in the same transaction as a write; for a read, committed
(group commit) before the read returns.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from daybreak.store import cases as case_ops
from daybreak.store import checkpoints as cp
from daybreak.store import integrity, rotation
from daybreak.store.audit import ensure_head
from daybreak.store.db import (
    WriterLock,
    is_sqlite,
    make_engines,
    migrate,
    sqlite_url,
    startup_lock,
)
from daybreak.store.keys import KeyError_, Keyring
from daybreak.store.repositories.accounts import AccountRepository
from daybreak.store.repositories.api_keys import ApiKeyRepository
from daybreak.store.repositories.audit import AuditTrail
from daybreak.store.repositories.banks import BankRepository
from daybreak.store.repositories.cases import CaseRepository
from daybreak.store.repositories.context import AuditCommitter, PermissionDenied, StoreContext
from daybreak.store.repositories.cybertip import CybertipRepository
from daybreak.store.repositories.estimates import EstimateRepository
from daybreak.store.repositories.exchanges import ExchangeRepository
from daybreak.store.repositories.organisations import OrganisationRepository
from daybreak.store.repositories.outbound import OutboundRepository
from daybreak.store.repositories.reports import ClusterSummary, ReportRepository, SearchHit
from daybreak.store.repositories.retention import Retention, RetentionResult
from daybreak.store.repositories.sessions import SessionRepository
from daybreak.store.repositories.teams import TeamRepository
from daybreak.store.repositories.throttles import Throttles
from daybreak.store.repositories.web_sessions import WebSessionRepository
from daybreak.tipline.routing import AgencyTable

__all__ = [
    "CHECKPOINT_FILE",
    "DB_FILE",
    "ClusterSummary",
    "PermissionDenied",
    "RetentionResult",
    "SearchHit",
    "TiplineStore",
    "checkpoint_path",
]

DB_FILE = "daybreak.db"
CHECKPOINT_FILE = "audit-checkpoints"  # in the data dir, for a database that is not SQLite


def checkpoint_path(url: str, given: Path | None = None) -> Path | None:
    """Where a store's audit checkpoints go: ``DAYBREAK_AUDIT_CHECKPOINTS``, else
    ``given``, else beside a SQLite file (``<db>-audit-checkpoints``); None otherwise."""
    env = os.environ.get(cp.ENV_VAR)
    if env:
        return Path(env)
    if given is not None:
        return given
    db = make_url(url).database if is_sqlite(url) else None
    return Path(f"{db}-audit-checkpoints") if db and db != ":memory:" else None


class TiplineStore:
    def __init__(
        self,
        url: str,
        keys: Keyring,
        agencies: AgencyTable | None = None,
        *,
        run_migrations: bool = True,
        max_batch: int = 500,
        checkpoints: Path | None = None,
        checkpoint_every: float | None = None,
    ) -> None:
        """``checkpoints``: the audit checkpoint file (see :func:`checkpoint_path`);
        ``checkpoint_every``: seconds between checkpoints (default
        ``DAYBREAK_AUDIT_CHECKPOINT_SECONDS`` or 60; 0: only on close and on demand)."""
        self.url = url
        self.keys = keys
        self.agencies = agencies or AgencyTable.load()
        self.engine, self.read_engine = make_engines(url)
        self._writer_lock = WriterLock(url)
        if run_migrations:
            refused: str | None = None
            with startup_lock(self.engine):  # several servers may start at once
                migrate(self.engine)
                with self._writer_lock, self.engine.begin() as conn:
                    refused = rotation.field_key_problem(conn, keys)
                    if refused is None:
                        ensure_head(conn, keys)
                        integrity.upgrade(conn, keys)
                        case_ops.upgrade_search(conn, keys)
            if refused is not None:  # a key the store was rotated away from
                self._writer_lock.close()
                self.engine.dispose()
                self.read_engine.dispose()
                raise KeyError_(refused)
        self._reads = AuditCommitter(self.engine, self._writer_lock)
        ctx = StoreContext(
            self.engine, self.read_engine, self._writer_lock, keys, self.agencies, self._reads
        )
        self.reports = ReportRepository(ctx, max_batch=max_batch)
        self.cases = CaseRepository(ctx)
        self.throttles = Throttles(ctx)
        self.accounts = AccountRepository(ctx, self.throttles)
        self.api_keys = ApiKeyRepository(ctx)
        self.sessions = SessionRepository(ctx)
        self.web_sessions = WebSessionRepository(ctx)
        self.retention = Retention(ctx)
        self.organisations = OrganisationRepository(ctx)
        self.teams = TeamRepository(ctx)
        self.cybertip = CybertipRepository(ctx)
        self.outbound = OutboundRepository(ctx)
        self.banks = BankRepository(ctx)
        self.estimates = EstimateRepository(ctx)
        self.exchanges = ExchangeRepository(ctx)
        every = checkpoint_every
        if every is None:
            every = float(os.environ.get(cp.INTERVAL_ENV_VAR, cp.DEFAULT_INTERVAL))
        self.audit = AuditTrail(ctx, checkpoint_path(url, checkpoints), every)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        url: str | None = None,
        dev: bool = False,
        agencies_path: Path | None = None,
        run_migrations: bool = True,
    ) -> TiplineStore:
        """The store for a data dir: SQLite ``data_dir/daybreak.db`` unless ``url`` is
        given; the field key from ``DAYBREAK_FIELD_KEY`` (``dev``: generated into the
        data dir with a warning when unset)."""
        keys = Keyring.load(data_dir, allow_generate=dev)
        return cls(
            url or sqlite_url(Path(data_dir) / DB_FILE),
            keys,
            AgencyTable.load(agencies_path),
            run_migrations=run_migrations,
            checkpoints=None if url is None or is_sqlite(url) else Path(data_dir) / CHECKPOINT_FILE,
        )

    def rotate_field_key(self, new: Keyring) -> dict[str, int]:
        """Move the whole store to ``new``'s field key (:mod:`daybreak.store.rotation`),
        in one transaction, after verifying the audit trail and the store's checkpoints.
        Nothing else may run on the database meanwhile (stop the servers); close this
        store afterwards (it still holds the old key)."""
        points, unreadable, where = self.audit.checkpoints()
        if unreadable:
            raise rotation.RotationRefused("; ".join(unreadable))
        with self._writer_lock, self.engine.begin() as conn:
            rotation.check_before(conn, self.keys, points, where)
            return rotation.rotate_field_key(conn, self.keys, new)

    def rotate_audit_key(self, new: Keyring) -> dict[str, Any]:
        """Re-key the audit chain, its head and the row MACs to ``new``'s audit key
        (:mod:`daybreak.store.rotation`) after verifying them and the checkpoints; then
        set the checkpoint file aside (``<file>.before-<UTC time>``: its lines are
        signed with the old key) and start a new one with the hand-over, signed with
        the new key. Returns the hand-over, with ``checkpoints_kept`` (the file set
        aside, or None). Close this store afterwards."""
        points, unreadable, where = self.audit.checkpoints()
        if unreadable:
            raise rotation.RotationRefused("; ".join(unreadable))
        path = self.audit.checkpoint_path
        self.audit.close()  # its last checkpoint, with the old key; it writes no more
        with self._writer_lock, self.engine.begin() as conn:
            rotation.check_before(conn, self.keys, points, where)
            done = rotation.rotate_audit_key(conn, self.keys, new)
        kept = None
        if path is not None:
            if path.exists():
                kept = path.with_name(f"{path.name}.before-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
                path.rename(kept)
            cp.append(path, cp.make(new, done["seq"], done["head"]))
        return {**done, "checkpoints_kept": None if kept is None else str(kept)}

    def close(self) -> None:
        self.cases.settle()  # figures being counted in the background read the database
        self.accounts.close()
        self.reports.close()
        self._reads.close()
        self.audit.close()
        self._writer_lock.close()
        self.engine.dispose()
        self.read_engine.dispose()

    def __enter__(self) -> TiplineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
