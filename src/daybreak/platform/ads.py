"""Recruitment ads and fake profiles: the compiled SQL, the score and the explanations.

Reads ``platform_ads`` only: who posted each job or model ad or profile, on which
service, where and when, its short category, and the contact phone, payment handle and
photo hash it gives (never the text, never the media). The unit is a *reused detail*: a
phone, a payment handle or a photo hash that appears in at least ``min_ads`` ads. Each is
scored on (platform-signals.md section 4, the Memex pattern) its own ads and those of its
*network*: every ad linked to it through shared phones, handles, photos and posting
accounts, transitively (the connected component of the entity graph DIG builds):

- accounts per ad (fake profiles: a new account for each ad), the share of its ads in
  the categories recruiters use ("online job", "model", "travel job"), the share of
  profiles, and whether it crosses a border;
- its network's accounts, cities and countries (movement circuits), the network's share
  of recruiters' categories, whether the network posts both ads and profiles, and the
  most phones or photos one of the network's accounts gave (one account showing several
  people or rotating numbers).

A network's detail given in two ads of one city inherits its network's circuit; an
agency re-posting its own ads in several cities is one or a few accounts with one phone
and logo and everyday categories; a shared office phone joins several businesses in one
city, each with its own photo. Neither is scored high. The score is a
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
VERSION = "5"  # change whenever the SQL, the weights or the explanations change
TYPOLOGY = "recruitment_ad_reuse"
INPUT_TABLES = ("platform_ads",)
RISKY = ("online_job", "model", "travel_job")
# column of platform_ads -> the graph's node kind for its value
DETAILS = (("contact_phone", "phone"), ("payment_handle", "payment_handle"), ("photo_pdq", "pdq"))

# Log-odds weights, set by hand from the published pattern (round numbers, no fit: the
# synthetic networks are written from the same description, so a fit would learn the
# generator), then checked on the development worlds (docs/detectors/recruitment_ads.md);
# tests/platform_signals/test_ads.py measures them on worlds with look-alikes.
WEIGHTS: Mapping[str, float] = {
    "intercept": -10.0,
    # the detail's own ads
    "account_share": 2.0,  # accounts per ad: a new account for each ad
    "risky_share": 1.5,  # online job / model / travel job ads
    "profile_share": 0.5,  # profiles rather than ads
    "cross_border": 1.0,  # in more than one country
    # its network's ads (every ad linked to it through shared details and accounts)
    "log_network_accounts": 2.0,  # ln(accounts): profile details reused across accounts
    "log_network_cities": 2.0,  # ln(cities): movement circuits (Memex; Ibanez & Suthers)
    "network_cross_border": 2.0,  # recruits in one country for work in another (UNODC)
    "network_risky_share": 2.0,  # the network's share of recruiters' categories
    "ads_and_profiles": 2.0,  # 4 p (1 - p), p its share of profiles: both ads and profiles
    "log_most_per_account": 3.0,  # ln(most phones or photos of one account): one writer
    # posting for several victims (InfoShield), rotating numbers (Memex)
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
    """The SQL steps; ``ads_details`` holds one scored row per detail (``ads_scored``
    those in two or more uses, the only ones that can score above 0)."""
    p = Pipeline(INPUT_TABLES)
    p.add("ads_posts", _posts_sql(), inputs=INPUT_TABLES)
    p.add("ads_uses", _uses_sql(d), inputs=("ads_posts",))
    p.add("ads_reused", _reused_sql(d), inputs=INPUT_TABLES, materialize=True)
    p.add("ads_reused_uses", _reused_uses_sql(d), inputs=("ads_posts", "ads_reused"),
          materialize=True)  # fmt: skip
    p.add("ads_nodes", NODES_SQL, inputs=("ads_posts", "ads_reused_uses"), materialize=True)
    add_network_steps(p, d, params.min_ads)
    p.add("ads_scored", _scored_sql(d, params),
          inputs=("ads_reused_uses", "ads_network_of", "ads_networks"),
          materialize=True)  # fmt: skip
    p.add("ads_details", _details_sql(d), inputs=("ads_scored", "ads_uses", "ads_reused"))
    return p


def _posts_sql() -> str:
    """One row per ad (``ad_id`` is unique) with its poster (``service:account_id``; an
    ad without an account is its own poster) and place, and ``gives``: 1 when it gives a
    phone, a handle or a photo (only those ads are in ``ads_uses``)."""
    poster = "lower(service) || ':' || coalesce(account_id, '(ad ' || ad_id || ')')"
    columns = ", ".join(column for column, _ in DETAILS)
    given = " OR ".join(f"{column} IS NOT NULL" for column, _ in DETAILS)
    return f"""
