"""The console's pages over HTTP: queue, search, case page, actions, exports, dashboards."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from console_world import (
    NOW,
    PASSWORD,
    TOP_CASE,
    TOP_EMAIL,
    TOP_HASH,
    TOP_IBAN,
    TOP_PHONE,
    TOP_USERNAME,
)

from conftest import LiveServer, csrf_of
from daybreak.console.backend import ConsoleUser, ExportFile, ExportFinding, ExportFormat, Role
from daybreak.console.exports import ExportersPackage, ExportSettings
from daybreak.console.queue import humanize_age
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus, Outcome, Tier, triage_time_left
from daybreak.testing.console import MemoryBackend

ROW = re.compile(r'<tr data-case-id="([^"]+)"')
SUPERVISOR = ConsoleUser("sam", Role.SUPERVISOR)


def queue_ids(client: httpx.Client, q: str | None = None, **params: str) -> list[str]:
    """The queue's case ids; a search ``q`` is POSTed with the filter form, like the
    page does, and the page it redirects to is read."""
    if q is None:
        response = client.get("/console/queue", params=params)
    else:
        response = search(client, q, **params)
    assert response.status_code == 200, response.text
    return ROW.findall(response.text)


def search(client: httpx.Client, q: str, **filters: str) -> httpx.Response:
    token = csrf_of(client.get("/console/queue").text)
    posted = client.post("/console/queue", data={"csrf_token": token, "q": q, **filters})
    assert posted.status_code == 303, posted.text
    return client.get(posted.headers["location"])


def all_cases(backend: MemoryBackend) -> dict[str, Case]:
    return {c.case_id: c for c in backend.list_cases(SUPERVISOR)}


def test_queue_lists_open_cases_by_tier_then_priority(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    ids = queue_ids(client_for("ana"))
    cases = all_cases(backend)
    assert ids[0] == TOP_CASE
    keys = [(int(cases[i].tier), -cases[i].priority) for i in ids]
    assert keys == sorted(keys)
    open_cases = [c for c in cases.values() if c.status is not CaseStatus.CLOSED]
    assert len(ids) == min(50, len(open_cases))


def test_queue_row_shows_tier_why_age_sources_and_assignee(
    client_for: Callable[[str], httpx.Client],
) -> None:
    page = client_for("ana").get("/console/queue").text
    row = page[page.index(f'data-case-id="{TOP_CASE}"') :]
    row = row[: row.index("</tr>")]
    assert ">T1<" in row
    assert "live now; payment alert on the paying customer" in html.unescape(row)
    assert '<td class="age">5 h</td>' in row  # created five hours before the fixed clock
    for source in ("transactions", "reports", "platform events", "media sightings"):
        assert source in row
    assert "—" in row  # nobody assigned yet


def _row(page: str, case_id: str) -> str:
    row = page[page.index(f'data-case-id="{case_id}"') :]
    return row[: row.index("</tr>")]


def test_queue_shows_each_new_case_s_triage_clock(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    """A tier-1 case may wait 4 h for triage: the top case, new for 5 h, is overdue by
    1 h; a triaged case runs no clock; the others count down from their tier's time."""
    page = client_for("ana").get("/console/queue").text
    assert "Triage due" in page
    assert 'class="sla sla-overdue" data-testid="triage-due">overdue 1 h<' in _row(page, TOP_CASE)
    cases = all_cases(backend)
    shown = queue_ids(client_for("ana"))
    triaged = [i for i in shown if cases[i].status is not CaseStatus.NEW]
    assert triaged and all("triage-due" not in _row(page, i) for i in triaged)
    for i in shown:
        left = triage_time_left(cases[i], NOW)
        if left is not None and left > timedelta(0):
            assert f">in {humanize_age(NOW - left, NOW)}<" in _row(page, i)


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"tier": "1"}, lambda c: c.tier is Tier.LIVE_OR_IMMEDIATE_RISK),
        ({"country": "KE"}, lambda c: c.country == "KE"),
        ({"status": "triaged"}, lambda c: c.status is CaseStatus.TRIAGED),
    ],
    ids=["tier", "country", "status"],
)
def test_queue_filters(
    client_for: Callable[[str], httpx.Client],
    backend: MemoryBackend,
    params: dict[str, str],
    check: Callable[[Case], bool],
) -> None:
    ids = queue_ids(client_for("ana"), **params)
    cases = all_cases(backend)
    expected = {i for i, c in cases.items() if check(c) and c.status is not CaseStatus.CLOSED}
    assert ids and set(ids) == expected


