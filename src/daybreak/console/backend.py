"""What the console needs from the rest of Daybreak, as one small interface.

The pages read cases and act on them only through :class:`ConsoleBackend`. The
production implementation adapts the tipline's case store (so every read and action
lands in its tamper-evident audit trail); tests and demos without a store use
:class:`daybreak.testing.console.MemoryBackend`. Swapping one for the other is one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus, Outcome, Tier
from daybreak.store.auth import CASE_READERS, MANAGERS
from daybreak.store.auth import Role as Role  # the console's users have the store's roles
from daybreak.store.tables import DEFAULT_ORG

if TYPE_CHECKING:  # the exporters' and the queue's modules import this one
    from daybreak.console.evidence import EvidenceRecord
    from daybreak.console.exports import CaseExporter
    from daybreak.console.queue import QueueFilters, QueuePage
    from daybreak.store.cases import CaseFigures
    from daybreak.store.repositories.estimates import StoredEstimate


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    username: str
    role: Role
    org_id: str = DEFAULT_ORG  # the organisation whose cases the user works on

    @property
    def may_use_console(self) -> bool:
        return self.role in CASE_READERS  # platforms use the API only

    @property
    def is_manager(self) -> bool:
        """Supervisors and admins assign work to others and manage banks and rules."""
        return self.role in MANAGERS


@dataclass(frozen=True, slots=True)
class NoteView:
    author: str
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class ExchangeMatch:
    """What the hash exchanges have to do with one hash-list match of a case."""

    exchanges: tuple[tuple[str, str], ...]  # (exchange, api) of each that listed the hash
    opinions: tuple[tuple[str, str, str], ...]  # (verdict, exchange, state) given in this case


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """A webhook delivery that failed every retry (the relay's dead-letter list): ids and
    where it went, never the event's body."""

    letter_id: int
    failed_at: datetime
    event_id: str
    action: str
    url: str
    attempts: int
    last_error: str


@dataclass(frozen=True, slots=True)
class AuditView:
    at: datetime
    actor: str
    action: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A case entering a status; dashboards derive time to triage from these, the case
    page shows each with who moved it and why (escalation and closing reasons)."""

    case_id: str
    at: datetime
    status: CaseStatus
    actor: str = ""
    from_status: CaseStatus | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TierChange:
    """An analyst's override of a case's tier, with why; the latest is the case's tier."""

    at: datetime
    actor: str
    from_tier: Tier
    tier: Tier
    computed_tier: Tier  # what the case's alerts gave
    reason: str


@dataclass(frozen=True, slots=True)
class CaseLinkView:
    """A merge or split the case took part in: ``kind`` is merged_into, merged_from,
    split_to or split_from, ``other_case_id`` the case on the other side."""

    at: datetime
    actor: str
    kind: str
    other_case_id: str
    reason: str
    alert_ids: tuple[str, ...] = ()  # the alerts split out (a split only)


@dataclass(frozen=True, slots=True)
class ReferralView:
    """A referral: to whom, the export sent with it (format, file, SHA-256, size; none
    when referred without one) and the receiver's reference number once known."""

    referral_id: int
    at: datetime
    actor: str
    agency: str
    format: str | None
    filename: str | None
    digest: str | None
    size: int | None
    reference: str | None
    reference_by: str | None = None


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class ExportFinding:
    """One thing the receiver of an export will miss (daybreak.exporters.check)."""

    severity: str  # blocker | warning | info
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class ExportFormat:
    key: str  # url segment: goaml | cybertip | stix | ftm
    label: str
    available: bool = True
    why_not: str = ""
    # The pre-submission check for one case (blockers and warnings), when asked for.
    findings: tuple[ExportFinding, ...] = ()

    @property
    def blocked(self) -> bool:
        return any(f.severity == "blocker" for f in self.findings)


class ActionError(Exception):
    """An action the store refused (bad transition, unknown user, ...): shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@runtime_checkable
class ConsoleBackend(Protocol):
    """Reads return domain records; every call names the acting user so the
    implementation can audit it. Actions raise :class:`ActionError` with a message
    fit for the analyst when the store refuses them."""

    def configure(
        self, *, alerts: Sequence[Alert] | None = None, exporter: CaseExporter | None = None
    ) -> None:
        """Point the backend at the alerts its cases were built from and the exporter of
        its cases (None: keep what it has). ``configure_console`` calls it."""

    def sign_in(self, username: str, password: str, client: str) -> ConsoleUser | None:
        """Check a password behind the sign-in throttles: None when wrong; raises
        :class:`daybreak.store.LoginRefused` when the account is locked, the client
        address has tried too often or too many sign-ins run at once."""

    def session_epoch(self, username: str) -> int | None:
        """The account's session epoch; None when it is disabled or gone. A session
        signed in under another epoch has been revoked."""

    def assignable_users(self, actor: ConsoleUser) -> Sequence[str]:
        """Who ``actor`` may assign a case to (users of their organisation)."""
        ...

    def queue_page(self, actor: ConsoleUser, filters: QueueFilters, now: datetime) -> QueuePage:
        """One page of the queue (or of a search): filtered, ordered most urgent first
        and paged by the backend, so that only the page's cases are read."""

    def case_figures(self, actor: ConsoleUser) -> CaseFigures:
        """The dashboards' counts over every case: possibly the last ones counted, with
        their time (``as_of``) and ``refreshing`` set while newer ones are counted."""

    def latest_estimate(self, actor: ConsoleUser) -> StoredEstimate | None:
        """The organisation's latest ``daybreak estimate --db`` run (an audited read), or
        None when there is none yet."""

    def get_case(self, case_id: str, actor: ConsoleUser) -> Case | None: ...

    def case_states(
        self, case_ids: Sequence[str], actor: ConsoleUser
    ) -> dict[str, tuple[Tier, CaseStatus]]:
        """The current tier (an analyst's override included) and status of each case
        named (a hub page's sub-cases), without reading their bodies."""

    def notes(self, case_id: str, actor: ConsoleUser) -> Sequence[NoteView]: ...

    def audit_trail(self, case_id: str, actor: ConsoleUser) -> Sequence[AuditView]: ...

    def alerts(self, actor: ConsoleUser) -> Sequence[Alert]: ...

    def status_events(
        self, actor: ConsoleUser, case_id: str | None = None
    ) -> Sequence[StatusEvent]:
        """Every status change (of one case when ``case_id`` is given), oldest first."""

    def tier_changes(self, case_id: str, actor: ConsoleUser) -> Sequence[TierChange]:
        """The case's tier overrides, oldest first."""

    def override_tier(self, case_id: str, actor: ConsoleUser, tier: Tier, reason: str) -> None:
        """Set the case's tier by hand; the reason is required and kept in its history."""

    def add_note(self, case_id: str, actor: ConsoleUser, text: str) -> None: ...

    def triage(self, case_id: str, actor: ConsoleUser) -> None: ...

    def assign(self, case_id: str, actor: ConsoleUser, assignee: str) -> None: ...

    def escalate(self, case_id: str, actor: ConsoleUser, reason: str) -> None: ...

    def refer(
        self, case_id: str, actor: ConsoleUser, agency: str, fmt: str = "", reference: str = ""
    ) -> None:
        """Refer the case to ``agency``; with ``fmt``, the export in that format is made,
        recorded with the referral (the exact bytes) and offered again from the history."""

    def referrals(self, case_id: str, actor: ConsoleUser) -> Sequence[ReferralView]:
        """The case's referrals, oldest first."""

    def add_referral_reference(
        self, case_id: str, actor: ConsoleUser, referral_id: int, reference: str
    ) -> None:
        """Record the receiver's reference number of a referral."""

    def referral_export(self, case_id: str, actor: ConsoleUser, referral_id: int) -> ExportFile:
        """The exact export sent with a referral (each download audited)."""

    def close(self, case_id: str, actor: ConsoleUser, outcome: Outcome, reason: str) -> None: ...

    def merge(self, into_id: str, actor: ConsoleUser, merged_id: str, reason: str) -> None:
        """Merge case ``merged_id`` into ``into_id``: its alerts, entities and evidence
        move over, it is closed as merged, both histories link to each other."""

    def split(self, case_id: str, actor: ConsoleUser, alert_ids: Sequence[str], reason: str) -> str:
        """Split the alerts (and their entities) out into a new case; its id."""

    def case_links(self, case_id: str, actor: ConsoleUser) -> Sequence[CaseLinkView]:
        """The case's merges and splits, oldest first."""

    def teams(self, actor: ConsoleUser) -> Sequence[str]:
        """The teams of the user's organisation."""

    def teams_of(self, actor: ConsoleUser) -> Sequence[str]:
        """The teams the user belongs to (whose inboxes they work)."""

    def send_to_team(self, case_id: str, actor: ConsoleUser, team: str | None) -> None:
        """Put the case in a team's inbox (None: in none)."""

    def record(self, actor: ConsoleUser, action: str, object_id: str, detail: str) -> None:
        """Audit a change that is not a case action (hash banks, typology pack)."""

    def delivery_failures(self, actor: ConsoleUser) -> Sequence[DeliveryFailure]:
        """The actor's organisation's webhook deliveries that failed every retry, newest
        first (managers only)."""

    def exchange_matches(
        self, case_id: str, actor: ConsoleUser, hashes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], ExchangeMatch]:
        """Of the case's matches (hash type, listed hash), those whose hash an exchange
        listed: the exchanges and the opinions given on it in this case."""

    def match_opinion(
        self, case_id: str, actor: ConsoleUser, hash_type: str, listed_hash: str, verdict: str
    ) -> Sequence[tuple[str, str]]:
        """Queue the analyst's verdict (true_positive, false_positive) on one match of
        the case for the exchanges that listed its hash, audited; (exchange, api) of
        each queued (none: each has this verdict of this case already)."""

    def agency_for(self, country: str | None) -> str | None:
        """The receiving agency for a country from the routing table (None: unknown)."""

    def export_formats(self, case: Case | None = None) -> Sequence[ExportFormat]:
        """The export formats installed; with ``case``, those its record rules out are
        marked unavailable with the reason (the rows are checked by ``export_check``)."""

    def export_check(self, case_id: str, actor: ConsoleUser) -> Sequence[ExportFormat]:
        """Each format for this case: can it be made, and what will its receiver miss."""

    def export(self, case_id: str, actor: ConsoleUser, fmt: str) -> ExportFile: ...

    def evidence(
        self, case_id: str, source: str, record_id: str, actor: ConsoleUser
    ) -> EvidenceRecord | None:
        """One record the case names (a report, payment, sighting, event or alert),
        read into the audit trail; None when the case does not name it."""