SELECT ad_id, lower(service) AS service, {poster} AS poster, account_id, posted_at, country,
  country || '/' || lower(coalesce(city, '?')) AS place, category, record_type, {columns},
  CASE WHEN {given} THEN 1 ELSE 0 END AS gives
FROM platform_ads
"""


def _uses_sql(d: Dialect, posts: str = "ads_posts") -> str:
    """One row per (ad, detail it gives) of the ads ``posts`` (SQL of rows of
    ``ads_posts``): each ad looked at once per kind of detail and kept where it gives
    one."""
    kinds = ", ".join(f"({d.string(kind)})" for _, kind in DETAILS)
    value = " ".join(f"WHEN {d.string(kind)} THEN a.{column}" for column, kind in DETAILS)
    return f"""
SELECT * FROM (
  SELECT a.ad_id, a.service, a.poster, a.posted_at, a.country, a.place, a.category,
    a.record_type, k.kind, CASE k.kind {value} END AS value
  FROM {posts} a
  CROSS JOIN (VALUES {kinds}) AS k(kind)
) u
WHERE value IS NOT NULL
"""


def _reused_sql(d: Dialect) -> str:
    """The details in two or more uses: one group-by per detail column, read in place
    (most details appear once, so this is the only step that groups every value)."""
    return "\nUNION ALL\n".join(
        f"""SELECT {d.string(kind)} AS kind, {column} AS value, count(*) AS uses
FROM platform_ads WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1"""
        for column, kind in DETAILS
    )


def _reused_uses_sql(d: Dialect) -> str:
    """The uses of the reused details, from the ads giving one (a few percent)."""
    giving = " OR ".join(
        f"{column} IN (SELECT value FROM ads_reused WHERE kind = {d.string(kind)})"
        for column, kind in DETAILS
    )
    posts = f"(SELECT * FROM ads_posts WHERE {giving})"
    return f"""
