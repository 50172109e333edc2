"""Exact entity resolution: every record's identifiers, normalised, become node keys.

Two records that carry the same normalised identifier meet at the same node, so a
panic-button report naming ``gcash:+639171234567`` and a payment to that receiver link
with no fuzzy step. Values that fail normalisation are never dropped silently: they
come back in ``ExactLinks.issues`` with their source table, record id and reason.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import polars as pl

from daybreak.graph import keys, plain_keys
from daybreak.graph.loader import WorldFrames
from daybreak.model.identifiers import IdentifierError, IdentifierKind
from daybreak.schema.columns import MINOR_AGE_BANDS

UTC_TS = pl.Datetime("us", "UTC")
EDGE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "target": pl.String(),
    "relation": pl.String(),
    "n": pl.Int64(),
    "amount": pl.Float64(),
    "weight": pl.Float64(),
    "first_seen": UTC_TS,
    "last_seen": UTC_TS,
    "origin": pl.String(),
}
NODE_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "kind": pl.String(),
    "label": pl.String(),
    "country": pl.String(),
    "merchant": pl.Boolean(),
    "details": pl.String(),
}
# An account node's details say this when the platform knows it is a minor's.
MINOR_DETAIL = "a minor"
ISSUE_SCHEMA = pl.Schema(
    {
        "source": pl.String(),
        "record_id": pl.String(),
        "field": pl.String(),
        "value": pl.String(),
        "error": pl.String(),
    }
)


@dataclass(frozen=True)
class ExactLinks:
    nodes: pl.DataFrame  # NODE_SCHEMA, one row per key
    edges: pl.DataFrame  # EDGE_SCHEMA, typed edges between keys
    issues: pl.DataFrame  # ISSUE_SCHEMA, values that could not be normalised


def _key_map(pairs: pl.DataFrame, to_key: Callable[[str, str], str]) -> pl.DataFrame:
    """Normalise each distinct (kind, raw) pair once in Python; the result is joined
    back onto the (possibly much larger) frame."""
    out_key: list[str | None] = []
    out_err: list[str | None] = []
    for kind, raw in pairs.iter_rows():
        try:
            out_key.append(to_key(kind, raw))
            out_err.append(None)
        except (IdentifierError, ValueError) as exc:
            out_key.append(None)
            out_err.append(str(exc))
    return pairs.with_columns(
        pl.Series("_key", out_key, dtype=pl.String), pl.Series("_err", out_err, dtype=pl.String)
    )


# How the distinct (kind, raw) pairs of a frame get their keys: ``_key_map`` here, or
# the same function run elsewhere (on Spark's executors: daybreak.engines.spark_graph).
KeyMap = Callable[[pl.DataFrame, Callable[[str, str], str]], pl.DataFrame]
_KEY_MAP: ContextVar[KeyMap] = ContextVar("key_map", default=_key_map)


# The rules that key plain values on the whole column (``plain_keys``), per function
# that makes the keys; every value they leave goes through that function.
_PLAIN: dict[Callable[[str, str], str], list[plain_keys.Rule]] = {}


def _keys_of(pairs: pl.DataFrame, to_key: Callable[[str, str], str]) -> pl.DataFrame:
    """``_key_map``'s answer for distinct (kind, raw) pairs: the plain values (most of
    a world: customers, accounts, payment handles, E.164 phones, e-mails, IPv4) keyed on
    the whole column at once, every other value by ``to_key`` one at a time."""
    keyed = []
    for rule in _PLAIN.get(to_key, []) if pairs.height else []:
        done, pairs = rule(pairs)
        keyed.append(done)
    return pl.concat([*keyed, _KEY_MAP.get()(pairs, to_key)])


def attach_keys(
    df: pl.DataFrame,
    kind: pl.Expr,
    raw: pl.Expr,
    out: str,
    *,
    source: str,
    record_id: pl.Expr,
    field: str,
    to_key: Callable[[str, str], str] = keys.identifier_key,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add column ``out`` with the node key of (kind, raw); rows whose value does not
    normalise are returned separately as issues."""
    df = df.with_columns(kind.alias("_kind"), raw.alias("_raw"))
    pairs = df.select("_kind", "_raw").unique().drop_nulls()
    mapped = _keys_of(pairs, to_key)
    joined = df.join(mapped, on=["_kind", "_raw"], how="left")
    bad = joined.filter(pl.col("_err").is_not_null()).select(
        pl.lit(source).alias("source"),
        record_id.cast(pl.String).alias("record_id"),
        pl.lit(field).alias("field"),
        pl.col("_raw").alias("value"),
        pl.col("_err").alias("error"),
    )
    ok = joined.filter(pl.col("_key").is_not_null()).rename({"_key": out})
    return ok.drop("_kind", "_raw", "_err"), bad


