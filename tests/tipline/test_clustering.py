"""Clustering reports by shared identifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tipline_samples import report

from daybreak.tipline.clustering import (
    ClusterIndex,
    ClusterTally,
    Join,
    ReportClusters,
    cluster_reports,
)
from daybreak.tipline.triage import TriageContext, context_of, triage


def test_shared_identifiers_join_clusters_transitively() -> None:
    got = cluster_reports(
        {
            "R3": ["phone:+639171234567", "account:x:b"],
            "R1": ["account:x:a"],
            "R2": ["account:x:a", "phone:+639171234567"],
            "R4": ["email:z@example.org"],
        }
    )
    assert got["R1"] == got["R2"] == got["R3"] == "CL-R1"
    assert got["R4"] == "CL-R4"


@given(
    st.dictionaries(
        st.text("R0123456789", min_size=2, max_size=3),
        st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=3),
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_clusters_do_not_depend_on_input_order(data: dict[str, list[str]], rnd: object) -> None:
    items = list(data.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert cluster_reports(dict(items)) == cluster_reports(data)
    got = cluster_reports(data)
    for a, ka in data.items():
        for b, kb in data.items():
            if set(ka) & set(kb):
                assert got[a] == got[b]


def test_cluster_ids_come_from_the_smallest_report_whatever_the_arrival() -> None:
    # R2 arrives first and founds a cluster that R1 later joins: the batch definition
    # still names the cluster after R1 (the index places reports in id order).
    got = cluster_reports({"R2": ["a"], "R1": ["a"]})
    assert got == {"R1": "CL-R1", "R2": "CL-R1"}


def test_a_report_sharing_two_clusters_merges_them_into_the_smallest() -> None:
    index = ClusterIndex()
    assert index.join("R1", ["a"]) == Join("CL-R1", [], ["a"])
    assert index.join("R2", ["b"]) == Join("CL-R2", [], ["b"])
    bridge = index.join("R3", ["b", "a", "c"])
    assert bridge == Join("CL-R1", ["CL-R2"], ["c"])
    assert index.resolve("CL-R2") == "CL-R1"
    assert index.matching(["b"]) == ["CL-R1"]


AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_report_clusters_triage_in_context_and_merge_summaries() -> None:
    stored = ClusterTally(3, 5, 0.3, AT - timedelta(days=2), AT - timedelta(days=1), stored=True)
    clusters = ReportClusters({"k-old": "CL-R0"}, {"CL-R0": stored})
    lone = clusters.place("R5", report(), ["k-new"], [], AT)
    assert lone.cluster_id == "CL-R5" and lone.new_keys == ["k-new"]
    assert clusters.summaries["CL-R5"] == ClusterTally(
        1, int(lone.triage.tier), lone.triage.score, AT, AT
    )

    later = AT + timedelta(hours=1)
    bridge = clusters.place("R6", report(), ["k-new", "k-old"], ["payments", "media"], later)
    # Triaged knowing the four earlier reports of both clusters and the two alerts.
    assert bridge.triage == triage(report(), TriageContext(4, 1, 1))
    assert bridge.cluster_id == "CL-R0" and bridge.new_keys == []
    merged = clusters.summaries["CL-R0"]
    assert (merged.count, merged.created_at, merged.updated_at) == (5, stored.created_at, later)
    assert merged.tier == min(5, int(lone.triage.tier), int(bridge.triage.tier))
    assert merged.score == max(0.3, lone.triage.score, bridge.triage.score)
    assert "CL-R5" not in clusters.summaries
    assert clusters.merged_stored == []  # CL-R5 was never stored: nothing to delete


def test_merging_away_a_stored_cluster_marks_it_for_deletion() -> None:
    one = ClusterTally(1, 6, 0.1, AT, AT, stored=True)
    two = ClusterTally(1, 6, 0.1, AT, AT, stored=True)
    clusters = ReportClusters({"a": "CL-R1", "b": "CL-R2"}, {"CL-R1": one, "CL-R2": two})
    clusters.place("R3", report(), ["a", "b"], [], AT)
    assert clusters.merged_stored == ["CL-R2"]
    assert clusters.summaries["CL-R1"].count == 3


def test_context_counts_hash_matches_apart_from_linked_alerts() -> None:
    assert context_of(2, ["payments", "media", "media"]) == TriageContext(2, 1, 2)