SELECT u.*, r.uses
FROM ({_uses_sql(d, posts)}) u JOIN ads_reused r ON r.kind = u.kind AND r.value = u.value
"""


# Networks: connected components of the graph whose nodes are the details and the
# posting accounts, an ad joining every node it names (the entity graph DIG builds from
# phones, handles and photos; Memex). Only nodes in two or more ads can join ads, so
# only they are kept (most details and many accounts appear once); ``ads`` counts a
# node's ads. Label propagation: every node starts as its own label; a round gives each
# ad the least label of its nodes and each node the least label of its ads, then lets a
# node take its label's label (pointer jumping, so a chain of k links needs about log2 k
# rounds, not k). After NETWORK_ROUNDS rounds a network is every ad within at least
# 2^NETWORK_ROUNDS links of each other.
#
# Only the ads naming two or more nodes (``ads_links``) carry labels between nodes: an
# ad naming one node gives that node its own label back, which it already has through
# its other ads, or keeps if it has none. So the rounds run over the linking ads only
# and a node in none of them is its own network: the same labels as rounds over every
# node, for a few percent of the rows where most ads name one account and their own
# details. An ad names one account, so every linking ad gives a reused detail: the
# accounts kept are those that posted such an ad (an account no linking ad names is a
# network of its own without a scored detail, never described).
NETWORK_ROUNDS = 4

NODES_SQL = """
SELECT ad_id, kind || ':' || value AS node, uses AS ads FROM ads_reused_uses
UNION ALL
SELECT ad_id, node, ads FROM (
  SELECT ad_id, 'account:' || poster AS node, count(*) OVER (PARTITION BY poster) AS ads
  FROM ads_posts
  WHERE gives = 1 AND poster IN (SELECT poster FROM ads_reused_uses)
) posted
WHERE ads > 1
"""

LINKS_SQL = """
SELECT n.ad_id, n.node FROM ads_nodes n
WHERE n.ad_id IN (SELECT ad_id FROM ads_nodes GROUP BY ad_id HAVING min(node) < max(node))
"""


def _spread_sql(previous: str) -> str:
    """Each node's least label among the ads it is in, from (node, label) ``previous``."""
    return f"""
SELECT n.node, min(a.label) AS label
FROM ads_links n
JOIN (
  SELECT m.ad_id, min(c.label) AS label
  FROM ads_links m JOIN {previous} c ON c.node = m.node
  GROUP BY m.ad_id
) a ON a.ad_id = n.ad_id
GROUP BY n.node
"""


def _jump_sql(spread: str) -> str:
    """Each node's label, or its label's label when that is less (pointer jumping)."""
    return f"""
SELECT s.node, least(s.label, coalesce(j.label, s.label)) AS label
FROM {spread} s LEFT JOIN {spread} j ON j.node = s.label
"""


# Every node's network: its label after the rounds, or itself when no linking ad names it.
NETWORK_OF_SQL = """
SELECT DISTINCT n.node, coalesce(l.label, n.node) AS label
FROM ads_nodes n LEFT JOIN {rounds} l ON l.node = n.node
"""

# Per network (component): its ads, accounts, cities, countries, services, the share of
# its ads in recruiters' categories and of profiles, how many phones, photos and handles
# it gives, and the most phones or photos one of its accounts gave (an account showing
# several people or rotating numbers; InfoShield: one writer posts for 4-6 victims).
# Only the networks of scored details (in at least ``min_ads`` ads) are described.
NETWORK_ADS_SQL = """
SELECT a.ad_id, a.network, u.poster, u.place, u.country, u.service, u.category,
  u.record_type
FROM (
  SELECT n.ad_id, min(l.label) AS network
  FROM ads_nodes n JOIN ads_network_of l ON l.node = n.node
  GROUP BY n.ad_id
) a
JOIN ads_posts u ON u.ad_id = a.ad_id
WHERE a.network IN (
  SELECT l.label
  FROM ads_nodes n JOIN ads_network_of l ON l.node = n.node
  WHERE n.ads >= {min_ads} AND n.node NOT LIKE 'account:%'
)
"""


def _network_uses_sql(d: Dialect) -> str:
    """The uses (ad, detail) of the described networks' ads."""
    posts = "(SELECT * FROM ads_posts WHERE ad_id IN (SELECT ad_id FROM ads_network_ads))"
    return f"""
SELECT a.network, u.poster, u.kind, u.value
FROM ({_uses_sql(d, posts)}) u JOIN ads_network_ads a ON a.ad_id = u.ad_id
"""


