"""An in-memory :class:`~daybreak.console.backend.ConsoleBackend`: the console tests' fake.

It enforces the same workflow as the store (:data:`daybreak.model.cases.TRANSITIONS`,
an outcome to close, known users to assign) and keeps an audit list of every read and
write, so the pages can be tested without a database. Production uses
:class:`daybreak.console.store_backend.StoreBackend`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from daybreak.console import dashboards, queue
from daybreak.console.backend import (
    ActionError,
    AuditView,
    CaseLinkView,
    ConsoleUser,
    DeliveryFailure,
    ExchangeMatch,
    ExportFile,
    ExportFormat,
    NoteView,
    ReferralView,
    Role,
    StatusEvent,
    TierChange,
)
from daybreak.console.evidence import EvidenceRecord, describe, own_alerts, require_match
from daybreak.console.exports import CaseExporter, ExportersPackage, case_rows
from daybreak.graph.case_edit import CaseEditError, merge_cases, split_case
from daybreak.model.alerts import Alert
from daybreak.model.cases import TRANSITIONS, Case, CaseStatus, Outcome, Tier
from daybreak.store.auth import MANAGERS, lock_seconds
from daybreak.store.cases import CaseFigures
from daybreak.store.repositories.estimates import StoredEstimate
from daybreak.store.throttle import LoginRefused

# Cheap parameters: this backend serves tests and demos, never real credentials.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryBackend:
    def __init__(
        self,
        cases: Iterable[Case],
        alerts: Iterable[Alert] = (),
        *,
        clock: Callable[[], datetime] = _now,
        exporter: CaseExporter | None = None,
        agencies: dict[str, str] | None = None,
    ) -> None:
        self._cases: dict[str, Case] = {c.case_id: c for c in cases}
        self._alerts = list(alerts)
        self._users: dict[str, tuple[str, Role]] = {}
        self._failures: dict[str, tuple[int, datetime | None]] = {}  # the store's lockout
        self._notes: dict[str, list[NoteView]] = {}
        self._audit: dict[str, list[AuditView]] = {}
        self._status: list[StatusEvent] = []
        self._tiers: dict[str, list[TierChange]] = {}
        self._links: dict[str, list[CaseLinkView]] = {}
        self.team_members: dict[str, set[str]] = {}  # team -> usernames (tests set it)
        self._referrals: dict[str, list[ReferralView]] = {}
        self._sent: dict[tuple[str, int], ExportFile] = {}
        self._clock = clock
        self._exporter: CaseExporter = exporter or ExportersPackage()
        self._lock = threading.Lock()
        self._agencies = dict(agencies or {})
        self.delivery_failed: list[DeliveryFailure] = []  # tests add the relay's failures
        self.estimates: list[StoredEstimate] = []  # tests add runs, oldest first
        # (hash type, hash) -> (exchange, api) of the exchanges listing it (tests set it)
        self.exchange_listed: dict[tuple[str, str], list[tuple[str, str]]] = {}
        # (case, hash type, hash, verdict, exchange) of each opinion queued
        self.match_opinions: list[tuple[str, str, str, str, str]] = []
        for case in self._cases.values():
            if case.created_at is not None:
                self._status.append(StatusEvent(case.case_id, case.created_at, CaseStatus.NEW))
            if case.status is not CaseStatus.NEW and case.updated_at is not None:
                self._status.append(StatusEvent(case.case_id, case.updated_at, case.status))

    def configure(
        self, *, alerts: Sequence[Alert] | None = None, exporter: CaseExporter | None = None
    ) -> None:
        if alerts is not None:
            self._alerts = list(alerts)
        if exporter is not None:
            self._exporter = exporter

    # -- users -------------------------------------------------------------------------
    def add_cases(self, cases: Iterable[Case]) -> None:
        """Cases a test adds to the world (a hub case and its sub-cases, say)."""
        with self._lock:
            self._cases.update((c.case_id, c) for c in cases)

    def add_user(self, username: str, password: str, role: Role) -> None:
        self._users[username] = (_HASHER.hash(password), role)

    def authenticate(self, username: str, password: str) -> ConsoleUser | None:
        entry = self._users.get(username)
        if entry is None:
            return None
        try:
            _HASHER.verify(entry[0], password)
        except VerificationError:
            return None
        return ConsoleUser(username, entry[1])

    def sign_in(self, username: str, password: str, client: str) -> ConsoleUser | None:
        """The store's lockout rule (:func:`daybreak.store.auth.lock_seconds`) on an
        in-memory counter."""
        now = self._clock()
        with self._lock:
            failures, until = self._failures.get(username, (0, None))
        if until is not None and until > now:
            wait = int((until - now).total_seconds()) + 1
            raise LoginRefused("locked", "too many failed sign-ins for this account", wait)
        user = self.authenticate(username, password)
        with self._lock:
            if user is not None:
                self._failures.pop(username, None)
            elif username in self._users:
                seconds = lock_seconds(failures + 1)
                lock = now + timedelta(seconds=seconds) if seconds else None
                self._failures[username] = (failures + 1, lock)
        return user

    def session_epoch(self, username: str) -> int | None:
        return 0 if username in self._users else None

    def assignable_users(self, actor: ConsoleUser | None = None) -> Sequence[str]:
        return sorted(u for u, (_, role) in self._users.items() if role is not Role.PLATFORM)

    # -- reads -------------------------------------------------------------------------
    def list_cases(self, actor: ConsoleUser) -> Sequence[Case]:
        """Every case (tests read them; the pages use :meth:`queue_page`)."""
        self._record("*", actor, "list_cases")
        return list(self._cases.values())

    def queue_page(
        self, actor: ConsoleUser, filters: queue.QueueFilters, now: datetime
    ) -> queue.QueuePage:
        self._record("*", actor, "list_cases")
        return queue.build_queue(list(self._cases.values()), self._alerts, filters, now)

    def case_figures(self, actor: ConsoleUser) -> CaseFigures:
        cases = list(self._cases.values())
        typologies = queue.typologies_by_case(cases, self._alerts)
        return dashboards.figures_of(cases, self.status_events(actor), typologies)

    def latest_estimate(self, actor: ConsoleUser) -> StoredEstimate | None:
        return self.estimates[-1] if self.estimates else None

    def get_case(self, case_id: str, actor: ConsoleUser) -> Case | None:
        case = self._cases.get(case_id)
        if case is not None:
            self._record(case_id, actor, "read")
        return case

    def case_states(
        self, case_ids: Sequence[str], actor: ConsoleUser
    ) -> dict[str, tuple[Tier, CaseStatus]]:
        found = [self._cases[i] for i in case_ids if i in self._cases]
        return {c.case_id: (c.tier, c.status) for c in found}

    def notes(self, case_id: str, actor: ConsoleUser) -> Sequence[NoteView]:
        return list(self._notes.get(case_id, ()))

    def audit_trail(self, case_id: str, actor: ConsoleUser) -> Sequence[AuditView]:
        return list(self._audit.get(case_id, ()))

    def alerts(self, actor: ConsoleUser) -> Sequence[Alert]:
        return list(self._alerts)

    def delivery_failures(self, actor: ConsoleUser) -> Sequence[DeliveryFailure]:
        if not actor.is_manager:
            raise PermissionError("only managers read the webhook dead letters")
        return sorted(self.delivery_failed, key=lambda d: d.letter_id, reverse=True)

    def status_events(
        self, actor: ConsoleUser, case_id: str | None = None
    ) -> Sequence[StatusEvent]:
        return [e for e in self._status if case_id is None or e.case_id == case_id]

    def tier_changes(self, case_id: str, actor: ConsoleUser) -> Sequence[TierChange]:
        return list(self._tiers.get(case_id, ()))

    # -- actions -----------------------------------------------------------------------
    def override_tier(self, case_id: str, actor: ConsoleUser, tier: Tier, reason: str) -> None:
        if not reason.strip():
            raise ActionError("overriding a case's tier needs a reason")
        with self._lock:
            case = self._require(case_id)
            if case.tier is tier:
                raise ActionError(f"the case is already tier {int(tier)}")
            earlier = self._tiers.setdefault(case_id, [])
            computed = earlier[0].computed_tier if earlier else case.tier
            now = self._clock()
            earlier.append(TierChange(now, actor.username, case.tier, tier, computed, reason))
            self._cases[case_id] = case.model_copy(update={"tier": tier, "updated_at": now})
        self._record(case_id, actor, "tier_override", f"T{int(case.tier)} to T{int(tier)}")

    def add_note(self, case_id: str, actor: ConsoleUser, text: str) -> None:
        self._require(case_id)
        with self._lock:
            self._notes.setdefault(case_id, []).append(
                NoteView(actor.username, self._clock(), text)
            )
        self._record(case_id, actor, "note", f"{len(text)} characters")

    def triage(self, case_id: str, actor: ConsoleUser) -> None:
        self._move(case_id, actor, CaseStatus.TRIAGED, "triage", "")

    def assign(self, case_id: str, actor: ConsoleUser, assignee: str) -> None:
        if assignee not in self.assignable_users():
            raise ActionError(f"unknown user {assignee!r}: pick an analyst from the list")
        self._move(
            case_id, actor, CaseStatus.ASSIGNED, "assign", f"to {assignee}", assignee=assignee
        )

    def escalate(self, case_id: str, actor: ConsoleUser, reason: str) -> None:
        self._move(case_id, actor, CaseStatus.ESCALATED, "escalate", reason)

    def refer(
        self, case_id: str, actor: ConsoleUser, agency: str, fmt: str = "", reference: str = ""
    ) -> None:
        if not agency.strip():
            raise ActionError("the case has no routed agency: name the agency to refer to")
        made = None
        if fmt:
            case, linked = self._case_and_alerts(case_id, actor)
            made = self._exporter(case, linked, fmt)
        self._move(
            case_id, actor, CaseStatus.REFERRED, "refer", f"to {agency}", routed_agency=agency
        )
        with self._lock:
            sent = self._referrals.setdefault(case_id, [])
            view = ReferralView(
                len(sent) + 1,
                self._clock(),
                actor.username,
                agency,
                fmt or None,
                made.filename if made else None,
                hashlib.sha256(made.content).hexdigest() if made else None,
                len(made.content) if made else None,
                reference.strip() or None,
                actor.username if reference.strip() else None,
            )
            sent.append(view)
            if made is not None:
                self._sent[(case_id, view.referral_id)] = made

    def referrals(self, case_id: str, actor: ConsoleUser) -> Sequence[ReferralView]:
        return list(self._referrals.get(case_id, ()))

    def add_referral_reference(
        self, case_id: str, actor: ConsoleUser, referral_id: int, reference: str
    ) -> None:
        if not reference.strip():
            raise ActionError("type the receiver's reference number")
        with self._lock:
            sent = self._referrals.get(case_id, [])
            found = next((r for r in sent if r.referral_id == referral_id), None)
            if found is None:
                raise ActionError(f"no referral {referral_id} of {case_id}")
            if found.reference is not None:
                raise ActionError(f"the referral already has the reference {found.reference!r}")
            sent[sent.index(found)] = replace(
                found, reference=reference.strip(), reference_by=actor.username
            )
        self._record(case_id, actor, "referral.reference", f"referral {referral_id}")

    def referral_export(self, case_id: str, actor: ConsoleUser, referral_id: int) -> ExportFile:
        made = self._sent.get((case_id, referral_id))
        if made is None:
            raise ActionError(f"no export sent with referral {referral_id} of {case_id}")
        self._record(case_id, actor, "referral.download", f"referral {referral_id}")
        return made

    def close(self, case_id: str, actor: ConsoleUser, outcome: Outcome, reason: str) -> None:
        if outcome is Outcome.MERGED:
            raise ActionError("a case is closed as merged by merging it into another case")
        self._require_holder(case_id, actor, "close")
        detail = f"{outcome.value}: {reason}" if reason else outcome.value
        self._move(case_id, actor, CaseStatus.CLOSED, "close", detail, outcome=outcome)

    def merge(self, into_id: str, actor: ConsoleUser, merged_id: str, reason: str) -> None:
        if not reason.strip():
            raise ActionError("merging cases needs a reason")
        for case_id in (into_id, merged_id):
            self._require_holder(case_id, actor, "merge")
            if self._require(case_id).status is CaseStatus.CLOSED:
                raise ActionError(f"{case_id} is closed: reopen it first")
        try:
            combined = merge_cases(self._require(into_id), self._require(merged_id))
        except CaseEditError as exc:
            raise ActionError(str(exc)) from exc
        with self._lock:
            self._cases[into_id] = combined
        self._move(
            merged_id,
            actor,
            CaseStatus.CLOSED,
            "merged",
            f"merged into {into_id}: {reason}",
            outcome=Outcome.MERGED,
        )
        self._link(into_id, merged_id, actor, ("merged_from", "merged_into"), reason, ())
        self._record(into_id, actor, "merge", f"merged {merged_id}")

    def split(self, case_id: str, actor: ConsoleUser, alert_ids: Sequence[str], reason: str) -> str:
        if not reason.strip():
            raise ActionError("splitting a case needs a reason")
        self._require_holder(case_id, actor, "split")
        case = self._require(case_id)
        if case.status is CaseStatus.CLOSED:
            raise ActionError(f"{case_id} is closed: reopen it first")
        n = 1 + sum(1 for x in self._links.get(case_id, ()) if x.kind == "split_to")
        try:
            rest, new = split_case(case, alert_ids, f"{case_id}-S{n}")
        except CaseEditError as exc:
            raise ActionError(str(exc)) from exc
        now = self._clock()
        with self._lock:
            self._cases[case_id] = rest
            self._cases[new.case_id] = new.model_copy(update={"created_at": now, "updated_at": now})
            self._status.append(StatusEvent(new.case_id, now, CaseStatus.NEW))
        moved = tuple(sorted(set(alert_ids)))
        self._link(case_id, new.case_id, actor, ("split_to", "split_from"), reason, moved)
        self._record(case_id, actor, "split", f"{len(moved)} alerts to {new.case_id}")
        return new.case_id

    def case_links(self, case_id: str, actor: ConsoleUser) -> Sequence[CaseLinkView]:
        return list(self._links.get(case_id, ()))

    def teams(self, actor: ConsoleUser) -> Sequence[str]:
        return sorted(t for t, members in self.team_members.items() if members)

    def teams_of(self, actor: ConsoleUser) -> Sequence[str]:
        return sorted(t for t, m in self.team_members.items() if actor.username in m)

    def send_to_team(self, case_id: str, actor: ConsoleUser, team: str | None) -> None:
        if team is not None and team not in self.teams(actor):
            raise ActionError(f"no team {team!r}")
        self._require_holder(case_id, actor, "send")
        with self._lock:
            case = self._require(case_id)
            self._cases[case_id] = case.model_copy(update={"team": team})
        self._record(case_id, actor, "team", f"to {team}" if team else "out of its team")

    def record(self, actor: ConsoleUser, action: str, object_id: str, detail: str) -> None:
        self._record(object_id, actor, action, detail)

    def exchange_matches(
        self, case_id: str, actor: ConsoleUser, hashes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], ExchangeMatch]:
        given = [o for o in self.match_opinions if o[0] == case_id]
        return {
            pair: ExchangeMatch(
                tuple(self.exchange_listed[pair]),
                tuple((o[3], o[4], "queued") for o in given if (o[1], o[2]) == pair),
            )
            for pair in set(hashes)
            if self.exchange_listed.get(pair)
        }

    def match_opinion(
        self, case_id: str, actor: ConsoleUser, hash_type: str, listed_hash: str, verdict: str
    ) -> Sequence[tuple[str, str]]:
        require_match(*self._case_and_alerts(case_id, actor), hash_type, listed_hash)
        listed = self.exchange_listed.get((hash_type, listed_hash), [])
        if not listed:
            raise ActionError("No exchange listed this hash: there is nobody to tell.")
        done = {o[4] for o in self.match_opinions if o[:4] == (case_id, hash_type, listed_hash, verdict)}  # fmt: skip
        queued = [(name, api) for name, api in listed if name not in done]
        for name, _ in queued:
            self.match_opinions.append((case_id, hash_type, listed_hash, verdict, name))
            self._record(case_id, actor, "exchange.opinion", f"{verdict} to {name}")
        return queued

    def agency_for(self, country: str | None) -> str | None:
        return self._agencies.get(country) if country else None

    # -- exports -----------------------------------------------------------------------
    def export_formats(self, case: Case | None = None) -> Sequence[ExportFormat]:
        return self._exporter.formats(case)

    def export_check(self, case_id: str, actor: ConsoleUser) -> Sequence[ExportFormat]:
        case, linked = self._case_and_alerts(case_id, actor)
        return self._exporter.check(case, linked)

    def export(self, case_id: str, actor: ConsoleUser, fmt: str) -> ExportFile:
        case, linked = self._case_and_alerts(case_id, actor)
        result = self._exporter(case, linked, fmt)
        self._record(case_id, actor, "export", fmt)
        return result

    def evidence(
        self, case_id: str, source: str, record_id: str, actor: ConsoleUser
    ) -> EvidenceRecord | None:
        case, linked = self._case_and_alerts(case_id, actor)
        own = own_alerts(case, linked)
        found = describe(case, own, source, record_id, case_rows(self._exporter, case, own))
        if found is not None:
            self._record(case_id, actor, "evidence.read", f"{source} {record_id}")
        return found

    # -- internals ---------------------------------------------------------------------
    def _case_and_alerts(self, case_id: str, actor: ConsoleUser) -> tuple[Case, list[Alert]]:
        case = self._require(case_id)
        return case, [a for a in self._alerts if a.alert_id in set(case.alert_ids)]

    def _require_holder(self, case_id: str, actor: ConsoleUser, doing: str) -> None:
        holder = self._require(case_id).assignee
        if actor.role not in MANAGERS and holder and holder != actor.username:
            raise ActionError(
                f"case {case_id} is assigned to {holder}: only they or a supervisor may {doing} it"
            )

    def _link(
        self,
        case_id: str,
        other: str,
        actor: ConsoleUser,
        kinds: tuple[str, str],
        reason: str,
        alert_ids: tuple[str, ...],
    ) -> None:
        now = self._clock()
        with self._lock:
            self._links.setdefault(case_id, []).append(
                CaseLinkView(now, actor.username, kinds[0], other, reason, alert_ids)
            )
            self._links.setdefault(other, []).append(
                CaseLinkView(now, actor.username, kinds[1], case_id, reason, alert_ids)
            )

    def _require(self, case_id: str) -> Case:
        case = self._cases.get(case_id)
        if case is None:
            raise ActionError(f"no case {case_id!r}")
        return case

    def _move(
        self,
        case_id: str,
        actor: ConsoleUser,
        to: CaseStatus,
        action: str,
        detail: str,
        **changes: object,
    ) -> None:
        with self._lock:
            case = self._require(case_id)
            if to not in TRANSITIONS[case.status]:
                raise ActionError(f"a {case.status.value} case cannot be moved to {to.value}")
            now = self._clock()
            self._cases[case_id] = case.model_copy(
                update={"status": to, "updated_at": now, **changes}
            )
            self._status.append(StatusEvent(case_id, now, to, actor.username, case.status, detail))
        self._record(case_id, actor, action, detail)

    def _record(self, case_id: str, actor: ConsoleUser, action: str, detail: str = "") -> None:
        with self._lock:
            self._audit.setdefault(case_id, []).append(
                AuditView(self._clock(), actor.username, action, detail)
            )
