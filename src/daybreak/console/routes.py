"""The analyst console's pages: sign-in, queue, case, dashboards, hash banks and rules.

Server-rendered (Jinja2) on the API's FastAPI app under ``/console``. Every read and
action goes through the :class:`ConsoleBackend` (the tipline store in production), so it
lands in the audit trail. :func:`mount_console` wires it all into an app.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from daybreak.connectors.hash_exchange import opinion_words
from daybreak.console import dashboards, graphview, queue
from daybreak.console.backend import ActionError, AuditView, ConsoleUser
from daybreak.console.estimates import estimate_panel
from daybreak.console.pages_manage import router as manage_router
from daybreak.console.pages_outbound import router as outbound_router
from daybreak.console.paging import list_page
from daybreak.console.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    new_token,
    tokens_equal,
)
from daybreak.console.web import (
    HERE,
    PREFIX,
    ConsolePageError,
    case_url,
    form_text,
    posted,
    redirect,
    render,
    signed_in,
    state_of,
)
from daybreak.model.alerts import Alert
from daybreak.model.cases import TRANSITIONS, Case, CaseStatus, Outcome, Tier
from daybreak.store.throttle import LoginRefused

MAX_NOTE = 5000
HISTORY_SHOWN = 100
LIST_SHOWN = 25  # timeline rows before "show all"
EVIDENCE_PAGE = 50  # evidence rows per page of a case
SUB_CASES_PAGE = 50  # sub-cases per page of a hub case
LINKS_SHOWN = 500  # rows of the graph's links-as-a-table
router = APIRouter(prefix=PREFIX, include_in_schema=False)


# --- sign-in -------------------------------------------------------------------------

REFUSALS = {
    "locked": "Too many failed attempts for this account. Try again later, "
    "or ask an admin to unlock it.",
    "address": "Too many sign-in attempts from your network. Wait a minute and try again.",
    "busy": "The server is busy signing others in. Try again in a moment.",
    "budget": "The server is refusing sign-ins for a moment (too many attempts). "
    "Try again in a few seconds.",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return redirect(f"{PREFIX}/queue")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> Response:
    if state_of(request).sessions.get(request.cookies.get(SESSION_COOKIE)) is not None:
        return redirect(f"{PREFIX}/queue")
    return _sign_in_form(request)


def _sign_in_form(request: Request, error: str = "") -> Response:
    """The form with a fresh double-submit token (the error never comes from the URL)."""
    token = new_token()
    response = render(request, "sign_in.html", {"login_csrf": token, "error": error})
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=state_of(request).secure_cookies,
        path=PREFIX,
        max_age=1800,
    )
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    state = state_of(request)
    form = await request.form()
    username = form.get("username")
    password = form.get("password")
    token = form.get("csrf_token")
    if not isinstance(token, str) or not tokens_equal(
        token, request.cookies.get(LOGIN_CSRF_COOKIE)
    ):
        return _sign_in_error(request, "The sign-in form expired. Please try again.")
    if (
        not isinstance(username, str)
        or not isinstance(password, str)
        or not username
        or not password
    ):
        return _sign_in_error(request, "Enter your user name and password.")
    username = username.strip()[:80]
    client = request.client.host if request.client else ""
    try:
        user = await run_in_threadpool(state.backend.sign_in, username, password[:1024], client)
    except LoginRefused as exc:
        await asyncio.sleep(exc.delay)
        return _sign_in_error(request, REFUSALS.get(exc.reason, exc.message))
    if user is None:
        return _sign_in_error(request, "User name or password is not correct.")
    if not user.may_use_console:
        return _sign_in_error(
            request,
            "Reporting-platform accounts send reports through the API and cannot use the console.",
        )
    await run_in_threadpool(state.backend.record, user, "sign_in", user.username, "console")
    state.sessions.end(request.cookies.get(SESSION_COOKIE))  # never reuse an old session
    response = redirect(f"{PREFIX}/queue")
    epoch = await run_in_threadpool(state.backend.session_epoch, user.username)
    response.set_cookie(
        SESSION_COOKIE,
        state.sessions.create(user, epoch or 0),
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
        path=PREFIX,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


def _sign_in_error(request: Request, message: str) -> Response:
    response = _sign_in_form(request, message)
    response.status_code = 400
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session, _ = await posted(request)
    backend = state_of(request).backend
    await run_in_threadpool(backend.record, session.user, "sign_out", session.user.username, "")
    state_of(request).sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect(f"{PREFIX}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


# --- queue ---------------------------------------------------------------------------


FILTER_PARAMS = ("tier", "country", "typology", "status", "mine", "inbox")
DEFAULT_STATUS = "default"  # the status select's first option
SEARCH_BY_FORM = (
    "Identifier searches are sent with the search form, so phone numbers and e-mails "
    "stay out of page addresses and server logs. Use the search box on the queue page."
)


def _filters(
    params: dict[str, str], query: str, username: str, teams: Sequence[str] = ()
) -> queue.QueueFilters:
    tier_text = params.get("tier", "")
    tier = Tier(int(tier_text)) if tier_text.isdigit() and int(tier_text) in set(Tier) else None
    # A search looks in every status unless a status is chosen: a closed case holding
    # the identifier is often the most useful hit.
    status = params.get("status", "" if query else queue.OPEN)
    if status not in {queue.OPEN, "", *(s.value for s in CaseStatus)}:
        status = queue.OPEN
    page_text = params.get("page", "1")
    return queue.QueueFilters(
        tier=tier,
        country=params.get("country", "").upper()[:2] or None,
        typology=params.get("typology", "")[:80] or None,
        status=status,
        query=query,
        page=int(page_text) if page_text.isdigit() else 1,
        assignee=username if params.get("mine") == "1" else None,
        teams=tuple(teams) if params.get("inbox") == "1" else None,
    )


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request) -> Response:
    session = signed_in(request)
    if "q" in request.query_params:  # an old link or bookmark: searches are POSTed
        raise ConsolePageError(405, "Search with the form", SEARCH_BY_FORM)
    backend = state_of(request).backend
    params = dict(request.query_params)
    # The team inbox: the unassigned open cases of the teams the analyst is in.
    teams = backend.teams_of(session.user) if params.get("inbox") == "1" else ()
    filters = _filters(params, session.query, session.user.username, teams)
    now = state_of(request).clock()
    page = backend.queue_page(session.user, filters, now)
    sla = state_of(request).triage_sla
    params = {
        k: v for k, v in request.query_params.items() if k in FILTER_PARAMS and (v or k == "status")
    }
    return render(
        request,
        "queue.html",
        {
            "page": page,
            "due": {r.case.case_id: queue.triage_due(r.case, now, sla) for r in page.rows},
            "filters": filters,
            "tiers": list(Tier),
            "statuses": [s.value for s in CaseStatus],
            "open_status": queue.OPEN,
            "default_status": DEFAULT_STATUS,
            "status_chosen": "status" in request.query_params,
            "query_string": _query_string(params),
            "nav": "inbox"
            if filters.teams is not None
            else "mine"
            if filters.assignee
            else "queue",
        },
    )


def _query_string(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())


@router.post("/queue", response_class=HTMLResponse)
async def queue_search(request: Request) -> Response:
    """The filter form: the identifier search is kept in the session, the other filters
    go back into the address (they name no one)."""
    session, form = await posted(request)
    if form.get("clear"):
        session.query = ""
        return redirect(f"{PREFIX}/queue")
    query = form.get("q")
    session.query = query.strip()[:200] if isinstance(query, str) else ""
    params = {}
    for name in FILTER_PARAMS:
        value = form.get(name)
        if isinstance(value, str) and value:
            params[name] = value[:80]
    status = form.get("status")
    if params.get("status") == DEFAULT_STATUS:
        del params["status"]  # the default: open cases, every status when searching
    elif "status" not in params and isinstance(status, str):
        params["status"] = ""  # "any status" is an empty value, unlike the default
    shown = _query_string(params)
    # Back at the result count, where the analyst reads what the search found.
    return redirect(
        f"{PREFIX}/queue?{shown}#queue-count" if shown else f"{PREFIX}/queue#queue-count"
    )


MAX_BULK = 100  # cases closed by one bulk action


@router.post("/queue/close-duplicates")
async def close_duplicates(request: Request) -> Response:
    """Close the ticked cases as duplicates of one case, each through the same workflow
    (and permission check and audit entry) as closing it on its own page."""
    session, form = await posted(request)
    try:
        message = await run_in_threadpool(_close_duplicates, request, session.user, form)
    except ActionError as exc:
        session.flashes.append(("error", exc.message))
        return redirect(f"{_queue_back(form)}#bulk-close")
    session.flashes.append(("ok", message))
    return redirect(f"{_queue_back(form)}#{_next_row(form)}")


def _queue_back(form: FormData) -> str:
    """The queue page the form was on (its filters), to return to after a bulk action."""
    params = {
        k: v
        for k, v in parse_qsl(form_text(form, "back", max_len=500))
        if k in (*FILTER_PARAMS, "page")
    }
    shown = _query_string(params)
    return f"{PREFIX}/queue?{shown}" if shown else f"{PREFIX}/queue"


def _next_row(form: FormData) -> str:
    """Where the analyst carries on after closing ticked rows: the first row below the
    first one ticked that was not ticked (else the first unticked row), by its anchor;
    the queue's count when no row is left."""
    shown = form_text(form, "shown", max_len=10_000).split()
    ticked = {v for v in form.getlist("case_id") if isinstance(v, str)}
    first = next((i for i, c in enumerate(shown) if c in ticked), 0)
    rest = [c for c in shown[first:] + shown[:first] if c not in ticked]
    return f"row-{rest[0]}" if rest else "queue-count"


