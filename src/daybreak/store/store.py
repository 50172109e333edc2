"""The store API the rest of Daybreak uses: reports, clusters, cases, users and audit.

Every method that reads or writes case data names the acting :class:`Actor` and adds an
entry to the audit chain in the same transaction as the read or write itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.engine import make_url

from daybreak.model.cases import Case, CaseStatus, Disposition, Outcome, SubjectLabel
from daybreak.model.identifiers import IdentifierKind, canonical_kind, normalize
from daybreak.store import auth, integrity
from daybreak.store import cases as case_ops
from daybreak.store import checkpoints as cp
from daybreak.store import cybertip as cybertip_ops
from daybreak.store import labels as label_ops
from daybreak.store.audit import (
    AuditAppender,
    AuditEntry,
    VerifyResult,
    append_one,
    head_for_checkpoint,
    iter_entries,
    utc,
    verify,
)
from daybreak.store.auth import CASE_READERS, MANAGERS, SYSTEM, Account, Actor, Role
from daybreak.store.db import WriterLock, is_sqlite, make_engines, migrate, sqlite_url
from daybreak.store.keys import Keyring, private_dir
from daybreak.store.reports import (
    Prepared,
    Receipt,
    StoredReport,
    Submission,
    decode_report,
    prepare,
    write_batch,
)
from daybreak.store.tables import (
    alerted_identifiers,
    case_reports,
    cases,
    clusters,
    idempotency_keys,
    identifier_clusters,
    report_identifiers,
    reports,
    sessions,
)
from daybreak.store.throttle import LoginGuard, LoginRefused
from daybreak.store.writer import BatchWriter
from daybreak.tipline.intake import ReportIn
from daybreak.tipline.routing import AgencyTable

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


class PermissionDenied(PermissionError):
    pass


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """One line of the triaged queue: a cluster of reports about the same identifiers."""

    cluster_id: str
    tier: int
    score: float
    report_count: int
    report_ids: tuple[str, ...]
    country: str | None
    agency: str
    is_live: bool
    reasons: tuple[str, ...]
    last_received: datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    report_ids: tuple[str, ...]
    case_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    reports_deleted: int
    cases_deleted: int
    idempotency_keys_deleted: int
    dry_run: bool


def _require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"role {actor.role.value} may not {what}")


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
            migrate(self.engine)
            with self._writer_lock, self.engine.begin() as conn:
                integrity.upgrade(conn, keys)
        self.writer = BatchWriter(self._write_batch, max_batch=max_batch)
        # Per-process sign-in throttles (the account lockout itself is in the database);
        # the API replaces it with one built from its settings.
        self.login_guard = LoginGuard()
        self.checkpoint_path = checkpoint_path(url, checkpoints)
        self._checkpointer: cp.Checkpointer | None = None
        if self.checkpoint_path is not None:
            private_dir(self.checkpoint_path.parent)
            every = checkpoint_every
            if every is None:
                every = float(os.environ.get(cp.INTERVAL_ENV_VAR, cp.DEFAULT_INTERVAL))
            self._checkpointer = cp.Checkpointer(
                self.checkpoint_path, keys, self._head_for_checkpoint, every
            )
            self._checkpointer.checkpoint()

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

    def close(self) -> None:
        self.login_guard.close()
        self.writer.close()
        if self._checkpointer is not None:
            self._checkpointer.close()  # writes the final checkpoint
            self._checkpointer = None
        self._writer_lock.close()
        self.engine.dispose()
        self.read_engine.dispose()

    def __enter__(self) -> TiplineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reports ---------------------------------------------------------------------

    def _write_batch(
        self, subs: list[Submission], prepared: list[Prepared] | None = None
    ) -> list[Receipt | Exception]:
        if prepared is None:
            prepared = [prepare(s, self.keys, self.agencies) for s in subs]
        with self._writer_lock, self.engine.begin() as conn:
            audit = AuditAppender(conn, self.keys)
            out = write_batch(conn, self.keys, self.agencies, audit, subs, prepared)
            audit.close()
        return out

    def submit(self, sub: Submission) -> Future[Receipt]:
        """Queue a report for the group-commit writer; the future resolves after commit.

        The report's database-independent parts (identifiers, blind indexes,
        ciphertexts, routing) are prepared here, in the caller's thread, so the writer
        holds the database's write lock for less time."""
        try:
            prepared = prepare(sub, self.keys, self.agencies)
        except Exception as exc:  # reported through the future, like a failed write
            failed: Future[Receipt] = Future()
            failed.set_exception(exc)
            return failed
        return self.writer.submit(sub, prepared)

    def add_reports(self, subs: Sequence[Submission]) -> list[Receipt]:
        """Store reports synchronously in one transaction (imports, world loads)."""
        results = self._write_batch(list(subs))
        for r in results:
            if isinstance(r, Exception):
                raise r
        return [r for r in results if isinstance(r, Receipt)]

    def add_report(self, report: ReportIn, actor: Actor, source: str = "import") -> Receipt:
        return self.add_reports([Submission(report, actor.name, source)])[0]

    def get_report(self, report_id: str, actor: Actor) -> StoredReport | None:
        """A report with its payload. Platforms see only reports they submitted."""
        with self.engine.begin() as conn:
            row = conn.execute(select(reports).where(reports.c.report_id == report_id)).first()
            if row is None or (actor.role is Role.PLATFORM and row.submitted_by != actor.name):
                return None
            append_one(conn, self.keys, actor.name, "report.read", "report", report_id)
            return decode_report(self.keys, row)

    def reports_by_id(self, report_ids: Iterable[str], actor: Actor) -> list[StoredReport]:
        _require(actor, CASE_READERS, "read reports")
        ids = sorted(set(report_ids))
        with self.engine.begin() as conn:
            rows = list(
                conn.execute(
                    select(reports)
                    .where(reports.c.report_id.in_(ids))
                    .order_by(reports.c.report_id)
                )
            )
            append_one(
                conn,
                self.keys,
                actor.name,
                "report.read",
                "report",
                "*",
                {"ids": [r.report_id for r in rows]},
            )
            return [decode_report(self.keys, r) for r in rows]

    def count_reports(self) -> int:
        with self.read_engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(reports)).scalar_one())

    def report_ids(self) -> list[str]:
        """All stored report ids (no content; for checks and tests)."""
        with self.read_engine.connect() as conn:
            return [r[0] for r in conn.execute(select(reports.c.report_id))]

    def triaged_queue(self, actor: Actor, limit: int = 100) -> list[ClusterSummary]:
        """Clusters by urgency: tier first, then score, then most recent."""
        _require(actor, CASE_READERS, "read the queue")
        with self.engine.begin() as conn:
            top = list(
                conn.execute(
                    select(clusters)
                    .order_by(
                        clusters.c.tier, clusters.c.score.desc(), clusters.c.updated_at.desc()
                    )
                    .limit(limit)
                )
            )
            ids = [c.cluster_id for c in top]
            members: dict[str, list[Any]] = {i: [] for i in ids}
            for r in conn.execute(
                select(
                    reports.c.report_id,
                    reports.c.cluster_id,
                    reports.c.tier,
                    reports.c.score,
                    reports.c.country,
                    reports.c.agency,
                    reports.c.is_live,
                    reports.c.reasons,
                    reports.c.received_at,
                ).where(reports.c.cluster_id.in_(ids))
            ):
                members[r.cluster_id].append(r)
            append_one(
                conn, self.keys, actor.name, "queue.read", "cluster", "*", {"clusters": len(ids)}
            )
        out = []
        for c in top:
            rows = sorted(members[c.cluster_id], key=lambda r: (r.tier, -r.score, r.report_id))
            lead = rows[0]
            out.append(
                ClusterSummary(
                    cluster_id=c.cluster_id,
                    tier=int(c.tier),
                    score=float(c.score),
                    report_count=len(rows),
                    report_ids=tuple(r.report_id for r in rows),
                    country=lead.country,
                    agency=lead.agency,
                    is_live=any(r.is_live for r in rows),
                    reasons=tuple(json.loads(lead.reasons)),
                    last_received=max(utc(r.received_at) for r in rows),
                )
            )
        return out

    def mark_alerted(self, identifier_keys: Iterable[str], source: str, ref: str = "") -> int:
        """Record identifiers that carry alerts elsewhere (payments, media hash matches:
        ``source='media'``); later reports about them rank higher."""
        rows = [
            {"value_index": self.keys.index(k), "source": source, "ref": ref[:80]}
            for k in set(identifier_keys)
        ]
        with self.engine.begin() as conn:
            existing = {
                r[0]
                for r in conn.execute(
                    select(alerted_identifiers.c.value_index).where(
                        alerted_identifiers.c.source == source
                    )
                )
            }
            new = [r for r in rows if r["value_index"] not in existing]
            if new:
                conn.execute(alerted_identifiers.insert(), new)
        return len(new)

    def search(self, kind: IdentifierKind | str, value: str, actor: Actor) -> SearchHit:
        """Reports and cases carrying an identifier (normalised first)."""
        _require(actor, CASE_READERS, "search")
        if kind == "hash":
            key = f"hash:{value.lower()}"
        else:
            k = canonical_kind(kind)  # a beneficiary is searched as its payment handle
            key = f"{k.value}:{normalize(k, value)}"
        index = self.keys.index(key)
        with self.engine.begin() as conn:
            rids = sorted(
                {
                    r[0]
                    for r in conn.execute(
                        select(report_identifiers.c.report_id).where(
                            report_identifiers.c.value_index == index
                        )
                    )
                }
            )
            cids = case_ops.cases_with_key(conn, index)
            append_one(
                conn,
                self.keys,
                actor.name,
                "search",
                "identifier",
                index[:16],
                {"reports": len(rids), "cases": len(cids)},
            )
        return SearchHit(tuple(rids), tuple(sorted(cids)))

    # ---- cases -----------------------------------------------------------------------

    def upsert_cases(self, items: Sequence[Case], actor: Actor = SYSTEM) -> tuple[int, int]:
        """Insert new cases and refresh existing ones (workflow state kept). Returns
        (created, updated)."""
        created = 0
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            audit = AuditAppender(conn, self.keys)
            for case in items:
                is_new = case_ops.upsert(conn, self.keys, case, now)
                created += is_new
                audit.append(
                    actor.name,
                    "case.create" if is_new else "case.update",
                    "case",
                    case.case_id,
                    at=now,
                )
            audit.close()
        return created, len(items) - created

    def list_cases(self, actor: Actor, filters: case_ops.CaseFilter | None = None) -> list[Case]:
        _require(actor, CASE_READERS, "list cases")
        with self.engine.begin() as conn:
            found = case_ops.query(conn, self.keys, filters or case_ops.CaseFilter())
            append_one(
                conn,
                self.keys,
                actor.name,
                "case.list",
                "case",
                "*",
                {"ids": [c.case_id for c in found]},
            )
        return found

    def get_case(self, case_id: str, actor: Actor) -> Case | None:
        _require(actor, CASE_READERS, "read cases")
        with self.engine.begin() as conn:
            case = case_ops.get(conn, self.keys, case_id)
            if case is not None:
                append_one(conn, self.keys, actor.name, "case.read", "case", case_id)
        return case

    def transition(
        self,
        case_id: str,
        to: CaseStatus,
        actor: Actor,
        reason: str = "",
        *,
        outcome: Outcome | None = None,
        assignee: str | None = None,
    ) -> Case:
        _require(actor, CASE_READERS, "change cases")
        if assignee is not None and assignee != actor.name:
            _require(actor, MANAGERS, "assign cases to others")
        with self.engine.begin() as conn:
            if assignee is not None and assignee not in {u.name for u in auth.list_users(conn)}:
                raise case_ops.WorkflowError(f"no such user to assign: {assignee!r}")
            if to is CaseStatus.CLOSED and actor.role not in MANAGERS:
                self._require_own_case(conn, case_id, actor)
            case = case_ops.transition(
                conn,
                self.keys,
                case_id,
                to,
                actor.name,
                reason,
                datetime.now(UTC),
                outcome=outcome,
                assignee=assignee,
            )
            append_one(
                conn,
                self.keys,
                actor.name,
                "case.transition",
                "case",
                case_id,
                {
                    "to": to.value,
                    "outcome": outcome.value if outcome else None,
                    "assignee": case.assignee,
                },
            )
        return case

    @staticmethod
    def _require_own_case(conn: Connection, case_id: str, actor: Actor) -> None:
        """An analyst closes only cases that are unassigned or assigned to them; a case
        someone else holds is closed by them or a supervisor. The row is locked
        (PostgreSQL; SQLite's write transaction is exclusive) so an assignment cannot
        slip in between this check and the close."""
        holder = conn.execute(
            select(cases.c.assignee).where(cases.c.case_id == case_id).with_for_update()
        ).scalar_one_or_none()
        if holder and holder != actor.name:
            raise PermissionDenied(
                f"case {case_id} is assigned to {holder}: only they or a supervisor may close it"
            )

    def add_note(self, case_id: str, actor: Actor, text: str) -> None:
        _require(actor, CASE_READERS, "write notes")
        if not text.strip() or len(text) > 20000:
            raise case_ops.WorkflowError("a note needs 1-20000 characters")
        with self.engine.begin() as conn:
            case_ops.add_note(conn, self.keys, case_id, actor.name, text.strip(), datetime.now(UTC))
            append_one(conn, self.keys, actor.name, "case.note", "case", case_id)

    def notes(self, case_id: str, actor: Actor) -> list[case_ops.Note]:
        _require(actor, CASE_READERS, "read notes")
        with self.engine.begin() as conn:
            out = case_ops.notes(conn, self.keys, case_id)
            append_one(conn, self.keys, actor.name, "case.notes.read", "case", case_id)
        return out

    def record_disposition(
        self,
        case_id: str,
        subject: tuple[str, str],
        disposition: Disposition,
        actor: Actor,
    ) -> SubjectLabel:
        """Record an analyst's disposition of one payments subject (subject_type,
        subject_id) of a case: the label the payments model learns from. Recording
        again for the same case and subject replaces the earlier disposition."""
        _require(actor, CASE_READERS, "label case subjects")
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            stored = label_ops.record(
                conn, self.keys, case_id, subject, disposition, actor.name, now
            )
            append_one(
                conn,
                self.keys,
                actor.name,
                "case.label",
                "case",
                case_id,
                {
                    "subject_type": subject[0],
                    "subject": self.keys.index(label_ops.subject_key(*subject))[:16],
                    "disposition": disposition.value,
                },
            )
        return stored

    def subject_labels(self, actor: Actor, case_id: str | None = None) -> list[SubjectLabel]:
        """Stored dispositions (of one case, or all), oldest first."""
        _require(actor, CASE_READERS, "read case labels")
        with self.engine.begin() as conn:
            out = label_ops.listing(conn, self.keys, case_id)
            append_one(
                conn,
                self.keys,
                actor.name,
                "case.labels.read",
                "case",
                case_id or "*",
                {"labels": len(out), "cases": len({x.case_id for x in out})},
            )
        return out

    def status_history(
        self, actor: Actor, case_id: str | None = None
    ) -> list[case_ops.StatusChange]:
        _require(actor, CASE_READERS, "read case history")
        with self.engine.begin() as conn:
            out = case_ops.history(conn, self.keys, case_id)
            append_one(conn, self.keys, actor.name, "case.history.read", "case", case_id or "*")
        return out

    def audit_trail(self, actor: Actor, object_id: str | None = None) -> list[AuditEntry]:
        _require(actor, CASE_READERS if object_id else MANAGERS, "read the audit trail")
        with self.read_engine.connect() as conn:
            return list(iter_entries(conn, object_id))

    # ---- CyberTipline submissions (daybreak.connectors.cybertip) -----------------------

    def cybertip_submission(
        self, case_id: str, service: str, actor: Actor
    ) -> cybertip_ops.CybertipSubmission | None:
        """Where the case's submission to NCMEC about ``service`` stands (None: never
        submitted)."""
        _require(actor, CASE_READERS, "read case submissions")
        with self.engine.begin() as conn:
            found = cybertip_ops.get(conn, self.keys, case_id, service)
            append_one(conn, self.keys, actor.name, "case.cybertip.read", "case", case_id)
        return found

    def record_cybertip_step(
        self,
        case_id: str,
        service: str,
        step: cybertip_ops.SubmissionStep,
        actor: Actor,
        *,
        ncmec_report_id: int | None = None,
        xml_digest: str | None = None,
        response: str | None = None,
        response_code: int | None = None,
    ) -> None:
        """Persist the step a submission reached (and NCMEC's report id and response)
        with its audit entry, in one transaction, before the connector's next call."""
        _require(actor, CASE_READERS, "submit cases")
        with self.engine.begin() as conn:
            if (
                conn.execute(select(cases.c.case_id).where(cases.c.case_id == case_id)).first()
                is None
            ):
                raise case_ops.NotFound(f"case {case_id!r} not found")
            cybertip_ops.record(
                conn, self.keys, case_id, service, step, datetime.now(UTC),
                ncmec_report_id=ncmec_report_id, xml_digest=xml_digest, response=response,
            )  # fmt: skip
            detail: dict[str, Any] = {"step": step.value}
            if ncmec_report_id is not None:
                detail["ncmec_report_id"] = ncmec_report_id
            if response_code is not None:
                detail["response_code"] = response_code
            append_one(conn, self.keys, actor.name, f"case.cybertip.{step.value}", "case", case_id, detail)  # fmt: skip

    def _head_for_checkpoint(self) -> tuple[int, str] | str:
        with self.read_engine.connect() as conn:
            return head_for_checkpoint(conn, self.keys)

    def checkpoint(self) -> cp.Checkpoint | None:
        """Append the audit head to the checkpoint file now (None: no file configured,
        or the head failed its checks, which is logged)."""
        if self._checkpointer is None:
            return None
        return self._checkpointer.checkpoint(force=True)

    def verify_audit(self, checkpoint_file: Path | None = None) -> VerifyResult:
        """The audit chain, its head, the checkpoints (of ``checkpoint_file``, e.g. the
        copy kept off the machine; default: the store's own file) and every row MAC."""
        path = checkpoint_file or self.checkpoint_path
        points: list[cp.Checkpoint] | None = None
        unreadable: list[str] = []
        if path is not None and (checkpoint_file is not None or path.exists()):
            try:
                points, unreadable = cp.read(path)
            except OSError as exc:
                unreadable = [f"{path}: cannot read the checkpoint file ({exc})"]
        with self.read_engine.connect() as conn:
            chain = verify(conn, self.keys, points, str(path))
            rows = integrity.check_rows(conn, self.keys)
        problems = (*unreadable, *chain.problems, *rows.problems)
        if rows.bad > len(rows.problems):
            problems += (f"... {rows.bad} rows in all do not match their row MAC",)
        return VerifyResult(
            ok=not problems,
            entries=chain.entries,
            problems=problems,
            warnings=chain.warnings,
            checkpoints=chain.checkpoints,
            rows=rows.rows,
            bad_rows=rows.bad,
        )

    # ---- users, keys, sessions ---------------------------------------------------------

    def _admin_write(self, actor: Actor, action: str, oid: str, fn: Any) -> Any:
        with self.engine.begin() as conn:
            result = fn(conn)
            append_one(conn, self.keys, actor.name, action, "principal", oid)
        return result

    def create_user(self, username: str, password: str, role: Role, actor: Actor = SYSTEM) -> None:
        _require(actor, frozenset({Role.ADMIN}), "create users")
        self._admin_write(
            actor, "user.create", username, lambda c: auth.create_user(c, username, password, role)
        )

    def create_api_key(
        self,
        name: str,
        role: Role,
        rate_per_minute: int = 6000,
        actor: Actor = SYSTEM,
        *,
        expires_at: datetime | None = None,
        owner: str | None = None,
    ) -> str:
        _require(actor, frozenset({Role.ADMIN}), "create API keys")
        secret: str = self._admin_write(
            actor,
            "apikey.create",
            name[:80],
            lambda c: auth.create_api_key(
                c, name, role, rate_per_minute, expires_at=expires_at, owner=owner
            ),
        )
        return secret

    def revoke_api_key(self, key_id: str, actor: Actor = SYSTEM) -> bool:
        _require(actor, frozenset({Role.ADMIN}), "revoke API keys")
        done: bool = self._admin_write(
            actor, "apikey.revoke", key_id, lambda c: auth.revoke_api_key(c, key_id)
        )
        return done

    def set_password(self, username: str, password: str, actor: Actor = SYSTEM) -> None:
        """Reset a password (policy checked); the lock is lifted and every session ends."""
        _require(actor, frozenset({Role.ADMIN}), "reset passwords")
        self._admin_write(
            actor,
            "user.password_reset",
            username,
            lambda c: auth.set_password(c, username, password),
        )

    def set_disabled(self, username: str, disabled: bool, actor: Actor = SYSTEM) -> None:
        _require(actor, frozenset({Role.ADMIN}), "disable or enable users")
        action = "user.disable" if disabled else "user.enable"
        self._admin_write(
            actor, action, username, lambda c: auth.set_disabled(c, username, disabled)
        )

    def set_role(self, username: str, role: Role, actor: Actor = SYSTEM) -> None:
        _require(actor, frozenset({Role.ADMIN}), "change roles")
        with self.engine.begin() as conn:
            auth.set_role(conn, username, role)
            append_one(
                conn,
                self.keys,
                actor.name,
                "user.role",
                "principal",
                username,
                {"role": role.value},
            )

    def revoke_user(self, username: str, actor: Actor = SYSTEM) -> tuple[int, int]:
        """End every session of ``username`` and revoke the API keys they own:
        (sessions ended, keys revoked). Effective at once in every process."""
        _require(actor, frozenset({Role.ADMIN}), "revoke users")
        with self.engine.begin() as conn:
            ended, revoked = auth.revoke_user(conn, username)
            append_one(
                conn,
                self.keys,
                actor.name,
                "user.revoke",
                "principal",
                username,
                {"sessions": ended, "keys": revoked},
            )
        return ended, revoked

    def accounts(self) -> list[Account]:
        with self.read_engine.connect() as conn:
            return auth.list_accounts(conn)

    def session_epoch(self, username: str) -> int | None:
        """The user's session epoch (None: disabled or gone); a process holding sessions
        in memory compares it on each use, so revocation reaches them at once."""
        with self.read_engine.connect() as conn:
            return auth.session_epoch(conn, username)

    def authenticate(self, username: str, password: str) -> Actor | None:
        """Check a password with no throttle (for tools and tests); sign-in pages and
        routes use :meth:`login`."""
        with self.read_engine.connect() as conn:
            return auth.check_password(conn, username, password)

    def login(
        self, username: str, password: str, *, client: str = "", channel: str = "api"
    ) -> Actor | None:
        """Check a password behind the sign-in throttles: this process's per-address
        limit and cap on concurrent hashing (:attr:`login_guard`), and the account
        lockout kept in the database, which every process shares. None: wrong user
        name or password, audited as ``login.failed`` (and ``login.locked`` when the
        failure locks the account). Raises :class:`LoginRefused` (address, busy or
        locked) without checking the password."""
        self.login_guard.admit(client)
        with self.read_engine.connect() as conn:
            record = auth.password_record(conn, username)
        now = datetime.now(UTC)
        if record.locked_until is not None and record.locked_until > now:
            wait = (record.locked_until - now).total_seconds()
            raise LoginRefused(
                "locked",
                "too many failed sign-ins for this account; try again later",
                int(wait) + 1,
            )
        actor = self.login_guard.check(lambda: auth.verify_password(record, password))
        if actor is None:
            self._login_failed(record.username, username, client, channel, now)
        elif record.failed_logins:
            with self.engine.begin() as conn:
                auth.record_success(conn, actor.name)
        return actor

    def _login_failed(
        self, known: str | None, typed: str, client: str, channel: str, now: datetime
    ) -> None:
        """Count the failure (known users) and audit it. The audit names a known user;
        an unknown name is kept only as a keyed hash (people type passwords into the
        user name field), and so is the client address: repeated attempts still link."""
        oid = known or "?" + self.keys.index(f"login-name:{typed}")[:16]
        detail: dict[str, Any] = {
            "channel": channel,
            "client": self.keys.index(f"client:{client}")[:16],
        }
        with self.engine.begin() as conn:
            until = None
            if known is not None:
                detail["failures"], until = auth.record_failure(conn, known, now)
            append_one(conn, self.keys, "anonymous", "login.failed", "principal", oid, detail)
            if until is not None:
                append_one(
                    conn,
                    self.keys,
                    "system",
                    "login.locked",
                    "principal",
                    oid,
                    {"until": until.isoformat(), "failures": detail["failures"]},
                )

    def check_api_key(self, presented: str) -> Actor | None:
        with self.read_engine.connect() as conn:
            return auth.check_api_key(conn, presented)

    def start_session(self, actor: Actor) -> str:
        with self.engine.begin() as conn:
            token = auth.start_session(conn, actor.name)
            append_one(conn, self.keys, actor.name, "session.start", "principal", actor.name)
        return token

    def check_session(self, token: str) -> Actor | None:
        with self.read_engine.connect() as conn:
            return auth.check_session(conn, token)

    def end_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            auth.end_session(conn, token)

    def users(self) -> list[Actor]:
        with self.read_engine.connect() as conn:
            return auth.list_users(conn)

    # ---- retention -------------------------------------------------------------------

    def apply_retention(
        self,
        days: int,
        actor: Actor = SYSTEM,
        *,
        dry_run: bool = False,
        idempotency_hours: int = 24,
    ) -> RetentionResult:
        """Delete reports older than ``days`` unless an open case uses them, closed cases
        not touched for ``days``, and idempotency keys older than ``idempotency_hours``.
        The audit log is kept (it holds no personal data)."""
        _require(actor, frozenset({Role.ADMIN}), "apply retention")
        if days < 1:
            raise ValueError("retention must be at least 1 day")
        now = datetime.now(UTC)
        cutoff = now - timedelta(days=days)
        with self.engine.begin() as conn:
            old_cases = [
                r[0]
                for r in conn.execute(
                    select(cases.c.case_id).where(
                        cases.c.status == CaseStatus.CLOSED.value, cases.c.updated_at < cutoff
                    )
                )
            ]
            open_refs = (
                select(case_reports.c.report_id)
                .join(cases, cases.c.case_id == case_reports.c.case_id)
                .where(cases.c.status != CaseStatus.CLOSED.value)
            )
            old_reports = [
                r[0]
                for r in conn.execute(
                    select(reports.c.report_id).where(
                        reports.c.received_at < cutoff, reports.c.report_id.not_in(open_refs)
                    )
                )
            ]
            idem_cut = now - timedelta(hours=idempotency_hours)
            n_idem = int(
                conn.execute(
                    select(func.count())
                    .select_from(idempotency_keys)
                    .where(idempotency_keys.c.created_at < idem_cut)
                ).scalar_one()
            )
            if not dry_run:
                self._delete(conn, old_cases, old_reports, idem_cut, now)
                append_one(
                    conn,
                    self.keys,
                    actor.name,
                    "retention.apply",
                    "store",
                    "*",
                    {"days": days, "reports": len(old_reports), "cases": len(old_cases)},
                )
        return RetentionResult(cutoff, len(old_reports), len(old_cases), n_idem, dry_run)

    def _delete(
        self,
        conn: Connection,
        case_ids: list[str],
        report_ids: list[str],
        idem_cut: datetime,
        now: datetime,
    ) -> None:
        for chunk in range(0, len(case_ids), 500):
            conn.execute(delete(cases).where(cases.c.case_id.in_(case_ids[chunk : chunk + 500])))
        touched: set[str] = set()
        for chunk in range(0, len(report_ids), 500):
            ids = report_ids[chunk : chunk + 500]
            touched |= {
                r[0]
                for r in conn.execute(
                    select(reports.c.cluster_id).where(reports.c.report_id.in_(ids))
                )
            }
            conn.execute(delete(report_identifiers).where(report_identifiers.c.report_id.in_(ids)))
            conn.execute(delete(reports).where(reports.c.report_id.in_(ids)))
        for cid in touched:
            n = int(
                conn.execute(
                    select(func.count()).select_from(reports).where(reports.c.cluster_id == cid)
                ).scalar_one()
            )
            if n:
                conn.execute(
                    update(clusters).where(clusters.c.cluster_id == cid).values(report_count=n)
                )
                integrity.refresh_mac(conn, self.keys, clusters, cid)
            else:  # its identifiers start a new cluster when reported again
                conn.execute(delete(clusters).where(clusters.c.cluster_id == cid))
                conn.execute(
                    delete(identifier_clusters).where(identifier_clusters.c.cluster_id == cid)
                )
        conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < idem_cut))
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
