"""The bulk graph build gives what the plain networkx calls give: the same nodes, edges,
attributes and adjacency order (order decides ties in union-find roots and community
detection); and the shortcuts of the case build give what the slow ways gave."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import polars as pl
import pytest
from test_graph_analytics import random_multidigraph

from daybreak.graph import build_world_graph, resolution
from daybreak.graph.build import (
    Graph,
    build_graph,
    merge_edges,
    neighbours,
    subgraph_records,
)
from daybreak.graph.loader import connect
from daybreak.schema import world


def reference_graph(nodes: pl.DataFrame, edges: Iterable[pl.DataFrame]) -> Graph:
    """build_graph as it was before the bulk fill: networkx's public add_* calls."""
    g = nx.MultiDiGraph()
    for col, dtype in (("country", pl.String), ("merchant", pl.Boolean), ("details", pl.String)):
        if col not in nodes.columns:
            nodes = nodes.with_columns(pl.lit(None, dtype).alias(col))
    cols = ("key", "kind", "label", "country", "merchant", "details")
    g.add_nodes_from(
        (k, {"kind": kind, "label": label, "country": c, "merchant": bool(m), "details": d or ""})
        for k, kind, label, c, m, d in nodes.sort(cols, nulls_last=True).select(cols).iter_rows()
    )
    merged = merge_edges(edges)  # unchanged: the fill below is what changed
    if merged is None:
        return g
    missing = {k for c in ("source", "target") for k in merged[c].to_list()} - set(g.nodes)
    g.add_nodes_from(
        (k, {"kind": k.partition(":")[0], "label": k.partition(":")[2], "merchant": False})
        for k in sorted(missing)
    )
    g.add_edges_from(
        (s, t, rel, {"relation": rel, "n": int(n), "amount": a, "weight": float(w),
                     "first_seen": f, "last_seen": last, "origin": o})
        for s, t, rel, n, a, w, f, last, o in merged.iter_rows()
    )  # fmt: skip
    return g


def _shape(g: Graph) -> tuple[object, ...]:
    """Everything observable about a graph, in the order networkx reports it."""
    return (
        list(g.nodes(data=True)),
        list(g.edges(keys=True, data=True)),
        [(n, list(g.successors(n)), list(g.predecessors(n))) for n in g.nodes],
        [(n, list(g.in_edges(n, keys=True)), list(g.out_edges(n, keys=True))) for n in g.nodes],
    )


@pytest.mark.parametrize("world_fixture", ["tiny_world", "synth_world"])
def test_bulk_build_equals_the_networkx_calls(
    world_fixture: str, request: pytest.FixtureRequest
) -> None:
    wg = build_world_graph(request.getfixturevalue(world_fixture))
    g = wg.graph
    assert g.number_of_edges() > 10
    ref = reference_graph(
        wg.links.nodes.filter(~pl.col("merchant")), [wg.links.edges, wg.same_person]
    )
    fresh = build_graph(
        wg.links.nodes.filter(~pl.col("merchant")), [wg.links.edges, wg.same_person]
    )
    assert _shape(fresh) == _shape(ref)
    # the graph the pipeline built has the same edges (it left shops' edges out first)
    kept = [e for e in ref.edges(keys=True, data=True) if not ref.nodes[e[1]].get("merchant")]
    assert list(g.edges(keys=True, data=True)) == kept


def test_bulk_build_merges_duplicate_node_rows_like_networkx() -> None:
    nodes = pl.DataFrame(
        {"key": ["customer:1", "customer:1", "ip:1.2.3.4"], "kind": ["customer", "customer", "ip"],
         "label": ["Ann", "Anne", None]}
    )  # fmt: skip
    edges = pl.DataFrame(
        {"source": ["customer:1", "ip:1.2.3.4"], "target": ["ip:1.2.3.4", "customer:9"],
         "relation": ["used_ip", "x"], "n": [1, None], "amount": [None, None],
         "weight": [1.0, None], "first_seen": [None, None], "last_seen": [None, None],
         "origin": ["t", "t"]},
        schema=resolution.EDGE_SCHEMA,
    )  # fmt: skip
    assert _shape(build_graph(nodes, [edges])) == _shape(reference_graph(nodes, [edges]))


def test_values_that_do_not_normalise_are_issues_in_every_table() -> None:
    bad = pl.DataFrame({"id": ["r1", "r2"], "value": ["", "+1 415 555 0100"]})
    for table in ("reports", "platform_ads"):
        ok, issues = resolution.attach_keys(
            bad, pl.lit("phone"), pl.col("value"), "key",
            source=table, record_id=pl.col("id"), field="value",
        )  # fmt: skip
        assert ok["id"].to_list() == ["r2"]
        assert issues.select("source", "record_id").rows() == [(table, "r1")]
        assert "empty" in issues["error"][0]


def test_the_graph_duckdb_is_capped_and_spills_where_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def settings() -> tuple[str, str]:
        query = "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        [(limit, spill)] = connect().sql(query).fetchall()
        return str(limit), str(spill)

    monkeypatch.delenv(world.ENV_MEMORY_LIMIT, raising=False)
    monkeypatch.delenv(world.ENV_TEMP_DIR, raising=False)
    limit, spill = settings()
    assert limit in ("1.8 GiB", "1.9 GiB") and spill.endswith("daybreak-duckdb")
    monkeypatch.setenv(world.ENV_MEMORY_LIMIT, "300MB")
    monkeypatch.setenv(world.ENV_TEMP_DIR, str(tmp_path / "spill"))
    limit, spill = settings()
    assert limit == "286.1 MiB" and spill == str(tmp_path / "spill")


def test_unvalidated_case_records_equal_validated_ones(synth_world: Path) -> None:
    """subgraph_records skips pydantic's validation: what it makes must be what
    validation would have made, field for field and type for type."""
    g = build_world_graph(synth_world, probabilistic=False).graph
    members = list(g.nodes)[:400]
    nodes, edges = subgraph_records(g, members, set(members[:5]))
    assert len(nodes) == 400 and edges
    for record in [*nodes, *edges]:
        again = type(record).model_validate(record.model_dump())
        assert again == record and record.model_fields_set == again.model_fields_set
        for name in type(record).model_fields:
            assert type(getattr(record, name)) is type(getattr(again, name))
    assert sum(n.alerted for n in nodes) == 5
    assert any(e.first_seen is not None for e in edges)


def reference_neighbours(
    g: Graph, node: str, relations: frozenset[str] | None, skip: frozenset[str]
) -> list[str]:
    """neighbours as it was: over networkx's edge views."""
    out: list[str] = []
    for _, other, rel in g.out_edges(node, keys=True):
        if (relations is None or rel in relations) and rel not in skip and other not in out:
            out.append(other)
    for other, _, rel in g.in_edges(node, keys=True):
        if (relations is None or rel in relations) and rel not in skip and other not in out:
            out.append(other)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_neighbours_are_those_of_the_edge_views_in_their_order(seed: int) -> None:
    g = random_multidigraph(40, 160, seed)
    rels = {k for _, _, k in g.edges(keys=True)}
    assert len(rels) >= 2
    one = frozenset(sorted(rels)[:1])
    for node in g.nodes:
        for relations, skip in ((None, frozenset()), (one, frozenset()), (None, one)):
            assert list(neighbours(g, node, relations, skip)) == reference_neighbours(
                g, node, relations, skip
            )
