"""The production :class:`ConsoleBackend`: the tipline's :class:`TiplineStore`.

Every read and action is a store call naming the signed-in user, so it is permission
checked and lands in the store's hash-chained audit log. The queue, searches and
dashboards are filtered, ordered, paged and counted in SQL (blind indexes for
identifiers), so a page decrypts only its own cases. Alerts (for the case page, the
dashboards' alert series and exports) are not kept by the store; the app passes them
in from the data dir.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

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
    StatusEvent,
    TierChange,
)
from daybreak.console.dashboards import as_of_label
from daybreak.console.evidence import (
    EvidenceRecord,
    describe,
    own_alerts,
    report_row,
    require_match,
)
from daybreak.console.exports import CaseExporter, ExportersPackage, case_rows
from daybreak.console.queue import (
    OPEN,
    PAGE_SIZE,
    EntityElsewhere,
    QueueFilters,
    QueuePage,
    mix_of,
    pages_of,
    queue_row,
    search_candidates,
)
from daybreak.console.security import ABSOLUTE_SECONDS, IDLE_SECONDS, Session, new_token
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus, Outcome, Tier
from daybreak.store import (
    Actor,
    CaseFigures,
    CaseFilter,
    NotFound,
    PermissionDenied,
    TiplineStore,
    WorkflowError,
)
from daybreak.store.auth import CASE_READERS
from daybreak.store.case_referrals import SentExport
from daybreak.store.repositories.estimates import StoredEstimate
from daybreak.store.repositories.exchanges import ExchangeError


def _actor(user: ConsoleUser) -> Actor:
    return Actor(user.username, user.role, org_id=user.org_id)


def _detail(detail: dict[str, Any]) -> str:
    shown = []
    for key, value in detail.items():
        if value is None or key == "ids":
            continue
        shown.append(f"{key} {value}")
    return ", ".join(shown)


def _case_filter(
    filters: QueueFilters, candidates: set[str], page: int | None = None
) -> CaseFilter:
    """The store's filter for a queue page: ``page`` (default the one asked for)."""
    status = filters.status
    shown = page or max(1, filters.page)
    return CaseFilter(
        status=CaseStatus(status) if status not in (OPEN, "") else None,
        open_only=status == OPEN,
        assignee=filters.assignee,
        unassigned=filters.teams is not None,
        teams=frozenset(filters.teams) if filters.teams is not None else None,
        tier=int(filters.tier) if filters.tier is not None else None,
        country=filters.country,
        typology=filters.typology,
        search=frozenset(candidates) if candidates else None,
        limit=PAGE_SIZE,
        offset=(shown - 1) * PAGE_SIZE,
    )