def _close_duplicates(request: Request, user: ConsoleUser, form: FormData) -> str:
    backend = state_of(request).backend
    chosen = list(dict.fromkeys(v.strip() for v in form.getlist("case_id") if isinstance(v, str)))
    original = form_text(form, "duplicate_of", max_len=80)
    reason = form_text(form, "reason", max_len=1000)
    if not chosen:
        raise ActionError("Tick the cases to close as duplicates.")
    if len(chosen) > MAX_BULK:
        raise ActionError(f"Close at most {MAX_BULK} cases at once ({len(chosen)} ticked).")
    if not original or backend.get_case(original, user) is None:
        raise ActionError("Name the case they duplicate (its id, e.g. CASE-0001).")
    if original in chosen:
        raise ActionError(f"{original} is the case the others duplicate: untick it.")
    if not reason:
        raise ActionError("Say why they are duplicates: the reason goes into each history.")
    closed, refused = [], []
    for case_id in chosen:
        try:
            backend.close(case_id, user, Outcome.DUPLICATE, f"duplicate of {original}: {reason}")
            closed.append(case_id)
        except ActionError as exc:
            refused.append(f"{case_id}: {exc.message}")
    if refused and not closed:
        raise ActionError("No case closed. " + "; ".join(refused))
    done = f"Closed {len(closed)} case(s) as duplicates of {original}."
    return done + (f" Not closed: {'; '.join(refused)}" if refused else "")


