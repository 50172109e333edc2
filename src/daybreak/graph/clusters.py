"""Which alerted entities belong together: the clustering behind cases.

1. Link: two alerted entities (seeds) are one cluster when a path of at most
   ``max_hops`` links them without passing *through* a blocked node — a shop or ATM
   (card and cash receivers link strangers), a beneficiary that is neither alerted nor a
   facilitator hub (two people paying one landlord are not one case), or an identifier
   with more than ``hub_degree`` neighbours (``ip_degree`` for IPs: NAT, cafés). Friend
   requests and messages (``weak_relations``) are too common to link anyone.
2. Split: payments and contacts also link rings that are not one case (a payer of one
   ring pays, or streams with, another ring's facilitator a few times). Inside a
   cluster, everything tied by identity (a customer's own identifiers, what a report
   names, the account a sighting was seen with, same-person links) is first contracted
   into one unit, never to be cut; the units are then split into Louvain communities
   (fixed seed) weighted by the number of payments and contacts (calls, streams, shared
   IPs and devices) between them.

Members of a case are its seeds, the nodes on the linking paths, each seed's direct
neighbours (its phones, accounts, reports, media; the payers of an alerted beneficiary),
and the accounts that member accounts called or streamed with repeatedly (with the
media seen on them); never a customer's other payees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import networkx as nx

from daybreak.graph.analytics import UnionFind, bfs_distances, path_to
from daybreak.graph.build import Graph

Group = tuple[list[str], set[str]]


@dataclass(frozen=True)
class CasePolicy:
    max_hops: int = 3
    hub_degree: int = 60  # nodes with more neighbours are reached but not crossed
    ip_degree: int = 8  # IPs are shared more often (NAT, cafés): a lower bar
    max_neighbours_per_seed: int = 60
    min_hub_payers: int = 3  # facilitator hubs: unrelated cross-border payers needed
    split_rings: bool = True  # split clusters that payments alone tie together
    # Too common to tie people into one case: a friend request or a message.
    weak_relations: frozenset[str] = frozenset({"friend_request", "message"})
    stream_relations: frozenset[str] = frozenset({"call", "stream"})
    min_contact_events: int = 3  # one call is chance; three is a relationship
    # Contacts, not identity: weighed by count when splitting, never contracted.
    contact_relations: frozenset[str] = frozenset(
        {"paid", "call", "stream", "login", "used_ip", "used_device"}
    )
    resolution: float = 1.0  # Louvain resolution: higher gives smaller cases


# Records, not identifiers: a customer with 300 payees is ordinary, a phone shared by
# 300 accounts is not.
RECORD_KINDS = frozenset({"customer", "report", "media", "payment_handle"})


def too_connected(g: Graph, node: str, policy: CasePolicy) -> bool:
    data = g.nodes[node]
    if data.get("merchant"):
        return True  # shops and ATMs link strangers
    if data.get("kind") in RECORD_KINDS:
        return False
    degree = int(g.degree(node))
    if data.get("kind") == "ip":
        return degree > policy.ip_degree
    return degree > policy.hub_degree


def _blocker(g: Graph, policy: CasePolicy, open_payees: frozenset[str]) -> Callable[[str], bool]:
    def blocked(node: str) -> bool:
        if g.nodes[node].get("kind") == "payment_handle" and node not in open_payees:
            return True
        return too_connected(g, node, policy)

    return blocked


def _seed_neighbours(
    g: Graph, seed: str, policy: CasePolicy, blocked: Callable[[str], bool]
) -> list[str]:
    out: set[str] = set()
    for _, other, rel in g.out_edges(seed, keys=True):
        if rel != "paid" and rel not in policy.weak_relations:
            out.add(other)
    for other, _, rel in g.in_edges(seed, keys=True):
        if rel not in policy.weak_relations:
            out.add(other)  # includes the payers of an alerted beneficiary
    ranked = sorted(out, key=lambda k: (blocked(k), k))
    return ranked[: policy.max_neighbours_per_seed]


def cluster_seeds(
    g: Graph, seeds: Iterable[str], policy: CasePolicy, hubs: Iterable[str] = ()
) -> list[Group]:
    """Groups of seeds and their member nodes, largest group first."""
    seed_list = sorted(set(seeds))
    seed_set = set(seed_list)
    blocked = _blocker(g, policy, frozenset(seed_set | set(hubs)))
    uf = UnionFind()
    paths: dict[str, set[str]] = {s: {s} for s in seed_list}
    for s in seed_list:
        uf.add(s)
        if s not in g:
            continue
        reached = bfs_distances(
            g, s, max_hops=policy.max_hops, blocked=blocked, skip=policy.weak_relations
        )
        for other in reached:
            if other in seed_set and other != s:
                uf.union(s, other)
                paths[s].update(path_to(reached, other))
    groups: list[Group] = []
    for grp in uf.groups():
        members: set[str] = set()
        group_seeds = sorted(str(x) for x in grp)
        for s in group_seeds:
            members |= paths[s]
            if s in g:
                members.update(_seed_neighbours(g, s, policy, blocked))
        groups.append((group_seeds, members))
    if policy.split_rings:
        groups = [part for grp in groups for part in split_rings(g, *grp, policy=policy)]
    groups = add_contacts(g, groups, policy)
    groups.sort(key=lambda gm: (-len(gm[0]), gm[0][0]))
    return groups


def _account_contacts(g: Graph, members: set[str], policy: CasePolicy) -> dict[str, int]:
    """The accounts a member account streamed with or called at least
    ``min_contact_events`` times (the other end of a live stream is the case), with the
    number of such events, and the media sightings seen with them."""
    counts: dict[str, int] = {}
    for m in members:
        if g.nodes[m].get("kind") != "account" or too_connected(g, m, policy):
            continue
        per: dict[str, int] = {}
        edges = [*g.out_edges(m, keys=True, data=True), *g.in_edges(m, keys=True, data=True)]
        for a, b, rel, d in edges:
            if rel in policy.stream_relations:
                other = b if a == m else a
                per[other] = per.get(other, 0) + int(d.get("n", 1))
        for acc, n in sorted(per.items())[: policy.max_neighbours_per_seed]:
            if n < policy.min_contact_events or acc in members or too_connected(g, acc, policy):
                continue
            counts[acc] = counts.get(acc, 0) + n
            for media, _, rel in g.in_edges(acc, keys=True):
                if rel == "seen_with" and media not in members:
                    counts[media] = counts.get(media, 0) + n
    return counts


def add_contacts(g: Graph, groups: list[Group], policy: CasePolicy) -> list[Group]:
    """Each contact joins the one group it has most events with, and never a node that
    is already another group's member (rings stay apart)."""
    taken = {n for _, members in groups for n in members}
    best: dict[str, tuple[int, int]] = {}  # node -> (events, group index)
    for i, (_, members) in enumerate(groups):
        for node, n in _account_contacts(g, members, policy).items():
            if node not in taken and (node not in best or n > best[node][0]):
                best[node] = (n, i)
    out = [(seeds, set(members)) for seeds, members in groups]
    for node, (_, i) in best.items():
        out[i][1].add(node)
    return out


