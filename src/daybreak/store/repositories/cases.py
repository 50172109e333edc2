"""``store.cases``: cases, their workflow (transitions, notes, history) and the
analysts' dispositions of their payments subjects (the payments model's labels)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from daybreak.model.cases import Case, CaseStatus, Disposition, Outcome, SubjectLabel, Tier
from daybreak.store import auth, case_links, case_referrals, case_tiers
from daybreak.store import cases as case_ops
from daybreak.store import labels as label_ops
from daybreak.store.audit import AuditAppender
from daybreak.store.auth import CASE_READERS, MANAGERS, SYSTEM, Actor
from daybreak.store.keys import Keyring
from daybreak.store.repositories.context import PermissionDenied, StoreContext, require
from daybreak.store.repositories.teams import team_names
from daybreak.store.tables import cases, of_org

log = logging.getLogger(__name__)


# A queue count's key: the organisation and the filter (its limit and offset aside).
_CountKey = tuple[str, case_ops.CaseFilter]


def _logged(count: Callable[[], None], what: str) -> None:
    try:
        count()
    except Exception:  # the last counts stay; the next request tries again
        log.exception("counting %s failed", what)


class CaseRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx
        # Dashboard figures and filter choices, kept until a case changes (see version).
        self._cached: dict[str, tuple[tuple[Any, ...], Any]] = {}  # by name and organisation
        self._cache_lock = threading.Lock()
        # Counts of the queue's filters, kept like the figures (see _counted): the
        # version of the cases counted, the counts and when they were made.
        self._counts: dict[_CountKey, tuple[tuple[Any, ...], tuple[int, int], datetime]] = {}
        # The threads counting figures or a filter's matches in the background, by what
        # they count (figures: name and organisation; counts: as _counts).
        self._refreshing: dict[Hashable, threading.Thread] = {}

    def upsert(self, items: Sequence[Case], actor: Actor = SYSTEM) -> tuple[int, int]:
        """Insert new cases of the actor's organisation and refresh existing ones
        (workflow state kept). Returns (created, updated)."""
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        created = 0
        now = datetime.now(UTC)
        with ctx.writing() as conn:
            auth.require_org(conn, actor.org_id)
            audit = AuditAppender(conn, keys)
            for built in items:
                # The analysts' merges and splits, applied again to the new content.
                case = case_links.rebuilt(conn, keys, built, now)
                is_new = case_ops.upsert(conn, keys, case, now)
                case_tiers.reapply(conn, keys, case.case_id, int(case.tier))
                case_links.fold_into_target(conn, keys, case, now)
                created += is_new
                action = "case.create" if is_new else "case.update"
                audit.append(actor.name, action, "case", case.case_id, at=now)
            audit.close()
        return created, len(items) - created

    def query(self, actor: Actor, filters: case_ops.CaseFilter | None = None) -> list[Case]:
        """Cases matching ``filters`` (all, up to its limit), most urgent first."""
        require(actor, CASE_READERS, "list cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            found = case_ops.query(conn, keys, filters or case_ops.CaseFilter())
        ctx.audit_read(actor, "case.list", "case", "*", {"ids": [c.case_id for c in found]})
        return found

    def page(
        self, actor: Actor, filters: case_ops.CaseFilter, *, full: bool = False
    ) -> case_ops.CasePage:
        """One page of matching cases (``filters.limit`` from ``filters.offset``, most
        urgent first) and how many match in all. Read without holding the write lock;
        only the page's cases are decrypted (their summaries; ``full``: their bodies),
        and their ids are audited (committed) before return."""
        require(actor, CASE_READERS, "list cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            counted, counted_at, counting = self._counted(conn, keys, filters)
            found = case_ops.page(conn, keys, filters, full=full, counted=counted)
        found = replace(found, counted_at=counted_at, counting=counting)
        ids = [e.case.case_id for e in found.entries]
        ctx.audit_read(actor, "case.list", "case", "*", {"ids": ids, "total": found.total})
        return found

    def _counted(
        self, conn: Connection, keys: Keyring, filters: case_ops.CaseFilter
    ) -> tuple[tuple[int, int], datetime | None, bool]:
        """The counts of a filter's matches, when they were made and whether cases
        changed since. Kept until a case changes, then served stale while revalidated
        (as the dashboards' figures): counting the open cases of a typology probes
        every facet row of it (0.16 s on PostgreSQL, up to 1.2 s on SQLite at 100,000
        cases), so after a change the last counts are returned at once while a
        background thread makes the new ones. The first request for a filter counts
        itself. Searches are counted each time: they are cheap (a blind-index
        lookup), and their forms are identifiers, not kept in memory."""
        if filters.search is not None:
            return case_ops.count(conn, keys, filters), None, False
        key = (keys.org_id, replace(filters, limit=0, offset=0))
        now = case_ops.version(conn)
        with self._cache_lock:
            kept = self._counts.get(key)
        if kept is None:
            value = case_ops.count(conn, keys, filters)
            self._keep_count(key, now, value)
            return value, None, False
        counted_version, value, counted_at = kept
        if counted_version != now:
            self._in_background(key, lambda: self._recount(keys, key), "a queue count")
        return value, counted_at, counted_version != now

    def _recount(self, keys: Keyring, key: _CountKey) -> None:
        with self._ctx.reading() as conn:
            now = case_ops.version(conn)
            self._keep_count(key, now, case_ops.count(conn, keys, key[1]))

    def _keep_count(self, key: _CountKey, version: tuple[Any, ...], value: tuple[int, int]) -> None:
        with self._cache_lock:
            if len(self._counts) >= 1000:  # bounded: filters are few, versions change
                self._counts.clear()
            self._counts[key] = (version, value, datetime.now(UTC))

    def states(self, actor: Actor, case_ids: Sequence[str]) -> dict[str, tuple[Tier, CaseStatus]]:
        """Current tier and status of the named cases (a hub page's sub-cases), audited
        as one listing."""
        require(actor, CASE_READERS, "list cases")
        ctx = self._ctx
        with ctx.reading() as conn:
            found = case_ops.states(conn, actor.org_id, case_ids)
        ctx.audit_read(actor, "case.list", "case", "*", {"ids": sorted(found)})
        return found

    def holders(self, actor: Actor, entity_key: str, but: str) -> tuple[int, int]:
        """How many cases other than ``but`` hold the entity (closed ones among them):
        counts through the entity's blind index, no case is read."""
        require(actor, CASE_READERS, "search")
        with self._ctx.reading() as conn:
            return case_ops.holders(conn, self._ctx.keys_of(actor), entity_key, but)

    def choices(self, actor: Actor) -> tuple[list[str], list[str]]:
        """The countries and typologies cases have (the queue's filter choices)."""
        require(actor, CASE_READERS, "list cases")
        found: tuple[list[str], list[str]] = self._cached_read(
            "choices", actor.org_id, case_ops.choices
        )
        return found

    def figures(self, actor: Actor) -> case_ops.CaseFigures:
        """Counts over every case for the dashboards; computed again only when a case
        has changed since. No case is read, so nothing is audited (as for the report
        count)."""
        require(actor, CASE_READERS, "read case statistics")
        found: case_ops.CaseFigures = self._cached_read("figures", actor.org_id, case_ops.figures)
        return found

    def latest_figures(self, actor: Actor) -> case_ops.CaseFigures:
        """The dashboards' figures without waiting for a recount (stale while
        revalidate): when cases changed since the last figures were counted, those are
        returned at once, marked ``refreshing``, while one background thread counts
        the new ones (1.4-4.2 s at 100,000 cases) for the requests after it. The first
        request of an organisation counts them itself."""
        require(actor, CASE_READERS, "read case statistics")
        key = f"figures:{actor.org_id}"
        with self._cache_lock:
            kept = self._cached.get(key)
        if kept is None:
            return self.figures(actor)
        with self._ctx.reading() as conn:
            now = case_ops.version(conn)
        if kept[0] == now:
            figures: case_ops.CaseFigures = kept[1]
            return figures
        org_id = actor.org_id
        self._in_background(
            key,
            lambda: self._cached_read("figures", org_id, case_ops.figures),
            f"the dashboards' figures of {org_id}",
        )
        stale: case_ops.CaseFigures = kept[1]
        return replace(stale, refreshing=True)

    def _in_background(self, key: Hashable, count: Callable[[], None], what: str) -> None:
        """Run ``count`` in a thread of its own unless one for ``key`` still runs."""
        with self._cache_lock:
            running = self._refreshing.get(key)
            if running is not None and running.is_alive():
                return
            # Finished threads are let go: a queue count leaves one per filter.
            self._refreshing = {k: t for k, t in self._refreshing.items() if t.is_alive()}
            thread = threading.Thread(
                target=_logged, args=(count, what), name="daybreak-count", daemon=True
            )
            self._refreshing[key] = thread
            thread.start()  # under the lock: settle() never joins an unstarted thread

    def settle(self, timeout: float = 60.0) -> None:
        """Wait for the figures and queue counts being made in the background (tests,
        closing)."""
        with self._cache_lock:
            running = list(self._refreshing.values())
        for thread in running:
            thread.join(timeout)

    def _cached_read(self, name: str, org_id: str, compute: Any) -> Any:
        """``compute(conn, org_id)``, kept per organisation until a case changes."""
        key = f"{name}:{org_id}"
        with self._ctx.reading() as conn:
            now = case_ops.version(conn)
            with self._cache_lock:
                kept = self._cached.get(key)
            if kept is not None and kept[0] == now:
                return kept[1]
            value = compute(conn, org_id)
        with self._cache_lock:
            self._cached[key] = (now, value)
        return value

    def get(self, case_id: str, actor: Actor) -> Case | None:
        require(actor, CASE_READERS, "read cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            case = case_ops.get(conn, keys, case_id)
        if case is not None:
            ctx.audit_read(actor, "case.read", "case", case_id)
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
        require(actor, CASE_READERS, "change cases")
        if outcome is Outcome.MERGED:
            raise case_ops.WorkflowError(
                "a case is closed as merged by merging it into another case (merge)"
            )
        if assignee is not None and assignee != actor.name:
            require(actor, MANAGERS, "assign cases to others")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            org_users = auth.list_users(conn, actor.org_id)
            if assignee is not None and assignee not in {u.name for u in org_users}:
                raise case_ops.WorkflowError(f"no such user to assign: {assignee!r}")
            if to is CaseStatus.CLOSED and actor.role not in MANAGERS:
                _require_own_case(conn, keys, case_id, actor, "close")
            case = case_ops.transition(
                conn,
                keys,
                case_id,
                to,
                actor.name,
                reason,
                datetime.now(UTC),
                outcome=outcome,
                assignee=assignee,
            )
            detail = {
                "to": to.value,
                "outcome": outcome.value if outcome else None,
                "assignee": case.assignee,
            }
            ctx.audit(conn, actor, "case.transition", "case", case_id, detail)
        return case

    def merge(self, into_id: str, merged_id: str, actor: Actor, reason: str) -> tuple[Case, Case]:
        """Merge case ``merged_id`` into ``into_id`` (see :mod:`daybreak.store.case_links`);
        returns both afterwards. Supervisors and admins merge any cases; an analyst
        merges cases that are unassigned or theirs. Audited on both cases."""
        require(actor, CASE_READERS, "merge cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            for case_id in (into_id, merged_id):  # a missing case is named before any refusal
                if case_ops.get(conn, keys, case_id) is None:
                    raise case_ops.NotFound(case_id)
            if actor.role not in MANAGERS:
                for case_id in (into_id, merged_id):
                    _require_own_case(conn, keys, case_id, actor, "merge")
            now = datetime.now(UTC)
            done = case_links.merge(conn, keys, into_id, merged_id, actor.name, reason.strip(), now)
            ctx.audit(conn, actor, "case.merge", "case", into_id, {"merged": merged_id})
            ctx.audit(conn, actor, "case.merged", "case", merged_id, {"into": into_id})
        return done

    def split(
        self, case_id: str, alert_ids: Sequence[str], actor: Actor, reason: str
    ) -> tuple[Case, Case]:
        """Split the alerts ``alert_ids`` out of the case into a new case; returns (the
        case, the new case). Who may: as for :meth:`merge`. Audited on both cases."""
        require(actor, CASE_READERS, "split cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            case_links.check_split(conn, keys, case_id, alert_ids)  # bad input first
            if actor.role not in MANAGERS:
                _require_own_case(conn, keys, case_id, actor, "split")
            now = datetime.now(UTC)
            rest, new = case_links.split(
                conn, keys, case_id, alert_ids, actor.name, reason.strip(), now
            )
            detail = {"new_case": new.case_id, "alerts": len(new.alert_ids)}
            ctx.audit(conn, actor, "case.split", "case", case_id, detail)
            ctx.audit(conn, actor, "case.create", "case", new.case_id, {"split_from": case_id})
        return rest, new

    def send_to_team(self, case_id: str, team: str | None, actor: Actor) -> None:
        """Put the case in a team's inbox (``None``: take it out of any). Supervisors
        and admins send any case; an analyst sends one that is unassigned or theirs
        (handing it over). The team must have members. Audited (``case.team``)."""
        require(actor, CASE_READERS, "send cases to a team")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            if team is not None and team not in team_names(conn, actor.org_id):
                raise case_ops.WorkflowError(f"no team {team!r} (`daybreak admin teams add`)")
            if actor.role not in MANAGERS:
                _require_own_case(conn, keys, case_id, actor, "send")
            before = case_ops.send_to_team(conn, keys, case_id, team, datetime.now(UTC))
            ctx.audit(conn, actor, "case.team", "case", case_id, {"from": before, "to": team})

    def refer(
        self,
        case_id: str,
        agency: str,
        actor: Actor,
        *,
        sent: case_referrals.SentExport | None = None,
        reference: str = "",
    ) -> case_referrals.Referral:
        """Refer the case to ``agency`` (the workflow's move to referred) and record the
        referral in the same transaction: the export ``sent`` (its bytes encrypted, its
        digest kept) and the receiver's reference number if already known."""
        require(actor, CASE_READERS, "refer cases")
        if not agency.strip():
            raise case_ops.WorkflowError("name the agency to refer the case to")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        now = datetime.now(UTC)
        with ctx.writing() as conn:
            case_ops.transition(
                conn, keys, case_id, CaseStatus.REFERRED, actor.name, f"to {agency}", now
            )
            done = case_referrals.record(
                conn, keys, case_id, agency.strip(), sent, reference, actor.name, now
            )
            ctx.audit(conn, actor, "case.transition", "case", case_id, {"to": "referred"})
            detail = {
                "referral": done.referral_id,
                "format": done.format,
                "sha256": done.digest,
                "bytes": done.size,
            }
            ctx.audit(conn, actor, "case.refer", "case", case_id, detail)
        return done

    def add_referral_reference(
        self, case_id: str, referral_id: int, reference: str, actor: Actor
    ) -> case_referrals.Referral:
        """Record the receiver's reference number of a referral, when they answer."""
        require(actor, CASE_READERS, "change cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            done = case_referrals.add_reference(
                conn, keys, case_id, referral_id, reference, actor.name, datetime.now(UTC)
            )
            detail = {"referral": referral_id}
            ctx.audit(conn, actor, "case.referral.reference", "case", case_id, detail)
        return done

    def referrals(self, case_id: str, actor: Actor) -> list[case_referrals.Referral]:
        require(actor, CASE_READERS, "read case history")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            out = case_referrals.listing(conn, keys, case_id)
        ctx.audit_read(actor, "case.referrals.read", "case", case_id)
        return out

    def referral_export(
        self, case_id: str, referral_id: int, actor: Actor
    ) -> tuple[case_referrals.Referral, bytes]:
        """The exact bytes sent with a referral; each download is audited."""
        require(actor, CASE_READERS, "read case exports")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            found, content = case_referrals.sent_export(conn, keys, case_id, referral_id)
        detail = {"referral": referral_id, "sha256": found.digest}
        ctx.audit_read(actor, "case.referral.download", "case", case_id, detail)
        return found, content

    def links(self, case_id: str, actor: Actor) -> list[case_links.CaseLink]:
        """The case's merges and splits, oldest first."""
        require(actor, CASE_READERS, "read case history")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            out = case_links.links(conn, keys, case_id)
        ctx.audit_read(actor, "case.links.read", "case", case_id)
        return out

    def add_note(self, case_id: str, actor: Actor, text: str) -> None:
        require(actor, CASE_READERS, "write notes")
        if not text.strip() or len(text) > 20000:
            raise case_ops.WorkflowError("a note needs 1-20000 characters")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            case_ops.add_note(conn, keys, case_id, actor.name, text.strip(), datetime.now(UTC))
            ctx.audit(conn, actor, "case.note", "case", case_id)

    def notes(self, case_id: str, actor: Actor) -> list[case_ops.Note]:
        require(actor, CASE_READERS, "read notes")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            out = case_ops.notes(conn, keys, case_id)
        ctx.audit_read(actor, "case.notes.read", "case", case_id)
        return out

    def override_tier(
        self, case_id: str, tier: Tier, actor: Actor, reason: str
    ) -> case_tiers.TierOverride:
        """Set a case's tier by hand, with the reason (see :mod:`daybreak.store.case_tiers`)."""
        require(actor, CASE_READERS, "change cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            done = case_tiers.override_tier(
                conn, keys, case_id, tier, actor.name, reason.strip(), datetime.now(UTC)
            )
            detail = {"from": int(done.from_tier), "to": int(done.tier)}
            ctx.audit(conn, actor, "case.tier_override", "case", case_id, detail)
        return done

    def tier_overrides(self, case_id: str, actor: Actor) -> list[case_tiers.TierOverride]:
        require(actor, CASE_READERS, "read case history")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            out = case_tiers.tier_overrides(conn, keys, case_id)
        ctx.audit_read(actor, "case.tiers.read", "case", case_id)
        return out

    def history(self, actor: Actor, case_id: str | None = None) -> list[case_ops.StatusChange]:
        """Status changes (of one case, or all), oldest first."""
        require(actor, CASE_READERS, "read case history")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            out = case_ops.history(conn, keys, case_id)
        ctx.audit_read(actor, "case.history.read", "case", case_id or "*")
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
        require(actor, CASE_READERS, "label case subjects")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        now = datetime.now(UTC)
        with ctx.writing() as conn:
            stored = label_ops.record(conn, keys, case_id, subject, disposition, actor.name, now)
            detail = {
                "subject_type": subject[0],
                "subject": keys.index(label_ops.subject_key(*subject))[:16],
                "disposition": disposition.value,
            }
            ctx.audit(conn, actor, "case.label", "case", case_id, detail)
        return stored

    def labels(self, actor: Actor, case_id: str | None = None) -> list[SubjectLabel]:
        """Stored dispositions (of one case, or all), oldest first."""
        require(actor, CASE_READERS, "read case labels")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            out = label_ops.listing(conn, keys, case_id)
        detail = {"labels": len(out), "cases": len({x.case_id for x in out})}
        ctx.audit_read(actor, "case.labels.read", "case", case_id or "*", detail)
        return out


def _require_own_case(
    conn: Connection, keys: Keyring, case_id: str, actor: Actor, doing: str
) -> None:
    """An analyst closes (merges, splits) only cases that are unassigned or assigned to
    them; a case someone else holds is closed by them or a supervisor. The row is locked
    (PostgreSQL; SQLite's write transaction is exclusive) so an assignment cannot slip
    in between this check and the close."""
    holder = conn.execute(
        select(cases.c.assignee)
        .where(cases.c.case_id == case_id, of_org(cases, keys.org_id))
        .with_for_update()
    ).scalar_one_or_none()
    if holder and holder != actor.name:
        raise PermissionDenied(
            f"case {case_id} is assigned to {holder}: only they or a supervisor may {doing} it"
        )
