"""World folder -> entity graph -> cases: the calls the CLI and ``daybreak demo`` use.

All file and engine access goes through :mod:`daybreak.graph.loader`; everything else
here is the pure modules wired in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl

from daybreak.graph import loader
from daybreak.graph.analytics import Hub
from daybreak.graph.build import Graph, fill_graph
from daybreak.graph.cases import CaseInputs, cases_from_graph, evidence_account_keys, seed_alerts
from daybreak.graph.clusters import CasePolicy
from daybreak.graph.evaluate import CaseRecovery, evaluate_cases, truth_entities
from daybreak.graph.matching import (
    Backend,
    PersonMatches,
    match_people,
    person_records,
    same_person_edges,
)
from daybreak.graph.resolution import ExactLinks, KeyMap, resolve_exact
from daybreak.graph.sightings import sightings
from daybreak.graph.signals import MediaMatch, alerts_from_media_matches, alerts_from_reports
from daybreak.graph.tables import GraphTables, facilitator_hubs
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case
from daybreak.schema.world import collector_paused


class RecordLookup(Protocol):
    """The records alerts cite, looked up by id where the world's files are (DuckDB's
    views over them, or Spark's): only the asked rows come back."""

    def transactions_by_id(self, txn_ids: Sequence[str]) -> pl.DataFrame: ...

    def events_by_id(self, event_ids: Sequence[str]) -> pl.DataFrame: ...


@dataclass(frozen=True)
class DuckDBRecords:
    con: duckdb.DuckDBPyConnection

    def transactions_by_id(self, txn_ids: Sequence[str]) -> pl.DataFrame:
        return loader.transactions_by_id(self.con, txn_ids)

    def events_by_id(self, event_ids: Sequence[str]) -> pl.DataFrame:
        return loader.events_by_id(self.con, event_ids)


@dataclass
class WorldGraph:
    """The world's graph as tables (``tables``); cases and the CLI read those and give
    networkx only the part they walk. ``graph`` is the whole world in networkx, made on
    first use: about 1.2 KB per edge, for small worlds and tests."""

    tables: GraphTables
    frames: loader.WorldFrames
    links: ExactLinks
    matches: PersonMatches | None
    same_person: pl.DataFrame  # the splink edges added to the exact links
    records: RecordLookup

    _hubs: dict[int, list[Hub]] = field(default_factory=dict, repr=False)

    @cached_property
    def graph(self) -> Graph:
        return fill_graph(self.tables.rows, self.tables.edges.drop("src", "dst"))

    def hubs(self, min_unrelated_payers: int = CasePolicy.min_hub_payers) -> list[Hub]:
        """The facilitator hubs, found once per threshold (``graph build`` and the
        case build that follows it in one run ask for the same)."""
        if min_unrelated_payers not in self._hubs:
            self._hubs[min_unrelated_payers] = facilitator_hubs(
                self.tables, min_unrelated_payers=min_unrelated_payers
            )
        return self._hubs[min_unrelated_payers]


MIN_SAME_PERSON = 0.9  # match probability that makes a same_person edge


def build_world_graph(
    world_dir: Path,
    *,
    probabilistic: bool = True,
    backend: Backend = "duckdb",
    min_same_person: float = MIN_SAME_PERSON,
    merchant_edges: bool = False,
    spark_session: Any = None,
    world: tuple[loader.WorldFrames, RecordLookup] | None = None,
    people: Any = None,
    key_map: KeyMap | None = None,
) -> WorldGraph:
    """Exact links, then (optionally) splink ``same_person`` links, in one graph.
    ``spark_session``: the session splink runs in with ``backend="spark"``. ``world``:
    the world already reduced elsewhere (on Spark: :mod:`daybreak.engines.spark_graph`)
    with its look-up of the records alerts cite; ``people``: how to make splink's people
    table from the customers and the exact links (default :func:`person_records`);
    ``key_map``: where identifiers are normalised (:func:`resolve_exact`).

    Payments to shops and ATMs (card and cash receivers) stay out unless
    ``merchant_edges``: every analysis ignores them and they are most of the payments."""
    if world is None:
        con = loader.connect()
        frames = loader.load_world(Path(world_dir), con, include_shops=merchant_edges)
        world = frames, DuckDBRecords(con)
    frames, by_id = world
    links = resolve_exact(frames, key_map)
    matches = None
    same = links.edges.clear()
    if probabilistic:
        records = (people or person_records)(frames.customers, links)
        matches = match_people(records, backend=backend, spark_session=spark_session)
        same = same_person_edges(matches, min_probability=min_same_person)
    edges = links.edges
    if not merchant_edges:
        shops = links.nodes.filter(pl.col("merchant"))["key"]
        edges = edges.filter(~pl.col("target").is_in(shops.implode()))
    tables = GraphTables.build(
        links.nodes.filter(~pl.col("merchant")) if not merchant_edges else links.nodes,
        [edges, same],
    )
    return WorldGraph(tables, frames, links, matches, same, by_id)


