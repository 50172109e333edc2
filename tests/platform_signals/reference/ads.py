"""The ads detector's SQL plan as it was before the speed work of issue #16 (the
reference ``test_plan_equivalence`` compares the faster plan with); what did not change
is imported from the detector."""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.platform.ads import (
    DETAILS,
    DETAILS_QUERY,
    EVIDENCE_QUERY,
    INPUT_TABLES,
    NETWORK_COLUMNS,
    NETWORK_QUERY,
    AdsParams,
    add_network_steps,
    score_of,
    shares_of,
)


def compile_pipeline(d: Dialect, params: AdsParams) -> Pipeline:
    """The SQL steps; ``ads_details`` holds one scored row per reused detail."""
    p = Pipeline(INPUT_TABLES)
    poster = "lower(service) || ':' || coalesce(account_id, '(ad ' || ad_id || ')')"
    parts = [
        f"""
SELECT ad_id, lower(service) AS service, {poster} AS poster, posted_at, country,
  country || '/' || lower(coalesce(city, '?')) AS place, category, record_type,
  {d.string(kind)} AS kind, {column} AS value
FROM platform_ads WHERE {column} IS NOT NULL"""
        for column, kind in DETAILS
    ]
    p.add("ads_uses", "\nUNION ALL\n".join(parts), inputs=INPUT_TABLES, materialize=True)
    add_network_steps(p, d, params.min_ads)  # networks came after the speed work: the same
    p.add("ads_details", _scored_sql(d, params),
          inputs=("ads_uses", "ads_network_of", "ads_networks"), materialize=True)  # fmt: skip
    return p


def _scored_sql(d: Dialect, params: AdsParams) -> str:
    return f"""
SELECT g.*, {score_of(params)} AS score
FROM (SELECT u.*, {", ".join("n." + c for c in NETWORK_COLUMNS)} FROM (
  SELECT kind, value,
    count(DISTINCT ad_id) AS ads,
    count(DISTINCT poster) AS accounts,
    count(DISTINCT place) AS places,
    count(DISTINCT country) AS countries,
    count(DISTINCT service) AS services,{shares_of(d)}
  FROM ads_uses GROUP BY kind, value
) u LEFT JOIN ads_network_of l ON l.node = u.kind || ':' || u.value
LEFT JOIN ads_networks n ON n.network = l.label
) g
"""


__all__ = ["DETAILS_QUERY", "EVIDENCE_QUERY", "NETWORK_QUERY", "compile_pipeline"]
