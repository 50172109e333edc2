"""Recruitment ads and fake profiles: the compiled SQL, the score and the explanations.

Reads ``platform_ads`` only: who posted each job or model ad or profile, on which
service, where and when, its short category, and the contact phone, payment handle and
photo hash it gives (never the text, never the media). The unit is a *reused detail*: a
phone, a payment handle or a photo hash that appears in at least ``min_ads`` ads. Each is
scored on (platform-signals.md section 4, the Memex pattern):

- how many accounts gave it (fake profiles: a new account per ad), and that share of
  its ads;
- in how many cities, countries and services it appears (movement circuits);
- the share of its ads in the categories recruiters use ("online job", "model",
  "travel job") and the share that are profiles rather than ads.

An agency re-posting its own ads in several cities gives one phone from one or two
accounts; a shared office phone is one city; neither is scored high. The score is a
logistic function computed in SQL, so DuckDB and Spark give the same numbers;
:func:`alerts` makes one alert per reused detail (``subject_type = entity``, the
detail's graph key), naming the ads, accounts, cities and services. Nothing here opens
an engine: :mod:`daybreak.engines.ads` runs the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.model.alerts import Alert, alert_score
from daybreak.platform.params import check_score_and_weights

DETECTOR_ID = "recruitment_ads"
VERSION = "3"  # change whenever the SQL, the weights or the explanations change
TYPOLOGY = "recruitment_ad_reuse"
INPUT_TABLES = ("platform_ads",)
RISKY = ("online_job", "model", "travel_job")
# column of platform_ads -> the graph's node kind for its value
DETAILS = (("contact_phone", "phone"), ("payment_handle", "payment_handle"), ("photo_pdq", "pdq"))

# Log-odds weights, set by hand from the published pattern (no fit: the synthetic
# networks are written from the same description, so a fit would learn the generator);
# tests/platform_signals/test_ads.py measures them on worlds with look-alikes.
WEIGHTS: Mapping[str, float] = {
    "intercept": -9.0,
    "log_accounts": 2.0,  # ln(accounts that gave the detail): profile details reused
    "account_share": 2.0,  # accounts per ad: a new account for each ad
    "log_cities": 1.5,  # ln(cities): movement circuits (Memex; Ibanez & Suthers)
    "log_services": 0.5,  # ln(services)
    "risky_share": 3.0,  # online job / model / travel job ads
    "profile_share": 1.0,  # profiles rather than ads
    "cross_border": 1.0,  # in more than one country
    "log_linked_cities": 1.0,  # ln(cities of the ads linked to it by a shared detail)
}


@dataclass(frozen=True)
class AdsParams:
    min_ads: int = 2  # a detail needs to appear in this many ads to be scored
    alert_score: float = 0.5
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def __post_init__(self) -> None:
        if self.min_ads < 2:
            raise ValueError(f"min_ads must be at least 2 (a reused detail), got {self.min_ads}")
        check_score_and_weights(self.alert_score, self.weights, WEIGHTS)


# what is counted (distinct values) per reused detail
COUNTED = (("ad_id", "ads"), ("poster", "accounts"), ("place", "places"),
           ("country", "countries"), ("service", "services"))  # fmt: skip


def compile_pipeline(d: Dialect, params: AdsParams) -> Pipeline:
    """The SQL steps; ``ads_details`` holds one scored row per reused detail."""
    p = Pipeline(INPUT_TABLES)
    p.add("ads_uses", _uses_sql(d), inputs=INPUT_TABLES, materialize=True)
    p.add("ads_summary", _summary_sql(d), inputs=("ads_uses",), materialize=True)
    p.add("ads_varied", _varied_sql(), inputs=("ads_uses", "ads_summary"), materialize=True)
    p.add("ads_linked", LINKED_SQL, inputs=("ads_uses",), materialize=True)
    p.add(
        "ads_details",
        _scored_sql(params),
        inputs=("ads_summary", "ads_varied", "ads_linked"),
        materialize=True,
    )
    return p


# Per detail: the cities of every ad linked to it through any detail given together with
# it in an ad (one hop in the entity graph DIG builds from phones, handles and photos;
# platform-signals.md section 4). A network's phone given in two ads of one city is
# linked by its photos and handles to the network's other cities; an ordinary poster's
# details link only to its own ads. Pairs of details first, then their places, so a
# detail in many ads does not multiply rows by its ads twice.
LINKED_SQL = """
SELECT p.kind, p.value, count(DISTINCT q.place) AS linked_places
FROM (
  SELECT DISTINCT a.kind, a.value, b.kind AS other_kind, b.value AS other_value
  FROM ads_uses a JOIN ads_uses b ON b.ad_id = a.ad_id
) p
JOIN (SELECT DISTINCT kind, value, place FROM ads_uses) q
  ON q.kind = p.other_kind AND q.value = p.other_value