def _networks_sql(d: Dialect) -> str:
    kinds = ",\n  ".join(
        f"count(DISTINCT CASE WHEN u.kind = {d.string(kind)} THEN u.value END) AS net_{kind}s"
        for _, kind in DETAILS
    )
    return f"""
SELECT a.network, a.net_ads, a.net_accounts, a.net_places, a.net_countries, a.net_services,
  a.net_risky_share, a.net_profile_share, k.net_phones, k.net_pdqs, k.net_payment_handles,
  r.net_most_per_account
FROM (
  SELECT network, count(*) AS net_ads, count(DISTINCT poster) AS net_accounts,
    count(DISTINCT place) AS net_places, count(DISTINCT country) AS net_countries,
    count(DISTINCT service) AS net_services,
    avg(CAST(CASE WHEN category IN ({d.strings(RISKY)}) THEN 1.0 ELSE 0.0 END AS DOUBLE))
      AS net_risky_share,
    avg(CAST(CASE WHEN record_type = 'profile' THEN 1.0 ELSE 0.0 END AS DOUBLE))
      AS net_profile_share
  FROM ads_network_ads GROUP BY network
) a
JOIN (
  SELECT u.network,
  {kinds}
  FROM ads_network_uses u
  GROUP BY u.network
) k ON k.network = a.network
JOIN (
  SELECT network, max(greatest(phones, photos)) AS net_most_per_account
  FROM (
    SELECT u.network, u.poster,
      count(DISTINCT CASE WHEN u.kind = 'phone' THEN u.value END) AS phones,
      count(DISTINCT CASE WHEN u.kind = 'pdq' THEN u.value END) AS photos
    FROM ads_network_uses u
    GROUP BY u.network, u.poster
  ) per_account
  GROUP BY network
) r ON r.network = a.network
"""


NETWORK_COLUMNS = ("network", "net_ads", "net_accounts", "net_places", "net_countries",
                   "net_services", "net_risky_share", "net_profile_share", "net_phones",
                   "net_pdqs", "net_payment_handles", "net_most_per_account")  # fmt: skip


def add_network_steps(p: Pipeline, d: Dialect, min_ads: int) -> None:
    """The networks' steps, after ``ads_nodes`` (each node in two or more ads: ``kind:value``
    of a detail, ``account:service:id`` of a poster, with its ads): ``ads_network_of``
    gives each node its network's label, ``ads_network_ads`` each ad of a network with a
    detail in at least ``min_ads`` ads, ``ads_networks`` those networks' counts."""
    p.add("ads_links", LINKS_SQL, inputs=("ads_nodes",), materialize=True)
    previous = "(SELECT DISTINCT node, node AS label FROM ads_links)"  # its own label
    reads: tuple[str, ...] = ("ads_links",)
    for r in range(1, NETWORK_ROUNDS + 1):
        spread = f"ads_spread{r}"
        p.add(spread, _spread_sql(previous), inputs=reads, materialize=True)
        previous = f"ads_jump{r}"
        p.add(previous, _jump_sql(spread), inputs=(spread,), materialize=True)
        reads = ("ads_links", previous)
    p.add("ads_network_of", NETWORK_OF_SQL.format(rounds=previous),
          inputs=("ads_nodes", previous), materialize=True)  # fmt: skip
    p.add("ads_network_ads", NETWORK_ADS_SQL.format(min_ads=int(min_ads)),
          inputs=("ads_nodes", "ads_network_of", "ads_posts"),
          materialize=True)  # fmt: skip
    p.add("ads_network_uses", _network_uses_sql(d), inputs=("ads_posts", "ads_network_ads"),
          materialize=True)  # fmt: skip
    p.add("ads_networks", _networks_sql(d), inputs=("ads_network_ads", "ads_network_uses"),
          materialize=True)  # fmt: skip