def _edges(df: pl.DataFrame, **cols: pl.Expr) -> pl.DataFrame:
    defaults: dict[str, pl.Expr] = {
        "n": pl.lit(1, pl.Int64),
        "amount": pl.lit(None, pl.Float64),
        "weight": pl.lit(1.0),
        "first_seen": pl.lit(None, UTC_TS),
        "last_seen": pl.lit(None, UTC_TS),
    }
    exprs = {**defaults, **cols}
    return df.select([exprs[name].cast(dtype).alias(name) for name, dtype in EDGE_SCHEMA.items()])


def _const(kind: str) -> pl.Expr:
    return pl.lit(kind, pl.String)


def _payment_edges(w: WorldFrames) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    pe = w.payment_edges
    pe, bad1 = attach_keys(
        pe,
        _const("customer"),
        pl.col("sender_id"),
        "s",
        source="transactions",
        record_id=pl.col("sender_id"),
        field="sender_id",
    )
    pe, bad2 = attach_keys(
        pe,
        _const("payment_handle"),
        pl.col("receiver_id"),
        "t",
        source="transactions",
        record_id=pl.col("receiver_id"),
        field="receiver_id",
    )
    edges = _edges(
        pe,
        source=pl.col("s"),
        target=pl.col("t"),
        relation=_const("paid"),
        n=pl.col("n"),
        amount=pl.col("amount"),
        first_seen=pl.col("first_seen"),
        last_seen=pl.col("last_seen"),
        origin=_const("transactions"),
    )
    return edges, [bad1, bad2]


def _owner_key(kind: str, raw: str) -> str:
    """Owner of an identifiers row: ``kind`` is the source table."""
    match kind:
        case "customers" | "transactions":
            return keys.customer_key(raw)
        case "reports":
            return keys.make_key(keys.REPORT, raw.strip())
        case "media_sightings":
            return keys.make_key(keys.MEDIA, raw.strip())
        case "platform_events":
            return keys.identifier_key(IdentifierKind.ACCOUNT, raw)
    raise ValueError(f"unknown identifiers.source {kind!r}")


# Kinds whose values are ``service:id`` records or ids (``normalize_scoped``; a
# username is also lower-cased): node kind and whether the whole value is lower-cased.
_PLAIN[keys.identifier_key] = [
    plain_keys.scoped_rule(
        {
            "account": ("account", False),
            "customer": ("customer", False),
            "payment_handle": ("payment_handle", False),
            "beneficiary": ("payment_handle", False),
            "device": ("device", False),
            "username": ("username", True),
        }
    ),
    plain_keys.phone_rule,
    plain_keys.email_rule,
    plain_keys.ipv4_rule,
]
_PLAIN[_owner_key] = [
    plain_keys.scoped_rule(
        {
            "customers": ("customer", False),
            "transactions": ("customer", False),
            "platform_events": ("account", False),
        }
    )
]


def _identifier_edges(w: WorldFrames) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    ids = w.identifiers.with_columns(
        pl.when(pl.col("source") == "transactions")
        .then(pl.col("txn_sender_id"))
        .when(pl.col("source") == "platform_events")
        .then(pl.col("event_account"))
        .otherwise(pl.col("source_id"))
        .alias("_owner_raw")
    )
    missing = ids.filter(pl.col("_owner_raw").is_null()).select(
        pl.col("source"),
        pl.col("source_id").alias("record_id"),
        _const("source_id").alias("field"),
        pl.col("source_id").alias("value"),
        pl.lit("identifiers row points at a record that does not exist").alias("error"),
    )
    ids = ids.filter(pl.col("_owner_raw").is_not_null())
    ids, bad_owner = attach_keys(
        ids,
        pl.col("source"),
        pl.col("_owner_raw"),
        "s",
        source="identifiers",
        record_id=pl.col("source_id"),
        field="source_id",
        to_key=_owner_key,
    )
    ids, bad_value = attach_keys(
        ids,
        pl.col("kind"),
        pl.col("value"),
        "t",
        source="identifiers",
        record_id=pl.col("source_id"),
        field="value",
    )
    grouped = ids.group_by("s", "t", pl.col("role").fill_null("has_identifier")).agg(
        pl.len().alias("n"),
        pl.col("seen_at").min().alias("first_seen"),
        pl.col("seen_at").max().alias("last_seen"),
        pl.col("source").min().alias("origin"),
    )
    edges = _edges(
        grouped,
        source=pl.col("s"),
        target=pl.col("t"),
        relation=pl.col("role"),
        n=pl.col("n"),
        first_seen=pl.col("first_seen"),
        last_seen=pl.col("last_seen"),
        origin=pl.col("origin"),
    )
    return edges, [missing.cast(ISSUE_SCHEMA), bad_owner, bad_value]


def _account_expr(account_col: str) -> pl.Expr:
    return pl.col("service") + pl.lit(":") + pl.col(account_col)


