"""Deduplication and clustering of reports by their normalised identifiers.

Two reports belong to one cluster when they share any identifier (an account, phone,
e-mail, payment handle, URL, device or media hash), directly or through a chain of
other reports. The store does the same incrementally at intake; this pure version
serves batch loads and tests, and defines what "the same cluster" means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller id wins, so cluster ids do not depend on input order.
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def cluster_reports(keys_by_report: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Map each report id to its cluster id (``CL-`` + the smallest report id in it).

    ``keys_by_report`` gives each report's identifier keys (``kind:value``)."""
    uf = _UnionFind()
    first_report_of_key: dict[str, str] = {}
    for report_id, keys in keys_by_report.items():
        uf.find(report_id)
        for key in keys:
            other = first_report_of_key.setdefault(key, report_id)
            if other != report_id:
                uf.union(report_id, other)
    return {rid: cluster_id_for(uf.find(rid)) for rid in keys_by_report}


def cluster_id_for(report_id: str) -> str:
    """The cluster id a report founds when it shares nothing with earlier reports."""
    return f"CL-{report_id}"
