"""Graph analytics checked against simple references on random graphs."""

from __future__ import annotations

import itertools
import random
from collections import deque

import networkx as nx
import pytest

from daybreak.graph.analytics import (
    UnionFind,
    communities,
    components_of_edges,
    connected_components,
    facilitator_hubs,
    paths_to_payers,
    shortest_path,
)
from daybreak.graph.build import Graph


def random_multidigraph(n: int, m: int, seed: int) -> Graph:
    rng = random.Random(seed)
    g = nx.MultiDiGraph()
    g.add_nodes_from(f"n:{i}" for i in range(n))
    for _ in range(m):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            g.add_edge(f"n:{a}", f"n:{b}", key=rng.choice(["paid", "call"]), relation="x")
    return g


def reference_bfs_length(g: Graph, s: str, t: str) -> int | None:
    """Plain BFS over an adjacency dict, written independently of the code under test."""
    adj: dict[str, set[str]] = {n: set() for n in g.nodes}
    for a, b in g.edges():
        adj[a].add(b)
        adj[b].add(a)
    dist = {s: 0}
    q = deque([s])
    while q:
        x = q.popleft()
        for y in adj[x]:
            if y not in dist:
                dist[y] = dist[x] + 1
                q.append(y)
    return dist.get(t)


@pytest.mark.parametrize("seed", range(12))
def test_components_match_networkx_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 80)
    g = random_multidigraph(n, rng.randint(0, n * 2), seed)
    ref = sorted(sorted(c) for c in nx.weakly_connected_components(g))
    # our union-find (used over relation subsets) and the whole-graph components, each
    # against networkx; the latter also in their order (largest first, then by name)
    union_find = components_of_edges(g.nodes, ((s, t) for s, t in g.edges()))
    assert sorted(sorted(str(x) for x in c) for c in union_find) == ref
    comps = connected_components(g)
    assert sorted(sorted(c) for c in comps) == ref
    order = [(-len(c), min(c)) for c in comps]
    assert order == sorted(order)


@pytest.mark.parametrize("seed", range(6))
def test_components_over_a_relation_subset_match_networkx(seed: int) -> None:
    g = random_multidigraph(60, 90, seed)
    only_paid = nx.MultiDiGraph()
    only_paid.add_nodes_from(g.nodes)
    only_paid.add_edges_from((s, t) for s, t, k in g.edges(keys=True) if k == "paid")
    ours = sorted(sorted(c) for c in connected_components(g, frozenset({"paid"})))
    ref = sorted(sorted(c) for c in nx.weakly_connected_components(only_paid))
    assert ours == ref


def test_union_find_groups() -> None:
    uf = UnionFind()
    for a, b in [(1, 2), (3, 4), (2, 4), (5, 5)]:
        uf.union(a, b)
    uf.add(6)
    assert sorted(sorted(g) for g in uf.groups()) == [[1, 2, 3, 4], [5], [6]]  # type: ignore[type-var]


@pytest.mark.parametrize("seed", range(10))
def test_shortest_paths_match_reference_bfs(seed: int) -> None:
    rng = random.Random(100 + seed)
    g = random_multidigraph(50, 60, seed)
    for _ in range(20):
        s, t = f"n:{rng.randrange(50)}", f"n:{rng.randrange(50)}"
        path = shortest_path(g, s, t)
        expected = reference_bfs_length(g, s, t)
        if expected is None:
            assert path is None
            continue
        assert path is not None
        assert len(path) - 1 == expected
        assert path[0] == s and path[-1] == t
        for a, b in itertools.pairwise(path):
            assert g.has_edge(a, b) or g.has_edge(b, a)
        assert len(path) - 1 == nx.shortest_path_length(g.to_undirected(), s, t)


def test_paths_to_payers_finds_nearest_paying_customer() -> None:
    g = nx.MultiDiGraph()
    g.add_node("report:R1", kind="report")
    g.add_node("account:app:a", kind="account")
    g.add_node("phone:+63917", kind="phone")
    g.add_node("customer:C1", kind="customer")
    g.add_node("customer:C2", kind="customer")  # closer but never paid anyone
    g.add_node("payment_handle:gcash:1", kind="payment_handle")
    g.add_edge("report:R1", "account:app:a", key="reported_account")
    g.add_edge("report:R1", "customer:C2", key="reporter")
    g.add_edge("customer:C1", "phone:+63917", key="has_identifier")
    g.add_edge("account:app:a", "phone:+63917", key="has_identifier")
    g.add_edge("customer:C1", "payment_handle:gcash:1", key="paid")
    paths = paths_to_payers(g, "report:R1")
    assert paths == [["report:R1", "account:app:a", "phone:+63917", "customer:C1"]]


def _payments_graph(payers: list[str], links: list[tuple[str, str]]) -> Graph:
    g = nx.MultiDiGraph()
    g.add_node("payment_handle:gcash:hub", kind="payment_handle")
    g.add_node("payment_handle:gcash:other", kind="payment_handle")
    for i, p in enumerate(payers):
        g.add_node(p, kind="customer", country="US")
        g.add_edge(p, "payment_handle:gcash:hub", key="paid", n=2, amount=10.0)
        if i < 2:  # a second, small payee shared by two payers
            g.add_edge(p, "payment_handle:gcash:other", key="paid", n=1, amount=1.0)
    for a, b in links:
        g.add_edge(a, b, key="has_identifier")
    return g


def test_facilitator_hub_counts_unrelated_payers() -> None:
    payers = [f"customer:C{i}" for i in range(6)]
    # C0 and C1 share a phone: one person with two customer ids.
    g = _payments_graph(payers, [("customer:C0", "phone:1"), ("customer:C1", "phone:1")])
    hubs = facilitator_hubs(g, min_unrelated_payers=5)
    assert [h.key for h in hubs] == ["payment_handle:gcash:hub"]
    hub = hubs[0]
    assert (hub.payers, hub.unrelated_payers, hub.payments, hub.amount) == (6, 5, 12, 60.0)
    assert facilitator_hubs(g, min_unrelated_payers=6) == []  # the shared phone counts
    # "other" is paid by C0 and C1 only, who are one person: not a hub even at 2.
    assert [h.key for h in facilitator_hubs(g, min_unrelated_payers=2)] == [
        "payment_handle:gcash:hub"
    ]


@pytest.mark.parametrize("seed", range(3))
def test_communities_recover_planted_partition(seed: int) -> None:
    sizes = [12, 12, 12]
    planted = nx.planted_partition_graph(3, 12, 0.9, 0.01, seed=seed)
    g = nx.MultiDiGraph()
    g.add_nodes_from(f"n:{i}" for i in planted.nodes)
    g.add_edges_from((f"n:{a}", f"n:{b}") for a, b in planted.edges)
    found = communities(g, seed=seed)
    truth = [{f"n:{i}" for i in range(k * 12, (k + 1) * 12)} for k in range(len(sizes))]
    assert sorted(sorted(c) for c in found) == sorted(sorted(c) for c in truth)
    # communities partition the node set
    assert sum(len(c) for c in found) == g.number_of_nodes()
