"""Deduplication and clustering of reports by their normalised identifiers.

Two reports belong to one cluster when they share any identifier (an account, phone,
e-mail, payment handle, URL, device or media hash), directly or through a chain of
other reports. :class:`ClusterIndex` places reports one at a time (the store keeps one
per write batch, loaded with the clusters the batch's identifiers already belong to);
:class:`ReportClusters` adds each cluster's running summary and the triage that
depends on it; :func:`cluster_reports` runs the index over a whole set of reports and
defines what "the same cluster" means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from daybreak.tipline.intake import ReportIn
from daybreak.tipline.triage import Triage, context_of, triage


def cluster_id_for(report_id: str) -> str:
    """The cluster id a report founds when it shares nothing with earlier reports."""
    return f"CL-{report_id}"


@dataclass(frozen=True, slots=True)
class Join:
    """Where :meth:`ClusterIndex.join` put a report."""

    cluster_id: str
    merged: list[str]  # clusters the report joined into ``cluster_id`` (merged away)
    new_keys: list[str]  # identifier keys first seen with this report, now owned


class ClusterIndex:
    """Which cluster owns each identifier key (the cluster of the first report that
    carried it), and which clusters were merged into which.

    A report sharing keys with several clusters joins them into the one with the
    smallest id; the others redirect to it. Owners may name a cluster merged away
    since: :meth:`resolve` follows the redirects."""

    def __init__(self, owner: Mapping[str, str] | None = None) -> None:
        self.owner: dict[str, str] = dict(owner or {})
        self.redirect: dict[str, str] = {}

    def resolve(self, cluster_id: str) -> str:
        while cluster_id in self.redirect:
            cluster_id = self.redirect[cluster_id]
        return cluster_id

    def matching(self, keys: Iterable[str]) -> list[str]:
        """The current clusters owning any of ``keys``, smallest id first."""
        return sorted({self.resolve(self.owner[k]) for k in keys if k in self.owner})

    def join(self, report_id: str, keys: Iterable[str]) -> Join:
        keys = list(keys)
        matched = self.matching(keys)
        if matched:
            cluster_id = matched[0]
            for other in matched[1:]:
                self.redirect[other] = cluster_id
        else:
            cluster_id = cluster_id_for(report_id)
        new_keys = []
        for key in keys:
            if key not in self.owner:
                self.owner[key] = cluster_id
                new_keys.append(key)
        return Join(cluster_id, matched[1:], new_keys)


def cluster_reports(keys_by_report: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Map each report id to its cluster id (``CL-`` + the smallest report id in it).

    ``keys_by_report`` gives each report's identifier keys (``kind:value``). Reports
    are placed in id order, so each cluster's smallest report founds it."""
    index = ClusterIndex()
    placed = {
        rid: index.join(rid, keys_by_report[rid]).cluster_id for rid in sorted(keys_by_report)
    }
    return {rid: index.resolve(placed[rid]) for rid in keys_by_report}


@dataclass(slots=True)
class ClusterTally:
    """A cluster's running summary: its reports, most urgent tier, highest score and
    first and last report times."""

    count: int
    tier: int
    score: float
    created_at: datetime
    updated_at: datetime
    stored: bool = False  # already in the store: updated there, not inserted

    def absorb(self, other: ClusterTally) -> None:
        """Take in a cluster merged into this one (its count is added by the caller,
        who knows the reports the merge brought together)."""
        self.tier = min(self.tier, other.tier)
        self.score = max(self.score, other.score)
        self.created_at = min(self.created_at, other.created_at)


@dataclass(frozen=True, slots=True)
class Placement:
    """A report's cluster and triage, and the keys its cluster now owns."""

    cluster_id: str
    triage: Triage
    new_keys: list[str]


class ReportClusters:
    """Clusters with their summaries, updated report by report: each report is triaged
    in the context of its cluster (earlier reports, linked alerts), then joins it."""

    def __init__(
        self,
        owner: Mapping[str, str] | None = None,
        summaries: Mapping[str, ClusterTally] | None = None,
    ) -> None:
        self.index = ClusterIndex(owner)
        self.summaries: dict[str, ClusterTally] = dict(summaries or {})
        self.merged_stored: list[str] = []  # stored clusters merged away: to delete

    def place(
        self,
        report_id: str,
        report: ReportIn,
        keys: list[str],
        alert_sources: Iterable[str],
        at: datetime,
    ) -> Placement:
        """Triage the report against its cluster, then add it there (founding,
        extending or merging clusters). ``alert_sources``: the detector of each alert on
        the report's identifiers; ``at``: when the report was received."""
        matched = self.index.matching(keys)
        prior_reports = sum(self.summaries[c].count for c in matched)
        result = triage(report, context_of(prior_reports, alert_sources))
        tier = int(result.tier)
        joined = self.index.join(report_id, keys)
        if matched:
            target = self.summaries[joined.cluster_id]
            for other in joined.merged:
                old = self.summaries.pop(other)
                if old.stored:
                    self.merged_stored.append(other)
                target.absorb(old)
            target.count = prior_reports + 1
            target.tier = min(target.tier, tier)
            target.score = max(target.score, result.score)
            target.updated_at = max(target.updated_at, at)
        else:
            self.summaries[joined.cluster_id] = ClusterTally(1, tier, result.score, at, at)
        return Placement(joined.cluster_id, result, joined.new_keys)
