"""Persisting :class:`daybreak.model.cases.Case` and its workflow.

The analytical content of a case (nodes, edges, evidence, timeline, reasons) is
re-computed by the case builder and replaced on every upsert; the workflow state
(status, assignee, outcome, notes, history) belongs to people and is kept. Case bodies
and notes are encrypted, bound to their row; entity keys are stored as blind indexes
for search. The plain workflow columns carry a row MAC, recomputed by every write here.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Select,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import (
    case as when,
)

from daybreak.model.cases import (
    TRANSITIONS,
    Case,
    CaseStatus,
    Outcome,
    Tier,
    case_search_forms,
    case_typologies,
    evidence_counts,
)
from daybreak.store import meta
from daybreak.store.audit import utc
from daybreak.store.integrity import refresh_mac, row_mac, with_mac
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import (
    case_events,
    case_facets,
    case_keys,
    case_notes,
    case_reports,
    case_search,
    cases,
    of_org,
    store_meta,
)

# Associated data: the column, then the row (see daybreak.store.integrity.SEALED).
BODY = "cases.body_enc"  # :case_id
SUMMARY = "cases.summary_enc"  # :case_id
NOTE = "case_notes.text_enc"  # :id
REASON = "case_events.reason_enc"  # :id


class WorkflowError(ValueError):
    """A transition the workflow does not allow, or a missing outcome/assignee."""


class NotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Note:
    author: str
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    case_id: str
    at: datetime
    actor: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    reason: str


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: CaseStatus | None = None
    open_only: bool = False  # every status but closed
    assignee: str | None = None
    unassigned: bool = False  # a team inbox: cases no one has taken
    teams: frozenset[str] | None = None  # cases sent to any of these teams
    min_priority: float | None = None
    tier: int | None = None
    country: str | None = None
    typology: str | None = None
    # Search forms (daybreak.model.cases.search_forms of what was typed): cases holding
    # any of them; None: no search.
    search: frozenset[str] | None = None
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A case as a queue row shows it. From its summary, ``case`` has the workflow
    columns, title, explanation, reasons and sources but no graph, evidence or alerts;
    ``full`` when the whole body was read (a search shows where each hit matched)."""

    case: Case
    typologies: tuple[str, ...]
    evidence_counts: dict[str, int]  # evidence rows per source table
    full: bool = False


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of cases (decrypted) and how many match in all."""

    entries: list[QueueEntry]
    total: int
    closed: int  # closed cases among all that match
    # When the counts were made (None: for this request) and whether cases changed
    # since (the counts are then the last ones; newer ones are being counted). The
    # entries are always read for the request.
    counted_at: datetime | None = None
    counting: bool = False


@dataclass(frozen=True, slots=True)
class CaseFigures:
    """What the dashboards draw, counted over every case without reading one."""

    total: int = 0
    created_per_day: dict[date, int] = field(default_factory=dict)
    by_tier: dict[int, int] = field(default_factory=dict)
    by_country: dict[str, int] = field(default_factory=dict)
    referred_by_country: dict[str, int] = field(default_factory=dict)  # ever referred
    routes: frozenset[tuple[str, str | None]] = frozenset()  # (country, routed agency)
    by_typology: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    triage: TriageFigures = field(default_factory=lambda: triage_figures([]))
    waiting: int = 0  # cases never moved out of "new"
    as_of: datetime | None = None  # when they were counted (None: counted for this request)
    refreshing: bool = False  # cases changed since: newer figures are being counted


# Time-to-triage histogram: label and upper bound in hours (None: no bound).
TRIAGE_BINS: tuple[tuple[str, float | None], ...] = (
    ("< 1 h", 1),
    ("1-4 h", 4),
    ("4-24 h", 24),
    ("1-3 d", 72),
    ("> 3 d", None),
)


@dataclass(frozen=True, slots=True)
class TriageFigures:
    """Time to triage summarised once, when the figures are computed: the dashboards
    are drawn from these on every request, and summarising the hours of 45,000 moved
    cases each time cost ~100 ms at 100,000 cases."""

    measured: int  # cases that left "new"
    median_hours: float | None
    p90_hours: float | None
    bins: dict[str, int]  # TRIAGE_BINS label -> cases


def triage_figures(hours: Sequence[float]) -> TriageFigures:
    """Median, 90th percentile and histogram of the hours cases took to leave 'new'."""
    bins = {label: 0 for label, _ in TRIAGE_BINS}
    for h in hours:
        label = next(label for label, upper in TRIAGE_BINS if upper is None or h < upper)
        bins[label] += 1
    median = statistics.median(hours) if hours else None
    if len(hours) >= 2:
        p90: float | None = statistics.quantiles(hours, n=10)[-1]
    else:
        p90 = hours[0] if hours else None
    return TriageFigures(len(hours), median, p90, bins)


TYPOLOGY = "typology"  # case_facets.facet values
SOURCE = "source"
SEARCH_VERSION = "case_search"  # store_meta: "1" once every case has its search rows


def _row_to_case(keys: Keyring, r: Any) -> Case:
    case = Case.model_validate_json(keys.decrypt_text(r.body_enc, bound(BODY, r.case_id)))
    return case.model_copy(update=_workflow(r))


def _summary(case: Case) -> str:
    return json.dumps(
        {
            "title": case.title,
            "explanation": case.explanation,
            "reasons": case.reasons,
            "sources": case.sources,
            "typologies": list(case_typologies(case)),
            "evidence": evidence_counts(case),
        }
    )


def _select_case(keys: Keyring, case_id: str) -> Any:
    """The case's row, in the keyring's organisation only (another organisation's case
    is not found, like a missing one)."""
    return select(cases).where(cases.c.case_id == case_id, of_org(cases, keys.org_id))


def _workflow(r: Any) -> dict[str, Any]:
    return {
        "status": CaseStatus(r.status),
        "tier": Tier(r.tier),  # the effective tier: an analyst's override wins
        "outcome": Outcome(r.outcome) if r.outcome else None,
        "assignee": r.assignee,
        "team": r.team,
        "created_at": utc(r.created_at),
        "updated_at": utc(r.updated_at),
    }


def _row_to_entry(keys: Keyring, r: Any, full: bool) -> QueueEntry:
    """A queue row from the case's summary (its whole body when ``full``, or when it
    has no summary yet)."""
    if full or r.summary_enc is None:
        case = _row_to_case(keys, r)
        return QueueEntry(case, case_typologies(case), evidence_counts(case), full=True)
    s = json.loads(keys.decrypt_text(r.summary_enc, bound(SUMMARY, r.case_id)))
    case = Case(
        case_id=r.case_id,
        title=s["title"],
        priority=r.priority,
        explanation=s["explanation"],
        reasons=s["reasons"],
        sources=s["sources"],
        country=r.country,
        routed_agency=r.routed_agency,
        **_workflow(r),
    )
    return QueueEntry(case, tuple(s["typologies"]), dict(s["evidence"]))


def upsert(conn: Connection, keys: Keyring, case: Case, now: datetime) -> bool:
    """Insert or update one case of ``keys.org_id``; returns True when it was new.
    Raises :class:`WorkflowError` when another organisation holds the case id."""
    existing = conn.execute(select(cases).where(cases.c.case_id == case.case_id)).first()
    if existing is not None and existing.org_id != keys.org_id:
        raise WorkflowError(f"case id {case.case_id} is held by another organisation")
    org = keys.org_id
    body = keys.encrypt_text(case.model_dump_json(), bound(BODY, case.case_id))
    values = {
        "priority": case.priority,
        "tier": int(case.tier),
        "country": case.country,
        "routed_agency": case.routed_agency,
        "updated_at": utc(now),
        "body_enc": body,
        "summary_enc": keys.encrypt_text(_summary(case), bound(SUMMARY, case.case_id)),
    }
    if existing is None:
        row = {
            "case_id": case.case_id,
            "status": case.status.value,
            "outcome": case.outcome.value if case.outcome else None,
            "assignee": case.assignee,
            "created_at": utc(case.created_at or now),
            **values,
            "org_id": org,
        }
        conn.execute(insert(cases).values(**with_mac(keys, cases, row)))
        conn.execute(
            insert(case_events).values(
                org_id=org,
                case_id=case.case_id,
                at=now,
                actor="system",
                from_status=None,
                to_status=case.status.value,
                reason_enc=None,
            )
        )
    else:
        kept = {n: existing._mapping[n] for n in ("status", "outcome", "assignee", "created_at")}
        mac_of = {"case_id": case.case_id, "org_id": org, **kept, **values}
        values["row_mac"] = row_mac(keys, cases, mac_of)
        conn.execute(update(cases).where(cases.c.case_id == case.case_id).values(**values))
        conn.execute(delete(case_reports).where(case_reports.c.case_id == case.case_id))
    write_blind_indexes(conn, keys, case, replace=existing is not None)
    report_ids = sorted(set(case.report_ids))
    if report_ids:
        conn.execute(
            insert(case_reports),
            [{"org_id": org, "case_id": case.case_id, "report_id": r} for r in report_ids],
        )
    return existing is None


def write_blind_indexes(conn: Connection, keys: Keyring, case: Case, *, replace: bool) -> None:
    """Everything derived from the case's body under ``keys``: its entity keys'
    blind indexes (``case_keys``), its search forms and its facets (``replace``: the
    case's earlier ones are deleted first; also how a field-key rotation rewrites them)."""
    if replace:
        conn.execute(delete(case_keys).where(case_keys.c.case_id == case.case_id))
    _write_lookups(conn, keys, case, replace=replace)
    indexes = sorted({keys.index(k) for k in case.entity_keys})
    if indexes:
        conn.execute(
            insert(case_keys),
            [{"org_id": keys.org_id, "case_id": case.case_id, "value_index": i} for i in indexes],
        )


def _write_lookups(conn: Connection, keys: Keyring, case: Case, *, replace: bool) -> None:
    """The case's search forms (blind indexes) and facets, derived from its body."""
    if replace:
        conn.execute(delete(case_search).where(case_search.c.case_id == case.case_id))
        conn.execute(delete(case_facets).where(case_facets.c.case_id == case.case_id))
    forms = sorted({keys.index(f) for f in case_search_forms(case)})
    if forms:
        conn.execute(
            insert(case_search),
            [{"org_id": keys.org_id, "case_id": case.case_id, "value_index": i} for i in forms],
        )
    facets = {(TYPOLOGY, t) for t in case_typologies(case)}
    facets |= {(SOURCE, s[:80]) for s in case.sources}
    if facets:
        conn.execute(
            insert(case_facets),
            [
                {"org_id": keys.org_id, "case_id": case.case_id, "facet": f, "value": v}
                for f, v in sorted(facets)
            ],
        )


def upgrade_search(conn: Connection, keys: Keyring, batch: int = 500) -> int:
    """Write the search forms and facets of cases stored before they existed
    (migration 0011 cannot: it has no keys). Runs once; returns the cases done."""
    if meta.get(conn, SEARCH_VERSION) == "1":
        return 0
    done = 0
    last = ""
    while True:
        rows = list(
            conn.execute(
                select(cases.c.case_id, cases.c.org_id, cases.c.body_enc)
                .where(cases.c.case_id > last)
                .order_by(cases.c.case_id)
                .limit(batch)
            )
        )
        if not rows:
            break
        for r in rows:
            own = keys.for_org(r.org_id)  # each case with its organisation's keys
            case = Case.model_validate_json(own.decrypt_text(r.body_enc, bound(BODY, r.case_id)))
            _write_lookups(conn, own, case, replace=True)
            summary = own.encrypt_text(_summary(case), bound(SUMMARY, r.case_id))
            conn.execute(
                update(cases).where(cases.c.case_id == r.case_id).values(summary_enc=summary)
            )
        done += len(rows)
        last = rows[-1].case_id
    meta.put(conn, SEARCH_VERSION, "1")
    return done


def exists(conn: Connection, case_id: str) -> bool:
    """Whether any organisation holds a case with this id (ids are global)."""
    q = select(cases.c.case_id).where(cases.c.case_id == case_id)
    return conn.execute(q).first() is not None


def get(conn: Connection, keys: Keyring, case_id: str) -> Case | None:
    r = conn.execute(_select_case(keys, case_id)).first()
    return None if r is None else _row_to_case(keys, r)


def conditions(
    keys: Keyring, f: CaseFilter, *, in_order: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE of every case listing: one place for each filter (and the scope a
    caller adds, such as an organisation). ``in_order``: for reading the first matches
    in the queue's order (a page), rather than all of them (a count)."""
    out: list[ColumnElement[bool]] = []
    if f.search is not None:
        # Scoped through the search rows (each carries its case's organisation): a
        # search finds a few cases by blind index and reads them by key. With the
        # organisation's condition on ``cases`` too, SQLite's planner would scan the
        # organisation's index in the queue's order and probe the hits instead.
        indexes = sorted({keys.index(form) for form in f.search})
        found = select(case_search.c.case_id).where(
            case_search.c.value_index.in_(indexes), of_org(case_search, keys.org_id)
        )
        out.append(cases.c.case_id.in_(found))
    else:
        out.append(of_org(cases, keys.org_id))
    if f.status is not None:
        out.append(cases.c.status == f.status.value)
    if f.open_only:
        out.append(cases.c.status != CaseStatus.CLOSED.value)
    if f.assignee is not None:
        out.append(cases.c.assignee == f.assignee)
    if f.unassigned:
        out.append(cases.c.assignee.is_(None))
    if f.teams is not None:
        out.append(cases.c.team.in_(sorted(f.teams)))
    if f.min_priority is not None:
        out.append(cases.c.priority >= f.min_priority)
    if f.tier is not None:
        out.append(cases.c.tier == f.tier)
    if f.country is not None:
        out.append(cases.c.country == f.country)
    if f.typology is not None:
        out.append(_of_typology(f.typology, in_order=in_order))
    return out


def _of_typology(typology: str, *, in_order: bool) -> ColumnElement[bool]:
    """Cases with the typology. Read in the queue's order (a page), each case probes the
    facet's key: SQLite would otherwise build the whole IN list first (36,000 of
    100,000 cases here: 110-135 ms for a first page that needs 50). Counted (every
    match), the list is built once instead: probing 70,000 cases one by one took 1.2 s
    on SQLite."""
    facet = (case_facets.c.facet == TYPOLOGY, case_facets.c.value == typology)
    if in_order:
        return (
            select(case_facets.c.case_id)
            .where(case_facets.c.case_id == cases.c.case_id, *facet)
            .exists()
        )
    return cases.c.case_id.in_(select(case_facets.c.case_id).where(*facet))


QUEUE_ORDER = (cases.c.tier, cases.c.priority.desc(), cases.c.created_at, cases.c.case_id)


def _listing(keys: Keyring, f: CaseFilter) -> Select[Any]:
    return select(cases).where(*conditions(keys, f, in_order=True)).order_by(*QUEUE_ORDER)


def _summary_columns() -> list[ColumnElement[Any]]:
    """A queue row's columns: the body (the whole case, 3.5 KB on average and far more
    for a large case) only for a case that has no summary yet. Fetching 50 bodies a
    page was most of a queue page's database time on PostgreSQL."""
    body = when((cases.c.summary_enc.is_(None), cases.c.body_enc), else_=None)
    return [*(c for c in cases.c if c.name != "body_enc"), body.label("body_enc")]


def _page_listing(keys: Keyring, f: CaseFilter, full: bool) -> Select[Any]:
    """The page's rows, found first by their ids alone (a deferred join): the ids come
    from the queue's covering indexes without reading the table, so the rows skipped
    to reach a later page cost an index entry each, not a row each (page 1,000 of the
    open cases took 380 ms on PostgreSQL at 100,000 cases reading the rows it skipped)."""
    ids = (
        select(cases.c.case_id)
        .where(*conditions(keys, f, in_order=True))
        .order_by(*QUEUE_ORDER)
        .limit(f.limit)
        .offset(f.offset)
    )
    columns = list(cases.c) if full else _summary_columns()
    return select(*columns).where(cases.c.case_id.in_(ids)).order_by(*QUEUE_ORDER)


def query(conn: Connection, keys: Keyring, f: CaseFilter) -> list[Case]:
    """Matching cases, most urgent first (the queue's order), ``f.limit`` from ``f.offset``."""
    q = _listing(keys, f).limit(f.limit).offset(f.offset)
    return [_row_to_case(keys, r) for r in conn.execute(q)]


def count(conn: Connection, keys: Keyring, f: CaseFilter) -> tuple[int, int]:
    """How many cases match ``f`` (its limit and offset aside), and how many of them
    are closed."""
    closed = func.sum(when((cases.c.status == CaseStatus.CLOSED.value, 1), else_=0))
    total, closed_count = conn.execute(
        select(func.count(), closed).select_from(cases).where(*conditions(keys, f))
    ).one()
    return int(total), int(closed_count or 0)


def page(
    conn: Connection,
    keys: Keyring,
    f: CaseFilter,
    *,
    full: bool = False,
    counted: tuple[int, int] | None = None,
) -> CasePage:
    """One page of matching cases and the counts of all (``counted``: as :func:`count`
    gave them, None: counted here): only the page is decrypted, from each case's
    summary (``full``: its whole body)."""
    total, closed = counted if counted is not None else count(conn, keys, f)
    rows = conn.execute(_page_listing(keys, f, full))
    entries = [_row_to_entry(keys, r, full) for r in rows]
    return CasePage(entries, total, closed)


def holders(conn: Connection, keys: Keyring, entity_key: str, but: str) -> tuple[int, int]:
    """How many of the organisation's cases other than ``but`` hold the entity, and how
    many of them are closed."""
    closed = func.sum(when((cases.c.status == CaseStatus.CLOSED.value, 1), else_=0))
    holding = select(case_keys.c.case_id).where(
        case_keys.c.value_index == keys.index(entity_key), of_org(case_keys, keys.org_id)
    )
    # Scoped through the entity's rows (as a search, see conditions): read by key.
    found = conn.execute(
        select(func.count(), closed).where(cases.c.case_id.in_(holding), cases.c.case_id != but)
    ).one()
    return int(found[0]), int(found[1] or 0)


def choices(conn: Connection, org_id: str) -> tuple[list[str], list[str]]:
    """The queue's filter choices: the organisation's cases' countries and typologies."""
    countries = conn.execute(
        select(cases.c.country)
        .where(of_org(cases, org_id), cases.c.country.is_not(None))
        .distinct()
    ).scalars()
    typologies = conn.execute(
        select(case_facets.c.value)
        .where(of_org(case_facets, org_id), case_facets.c.facet == TYPOLOGY)
        .distinct()
    ).scalars()
    return sorted(countries), sorted(typologies)


def version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever a case, its status or its tier changes (dashboards cache on it):
    the latest change of a case row, the latest status event and how many cases were
    ever deleted (retention, the only deleter, counts them in ``store_meta``). Three
    keyed lookups: counting the cases instead took 10-30 ms a request on PostgreSQL at
    100,000 cases, and every queue request asked twice."""
    return tuple(
        conn.execute(
            select(
                select(func.max(cases.c.updated_at)).scalar_subquery(),
                select(func.max(case_events.c.id)).scalar_subquery(),
                select(store_meta.c.value)
                .where(store_meta.c.name == meta.CASES_DELETED)
                .scalar_subquery(),
            )
        ).one()
    )


def figures(conn: Connection, org_id: str) -> CaseFigures:
    """Dashboard figures of one organisation's cases, by SQL aggregates over the plain
    columns and facets."""
    own = of_org(cases, org_id)
    return CaseFigures(
        as_of=datetime.now(UTC),
        total=_total(conn, org_id),
        created_per_day=_per_day(conn, org_id),
        by_tier=_counts(conn, select(cases.c.tier, func.count()).where(own).group_by(cases.c.tier)),
        by_country=_counts(
            conn,
            select(cases.c.country, func.count())
            .where(own, cases.c.country.is_not(None))
            .group_by(cases.c.country),
        ),
        referred_by_country=_referred_by_country(conn, org_id),
        routes=frozenset(
            (r[0], r[1])
            for r in conn.execute(
                select(cases.c.country, cases.c.routed_agency)
                .where(own, cases.c.country.is_not(None))
                .distinct()
            )
        ),
        by_typology=_facet_counts(conn, org_id, TYPOLOGY),
        by_source=_facet_counts(conn, org_id, SOURCE),
        **_triage(conn, org_id),
    )


def _total(conn: Connection, org_id: str) -> int:
    q = select(func.count()).select_from(cases).where(of_org(cases, org_id))
    return int(conn.execute(q).scalar_one())


def _counts(conn: Connection, q: Select[Any]) -> dict[Any, int]:
    return {r[0]: int(r[1]) for r in conn.execute(q)}


def _facet_counts(conn: Connection, org_id: str, facet: str) -> dict[str, int]:
    return _counts(
        conn,
        select(case_facets.c.value, func.count())
        .where(of_org(case_facets, org_id), case_facets.c.facet == facet)
        .group_by(case_facets.c.value),
    )


def _per_day(conn: Connection, org_id: str) -> dict[date, int]:
    """Cases created per UTC day (timestamps are stored in UTC on both databases)."""
    if conn.dialect.name == "sqlite":
        day: ColumnElement[Any] = func.date(cases.c.created_at)
    else:
        day = func.date(func.timezone("UTC", cases.c.created_at))
    q = select(day, func.count()).where(of_org(cases, org_id)).group_by(day)
    found = _counts(conn, q)
    return {d if isinstance(d, date) else date.fromisoformat(str(d)): n for d, n in found.items()}


def _referred_by_country(conn: Connection, org_id: str) -> dict[str, int]:
    """Cases referred at some time (the status history), or referred now, per country."""
    ever = select(case_events.c.case_id).where(case_events.c.to_status == CaseStatus.REFERRED.value)
    return _counts(
        conn,
        select(cases.c.country, func.count())
        .where(
            of_org(cases, org_id),
            cases.c.country.is_not(None),
            or_(cases.c.status == CaseStatus.REFERRED.value, cases.c.case_id.in_(ever)),
        )
        .group_by(cases.c.country),
    )


def _triage(conn: Connection, org_id: str) -> dict[str, Any]:
    """Hours from a case entering the queue (its first "new" event, else its creation)
    until it first left "new". One pass over the organisation's status events in case
    order (the covering index ``ix_case_events_org_case``, migration 0015), both times
    per case by conditional aggregates; a case's row is read only when it has no "new"
    event (stored before events were kept). Was two grouped scans and a join of every
    moved case: 2.4 s at 100,000 cases."""
    is_new = case_events.c.to_status == CaseStatus.NEW.value
    per_case = (
        select(
            case_events.c.case_id,
            func.min(when((is_new, case_events.c.at))).label("entered"),
            func.min(when((~is_new, case_events.c.at))).label("moved"),
        )
        .where(of_org(case_events, org_id))
        .group_by(case_events.c.case_id)
        .subquery()
    )
    created = (
        select(cases.c.created_at).where(cases.c.case_id == per_case.c.case_id).scalar_subquery()
    )
    hours = _hours_between(conn, func.coalesce(per_case.c.entered, created), per_case.c.moved)
    found = conn.execute(select(hours).where(per_case.c.moved.is_not(None))).scalars().all()
    hours_each = [max(0.0, float(h)) for h in found if h is not None]
    return {"triage": triage_figures(hours_each), "waiting": _total(conn, org_id) - len(found)}


def _hours_between(
    conn: Connection, start: ColumnElement[Any], end: ColumnElement[Any]
) -> ColumnElement[Any]:
    """Hours from ``start`` to ``end``, computed by the database (parsing 90,000
    timestamps in Python took longer than the query)."""
    if conn.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


def states(
    conn: Connection, org_id: str, case_ids: Sequence[str]
) -> dict[str, tuple[Tier, CaseStatus]]:
    """The current tier (an override included) and status of each case named, from the
    workflow columns alone: nothing is decrypted."""
    q = select(cases.c.case_id, cases.c.tier, cases.c.status).where(
        cases.c.case_id.in_(list(case_ids)), of_org(cases, org_id)
    )
    return {r.case_id: (Tier(r.tier), CaseStatus(r.status)) for r in conn.execute(q)}


def cases_with_key(conn: Connection, keys: Keyring, index: str) -> list[str]:
    """The ids of ``keys.org_id``'s cases carrying the identifier of blind index ``index``."""
    q = select(case_keys.c.case_id).where(
        case_keys.c.value_index == index, of_org(case_keys, keys.org_id)
    )
    return [r[0] for r in conn.execute(q)]


def transition(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    to: CaseStatus,
    actor: str,
    reason: str,
    now: datetime,
    *,
    outcome: Outcome | None = None,
    assignee: str | None = None,
) -> Case:
    r = conn.execute(_select_case(keys, case_id)).first()
    if r is None:
        raise NotFound(case_id)
    current = CaseStatus(r.status)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise WorkflowError(
            f"cannot move a {current.value} case to {to.value} (allowed: {allowed})"
        )
    values: dict[str, Any] = {"status": to.value, "updated_at": utc(now)}
    if to is CaseStatus.CLOSED:
        if outcome is None:
            raise WorkflowError("closing a case needs an outcome")
        values["outcome"] = outcome.value
    elif outcome is not None:
        raise WorkflowError("an outcome is only set when closing a case")
    else:
        values["outcome"] = None
    if to is CaseStatus.ASSIGNED:
        who = assignee or r.assignee
        if not who:
            raise WorkflowError("assigning a case needs an assignee")
        values["assignee"] = who
    elif assignee is not None:
        values["assignee"] = assignee
    conn.execute(update(cases).where(cases.c.case_id == case_id).values(**values))
    refresh_mac(conn, keys, cases, case_id)
    event_id = inserted_id(
        conn.execute(
            insert(case_events).values(
                org_id=keys.org_id,
                case_id=case_id,
                at=now,
                actor=actor,
                from_status=current.value,
                to_status=to.value,
                reason_enc=None,
            )
        )
    )
    if reason:  # bound to the event's id, known once it is inserted
        conn.execute(
            update(case_events)
            .where(case_events.c.id == event_id)
            .values(reason_enc=keys.encrypt_text(reason, bound(REASON, event_id)))
        )
    case = get(conn, keys, case_id)
    assert case is not None
    return case


def inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def send_to_team(
    conn: Connection, keys: Keyring, case_id: str, team: str | None, now: datetime
) -> str | None:
    """Put the case in a team's inbox (None: in none); returns the team it was in."""
    r = conn.execute(_select_case(keys, case_id)).first()
    if r is None:
        raise NotFound(case_id)
    conn.execute(
        update(cases).where(cases.c.case_id == case_id).values(team=team, updated_at=utc(now))
    )
    refresh_mac(conn, keys, cases, case_id)
    return str(r.team) if r.team else None


def add_note(
    conn: Connection, keys: Keyring, case_id: str, author: str, text: str, now: datetime
) -> None:
    if not conn.execute(_select_case(keys, case_id)).first():
        raise NotFound(case_id)
    note_id = inserted_id(
        conn.execute(
            insert(case_notes).values(
                org_id=keys.org_id, case_id=case_id, author=author, at=now, text_enc=b""
            )
        )
    )
    conn.execute(  # bound to the note's id, known once it is inserted
        update(case_notes)
        .where(case_notes.c.id == note_id)
        .values(text_enc=keys.encrypt_text(text, bound(NOTE, note_id)))
    )
    conn.execute(update(cases).where(cases.c.case_id == case_id).values(updated_at=utc(now)))
    refresh_mac(conn, keys, cases, case_id)


def notes(conn: Connection, keys: Keyring, case_id: str) -> list[Note]:
    rows = conn.execute(
        select(case_notes)
        .where(case_notes.c.case_id == case_id, of_org(case_notes, keys.org_id))
        .order_by(case_notes.c.id)
    )
    return [
        Note(r.author, utc(r.at), keys.decrypt_text(r.text_enc, bound(NOTE, r.id))) for r in rows
    ]


def history(conn: Connection, keys: Keyring, case_id: str | None = None) -> list[StatusChange]:
    q = select(case_events).where(of_org(case_events, keys.org_id)).order_by(case_events.c.id)
    if case_id is not None:
        q = q.where(case_events.c.case_id == case_id)
    return [
        StatusChange(
            r.case_id,
            utc(r.at),
            r.actor,
            CaseStatus(r.from_status) if r.from_status else None,
            CaseStatus(r.to_status),
            keys.decrypt_text(r.reason_enc, bound(REASON, r.id)) if r.reason_enc else "",
        )
        for r in conn.execute(q)
    ]
