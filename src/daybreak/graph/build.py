"""One entity graph: typed nodes ``kind:value`` and typed edges (``relation``).

The graph is a :class:`networkx.MultiDiGraph` whose edge key is the relation, so a
customer can both *pay* and be *the same person as* a beneficiary. Edges come in
already aggregated (one per sender->receiver pair, not one per payment).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TypeAlias

import networkx as nx
import polars as pl

from daybreak.model.cases import GraphEdge, GraphNode

Graph: TypeAlias = nx.MultiDiGraph  # networkx is untyped: this is Any to mypy


def build_graph(nodes: pl.DataFrame, edges: Iterable[pl.DataFrame]) -> Graph:
    """Nodes carry ``kind`` and ``label``; parallel rows of one (source, target,
    relation) are merged (counts and amounts add up, time spans widen)."""
    g: Graph = nx.MultiDiGraph()
    for col, dtype in (("country", pl.String), ("merchant", pl.Boolean)):
        if col not in nodes.columns:
            nodes = nodes.with_columns(pl.lit(None, dtype).alias(col))
    node_cols = ("key", "kind", "label", "country", "merchant")
    for key, kind, label, country, merchant in nodes.select(node_cols).iter_rows():
        g.add_node(key, kind=kind, label=label, country=country, merchant=bool(merchant))
    for frame in edges:
        cols = (
            "source",
            "target",
            "relation",
            "n",
            "amount",
            "weight",
            "first_seen",
            "last_seen",
            "origin",
        )
        for s, t, rel, n, amount, weight, first, last, origin in frame.select(cols).iter_rows():
            for node in (s, t):
                if node not in g:
                    kind, _, value = node.partition(":")
                    g.add_node(node, kind=kind, label=value)
            data = g.get_edge_data(s, t, key=rel)
            if data is None:
                g.add_edge(
                    s,
                    t,
                    key=rel,
                    relation=rel,
                    n=int(n or 1),
                    amount=amount,
                    weight=float(weight if weight is not None else 1.0),
                    first_seen=first,
                    last_seen=last,
                    origin=origin,
                )
            else:
                _merge(data, n, amount, weight, first, last)
    return g


def _merge(
    data: dict[str, Any],
    n: int | None,
    amount: float | None,
    weight: float | None,
    first: datetime | None,
    last: datetime | None,
) -> None:
    data["n"] += int(n or 1)
    if amount is not None:
        data["amount"] = (data["amount"] or 0.0) + amount
    if weight is not None:
        data["weight"] = max(data["weight"], weight)
    if first is not None and (data["first_seen"] is None or first < data["first_seen"]):
        data["first_seen"] = first
    if last is not None and (data["last_seen"] is None or last > data["last_seen"]):
        data["last_seen"] = last


def neighbours(
    g: Graph,
    node: str,
    relations: frozenset[str] | None = None,
    skip: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """Neighbours in either direction, optionally only over the given relations and
    never over the ``skip`` relations."""
    seen: set[str] = set()
    for _, other, rel in g.out_edges(node, keys=True):
        if (relations is None or rel in relations) and rel not in skip and other not in seen:
            seen.add(other)
            yield other
    for other, _, rel in g.in_edges(node, keys=True):
        if (relations is None or rel in relations) and rel not in skip and other not in seen:
            seen.add(other)
            yield other


def subgraph_records(
    g: Graph, node_keys: Iterable[str], alerted: set[str]
) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The case subgraph as model records (sorted, so re-runs compare equal)."""
    keep = {k for k in node_keys if k in g}
    nodes = [
        GraphNode(
            key=k,
            kind=str(g.nodes[k].get("kind", k.partition(":")[0])),
            label=str(g.nodes[k].get("label", k)),
            alerted=k in alerted,
        )
        for k in sorted(keep)
    ]
    edges = [
        GraphEdge(
            source=s,
            target=t,
            relation=rel,
            weight=float(d.get("weight", 1.0)),
            count=int(d.get("n", 1)),
        )
        for s, t, rel, d in g.subgraph(keep).edges(keys=True, data=True)
    ]
    edges.sort(key=lambda e: (e.source, e.target, e.relation))
    return nodes, edges
