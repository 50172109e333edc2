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
import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import sparse

from daybreak.graph.analytics import UnionFind, bfs_distances, path_to
from daybreak.graph.build import (
    EDGE_ROWS,
    Graph,
    edge_count,
    edges_within,
    in_edges,
    neighbours,
    out_edges,
)

Group = tuple[list[str], set[str]]
Ids = npt.NDArray[np.int64]


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
    # An entity tied directly to this many alerted entities (a facilitator handle paid
    # by 150 alerted customers) becomes a hub case of its own, and what links to it
    # becomes its sub-cases: one case of 1,000 entities cannot be read or worked.
    hub_case_seeds: int = 10
    # A case still bigger than this (a facilitator's ring paid through many handles)
    # is split again: what links at least ``hub_case_seeds_in_large`` of its alerted
    # entities becomes a hub too (up to ``hub_rounds`` times). 150 is what a case page
    # draws.
    max_case_entities: int = 150
    hub_case_seeds_in_large: int = 3
    hub_rounds: int = 3


# Records, not identifiers: a customer with 300 payees is ordinary, a phone shared by
# 300 accounts is not.
RECORD_KINDS = frozenset({"customer", "report", "media", "payment_handle"})


def too_connected(g: Graph, node: str, policy: CasePolicy) -> bool:
    data = g._node[node]
    if data.get("merchant"):
        return True  # shops and ATMs link strangers
    if data.get("kind") in RECORD_KINDS:
        return False
    # a subgraph of the world (daybreak.graph.tables) carries each node's whole degree
    degree = int(data["degree"]) if "degree" in data else int(g.degree(node))
    if data.get("kind") == "ip":
        return degree > policy.ip_degree
    return degree > policy.hub_degree


def _blocker(
    g: Graph, policy: CasePolicy, open_payees: frozenset[str], closed: frozenset[str] = frozenset()
) -> Callable[[str], bool]:
    def blocked(node: str) -> bool:
        if node in closed:
            return True
        if g._node[node].get("kind") == "payment_handle" and node not in open_payees:
            return True
        return too_connected(g, node, policy)

    return blocked


def _seed_neighbours(
    g: Graph, seed: str, policy: CasePolicy, blocked: Callable[[str], bool]
) -> list[str]:
    out: set[str] = set()
    for _, other, rel, _ in out_edges(g, seed):
        if rel != "paid" and rel not in policy.weak_relations:
            out.add(other)
    for other, _, rel, _ in in_edges(g, seed):
        if rel not in policy.weak_relations:
            out.add(other)  # includes the payers of an alerted beneficiary
    ranked = sorted(out, key=lambda k: (blocked(k), k))
    return ranked[: policy.max_neighbours_per_seed]


@dataclass(frozen=True)
class StrongAdjacency:
    """The graph's nodes numbered in its order; a 0/1 matrix with a 1 for each pair
    tied by anything but the weak relations, in either direction; and which nodes are
    :func:`too_connected` or payment handles (what blocks a walk, as arrays)."""

    index: dict[str, int]
    matrix: sparse.csr_matrix
    too_connected: npt.NDArray[np.bool_]
    payment_handle: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, g: Graph, policy: CasePolicy) -> StrongAdjacency:
        index = {k: i for i, k in enumerate(g._node)}
        ends = _strong_pairs(g, index, policy.weak_relations)
        rows = np.concatenate([ends[:, 0], ends[:, 1]])
        cols = np.concatenate([ends[:, 1], ends[:, 0]])
        n = len(index)
        matrix = _binary(sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)))
        too = np.fromiter((too_connected(g, k, policy) for k in index), np.bool_, n)
        handle = np.fromiter(
            (d.get("kind") == "payment_handle" for d in g._node.values()), np.bool_, n
        )
        return cls(index, matrix, too, handle)

    def blocked(self, open_payees: Iterable[str], closed: Iterable[str]) -> npt.NDArray[np.bool_]:
        """:func:`_blocker`'s answer for every node at once."""
        opened = np.zeros(len(self.index), dtype=np.bool_)
        opened[[self.index[k] for k in open_payees if k in self.index]] = True
        out = self.too_connected | (self.payment_handle & ~opened)
        out[[self.index[k] for k in closed if k in self.index]] = True
        return out


