"""Sightings for multiple-systems estimation, from Daybreak's own resolved entities.

:mod:`daybreak.graph.estimate` needs, for every person, the lists (sources) that saw
them. This module writes that table from the entity graph and the alerts on it:

* A **person** is a resolved entity cluster: the nodes that identity links tie
  together (a customer, their phone, e-mail and platform accounts, splink's
  ``same_person`` links, the phone and payment handle an ad account gives). Payments,
  calls, streams, logins, shared IPs or devices and messages are *contacts* between
  people, never identity (:class:`~daybreak.graph.clusters.CasePolicy`'s
  ``contact_relations`` and ``weak_relations``), and records (reports, media
  sightings, hashes) are what names people, not people. A node with more neighbours
  than the case policy crosses (a shared office phone) ties no one together.
* A **list** is the source that saw them: the detector of an alert (``payments``,
  each platform detector, ``tipline`` for reports, ``media`` for hash matches, any
  plug-in). An alert sees its subject's person; an alert on a record (a report, a
  media sighting, an ad photo's hash) sees the people the record names; and every
  alert sees the parties of the records it cites as evidence (both accounts of an
  evidence event, the payer and payee of an evidence payment).
* A person's **role** comes from what its cluster holds: a *victim* holds an account
  the platform knows to be a minor's, or one a report names as the victim; else a
  *facilitator* holds a payment handle that was paid; else a *payer* holds a bank
  customer; anyone else is *other* (adult platform accounts only: contact offenders,
  ad posters without a payment handle). A minor's account is a person of its own: the
  identifiers row tying a child's account to a parent's bank customer is a family.
* Its **country** is the most common country of its nodes, its **quarter** the one of
  the first alert that saw it (a person sits in one stratum, as the estimate needs).

One row per (person, list), with the alerts and the node keys behind it, so every
count an estimate prints can be traced back. Pure: the graph's tables, the alerts and
the evidence records in; a polars frame out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import sparse
from scipy.sparse import csgraph

from daybreak.graph import keys
from daybreak.graph.clusters import CasePolicy
from daybreak.graph.resolution import MINOR_DETAIL
from daybreak.graph.tables import GraphTables
from daybreak.model.alerts import Alert
from daybreak.model.identifiers import IdentifierError

# Node kinds that name people without being one.
RECORDS = frozenset({keys.REPORT, keys.MEDIA, keys.HASH})
VICTIM_RELATION = "victim"  # a report's identifiers row with the role "victim"
ROLES = ("victim", "facilitator", "payer", "other")  # first that applies wins
UNKNOWN = "unknown"  # a country or quarter nothing in the graph gives
COLUMNS = ("person", "list", "role", "country", "quarter", "alerts", "seen_as")
SCHEMA = {c: pl.String for c in COLUMNS}


def person_of_nodes(tables: GraphTables, policy: CasePolicy | None = None) -> pl.DataFrame:
    """(key, person) for every node that can be a person: the components of the
    identity links, each named by its smallest key."""
    policy = policy or CasePolicy()
    nodes = tables.nodes
    record = nodes["kind"].is_in(sorted(RECORDS)).to_numpy()
    blocked = record | tables.too_connected(policy) | _minor_accounts(tables)
    contacts = sorted(policy.contact_relations | policy.weak_relations)
    identity = tables.edges.filter(~pl.col("relation").is_in(contacts))
    src, dst = identity["src"].to_numpy(), identity["dst"].to_numpy()
    keep = ~blocked[src] & ~blocked[dst]
    n = tables.n_nodes
    ties = sparse.coo_matrix((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n, n))
    _, labels = csgraph.connected_components(ties, directed=False)
    frame = nodes.select("key").with_columns(pl.Series("_c", labels.astype(np.int64)))
    frame = frame.filter(pl.Series(~record))
    return frame.with_columns(person=pl.col("key").min().over("_c")).select("key", "person")


def _minor_accounts(tables: GraphTables) -> npt.NDArray[np.bool_]:
    """Accounts the platform knows to be a minor's: each is a person of its own (the
    identifiers row that ties a child's account to a parent's bank customer is a
    family, not one person)."""
    minor = (
        tables.rows.filter(
            (pl.col("kind") == keys.ACCOUNT)
            & pl.col("details").fill_null("").str.contains(MINOR_DETAIL, literal=True)
        )["key"]
        .unique()
        .to_list()
    )
    mask = np.zeros(tables.n_nodes, dtype=np.bool_)
    mask[tables.ids_of(minor)] = True
    return mask


def _quarter(at: datetime | None) -> str:
    return UNKNOWN if at is None else f"{at.year}Q{(at.month - 1) // 3 + 1}"


def _key_or_none(make: Callable[..., str], *raw: str) -> str | None:
    """The node key, or None for a value that cannot be one (it names no node)."""
    try:
        return make(*raw)
    except (IdentifierError, ValueError):
        return None


def _evidence_parties(
    events: pl.DataFrame, transactions: pl.DataFrame
) -> dict[tuple[str, str], list[str]]:
    """(evidence source, record id) -> the node keys of the record's parties."""
    out: dict[tuple[str, str], list[str]] = {}
    if events.height:
        for e in events.iter_rows(named=True):
            accounts = (e["account_id"], e["counterparty_account_id"])
            found = (_key_or_none(keys.account_key, e["service"], a) for a in accounts if a)
            out[("platform_events", e["event_id"])] = [k for k in found if k]
    if transactions.height:
        for t in transactions.iter_rows(named=True):
            ends = (
                _key_or_none(keys.customer_key, t["sender_id"]),
                _key_or_none(keys.beneficiary_key, t["receiver_id"]),
            )
            out[("transactions", t["txn_id"])] = [k for k in ends if k]
    return out