def score_of(params: AdsParams) -> str:
    """The score of a detail row ``g`` (its counts and shares), as SQL."""
    w = {k: float(v) for k, v in params.weights.items()}
    z = (
        f"{w['intercept']!r}"
        f" + {w['account_share']!r} * CAST(g.accounts AS DOUBLE) / g.ads"
        f" + {w['risky_share']!r} * g.risky_share"
        f" + {w['profile_share']!r} * g.profile_share"
        f" + {w['cross_border']!r} * CASE WHEN g.countries > 1 THEN 1 ELSE 0 END"
        f" + {w['log_network_accounts']!r} * ln(CAST(g.net_accounts AS DOUBLE))"
        f" + {w['log_network_cities']!r} * ln(CAST(g.net_places AS DOUBLE))"
        f" + {w['network_cross_border']!r} * CASE WHEN g.net_countries > 1 THEN 1 ELSE 0 END"
        f" + {w['network_risky_share']!r} * g.net_risky_share"
        f" + {w['ads_and_profiles']!r} * 4 * g.net_profile_share * (1 - g.net_profile_share)"
        f" + {w['log_most_per_account']!r}"
        f" * ln(CAST(greatest(g.net_most_per_account, 1) AS DOUBLE))"
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


def _scored_sql(d: Dialect, params: AdsParams) -> str:
    counts = ",\n    ".join(f"CAST(count(DISTINCT {c}) AS BIGINT) AS {name}" for c, name in COUNTED)
    return f"""
SELECT g.*, {score_of(params)} AS score
FROM (
  SELECT s.*, {", ".join("n." + c for c in NETWORK_COLUMNS)}
  FROM (
    SELECT kind, value,
    {counts},{shares_of(d)}
    FROM ads_reused_uses GROUP BY kind, value
  ) s
  LEFT JOIN ads_network_of l ON l.node = s.kind || ':' || s.value
  LEFT JOIN ads_networks n ON n.network = l.label
) g
"""


# the type of each network column, for the details in one use (no network)
_NETWORK_TYPES = {"network": "STRING", "net_risky_share": "DOUBLE", "net_profile_share": "DOUBLE"}


def _details_sql(d: Dialect) -> str:
    """Every detail: the scored ones, and each detail in one use (most of them) from that
    use alone: its counts are 1 where the use has a value, its shares that ad's, no
    network, score 0 (below ``min_ads``)."""
    counts = ", ".join(
        f"CAST(CASE WHEN u.{c} IS NULL THEN 0 ELSE 1 END AS BIGINT) AS {name}"
        for c, name in COUNTED
    )
    network = ", ".join(
        f"CAST(NULL AS {_NETWORK_TYPES.get(c, 'BIGINT')}) AS {c}" for c in NETWORK_COLUMNS
    )
    return f"""
SELECT * FROM ads_scored
UNION ALL
SELECT u.kind, u.value, {counts},
  CAST(CASE WHEN u.category IN ({d.strings(RISKY)}) THEN 1.0 ELSE 0.0 END AS DOUBLE)
    AS risky_share,
  CAST(CASE WHEN u.record_type = 'profile' THEN 1.0 ELSE 0.0 END AS DOUBLE) AS profile_share,
  u.posted_at AS first_seen, u.posted_at AS last_seen, {network},
  CAST(0.0 AS DOUBLE) AS score
FROM ads_uses u
LEFT JOIN ads_reused r ON r.kind = u.kind AND r.value = u.value
WHERE r.kind IS NULL
"""


# The queries read the scored details only: a detail in one use scores 0.
DETAILS_QUERY = """
SELECT * FROM ads_scored WHERE score >= {min_score} ORDER BY score DESC, kind, value
"""
EVIDENCE_QUERY = """
SELECT u.kind, u.value, u.ad_id, u.poster, u.service, u.place, u.posted_at, u.category
FROM ads_reused_uses u JOIN ads_scored d ON d.kind = u.kind AND d.value = u.value
WHERE d.score >= {min_score}
ORDER BY u.kind, u.value, u.posted_at, u.ad_id
"""
NETWORK_QUERY = """
SELECT a.network, a.ad_id, a.place
FROM ads_network_ads a
WHERE a.network IN (SELECT network FROM ads_scored WHERE score >= {min_score})
ORDER BY a.network, a.ad_id
"""


def subject_of(kind: str, value: str) -> str:
    """The detail's graph node key (``phone:…``, ``payment_handle:…``, ``hash:pdq:…``)."""
    return f"hash:pdq:{value}" if kind == "pdq" else f"{kind}:{value}"


_WHAT = {"phone": "Phone", "payment_handle": "Payment handle", "pdq": "Photo hash (PDQ)"}


def _day(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d") if isinstance(ts, datetime) else str(ts)


def _cities(rows: Sequence[Mapping[str, Any]]) -> str:
    names = sorted({str(u["place"]).split("/", 1)[1].title() for u in rows})
    return f"{', '.join(names[:6])}{' …' if len(names) > 6 else ''}"


def explain(
    detail: Mapping[str, Any],
    uses: Sequence[Mapping[str, Any]],
    network: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Plain language naming the evidence: the ads, accounts, cities and services, and
    the network's (``network``: its ads, with their places)."""
    services = sorted({str(u["service"]) for u in uses})
    ads = [str(u["ad_id"]) for u in uses]
    return (
        f"{_WHAT[str(detail['kind'])]} {detail['value']} appears in {int(detail['ads'])} ads "
        f"and profiles ({100 * float(detail['profile_share']):.0f}% profiles) posted by "
        f"{int(detail['accounts'])} accounts on {int(detail['services'])} service(s) "
        f"({', '.join(services)}) in {int(detail['places'])} cities ({_cities(uses)}) of "
        f"{int(detail['countries'])} country(ies), between {_day(detail['first_seen'])} and "
        f"{_day(detail['last_seen'])}; {100 * float(detail['risky_share']):.0f}% are online "
        f"job, model or travel job ads. E.g. {', '.join(ads[:5])}"
        f"{f' and {len(ads) - 5} more' if len(ads) > 5 else ''}. "
        f"Its network (every ad linked to it through shared phones, handles, photos or "
        f"accounts): {int(detail['net_ads'])} ads from {int(detail['net_accounts'])} "
        f"accounts in {int(detail['net_places'])} cities ({_cities(network)}) of "
        f"{int(detail['net_countries'])} country(ies), giving {int(detail['net_phones'])} "
        f"phone(s), {int(detail['net_pdqs'])} photo(s) and "
        f"{int(detail['net_payment_handles'])} payment handle(s); one account gave up to "
        f"{int(detail['net_most_per_account'])} phones or photos; "
        f"{100 * float(detail['net_risky_share']):.0f}% online job, model or travel job "
        f"ads, {100 * float(detail['net_profile_share']):.0f}% profiles."
    )


def alerts(
    details: Sequence[Mapping[str, Any]],
    uses: Sequence[Mapping[str, Any]],
    network_ads: Sequence[Mapping[str, Any]] = (),
) -> list[Alert]:
    """One alert per reused detail above the alert score, highest score first; evidence
    ids are its ads, then the rest of its network's (``platform_ads.ad_id``)."""
    by_detail: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for u in uses:
        by_detail.setdefault((str(u["kind"]), str(u["value"])), []).append(u)
    by_network: dict[str, list[Mapping[str, Any]]] = {}
    for a in network_ads:
        by_network.setdefault(str(a["network"]), []).append(a)
    out = []
    for d in details:
        key = (str(d["kind"]), str(d["value"]))
        evidence = by_detail.get(key, [])
        network = by_network.get(str(d["network"]), [])
        subject = subject_of(*key)
        out.append(
            Alert(
                alert_id=f"{DETECTOR_ID}:{subject}",
                detector=DETECTOR_ID,
                subject_type="entity",
                subject_id=subject,
                score=alert_score(float(d["score"])),
                typologies=(TYPOLOGY,),
                explanation=explain(d, evidence, network),
                evidence_source="platform_ads",
                evidence_ids=tuple(dict.fromkeys(str(u["ad_id"]) for u in [*evidence, *network])),
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
    "NETWORK_COLUMNS",
    "NETWORK_QUERY",
    "VERSION",
    "WEIGHTS",
    "AdsParams",
    "add_network_steps",
    "alerts",
    "compile_pipeline",
    "explain",
    "score_of",
    "shares_of",
    "subject_of",
]