def _strong_pairs(g: Graph, index: dict[str, int], weak: frozenset[str]) -> npt.NDArray[np.int64]:
    """(source, target) node numbers of each pair tied by anything but ``weak``: from
    the edge rows the graph was filled from when it still holds exactly those (a join
    on the whole column), else from its adjacency dicts."""
    rows = g.graph.get(EDGE_ROWS)
    if isinstance(rows, pl.DataFrame) and rows.height == edge_count(g):
        numbered = pl.DataFrame({"key": list(index)}).with_row_index("i")
        strong = rows.filter(~pl.col("relation").is_in(sorted(weak)))
        ends = strong.select(
            pl.col("source").replace_strict(numbered["key"], numbered["i"], return_dtype=pl.Int64),
            pl.col("target").replace_strict(numbered["key"], numbered["i"], return_dtype=pl.Int64),
        )
        return ends.to_numpy().astype(np.int64).reshape(-1, 2)
    pairs = [
        (i, index[t])
        for s, adjacent in g._succ.items()
        for i in (index[s],)
        for t, by_relation in adjacent.items()
        if not weak.issuperset(by_relation)
    ]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _binary(m: sparse.spmatrix) -> sparse.csr_matrix:
    out = sparse.csr_matrix(m)
    out.data[:] = 1.0
    return out


def seed_partners(
    g: Graph,
    seeds: list[str],
    policy: CasePolicy,
    open_payees: Iterable[str] = (),
    closed: Iterable[str] = (),
    adjacency: StrongAdjacency | None = None,
) -> dict[str, set[str]]:
    """For each seed, the other seeds its BFS in :func:`cluster_seeds` reaches (at
    most ``max_hops``, never through a blocked node, over anything but the weak
    relations), found for all seeds at once with sparse matrix products instead of a
    BFS per seed (:func:`partner_pairs`)."""
    adj = adjacency or StrongAdjacency.of(g, policy)
    present = [s for s in seeds if s in adj.index]
    if not present or policy.max_hops < 1:
        return {}
    ids = np.array([adj.index[s] for s in present], dtype=np.int64)
    pairs = partner_pairs(adj.matrix, ~adj.blocked(open_payees, closed), ids, policy.max_hops)
    out: dict[str, set[str]] = {}
    for i, j in zip(pairs.row.tolist(), pairs.col.tolist(), strict=True):
        if i != j:
            out.setdefault(present[i], set()).add(present[j])
    return out


def partner_pairs(
    adjacency: sparse.csr_matrix, unblocked: npt.NDArray[np.bool_], seeds: Ids, max_hops: int
) -> sparse.coo_matrix:
    """(i, j) for each two seeds ``seeds[i]``, ``seeds[j]`` (and i, i) joined by a path of
    at most ``max_hops`` over ``adjacency`` whose inner nodes are all ``unblocked``. Split
    at one edge, such a path's first ``a`` hops stay within what ``seeds[i]`` reaches
    over unblocked nodes in ``a`` hops, its last ``b`` within what ``seeds[j]`` does
    (``a + 1 + b = max_hops``): two products of sparse matrices of one column per seed."""
    n = adjacency.shape[0]
    start = sparse.csr_matrix(
        (np.ones(len(seeds)), (seeds, np.arange(len(seeds)))), shape=(n, len(seeds))
    )
    keep = sparse.diags(unblocked.astype(np.float64))

    def within(hops: int) -> sparse.csr_matrix:
        """Column j: seed j and what it reaches in ``hops`` over unblocked nodes."""
        reach = start
        for _ in range(hops):
            reach = _binary(start + keep @ (adjacency @ reach))
        return reach

    a = (max_hops - 1) // 2
    near, far = within(a), within(max_hops - 1 - a)
    return sparse.coo_matrix(near.T @ (adjacency @ far))