# --- case ----------------------------------------------------------------------------


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str) -> Response:
    session = signed_in(request)
    backend = state_of(request).backend
    case = backend.get_case(case_id, session.user)
    if case is None:
        raise ConsolePageError(404, "No such case", f"There is no case {case_id!r}.")
    alerts = [a for a in backend.alerts(session.user) if a.alert_id in set(case.alert_ids)]
    transitions = {s.value for s in TRANSITIONS[case.status]}
    sub_case_page = list_page(
        case.sub_cases, request.query_params, "sub_cases_page", SUB_CASES_PAGE
    )
    return render(
        request,
        "case.html",
        {
            "case": case,
            "case_url": case_url(case.case_id),
            "record_url": lambda source, rid: evidence_url(case.case_id, source, rid),
            "alerts": alerts,
            "exchange_of": backend.exchange_matches(
                case.case_id,
                session.user,
                [(m.hash_type, m.listed_hash) for a in alerts for m in a.hash_matches],
            ),
            "typologies": sorted({t for a in alerts for t in a.typologies}),
            "timeline": sorted(case.timeline, key=lambda e: e.at),
            "shown": LIST_SHOWN,
            "evidence_page": list_page(
                case.evidence, request.query_params, "evidence_page", EVIDENCE_PAGE
            ),
            "sub_case_page": sub_case_page,
            # as they are now (an analyst's override, their status), not as built
            "sub_cases_now": backend.case_states(
                [link.case_id for link in sub_case_page.rows], session.user
            ),
            "links_shown": LINKS_SHOWN,
            # The case's own routing, else the routing table's agency for its country.
            "agency": case.routed_agency or backend.agency_for(case.country),
            # Case builders often write the explanation as the reasons run together.
            "explanation_in_reasons": bool(case.reasons)
            and all(r in case.explanation for r in case.reasons),
            "graph": graphview.layout(case.nodes, case.edges, case.subject_key),
            "notes": backend.notes(case_id, session.user),
            "history": _history(backend.audit_trail(case_id, session.user)),
            "status_changes": list(reversed(backend.status_events(session.user, case_id))),
            "tier_changes": list(reversed(backend.tier_changes(case_id, session.user))),
            "links": backend.case_links(case_id, session.user),
            "teams": backend.teams(session.user),
            "referrals": backend.referrals(case_id, session.user),
            "tiers": list(Tier),
            "assign_side_effect": ASSIGN_SIDE_EFFECTS.get(case.status),
            "escalate_at_once": _escalates_at_once(case),
            "users": backend.assignable_users(session.user),
            "outcomes": [o for o in Outcome if o is not Outcome.MERGED],
            "formats": backend.export_formats(case),
            "can": transitions
            | ({CaseStatus.ESCALATED.value} if _escalates_at_once(case) else set()),
            "nav": "queue",
        },
    )


