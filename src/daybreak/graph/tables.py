"""The world's graph as tables: node rows and merged edges in columnar frames, node ids
as integer arrays, never the whole world as Python objects.

A networkx graph of the whole world costs about 1.2 KB per edge (1.9 GB at 1.5 million
edges) and most of it is never looked at: the case build walks the neighbourhoods of
the alerted entities and of the hubs. So the world stays here, and

- facilitator hubs are a group-by over the payment pairs, with the payers' identity
  links counted as components of integer arrays (:func:`facilitator_hubs`);
- connected components are ``scipy.sparse.csgraph`` over the edge ids
  (:meth:`GraphTables.component_sizes`);
- networkx gets only the subgraph a case build or a path search can reach
  (:meth:`GraphTables.case_subgraph`, :meth:`GraphTables.path_subgraph`): every node
  those walks list neighbours of comes with every neighbour that can change what they
  find, in the order the whole graph lists them, so clusters, paths and cases are the
  ones the whole graph gives (tests compare both on worlds).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import sparse
from scipy.sparse import csgraph

from daybreak.graph.analytics import PAID, Hub, paths_to_payers, shortest_path
from daybreak.graph.build import (
    END_RANKS,
    Graph,
    fill_graph,
    node_rows,
    ranked_merge,
)
from daybreak.graph.clusters import RECORD_KINDS, CasePolicy, partner_pairs
from daybreak.graph.resolution import EDGE_SCHEMA

Mask = npt.NDArray[np.bool_]
Ids = npt.NDArray[np.int64]
DEGREE = "degree"  # a subgraph node's degree in the whole graph (see clusters.too_connected)


@dataclass(frozen=True)
class GraphTables:
    """``rows``: the node rows as :func:`build.node_rows` orders them (a key may repeat);
    ``nodes``: one row per node, in the order the whole graph holds them (id = row
    number; edge ends without a row come last), with ``degree`` as networkx counts it;
    ``edges``: :func:`build.merge_edges`' rows with the ids of both ends (``src``,
    ``dst``)."""

    rows: pl.DataFrame
    nodes: pl.DataFrame
    edges: pl.DataFrame

    @classmethod
    def build(cls, nodes: pl.DataFrame, edges: Iterable[pl.DataFrame]) -> GraphTables:
        rows = node_rows(nodes)
        ranked = ranked_merge(edges)
        if ranked is None:
            merged = pl.DataFrame(schema={**EDGE_SCHEMA, "_s": pl.UInt32, "_d": pl.UInt32})
            ends = pl.Series("key", [], dtype=pl.String)
        else:
            merged, ends = ranked
        known = rows.unique("key", keep="last", maintain_order=True)
        missing = ends.to_frame("key").join(known.select("key"), on="key", how="anti").sort("key")
        extra = missing.with_columns(
            kind=pl.col("key").str.split_exact(":", 1).struct.field("field_0"),
            merchant=pl.lit(False),
            country=pl.lit(None, pl.String),
        )
        table = pl.concat([known.select("key", "kind", "merchant", "country"), extra])
        ids = table.select("key").with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
        # Each distinct end's id, once; the edges find theirs by rank.
        id_of_rank = (
            ends.to_frame("key").join(ids, on="key", how="left", maintain_order="left")["id"]
        ).to_numpy()
        src, dst = (
            pl.Series(end, id_of_rank[merged[col].to_numpy()], dtype=pl.Int64)
            for end, col in (("src", "_s"), ("dst", "_d"))
        )
        n = table.height
        degree = np.bincount(src.to_numpy(), minlength=n) + np.bincount(dst.to_numpy(), minlength=n)
        table = table.with_columns(
            pl.col("kind").fill_null(""),
            pl.col("merchant").fill_null(False),
            pl.Series(DEGREE, degree, dtype=pl.Int64),
        )
        return cls(rows, table, merged.drop(END_RANKS).with_columns(src=src, dst=dst))

    def with_edges(self, more: pl.DataFrame) -> GraphTables:
        """These tables with more edge rows (``resolution.EDGE_SCHEMA``) merged in."""
        return GraphTables.build(self.rows, [self.edges.drop("src", "dst"), more])

    @property
    def n_nodes(self) -> int:
        return self.nodes.height

    @property
    def n_edges(self) -> int:
        return self.edges.height

    def _ends(self, relations: pl.Expr | None = None) -> tuple[Ids, Ids]:
        return _edge_ids(self.edges, relations)

    def _undirected(self, relations: pl.Expr | None = None) -> sparse.csr_matrix:
        """0/1 adjacency in either direction over the chosen relations."""
        src, dst = self._ends(relations)
        return _adjacency(np.concatenate([src, dst]), np.concatenate([dst, src]), self.n_nodes)

    def ids_of(self, keys: Collection[str]) -> Ids:
        """Ids of those of ``keys`` that are nodes (others are left out)."""
        if not keys:
            return np.zeros(0, dtype=np.int64)
        wanted = pl.DataFrame({"key": sorted(keys)}, schema={"key": pl.String})
        found = self.nodes.select("key").with_row_index("id").join(wanted, on="key")
        return found["id"].cast(pl.Int64).to_numpy()

    def _mask(self, ids: Ids) -> Mask:
        mask = np.zeros(self.n_nodes, dtype=np.bool_)
        mask[ids] = True
        return mask

    def kind_is(self, *kinds: str) -> Mask:
        return self.nodes["kind"].is_in(kinds).to_numpy()

    def too_connected(self, policy: CasePolicy) -> Mask:
        """:func:`daybreak.graph.clusters.too_connected` of every node at once."""
        degree = self.nodes[DEGREE].to_numpy()
        limit = np.where(self.kind_is("ip"), policy.ip_degree, policy.hub_degree)
        over = ~self.kind_is(*RECORD_KINDS) & (degree > limit)
        merchant: Mask = self.nodes["merchant"].to_numpy() | over
        return merchant

    # -- the parts networkx gets ---------------------------------------------------

    def subgraph(self, ids: Ids) -> Graph:
        """The induced subgraph on ``ids``: node rows and edges in the whole graph's
        order, so every node lists its neighbours in the same order; each node carries
        its whole-graph degree."""
        inside = self._mask(ids)
        keys = self.nodes["key"].filter(pl.Series(inside))
        edges = self.edges.filter(
            pl.Series(inside[self.edges["src"].to_numpy()] & inside[self.edges["dst"].to_numpy()])
        )
        g = fill_graph(
            self.rows.filter(pl.col("key").is_in(keys.implode())), edges.drop("src", "dst")
        )
        degrees = self.nodes[DEGREE].filter(pl.Series(inside)).to_list()
        for key, degree in zip(keys.to_list(), degrees, strict=True):
            if key not in g._node:  # an edge end without a row, none of its edges inside
                kind, _, label = key.partition(":")
                g.add_node(key, kind=kind, label=label, merchant=False)
            g._node[key][DEGREE] = degree
        return g

    def case_subgraph(
        self,
        seeds: Collection[str],
        policy: CasePolicy,
        *,
        hubs: Collection[str] = (),
        extra: Collection[str] = (),
    ) -> Graph:
        """What :func:`daybreak.graph.cases.cases_from_graph` reads of the world for
        ``seeds`` (alerted entities) with facilitator ``hubs`` and the ``extra`` nodes
        a case names (the accounts of evidence events)."""
        return self.subgraph(self.case_reach(seeds, policy, hubs=hubs, extra=extra))

    def case_reach(
        self,
        seeds: Collection[str],
        policy: CasePolicy,
        *,
        hubs: Collection[str] = (),
        extra: Collection[str] = (),
    ) -> Ids:
        """The nodes of :meth:`case_subgraph`. Every node whose neighbours the case
        build lists gets those that can change what it finds:

        - the BFS of step 1 (``max_hops`` from every seed that reaches another seed,
          never through a blocked node, over anything but the weak relations) with
          the least blocking any round uses (open payees are all seeds and hubs, no
          case hub closed): the nodes it walks from, with their neighbours but those
          the last hop finds;
        - each seed's neighbours;
        - hub candidates (a seed's neighbour tied to enough seeds) and their
          neighbours but their payers;
        - each account so reached, its call/stream contacts and the media seen with
          them.
        """
        strong = _adjacency_of(self, ~pl.col("relation").is_in(sorted(policy.weak_relations)))
        seed_mask = self._mask(self.ids_of(seeds))
        open_payee = self._mask(self.ids_of({*seeds, *hubs}))
        too = self.too_connected(policy)
        blocked = too | (self.kind_is("payment_handle") & ~open_payee)
        hop_one = _step(strong, seed_mask)
        # Only a seed that reaches another seed walks (clusters.cluster_seeds); with
        # the least blocking, every seed that reaches one in some round is among them.
        seed_ids = np.flatnonzero(seed_mask)
        pairs = partner_pairs(strong, ~blocked, seed_ids, policy.max_hops)
        walks = self._mask(seed_ids[np.unique(pairs.row[pairs.row != pairs.col])])
        # Walked from: those seeds, and what lies within max_hops - 1 of one through
        # nodes that are not blocked. What the last hop finds is never walked from and,
        # but for seeds (all walked from), never on a path between seeds: it is left
        # out (most of the edges of a 3-hop neighbourhood end there).
        found_any = seed_mask.copy()
        walked = walks.copy()
        frontier = walks
        for _ in range(policy.max_hops - 1):
            found = _step(strong, frontier) & ~found_any
            found_any |= found
            frontier = found & ~blocked
            walked |= frontier
        reach = seed_mask | walked | hop_one  # each seed and its neighbours (_seed_neighbours)
        # hubs of cases (clusters.case_hubs): tied to enough seeds, not too connected
        at_least = min(policy.hub_case_seeds, policy.hub_case_seeds_in_large)
        tied = strong @ seed_mask.astype(np.int32)
        candidates = (hop_one | seed_mask) & (tied >= at_least) & ~too
        # A hub's own records (clusters._hub_members: anything but payments). Its
        # payers only tell which groups link to it, and a payer outside the reach so
        # far is in no group.
        own = ~pl.col("relation").is_in(sorted({*policy.weak_relations, PAID}))
        reach |= _step(_adjacency_of(self, own), candidates)
        # contacts of the member accounts (clusters._account_contacts)
        streams = _adjacency_of(self, pl.col("relation").is_in(sorted(policy.stream_relations)))
        accounts = reach & self.kind_is("account") & ~too
        contacts = _step(streams, accounts)
        src, dst = self._ends(pl.col("relation") == "seen_with")
        seen_with = _adjacency(dst, src, self.n_nodes)  # from the account to its media
        reach |= contacts | _step(seen_with, contacts & ~too)
        reach |= self._mask(self.ids_of(extra))
        return np.flatnonzero(reach).astype(np.int64)

    def path_subgraph(
        self,
        start: str,
        *,
        max_hops: int | None = None,
        blocked: Mask | None = None,
        until: str | None = None,
    ) -> Graph:
        """What a BFS from ``start`` lists (at most ``max_hops``, never through a
        ``blocked`` node, up to the hop that reaches ``until``), and the payees of the
        customers it reaches (:func:`daybreak.graph.analytics.paths_to_payers` asks
        whether they paid)."""
        everything = self._undirected()
        start_mask = self._mask(self.ids_of([start]))
        target = self.ids_of([until]) if until is not None else np.zeros(0, dtype=np.int64)
        reach, frontier = start_mask.copy(), start_mask
        hops = 0
        while frontier.any() and (max_hops is None or hops < max_hops):
            if target.size and reach[target].all():
                break
            found = _step(everything, frontier) & ~reach
            reach |= found
            frontier = found if blocked is None else found & ~blocked
            hops += 1
        src, dst = self._ends(pl.col("relation") == PAID)
        payer_to_payee = _adjacency(src, dst, self.n_nodes)
        reach |= _step(payer_to_payee, reach & self.kind_is("customer"))
        return self.subgraph(np.flatnonzero(reach).astype(np.int64))

    def merchants(self) -> Mask:
        return self.nodes["merchant"].to_numpy()

    # -- whole-world summaries -----------------------------------------------------

    def component_sizes(self) -> npt.NDArray[np.int64]:
        """Sizes of the weakly connected components, largest first."""
        src, dst = self._ends()
        n, labels = csgraph.connected_components(
            _adjacency(src, dst, self.n_nodes), directed=True, connection="weak"
        )
        sizes: npt.NDArray[np.int64] = np.sort(np.bincount(labels, minlength=n))[::-1]
        return sizes

    def counts_by(self, column: str, of: str) -> dict[str, int]:
        """Nodes per kind (``of="nodes"``) or edges per relation, most first."""
        frame = self.nodes if of == "nodes" else self.edges
        counts = frame.group_by(column).len().sort(["len", column], descending=[True, False])
        return {str(k): int(v) for k, v in counts.iter_rows()}


def has_node(tables: GraphTables, key: str) -> bool:
    return bool(tables.ids_of([key]).size)


def payer_paths(
    tables: GraphTables, start: str, *, max_hops: int = 6, limit: int = 5
) -> list[list[str]]:
    """:func:`daybreak.graph.analytics.paths_to_payers` on the part of the world it
    walks."""
    g = tables.path_subgraph(start, max_hops=max_hops, blocked=tables.merchants())
    return paths_to_payers(g, start, max_hops=max_hops, limit=limit)


def path_between(tables: GraphTables, source: str, target: str) -> list[str] | None:
    """:func:`daybreak.graph.analytics.shortest_path` on the part of the world it walks."""
    if not has_node(tables, source) or not has_node(tables, target):
        return None
    return shortest_path(tables.path_subgraph(source, until=target), source, target)


def _edge_rows(edges: pl.DataFrame, relations: pl.Expr, *columns: str) -> pl.DataFrame:
    """``columns`` of the edges of ``relations``: a filter of the whole frame would copy
    every edge's key strings first (1.5 M rows at 100,000 customers, once per adjacency
    the case build makes)."""
    return edges.lazy().filter(relations).select(columns).collect()


def _edge_ids(edges: pl.DataFrame, relations: pl.Expr | None) -> tuple[Ids, Ids]:
    """The end ids (src, dst) of the edges of ``relations`` (all when None)."""
    rows = edges if relations is None else _edge_rows(edges, relations, "src", "dst")
    return rows["src"].to_numpy(), rows["dst"].to_numpy()


def _adjacency(rows: Ids, cols: Ids, n: int) -> sparse.csr_matrix:
    """0/1 matrix with a 1 at (row, col) for each pair (duplicates once)."""
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n, n))
    matrix.data[:] = 1
    return matrix


def _adjacency_of(tables: GraphTables, relations: pl.Expr) -> sparse.csr_matrix:
    return tables._undirected(relations)


def _step(adjacency: sparse.csr_matrix, frontier: Mask) -> Mask:
    """Nodes with an edge from a node of ``frontier`` (rows: from, columns: to)."""
    if not frontier.any():
        return np.zeros(adjacency.shape[0], dtype=np.bool_)
    # rows are "from": a node is found when some frontier row holds it
    found: Mask = np.asarray(adjacency.T @ frontier.astype(np.int32)) > 0
    return found


def facilitator_hubs(
    tables: GraphTables, *, min_unrelated_payers: int = 3, cross_border: bool = True
) -> list[Hub]:
    """:func:`daybreak.graph.analytics.facilitator_hubs` over the tables: the same hubs,
    with payers related through a shared identity node counted as one. The payers of
    a beneficiary and the identity nodes they hold are numbered per beneficiary; its
    unrelated payers are the connected components of that small graph."""
    nodes = tables.nodes.with_row_index("id").with_columns(pl.col("id").cast(pl.Int64))
    handles = nodes.filter((pl.col("kind") == "payment_handle") & ~pl.col("merchant")).select(
        hub="id", home="country"
    )
    payers = nodes.select(payer="id", payer_country="country")
    paid = (
        _edge_rows(tables.edges, pl.col("relation") == PAID, "src", "dst", "n", "amount")
        .select(hub="dst", payer="src", n="n", amount="amount")
        .join(handles, on="hub")
        .join(payers, on="payer")
    )
    if cross_border:
        # Live-streamed abuse is paid from abroad; domestic billers are not hubs.
        paid = paid.filter(
            pl.col("home").is_null()
            | (pl.col("home") == "")
            | (pl.col("payer_country").is_not_null() & (pl.col("payer_country") != pl.col("home")))
        )
    paid = paid.filter(pl.col("payer").n_unique().over("hub") >= min_unrelated_payers)
    if not paid.height:
        return []
    unrelated = _unrelated_payers(tables, paid.select("hub", "payer"))
    per_hub = (
        paid.join(nodes.select(payer="id", payer_key="key"), on="payer")
        .sort("hub", "payer_key")
        .group_by("hub", maintain_order=True)
        .agg(
            payers=pl.len(),
            payments=pl.col("n").sum(),
            amounts=pl.col("amount"),
            payer_countries=pl.col("payer_country").drop_nulls().n_unique(),
        )
        .join(unrelated, on="hub")
        .filter(pl.col("unrelated") >= min_unrelated_payers)
        .join(nodes.select(hub="id", key="key"), on="hub")
    )
    hubs = [
        Hub(
            key=row["key"],
            payers=int(row["payers"]),
            unrelated_payers=int(row["unrelated"]),
            payments=int(row["payments"]),
            # a Python sum in payer order, as the graph's walk adds them
            amount=float(sum(a or 0.0 for a in row["amounts"])),
            payer_countries=int(row["payer_countries"]),
        )
        for row in per_hub.iter_rows(named=True)
    ]
    hubs.sort(key=lambda h: (-h.unrelated_payers, h.key))
    return hubs


def _unrelated_payers(tables: GraphTables, paid: pl.DataFrame) -> pl.DataFrame:
    """(hub, unrelated): per beneficiary, its payers grouped when one is an identity
    neighbour of another (any relation but payments) or both hold one identity node."""
    src, dst = _edge_ids(tables.edges, pl.col("relation") != PAID)
    identity = pl.concat(
        [
            pl.DataFrame({"payer": src, "other": dst}),
            pl.DataFrame({"payer": dst, "other": src}),
        ]
    ).unique()
    # vertices (hub, node); a payer's vertex tied to the vertex of each identity node
    ties = paid.join(identity, on="payer")
    n = tables.n_nodes
    vertex_of_payer = paid["hub"].to_numpy() * n + paid["payer"].to_numpy()
    ends_a = ties["hub"].to_numpy() * n + ties["payer"].to_numpy()
    ends_b = ties["hub"].to_numpy() * n + ties["other"].to_numpy()
    vertices, index = np.unique(
        np.concatenate([vertex_of_payer, ends_a, ends_b]), return_inverse=True
    )
    k = len(vertex_of_payer)
    a, b = index[k : k + len(ends_a)], index[k + len(ends_a) :]
    _, labels = csgraph.connected_components(_adjacency(a, b, len(vertices)), directed=False)
    return (
        pl.DataFrame({"hub": vertices // n, "label": labels.astype(np.int64)})
        .group_by("hub")
        .agg(unrelated=pl.col("label").n_unique())
    )
