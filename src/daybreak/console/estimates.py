"""The dashboards' estimate panel: the organisation's latest multiple-systems estimate
(``daybreak estimate --db``, :mod:`daybreak.graph.estimate`) as rows of hidden counts
with their intervals, the model of each, the method's assumptions and when not to trust
it, or what to run when there is none yet."""

from __future__ import annotations

from dataclasses import dataclass

from daybreak.graph.estimate import ASSUMPTIONS, DO_NOT_TRUST
from daybreak.store.repositories.estimates import StoredEstimate

HOW_TO = "daybreak estimate SIGHTINGS.csv --by country --by quarter --db URL --org ORGANISATION"


@dataclass(frozen=True, slots=True)
class EstimateRow:
    label: str  # "all" or "country=PH, quarter=2025Q1"
    seen: str
    hidden: str
    interval: str
    total: str
    model: str
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EstimatePanel:
    found: bool
    how_to: str = HOW_TO
    made: str = ""  # when and by whom
    lists: str = ""
    level: str = ""  # "95%"
    rows: tuple[EstimateRow, ...] = ()
    assumptions: tuple[str, ...] = ASSUMPTIONS
    do_not_trust: tuple[str, ...] = DO_NOT_TRUST


def estimate_panel(stored: StoredEstimate | None) -> EstimatePanel:
    """The panel of the latest run, or the empty panel that says how to make one."""
    if stored is None:
        return EstimatePanel(found=False)
    report = stored.report
    rows = []
    for s in report.strata:
        e = s.estimate
        if e is None:
            rows.append(EstimateRow(s.label, "", "no estimate", "", "", s.error, ()))
            continue
        rows.append(
            EstimateRow(
                s.label,
                f"{e.observed:,}",
                f"{e.hidden:,.0f}",
                f"{e.low:,.0f}–{e.high:,.0f}",
                f"{e.total:,.0f}",
                e.method_line(),
                e.warnings,
            )
        )
    return EstimatePanel(
        found=True,
        made=f"{stored.created_at:%Y-%m-%d %H:%M} UTC by {stored.created_by} ({stored.estimate_id})",
        lists=", ".join(report.lists),
        level=f"{100 * report.level:.0f}%",
        rows=tuple(rows),
    )