GROUP BY p.kind, p.value
"""


def _uses_sql(d: Dialect) -> str:
    """One row per (ad, detail it gives), from one scan of the ads: each ad is looked at
    once per kind of detail and kept where it gives one."""
    poster = "lower(service) || ':' || coalesce(account_id, '(ad ' || ad_id || ')')"
    kinds = ", ".join(f"({d.string(kind)})" for _, kind in DETAILS)
    value = " ".join(f"WHEN {d.string(kind)} THEN a.{column}" for column, kind in DETAILS)
    return f"""
SELECT * FROM (
  SELECT a.ad_id, a.service, a.poster, a.posted_at, a.country, a.place, a.category,
    a.record_type, k.kind, CASE k.kind {value} END AS value
  FROM (
    SELECT ad_id, lower(service) AS service, {poster} AS poster, posted_at, country,
      country || '/' || lower(coalesce(city, '?')) AS place, category, record_type,
      {", ".join(column for column, _ in DETAILS)}
    FROM platform_ads
  ) a
  CROSS JOIN (VALUES {kinds}) AS k(kind)
) u
WHERE value IS NOT NULL
"""


def _summary_sql(d: Dialect) -> str:
    """Per detail, cheap aggregates; a detail in one use (most of them) has at most one
    distinct value of each column, so only details used more than once get distinct
    counts (``ads_varied``)."""
    present = ", ".join(f"count({c}) AS n_{c}" for c, _ in COUNTED)
    return f"""
SELECT kind, value, count(*) AS uses, {present},{shares_of(d)}
FROM ads_uses GROUP BY kind, value
"""


def _varied_sql() -> str:
    counts = ", ".join(f"count(DISTINCT u.{c}) AS {name}" for c, name in COUNTED)
    return f"""
SELECT u.kind, u.value, {counts}
FROM ads_uses u
JOIN ads_summary s ON s.kind = u.kind AND s.value = u.value AND s.uses > 1
GROUP BY u.kind, u.value
"""


def score_of(params: AdsParams) -> str:
    """The score of a detail row ``g`` (its counts and shares), as SQL."""
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
        f" + {w['log_linked_cities']!r} * ln(CAST(g.linked_places AS DOUBLE))"
    )
    return f"CASE WHEN g.ads >= {params.min_ads} THEN 1.0 / (1.0 + exp(-({z}))) ELSE 0.0 END"


def shares_of(d: Dialect) -> str:
    """A detail's shares of risky categories and of profiles, and its first and last
    use, as aggregates over its uses."""
    return f"""
  -- as DOUBLE: Spark reads 1.0 as a DECIMAL
  avg(CAST(CASE WHEN category IN ({d.strings(RISKY)}) THEN 1.0 ELSE 0.0 END AS DOUBLE))
    AS risky_share,
  avg(CAST(CASE WHEN record_type = 'profile' THEN 1.0 ELSE 0.0 END AS DOUBLE))
    AS profile_share,
  min(posted_at) AS first_seen, max(posted_at) AS last_seen"""


def _scored_sql(params: AdsParams) -> str:
    one = "coalesce(v.{name}, s.n_{c})"  # in one use: its value, or none
    counts = ",\n    ".join(
        f"CAST({one.format(c=c, name=name)} AS BIGINT) AS {name}" for c, name in COUNTED
    )
    return f"""