@router.get("/cases/{case_id}/graph/neighbours")
def graph_neighbours(request: Request, case_id: str, key: str = "") -> Response:
    """The neighbours of one entity of the case's graph, as JSON, for the graph's
    "expand": the case is read through the backend like the case page (the caller's
    organisation only, and the read is audited)."""
    session = signed_in(request)
    case = state_of(request).backend.get_case(case_id, session.user)
    if case is None:
        return _json_error(404, f"There is no case {case_id!r}.")
    found = graphview.neighbourhood(case.nodes, case.edges, key)
    if found is None:
        return _json_error(404, f"Case {case_id} has no entity {key!r}.")
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"Cache-Control": "no-store"}
    )


@router.get("/cases/{case_id}/evidence/{source}/{record_id:path}", response_class=HTMLResponse)
def evidence_page(request: Request, case_id: str, source: str, record_id: str) -> Response:
    """One record the case names: its row (a report's description, reporter, service,
    times and victim details; a payment's amount, currency, date and parties), what the
    case says about it, and the alerts and hash-list matches resting on it."""
    session = signed_in(request)
    try:
        found = state_of(request).backend.evidence(case_id, source, record_id, session.user)
    except ActionError as exc:
        raise ConsolePageError(404, "No such case", exc.message) from None
    if found is None:
        raise ConsolePageError(
            404,
            "No such record in this case",
            f"Case {case_id} names no {source.replace('_', ' ')} record {record_id!r}.",
        )
    context = {"record": found, "case_url": case_url(case_id), "nav": "queue"}
    return render(request, "evidence.html", context)


def evidence_url(case_id: str, source: str, record_id: str) -> str:
    return f"{case_url(case_id)}/evidence/{quote(source, safe='')}/{quote(record_id, safe='')}"


@dataclass(frozen=True, slots=True)
class History:
    changes: list[AuditView]  # actions, notes, exports: newest last
    views: list[AuditView]  # every read of the case
    viewers: list[str]


def _history(trail: Sequence[AuditView]) -> History:
    """The case's audit entries, with the many reads set apart from the changes."""
    views = [a for a in trail if a.action == "read" or a.action.endswith(".read")]
    changes = [a for a in trail if a not in views]
    viewers = sorted({a.actor for a in views})
    return History(changes[-HISTORY_SHOWN:], views[-HISTORY_SHOWN:], viewers)


async def _act(
    request: Request,
    case_id: str,
    action: Callable[[Session, FormData], str],
    anchor: str | None = None,
) -> Response:
    """Run a case action and go back to the case page at the form acted on
    (``#<action>-form`` unless ``anchor`` names another place): console.js puts the
    message next to that form and focuses it, so the analyst carries on from there
    instead of from the top of the page."""
    session, form = await posted(request)
    try:
        # Store calls block (database, audit chain): keep them off the event loop.
        message = await run_in_threadpool(action, session, form)
    except ActionError as exc:
        session.flashes.append(("error", exc.message))
    else:
        session.flashes.append(("ok", message))
    where = anchor or request.url.path.rsplit("/", 1)[-1] + "-form"
    return redirect(f"{case_url(case_id)}#{where}")