def _attach_account(
    df: pl.DataFrame, column: str, out: str, *, source: str, record_id: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Key the service account named in ``column`` (``account:<service>:<id>``)."""
    return attach_keys(
        df,
        _const("account"),
        _account_expr(column),
        out,
        source=source,
        record_id=record_id,
        field=column,
    )


def _event_edges(w: WorldFrames) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    ev, bad1 = _attach_account(
        w.event_edges, "account_id", "s", source="platform_events", record_id=pl.col("account_id")
    )
    ev, bad2 = _attach_account(
        ev,
        "counterparty_account_id",
        "t",
        source="platform_events",
        record_id=pl.col("counterparty_account_id"),
    )
    calls = _edges(
        ev,
        source=pl.col("s"),
        target=pl.col("t"),
        relation=pl.col("event_type"),
        n=pl.col("n"),
        first_seen=pl.col("first_seen"),
        last_seen=pl.col("last_seen"),
        origin=_const("platform_events"),
    )
    out, bad = [calls], [bad1, bad2]
    for frame, kind, relation in (
        (w.event_ips, "ip", "used_ip"),
        (w.event_devices, "device", "used_device"),
    ):
        f, b1 = _attach_account(
            frame, "account_id", "s", source="platform_events", record_id=pl.col("account_id")
        )
        f, b2 = attach_keys(
            f,
            _const(kind),
            pl.col("value"),
            "t",
            source="platform_events",
            record_id=pl.col("account_id"),
            field=kind if kind == "ip" else "device_id",
        )
        out.append(
            _edges(
                f,
                source=pl.col("s"),
                target=pl.col("t"),
                relation=_const(relation),
                n=pl.col("n"),
                first_seen=pl.col("first_seen"),
                last_seen=pl.col("last_seen"),
                origin=_const("platform_events"),
            )
        )
        bad += [b1, b2]
    return pl.concat(out), bad


def _media_edges(w: WorldFrames) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    ms = w.media_sightings.with_columns(
        (_const("media:") + pl.col("sighting_id").str.strip_chars()).alias("s")
    )
    hashes = _edges(
        ms,
        source=pl.col("s"),
        target=_const("hash:")
        + pl.col("hash_type")
        + _const(":")
        + pl.col("hash_value").str.strip_chars().str.to_lowercase(),
        relation=_const("has_hash"),
        first_seen=pl.col("seen_at"),
        last_seen=pl.col("seen_at"),
        origin=_const("media_sightings"),
    )
    with_account = ms.filter(pl.col("account_id").is_not_null() & pl.col("service").is_not_null())
    acc, bad = _attach_account(
        with_account, "account_id", "t", source="media_sightings", record_id=pl.col("sighting_id")
    )
    seen = _edges(
        acc,
        source=pl.col("s"),
        target=pl.col("t"),
        relation=_const("seen_with"),
        first_seen=pl.col("seen_at"),
        last_seen=pl.col("seen_at"),
        origin=_const("media_sightings"),
    )
    return pl.concat([hashes, seen]), [bad]


AD_RELATIONS = (
    ("contact_phone", "phone", "ad_phone"),
    ("payment_handle", "payment_handle", "ad_payment_handle"),
)


def _ad_edges(w: WorldFrames) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The account that posted a job/model ad or owns a profile -> the phone, payment
    handle and photo hash it gives (one edge per pair, counted over its ads), so networks
    that reuse them across accounts meet at those nodes. Ads without an account link
    nothing."""
    ads, bad_account = _attach_account(
        w.platform_ads.filter(pl.col("account_id").is_not_null()),
        "account_id", "s", source="platform_ads", record_id=pl.col("ad_id"),
    )  # fmt: skip
    bad, targets = [bad_account], []
    for column, kind, relation in AD_RELATIONS:
        f, b = attach_keys(
            ads.filter(pl.col(column).is_not_null()), _const(kind), pl.col(column), "t",
            source="platform_ads", record_id=pl.col("ad_id"), field=column,
        )  # fmt: skip
        targets.append(f.with_columns(_rel=_const(relation)))
        bad.append(b)
    photos = ads.filter(pl.col("photo_pdq").is_not_null()).with_columns(
        t=_const("hash:pdq:") + pl.col("photo_pdq").str.to_lowercase(), _rel=_const("ad_photo")
    )
    grouped = (
        pl.concat([f.select("s", "t", "_rel", "posted_at") for f in [*targets, photos]])
        .group_by("s", "t", "_rel")
        .agg(pl.len().alias("n"), pl.col("posted_at").min().alias("first"),
             pl.col("posted_at").max().alias("last"))
    )  # fmt: skip
    edges = _edges(
        grouped, source=pl.col("s"), target=pl.col("t"), relation=pl.col("_rel"), n=pl.col("n"),
        first_seen=pl.col("first"), last_seen=pl.col("last"), origin=_const("platform_ads"),
    )  # fmt: skip
    return edges, bad


def _labels(w: WorldFrames, links: pl.DataFrame) -> pl.DataFrame:
    """Node table: every key that appears anywhere, labelled with a name when known."""
    endpoints = pl.concat(
        [links.select(pl.col("source").alias("key")), links.select(pl.col("target").alias("key"))]
    )
    customers, _ = attach_keys(
        w.customers,
        _const("customer"),
        pl.col("customer_id"),
        "key",
        source="customers",
        record_id=pl.col("customer_id"),
        field="customer_id",
    )
    receivers, _ = attach_keys(
        w.payment_edges.group_by("receiver_id").agg(
            pl.col("receiver_name").drop_nulls().min(),  # order-free, like graph.sql
            pl.col("receiver_country").drop_nulls().min(),
            pl.col("merchant").any(),
        ),
        _const("payment_handle"),
        pl.col("receiver_id"),
        "key",
        source="transactions",
        record_id=pl.col("receiver_id"),
        field="receiver_id",
    )
    none = pl.lit(None, pl.String)
    named = pl.concat(
        [
            customers.select(
                "key",
                pl.col("name").alias("label"),
                "country",
                pl.lit(False).alias("merchant"),
                none.alias("details"),
            ),
            receivers.select(
                "key",
                pl.col("receiver_name").alias("label"),
                pl.col("receiver_country").alias("country"),
                "merchant",
                none.alias("details"),
            ),
            _account_facts(w),
        ]
    ).unique("key", keep="first")
    extra = pl.concat(
        [
            customers.select("key"),
            w.reports.select((_const("report:") + pl.col("report_id")).alias("key")),
        ]
    )
    all_keys = pl.concat([endpoints, extra]).unique()
    nodes = all_keys.join(named, on="key", how="left").with_columns(
        pl.col("key").str.split_exact(":", 1).struct.field("field_0").alias("kind"),
        pl.coalesce("label", pl.col("key").str.splitn(":", 2).struct.field("field_1")).alias(
            "label"
        ),
        pl.col("merchant").fill_null(False),
    )
    return nodes.select([pl.col(c).cast(t) for c, t in NODE_SCHEMA.items()]).sort("key")


def _account_facts(w: WorldFrames) -> pl.DataFrame:
    """Account nodes' country and details from ``platform_accounts``: the service, the
    declared age band or minor flag, when the account was created and whether the
    platform verified it ("kinnect account; 16-17, a minor; AU; created 2024-01-08")."""
    pa = w.platform_accounts
    keyed, _ = _attach_account(
        pa, "account_id", "key", source="platform_accounts", record_id=pl.col("account_id")
    )  # an account id that does not normalise names no node, and read_table checked it
    minor = pl.col("is_minor").fill_null(False) | pl.col("age_band").is_in(MINOR_AGE_BANDS)
    age = (
        pl.when(minor & pl.col("age_band").is_not_null())
        .then(pl.col("age_band") + pl.lit(", " + MINOR_DETAIL))
        .when(minor)
        .then(pl.lit(MINOR_DETAIL))
        .otherwise(pl.coalesce(pl.col("age_band"), pl.lit("no declared age")))
    )
    details = pl.concat_str(
        [
            pl.col("service") + pl.lit(" account"),
            age,
            pl.col("country"),
            pl.lit("created ") + pl.col("created_at").dt.strftime("%Y-%m-%d"),
            pl.when(pl.col("verified")).then(pl.lit("verified")),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return keyed.select(
        "key",
        pl.lit(None, pl.String).alias("label"),
        pl.col("country").cast(pl.String),
        pl.lit(False).alias("merchant"),
        details.alias("details"),
    )


def resolve_exact(w: WorldFrames, key_map: KeyMap | None = None) -> ExactLinks:
    """All exact links of a world: payments, identifiers, platform events, media, ads.
    ``key_map``: where the distinct identifier values are normalised (default here)."""
    token = _KEY_MAP.set(key_map or _key_map)
    try:
        return _resolve_exact(w)
    finally:
        _KEY_MAP.reset(token)


def _resolve_exact(w: WorldFrames) -> ExactLinks:
    parts = [
        _payment_edges(w), _identifier_edges(w), _event_edges(w), _media_edges(w), _ad_edges(w)
    ]  # fmt: skip
    edges = pl.concat([e for e, _ in parts]).filter(pl.col("source") != pl.col("target"))
    issues = pl.concat([b.cast(ISSUE_SCHEMA) for _, bad in parts for b in bad])
    # An identifier that fails to normalise is reported once per record, not per join.
    return ExactLinks(
        nodes=_labels(w, edges), edges=edges, issues=issues.unique(maintain_order=True)
    )
