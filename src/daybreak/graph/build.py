"""One entity graph: typed nodes ``kind:value`` and typed edges (``relation``).

The graph is a :class:`networkx.MultiDiGraph` whose edge key is the relation, so a
customer can both *pay* and be *the same person as* a beneficiary. Edges come in
already aggregated (one per sender->receiver pair, not one per payment).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from sys import intern
from typing import Any, TypeAlias

import networkx as nx
import polars as pl

from daybreak.model.cases import GraphEdge, GraphNode
from daybreak.schema.world import collector_paused

Graph: TypeAlias = nx.MultiDiGraph  # networkx is untyped: this is Any to mypy
EDGE_ROWS = "edge_rows"  # g.graph[EDGE_ROWS]: (source, target, relation) of each edge
EDGE_CHUNK = 100_000  # edges turned into Python objects at a time
EDGE_COLUMNS = (
    "source", "target", "relation", "n", "amount", "weight", "first_seen", "last_seen", "origin",
)  # fmt: skip


def build_graph(nodes: pl.DataFrame, edges: Iterable[pl.DataFrame]) -> Graph:
    """Nodes carry ``kind``, ``label``, ``country``, ``merchant`` and ``details``; parallel rows of one
    (source, target, relation) are merged first in polars (counts and amounts add up,
    time spans widen) so networkx only ever sees one edge per relation and pair."""
    return fill_graph(node_rows(nodes), merge_edges(edges))


NODE_COLUMNS = ("key", "kind", "label", "country", "merchant", "details")


def node_rows(nodes: pl.DataFrame) -> pl.DataFrame:
    """The node rows in the order the graph adds them (a key may repeat: the last row's
    attributes win, as in networkx)."""
    for col, dtype in (("country", pl.String), ("merchant", pl.Boolean), ("details", pl.String)):
        if col not in nodes.columns:
            nodes = nodes.with_columns(pl.lit(None, dtype).alias(col))
    return nodes.select(NODE_COLUMNS).sort(NODE_COLUMNS, nulls_last=True)  # same world, same graph


def missing_ends(known: pl.DataFrame, merged: pl.DataFrame) -> list[str]:
    """Edge ends without a node row (``known``: a ``key`` column), sorted: they become
    nodes of their key's kind."""
    ends = pl.concat([merged["source"], merged["target"]]).unique().to_frame("key")
    return ends.join(known, on="key", how="anti")["key"].sort().to_list()


def fill_graph(nodes: pl.DataFrame, merged: pl.DataFrame | None) -> Graph:
    """A graph of sorted :func:`node_rows` and :func:`merge_edges`' rows (or any rows of
    both, filtered, in their order: :mod:`daybreak.graph.tables` builds subgraphs so)."""
    g: Graph = nx.MultiDiGraph()
    _add_nodes(
        g,
        nodes["key"].to_list(),
        (
            {
                "kind": kind,
                "label": label,
                "country": country,
                "merchant": bool(merchant),
                "details": details or "",
            }
            for kind, label, country, merchant, details in zip(
                *(nodes[c].to_list() for c in NODE_COLUMNS[1:]), strict=True
            )
        ),
    )
    if merged is None or not merged.height:
        return g
    # The rows the edges came from, for whole-column work on the graph's edges
    # (clusters.StrongAdjacency); the same buffers, no copy.
    g.graph[EDGE_ROWS] = merged.select("source", "target", "relation")
    known = pl.DataFrame({"key": list(g._node)}, schema={"key": pl.String})
    missing = missing_ends(known, merged)
    _add_nodes(
        g,
        missing,
        (
            {"kind": k.partition(":")[0], "label": k.partition(":")[2], "merchant": False}
            for k in missing
        ),
    )
    # Each end as the node's own key object, found by position (a join on the column):
    # no new string per edge end to hash and intern (a third of the fill).
    key_objs = list(g._node)
    position = pl.concat([known, pl.DataFrame({"key": missing}, schema={"key": pl.String})])
    position = position.with_row_index("i")
    ends = [
        merged.select(pl.col(end).alias("key")).join(
            position, on="key", how="left", maintain_order="left"
        )["i"]
        for end in ("source", "target")
    ]
    # A slice at a time: the Python lists of all 1.5 million rows at once were 0.4 GB
    # more at the peak.
    start = 0
    for chunk in merged.iter_slices(EDGE_CHUNK):
        stop = start + chunk.height
        src, dst = (e[start:stop].to_list() for e in ends)
        start = stop
        cols = [chunk[c].to_list() for c in EDGE_COLUMNS[2:]]
        _add_edges(
            g,
            [key_objs[i] for i in src],
            [key_objs[i] for i in dst],
            cols[0],
            (
                {
                    "relation": rel,
                    "n": int(n),
                    "amount": amount,
                    "weight": float(w),
                    "first_seen": first,
                    "last_seen": last,
                    "origin": origin,
                }
                for rel, n, amount, w, first, last, origin in zip(*cols, strict=True)
            ),
        )
    return g