class StoreBackend:
    def __init__(
        self,
        store: TiplineStore,
        alerts: Sequence[Alert] | Callable[[], Sequence[Alert]] = (),
        *,
        exporter: CaseExporter | None = None,
    ) -> None:
        self.store = store
        self.alerts_source = alerts
        self._exporter = exporter or ExportersPackage()

    def configure(
        self, *, alerts: Sequence[Alert] | None = None, exporter: CaseExporter | None = None
    ) -> None:
        if alerts is not None:
            self.alerts_source = alerts
        if exporter is not None:
            self._exporter = exporter

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (WorkflowError, PermissionDenied) as exc:
            raise ActionError(str(exc)) from exc
        except NotFound as exc:
            raise ActionError(f"no case {exc}") from exc

    def sign_in(self, username: str, password: str, client: str) -> ConsoleUser | None:
        actor = self.store.accounts.login(username, password, client=client, channel="console")
        return None if actor is None else ConsoleUser(actor.name, actor.role, actor.org_id)

    def session_epoch(self, username: str) -> int | None:
        return self.store.sessions.epoch(username)

    def assignable_users(self, actor: ConsoleUser) -> Sequence[str]:
        users = self.store.accounts.active(_actor(actor))
        return [a.name for a in users if a.role in CASE_READERS]

    def queue_page(self, actor: ConsoleUser, filters: QueueFilters, now: datetime) -> QueuePage:
        who = _actor(actor)
        countries, typologies = self.store.cases.choices(who)
        candidates = search_candidates(filters.query, countries)
        wanted = _case_filter(filters, candidates)
        # A search shows where each hit matched: its page reads whole cases.
        full = bool(candidates)
        found = self.store.cases.page(who, wanted, full=full)
        pages, page = pages_of(found.total, filters.page)
        if page != filters.page and found.total:  # past the end: the last page
            last = _case_filter(filters, candidates, page)
            found = self.store.cases.page(who, last, full=full)

        holding: dict[str, tuple[int, int]] = {}  # per entity: its cases, closed ones
        closed_here = {e.case.case_id for e in found.entries if e.case.status is CaseStatus.CLOSED}

        def count_elsewhere(key: str, case_id: str) -> EntityElsewhere:
            # The hits of a search share the entity searched for: it is counted once
            # (one query, not one a row), then each row leaves its own case out.
            if key not in holding:
                holding[key] = self.store.cases.holders(who, key, "")
            total, closed = holding[key]
            own_closed = case_id in closed_here
            return EntityElsewhere(key, max(total - 1, 0), max(closed - own_closed, 0))

        rows = [
            queue_row(
                e.case,
                e.typologies,
                now,
                candidates,
                count_elsewhere,
                mix_of(e.evidence_counts, e.case.sources),
            )
            for e in found.entries
        ]
        stale = found.counted_at if found.counting else None
        return QueuePage(
            rows,
            found.total,
            page,
            pages,
            countries,
            typologies,
            found.closed,
            stale_count_as_of=as_of_label(stale),
        )

    def case_figures(self, actor: ConsoleUser) -> CaseFigures:
        # The last figures at once while newer ones are counted (marked on the page).
        return self.store.cases.latest_figures(_actor(actor))

    def latest_estimate(self, actor: ConsoleUser) -> StoredEstimate | None:
        return self.store.estimates.latest(_actor(actor))

    def get_case(self, case_id: str, actor: ConsoleUser) -> Case | None:
        return self.store.cases.get(case_id, _actor(actor))

    def case_states(
        self, case_ids: Sequence[str], actor: ConsoleUser
    ) -> dict[str, tuple[Tier, CaseStatus]]:
        return self.store.cases.states(_actor(actor), case_ids)

    def notes(self, case_id: str, actor: ConsoleUser) -> Sequence[NoteView]:
        return [
            NoteView(n.author, n.at, n.text) for n in self.store.cases.notes(case_id, _actor(actor))
        ]

    def audit_trail(self, case_id: str, actor: ConsoleUser) -> Sequence[AuditView]:
        entries = self.store.audit.trail(_actor(actor), case_id)
        return [AuditView(e.at, e.actor, e.action, _detail(e.detail)) for e in entries]

    def delivery_failures(self, actor: ConsoleUser) -> Sequence[DeliveryFailure]:
        return [
            DeliveryFailure(
                d.id, d.failed_at, d.event_id, d.action, d.url, d.attempts, d.last_error
            )
            for d in self.store.outbound.dead_letters(_actor(actor))
        ]

    def alerts(self, actor: ConsoleUser) -> Sequence[Alert]:
        source = self.alerts_source
        return source() if callable(source) else source

    def status_events(
        self, actor: ConsoleUser, case_id: str | None = None
    ) -> Sequence[StatusEvent]:
        return [
            StatusEvent(c.case_id, c.at, c.to_status, c.actor, c.from_status, c.reason)
            for c in self.store.cases.history(_actor(actor), case_id)
        ]

    def tier_changes(self, case_id: str, actor: ConsoleUser) -> Sequence[TierChange]:
        return [
            TierChange(o.at, o.actor, o.from_tier, o.tier, o.computed_tier, o.reason)
            for o in self.store.cases.tier_overrides(case_id, _actor(actor))
        ]

    def override_tier(self, case_id: str, actor: ConsoleUser, tier: Tier, reason: str) -> None:
        self._call(lambda: self.store.cases.override_tier(case_id, tier, _actor(actor), reason))

    def add_note(self, case_id: str, actor: ConsoleUser, text: str) -> None:
        self._call(lambda: self.store.cases.add_note(case_id, _actor(actor), text))

    def triage(self, case_id: str, actor: ConsoleUser) -> None:
        self._call(lambda: self.store.cases.transition(case_id, CaseStatus.TRIAGED, _actor(actor)))

    def assign(self, case_id: str, actor: ConsoleUser, assignee: str) -> None:
        self._call(
            lambda: self.store.cases.transition(
                case_id, CaseStatus.ASSIGNED, _actor(actor), f"to {assignee}", assignee=assignee
            )
        )

    def escalate(self, case_id: str, actor: ConsoleUser, reason: str) -> None:
        self._call(
            lambda: self.store.cases.transition(
                case_id, CaseStatus.ESCALATED, _actor(actor), reason
            )
        )

    def refer(
        self, case_id: str, actor: ConsoleUser, agency: str, fmt: str = "", reference: str = ""
    ) -> None:
        if not agency.strip():
            raise ActionError("name the agency to refer the case to")
        sent = None
        if fmt:  # the export made now is the one recorded as sent
            case, linked = self._case_and_alerts(case_id, actor)
            made = self._exporter(case, linked, fmt)
            sent = SentExport(fmt, made.filename, made.media_type, made.content)
        self._call(
            lambda: self.store.cases.refer(
                case_id, agency, _actor(actor), sent=sent, reference=reference
            )
        )

    def referrals(self, case_id: str, actor: ConsoleUser) -> Sequence[ReferralView]:
        return [
            ReferralView(
                r.referral_id,
                r.at,
                r.actor,
                r.agency,
                r.format,
                r.filename,
                r.digest,
                r.size,
                r.reference,
                r.reference_by,
            )
            for r in self.store.cases.referrals(case_id, _actor(actor))
        ]

    def add_referral_reference(
        self, case_id: str, actor: ConsoleUser, referral_id: int, reference: str
    ) -> None:
        self._call(
            lambda: self.store.cases.add_referral_reference(
                case_id, referral_id, reference, _actor(actor)
            )
        )

    def referral_export(self, case_id: str, actor: ConsoleUser, referral_id: int) -> ExportFile:
        found, content = self._call(
            lambda: self.store.cases.referral_export(case_id, referral_id, _actor(actor))
        )
        return ExportFile(found.filename or "export", found.media_type or "", content)

    def close(self, case_id: str, actor: ConsoleUser, outcome: Outcome, reason: str) -> None:
        self._call(
            lambda: self.store.cases.transition(
                case_id, CaseStatus.CLOSED, _actor(actor), reason, outcome=outcome
            )
        )

    def merge(self, into_id: str, actor: ConsoleUser, merged_id: str, reason: str) -> None:
        self._call(lambda: self.store.cases.merge(into_id, merged_id, _actor(actor), reason))

    def split(self, case_id: str, actor: ConsoleUser, alert_ids: Sequence[str], reason: str) -> str:
        _, new = self._call(
            lambda: self.store.cases.split(case_id, alert_ids, _actor(actor), reason)
        )
        return str(new.case_id)

    def teams(self, actor: ConsoleUser) -> Sequence[str]:
        return sorted(self.store.teams.listing(_actor(actor)))

    def teams_of(self, actor: ConsoleUser) -> Sequence[str]:
        return self.store.teams.of(actor.username, _actor(actor))

    def send_to_team(self, case_id: str, actor: ConsoleUser, team: str | None) -> None:
        self._call(lambda: self.store.cases.send_to_team(case_id, team, _actor(actor)))

    def case_links(self, case_id: str, actor: ConsoleUser) -> Sequence[CaseLinkView]:
        return [
            CaseLinkView(x.at, x.actor, x.kind.value, x.other_case_id, x.reason, x.alert_ids)
            for x in self.store.cases.links(case_id, _actor(actor))
        ]

    def record(self, actor: ConsoleUser, action: str, object_id: str, detail: str) -> None:
        self.store.audit.record(
            _actor(actor), f"console.{action}", "config", object_id[:80], {"what": detail[:200]}
        )

    def exchange_matches(
        self, case_id: str, actor: ConsoleUser, hashes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], ExchangeMatch]:
        who, exchanges = _actor(actor), self.store.exchanges
        listed = {pair: exchanges.refs(who, *pair) for pair in set(hashes)}
        if not any(listed.values()):
            return {}
        apis = {e.name: e.api for e in exchanges.all(who)}
        given = exchanges.opinions(who, case_id=case_id)
        return {
            pair: ExchangeMatch(
                tuple((name, apis.get(name, "")) for name in sorted({e for e, _ in refs})),
                tuple(
                    (o.verdict, o.exchange, o.state) for o in given if (o.hash_type, o.hash) == pair
                ),
            )
            for pair, refs in listed.items()
            if refs
        }

    def match_opinion(
        self, case_id: str, actor: ConsoleUser, hash_type: str, listed_hash: str, verdict: str
    ) -> Sequence[tuple[str, str]]:
        require_match(*self._case_and_alerts(case_id, actor), hash_type, listed_hash)
        who, exchanges = _actor(actor), self.store.exchanges
        if not exchanges.refs(who, hash_type, listed_hash):
            raise ActionError("No exchange listed this hash: there is nobody to tell.")
        try:
            queued = self._call(
                lambda: exchanges.queue_opinion(who, hash_type, listed_hash, verdict, case_id)
            )
        except ExchangeError as exc:
            raise ActionError(str(exc)) from exc
        apis = {e.name: e.api for e in exchanges.all(who)}
        return [(name, apis.get(name, "")) for name in queued]

    def agency_for(self, country: str | None) -> str | None:
        return self.store.agencies.agency_for(country) if country else None

    def export_formats(self, case: Case | None = None) -> Sequence[ExportFormat]:
        return self._exporter.formats(case)

    def export_check(self, case_id: str, actor: ConsoleUser) -> Sequence[ExportFormat]:
        case, linked = self._case_and_alerts(case_id, actor)
        return self._exporter.check(case, linked)

    def _case_and_alerts(self, case_id: str, actor: ConsoleUser) -> tuple[Case, list[Alert]]:
        case = self.get_case(case_id, actor)
        if case is None:
            raise ActionError(f"no case {case_id!r}")
        wanted = set(case.alert_ids)
        return case, [a for a in self.alerts(actor) if a.alert_id in wanted]

    def evidence(
        self, case_id: str, source: str, record_id: str, actor: ConsoleUser
    ) -> EvidenceRecord | None:
        case, linked = self._case_and_alerts(case_id, actor)  # audited: case.read
        own = own_alerts(case, linked)
        rows = case_rows(self._exporter, case, own)
        found = describe(case, own, source, record_id, rows)
        if found is not None and not found.row_read and source == "reports":
            # A report received through the API lives in the store (audited: report.read).
            stored = self.store.reports.get(record_id, _actor(actor))
            if stored is not None:
                row = report_row(stored.report_id, stored.received_at, stored.report)
                found = describe(case, own, source, record_id, {**rows, "reports": [row]})
        if found is not None:
            self.store.audit.record(
                _actor(actor),
                "case.evidence.read",
                "case",
                case_id,
                {"source": source, "record": record_id[:120]},
            )
        return found

    def export(self, case_id: str, actor: ConsoleUser, fmt: str) -> ExportFile:
        case, linked = self._case_and_alerts(case_id, actor)
        result = self._exporter(case, linked, fmt)
        self.store.audit.record(
            _actor(actor),
            "case.export",
            "case",
            case_id,
            {"format": fmt, "bytes": len(result.content)},
        )
        return result