def test_queue_filters_by_typology_from_the_alerts(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    ids = queue_ids(client_for("ana"), typology="night_payments")
    by_alert = {a.alert_id: a.typologies for a in backend.alerts(SUPERVISOR)}
    expected = {
        c.case_id
        for c in all_cases(backend).values()
        if any("night_payments" in by_alert.get(a, ()) for a in c.alert_ids)
    }
    assert ids and set(ids) == expected


@pytest.mark.parametrize(
    "query",
    [
        TOP_PHONE,
        "+63 917 123 4567",
        "0917 123 4567",  # national format: read with the cases' countries
        TOP_EMAIL.upper(),
        "gb33 bukb 2020 1555 5555 55",
        TOP_USERNAME,
        "night_owl_77",
        TOP_HASH,
        TOP_HASH[:16],  # a prefix of a hash
        "R-000042",  # a report id
    ],
)
def test_search_by_any_identifier_finds_the_case(
    client_for: Callable[[str], httpx.Client], query: str
) -> None:
    assert queue_ids(client_for("ana"), q=query, status="") == [TOP_CASE]


def test_search_for_an_unknown_identifier_finds_nothing(
    client_for: Callable[[str], httpx.Client],
) -> None:
    response = search(client_for("ana"), "+44 20 7946 0000")
    assert ROW.findall(response.text) == []
    assert "No case matches" in response.text
    assert TOP_IBAN not in response.text


def test_a_search_looks_in_closed_cases_too_and_says_so(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    backend.close(TOP_CASE, SUPERVISOR, Outcome.DUPLICATE, "seen before")
    client = client_for("ana")
    page = search(client, TOP_PHONE).text
    assert ROW.findall(page) == [TOP_CASE]
    assert "in every status (1 closed)" in page
    assert f'<span class="mono">phone phone:{TOP_PHONE}</span>' in page
    assert f'<span class="mono">phone:{TOP_PHONE}</span> is in 0 other cases' in page
    # Choosing "open" still hides it, and the page says the search is limited.
    page = search(client, TOP_PHONE, status="open").text
    assert ROW.findall(page) == [] and "among open cases only" in page


def test_closed_cases_leave_the_default_queue(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    user = backend.authenticate("sam", PASSWORD)
    assert user is not None
    backend.close(TOP_CASE, user, Outcome.DUPLICATE, "seen before")
    client = client_for("ana")
    assert TOP_CASE not in queue_ids(client)
    assert TOP_CASE in queue_ids(client, status="closed")


def test_case_page_shows_explanation_graph_timeline_and_evidence(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    page = client_for("ana").get(f"/console/cases/{TOP_CASE}").text
    case = all_cases(backend)[TOP_CASE]
    assert html.escape(case.explanation, quote=False) in page
    for node in case.nodes:  # every entity is a focusable node of the SVG graph
        assert f'data-key="{html.escape(node.key)}"' in page
    assert len(re.findall(r'<g class="node( alerted)?( subject)?"', page)) == len(case.nodes)
    assert page.count('<g class="node alerted subject"') == 1  # the subject is marked
    assert page.count('<line class="edge') == len(case.edges)
    assert page.count('tabindex="0" role="button"') == len(case.nodes)
    timeline = page[page.index('<ol class="timeline">') :]
    times = re.findall(r'<time datetime="([^"]+)"', timeline[: timeline.index("</ol>")])
    assert times == sorted(e.at.isoformat() for e in case.timeline)
    for ev in case.evidence:
        assert ev.record_id in page
    assert "A-pay-1" in page and "low value corridor" in page  # linked alerts, typologies


def test_viewing_a_case_is_audited(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    client = client_for("ana")
    client.get(f"/console/cases/{TOP_CASE}")
    trail = backend.audit_trail(TOP_CASE, SUPERVISOR)
    assert [(a.actor, a.action) for a in trail] == [("ana", "read")]
    page = client_for("sam").get(f"/console/cases/{TOP_CASE}").text
    assert "Viewed 2 times by ana, sam" in page  # reads are listed apart from changes
    assert "No changes yet." in page


def post_action(client: httpx.Client, action: str, **fields: str) -> httpx.Response:
    token = csrf_of(client.get(f"/console/cases/{TOP_CASE}").text)
    response = client.post(
        f"/console/cases/{TOP_CASE}/{action}", data={"csrf_token": token, **fields}
    )
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])


def test_the_case_workflow_through_the_page_lands_in_the_audit_trail(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    sam = client_for("sam")
    page = post_action(sam, "triage")
    assert "Case marked as triaged." in page.text
    page = post_action(sam, "assign", assignee="ana")
    assert "Case assigned to ana." in page.text
    assert '<dd id="case-assignee">ana</dd>' in page.text
    ana = client_for("ana")
    page = post_action(ana, "escalate", reason="child at risk tonight")
    assert "Case escalated." in page.text
    page = post_action(ana, "refer", agency="PNP WCPC")
    assert "Case referred to PNP WCPC (no export attached)." in page.text
    page = post_action(ana, "close", outcome="referred_to_police", reason="handed over")
    assert "Case closed: referred to police." in page.text
    case = all_cases(backend)[TOP_CASE]
    assert case.status is CaseStatus.CLOSED and case.outcome is Outcome.REFERRED_TO_POLICE
    actions = [
        (a.actor, a.action) for a in backend.audit_trail(TOP_CASE, SUPERVISOR) if a.action != "read"
    ]
    assert actions == [
        ("sam", "triage"),
        ("sam", "assign"),
        ("ana", "escalate"),
        ("ana", "refer"),
        ("ana", "close"),
    ]
    history = page.text[page.text.index('id="history"') :]
    assert "escalate" in history and "child at risk tonight" in history


def test_a_refused_transition_is_explained_and_changes_nothing(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    other = next(
        c
        for c in all_cases(backend).values()
        if c.status is CaseStatus.NEW and c.tier is not Tier.LIVE_OR_IMMEDIATE_RISK
    )
    client = client_for("ana")
    token = csrf_of(client.get(f"/console/cases/{other.case_id}").text)
    response = client.post(
        f"/console/cases/{other.case_id}/escalate",
        data={"csrf_token": token, "reason": "too early"},
    )
    page = client.get(response.headers["location"])
    assert "a new case cannot be moved to escalated" in page.text
    assert all_cases(backend)[other.case_id].status is CaseStatus.NEW


def test_a_new_tier_1_case_is_escalated_at_once_with_the_triage_recorded(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    assert all_cases(backend)[TOP_CASE].tier is Tier.LIVE_OR_IMMEDIATE_RISK
    page = post_action(client_for("ana"), "escalate", reason="stream live now")
    assert "Case escalated." in page.text
    assert all_cases(backend)[TOP_CASE].status is CaseStatus.ESCALATED
    moves = [(e.from_status, e.status) for e in backend.status_events(SUPERVISOR, TOP_CASE)]
    assert moves[-2:] == [
        (CaseStatus.NEW, CaseStatus.TRIAGED),
        (CaseStatus.TRIAGED, CaseStatus.ESCALATED),
    ]


def test_escalation_and_closing_reasons_are_shown_in_the_history(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    ana = client_for("ana")
    post_action(ana, "escalate", reason="stream live now")
    page = post_action(ana, "close", outcome="child_safeguarded", reason="child placed safely")
    changes = page.text[page.text.index('id="status-changes"') :]
    changes = changes[: changes.index("</ol>")]
    assert "triaged &rarr; escalated" in changes
    assert '<span class="reason">stream live now</span>' in changes
    assert "escalated &rarr; closed" in changes and "child placed safely" in changes


@pytest.mark.parametrize(
    ("status", "name"), [(CaseStatus.CLOSED, "Reopen"), (CaseStatus.ESCALATED, "De-escalate")]
)
def test_taking_a_closed_or_escalated_case_is_named_and_needs_confirming(
    client_for: Callable[[str], httpx.Client],
    backend: MemoryBackend,
    status: CaseStatus,
    name: str,
) -> None:
    backend.triage(TOP_CASE, SUPERVISOR)
    backend.escalate(TOP_CASE, SUPERVISOR, "live now")
    if status is CaseStatus.CLOSED:
        backend.close(TOP_CASE, SUPERVISOR, Outcome.DUPLICATE, "seen before")
    ana = client_for("ana")
    case_page = ana.get(f"/console/cases/{TOP_CASE}").text
    assert f"{name} and take this case</button>" in case_page
    assert f'name="confirm" type="checkbox" value="{name}" required' in case_page
    page = post_action(ana, "assign", assignee="ana")  # the box not ticked
    assert f"tick &#34;{name}&#34; to confirm" in page.text
    assert all_cases(backend)[TOP_CASE].status is status
    page = post_action(ana, "assign", assignee="ana", confirm=name)
    assert all_cases(backend)[TOP_CASE].status is CaseStatus.ASSIGNED
    done = "reopened" if name == "Reopen" else "de-escalated"
    assert f"Case {done} and assigned to ana." in page.text


def test_analysts_take_cases_but_only_supervisors_assign_others(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    ana = client_for("ana")
    page = post_action(ana, "assign", assignee="sam")
    assert "a supervisor assigns others" in page.text
    assert all_cases(backend)[TOP_CASE].assignee is None
    page = post_action(ana, "assign", assignee="ana")
    assert "Case assigned to ana." in page.text


def test_closing_needs_an_outcome_and_a_reason(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    page = post_action(client_for("ana"), "close", outcome="", reason="")
    assert "Choose the outcome" in page.text
    assert all_cases(backend)[TOP_CASE].status is CaseStatus.NEW
    page = post_action(client_for("ana"), "close", outcome="duplicate", reason="  ")
    assert "Say why the case is closed" in page.text
    assert all_cases(backend)[TOP_CASE].status is CaseStatus.NEW
    assert 'name="reason" rows="2" maxlength="1000" required' in page.text


def test_notes_are_stored_and_shown_escaped(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    text = "<script>alert(1)</script> called the hotline back"
    page = post_action(client_for("ana"), "note", text=text)
    assert "Note added." in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert html.escape(text, quote=False) in page.text
    assert [n.text for n in backend.notes(TOP_CASE, SUPERVISOR)] == [text]


class RecordingExporter:
    """Stands in for daybreak.exporters to test the download plumbing only."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], str]] = []

    def formats(self, case: Case | None = None) -> Sequence[ExportFormat]:
        return [ExportFormat("stix", "STIX 2.1"), ExportFormat("goaml", "goAML", False, "no XSD")]

    def __call__(self, case: Case, alerts: Sequence[Alert], fmt: str) -> ExportFile:
        self.calls.append((case.case_id, sorted(a.alert_id for a in alerts), fmt))
        return ExportFile(f"{case.case_id}.stix.json", "application/json", b'{"type": "bundle"}')

    def check(self, case: Case, alerts: Sequence[Alert]) -> Sequence[ExportFormat]:
        self.calls.append((case.case_id, sorted(a.alert_id for a in alerts), "check"))
        warning = ExportFinding("warning", "org.tlp", "TLP left at its <default>")
        blocker = ExportFinding("blocker", "org", "demo identity: not a real report")
        return [
            ExportFormat("stix", "STIX 2.1", findings=(warning,)),
            ExportFormat("goaml", "goAML", False, "no XSD", findings=(blocker,)),
        ]


def test_export_downloads_a_file_and_is_audited(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    exporter = RecordingExporter()
    backend.configure(exporter=exporter)
    client = client_for("ana")
    page = client.get(f"/console/cases/{TOP_CASE}").text
    # No `download` attribute: a failed export must show its error page, not be saved.
    assert f'href="/console/cases/{TOP_CASE}/export/stix" data-format="stix"' in page
    assert f'data-src="/console/cases/{TOP_CASE}/export-check?fragment=1"' in page
    assert exporter.calls == []  # the case page never runs the check itself
    assert "goAML &mdash; no XSD" in page  # unavailable formats say why, no link
    response = client.get(f"/console/cases/{TOP_CASE}/export/stix")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{TOP_CASE}.stix.json"'
    assert response.content == b'{"type": "bundle"}'
    assert exporter.calls == [(TOP_CASE, ["A-media-1", "A-pay-1", "A-tip-1"], "stix")]
    assert ("ana", "export", "stix") in [
        (a.actor, a.action, a.detail) for a in backend.audit_trail(TOP_CASE, SUPERVISOR)
    ]


def test_a_failed_export_shows_its_error_on_a_page_not_a_download(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    client = client_for("ana")
    response = client.get(f"/console/cases/{TOP_CASE}/export/pdf")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in response.headers
    assert "Export failed: unknown export format &#39;pdf&#39;" in response.text
    assert f'href="/console/cases/{TOP_CASE}"' in response.text  # back to the case


def test_an_export_the_exporters_refuse_shows_why(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    """No organisation settings: goAML is refused with the fields to set, as a page."""
    backend.configure(exporter=ExportersPackage(ExportSettings()))
    response = client_for("ana").get(f"/console/cases/{TOP_CASE}/export/cybertip")
    assert response.status_code == 422 and "content-disposition" not in response.headers
    assert "Export failed:" in response.text


def test_the_export_panel_lists_each_formats_findings(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    exporter = RecordingExporter()
    backend.configure(exporter=exporter)
    client = client_for("ana")
    fragment = client.get(f"/console/cases/{TOP_CASE}/export-check?fragment=1")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert exporter.calls == [(TOP_CASE, ["A-media-1", "A-pay-1", "A-tip-1"], "check")]
    stix = re.search(r'data-format="stix".*?</section>', fragment.text, re.S)
    goaml = re.search(r'data-format="goaml".*?</section>', fragment.text, re.S)
    assert stix and goaml
    assert "can be made, with gaps" in stix.group(0) and "org.tlp" in stix.group(0)
    assert "TLP left at its &lt;default&gt;" in stix.group(0)  # escaped
    assert "/export/stix" in stix.group(0)
    assert "cannot be made" in goaml.group(0) and "no XSD" in goaml.group(0)
    assert "demo identity: not a real report" in goaml.group(0)
    assert "/export/goaml" not in goaml.group(0)  # nothing to download
    page = client.get(f"/console/cases/{TOP_CASE}/export-check")
    assert page.status_code == 200 and "Before you send: case" in page.text


def test_the_check_with_the_real_exporters_names_what_is_missing(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    """Without organisation settings or rows: goAML and CyberTipline cannot be made,
    STIX names the unset organisation, and media without a hash match is flagged."""
    backend.configure(exporter=ExportersPackage(ExportSettings()))
    text = client_for("ana").get(f"/console/cases/{TOP_CASE}/export-check?fragment=1").text
    sections = dict(re.findall(r'data-format="(\w+)".*?(<h4>.*?)</section>', text, re.S))
    assert "the case has no tipline reports" in sections["cybertip"]
    assert "cannot be made" in sections["goaml"]
    assert "org.name" in sections["stix"] and "org.tlp" in sections["stix"]
    assert "none of its alerts carries a hash match" in sections["stix"]


def test_the_check_of_an_unknown_case_is_an_error_page(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    response = client_for("ana").get("/console/cases/NOPE/export-check")
    assert response.status_code == 422 and "no case &#39;NOPE&#39;" in response.text


def test_dashboards_count_cases_and_time_to_triage(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend, live_server: LiveServer
) -> None:
    sam = client_for("sam")
    post_action(sam, "triage")  # the top case: five hours after it was created
    page = sam.get("/console/dashboards").text
    cases = all_cases(backend)
    assert f'<span class="kpi-value">{len(cases)}</span><span class="kpi-label">cases' in page
    ph = sum(1 for c in cases.values() if c.country == "PH")
    assert f"Philippines (PH)</td><td>{ph}</td>" in page
    waiting = sum(
        1
        for e in cases.values()
        if e.status is CaseStatus.NEW and e.case_id != TOP_CASE and e.created_at is not None
    )
    assert f'<span class="kpi-value">{waiting}</span><span class="kpi-label">waiting' in page
    assert "Time to triage" in page and "Cases by typology" in page
    # Nine cases have left 'new' (the top one 5 h after entering the queue); their
    # median is 12 h, shown as hours (not "12523.8 h" style raw hours of old worlds).
    assert '<span class="kpi-value" id="triage-median">12.0 h</span>' in page
    with_country = sum(1 for c in cases.values() if c.country)
    assert f"{with_country} of {len(cases)} cases have a country" in page


def test_cases_without_their_own_routing_use_the_routing_table(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    mx = next(c for c in all_cases(backend).values() if c.country == "MX")
    assert mx.routed_agency is None
    client = client_for("ana")
    page = client.get(f"/console/cases/{mx.case_id}").text
    assert "FGR Mexico (routing table)" in page
    assert "<dt>Routed to</dt><dd>FGR Mexico (routing table) <span" in page
    board = client.get("/console/dashboards").text
    assert "Mexico (MX)</td>" in board and "FGR Mexico (routing table)" in board


def test_identifier_searches_stay_out_of_addresses(
    client_for: Callable[[str], httpx.Client],
) -> None:
    client = client_for("ana")
    token = csrf_of(client.get("/console/queue").text)
    posted = client.post(
        "/console/queue", data={"csrf_token": token, "q": TOP_PHONE, "tier": "1", "status": ""}
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location == "/console/queue?tier=1&status=#queue-count"  # never the identifier
    assert ROW.findall(client.get(location).text) == [TOP_CASE]
    # The form posts, and the search is kept for paging until cleared.
    page = client.get("/console/queue").text
    assert 'method="post" action="/console/queue"' in page and TOP_PHONE in page
    cleared = client.post("/console/queue", data={"csrf_token": token, "clear": "1"})
    assert len(ROW.findall(client.get(cleared.headers["location"]).text)) > 1
    # An old link with the identifier in it is answered with a hint, not a search.
    old = client.get("/console/queue", params={"q": TOP_PHONE})
    assert old.status_code == 405 and "search form" in old.text
    assert TOP_CASE not in old.text


def test_the_search_form_needs_the_session_token(
    client_for: Callable[[str], httpx.Client],
) -> None:
    response = client_for("ana").post("/console/queue", data={"q": TOP_PHONE})
    assert response.status_code == 403


def test_an_analyst_may_not_close_a_case_another_analyst_holds(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    supervisor = backend.authenticate("sam", PASSWORD)
    assert supervisor is not None
    backend.assign(TOP_CASE, supervisor, "sam")
    client = client_for("ana")
    token = csrf_of(client.get(f"/console/cases/{TOP_CASE}").text)
    response = client.post(
        f"/console/cases/{TOP_CASE}/close",
        data={"csrf_token": token, "outcome": "duplicate", "reason": "x"},
    )
    page = client.get(response.headers["location"]).text
    assert "assigned to sam: only they or a supervisor may close it" in page
    assert all_cases(backend)[TOP_CASE].status is CaseStatus.ASSIGNED


@pytest.mark.parametrize(
    ("action", "field", "max_len"),
    [
        ("note", "text", 5000),
        ("assign", "assignee", 80),
        ("escalate", "reason", 1000),
        ("refer", "agency", 200),
        ("close", "outcome", 40),
        ("close", "reason", 1000),
    ],
)
def test_an_over_long_case_field_is_refused_with_400_naming_it(
    client_for: Callable[[str], httpx.Client],
    backend: MemoryBackend,
    action: str,
    field: str,
    max_len: int,
) -> None:
    sam = client_for("sam")
    token = csrf_of(sam.get(f"/console/cases/{TOP_CASE}").text)
    fields = {"outcome": "duplicate", field: "x" * (max_len + 1)}
    response = sam.post(f"/console/cases/{TOP_CASE}/{action}", data={"csrf_token": token, **fields})
    assert response.status_code == 400
    assert f"&#39;{field}&#39; has {max_len + 1} characters; at most {max_len}" in response.text
    case = all_cases(backend)[TOP_CASE]
    assert case.status is CaseStatus.NEW and case.assignee is None
    assert backend.notes(TOP_CASE, SUPERVISOR) == []


def test_the_console_offers_every_registered_format_and_lists_the_detectors(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    """The installed example plug-in (examples/daybreak-example-plugin) appears beside the
    built-ins: its export downloads under its own name and media type, and the
    dashboards page lists its detector with Daybreak's own."""
    backend.configure(exporter=ExportersPackage(ExportSettings()))
    client = client_for("ana")
    text = client.get(f"/console/cases/{TOP_CASE}/export-check?fragment=1").text
    assert 'data-format="case_json"' in text
    response = client.get(f"/console/cases/{TOP_CASE}/export/case_json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    disposition = f'attachment; filename="{TOP_CASE}.case_json.json"'
    assert response.headers["content-disposition"] == disposition
    assert f'"case_id": "{TOP_CASE}"' in response.text
    board = client.get("/console/dashboards").text
    for name in ("payments", "tipline", "media", "round_amounts", "goaml", "case_json"):
        assert f'<td class="mono">{name}</td>' in board
    # hash types and sources too, the example plug-in's ledger source among them
    for kind, name, detail in (
        ("hash type", "pdq", "near match (distance ≤ 31)"),
        ("hash type", "sha256", "exact match"),
        ("source", "pacs008", ".xml → transactions"),
        ("source", "ledger", ".ledger → transactions"),
    ):
        assert re.search(
            rf'<tr><td>{kind}</td><td class="mono">{name}</td><td>[^<]+</td><td>{re.escape(detail)}</td>',
            board,
        ), name


def _world_with_top_case_rows(folder: Path) -> Path:
    """A data folder holding the top case's report and one of its payments."""
    from datetime import UTC, datetime

    import polars as pl

    pl.DataFrame(
        {
            "report_id": ["R-000042"],
            "received_at": [datetime(2026, 11, 20, 6, 5, tzinfo=UTC)],
            "reporter_type": ["platform"],
            "incident_type": ["live_streaming_abuse"],
            "occurred_at": [datetime(2026, 11, 20, 5, 50, tzinfo=UTC)],
            "is_live": [True],
            "service": ["streamhost"],
            "victim_age_estimate": [10],
            "victim_country": ["PH"],
            "description": ["Stream on account 88231 showed a child; viewer paid by wallet."],
        }
    ).write_parquet(folder / "reports.parquet")
    pl.DataFrame(
        {
            "txn_id": ["T9000"],
            "timestamp": [datetime(2026, 11, 17, 3, 0, tzinfo=UTC)],
            "sender_id": ["C000123"],
            "sender_name": [None],
            "sender_country": ["AU"],
            "receiver_id": ["gcash:09171234567"],
            "receiver_name": [None],
            "receiver_country": ["PH"],
            "amount": [20.0],
            "currency": ["AUD"],
            "channel": ["wallet"],
            "reference": ["gift"],
            "merchant_category": [None],
        },
        schema_overrides={
            "sender_name": pl.String,
            "receiver_name": pl.String,
            "merchant_category": pl.String,
        },
    ).write_parquet(folder / "transactions.parquet")
    return folder


def test_every_evidence_id_opens_its_record_and_the_read_is_audited(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend, tmp_path: Path
) -> None:
    from daybreak.model.alerts import HashMatch

    world = _world_with_top_case_rows(tmp_path)
    match = HashMatch(
        sighting_id="M-5",
        hash_type="sha256",
        bank="test-list",
        bank_version=3,
        listed_hash=TOP_HASH,
        distance=0,
        threshold=0,
    )
    alerts = [
        a.model_copy(update={"hash_matches": (match,)}) if a.alert_id == "A-media-1" else a
        for a in backend.alerts(SUPERVISOR)
    ]
    backend.configure(alerts=alerts, exporter=ExportersPackage(ExportSettings(world_dir=world)))
    client = client_for("ana")
    case_page = client.get(f"/console/cases/{TOP_CASE}").text
    for source, rid in [
        ("reports", "R-000042"),
        ("transactions", "T9000"),
        ("media_sightings", "M-5"),
        ("alerts", "A-tip-1"),
    ]:
        assert f'href="/console/cases/{TOP_CASE}/evidence/{source}/{rid}"' in case_page

    report = client.get(f"/console/cases/{TOP_CASE}/evidence/reports/R-000042")
    assert report.status_code == 200
    for shown in [
        "Stream on account 88231 showed a child; viewer paid by wallet.",
        "<dt>Reporter type</dt><dd>platform</dd>",
        "<dt>Service</dt><dd>streamhost</dd>",
        "<dt>Occurred</dt><dd>2026-11-20 05:50 UTC</dd>",
        "<dt>Received</dt><dd>2026-11-20 06:05 UTC</dd>",
        "<dt>Victim age (estimate)</dt><dd>10</dd>",
        "<dt>Victim country</dt><dd>PH</dd>",
        "A-tip-1",  # the alert resting on the report
    ]:
        assert shown in report.text, shown
    payment = client.get(f"/console/cases/{TOP_CASE}/evidence/transactions/T9000").text
    for shown in [
        "<dt>Amount</dt><dd>20.0</dd>",
        "<dt>Currency</dt><dd>AUD</dd>",
        "<dt>Payer</dt><dd>C000123</dd>",
        "<dt>Beneficiary</dt><dd>gcash:09171234567</dd>",
        "<dt>Date</dt><dd>2026-11-17 03:00 UTC</dd>",
    ]:
        assert shown in payment, shown
    media = client.get(f"/console/cases/{TOP_CASE}/evidence/media_sightings/M-5").text
    row = media[media.index('id="hash-matches"') :]
    assert "<td>sha256</td><td>test-list</td><td>3</td>" in row
    assert f'<td class="mono">{TOP_HASH}</td><td>0</td><td>0</td>' in row
    reads = [
        (a.actor, a.detail)
        for a in backend.audit_trail(TOP_CASE, SUPERVISOR)
        if a.action == "evidence.read"
    ]
    assert reads == [
        ("ana", "reports R-000042"),
        ("ana", "transactions T9000"),
        ("ana", "media_sightings M-5"),
    ]


def test_a_record_the_case_does_not_name_is_not_shown(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    client = client_for("ana")
    other = client.get(f"/console/cases/{TOP_CASE}/evidence/reports/R-999999")
    assert other.status_code == 404 and "names no reports record" in other.text
    # Without a data folder the page still says what the case knows, and that the
    # row itself could not be read.
    page = client.get(f"/console/cases/{TOP_CASE}/evidence/reports/R-000042").text
    assert 'id="record-missing"' in page and "child age ~10" in page


def test_a_tier_override_needs_a_tier_and_a_reason_and_changes_the_queue(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    ana = client_for("ana")
    page = post_action(ana, "tier", tier="9", reason="wrong")
    assert "Choose the tier" in page.text
    page = post_action(ana, "tier", tier="4", reason=" ")
    assert "Say why the tier is changed" in page.text
    assert all_cases(backend)[TOP_CASE].tier is Tier.LIVE_OR_IMMEDIATE_RISK
    page = post_action(ana, "tier", tier="1", reason="same")
    assert "already tier 1" in page.text
    page = post_action(ana, "tier", tier="4", reason="stream was a recording, no live abuse")
    assert "Tier set to 4." in page.text
    assert all_cases(backend)[TOP_CASE].tier is Tier(4)
    assert "T1 &rarr; T4" in page.text and "stream was a recording" in page.text
    assert queue_ids(ana, tier="1").count(TOP_CASE) == 0
    assert TOP_CASE in queue_ids(ana, tier="4")


def test_my_cases_lists_only_the_cases_assigned_to_the_signed_in_analyst(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    others = [c for c in all_cases(backend) if c != TOP_CASE]
    backend.assign(TOP_CASE, SUPERVISOR, "ana")
    backend.assign(others[0], SUPERVISOR, "sam")
    ana = client_for("ana")
    assert queue_ids(ana, mine="1") == [TOP_CASE]
    assert queue_ids(client_for("sam"), mine="1") == [others[0]]
    page = ana.get("/console/queue", params={"mine": "1"}).text
    assert "<h1>My cases</h1>" in page
    assert 'href="/console/queue?mine=1" aria-current="page">My cases' in page
    assert len(queue_ids(ana)) > 1  # the plain queue still shows everyone's cases


def _close_duplicates(client: httpx.Client, ids: Sequence[str], **fields: str) -> str:
    token = csrf_of(client.get("/console/queue").text)
    data: dict[str, object] = {"csrf_token": token, "case_id": list(ids), **fields}
    response = client.post("/console/queue/close-duplicates", data=data)
    assert response.status_code == 303, response.text
    return html.unescape(client.get(response.headers["location"]).text)


def test_ticked_cases_are_closed_as_duplicates_each_through_the_workflow(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    """Each ticked case is closed as a duplicate of the named case with the reason in its
    history; one an analyst may not close (another analyst holds it) stays, and says why."""
    supervisor = backend.authenticate("sam", PASSWORD)
    assert supervisor is not None
    ana = client_for("ana")
    page = ana.get("/console/queue").text
    assert 'form="bulk-close"' in page and "Close selected as duplicates" in page
    first, second, held = [i for i in queue_ids(ana) if i != TOP_CASE][:3]
    backend.assign(held, supervisor, "sam")
    shown = _close_duplicates(
        ana, [first, second, held], duplicate_of=TOP_CASE, reason="same wallet, same stream"
    )
    assert f"Closed 2 case(s) as duplicates of {TOP_CASE}." in shown
    assert f"Not closed: {held}: " in shown and "only they or a supervisor" in shown
    cases = all_cases(backend)
    for closed in (first, second):
        assert cases[closed].status is CaseStatus.CLOSED
        last = backend.status_events(supervisor, closed)[-1]
        assert last.reason is not None
        assert last.reason.endswith(f"duplicate of {TOP_CASE}: same wallet, same stream")
    assert cases[held].status is CaseStatus.ASSIGNED
    assert cases[TOP_CASE].status is CaseStatus.NEW


@pytest.mark.parametrize(
    ("fields", "ticked", "says"),
    [
        ({"duplicate_of": TOP_CASE, "reason": "x"}, False, "Tick the cases"),
        ({"duplicate_of": "CASE-NOPE", "reason": "x"}, True, "Name the case they duplicate"),
        ({"duplicate_of": TOP_CASE, "reason": ""}, True, "Say why they are duplicates"),
        ({"duplicate_of": "@first", "reason": "x"}, True, "untick it"),
    ],
    ids=["none-ticked", "unknown-original", "no-reason", "original-ticked"],
)
def test_a_bulk_close_that_cannot_be_done_closes_nothing_and_says_why(
    client_for: Callable[[str], httpx.Client],
    backend: MemoryBackend,
    fields: dict[str, str],
    ticked: bool,
    says: str,
) -> None:
    ana = client_for("ana")
    picked = [i for i in queue_ids(ana) if i != TOP_CASE][:2]
    fields = {k: (picked[0] if v == "@first" else v) for k, v in fields.items()}
    before = {i: c.status for i, c in all_cases(backend).items()}
    shown = _close_duplicates(ana, picked if ticked else [], **fields)
    assert says in shown
    assert {i: c.status for i, c in all_cases(backend).items()} == before
