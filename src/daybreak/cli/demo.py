"""`daybreak demo`: build a small world, run every stage, show the result.

signals (synthetic world) -> payment, media, stream-payment and tipline alerts -> one
entity graph -> fused cases in the store -> an estimate of the people no source saw ->
exports of the top case -> the analyst console.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.panel import Panel
from rich.table import Table

from daybreak.cli.common import fail, out
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case

# Detectors the demo runs in stages of their own (the media bank and the tipline store
# are set up for them; stream_payment, grooming and sextortion run whenever the world has platform
# events, plug-ins or not); every other registered detector reads the world folder itself.
STAGED_DETECTORS = (
    "payments", "media", "stream_payment", "grooming", "sextortion", "recruitment_ads", "tipline",
)  # fmt: skip
DEMO_REPLICATES = 20  # bootstrap replicates of the demo's estimate (the CLI's least)
NOT_RUN = "not run: "  # a skipped detector's reason starts so; any other reason is a failure
# The receivers' schemas stay outside the repository; the demo looks beside the checkout.
SHARED_STANDARDS = Path(__file__).resolve().parents[3].parent / "shared" / "standards"


@dataclass
class DemoRun:
    workdir: Path
    world: Any = None
    alerts: list[Alert] = field(default_factory=list)
    payments_metrics: dict[str, Any] = field(default_factory=dict)
    platform_metrics: dict[str, Any] = field(default_factory=dict)
    grooming_metrics: dict[str, Any] = field(default_factory=dict)
    sextortion_metrics: dict[str, Any] = field(default_factory=dict)
    ads_metrics: dict[str, Any] = field(default_factory=dict)
    media_matches: pl.DataFrame | None = None
    queue: list[Any] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    exports: dict[str, Path | str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # detector -> why it did not run
    graph: Any = None  # the world's entity graph (daybreak.graph.WorldGraph)
    estimate: Any = None  # what nobody sees, per role (daybreak.graph.estimate.EstimateReport)

    @property
    def world_dir(self) -> Path:
        return self.workdir / "world"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"


@contextmanager
def _stage(run: DemoRun, name: str) -> Iterator[None]:
    started = time.perf_counter()
    with out.status(f"[bold]{name}[/] …"):
        yield
    run.timings[name] = time.perf_counter() - started
    out.print(f"[green]✓[/] {name} ({run.timings[name]:.1f} s)")


def demo(
    workdir: Path = typer.Option(Path("demo-output"), help="Folder for the world and results."),
    customers: int = typer.Option(3000, min=200, help="Customers in the synthetic world."),
    months: int = typer.Option(6, min=1, max=36, help="Months of activity."),
    seed: int = typer.Option(7, help="Random seed of the world."),
    profile: str = typer.Option("default", help="World profile: default, us-remitter, …"),
    host: str = typer.Option("127.0.0.1", help="Address the console binds to."),
    port: int = typer.Option(8000, help="Port the console binds to."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Print the summary and exit."),
    plugins: bool = typer.Option(
        True,
        "--plugins/--no-plugins",
        help="Also run the installed plug-in detectors (`daybreak detect --list`) and "
        "fuse their alerts into the cases.",
    ),
) -> None:
    run = DemoRun(workdir.resolve())
    run.workdir.mkdir(parents=True, exist_ok=True)
    _world(run, customers, months, seed, profile)
    _payments(run)
    _media(run)
    _stream_payment(run)
    _grooming(run)
    _sextortion(run)
    _recruitment_ads(run)
    if plugins:
        _plugin_detectors(run)
    _tipline_and_cases(run)
    _estimate(run)
    _exports(run)
    _summary(run)
    if not no_serve:
        _serve(run, host, port)


def _world(run: DemoRun, customers: int, months: int, seed: int, profile: str) -> None:
    from daybreak.synth import UnknownProfileError, generate_world, write_world
    from daybreak.synth.ads import AdsPriors
    from daybreak.synth.grooming import GroomingPriors
    from daybreak.synth.sextortion import SextortionPriors

    with _stage(run, "synthetic world"):
        try:
            # with groomers, extortion rings and their look-alikes among minors' accounts
            run.world = generate_world(
                customers,
                months,
                seed,
                profile,
                grooming_priors=GroomingPriors(),
                sextortion_priors=SextortionPriors(),
                ads_priors=AdsPriors(),
            )
        except UnknownProfileError as exc:
            fail(str(exc))
        write_world(run.world, run.world_dir)


def _payments(run: DemoRun) -> None:
    from daybreak.engines.payments import scan
    from daybreak.payments import evaluate_files

    results = run.workdir / "results"
    with _stage(run, "payments scan (DuckDB)"):
        result = scan(run.world_dir, results)
        run.alerts.extend(result.alerts)
        run.payments_metrics = evaluate_files(
            results / "alerts.jsonl", run.world_dir / "truth" / "labels.csv"
        )


def _media(run: DemoRun) -> None:
    from daybreak.media.sightings import demo_matcher, match_sightings, sighting_alerts

    links = run.world.links
    known = links.filter(pl.col("source") == "media_sightings")["record_id"].to_list()
    with _stage(run, "media hash matching"):
        matcher = demo_matcher(
            run.world.media_sightings, run.workdir / "media-banks", known_ids=known
        )
        run.media_matches = match_sightings(run.world.media_sightings, matcher)
        run.alerts.extend(sighting_alerts(run.media_matches))


def _stream_payment(run: DemoRun) -> None:
    """Streams and calls that coincide with payments, when the world has platform events;
    the planted pairs found are measured against the world's truth."""
    from daybreak.engines.stream_payment import default_params, run_parquet
    from daybreak.platform.evaluate import evaluate_pairs, planted_pairs

    w = run.world
    if w.platform_events.height == 0:
        run.skipped["stream_payment"] = f"{NOT_RUN}the world has no platform events"
        return
    with _stage(run, "stream-payment coincidence (DuckDB)"):
        params = default_params()
        result = run_parquet(run.world_dir, params, with_pairs=True)
        run.alerts.extend(result.alerts)
        planted = planted_pairs(w.links, w.platform_events, w.transactions, w.identifiers)
        run.platform_metrics = evaluate_pairs(
            result.pairs, planted, w.links, w.labels, params.alert_score
        )