SELECT g.*, {score_of(params)} AS score
FROM (
  SELECT s.kind, s.value,
    {counts},
    s.risky_share, s.profile_share, s.first_seen, s.last_seen, l.linked_places
  FROM ads_summary s
  LEFT JOIN ads_varied v ON v.kind = s.kind AND v.value = s.value
  JOIN ads_linked l ON l.kind = s.kind AND l.value = s.value
) g
"""


DETAILS_QUERY = """
SELECT * FROM ads_details WHERE score >= {min_score} ORDER BY score DESC, kind, value
"""
EVIDENCE_QUERY = """
SELECT u.kind, u.value, u.ad_id, u.poster, u.service, u.place, u.posted_at, u.category
FROM ads_uses u JOIN ads_details d ON d.kind = u.kind AND d.value = u.value
WHERE d.score >= {min_score}
ORDER BY u.kind, u.value, u.posted_at, u.ad_id
"""


def subject_of(kind: str, value: str) -> str:
    """The detail's graph node key (``phone:…``, ``payment_handle:…``, ``hash:pdq:…``)."""
    return f"hash:pdq:{value}" if kind == "pdq" else f"{kind}:{value}"


_WHAT = {"phone": "Phone", "payment_handle": "Payment handle", "pdq": "Photo hash (PDQ)"}


def _day(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d") if isinstance(ts, datetime) else str(ts)


def explain(detail: Mapping[str, Any], uses: Sequence[Mapping[str, Any]]) -> str:
    """Plain language naming the evidence: the ads, accounts, cities and services."""
    places = sorted({str(u["place"]).split("/", 1)[1].title() for u in uses})
    services = sorted({str(u["service"]) for u in uses})
    ads = [str(u["ad_id"]) for u in uses]
    return (
        f"{_WHAT[str(detail['kind'])]} {detail['value']} appears in {int(detail['ads'])} ads "
        f"and profiles ({100 * float(detail['profile_share']):.0f}% profiles) posted by "
        f"{int(detail['accounts'])} accounts on {int(detail['services'])} service(s) "
        f"({', '.join(services)}) in {int(detail['places'])} cities "
        f"({', '.join(places[:6])}{' …' if len(places) > 6 else ''}) of "
        f"{int(detail['countries'])} country(ies), between {_day(detail['first_seen'])} and "
        f"{_day(detail['last_seen'])}; {100 * float(detail['risky_share']):.0f}% are online "
        f"job, model or travel job ads. E.g. {', '.join(ads[:5])}"
        f"{f' and {len(ads) - 5} more' if len(ads) > 5 else ''}."
    )


def alerts(details: Sequence[Mapping[str, Any]], uses: Sequence[Mapping[str, Any]]) -> list[Alert]:
    """One alert per reused detail above the alert score, highest score first; evidence
    ids are its ads (``platform_ads.ad_id``)."""
    by_detail: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for u in uses:
        by_detail.setdefault((str(u["kind"]), str(u["value"])), []).append(u)
    out = []
    for d in details:
        key = (str(d["kind"]), str(d["value"]))
        evidence = by_detail.get(key, [])
        subject = subject_of(*key)
        out.append(
            Alert(
                alert_id=f"{DETECTOR_ID}:{subject}",
                detector=DETECTOR_ID,
                subject_type="entity",
                subject_id=subject,
                score=alert_score(float(d["score"])),
                typologies=(TYPOLOGY,),
                explanation=explain(d, evidence),
                evidence_source="platform_ads",
                evidence_ids=tuple(dict.fromkeys(str(u["ad_id"]) for u in evidence)),
                first_seen=d["first_seen"],
                last_seen=d["last_seen"],
            )
        )
    return sorted(out, key=lambda a: (-a.score, a.alert_id))


__all__ = [
    "DETAILS",
    "DETAILS_QUERY",
    "DETECTOR_ID",
    "EVIDENCE_QUERY",
    "INPUT_TABLES",
    "LINKED_SQL",
    "VERSION",
    "WEIGHTS",
    "AdsParams",
    "alerts",
    "compile_pipeline",
    "explain",
    "score_of",
    "shares_of",
    "subject_of",
]
