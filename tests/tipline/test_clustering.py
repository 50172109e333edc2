"""Clustering reports by shared identifiers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daybreak.tipline.clustering import cluster_reports


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