def _named_by_records(tables: GraphTables) -> pl.DataFrame:
    """(record, key, victim): the people-nodes each report, media sighting or hash is
    tied to, and whether the tie says "victim"."""
    e = tables.edges.select("source", "target", "relation")
    both = pl.concat([e, e.select(source="target", target="source", relation="relation")]).filter(
        pl.col("source").str.split_exact(":", 1).struct.field("field_0").is_in(sorted(RECORDS))
        & ~pl.col("target").str.split_exact(":", 1).struct.field("field_0").is_in(sorted(RECORDS))
    )
    return both.group_by("source", "target").agg(
        victim=(pl.col("relation") == VICTIM_RELATION).any()
    )


def _seen(
    tables: GraphTables,
    alerts: Sequence[Alert],
    events: pl.DataFrame,
    transactions: pl.DataFrame,
) -> pl.DataFrame:
    """(alert, list, key, at, victim): every node each alert saw."""
    named = _named_by_records(tables)
    by_record: dict[str, list[tuple[str, bool]]] = {}
    for record, key, victim in named.iter_rows():
        by_record.setdefault(record, []).append((key, victim))
    parties = _evidence_parties(events, transactions)
    rows: list[tuple[str, str, str, datetime | None, bool]] = []
    for a in alerts:
        subject = keys.subject_key(a.subject_type, a.subject_id)
        at = a.first_seen or a.last_seen
        if subject.partition(":")[0] in RECORDS:
            seen = by_record.get(subject, [])
        else:
            seen = [(subject, False)]
        seen += [
            (k, False) for i in a.evidence_ids for k in parties.get((a.evidence_source, i), [])
        ]
        rows += [(a.alert_id, a.detector, key, at, victim) for key, victim in seen]
    return pl.DataFrame(
        rows,
        schema={
            "alert": pl.String,
            "list": pl.String,
            "key": pl.String,
            "at": pl.Datetime("us", "UTC"),
            "victim": pl.Boolean,
        },
        orient="row",
    )


def _roles(tables: GraphTables, people: pl.DataFrame, victims: pl.DataFrame) -> pl.DataFrame:
    """(person, role, country) of every person."""
    details = tables.rows.select("key", "details").unique("key", keep="last")
    facts = (
        people.join(tables.nodes.select("key", "kind", "merchant", "country"), on="key")
        .join(details, on="key", how="left")
        .join(victims, on="key", how="left")
    )
    kind = pl.col("kind")
    per = facts.group_by("person").agg(
        victim=(
            pl.col("details").fill_null("").str.contains(MINOR_DETAIL, literal=True)
            & (kind == keys.ACCOUNT)
        ).any()
        | pl.col("victim").fill_null(False).any(),
        facilitator=((kind == keys.PAYMENT_HANDLE) & ~pl.col("merchant")).any(),
        payer=(kind == keys.CUSTOMER).any(),
    )
    role = (
        pl.when("victim")
        .then(pl.lit("victim"))
        .when("facilitator")
        .then(pl.lit("facilitator"))
        .when("payer")
        .then(pl.lit("payer"))
        .otherwise(pl.lit("other"))
    )
    country = (
        facts.filter(pl.col("country").is_not_null() & (pl.col("country") != ""))
        .group_by("person", "country")
        .len()
        .sort(["person", "len", "country"], descending=[False, True, False])
        .unique("person", keep="first")
        .select("person", "country")
    )
    return (
        per.select("person", role.alias("role"))
        .join(country, on="person", how="left")
        .with_columns(pl.col("country").fill_null(UNKNOWN))
    )


def sightings(
    tables: GraphTables,
    alerts: Sequence[Alert],
    *,
    evidence_events: pl.DataFrame | None = None,
    evidence_transactions: pl.DataFrame | None = None,
    policy: CasePolicy | None = None,
) -> pl.DataFrame:
    """One row per (person, list) the ``alerts`` saw: ``COLUMNS``, sorted. Evidence
    records are looked up in ``evidence_events`` (event_id, service, account_id,
    counterparty_account_id) and ``evidence_transactions`` (txn_id, sender_id,
    receiver_id); a node an alert names that is not in the graph (a shop) is left out."""
    people = person_of_nodes(tables, policy)
    seen = _seen(
        tables,
        alerts,
        pl.DataFrame() if evidence_events is None else evidence_events,
        pl.DataFrame() if evidence_transactions is None else evidence_transactions,
    ).join(people, on="key")
    if not seen.height:
        return pl.DataFrame(schema=SCHEMA)
    victims = seen.group_by("key").agg(pl.col("victim").any())
    first = seen.group_by("person").agg(pl.col("at").min())
    quarters = first.with_columns(
        quarter=pl.col("at").map_elements(_quarter, return_dtype=pl.String, skip_nulls=False)
    ).select("person", "quarter")
    rows = seen.group_by("person", "list").agg(
        alerts=pl.col("alert").unique().sort().str.join(" "),
        seen_as=pl.col("key").unique().sort().str.join(" "),
    )
    return (
        rows.join(_roles(tables, people, victims), on="person")
        .join(quarters, on="person")
        .select(COLUMNS)
        .sort("person", "list")
    )


__all__ = ["COLUMNS", "ROLES", "person_of_nodes", "sightings"]