class StoredSessions:
    """Console sessions kept by the store (``store.web_sessions``): every server process
    on the database shares them, and they outlive a restart. What a session holds
    besides who signed in (its CSRF token, messages to show, the search in force) is its
    encrypted state. ``clock``: seconds since the epoch."""

    def __init__(self, store: TiplineStore, clock: Callable[[], float] = time.time) -> None:
        self._repo = store.web_sessions
        self._clock = clock

    def create(self, user: ConsoleUser, epoch: int = 0) -> str:
        state = Session(user, new_token(), 0.0, 0.0, epoch=epoch)
        return self._repo.start(
            user.username,
            user.role,
            epoch,
            _state_of(state),
            self._clock(),
            idle=IDLE_SECONDS,
            absolute=ABSOLUTE_SECONDS,
        )

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        found = self._repo.get(token, self._clock(), idle=IDLE_SECONDS, absolute=ABSOLUTE_SECONDS)
        if found is None:
            return None
        return Session(
            ConsoleUser(found.username, found.role, found.org_id),
            str(found.state["csrf"]),
            found.created,
            found.seen,
            [(str(kind), str(text)) for kind, text in found.state.get("flashes", [])],
            found.epoch,
            str(found.state.get("query", "")),
        )

    def save(self, token: str, session: Session) -> None:
        self._repo.save(token, _state_of(session))

    def end(self, token: str | None) -> None:
        if token:
            self._repo.end(token)


def _state_of(session: Session) -> dict[str, Any]:
    return {"csrf": session.csrf, "flashes": session.flashes, "query": session.query}