def split_rings(
    g: Graph, seeds: list[str], members: set[str], *, policy: CasePolicy
) -> list[Group]:
    """Step 2 of the module doc: contract identity, split on payments and contacts."""
    nodes = sorted(members | set(seeds))
    sub = g.subgraph(nodes)
    units = UnionFind()
    for n in nodes:
        units.add(n)
    for s, t, rel in sub.edges(keys=True):
        if rel in policy.contact_relations or rel in policy.weak_relations:
            continue
        if not too_connected(g, s, policy) and not too_connected(g, t, policy):
            units.union(s, t)
    weights = nx.Graph()
    weights.add_nodes_from(sorted({str(units.find(n)) for n in nodes}))
    for s, t, rel, d in sub.edges(keys=True, data=True):
        a, b = str(units.find(s)), str(units.find(t))
        if rel in policy.contact_relations and a != b:
            w = float(d.get("n", 1))
            if weights.has_edge(a, b):
                weights[a][b]["weight"] += w
            else:
                weights.add_edge(a, b, weight=w)
    if weights.number_of_nodes() < 3:
        return [(seeds, members)]
    parts = nx.community.louvain_communities(
        weights, weight="weight", seed=0, resolution=policy.resolution
    )
    part_of = {u: i for i, part in enumerate(parts) for u in part}
    out: dict[int, Group] = {}
    for n in nodes:
        i = part_of[str(units.find(n))]
        grp = out.setdefault(i, ([], set()))
        grp[1].add(n)
        if n in seeds:
            grp[0].append(n)
    return [(sorted(s), m) for s, m in out.values() if s]
