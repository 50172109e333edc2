"""The world's graph as tables gives what the whole networkx graph gave: the same hubs,
components, paths and cases, from the part of the world each walk reaches."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from daybreak.graph import analytics, build_cases, build_world_graph
from daybreak.graph.clusters import CasePolicy
from daybreak.graph.pipeline import WorldGraph
from daybreak.graph.tables import GraphTables, facilitator_hubs, path_between, payer_paths
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case


@pytest.fixture(scope="module")
def synth_graph(synth_world: Path) -> WorldGraph:
    return build_world_graph(synth_world)


def _alerts(world: Path, wg: WorldGraph, seed: int) -> list[Alert]:
    """The truly involved subjects, a random draw of other customers and beneficiaries,
    and platform alerts citing events (their accounts join the case)."""
    labels = pl.read_csv(world / "truth" / "labels.csv").filter(pl.col("label") == 1)
    subjects = list(labels.select("subject_type", "subject_id").iter_rows())
    rng = random.Random(seed)
    customers = wg.frames.customers["customer_id"].sort().to_list()
    payees = wg.frames.payment_edges["receiver_id"].unique().sort().to_list()
    subjects += [("customer", c) for c in rng.sample(customers, 60)]
    subjects += [("beneficiary", b) for b in rng.sample(payees, 20)]
    out = [
        Alert(alert_id=f"a-{i}", detector="payments", subject_type=st, subject_id=sid,
              score=0.8, explanation="test")
        for i, (st, sid) in enumerate(subjects)
    ]  # fmt: skip
    events = wg.frames.event_edges.sort("service", "account_id", "counterparty_account_id")
    for i, (service, account) in enumerate(events.select("service", "account_id").rows()[:400:40]):
        out.append(
            Alert(alert_id=f"p-{i}", detector="grooming", subject_type="account",
                  subject_id=f"{service}:{account}", score=0.7, explanation="test",
                  evidence_source="platform_events", evidence_ids=(f"missing-{i}",))
        )  # fmt: skip
    return out


def _on_the_whole_graph(
    monkeypatch: pytest.MonkeyPatch, world: Path, alerts: list[Alert], wg: WorldGraph, **kw: object
) -> list[Case]:
    """build_cases as it was: on every edge of the world in networkx."""
    whole = wg.graph
    with monkeypatch.context() as m:
        m.setattr(GraphTables, "case_subgraph", lambda *_, **__: whole)
        return build_cases(world, alerts, world_graph=wg, **kw)  # type: ignore[arg-type]


POLICIES = {
    "default": CasePolicy(),
    # small thresholds: many hub cases, large cases split again, rings split
    "hubs": CasePolicy(hub_case_seeds=3, max_case_entities=20, hub_case_seeds_in_large=2),
    "no split, two hops": CasePolicy(split_rings=False, max_hops=2, hub_degree=10),
}


@pytest.mark.parametrize("policy", list(POLICIES))
def test_cases_from_the_walked_part_equal_cases_from_the_whole_graph(
    policy: str, synth_world: Path, synth_graph: WorldGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts = _alerts(synth_world, synth_graph, seed=1)
    media = synth_graph.frames.media_sightings.head(30)
    matches = [
        {"sighting_id": s, "account_id": a, "bank": "ncmec", "distance": 8}
        for s, a in media.select("sighting_id", "account_id").rows()
    ]
    kw = {"policy": POLICIES[policy], "media_matches": matches}
    new = build_cases(synth_world, alerts, world_graph=synth_graph, **kw)  # type: ignore[arg-type]
    old = _on_the_whole_graph(monkeypatch, synth_world, alerts, synth_graph, **kw)
    assert len(new) > 20
    assert [c.model_dump() for c in new] == [c.model_dump() for c in old]
    if policy == "hubs":
        assert any(c.hub_key for c in new)
    # and networkx held only a part of the world
    g = synth_graph.tables.case_subgraph(
        {f"customer:{a.subject_id}" for a in alerts if a.subject_type == "customer"},
        POLICIES[policy],
    )
    assert 0 < g.number_of_nodes() < synth_graph.tables.n_nodes


def test_cases_equal_on_the_hand_made_world(
    tiny_world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graph_world import payment_alerts

    wg = build_world_graph(tiny_world)
    new = build_cases(tiny_world, payment_alerts(), world_graph=wg)
    old = _on_the_whole_graph(monkeypatch, tiny_world, payment_alerts(), wg)
    assert new and [c.model_dump() for c in new] == [c.model_dump() for c in old]


@pytest.mark.parametrize(
    ("min_payers", "cross_border"), [(3, True), (2, True), (2, False), (5, False)]
)
def test_hubs_from_the_tables_equal_the_graph_walk(
    synth_graph: WorldGraph, min_payers: int, cross_border: bool
) -> None:
    kw = {"min_unrelated_payers": min_payers, "cross_border": cross_border}
    from_tables = facilitator_hubs(synth_graph.tables, **kw)  # type: ignore[arg-type]
    walked = analytics.facilitator_hubs(synth_graph.graph, **kw)  # type: ignore[arg-type]
    assert from_tables and from_tables == walked


def test_hub_payers_sharing_an_identity_count_once() -> None:
    """Five payers of one handle: two share a phone, one is the same person as a third:
    three unrelated payers."""
    pay = [(f"customer:C{i}", "payment_handle:gcash:H") for i in range(5)]
    rows = [
        *((s, t, "paid") for s, t in pay),
        ("customer:C0", "phone:+639170000001", "has_identifier"),
        ("customer:C1", "phone:+639170000001", "has_identifier"),
        ("customer:C2", "customer:C3", "same_person"),
    ]
    edges = pl.DataFrame(rows, schema=["source", "target", "relation"], orient="row")
    edges = edges.with_columns(
        n=pl.lit(2, pl.Int64), amount=pl.lit(5.0), weight=pl.lit(1.0),
        first_seen=pl.lit(None, pl.Datetime("us", "UTC")),
        last_seen=pl.lit(None, pl.Datetime("us", "UTC")), origin=pl.lit("t"),
    )  # fmt: skip
    keys = sorted({k for s, t, _ in rows for k in (s, t)})
    nodes = pl.DataFrame(
        {"key": keys, "kind": [k.partition(":")[0] for k in keys], "label": keys,
         "country": ["PH" if k.startswith("payment") else "AU" for k in keys],
         "merchant": [False] * len(keys)}
    )  # fmt: skip
    tables = GraphTables.build(nodes, [edges])
    [hub] = facilitator_hubs(tables)
    assert (hub.key, hub.payers, hub.unrelated_payers) == ("payment_handle:gcash:H", 5, 3)
    assert (hub.payments, hub.amount, hub.payer_countries) == (10, 25.0, 1)
    assert facilitator_hubs(tables, min_unrelated_payers=4) == []


def test_components_from_the_tables_equal_networkx(synth_graph: WorldGraph) -> None:
    sizes = synth_graph.tables.component_sizes().tolist()
    assert sizes == [len(c) for c in analytics.connected_components(synth_graph.graph)]
    assert sum(sizes) == synth_graph.graph.number_of_nodes() == synth_graph.tables.n_nodes


def test_paths_from_the_walked_part_equal_the_whole_graph(synth_graph: WorldGraph) -> None:
    g = synth_graph.graph
    starts = sorted(k for k in g.nodes if k.startswith(("report:", "account:")))[::25][:12]
    found = 0
    for start in starts:
        for hops in (2, 6):
            paths = payer_paths(synth_graph.tables, start, max_hops=hops)
            assert paths == analytics.paths_to_payers(g, start, max_hops=hops)
            found += len(paths)
    assert found
    targets = sorted(k for k in g.nodes if k.startswith("customer:"))[::97][:6]
    for a, b in zip(starts, targets, strict=False):
        assert path_between(synth_graph.tables, a, b) == analytics.shortest_path(g, a, b)
    assert path_between(synth_graph.tables, starts[0], "customer:nobody") is None


def test_the_whole_graph_is_the_graph_build_graph_gives(synth_graph: WorldGraph) -> None:
    from test_graph_bulk_build import _shape

    from daybreak.graph.build import build_graph

    links = synth_graph.links
    shops = links.nodes.filter(pl.col("merchant"))["key"]
    edges = links.edges.filter(~pl.col("target").is_in(shops.implode()))
    direct = build_graph(links.nodes.filter(~pl.col("merchant")), [edges, synth_graph.same_person])
    assert _shape(synth_graph.graph) == _shape(direct)


def test_a_blocked_handle_that_becomes_a_hub_case_brings_its_own_records() -> None:
    """A handle paid by four alerted customers of its own country (no facilitator hub,
    not alerted: never crossed) becomes a hub case with the account that advertised it,
    which no BFS from the seeds reaches."""
    from daybreak.graph.cases import CaseInputs, cases_from_graph
    from daybreak.graph.loader import polars_schema
    from daybreak.schema import TABLES

    handle, ad = "payment_handle:gcash:H", "account:kumu:seller"
    rows = [
        *((f"customer:C{i}", handle, "paid") for i in range(4)),
        *((f"customer:C{i}", f"payment_handle:gcash:P{i}", "paid") for i in range(4)),
        (ad, handle, "ad_payment_handle"),
        (ad, "phone:+639170000009", "ad_phone"),
    ]
    edges = pl.DataFrame(rows, schema=["source", "target", "relation"], orient="row")
    edges = edges.with_columns(
        n=pl.lit(1, pl.Int64), amount=pl.lit(None, pl.Float64), weight=pl.lit(1.0),
        first_seen=pl.lit(None, pl.Datetime("us", "UTC")),
        last_seen=pl.lit(None, pl.Datetime("us", "UTC")), origin=pl.lit("t"),
    )  # fmt: skip
    keys = sorted({k for s, t, _ in rows for k in (s, t)})
    nodes = pl.DataFrame(
        {"key": keys, "kind": [k.partition(":")[0] for k in keys], "label": keys,
         "country": ["PH"] * len(keys), "merchant": [False] * len(keys)}
    )  # fmt: skip
    tables = GraphTables.build(nodes, [edges])
    alerts = [
        Alert(alert_id=f"a-{i}", detector="payments", subject_type="customer",
              subject_id=f"C{i}", score=0.8, explanation="test")
        for i in range(4)
    ]  # fmt: skip
    empty = {t: pl.DataFrame(schema=polars_schema(TABLES[t])) for t in TABLES}
    inputs = CaseInputs(
        reports=empty["reports"], customers=empty["customers"],
        media_sightings=empty["media_sightings"], as_of=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    policy = CasePolicy(hub_case_seeds=3)
    seeds = [f"customer:C{i}" for i in range(4)]
    whole = GraphTables.build(nodes, [edges])  # the same tables, all in networkx
    g_whole = whole.subgraph(whole.ids_of(keys))
    new = cases_from_graph(tables.case_subgraph(seeds, policy), alerts, inputs, policy=policy)
    old = cases_from_graph(g_whole, alerts, inputs, policy=policy)
    [hub_case] = [c for c in new if c.hub_key == handle]
    assert ad in hub_case.entity_keys and len(hub_case.sub_cases) == 4
    assert [c.model_dump() for c in new] == [c.model_dump() for c in old]


def test_ranked_merge_groups_and_sorts_as_the_key_strings_do() -> None:
    # Edges merged on the ranks of their ends come out as grouping and sorting the key
    # strings gives them: same rows, same order, same first origin per group.
    from daybreak.graph.build import END_RANKS, ranked_merge
    from daybreak.graph.resolution import EDGE_SCHEMA

    rng = random.Random(15)
    keys = [f"{k}:{rng.choice(['a', 'B', 'ä', '9', 'zz', ''])}{i}" for i, k in
            enumerate(rng.choices(["customer", "phone", "account", "ip"], k=40))]  # fmt: skip
    day = datetime(2026, 1, 1, tzinfo=UTC)
    frames = [
        pl.DataFrame(
            [
                {
                    "source": rng.choice(keys),
                    "target": rng.choice(keys),
                    "relation": rng.choice(["paid", "call", "same_person"]),
                    "n": rng.choice([1, 2, None]),
                    "amount": rng.choice([None, 1.5, 2.25]),
                    "weight": rng.choice([None, 0.5, 1.0]),
                    "first_seen": day.replace(day=rng.randint(1, 28)),
                    "last_seen": day.replace(day=rng.randint(1, 28)),
                    "origin": rng.choice(["transactions", "identifiers", "splink"]),
                }
                for _ in range(300)
            ],
            schema=EDGE_SCHEMA,
        )
        for _ in range(3)
    ]
    ranked = ranked_merge(frames)
    assert ranked is not None
    merged, ends = ranked
    want = (
        pl.concat(frames)
        .group_by("source", "target", "relation", maintain_order=True)
        .agg(
            pl.col("n").fill_null(1).sum(),
            pl.when(pl.col("amount").is_not_null().any()).then(pl.col("amount").sum())
            .otherwise(None).alias("amount"),
            pl.col("weight").fill_null(1.0).max(), pl.col("first_seen").min(),
            pl.col("last_seen").max(), pl.col("origin").first(),
        )
        .sort("source", "target", "relation")
    )  # fmt: skip
    assert merged.drop(END_RANKS).rows() == want.rows()
    assert ends.to_list() == sorted({*want["source"], *want["target"]})
    assert ends.gather(merged["_s"]).to_list() == merged["source"].to_list()