@router.post("/cases/{case_id}/note")
async def add_note(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        text = form_text(form, "text", max_len=MAX_NOTE)
        if not text:
            raise ActionError("The note is empty.")
        state_of(request).backend.add_note(case_id, session.user, text)
        return "Note added."

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/triage")
async def triage(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        state_of(request).backend.triage(case_id, session.user)
        return "Case marked as triaged."

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/tier")
async def override_tier(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        raw = form_text(form, "tier", max_len=2)
        if not raw.isdigit() or int(raw) not in set(Tier):
            raise ActionError("Choose the tier the case should have.")
        reason = form_text(form, "reason", max_len=1000)
        if not reason:
            raise ActionError("Say why the tier is changed: the reason goes into its history.")
        tier = Tier(int(raw))
        state_of(request).backend.override_tier(case_id, session.user, tier, reason)
        return f"Tier set to {int(tier)}."

    return await _act(request, case_id, act)


# Assigning moves a case to "assigned": from these statuses that is more than taking
# it, so the page names the transition and the analyst confirms it.
ASSIGN_SIDE_EFFECTS: dict[CaseStatus, tuple[str, str]] = {
    CaseStatus.CLOSED: ("Reopen", "reopens the closed case"),
    CaseStatus.ESCALATED: ("De-escalate", "ends its escalation (the status becomes assigned)"),
}


def _escalates_at_once(case: Case) -> bool:
    """A new tier-1 case (a child at immediate risk) is escalated without waiting for
    a separate triage step: the console triages and escalates it in one action."""
    return case.status is CaseStatus.NEW and case.tier is Tier.LIVE_OR_IMMEDIATE_RISK


def _current(request: Request, session: Session, case_id: str) -> Case:
    case = state_of(request).backend.get_case(case_id, session.user)
    if case is None:
        raise ActionError(f"no case {case_id!r}")
    return case


@router.post("/cases/{case_id}/assign")
async def assign(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        assignee = form_text(form, "assignee", max_len=80) or session.user.username
        if assignee != session.user.username and not session.user.is_manager:
            raise ActionError("Analysts can take a case themselves; a supervisor assigns others.")
        side = ASSIGN_SIDE_EFFECTS.get(_current(request, session, case_id).status)
        if side is not None and form_text(form, "confirm", max_len=40) != side[0]:
            raise ActionError(
                f'Assigning this case {side[1]}: tick "{side[0]}" to confirm. Nothing was changed.'
            )
        state_of(request).backend.assign(case_id, session.user, assignee)
        done = {"Reopen": "Case reopened and", "De-escalate": "Case de-escalated and"}
        return (
            f"{done[side[0]]} assigned to {assignee}." if side else f"Case assigned to {assignee}."
        )

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/escalate")
async def escalate(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        reason = form_text(form, "reason", max_len=1000)
        if not reason:
            raise ActionError("Say why the case is escalated.")
        backend = state_of(request).backend
        if _escalates_at_once(_current(request, session, case_id)):
            backend.triage(case_id, session.user)  # recorded: new -> triaged -> escalated
        backend.escalate(case_id, session.user, reason)
        return "Case escalated."

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/refer")
async def refer(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        agency = form_text(form, "agency", max_len=200)
        fmt = form_text(form, "format", max_len=40)
        reference = form_text(form, "reference", max_len=200)
        backend = state_of(request).backend
        backend.refer(case_id, session.user, agency, fmt, reference)
        if not fmt:
            return f"Case referred to {agency} (no export attached)."
        sent = backend.referrals(case_id, session.user)[-1]
        return (
            f"Case referred to {agency}; the {fmt} export sent is attached "
            f"(SHA-256 {(sent.digest or '')[:16]}…)."
        )

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/referrals/{referral_id}/reference")
async def referral_reference(request: Request, case_id: str, referral_id: int) -> Response:
    """The receiver's reference number of a referral, when they answer."""

    def act(session: Session, form: FormData) -> str:
        reference = form_text(form, "reference", max_len=200)
        if not reference:
            raise ActionError("Type the receiver's reference number.")
        state_of(request).backend.add_referral_reference(
            case_id, session.user, referral_id, reference
        )
        return f"Reference {reference} recorded."

    return await _act(request, case_id, act, "referrals")


@router.get("/cases/{case_id}/referrals/{referral_id}/export")
def referral_export(request: Request, case_id: str, referral_id: int) -> Response:
    """The exact export sent with a referral, again (each download audited)."""
    session = signed_in(request)
    try:
        found = state_of(request).backend.referral_export(case_id, session.user, referral_id)
    except ActionError as exc:
        raise ConsolePageError(404, "No such referral export", exc.message) from None
    return Response(
        found.content,
        media_type=found.media_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/cases/{case_id}/close")
async def close(request: Request, case_id: str) -> Response:
    def act(session: Session, form: FormData) -> str:
        raw = form_text(form, "outcome", max_len=40)
        try:
            outcome = Outcome(raw)
        except ValueError:
            raise ActionError("Choose the outcome the case is closed with.") from None
        reason = form_text(form, "reason", max_len=1000)
        if not reason:
            raise ActionError("Say why the case is closed: the reason goes into its history.")
        state_of(request).backend.close(case_id, session.user, outcome, reason)
        return f"Case closed: {outcome.value.replace('_', ' ')}."

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/team")
async def send_to_team(request: Request, case_id: str) -> Response:
    """Put the case in a team's inbox, where a member takes it."""

    def act(session: Session, form: FormData) -> str:
        team = form_text(form, "team", max_len=40) or None
        state_of(request).backend.send_to_team(case_id, session.user, team)
        return f"Case sent to the {team} team's inbox." if team else "Case taken out of its team."

    return await _act(request, case_id, act)


MATCH_VERDICTS = {
    "true_positive": "Confirmed match (true positive)",
    "false_positive": "Not a match (false positive)",
}


@router.post("/cases/{case_id}/match-opinion")
async def match_opinion(request: Request, case_id: str) -> Response:
    """An analyst's verdict on one hash-list match of the case, queued for the exchanges
    that listed the hash (sent by the next exchange sync, retried, dead-lettered)."""

    def act(session: Session, form: FormData) -> str:
        verdict = form_text(form, "verdict", max_len=20)
        if verdict not in MATCH_VERDICTS:
            raise ActionError("Choose Confirm match or Not a match.")
        hash_type = form_text(form, "hash_type", max_len=40)
        listed = form_text(form, "listed_hash", max_len=200)
        queued = state_of(request).backend.match_opinion(
            case_id, session.user, hash_type, listed, verdict
        )
        said = f"{MATCH_VERDICTS[verdict]} on {hash_type} {listed[:16]}…"
        if not queued:
            return f"{said} was given in this case already: nothing new to send."
        to = "; ".join(f"{name} ({api}): {opinion_words(api, verdict)}" for name, api in queued)
        return f"{said} queued for {to}. It is sent at the next exchange sync."

    return await _act(request, case_id, act, "explanation")


MAX_SPLIT = 500  # alerts split out by one action


@router.post("/cases/{case_id}/merge")
async def merge(request: Request, case_id: str) -> Response:
    """Merge another case into this one (its alerts, entities and evidence move here;
    it is closed as merged), with the reason."""

    def act(session: Session, form: FormData) -> str:
        other = form_text(form, "merged_case", max_len=80)
        if not other:
            raise ActionError("Name the case to merge into this one (its id, e.g. CASE-0002).")
        reason = form_text(form, "reason", max_len=1000)
        if not reason:
            raise ActionError("Say why the cases are merged: the reason goes into both histories.")
        if state_of(request).backend.get_case(other, session.user) is None:
            raise ActionError(f"There is no case {other!r} to merge.")
        state_of(request).backend.merge(case_id, session.user, other, reason)
        return f"{other} merged into this case and closed as merged."

    return await _act(request, case_id, act)


@router.post("/cases/{case_id}/split")
async def split(request: Request, case_id: str) -> Response:
    """Split the ticked alerts (and their entities) out into a new case, with the reason."""

    def act(session: Session, form: FormData) -> str:
        chosen = [v.strip() for v in form.getlist("alert_id") if isinstance(v, str) and v.strip()]
        if not chosen:
            raise ActionError("Tick the alerts to split out into a new case.")
        if len(chosen) > MAX_SPLIT:
            raise ActionError(f"Split at most {MAX_SPLIT} alerts at once.")
        reason = form_text(form, "reason", max_len=1000)
        if not reason:
            raise ActionError(
                "Say why the alerts are split out: the reason goes into both histories."
            )
        new_id = state_of(request).backend.split(case_id, session.user, chosen, reason)
        return f"{len(set(chosen))} alert(s) split out into the new case {new_id}."

    return await _act(request, case_id, act)


@router.get("/cases/{case_id}/export-check", response_class=HTMLResponse)
def export_check(request: Request, case_id: str, fragment: int = 0) -> Response:
    """What each format's receiver will miss, on its own request: the case page's
    export panel fetches the fragment after loading (the exporters' import and the
    case's rows never hold up the case page); without scripts it is a page."""
    session = signed_in(request)
    try:
        formats = state_of(request).backend.export_check(case_id, session.user)
    except ActionError as exc:
        return _export_failed(request, case_id, exc.message)
    context = {"formats": formats, "case_url": case_url(case_id), "case_id": case_id}
    return render(request, "_export_check.html" if fragment else "export_check.html", context)


def _export_failed(request: Request, case_id: str, message: str) -> Response:
    """An error page with a 422 status, never a redirect: the download link would save
    the redirected case page as the export."""
    context = {
        "title": "Export failed",
        "message": message,
        "back_url": case_url(case_id),
        "back_label": "Back to the case",
    }
    return render(request, "error.html", context, status=422)


@router.get("/cases/{case_id}/export/{fmt}")
def export(request: Request, case_id: str, fmt: str) -> Response:
    session = signed_in(request)
    try:
        result = state_of(request).backend.export(case_id, session.user, fmt)
    except ActionError as exc:
        return _export_failed(request, case_id, f"Export failed: {exc.message}")
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- dashboards ----------------------------------------------------------------------


@router.get("/dashboards", response_class=HTMLResponse)
def dashboards_page(request: Request) -> Response:
    session = signed_in(request)
    backend = state_of(request).backend
    alerts = backend.alerts(session.user)
    board = dashboards.dashboard_of(backend.case_figures(session.user), alerts, backend.agency_for)
    context = {"board": board, "nav": "dashboards", "plugins": installed_plugins(alerts)}
    context["estimate"] = estimate_panel(backend.latest_estimate(session.user))
    return render(request, "dashboards.html", context)


@dataclass(frozen=True)
class InstalledPlugin:
    kind: str  # detector | export format | hash type | source
    name: str
    label: str
    detail: str  # what a detector reads, a format's media type, a hash's matching, a
    # source's files and the schema it fills
    alerts: int | None = None  # alerts of this detector in the console's data


def installed_plugins(alerts: Sequence[Alert]) -> list[InstalledPlugin]:
    """Everything registered by entry point, Daybreak's own and plug-ins': the detectors
    (with their alert counts), export formats, hash types and sources."""
    from daybreak.console.exports import registered_formats
    from daybreak.detectors.info import detectors
    from daybreak.plugins import signal_types, sources

    counts = Counter(a.detector for a in alerts)
    found = [
        InstalledPlugin("detector", d.name, d.label, ", ".join(d.reads), counts.get(d.name, 0))
        for d in detectors().values()
    ]
    found += [
        InstalledPlugin("export format", f.name, f.label, f.media_type)
        for f in registered_formats().values()
    ]
    found += [
        InstalledPlugin("hash type", t.name, t.label, _matching_of(t.default_threshold))
        for t in signal_types().values()
    ]
    found += [
        InstalledPlugin("source", s.name, s.label, f"{', '.join(s.suffixes) or '-'} → {s.table}")
        for s in sources().values()
    ]
    return found


def _matching_of(threshold: int) -> str:
    return "exact match" if threshold == 0 else f"near match (distance ≤ {threshold})"


router.include_router(manage_router)
router.include_router(outbound_router)


# --- wiring --------------------------------------------------------------------------


def mount_static(app: FastAPI) -> None:
    """Serve ``static/`` (CSS, JS) under ``/console/static``."""
    app.mount(
        f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="console-static"
    )