def _grooming(run: DemoRun) -> None:
    """Grooming contact patterns, when the world has platform accounts; the planted
    groomers found (and look-alikes flagged) are measured against the world's truth."""
    from daybreak.engines.grooming import run_parquet
    from daybreak.platform.evaluate import evaluate_actors
    from daybreak.platform.grooming import GroomingParams

    w = run.world
    if w.platform_accounts is None or w.platform_events.height == 0:
        run.skipped["grooming"] = f"{NOT_RUN}the world has no platform accounts or events"
        return
    with _stage(run, "grooming contact patterns (DuckDB)"):
        params = GroomingParams()
        result = run_parquet(run.world_dir, params, with_actors=True)
        run.alerts.extend(result.alerts)
        if w.account_labels is not None:
            run.grooming_metrics = evaluate_actors(
                result.actors, w.account_labels, params.alert_score
            )


def _sextortion(run: DemoRun) -> None:
    """Financial sextortion, when the world has platform accounts; the planted extortion
    handles found (and look-alikes' handles flagged) are measured against the truth."""
    from daybreak.engines.sextortion import run_parquet
    from daybreak.platform.evaluate import evaluate_payer_handles
    from daybreak.platform.sextortion import SextortionParams

    w = run.world
    if w.platform_accounts is None or w.platform_events.height == 0:
        run.skipped["sextortion"] = f"{NOT_RUN}the world has no platform accounts or events"
        return
    with _stage(run, "financial sextortion (DuckDB)"):
        params = SextortionParams()
        result = run_parquet(run.world_dir, params, with_episodes=True)
        run.alerts.extend(result.alerts)
        if w.account_labels is not None:
            run.sextortion_metrics = evaluate_payer_handles(
                result.episodes, w.account_labels, params.alert_score
            )