def cluster_seeds(
    g: Graph,
    seeds: Iterable[str],
    policy: CasePolicy,
    hubs: Iterable[str] = (),
    case_hubs: Iterable[str] = (),
    adjacency: StrongAdjacency | None = None,
) -> list[Group]:
    """Groups of seeds and their member nodes, largest group first. ``case_hubs`` are
    reached but never crossed (they become cases of their own: see :func:`cluster_cases`).
    ``adjacency``: :meth:`StrongAdjacency.of` the graph, when the caller has it."""
    seed_list = sorted(set(seeds))
    seed_set = set(seed_list)
    open_payees, closed = frozenset(seed_set | set(hubs)), frozenset(case_hubs)
    blocked = _blocker(g, policy, open_payees, closed)
    uf = UnionFind()
    paths: dict[str, set[str]] = {s: {s} for s in seed_list}
    # Only a seed that reaches another needs its BFS (most reach none), and only up to
    # the moment it has found them all: the paths are those of the whole walk.
    partners = seed_partners(g, seed_list, policy, open_payees, closed, adjacency)
    for s in seed_list:
        uf.add(s)
        if s not in partners:
            continue
        reached = bfs_distances(
            g,
            s,
            max_hops=policy.max_hops,
            blocked=blocked,
            skip=policy.weak_relations,
            until=partners[s],
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
        if g._node[m].get("kind") != "account" or too_connected(g, m, policy):
            continue
        per: dict[str, int] = {}
        edges = [*out_edges(g, m), *in_edges(g, m)]
        for a, b, rel, d in edges:
            if rel in policy.stream_relations:
                other = b if a == m else a
                per[other] = per.get(other, 0) + int(d.get("n", 1))
        for acc, n in sorted(per.items())[: policy.max_neighbours_per_seed]:
            if n < policy.min_contact_events or acc in members or too_connected(g, acc, policy):
                continue
            counts[acc] = counts.get(acc, 0) + n
            for media, _, rel, _ in in_edges(g, acc):
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
    # The edges between nodes come in the order of a set of the node names, which
    # changes from one process to the next (string hashing): sorted, union-find roots
    # and the Louvain input are the same on every run, and so are the cases.
    edges = sorted(edges_within(g, nodes), key=lambda e: e[:3])
    units = UnionFind()
    for n in nodes:
        units.add(n)
    for s, t, rel, _ in edges:
        if rel in policy.contact_relations or rel in policy.weak_relations:
            continue
        if not too_connected(g, s, policy) and not too_connected(g, t, policy):
            units.union(s, t)
    weights = nx.Graph()
    weights.add_nodes_from(sorted({str(units.find(n)) for n in nodes}))
    for s, t, rel, d in edges:
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


@dataclass(frozen=True)
class HubCluster:
    """A hub case: the hub, its own identifiers and records (``members``), and the
    groups (indices into the groups list) that link to it, its sub-cases."""

    hub: str
    members: frozenset[str]
    sub_groups: tuple[int, ...]


def case_hubs(
    g: Graph, seeds: Iterable[str], policy: CasePolicy, at_least: int | None = None
) -> list[str]:
    """Entities tied directly to at least ``at_least`` (default ``hub_case_seeds``)
    alerted entities (seeds), over anything but the weak relations; shops and
    over-shared identifiers (already never crossed) are no hubs."""
    at_least = policy.hub_case_seeds if at_least is None else at_least
    counts: dict[str, int] = {}
    for s in sorted(set(seeds)):
        if s in g:
            for n in neighbours(g, s, skip=policy.weak_relations):
                counts[n] = counts.get(n, 0) + 1
    return sorted(n for n, c in counts.items() if c >= at_least and not too_connected(g, n, policy))


def _hub_members(g: Graph, hub: str, policy: CasePolicy, taken: set[str]) -> frozenset[str]:
    """The hub and its own identifiers and records, not the people who paid it (those
    are in its sub-cases): what one hub case page shows."""
    skip = policy.weak_relations | {"paid"}
    own = sorted(n for n in neighbours(g, hub, skip=skip) if n not in taken)
    return frozenset([hub, *own[: policy.max_neighbours_per_seed]])


def _split_large(
    g: Graph,
    groups: list[Group],
    found: list[str],
    policy: CasePolicy,
    hubs: list[str],
    adjacency: StrongAdjacency,
) -> tuple[list[Group], list[str], bool]:
    """One round of splitting the groups bigger than ``max_case_entities``: their
    seeds are clustered again with what links several of them as hubs. True when no
    group needs (or allows) it."""
    large = [i for i, (_, members) in enumerate(groups) if len(members) > policy.max_case_entities]
    if not large:
        return groups, found, True
    large_seeds = {s for i in large for s in groups[i][0]}
    small_seeds = {s for i, (seeds, _) in enumerate(groups) if i not in large for s in seeds}
    more = [
        h
        for h in case_hubs(g, large_seeds, policy, at_least=policy.hub_case_seeds_in_large)
        if h not in small_seeds
    ]
    if not more:
        return groups, found, True
    found = sorted({*found, *more})
    again = cluster_seeds(
        g, large_seeds - set(found), policy, hubs=hubs, case_hubs=found, adjacency=adjacency
    )
    kept = [grp for i, grp in enumerate(groups) if i not in large]
    out = kept + again
    out.sort(key=lambda gm: (-len(gm[0]), gm[0][0]))
    return out, found, False


def cluster_cases(
    g: Graph, seeds: Iterable[str], policy: CasePolicy, hubs: Iterable[str] = ()
) -> tuple[list[Group], list[HubCluster]]:
    """:func:`cluster_seeds` with hub cases split off: the groups, and the hubs that at
    least two groups link to. Each linked group gets the hub as a member (its graph
    shows the link); a hub only one group links to is an ordinary member of it."""
    seed_set = set(seeds)
    hubs = sorted(set(hubs))
    found = case_hubs(g, seed_set, policy)
    adjacency = StrongAdjacency.of(g, policy)  # one for every round
    groups = cluster_seeds(
        g, seed_set - set(found), policy, hubs=hubs, case_hubs=found, adjacency=adjacency
    )
    for _ in range(policy.hub_rounds):
        groups, found, done = _split_large(g, groups, found, policy, hubs, adjacency)
        if done:
            break
    taken = {n for _, members in groups for n in members} | seed_set
    found_set = set(found)
    # node -> the groups holding it, kept up to date as groups grow below (a hub's own
    # members joining a group can link that group to a later hub)
    holders: dict[str, set[int]] = {}
    for i, (_, members) in enumerate(groups):
        for n in members:
            holders.setdefault(n, set()).add(i)
    out: list[HubCluster] = []
    for hub in found:
        # Another hub is no link: the sub-cases of one hub are not the other's.
        near = set(neighbours(g, hub, skip=policy.weak_relations)) - found_set
        linked = tuple(sorted({i for n in near for i in holders.get(n, ())}))
        own = _hub_members(g, hub, policy, taken)
        for i in linked:
            groups[i][1].add(hub)
            holders.setdefault(hub, set()).add(i)
        if len(linked) >= 2:
            out.append(HubCluster(hub, own, linked))
        elif linked:  # not a hub of cases: one case holds it and its alerts
            seeds_of, members = groups[linked[0]]
            if hub in seed_set:
                seeds_of.append(hub)
                seeds_of.sort()
            members.update(own)
            for n in own:
                holders.setdefault(n, set()).add(linked[0])
        elif hub in seed_set:
            groups.append(([hub], set(own)))
            for n in own:
                holders.setdefault(n, set()).add(len(groups) - 1)
    return groups, out
