"""Server-side starting layout for a case's entity graph.

The page renders the graph as SVG with these positions, so it reads without JavaScript;
``static/graph.js`` then lets the analyst drag, nudge with the keyboard and re-run the
layout. A simple Fruchterman-Reingold pass, deterministic (seeded from the node keys)
so the same case always opens the same way.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from daybreak.model.cases import GraphEdge, GraphNode

WIDTH = 960
HEIGHT = 560
MAX_NODES = 150  # beyond this a force layout is unreadable; the lists show everything

# One colour per entity kind, no two alike, so that the legend names exactly one kind per
# colour (each checked for contrast against the white background, >= 3:1).
KIND_COLOURS = {
    "customer": "#1f5fa8",
    "person": "#0d47a1",
    "beneficiary": "#8a3b00",
    "account": "#5b3a99",
    "username": "#8e24aa",
    "phone": "#00695c",
    "email": "#2e7d32",
    "ip": "#4e5b31",
    "device": "#6d5d00",
    "payment_handle": "#b23c17",
    "bank_account": "#795548",
    "crypto_wallet": "#c62828",
    "report": "#a1145a",
    "media": "#5d4037",
    "hash": "#616161",
    "url": "#37474f",
}
DEFAULT_COLOUR = "#455a64"


@dataclass(frozen=True, slots=True)
class PlacedNode:
    node: GraphNode
    x: float
    y: float
    colour: str
    degree: int
    index: int


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    edge: GraphEdge
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True, slots=True)
class GraphLayout:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    truncated: int  # nodes left out of the picture
    kinds: list[tuple[str, str]]  # legend: (kind, colour)
    width: int = WIDTH
    height: int = HEIGHT
    subject: str | None = None  # the entity the case is about, marked on the graph
    relations: tuple[str, ...] = ()  # the relation kinds drawn, for the filter
    first_day: str = ""  # the links' time span (ISO dates), for the time filter
    last_day: str = ""


def colour_of(kind: str) -> str:
    return KIND_COLOURS.get(kind, DEFAULT_COLOUR)


def subject_of(nodes: list[GraphNode], edges: list[GraphEdge], subject: str | None) -> str | None:
    """The case's subject when it names a node, else (cases built before subjects were
    recorded) its best connected alerted entity."""
    keys = {n.key for n in nodes}
    if subject in keys:
        return subject
    degree: dict[str, int] = {}
    for e in edges:
        degree[e.source] = degree.get(e.source, 0) + 1
        degree[e.target] = degree.get(e.target, 0) + 1
    alerted = sorted((-degree.get(n.key, 0), n.key) for n in nodes if n.alerted)
    return alerted[0][1] if alerted else None


def _seed(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2**32


def _keep(nodes: list[GraphNode], edges: list[GraphEdge], subject: str | None) -> list[GraphNode]:
    """The subject, then alerted nodes, then the best connected, up to MAX_NODES."""
    degree: dict[str, int] = {}
    for e in edges:
        degree[e.source] = degree.get(e.source, 0) + 1
        degree[e.target] = degree.get(e.target, 0) + 1
    ranked = sorted(
        nodes, key=lambda n: (n.key != subject, not n.alerted, -degree.get(n.key, 0), n.key)
    )
    return ranked[:MAX_NODES]


def layout(
    nodes: list[GraphNode], edges: list[GraphEdge], subject: str | None = None
) -> GraphLayout:
    subject = subject_of(nodes, edges, subject)
    kept = _keep(nodes, edges, subject)
    keys = {n.key for n in kept}
    used = [e for e in edges if e.source in keys and e.target in keys and e.source != e.target]
    n = len(kept)
    pos = {
        node.key: [
            WIDTH / 2
            + math.cos(2 * math.pi * _seed(node.key)) * WIDTH * 0.3 * (0.3 + _seed("r" + node.key)),
            HEIGHT / 2
            + math.sin(2 * math.pi * _seed(node.key))
            * HEIGHT
            * 0.3
            * (0.3 + _seed("r" + node.key)),
        ]
        for node in kept
    }
    if n > 1:
        # The pass is O(n^2): fewer rounds for big graphs keeps a page under ~0.3 s.
        iterations = max(25, min(120, 300_000 // (n * n)))
        k = math.sqrt(WIDTH * HEIGHT / n) * 0.6
        temp = WIDTH / 10
        for _ in range(iterations):
            disp = {key: [0.0, 0.0] for key in pos}
            items = list(pos.items())
            for i, (a, pa) in enumerate(items):
                for b, pb in items[i + 1 :]:
                    dx, dy = pa[0] - pb[0], pa[1] - pb[1]
                    dist = max(math.hypot(dx, dy), 0.01)
                    force = k * k / dist
                    disp[a][0] += dx / dist * force
                    disp[a][1] += dy / dist * force
                    disp[b][0] -= dx / dist * force
                    disp[b][1] -= dy / dist * force
            for e in used:
                pa, pb = pos[e.source], pos[e.target]
                dx, dy = pa[0] - pb[0], pa[1] - pb[1]
                dist = max(math.hypot(dx, dy), 0.01)
                force = dist * dist / k
                disp[e.source][0] -= dx / dist * force
                disp[e.source][1] -= dy / dist * force
                disp[e.target][0] += dx / dist * force
                disp[e.target][1] += dy / dist * force
            for key, (dx, dy) in disp.items():
                # A weak pull to the centre keeps unconnected parts on screen.
                dx += (WIDTH / 2 - pos[key][0]) * 0.05
                dy += (HEIGHT / 2 - pos[key][1]) * 0.05
                length = max(math.hypot(dx, dy), 0.01)
                step = min(length, temp)
                pos[key][0] = min(WIDTH - 40, max(40, pos[key][0] + dx / length * step))
                pos[key][1] = min(HEIGHT - 30, max(30, pos[key][1] + dy / length * step))
            temp *= 0.96
    degree = {key: 0 for key in keys}
    for e in used:
        degree[e.source] += 1
        degree[e.target] += 1
    placed = [
        PlacedNode(
            node,
            round(pos[node.key][0], 1),
            round(pos[node.key][1], 1),
            colour_of(node.kind),
            degree[node.key],
            i,
        )
        for i, node in enumerate(kept)
    ]
    placed_edges = [
        PlacedEdge(
            e,
            round(pos[e.source][0], 1),
            round(pos[e.source][1], 1),
            round(pos[e.target][0], 1),
            round(pos[e.target][1], 1),
        )
        for e in used
    ]
    kinds = sorted({(p.node.kind, p.colour) for p in placed})
    days = sorted(t.date().isoformat() for e in used for t in (e.first_seen, e.last_seen) if t)
    return GraphLayout(
        placed,
        placed_edges,
        len(nodes) - len(kept),
        kinds,
        subject=subject,
        relations=tuple(sorted({e.relation for e in used})),
        first_day=days[0] if days else "",
        last_day=days[-1] if days else "",
    )


MAX_NEIGHBOURS = 60  # entities one expansion adds


def neighbourhood(
    nodes: list[GraphNode], edges: list[GraphEdge], key: str
) -> dict[str, object] | None:
    """The JSON an expansion fetches: the entity's neighbours in the case graph (up to
    MAX_NEIGHBOURS, alerted first) and the links to them; None when the case has no
    such entity."""
    by_key = {n.key: n for n in nodes}
    if key not in by_key:
        return None
    links = [e for e in edges if key in (e.source, e.target) and e.source != e.target]
    near = sorted(
        {e.target if e.source == key else e.source for e in links},
        key=lambda k: (not by_key[k].alerted if k in by_key else True, k),
    )
    shown = set(near[:MAX_NEIGHBOURS])
    return {
        "key": key,
        "nodes": [
            {
                "key": k,
                "kind": by_key[k].kind,
                "label": by_key[k].label,
                "alerted": by_key[k].alerted,
                "colour": colour_of(by_key[k].kind),
            }
            for k in sorted(shown)
            if k in by_key
        ],
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "relation": e.relation,
                "count": e.count,
                "first_seen": e.first_seen.date().isoformat() if e.first_seen else "",
                "last_seen": e.last_seen.date().isoformat() if e.last_seen else "",
            }
            for e in links
            if (e.target if e.source == key else e.source) in shown
        ],
        "more": max(0, len(near) - len(shown)),
    }