def _recruitment_ads(run: DemoRun) -> None:
    """Recruitment ads and fake profiles, when the world has ads; the networks' reused
    phones, handles and photos found (and look-alikes' flagged) against the truth."""
    from daybreak.engines.ads import run_parquet
    from daybreak.platform.ads import AdsParams
    from daybreak.platform.evaluate import evaluate_ad_details

    w = run.world
    if w.platform_ads is None or w.platform_ads.height == 0:
        run.skipped["recruitment_ads"] = f"{NOT_RUN}the world has no platform ads"
        return
    with _stage(run, "recruitment ads (DuckDB)"):
        params = AdsParams()
        result = run_parquet(run.world_dir, params, with_details=True)
        run.alerts.extend(result.alerts)
        if w.account_labels is not None:
            run.ads_metrics = evaluate_ad_details(
                result.details, w.platform_ads, w.account_labels, params.alert_score
            )


def _plugin_detectors(run: DemoRun) -> None:
    """Every registered detector without a stage of its own, on the world folder."""
    from daybreak.detectors.info import detectors

    for info in detectors().values():
        if info.name in STAGED_DETECTORS:
            continue
        with _stage(run, f"{info.name} detector (plug-in)"):
            try:
                found = info.create().detect(info.input_from_world(run.world_dir))
            except Exception as exc:  # a plug-in's failure must not stop the demo
                run.skipped[info.name] = f"{type(exc).__name__}: {exc}"
                continue
            run.alerts.extend(found)


def _tipline_and_cases(run: DemoRun) -> None:
    from daybreak.graph import build_cases, build_world_graph
    from daybreak.store import SYSTEM, TiplineStore
    from daybreak.store.world import load_world_reports
    from daybreak.tipline import report_alerts

    store = TiplineStore.open(run.data_dir, dev=True)
    try:
        with _stage(run, "tipline intake and triage"):
            # the payments and media alerts so far raise reports about their subjects
            run.queue = load_world_reports(store, run.world_dir, alerts=run.alerts)
            run.alerts.extend(a for s in run.queue for a in report_alerts(s))
        with _stage(run, "entity graph and fused cases"):
            graph = run.graph = build_world_graph(run.world_dir)
            matches = [] if run.media_matches is None else run.media_matches.to_dicts()
            # Cases of an earlier run keep their ids, status and assignee.
            existing = store.cases.query(SYSTEM)
            run.cases = build_cases(
                run.world_dir,
                run.alerts,
                media_matches=matches,
                world_graph=graph,
                existing=existing,
            )
            store.cases.upsert(run.cases)
    finally:
        store.close()


def _estimate(run: DemoRun) -> None:
    """Multiple-systems estimation from who the sources saw on the entity graph: per
    role, how many people no source saw. Kept in the store, so the console's dashboards
    show it; few bootstrap replicates, for the demo's time."""
    from daybreak.cli.estimate import estimate_report
    from daybreak.graph.pipeline import world_sightings
    from daybreak.store import SYSTEM, TiplineStore

    with _stage(run, "estimate of what nobody sees"):
        matches = [] if run.media_matches is None else run.media_matches.to_dicts()
        # the tipline alerts are among run.alerts already (the queue's clusters)
        seen = world_sightings(run.graph, run.alerts, media_matches=matches)
        seen.write_csv(run.workdir / "sightings.csv")
        run.estimate = estimate_report(seen, ["role"], 0.95, DEMO_REPLICATES, 0)
        store = TiplineStore.open(run.data_dir, dev=True)
        try:
            store.estimates.save(SYSTEM, run.estimate)
        finally:
            store.close()


def _standards_dir() -> Path | None:
    configured = os.environ.get("DAYBREAK_STANDARDS_DIR")
    if configured:
        return Path(configured)
    return SHARED_STANDARDS if SHARED_STANDARDS.is_dir() else None


