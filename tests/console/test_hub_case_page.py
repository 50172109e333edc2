"""A hub case's page lists its sub-cases (with their tiers, paged); a sub-case page
names its hub and reads alone; long evidence lists are paged (issue #15)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from console_world import NOW

from daybreak.console.backend import ConsoleUser, Role
from daybreak.console.exports import ExportersPackage, ExportSettings
from daybreak.model.cases import Case, CaseLink, Evidence, GraphEdge, GraphNode, Tier
from daybreak.testing.console import MemoryBackend

HUB_ID = "CASE-HUB0000001"
HUB_KEY = "payment_handle:gcash:+639170000000"
SUBS = 60
EVIDENCE = 120


def _sub(i: int) -> Case:
    payer = f"customer:P{i:03d}"
    return Case(
        case_id=f"CASE-SUB{i:07d}",
        title=f"{payer} (payer {i}) and 1 linked entities",
        priority=0.5 + i / 1000,
        tier=Tier.LIVE_OR_IMMEDIATE_RISK if i == 7 else Tier.COMMERCIAL_OR_VOLUME,
        entity_keys=[payer, HUB_KEY],
        nodes=[
            GraphNode(key=payer, kind="customer", label=f"payer {i}", alerted=True),
            GraphNode(key=HUB_KEY, kind="payment_handle", label="+639170000000"),
        ],
        edges=[GraphEdge(source=payer, target=HUB_KEY, relation="paid", count=3)],
        parent_case_ids=[HUB_ID],
        created_at=NOW,
        updated_at=NOW,
    )


def hub_world(backend: MemoryBackend) -> tuple[Case, list[Case]]:
    hub, subs = hub_cases()
    backend.add_cases([hub, *subs])
    return hub, subs


def hub_cases() -> tuple[Case, list[Case]]:
    """A hub case (a payment handle paid by 60 payers, no alerts of its own) and its
    sub-cases, one per payer; sub-case 7 is tier 1."""
    subs = [_sub(i) for i in range(SUBS)]
    links = sorted(
        (
            CaseLink(case_id=s.case_id, title=s.title, tier=s.tier, priority=s.priority,
                     alerts=1, entities=2)
            for s in subs
        ),
        key=lambda c: (c.tier, -c.priority, c.case_id),
    )  # fmt: skip
    hub = Case(
        case_id=HUB_ID,
        title=f"Hub {HUB_KEY} with {SUBS} sub-cases",
        priority=0.99,
        tier=Tier.LIVE_OR_IMMEDIATE_RISK,
        entity_keys=[HUB_KEY],
        nodes=[GraphNode(key=HUB_KEY, kind="payment_handle", label="+639170000000")],
        evidence=[
            Evidence(source="transactions", record_id=f"T{i:05d}", summary=f"payment {i}")
            for i in range(EVIDENCE)
        ],
        hub_key=HUB_KEY,
        sub_cases=links,
        created_at=NOW,
        updated_at=NOW,
    )
    return hub, subs


def _section(page: str, section_id: str) -> str:
    start = page.index(f'<section id="{section_id}"')
    return page[start : page.index("</section>", start)]


def test_hub_page_lists_its_sub_cases_with_tiers_paged(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    hub, _ = hub_world(backend)
    ana = client_for("ana")
    first = _section(ana.get(f"/console/cases/{HUB_ID}").text, "sub-cases")
    rows = re.findall(r'href="/console/cases/(CASE-SUB\d+)"', first)
    assert rows == [link.case_id for link in hub.sub_cases[:50]]
    assert rows[0] == "CASE-SUB0000007"  # the tier-1 sub-case first
    assert ">T1<" in first and ">T5<" in first
    assert "Sub-cases 1&ndash;50 of 60" in first or "Sub-cases 1–50 of 60" in html.unescape(first)
    second = _section(ana.get(f"/console/cases/{HUB_ID}?sub_cases_page=2").text, "sub-cases")
    rest = re.findall(r'href="/console/cases/(CASE-SUB\d+)"', second)
    assert rest == [link.case_id for link in hub.sub_cases[50:]]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_a_sub_case_split_from_a_worked_case_names_it(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    _, subs = hub_world(backend)
    split = subs[1].model_copy(
        update={"case_id": "CASE-SPLIT00001", "derived_from": ["CASE-WORKED0001"]}
    )
    backend.add_cases([split])
    page = client_for("ana").get(f"/console/cases/{split.case_id}").text
    banner = page[page.index('id="derived-from"') :]
    banner = banner[: banner.index("</p>")]
    assert 'href="/console/cases/CASE-WORKED0001"' in banner
    other = client_for("ana").get(f"/console/cases/{subs[2].case_id}")
    assert other.status_code == 200 and 'id="derived-from"' not in other.text


def test_sub_case_page_names_its_hub_and_reads_alone(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    _, subs = hub_world(backend)
    page = client_for("ana").get(f"/console/cases/{subs[3].case_id}").text
    banner = page[page.index('id="hub-parent"') :]
    banner = banner[: banner.index("</p>")]
    assert f'href="/console/cases/{HUB_ID}"' in banner
    assert 'id="sub-cases"' not in page  # a sub-case lists no sub-cases
    # The sub-case draws its own two entities, not the hub's other payers.
    assert len(re.findall(r"<g class=\"node[ \"]", page)) == 2


def test_long_evidence_lists_are_paged(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    hub_world(backend)
    ana = client_for("ana")
    ids = re.compile(r'<td class="mono"><a href="[^"]+">(T\d+)</a>')
    first = ids.findall(_section(ana.get(f"/console/cases/{HUB_ID}").text, "evidence"))
    assert first == [f"T{i:05d}" for i in range(50)]
    last = _section(ana.get(f"/console/cases/{HUB_ID}?evidence_page=3").text, "evidence")
    assert ids.findall(last) == [f"T{i:05d}" for i in range(100, EVIDENCE)]
    assert "page 3 of 3" in last
    # A stale or bad page number shows the nearest page, not an error.
    beyond = ana.get(f"/console/cases/{HUB_ID}?evidence_page=99")
    assert (
        beyond.status_code == 200 and ids.findall(_section(beyond.text, "evidence"))[0] == "T00100"
    )
    bad = ana.get(f"/console/cases/{HUB_ID}?evidence_page=x")
    assert bad.status_code == 200 and ids.findall(_section(bad.text, "evidence"))[0] == "T00000"


def test_hub_page_shows_each_sub_cases_current_tier_and_status(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    """An analyst's tier override or triage of a sub-case shows on its hub's page, not
    only the tier the case was built with."""
    _, subs = hub_world(backend)
    sam = ConsoleUser("sam", Role.SUPERVISOR)
    lowered = subs[7]  # built tier 1: the first row
    backend.override_tier(lowered.case_id, sam, Tier.OTHER, "a test payment, not abuse")
    backend.triage(subs[50].case_id, sam)
    section = _section(client_for("ana").get(f"/console/cases/{HUB_ID}").text, "sub-cases")
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr>.*?href="/console/cases/(CASE-SUB\d+)".*?</tr>', section)
    }
    assert ">T6<" in rows[lowered.case_id] and ">T1<" not in rows[lowered.case_id]
    assert "triaged" in rows[subs[50].case_id].lower()
    assert "new" in rows[subs[49].case_id].lower()


def test_a_hub_case_without_alerts_offers_what_can_be_made_and_says_why_not(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend, shared_dir: Path
) -> None:
    """Its case JSON downloads; goAML and CyberTipline are not offered, the check names
    why, and asking for one anyway shows the reason on a page, never a download."""
    backend.configure(
        exporter=ExportersPackage(
            ExportSettings(standards_dir=shared_dir / "standards", demo_identity=True)
        )
    )
    hub, _ = hub_world(backend)
    assert hub.alert_ids == []
    ana = client_for("ana")
    page = ana.get(f"/console/cases/{HUB_ID}")
    assert page.status_code == 200
    check = ana.get(f"/console/cases/{HUB_ID}/export-check?fragment=1")
    assert check.status_code == 200
    sections = dict(re.findall(r'data-format="(\w+)".*?(<h4>.*?)</section>', check.text, re.S))
    # The page's own export list agrees with the check: no link where it cannot be made.
    exports = page.text[page.text.index('id="exports"') :]
    exports = html.unescape(exports[: exports.index("</ul>")])
    for fmt, section in sections.items():
        offered = f"/export/{fmt}" in exports
        assert offered == (f"/export/{fmt}" in section), fmt
    assert "no alerts of its own: file from its" in exports
    for fmt in ("goaml", "cybertip"):
        assert "cannot be made" in sections[fmt]
        assert f"no alerts of its own: file from its {SUBS} sub-case(s)" in sections[fmt]
        assert f"/export/{fmt}" not in sections[fmt]
        refused = ana.get(f"/console/cases/{HUB_ID}/export/{fmt}")
        assert refused.status_code == 422 and "content-disposition" not in refused.headers
        assert "no alerts of its own" in refused.text
    assert "/export/case_json" in sections["case_json"]
    made = ana.get(f"/console/cases/{HUB_ID}/export/case_json")
    assert made.status_code == 200 and "attachment" in made.headers["content-disposition"]
    assert all(link.case_id in made.text for link in hub.sub_cases)