def build_cases(
    world_dir: Path,
    alerts: Sequence[Alert],
    *,
    media_matches: Iterable[MediaMatch | Mapping[str, Any]] = (),
    include_reports: bool = True,
    existing: Sequence[Case] = (),
    as_of: datetime | None = None,
    policy: CasePolicy | None = None,
    probabilistic: bool = True,
    world_graph: WorldGraph | None = None,
) -> list[Case]:
    """Cases for ``alerts`` (any detector) on the world's graph, highest priority first.

    Tipline reports become alerts unless ``include_reports`` is off or tipline alerts
    are passed in; media matches (sighting_id, account_id, bank, distance) likewise.
    ``existing`` cases keep their ids, status and assignee when new data overlaps them.
    """
    wg = world_graph or build_world_graph(Path(world_dir), probabilistic=probabilistic)
    all_alerts = every_alert(wg, alerts, media_matches, include_reports)
    txn_ids, event_ids = _evidence_ids(all_alerts)
    policy = policy or CasePolicy()
    events = wg.records.events_by_id(event_ids) if event_ids else pl.DataFrame()
    hubs = wg.hubs(policy.min_hub_payers)
    # The case build makes hundreds of thousands of small acyclic objects (subgraph
    # dicts, records): the cycle collector's passes over them were a large share of it.
    with ThreadPoolExecutor(max_workers=1) as fetch, collector_paused():
        # The evidence transactions are a scan of the transactions file, in the
        # engine's threads: it runs while clustering runs in Python, and only the
        # case assembly waits for it.
        txns: pl.DataFrame | Future[pl.DataFrame] = (
            fetch.submit(wg.records.transactions_by_id, txn_ids) if txn_ids else pl.DataFrame()
        )
        inputs = CaseInputs(
            evidence_events=events,
            reports=wg.frames.reports,
            customers=wg.frames.customers,
            media_sightings=wg.frames.media_sightings,
            transactions=txns,
            hubs=hubs,
            as_of=as_of or _latest_time(wg),
        )
        # networkx gets the part of the world the case build walks, not the world
        g = wg.tables.case_subgraph(
            seed_alerts(all_alerts),
            policy,
            hubs=[h.key for h in hubs],
            extra=evidence_account_keys(all_alerts, events),
        )
        return cases_from_graph(g, all_alerts, inputs, policy=policy, existing=existing)


def every_alert(
    wg: WorldGraph,
    alerts: Sequence[Alert],
    media_matches: Iterable[MediaMatch | Mapping[str, Any]] = (),
    include_reports: bool = True,
) -> list[Alert]:
    """``alerts``, the world's tipline reports as alerts (unless ``include_reports`` is
    off or tipline alerts are among ``alerts``) and the media matches as alerts."""
    out = list(alerts)
    if include_reports and not any(a.detector == "tipline" for a in out):
        out += alerts_from_reports(wg.frames.reports)
    seen_at = dict(
        zip(
            wg.frames.media_sightings["sighting_id"].to_list(),
            wg.frames.media_sightings["seen_at"].to_list(),
            strict=True,
        )
    )
    return out + alerts_from_media_matches(media_matches, seen_at)


def _evidence_ids(alerts: Sequence[Alert]) -> tuple[list[str], list[str]]:
    """The transaction and platform event ids the alerts cite, sorted."""
    txn_ids = sorted(
        {i for a in alerts if a.evidence_source == "transactions" for i in a.evidence_ids}
    )
    event_ids = sorted(
        {i for a in alerts if a.evidence_source == "platform_events" for i in a.evidence_ids}
    )
    return txn_ids, event_ids


def world_sightings(
    wg: WorldGraph,
    alerts: Sequence[Alert],
    *,
    media_matches: Iterable[MediaMatch | Mapping[str, Any]] = (),
    include_reports: bool = True,
) -> pl.DataFrame:
    """:func:`daybreak.graph.sightings.sightings` of every alert on the world's graph
    (tipline reports and media matches as :func:`build_cases` takes them), with the
    evidence records the alerts cite looked up where the world is."""
    all_alerts = every_alert(wg, alerts, media_matches, include_reports)
    txn_ids, event_ids = _evidence_ids(all_alerts)
    return sightings(
        wg.tables,
        all_alerts,
        evidence_events=wg.records.events_by_id(event_ids) if event_ids else None,
        evidence_transactions=wg.records.transactions_by_id(txn_ids) if txn_ids else None,
    )


def _latest_time(wg: WorldGraph) -> datetime | None:
    """ "Now" for a world is its newest record, so old synthetic worlds still rank."""
    candidates = [
        wg.frames.payment_edges["last_seen"].max(),
        wg.frames.reports["received_at"].max(),
        wg.frames.media_sightings["seen_at"].max(),
    ]
    times = [t for t in candidates if isinstance(t, datetime)]
    return max(times) if times else None


def evaluate_against_truth(world_dir: Path, cases: Sequence[Case]) -> CaseRecovery:
    """Purity/completeness of ``cases`` against the world's ``truth/links.csv``."""
    links = loader.read_truth_links(Path(world_dir))
    records = DuckDBRecords(loader.open_world(Path(world_dir)))
    txn_ids = links.filter(pl.col("source") == "transactions")["record_id"].to_list()
    event_ids = links.filter(pl.col("source") == "platform_events")["record_id"].to_list()
    truth = truth_entities(
        links, records.transactions_by_id(txn_ids), records.events_by_id(event_ids)
    )
    return evaluate_cases(cases, truth)