def _exports(run: DemoRun) -> None:
    from daybreak.exporters import (
        ExportError,
        OrgSettings,
        bundle_from_world,
        export_case,
        exporters,
        unavailable_reason,
    )

    if not run.cases:
        return
    standards = _standards_dir()
    if standards is not None:
        os.environ.setdefault("DAYBREAK_STANDARDS_DIR", str(standards))
    top = run.cases[0]
    folder = run.workdir / "exports"
    folder.mkdir(exist_ok=True)
    with _stage(run, f"exports of {top.case_id}"):
        # The top case's own alerts only (they travel with the case), under the demo's
        # clearly marked reporting identity.
        bundle = bundle_from_world(top, run.world_dir, org=OrgSettings.demo_identity())
        for fmt, info in exporters().items():
            reason = unavailable_reason(fmt, bundle)
            if reason:
                run.exports[fmt] = f"not offered: {reason}"
                continue
            try:
                data = export_case(fmt, bundle)
            except ExportError as exc:  # e.g. no FIU schema on this machine
                run.exports[fmt] = f"skipped: {exc}"
                continue
            path = folder / info.filename(top.case_id)
            path.write_bytes(data)
            run.exports[fmt] = path


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False, expand=True)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _first(text: str, limit: int = 220) -> str:
    """The first sentence of an explanation, for a one-screen summary."""
    head = text.split(". ")[0].rstrip(".") + "."
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _summary(run: DemoRun) -> None:
    w = run.world
    out.print(
        Panel(
            f"{w.customers.height:,} customers, {w.transactions.height:,} transactions, "
            f"{w.reports.height:,} reports, {w.platform_events.height:,} platform events, "
            f"{w.media_sightings.height:,} media sightings  →  {run.world_dir}",
            title="Synthetic world",
        )
    )
    pay = [a for a in run.alerts if a.detector == "payments"]
    m = run.payments_metrics.get("all", {})
    out.print(
        _table(
            f"Payment alerts: {len(pay)} — against the world's truth: average precision "
            f"{m.get('average_precision', 0):.2f}, precision {m.get('precision', 0):.2f}, "
            f"recall {m.get('recall', 0):.2f}",
            ["subject", "score", "why"],
            [
                [f"{a.subject_type} {a.subject_id}", f"{a.score:.2f}", _first(a.explanation)]
                for a in pay[:5]
            ],
        )
    )
    matches = run.media_matches if run.media_matches is not None else pl.DataFrame()
    sp = run.platform_metrics
    if sp:
        out.print(
            f"Stream-payment coincidence: "
            f"{sum(a.detector == 'stream_payment' for a in run.alerts)} alert(s); "
            f"{sp['found']} of {sp['planted_pairs']} planted show-payment pairs found, "
            f"{sp['false_pairs']} false pair(s) reported."
        )
    gm = run.grooming_metrics
    if gm:
        out.print(
            f"Grooming contact patterns: "
            f"{sum(a.detector == 'grooming' for a in run.alerts)} alert(s); "
            f"{gm['found']} of {gm['groomer_accounts']} planted groomer accounts found, "
            f"{gm['lookalike_false_alarms']} of {gm['lookalike_accounts']} look-alike accounts "
            "(teachers, relatives, gaming friends, creators) flagged."
        )
    sx = run.sextortion_metrics
    if sx:
        out.print(
            f"Financial sextortion: "
            f"{sum(a.detector == 'sextortion' for a in run.alerts)} alert(s); "
            f"{sx['found']} of {sx['extortion_handles']} planted extortion handles found "
            f"({sx['pairs']['found']} of {sx['pairs']['extortion_pairs']} paying families), "
            f"{sx['lookalike_false_alarms']} of {sx['lookalike_accounts']} look-alike handles "
            "(game shops, friends, tutors, sellers, relatives abroad) flagged."
        )
    am = run.ads_metrics
    if am:
        out.print(
            f"Recruitment ads: {sum(a.detector == 'recruitment_ads' for a in run.alerts)} "
            f"alert(s); {am['found']} of {am['network_details']} phones, handles and photos "
            f"reused by recruitment networks found, {am['lookalike_false_alarms']} of "
            f"{am['lookalike_accounts']} reused by others (agencies, shared office phones, "
            "ordinary posters) flagged."
        )
    out.print(
        f"Media: {matches.height} sighting(s) matched known-hash banks "
        f"({sum(a.detector == 'media' for a in run.alerts)} account alert(s))."
    )
    out.print(
        _table(
            f"Tipline queue: {len(run.queue)} report cluster(s), most urgent first",
            ["cluster", "tier", "score", "reports", "routed to", "why"],
            [
                [
                    q.cluster_id,
                    str(int(q.tier)),
                    f"{q.score:.2f}",
                    str(q.report_count),
                    q.agency or "-",
                    "; ".join(q.reasons[:2]),
                ]
                for q in run.queue[:5]
            ],
        )
    )
    out.print(
        _table(
            f"Fused cases: {len(run.cases)}, by the chance a child is in danger now",
            ["case", "priority", "tier", "sources", "title", "why"],
            [
                [
                    c.case_id,
                    f"{c.priority:.2f}",
                    str(int(c.tier)),
                    ", ".join(c.sources),
                    c.title,
                    _first(c.reasons[1] if len(c.reasons) > 1 else c.explanation),
                ]
                for c in run.cases[:8]
            ],
        )
    )
    _estimate_summary(run)
    _detector_summary(run)
    for fmt, where in run.exports.items():
        out.print(f"export {fmt:<8} {where}")
    _registered_readers()