def merge_edges(edges: Iterable[pl.DataFrame]) -> pl.DataFrame | None:
    """One row per (source, target, relation), sorted; None when there are no rows."""
    ranked = ranked_merge(edges)
    return None if ranked is None else ranked[0].drop(END_RANKS)


END_RANKS = ("_s", "_d")  # ranked_merge: each end's rank among the sorted distinct ends


def ranked_merge(edges: Iterable[pl.DataFrame]) -> tuple[pl.DataFrame, pl.Series] | None:
    """:func:`merge_edges`' rows with each end's rank among the distinct edge ends in
    sorted order (columns ``_s``, ``_d``), and those ends; None when there are no rows.

    The rows are grouped and sorted on the ranks, not the key strings: the same order
    (a rank sorts as its key does), at a fraction of the cost of grouping and sorting
    1.5 million rows on three strings; the strings are read back by rank."""
    frames = [f.select(EDGE_COLUMNS) for f in edges if f.height]
    if not frames:
        return None
    rows = pl.concat(frames, how="vertical_relaxed")
    ends = pl.concat([rows["source"], rows["target"]]).unique().drop_nulls().sort()
    rank = ends.to_frame("key").with_row_index("rank")
    for end, col in zip(("source", "target"), END_RANKS, strict=True):
        rows = rows.join(
            rank.rename({"key": end, "rank": col}), on=end, how="left", maintain_order="left"
        )
    merged = (
        rows.group_by(*END_RANKS, "relation", maintain_order=True)
        .agg(
            pl.col("n").fill_null(1).sum(),
            pl.when(pl.col("amount").is_not_null().any())
            .then(pl.col("amount").sum())
            .otherwise(None)
            .alias("amount"),
            pl.col("weight").fill_null(1.0).max(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            pl.col("origin").first(),
        )
        # Edge order decides ties in community detection and union-find roots, and the
        # engines return rows in no fixed order: sorted, the same world gives the same
        # cases on every run.
        .sort(*END_RANKS, "relation")
    )
    merged = merged.with_columns(source=ends.gather(merged["_s"]), target=ends.gather(merged["_d"]))
    return merged.select(*EDGE_COLUMNS, *END_RANKS), ends


# networkx's add_nodes_from/add_edges_from check and wrap every item (half a minute
# for 1.5 million edges); these two fill the adjacency dicts networkx documents as its
# data structure (``G._node``, ``G._succ``, ``G._pred``; ``G._adj`` is ``G._succ``)
# directly, in the same order, for a new graph: the same graph, several times faster
# (tests compare the two on worlds).
def _add_nodes(g: Graph, keys: list[str], attrs: Iterable[dict[str, object]]) -> None:
    node, succ, pred = g._node, g._succ, g._pred
    with collector_paused():
        for raw_key, data in zip(keys, attrs, strict=True):
            key = intern(raw_key)
            if key in node:
                node[key].update(data)
            else:
                node[key], succ[key], pred[key] = data, {}, {}


def _add_edges(
    g: Graph,
    sources: list[str],
    targets: list[str],
    relations: list[str],
    attrs: Iterable[dict[str, object]],
) -> None:
    """Edges between existing nodes, each (source, target, relation) at most once;
    ``sources`` and ``targets`` hold the key objects of ``g._node``."""
    succ, pred = g._succ, g._pred
    with collector_paused():
        # the nodes' own key objects: one string object per node, not one per edge end
        # (0.2 GB at 1.5 M edges)
        for s, t, rel, data in zip(sources, targets, relations, attrs, strict=True):
            by_key = succ[s].get(t)
            if by_key is None:
                by_key = succ[s][t] = pred[t][s] = {}
            by_key[rel] = data


def neighbours(
    g: Graph,
    node: str,
    relations: frozenset[str] | None = None,
    skip: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """Neighbours in either direction, optionally only over the given relations and
    never over the ``skip`` relations: successors first, in the order
    ``g.out_edges``/``g.in_edges`` list them (read from the adjacency dicts, without
    networkx's edge views: this is the inner loop of every BFS of the case build)."""
    seen: set[str] = set()
    for adjacent in (g._succ[node], g._pred[node]):
        for other, by_relation in adjacent.items():
            # set operations on the relation keys, not a generator per edge: this loop
            # runs for every edge every BFS crosses
            if other in seen:
                continue
            if relations is None:
                linked = not by_relation.keys() <= skip
            else:
                linked = not relations.isdisjoint(by_relation.keys() - skip)
            if linked:
                seen.add(other)
                yield other


def out_edges(g: Graph, node: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``g.out_edges(node, keys=True, data=True)`` read from the adjacency dicts, in its
    order (networkx's edge views were seconds of the case build)."""
    for other, by_relation in g._succ[node].items():
        for rel, data in by_relation.items():
            yield node, other, rel, data


def in_edges(g: Graph, node: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """``g.in_edges(node, keys=True, data=True)`` read from the adjacency dicts."""
    for other, by_relation in g._pred[node].items():
        for rel, data in by_relation.items():
            yield other, node, rel, data


def edge_count(g: Graph) -> int:
    """``g.number_of_edges()`` read from the adjacency dicts (networkx's edge views
    took seconds on a case subgraph of 300,000 edges)."""
    return sum(
        len(by_relation) for adjacent in g._succ.values() for by_relation in adjacent.values()
    )


def edges_within(g: Graph, nodes: Iterable[str]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(source, target, relation, data) of every edge between ``nodes``, in no fixed
    order (callers sort): read from the adjacency dicts, as ``g.subgraph(nodes).edges``
    lists them but without networkx's filtered views (a third of a case's assembly)."""
    keep = {n for n in nodes if n in g._succ}
    for s in keep:
        for t, by_relation in g._succ[s].items():
            if t in keep:
                for rel, data in by_relation.items():
                    yield s, t, rel, data


def _time(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def subgraph_records(
    g: Graph, node_keys: Iterable[str], alerted: set[str]
) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The case subgraph as model records (sorted, so re-runs compare equal)."""
    keep = {k for k in node_keys if k in g}
    # Built without validation (model_construct): every field is given, already of its
    # type (str, bool, float, int, an aware datetime or None from the graph), and a big
    # case has thousands of edges (tests compare with validated records).
    nodes = [
        GraphNode.model_construct(
            key=k,
            kind=str(g._node[k].get("kind", k.partition(":")[0])),
            label=str(g._node[k].get("label", k)),
            alerted=k in alerted,
            details=str(g._node[k].get("details") or ""),
        )
        for k in sorted(keep)
    ]
    edges = [
        GraphEdge.model_construct(
            source=s,
            target=t,
            relation=rel,
            weight=float(d.get("weight", 1.0)),
            count=int(d.get("n", 1)),
            first_seen=_time(d.get("first_seen")),
            last_seen=_time(d.get("last_seen")),
        )
        for s, t, rel, d in edges_within(g, keep)
    ]
    edges.sort(key=lambda e: (e.source, e.target, e.relation))
    return nodes, edges
