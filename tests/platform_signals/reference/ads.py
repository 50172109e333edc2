"""The ads detector's SQL plan as it was before the speed work of issue #16 (the
reference ``test_plan_equivalence`` compares the faster plan with): the uses and
details as before the first speed work, the networks (added after it) and the queries
as in version 4, before version 5 ran the label propagation over the linking ads only;
what did not change is imported from the detector."""

from __future__ import annotations

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline
from daybreak.platform.ads import (
    DETAILS,
    INPUT_TABLES,
    NETWORK_COLUMNS,
    RISKY,
    AdsParams,
    score_of,
    shares_of,
)

# Networks: connected components of the graph whose nodes are the details and the
# posting accounts, an ad joining every node it names (the entity graph DIG builds from
# phones, handles and photos; Memex). Only nodes in two or more ads can join ads, so
# only they are kept (most details and many accounts appear once). Label propagation:
# every node starts as its own label; a round gives each ad the least label of its nodes
# and each node the least label of its ads, then lets a node take its label's label
# (pointer jumping, so a chain of k links needs about log2 k rounds, not k). After
# NETWORK_ROUNDS rounds a network is every ad within at least 2^NETWORK_ROUNDS links of
# each other.
NETWORK_ROUNDS = 4

NODES_SQL = """
SELECT ad_id, node, ads FROM (
  SELECT ad_id, node, count(*) OVER (PARTITION BY node) AS ads
  FROM (
    SELECT ad_id, kind || ':' || value AS node FROM ads_uses
    UNION ALL
    SELECT DISTINCT ad_id, 'account:' || poster AS node FROM ads_uses
  ) pairs
) counted
WHERE ads > 1
"""


def _spread_sql(previous: str) -> str:
    """Each node's least label among the ads it is in, from (node, label) ``previous``."""
    return f"""
SELECT n.node, min(a.label) AS label
FROM ads_nodes n
JOIN (
  SELECT m.ad_id, min(c.label) AS label
  FROM ads_nodes m JOIN {previous} c ON c.node = m.node
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


# Per network (component): its ads, accounts, cities, countries, services, the share of
# its ads in recruiters' categories and of profiles, how many phones, photos and handles
# it gives, and the most phones or photos one of its accounts gave (an account showing
# several people or rotating numbers; InfoShield: one writer posts for 4-6 victims).
# Only the networks of scored details (in at least ``min_ads`` ads) are described.
NETWORK_ADS_SQL = """
SELECT DISTINCT a.ad_id, a.network, u.poster, u.place, u.country, u.service, u.category,
  u.record_type
FROM (
  SELECT n.ad_id, min(l.label) AS network
  FROM ads_nodes n JOIN ads_network_of l ON l.node = n.node
  GROUP BY n.ad_id
) a
JOIN ads_uses u ON u.ad_id = a.ad_id
WHERE a.network IN (
  SELECT l.label
  FROM ads_nodes n JOIN ads_network_of l ON l.node = n.node
  WHERE n.ads >= {min_ads} AND n.node NOT LIKE 'account:%'
)
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
  SELECT a.network,
  {kinds}
  FROM ads_uses u JOIN ads_network_ads a ON a.ad_id = u.ad_id
  GROUP BY a.network
) k ON k.network = a.network
JOIN (
  SELECT network, max(greatest(phones, photos)) AS net_most_per_account
  FROM (
    SELECT a.network, u.poster,
      count(DISTINCT CASE WHEN u.kind = 'phone' THEN u.value END) AS phones,
      count(DISTINCT CASE WHEN u.kind = 'pdq' THEN u.value END) AS photos
    FROM ads_uses u JOIN ads_network_ads a ON a.ad_id = u.ad_id
    GROUP BY a.network, u.poster
  ) per_account
  GROUP BY network
) r ON r.network = a.network
"""


def add_network_steps(p: Pipeline, d: Dialect, min_ads: int) -> None:
    """The networks' steps, after ``ads_uses``: ``ads_network_of``
    gives each node in two or more ads (``kind:value`` of a detail,
    ``account:service:id`` of a poster) its network's label, ``ads_network_ads`` each ad
    of a network with a detail in at least ``min_ads`` ads, ``ads_networks`` those
    networks' counts."""
    p.add("ads_nodes", NODES_SQL, inputs=("ads_uses",), materialize=True)
    previous = "(SELECT DISTINCT node, node AS label FROM ads_nodes)"  # its own label
    reads: tuple[str, ...] = ("ads_nodes",)
    for r in range(1, NETWORK_ROUNDS + 1):
        spread = f"ads_spread{r}"
        p.add(spread, _spread_sql(previous), inputs=reads, materialize=True)
        previous = f"ads_jump{r}"
        p.add(previous, _jump_sql(spread), inputs=(spread,), materialize=True)
        reads = ("ads_nodes", previous)
    p.add("ads_network_of", f"SELECT node, label FROM {previous}", inputs=(previous,))
    p.add("ads_network_ads", NETWORK_ADS_SQL.format(min_ads=int(min_ads)),
          inputs=("ads_nodes", "ads_network_of", "ads_uses"),
          materialize=True)  # fmt: skip
    p.add("ads_networks", _networks_sql(d), inputs=("ads_uses", "ads_network_ads"),
          materialize=True)  # fmt: skip


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


DETAILS_QUERY = """
SELECT * FROM ads_details WHERE score >= {min_score} ORDER BY score DESC, kind, value
"""
EVIDENCE_QUERY = """
SELECT u.kind, u.value, u.ad_id, u.poster, u.service, u.place, u.posted_at, u.category
FROM ads_uses u JOIN ads_details d ON d.kind = u.kind AND d.value = u.value
WHERE d.score >= {min_score}
ORDER BY u.kind, u.value, u.posted_at, u.ad_id
"""
NETWORK_QUERY = """
SELECT a.network, a.ad_id, a.place
FROM ads_network_ads a
WHERE a.network IN (SELECT network FROM ads_details WHERE score >= {min_score})
ORDER BY a.network, a.ad_id
"""


__all__ = ["DETAILS_QUERY", "EVIDENCE_QUERY", "NETWORK_QUERY", "compile_pipeline"]
