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
    RISKY,
    AdsParams,
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
    p.add("ads_details", _scored_sql(d, params), inputs=("ads_uses",), materialize=True)
    return p


def _scored_sql(d: Dialect, params: AdsParams) -> str:
    w = {k: float(v) for k, v in params.weights.items()}
    z = (
        f"{w['intercept']!r}"
        f" + {w['log_accounts']!r} * ln(CAST(g.accounts AS DOUBLE))"
        f" + {w['account_share']!r} * CAST(g.accounts AS DOUBLE) / g.ads"
        f" + {w['log_cities']!r} * ln(CAST(g.places AS DOUBLE))"
        f" + {w['log_services']!r} * ln(CAST(g.services AS DOUBLE))"
        f" + {w['risky_share']!r} * g.risky_share"
        f" + {w['profile_share']!r} * g.profile_share"
        f" + {w['cross_border']!r} * CASE WHEN g.countries > 1 THEN 1 ELSE 0 END"
    )
    return f"""
SELECT g.*, CASE WHEN g.ads >= {params.min_ads} THEN 1.0 / (1.0 + exp(-({z}))) ELSE 0.0 END
  AS score
FROM (
  SELECT kind, value,
    count(DISTINCT ad_id) AS ads,
    count(DISTINCT poster) AS accounts,
    count(DISTINCT place) AS places,
    count(DISTINCT country) AS countries,
    count(DISTINCT service) AS services,
    -- as DOUBLE: Spark reads 1.0 as a DECIMAL
    avg(CAST(CASE WHEN category IN ({d.strings(RISKY)}) THEN 1.0 ELSE 0.0 END AS DOUBLE))
      AS risky_share,
    avg(CAST(CASE WHEN record_type = 'profile' THEN 1.0 ELSE 0.0 END AS DOUBLE))
      AS profile_share,
    min(posted_at) AS first_seen, max(posted_at) AS last_seen
  FROM ads_uses GROUP BY kind, value
) g
"""


__all__ = ["DETAILS_QUERY", "EVIDENCE_QUERY", "compile_pipeline"]
