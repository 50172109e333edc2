"""SQL that reduces the large tables to graph edges before anything reaches Python.

Pure functions returning SQL text (DuckDB dialect); :mod:`daybreak.graph.loader` runs
them. Ten million payments become one row per (sender, receiver) pair, millions of
platform events one row per (account, counterparty, event type).
"""

from __future__ import annotations

from daybreak.payments.compiler import SPEND_CHANNELS

# Relations are views named after the world tables: transactions, platform_events,
# identifiers (registered by the loader).

# Card and cash receivers are shops and ATMs: they link strangers, not people, and are
# most of the payments. They are summarised, not turned into edges (unless asked).
_SPENDING = "channel IN (" + ", ".join(f"'{c}'" for c in SPEND_CHANNELS) + ")"
SHOPS = f"""
SELECT receiver_id
FROM transactions
GROUP BY receiver_id
HAVING bool_or({_SPENDING} OR merchant_category IS NOT NULL)
"""


def payment_edges(include_shops: bool = False) -> str:
    # Order-free aggregates: a parallel scan sees a pair's rows in any order, so the
    # edge's name is the smallest spelling (not any_value) and its amount an exact
    # decimal sum (a float sum's last digits depend on the order): one graph per world.
    where = "" if include_shops else f"WHERE receiver_id NOT IN ({SHOPS})"
    return f"""
SELECT sender_id,
       receiver_id,
       count(*)::BIGINT                 AS n,
       sum(amount::DECIMAL(38, 6))::DOUBLE AS amount,
       min("timestamp")                 AS first_seen,
       max("timestamp")                 AS last_seen,
       min(sender_name)                 AS sender_name,
       min(sender_country)              AS sender_country,
       min(receiver_name)               AS receiver_name,
       min(receiver_country)            AS receiver_country,
       bool_or({_SPENDING} OR merchant_category IS NOT NULL) AS merchant
FROM transactions
{where}
GROUP BY sender_id, receiver_id
"""


EVENT_EDGES = """
SELECT service,
       account_id,
       counterparty_account_id,
       event_type,
       count(*)::BIGINT                       AS n,
       min(started_at)                        AS first_seen,
       max(coalesce(ended_at, started_at))    AS last_seen
FROM platform_events
WHERE counterparty_account_id IS NOT NULL
GROUP BY service, account_id, counterparty_account_id, event_type
"""


def event_attribute_edges(column: str) -> str:
    """Accounts to the IPs or devices they used, with the time span of use ("IPs with
    time": a shared IP means more when the use overlaps)."""
    if column not in ("ip", "device_id"):
        raise ValueError(f"unsupported platform_events attribute {column!r}")
    return f"""
SELECT service,
       account_id,
       {column}                               AS value,
       count(*)::BIGINT                       AS n,
       min(started_at)                        AS first_seen,
       max(coalesce(ended_at, started_at))    AS last_seen
FROM platform_events
WHERE {column} IS NOT NULL
GROUP BY service, account_id, {column}
"""


# Identifiers carried by a transaction belong to its payer; those carried by a platform
# event belong to the account that acted.
IDENTIFIER_OWNERS = """
SELECT i.source, i.source_id, i.kind, i.value, i.role, i.seen_at,
       t.sender_id                               AS txn_sender_id,
       e.service || ':' || e.account_id          AS event_account
FROM identifiers i
LEFT JOIN (SELECT txn_id, sender_id FROM transactions
           WHERE txn_id IN (SELECT source_id FROM identifiers
                            WHERE source = 'transactions')) t
       ON i.source = 'transactions' AND t.txn_id = i.source_id
LEFT JOIN (SELECT event_id, service, account_id FROM platform_events
           WHERE event_id IN (SELECT source_id FROM identifiers
                              WHERE source = 'platform_events')) e
       ON i.source = 'platform_events' AND e.event_id = i.source_id
"""

TRANSACTIONS_BY_ID = """
SELECT txn_id, "timestamp", sender_id, receiver_id, amount, currency, channel, reference
FROM transactions
WHERE txn_id IN (SELECT unnest(?::VARCHAR[]))
"""

EVENTS_BY_ID = """
SELECT event_id, service, account_id, counterparty_account_id
FROM platform_events
WHERE event_id IN (SELECT unnest(?::VARCHAR[]))
"""