def _estimate_summary(run: DemoRun) -> None:
    """Per role: the people the sources saw and the estimate of those none saw."""
    if run.estimate is None:
        return
    rows = []
    for s in run.estimate.strata:
        e = s.estimate
        if e is None:
            rows.append([s.label, "-", "-", "no estimate", s.error])
            continue
        rows.append(
            [
                s.label,
                ", ".join(e.lists),
                str(e.observed),
                f"{e.hidden:.0f} ({e.low:.0f}-{e.high:.0f})",
                f"{e.model}; {len(e.warnings)} warning(s)",
            ]
        )
    out.print(
        _table(
            f"What nobody sees: people on no source, {100 * run.estimate.level:.0f}% interval "
            f"({run.workdir / 'sightings.csv'}; `daybreak estimate` prints the warnings "
            "and assumptions)",
            ["who", "lists", "seen", "hidden", "model"],
            rows,
        )
    )


def _detector_summary(run: DemoRun) -> None:
    """Each registered detector and its alerts in this run (plug-ins included)."""
    from daybreak.detectors.info import detectors

    counts: dict[str, int] = {}
    for alert in run.alerts:
        counts[alert.detector] = counts.get(alert.detector, 0) + 1
    for name, info in detectors().items():
        status = run.skipped.get(name)
        what = f"{counts.get(name, 0)} alert(s)"
        if status:
            what = status if status.startswith(NOT_RUN) else f"failed: {status}"
        out.print(f"detector {name:<10} {info.label}: {what}", highlight=False)


def _registered_readers() -> None:
    """What else is installed: the sources (readers of other formats, not used by the
    demo's synthetic world) and the hash types media matching knows."""
    from daybreak.plugins import signal_types, sources

    for name, info in sources().items():
        reads = ", ".join(info.suffixes) or "-"
        out.print(f"source {name:<8} {info.label}: {reads} -> {info.table}", highlight=False)
    out.print(f"hash types {', '.join(signal_types())}", highlight=False)


def _serve(run: DemoRun, host: str, port: int) -> None:
    import uvicorn

    from daybreak.cli.server import build_demo_console

    banks = run.workdir / "media-banks"
    console = build_demo_console(
        run.data_dir,
        run.cases,
        run.alerts,
        world_dir=run.world_dir,
        standards_dir=_standards_dir(),
        banks_dir=banks if banks.is_dir() else None,
    )
    try:
        users = ", ".join(f"{u} / {p}" for u, p in console.credentials.items())
        out.print(
            Panel(
                f"Console: [bold]{console.url(host, port)}[/]\nSign in as {users}\n"
                "Press Ctrl+C to stop.",
                title="Analyst console",
            )
        )
        uvicorn.run(console.app, host=host, port=port, log_level="warning")
    finally:
        console.store.close()
