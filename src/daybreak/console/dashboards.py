"""Dashboard figures and the geometry of their server-rendered SVG charts.

Everything is computed here and drawn by Jinja macros (``templates/_charts.html``),
so the charts need no JavaScript and each has a data table behind it for screen readers.
The figures behind them (:class:`daybreak.store.CaseFigures`) are counts: the store
computes them with SQL aggregates, :func:`figures_of` from a list of cases.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pycountry

from daybreak.console.backend import StatusEvent
from daybreak.console.geo import CENTROIDS, CONTINENTS, map_height, project, ring_points
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus
from daybreak.store.cases import CaseFigures, TriageFigures, triage_figures

CHART_W = 460
CHART_H = 220
MAP_W = 960
MAP_H = round(map_height(MAP_W))
LEFT = 170  # label gutter of horizontal bar charts
MAX_BAR = 26  # a chart with one or two bars keeps them slim


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: list[Bar]
    note: str = ""  # what the chart covers, when it is not every case
    width: int = CHART_W
    height: int = CHART_H


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    css: str  # a class in console.css picks the colour
    points: str  # SVG polyline points
    values: list[tuple[str, int]]  # (period label, count) for the data table


@dataclass(frozen=True, slots=True)
class LineChart:
    title: str
    series: list[Series]
    ticks: list[tuple[float, str]]  # x position, label
    ymax: int
    width: int = CHART_W
    height: int = CHART_H


@dataclass(frozen=True, slots=True)
class MapDot:
    code: str
    name: str
    x: float
    y: float
    r: float
    cases: int
    referred: int
    agencies: str


@dataclass(frozen=True, slots=True)
class WorldMap:
    outlines: list[tuple[str, str]]  # continent name, points
    dots: list[MapDot]
    unplaced: list[tuple[str, int]]  # countries without a centroid
    graticule: list[tuple[float, float, float, float]]  # x1, y1, x2, y2 every 30 degrees
    width: int = MAP_W
    height: int = MAP_H


@dataclass(frozen=True, slots=True)
class TriageStats:
    measured: int
    waiting: int
    median_hours: float | None
    p90_hours: float | None
    histogram: BarChart

    @property
    def median_text(self) -> str:
        return format_duration(self.median_hours)

    @property
    def p90_text(self) -> str:
        return format_duration(self.p90_hours)


def format_duration(hours: float | None) -> str:
    """A duration as an analyst reads it: minutes under an hour, hours under two
    days, then days (never "12523.8 h")."""
    if hours is None:
        return "—"
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else code


def bar_chart(
    title: str,
    counts: Mapping[str, int],
    limit: int = 10,
    *,
    by_size: bool = True,
    note: str = "",
) -> BarChart:
    """Horizontal bars, largest first (or in the mapping's own order)."""
    items = list(counts.items())
    if by_size:
        items.sort(key=lambda kv: (-kv[1], kv[0]))
    items = items[:limit]
    top = max((v for _, v in items), default=0) or 1
    row = min((CHART_H - 20) / max(len(items), 1), MAX_BAR / 0.7)
    bars = [
        Bar(
            label.replace("_", " "),
            value,
            LEFT,
            10 + i * row,
            (CHART_W - LEFT - 50) * value / top,
            row * 0.7,
        )
        for i, (label, value) in enumerate(items)
    ]
    return BarChart(title, bars, note=note)


def _periods(start: date, end: date) -> tuple[list[date], int]:
    """Daily buckets for up to ~two months, weekly beyond."""
    step = 1 if (end - start).days <= 62 else 7
    out = []
    d = start
    while d <= end:
        out.append(d)
        d += timedelta(days=step)
    return out, step


def line_chart(title: str, named: Sequence[tuple[str, str, Mapping[date, int]]]) -> LineChart:
    """One series per (name, css class, count per day), bucketed by :func:`_periods`."""
    all_days = [d for _, _, per_day in named for d, n in per_day.items() if n]
    if not all_days:
        return LineChart(title, [], [], 0)
    periods, step = _periods(min(all_days), max(all_days))
    counts: dict[str, list[int]] = {}
    for name, _, per_day in named:
        per = [0] * len(periods)
        for d, n in per_day.items():
            per[min(max(0, (d - periods[0]).days // step), len(periods) - 1)] += n
        counts[name] = per
    ymax = max(max(v) for v in counts.values()) or 1
    plot_w, plot_h, x0, y0 = CHART_W - 60, CHART_H - 40, 40, 10

    def xy(i: int, v: int) -> str:
        x = x0 + (plot_w * i / max(len(periods) - 1, 1))
        y = y0 + plot_h - plot_h * v / ymax
        return f"{x:.1f},{y:.1f}"

    series = [
        Series(
            name,
            css,
            " ".join(xy(i, v) for i, v in enumerate(counts[name])),
            [(p.isoformat(), v) for p, v in zip(periods, counts[name], strict=True)],
        )
        for name, css, _ in named
    ]
    tick_every = max(1, len(periods) // 6)
    ticks = [
        (x0 + plot_w * i / max(len(periods) - 1, 1), p.strftime("%d %b"))
        for i, p in enumerate(periods)
        if i % tick_every == 0
    ]
    return LineChart(title, series, ticks, ymax)


def _no_table(country: str | None) -> str | None:
    return None


def ever_referred(events: Iterable[StatusEvent]) -> set[str]:
    """Cases that were referred at some time, whatever their status now (a referred
    case is usually closed afterwards, and still counts as referred)."""
    return {e.case_id for e in events if e.status is CaseStatus.REFERRED}


def world_map(
    cases: Sequence[Case],
    agency_for: Callable[[str | None], str | None] = _no_table,
    events: Sequence[StatusEvent] = (),
) -> WorldMap:
    """Cases per country; each country's agencies are the cases' own routing, else the
    routing table's (``agency_for``). Referred counts cases ever referred (``events``,
    the status history), plus any whose status says so."""
    return map_of(figures_of(cases, events, {}), agency_for)


def map_of(
    figures: CaseFigures, agency_for: Callable[[str | None], str | None] = _no_table
) -> WorldMap:
    by_country = figures.by_country
    referred = figures.referred_by_country
    agencies: dict[str, set[str]] = {}
    for code, routed in figures.routes:
        agency = routed or agency_for(code)
        if agency:
            agencies.setdefault(code, set()).add(agency)
    top = max(by_country.values(), default=1)
    dots, unplaced = [], []
    for code, count in sorted(by_country.items(), key=lambda kv: -kv[1]):
        if code not in CENTROIDS:
            unplaced.append((code, count))
            continue
        lat, lon = CENTROIDS[code]
        x, y = project(lat, lon, MAP_W, MAP_H)
        radius = 4 + 16 * (count / top) ** 0.5
        names = ", ".join(sorted(agencies.get(code, set()))) or "not routed"
        dots.append(
            MapDot(
                code,
                country_name(code),
                round(x, 1),
                round(y, 1),
                round(radius, 1),
                count,
                referred.get(code, 0),
                names,
            )
        )
    outlines = [(name, ring_points(ring, MAP_W, MAP_H)) for name, ring in CONTINENTS.items()]
    grid = []
    for lon in range(-150, 180, 30):
        x, _ = project(0, lon, MAP_W, MAP_H)
        grid.append((round(x, 1), 0.0, round(x, 1), float(MAP_H)))
    for lat in range(-30, 90, 30):
        _, y = project(lat, 0, MAP_W, MAP_H)
        grid.append((0.0, round(y, 1), float(MAP_W), round(y, 1)))
    return WorldMap(outlines, dots, unplaced, grid)


def triage_stats(cases: Sequence[Case], events: Sequence[StatusEvent]) -> TriageStats:
    """Time from a case entering the queue until it first left 'new' (triaged,
    assigned, ...). The queue entry is the case's first 'new' event (the store
    records one when it stores the case); ``created_at`` is only the fallback, as a
    case built from an old world carries the world's time, not the queue's."""
    hours, waiting = _triage_hours(cases, events)
    return triage_of(triage_figures(hours), waiting)


def _triage_hours(cases: Sequence[Case], events: Sequence[StatusEvent]) -> tuple[list[float], int]:
    entered: dict[str, datetime] = {}
    first_move: dict[str, datetime] = {}
    for ev in sorted(events, key=lambda e: e.at):
        if ev.status is CaseStatus.NEW:
            entered.setdefault(ev.case_id, ev.at)
        if ev.status is not CaseStatus.NEW and ev.case_id not in first_move:
            first_move[ev.case_id] = ev.at
    hours = []
    waiting = 0
    for c in cases:
        start = entered.get(c.case_id, c.created_at)
        if start is None:
            continue
        moved = first_move.get(c.case_id)
        if moved is None:
            waiting += 1
            continue
        hours.append(max(0.0, (moved - start).total_seconds() / 3600))
    return hours, waiting


def triage_of(figures: TriageFigures, waiting: int) -> TriageStats:
    """The time-to-triage figures as the dashboards show them (the histogram drawn)."""
    chart = bar_chart("Time to triage", figures.bins, limit=len(figures.bins), by_size=False)
    return TriageStats(figures.measured, waiting, figures.median_hours, figures.p90_hours, chart)


def figures_of(
    cases: Sequence[Case],
    events: Sequence[StatusEvent],
    typologies: Mapping[str, tuple[str, ...]],
) -> CaseFigures:
    """The dashboards' counts from a list of cases (the store counts them in SQL)."""
    was_referred = ever_referred(events)
    hours, waiting = _triage_hours(cases, events)
    return CaseFigures(
        total=len(cases),
        created_per_day=dict(Counter(c.created_at.date() for c in cases if c.created_at)),
        by_tier=dict(Counter(int(c.tier) for c in cases)),
        by_country=dict(Counter(c.country for c in cases if c.country)),
        referred_by_country=dict(
            Counter(
                c.country
                for c in cases
                if c.country and (c.case_id in was_referred or c.status is CaseStatus.REFERRED)
            )
        ),
        routes=frozenset((c.country, c.routed_agency) for c in cases if c.country),
        by_typology=dict(Counter(t for ts in typologies.values() for t in ts)),
        by_source=dict(Counter(s for c in cases for s in c.sources)),
        triage=triage_figures(hours),
        waiting=waiting,
    )


@dataclass(frozen=True, slots=True)
class Dashboard:
    over_time: LineChart
    by_typology: BarChart
    by_country: BarChart
    by_source: BarChart
    by_tier: BarChart
    world: WorldMap
    triage: TriageStats
    total_cases: int
    total_alerts: int
    as_of: str | None = None  # when the figures were counted, "2026-12-07 04:10:05 UTC"
    refreshing: bool = False  # cases changed since: newer figures are being counted


def build_dashboard(
    cases: Sequence[Case],
    alerts: Sequence[Alert],
    events: Sequence[StatusEvent],
    typologies: Mapping[str, tuple[str, ...]],
    agency_for: Callable[[str | None], str | None] = _no_table,
) -> Dashboard:
    return dashboard_of(figures_of(cases, events, typologies), alerts, agency_for)


def dashboard_of(
    figures: CaseFigures,
    alerts: Sequence[Alert],
    agency_for: Callable[[str | None], str | None] = _no_table,
) -> Dashboard:
    alerts_per_day = Counter(a.first_seen.date() for a in alerts if a.first_seen)
    over_time = line_chart(
        "Cases and alerts over time",
        [
            ("Cases", "series-cases", figures.created_per_day),
            ("Alerts", "series-alerts", alerts_per_day),
        ],
    )
    country = {f"{code} {country_name(code)}"[:22]: n for code, n in figures.by_country.items()}
    with_country = sum(figures.by_country.values())
    country_note = (
        f"{with_country} of {figures.total} cases have a country (the victim country of "
        "their reports); the others are not in this chart."
    )
    tier = {f"Tier {t}": figures.by_tier[t] for t in sorted(figures.by_tier)}
    return Dashboard(
        over_time=over_time,
        by_typology=bar_chart("Cases by typology", figures.by_typology),
        by_country=bar_chart("Cases by country", country, note=country_note),
        by_source=bar_chart("Cases by signal source", figures.by_source),
        by_tier=bar_chart("Cases by tier", tier, by_size=False),
        world=map_of(figures, agency_for),
        triage=triage_of(figures.triage, figures.waiting),
        total_cases=figures.total,
        total_alerts=len(alerts),
        as_of=as_of_label(figures.as_of),
        refreshing=figures.refreshing,
    )


def as_of_label(at: datetime | None) -> str | None:
    """When figures or counts were made, as the console shows it ("2026-12-07
    04:10:05 UTC"); None for None (made for this request)."""
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else None
