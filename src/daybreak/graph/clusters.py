"""Which alerted entities belong together: the clustering behind cases.

Two alerted entities (seeds) are one case when a path of at most ``max_hops`` links
them without passing *through* a hub (a node so connected that it links strangers: a
big merchant, a carrier-grade NAT IP). Members of a case are its seeds, the nodes on
those linking paths, and each seed's direct identity neighbours (its phones, accounts,
reports, media; the payers of an alerted beneficiary).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from daybreak.graph.analytics import UnionFind, bfs_distances, path_to
from daybreak.graph.build import Graph


@dataclass(frozen=True)
class CasePolicy:
    max_hops: int = 3
    hub_degree: int = 60  # nodes with more neighbours are reached but not crossed
    ip_degree: int = 8  # IPs are shared more often (NAT, cafés): a lower bar
    max_neighbours_per_seed: int = 60
    min_hub_payers: int = 3  # facilitator hubs: unrelated cross-border payers needed
    split_communities: bool = True  # split a cluster where payments say "two rings"
    identity_weight: float = 50.0  # a shared phone weighs like 50 payments
    resolution: float = 1.0  # Louvain resolution: higher gives smaller cases


def is_blocked(
    g: Graph, node: str, policy: CasePolicy, open_payees: frozenset[str] = frozenset()
) -> bool:
    data = g.nodes[node]
    if data.get("merchant"):
        return True  # shops and ATMs link strangers
    if data.get("kind") == "payment_handle" and node not in open_payees:
        return True  # two people paying one landlord are not one case
    degree = int(g.degree(node))
    if g.nodes[node].get("kind") == "ip":
        return degree > policy.ip_degree
    return degree > policy.hub_degree


def _seed_neighbours(g: Graph, seed: str, policy: CasePolicy) -> list[str]:
    """Identity neighbours of a seed, plus the payers of an alerted beneficiary.
    (A customer's other payees are not members: most are family or shops.)"""
    out: set[str] = set()
    for _, other, rel in g.out_edges(seed, keys=True):
        if rel != "paid":
            out.add(other)
    for other, _, _rel in g.in_edges(seed, keys=True):
        out.add(other)  # includes payers ("paid" into a beneficiary)
    ranked = sorted(out, key=lambda k: (is_blocked(g, k, policy), k))
    return ranked[: policy.max_neighbours_per_seed]


def cluster_seeds(
    g: Graph, seeds: Iterable[str], policy: CasePolicy, hubs: Iterable[str] = ()
) -> list[tuple[list[str], set[str]]]:
    """Groups of seeds and their member nodes, largest group first.

    Payments link customers only through a beneficiary that is itself alerted or a
    facilitator hub (``hubs``)."""
    seed_list = sorted(set(seeds))
    seed_set = set(seed_list)
    open_payees = frozenset(seed_set | set(hubs))
    uf = UnionFind()
    paths: dict[str, set[str]] = {s: {s} for s in seed_list}
    for s in seed_list:
        uf.add(s)
        if s not in g:
            continue
        reached = bfs_distances(
            g, s, max_hops=policy.max_hops, blocked=lambda n: is_blocked(g, n, policy, open_payees)
        )
        for other in reached:
            if other in seed_set and other != s:
                uf.union(s, other)
                paths[s].update(path_to(reached, other))
    groups: list[tuple[list[str], set[str]]] = []
    for grp in uf.groups():
        members: set[str] = set()
        group_seeds = sorted(str(x) for x in grp)
        for s in group_seeds:
            members |= paths[s]
            if s in g:
                members.update(_seed_neighbours(g, s, policy))
        groups.append((group_seeds, members))
    if policy.split_communities:
        groups = [part for grp in groups for part in split_group(g, *grp, policy=policy)]
    groups.sort(key=lambda gm: (-len(gm[0]), gm[0][0]))
    return groups


def split_group(
    g: Graph, seeds: list[str], members: set[str], *, policy: CasePolicy
) -> list[tuple[list[str], set[str]]]:
    """Split one linked cluster into communities (Louvain, fixed seed) weighted by the
    number of payments, identity links weighing ``identity_weight``: a payer who paid
    another ring's facilitator twice stays in his own ring's case."""
    if len(seeds) < 3:
        return [(seeds, members)]
    nodes = members | set(seeds)
    simple = nx.Graph()
    simple.add_nodes_from(sorted(nodes))
    for s, t, rel, d in g.subgraph(nodes).edges(keys=True, data=True):
        w = float(d.get("n", 1)) if rel == "paid" else policy.identity_weight
        if simple.has_edge(s, t):
            simple[s][t]["weight"] += w
        else:
            simple.add_edge(s, t, weight=w)
    parts = nx.community.louvain_communities(
        simple, weight="weight", seed=0, resolution=policy.resolution
    )
    out = []
    for part in parts:
        part_seeds = sorted(s for s in seeds if s in part)
        if part_seeds:
            out.append((part_seeds, {str(n) for n in part}))
    return out
