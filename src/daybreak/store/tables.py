"""The store's tables (SQLAlchemy 2 Core). Migrations in ``migrations/versions`` create
them; change both together (``alembic revision --autogenerate`` compares them).

Columns holding personal data are ``LargeBinary`` AES-GCM ciphertexts (``*_enc``) bound
to their table, column and row; identifiers are findable only through their keyed blind
index (``value_index``). The plain columns of ``reports``, ``cases`` and ``clusters``
that triage and the workflow act on are covered by a keyed ``row_mac``
(:mod:`daybreak.store.integrity`). Which columns are plain, and why: docs/tipline.md.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.elements import ColumnElement

from daybreak.model import DEFAULT_ORG as DEFAULT_ORG  # re-exported: the store names it

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
TS = DateTime(timezone=True)


def _org(indexed: bool = True) -> Column[str]:
    """The organisation a tenant-owned row belongs to (migration 0005_organisations);
    ``indexed``: with an index of its own (not when composite indexes lead with it)."""
    return Column("org_id", String(40), nullable=False, server_default=DEFAULT_ORG, index=indexed)


def of_org(table: Table, org_id: str) -> ColumnElement[bool]:
    """The condition that scopes a query of a tenant-owned ``table`` to one
    organisation (every read, change and delete of the store's repositories has it)."""
    return table.c.org_id == org_id


def _rows_of(owner: str, key: str, length: int) -> tuple[Column[int], Column[str]]:
    """The serial id and the indexed owner key of a table of many rows per ``owner``
    row; deleting the owner deletes its rows."""
    return (
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column(
            key,
            String(length),
            ForeignKey(f"{owner}.{key}", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
    )


reports = Table(
    "reports",
    metadata,
    _org(),
    Column("report_id", String(40), primary_key=True),
    Column("received_at", TS, nullable=False, index=True),
    Column("source", String(20), nullable=False),  # api | ncmec | world | import
    Column("submitted_by", String(80), nullable=False),
    Column("reporter_type", String(20), nullable=False),
    Column("incident_type", String(40), nullable=False),
    Column("is_live", Boolean, nullable=False),
    Column("occurred_at", TS),
    Column("tier", Integer, nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list; no personal data
    Column("country", String(2)),
    Column("route_basis", String(20), nullable=False),
    Column("agency", String(200), nullable=False),
    Column("cluster_id", String(48), nullable=False, index=True),
    Column("payload_enc", LargeBinary, nullable=False),  # the ReportIn JSON, encrypted
    Column("row_mac", String(64)),  # over the plain triage columns
)

report_identifiers = Table(
    "report_identifiers",
    metadata,
    _org(),
    *_rows_of("reports", "report_id", 40),
    Column("kind", String(20), nullable=False),
    Column("role", String(40), nullable=False),
    Column("value_index", String(40), nullable=False, index=True),
    Column("value_enc", LargeBinary, nullable=False),
    Column("seen_at", TS),
)

clusters = Table(
    "clusters",
    metadata,
    _org(),
    Column("cluster_id", String(48), primary_key=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("report_count", Integer, nullable=False),
    Column("tier", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("merged_into", String(48)),
    Column("row_mac", String(64)),
)

# Which cluster each identifier belongs to: O(1) cluster lookup at intake however many
# reports carry the identifier.
identifier_clusters = Table(
    "identifier_clusters",
    metadata,
    _org(),
    Column("value_index", String(40), primary_key=True),
    Column("cluster_id", String(48), nullable=False, index=True),
)

alerted_identifiers = Table(
    "alerted_identifiers",
    metadata,
    _org(),
    Column("value_index", String(40), primary_key=True),
    Column("source", String(40), primary_key=True),  # payments | media | ...
    Column("ref", String(80)),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _org(),
    Column("principal", String(80), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("report_id", String(40), nullable=False),
    Column("created_at", TS, nullable=False, index=True),
)

cases = Table(
    "cases",
    metadata,
    _org(indexed=False),  # every index of the queue leads with it (0012)
    Column("case_id", String(80), primary_key=True),
    Column("priority", Float, nullable=False, index=True),
    Column("tier", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("outcome", String(40)),
    Column("assignee", String(80)),
    Column("country", String(2)),
    Column("routed_agency", String(200)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("body_enc", LargeBinary, nullable=False),  # the Case JSON, encrypted
    # What a queue row shows (title, reasons, sources, typologies, evidence counts),
    # encrypted: a queue page decrypts these, not whole cases (migration 0008).
    Column("summary_enc", LargeBinary),
    Column("row_mac", String(64)),  # over the plain workflow columns
    # The team whose inbox the case is in (migration 0015); not under the row MAC,
    # which predates it: routing, like a queue filter, not a finding.
    Column("team", String(40)),
    Index("ix_cases_created_at", "created_at"),
    Index("ix_cases_updated_at", "updated_at"),
)

# The queue's order (most severe tier, highest priority, oldest) within an organisation,
# read off an index; one such index per filter the console offers (status, country,
# assignee), each leading with the organisation every query names and the filter's
# column, so a page is the first 50 entries of an index range. The columns after the
# order make them covering for the counts and the dashboards' GROUP BYs: SQLite keeps
# a case's organisation and summary after its large encrypted body (columns added by
# later migrations), so a query that touches the table reads the body's overflow
# pages of every row it looks at (migration 0012_casework_indexes).
_ORDER = (cases.c.tier, cases.c.priority.desc(), cases.c.created_at, cases.c.case_id)
Index(
    "ix_cases_queue_order",
    cases.c.org_id,
    *_ORDER,
    cases.c.status,
    cases.c.assignee,
    cases.c.country,
    cases.c.routed_agency,
)
Index("ix_cases_status_queue", cases.c.org_id, cases.c.status, *_ORDER)
Index("ix_cases_country_queue", cases.c.org_id, cases.c.country, *_ORDER, cases.c.status)
Index("ix_cases_assignee_queue", cases.c.org_id, cases.c.assignee, *_ORDER, cases.c.status)
# A team's inbox: its unassigned open cases in the queue's order (migration 0015).
Index(
    "ix_cases_team_inbox", cases.c.org_id, cases.c.team, cases.c.assignee, *_ORDER, cases.c.status
)

# Referrals with the export actually sent (daybreak.store.case_referrals): the agency,
# the format, the bytes sent (encrypted, bound to the row) and their SHA-256, and the
# receiver's reference number (encrypted), added when the receiver answers.
case_referrals = Table(
    "case_referrals",
    metadata,
    *_rows_of("cases", "case_id", 80),
    _org(),
    Column("agency", String(200), nullable=False),
    Column("format", String(40)),
    Column("filename", String(200)),
    Column("media_type", String(100)),
    Column("digest", String(64)),
    Column("size", Integer),
    Column("export_enc", LargeBinary),
    Column("reference_enc", LargeBinary),
    Column("actor", String(80), nullable=False),
    Column("at", TS, nullable=False),
    Column("reference_by", String(80)),
    Column("reference_at", TS),
)

# Which analysts belong to which team of their organisation (payments, platform,
# hotline ...): a team exists while it has members. Managed by an admin
# (``daybreak admin teams``); a case sent to a team waits in its inbox until a member
# takes it.
team_members = Table(
    "team_members",
    metadata,
    _org(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team", String(40), nullable=False),
    Column(
        "username",
        String(80),
        ForeignKey("users.username", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("added_at", TS, nullable=False),
    UniqueConstraint("org_id", "team", "username", name="uq_team_members_org_team_username"),
)

case_keys = Table(
    "case_keys",
    metadata,
    _org(),
    Column(
        "case_id", String(80), ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("value_index", String(40), primary_key=True),
    # A blind index and the organisation, both equalities, so the planner prefers it
    # to the organisation's own index (which holds every row of the organisation).
    Index("ix_case_keys_value_org", "value_index", "org_id", "case_id"),
)

# Blind indexes of every form a console search finds a case by (its ids, entity keys,
# node keys and labels, evidence record ids; see daybreak.model.cases.search_forms), so
# a search is a keyed lookup instead of decrypting every case.
case_search = Table(
    "case_search",
    metadata,
    _org(),
    Column(
        "case_id", String(80), ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("value_index", String(40), primary_key=True),
    Index("ix_case_search_value_org", "value_index", "org_id", "case_id"),  # as case_keys
)

# What the queue filters and the dashboards count a case by, besides its plain columns:
# its typologies (from its alerts) and its signal families, written by the code.
case_facets = Table(
    "case_facets",
    metadata,
    _org(),
    Column(
        "case_id", String(80), ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("facet", String(20), primary_key=True),  # typology | source
    Column("value", String(80), primary_key=True),
    Index("ix_case_facets_facet_value", "facet", "value"),
    # Typology filter and the facet charts, index only (migration 0012).
    Index("ix_case_facets_org_facet_value", "org_id", "facet", "value", "case_id"),
)

case_reports = Table(
    "case_reports",
    metadata,
    _org(),
    Column(
        "case_id", String(80), ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("report_id", String(40), primary_key=True),
    Index("ix_case_reports_report_id", "report_id"),
)

case_notes = Table(
    "case_notes",
    metadata,
    _org(),
    *_rows_of("cases", "case_id", 80),
    Column("author", String(80), nullable=False),
    Column("at", TS, nullable=False),
    Column("text_enc", LargeBinary, nullable=False),
)

case_events = Table(
    "case_events",
    metadata,
    _org(),
    *_rows_of("cases", "case_id", 80),
    Column("at", TS, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("reason_enc", LargeBinary),
    # Dashboards: cases ever referred, and when each case first left "new".
    Index("ix_case_events_to_status", "to_status", "case_id"),
    # Time to triage: one pass in case order reading only this index (migration 0015).
    Index("ix_case_events_org_case", "org_id", "case_id", "to_status", "at"),
)

# Analysts' overrides of a case's tier, newest last; the latest is the case's effective
# tier (kept in ``cases.tier`` across rebuilds), the computed tier is kept beside it.
case_tier_overrides = Table(
    "case_tier_overrides",
    metadata,
    *_rows_of("cases", "case_id", 80),
    _org(),
    Column("computed_tier", Integer, nullable=False),
    Column("from_tier", Integer, nullable=False),
    Column("tier", Integer, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", TS, nullable=False),
    Column("reason_enc", LargeBinary, nullable=False),
)

# Analysts' merges and splits of cases: one row on each case (merged_into / merged_from,
# split_to / split_from) naming the other; the reason and the alerts split out are
# encrypted (JSON), bound to the row. Re-applied when the case builder replaces a case.
case_links = Table(
    "case_links",
    metadata,
    *_rows_of("cases", "case_id", 80),
    _org(),
    Column("other_case_id", String(80), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", TS, nullable=False),
    Column("detail_enc", LargeBinary, nullable=False),
)

# Analysts' dispositions of a case's payments subjects: the labels the payments model
# learns from. The subject is stored as a blind index (``value_index`` of
# "subject_type:subject_id", as case_keys) and an AES-GCM ciphertext of its id; one row
# per case and subject, replaced when the analyst changes their mind (the audit log
# keeps every change).
subject_labels = Table(
    "subject_labels",
    metadata,
    _org(),
    *_rows_of("cases", "case_id", 80),
    Column("subject_type", String(20), nullable=False),
    Column("value_index", String(40), nullable=False, index=True),
    Column("subject_enc", LargeBinary, nullable=False),
    Column("disposition", String(30), nullable=False),
    Column("label", Integer, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", TS, nullable=False),
    UniqueConstraint("case_id", "subject_type", "value_index", name="uq_subject_labels_subject"),
)

# The organisations a deployment serves; the deployment's operator creates them
# (``daybreak admin orgs create``).
organisations = Table(
    "organisations",
    metadata,
    Column("org_id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("created_at", TS, nullable=False),
)

# The state of a case's submission to the NCMEC CyberTipline Reporting API, one row per
# case and service (NCMEC takes one report per service): the step reached and NCMEC's
# report id, written *before* each next call so that a retry after a crash resumes
# instead of opening a second report (daybreak.connectors.cybertip). The service is kept
# only as a blind index; NCMEC's last response (codes and ids) is encrypted like the
# rest of the case's data.
cybertip_submissions = Table(
    "cybertip_submissions",
    metadata,
    Column(
        "case_id", String(80), ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("service_index", String(40), primary_key=True),
    _org(),
    Column("step", String(20), nullable=False),
    Column("ncmec_report_id", BigInteger),
    Column("xml_digest", String(64)),
    Column("submits", Integer, nullable=False),  # /submit calls made, crashes included
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("response_enc", LargeBinary),  # NCMEC's last response document
)

# Outbound events (daybreak.connectors.stream_out): how far each relay has read the
# audit log (events are audit entries; a relay restarts after the last one it finished),
# and the webhook deliveries that failed every retry, kept for operators to see and
# replay. An event body holds the audit entry's fields, which are ids and counts only.
outbound_cursors = Table(
    "outbound_cursors",
    metadata,
    Column("name", String(80), primary_key=True),
    _org(),
    Column("audit_seq", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
)

webhook_dead_letters = Table(
    "webhook_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    Column("event_id", String(80), nullable=False, index=True),
    Column("url", String(400), nullable=False),
    Column("action", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200), nullable=False),
    Column("failed_at", TS, nullable=False),
)

# Hash lists of known material ("banks", daybreak.media.banks): their settings and
# versions per organisation. The listed hashes stay in the banks folder's Parquet files
# (millions of rows read whole by the matcher); these tables hold what writers change
# concurrently, under the store's locking, with every change in the audit chain.
media_banks = Table(
    "media_banks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    Column("name", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("negative", Boolean, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("source", String(200), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("version", Integer, nullable=False),
    Column("entries_version", Integer, nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),  # ISO 8601 UTC, as the media module has it
    UniqueConstraint("org_id", "name", name="uq_media_banks_org_name"),
)

# Every change to an organisation's banks, in order (the banks' version history; the
# latest id tells a process whether another one changed the banks).
media_bank_events = Table(
    "media_bank_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    Column("bank", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(80), nullable=False),
    Column("changed", Integer, nullable=False),
    Column("at", String(40), nullable=False),
)

# Listed hashes that flood control took out of matching until someone releases them.
media_bank_quarantine = Table(
    "media_bank_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    Column("bank", String(64), nullable=False),
    Column("hash", String(200), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    UniqueConstraint("org_id", "bank", "hash", name="uq_media_bank_quarantine_hash"),
)

# Hash exchanges that keep banks current (daybreak.connectors.hash_exchange): one row per
# exchange an organisation syncs a bank from, with the exchange client's checkpoint (JSON)
# so that a sync resumes where the last one stopped. Credentials are never stored: the
# row names the environment variable or the secret file to read them from.
media_exchanges = Table(
    "media_exchanges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    Column("name", String(64), nullable=False),
    Column("api", String(40), nullable=False),
    Column("bank", String(64), nullable=False),
    Column("config", Text, nullable=False),
    Column("credentials_env", String(80), nullable=False),
    Column("credentials_file", String(400), nullable=False),
    Column("checkpoint", Text, nullable=True),
    # False from a sync's first stored page until its bank changes are written: a sync
    # that died in between is reconciled from the stored items at the next start
    Column("bank_current", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("synced_at", TS, nullable=True),
    # HMA's fetch status (migration 0016): the start of the sync running now (None:
    # none runs), the end of the last one and whether it succeeded
    Column("fetch_started_at", TS, nullable=True),
    Column("fetch_ended_at", TS, nullable=True),
    Column("fetch_succeeded", Boolean, nullable=True),
    UniqueConstraint("org_id", "name", name="uq_media_exchanges_org_name"),
)

# What each exchange item (an NCMEC entry, a ThreatExchange indicator) put in the bank:
# an update replaces an item's hashes, a deletion drops them, and a hash leaves the bank
# when no item lists it any more. ``ref`` is what an opinion about the hash names at the
# exchange (an NCMEC member/entry/fingerprint, a ThreatExchange descriptor id).
media_exchange_items = Table(
    "media_exchange_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(indexed=False),
    Column("exchange", String(64), nullable=False),
    Column("item_key", String(400), nullable=False),
    Column("hash_type", String(40), nullable=False),
    Column("hash", String(200), nullable=False),
    Column("ref", String(200), nullable=False),
    Index("ix_media_exchange_items_key", "org_id", "exchange", "item_key"),
    Index("ix_media_exchange_items_hash", "org_id", "hash_type", "hash"),
)

# Analysts' opinions on matches (seen / true positive / false positive) waiting to be
# sent back to the exchange that listed the hash: queued, retried, and dead-lettered
# (state "dead") after too many failures, like the outbound webhooks.
media_exchange_opinions = Table(
    "media_exchange_opinions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    Column("exchange", String(64), nullable=False),
    Column("hash_type", String(40), nullable=False),
    Column("hash", String(200), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("case_id", String(80), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("state", String(12), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("next_at", TS, nullable=False),
    Column("sent_at", TS, nullable=True),
)

users = Table(
    "users",
    metadata,
    _org(),
    Column("username", String(80), primary_key=True),
    Column("password_hash", String(200), nullable=False),  # argon2id
    Column("role", String(20), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # Sign-in throttling shared by every process (API and console): consecutive
    # failures, when the last one happened, and until when the account is locked.
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("last_failed_at", TS),
    Column("locked_until", TS),
    # Bumped whenever the account's sessions must end (revoke, disable, password reset,
    # role change); sessions held in a process (the console's) compare it on each use.
    Column("session_epoch", Integer, nullable=False, default=0),
)

api_keys = Table(
    "api_keys",
    metadata,
    _org(),
    Column("key_id", String(24), primary_key=True),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of a 256-bit secret
    Column("name", String(120), nullable=False),
    Column("role", String(20), nullable=False),
    Column("rate_per_minute", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
    Column("expires_at", TS),  # refused from then on; NULL = no expiry
    # The user the key acts for, if any (revoking a user revokes their keys; a disabled
    # owner's keys are refused). Platform keys usually have none.
    Column("owner", String(80), index=True),
)

sessions = Table(
    "sessions",
    metadata,
    _org(),
    Column("token_hash", String(64), primary_key=True),
    Column(
        "username", String(80), ForeignKey("users.username", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False, index=True),
)

# Server-side sessions of the console (a web face), shared by every server process on
# the database: started through one, used through any other; ended (sign-out, account
# revoked, disabled, re-roled or its password reset) at once everywhere. ``created`` and
# ``seen`` are seconds since the epoch (idle and absolute timeouts); ``state_enc`` is the
# face's own state (its CSRF token, messages to show, a search in force), encrypted.
web_sessions = Table(
    "web_sessions",
    metadata,
    _org(),
    Column("token_hash", String(64), primary_key=True),
    Column(
        "username",
        String(80),
        ForeignKey("users.username", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("role", String(20), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("created", Float, nullable=False),
    Column("seen", Float, nullable=False, index=True),
    Column("state_enc", LargeBinary, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    _org(),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("object_type", String(20), nullable=False),
    Column("object_id", String(80), nullable=False, index=True),
    Column("detail", Text, nullable=False),  # JSON, ids and counts only, no personal data
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("mac", String(64)),  # keyed with the audit key: HMAC over (seq, hash)
)

# Versions of store-level upgrades that need the keys (Alembic migrations do not have
# them): ``row_binding`` (ciphertexts bound to their rows, row MACs written) and
# ``audit_legacy_until`` (the last audit entry keyed from the field key).
store_meta = Table(
    "store_meta",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

# Token buckets shared by every server process on one database (rate limits per API key
# or analyst, sign-in attempts per client address): ``bucket`` is a keyed hash of the
# scope and the client (addresses are not kept), ``tokens`` what is left after the last
# take at ``at`` (seconds since the epoch), ``granted`` how many that take got.
# Rows idle for long are deleted (a bucket refills within a minute). Unlogged on
# PostgreSQL (migration 0008): losing them in a crash only refills the buckets.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("bucket", String(64), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("at", Float, nullable=False, index=True),
    Column("granted", Integer, nullable=False),
)

# Runs of ``daybreak estimate --db`` (multiple-systems estimation, docs/estimate.md) per
# organisation; the console's dashboards show the latest. The body (counts per stratum,
# the strata's labels from the sightings file, the model, warnings) is sealed like a
# case body, since stratum labels come from a file the operator prepared.
estimates = Table(
    "estimates",
    metadata,
    Column("estimate_id", String(40), primary_key=True),
    _org(indexed=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("body_enc", LargeBinary, nullable=False),
    Index("ix_estimates_org_created", "org_id", "created_at"),
)

# Every text column kept in clear, and why (docs/tipline.md lists them too; a test fails
# when a text column is added without being classified here). Everything a reporter or
# analyst writes freely (report payloads, identifiers, case bodies, notes, reasons,
# labelled subjects) is in the ``*_enc`` columns.
_DIGEST = "keyed hash, MAC or blind index: no content"
_ID = "identifier generated by Daybreak (random or derived), no content"
_ENUM = "one of a fixed set of values checked by the code"
_PRINCIPAL = "username (1-80 of letters, digits, . _ - @) or key:<generated id>"
_ORG = "organisation slug (1-40 of a-z, 0-9, -), set by the deployment operator"
_ROUTING = "from the agencies table (configuration), ISO country code or routing basis"
_BANK = "hash-list name (1-64 of letters, digits, . _ -), checked by daybreak.media.banks"
_WHEN = "ISO 8601 UTC time written by the code"
PLAIN_TEXT_COLUMNS: dict[str, str] = {
    "estimates.estimate_id": _ID,
    "estimates.org_id": _ORG,
    "estimates.created_by": _PRINCIPAL,
    "media_banks.org_id": _ORG,
    "media_bank_events.org_id": _ORG,
    "media_bank_quarantine.org_id": _ORG,
    "media_banks.name": _BANK,
    "media_banks.source": "who supplied a hash list (1-200 characters, a manager's words "
    "or the imported file's name), no report data",
    "media_banks.description": "a manager's description of a hash list (at most 1,000 "
    "characters), no report data",
    "media_banks.updated_at": _WHEN,
    "media_bank_events.bank": _BANK,
    "media_bank_events.action": _ENUM
    + " (create, add, remove, update <setting names>, import, quarantine, release)",
    "media_bank_events.at": _WHEN,
    "media_bank_quarantine.bank": _BANK,
    "media_bank_quarantine.hash": "a listed hash of known material (hex), no personal data",
    "media_bank_quarantine.reason": "flood control's reason, written by the code",
    "media_bank_quarantine.at": _WHEN,
    "media_exchanges.org_id": _ORG,
    "media_exchange_items.org_id": _ORG,
    "media_exchange_opinions.org_id": _ORG,
    "media_exchanges.name": _BANK + " (an exchange's name, checked the same way)",
    "media_exchanges.bank": _BANK,
    "media_exchanges.api": _ENUM + " (ncmec, fb_threatexchange, stop_ncii)",
    "media_exchanges.config": "JSON of a manager's exchange settings (environment, privacy "
    "group, member ids, endpoint URL), no credentials, no report data",
    "media_exchanges.credentials_env": "the NAME of the environment variable holding the "
    "credentials (never the value)",
    "media_exchanges.credentials_file": "the PATH of the secret file (never its content)",
    "media_exchanges.checkpoint": "JSON of the exchange client's checkpoint (times, the "
    "exchange's paging URL), no report data",
    "media_exchange_items.exchange": _BANK,
    "media_exchange_items.item_key": "the exchange's id of a listed item (NCMEC member-entry, "
    "ThreatExchange type and indicator, StopNCII type and hash), no report data",
    "media_exchange_items.hash_type": _ENUM,
    "media_exchange_items.hash": "a listed hash of known material (hex), no personal data",
    "media_exchange_items.ref": "what an opinion names at the exchange (ids, a listed hash)",
    "media_exchange_opinions.exchange": _BANK,
    "media_exchange_opinions.hash_type": _ENUM,
    "media_exchange_opinions.hash": "a listed hash of known material (hex), no personal data",
    "media_exchange_opinions.verdict": _ENUM + " (seen, true_positive, false_positive)",
    "media_exchange_opinions.case_id": _ID + " (a case id or sighting:<id>)",
    "media_exchange_opinions.actor": _PRINCIPAL,
    "media_exchange_opinions.state": _ENUM + " (queued, sent, unsupported, dead)",
    "media_exchange_opinions.last_error": "an HTTP status or error class with the exchange's "
    "short answer, credentials masked",
    "reports.org_id": _ORG,
    "report_identifiers.org_id": _ORG,
    "clusters.org_id": _ORG,
    "identifier_clusters.org_id": _ORG,
    "alerted_identifiers.org_id": _ORG,
    "idempotency_keys.org_id": _ORG,
    "cases.org_id": _ORG,
    "case_keys.org_id": _ORG,
    "case_reports.org_id": _ORG,
    "case_notes.org_id": _ORG,
    "case_events.org_id": _ORG,
    "subject_labels.org_id": _ORG,
    "users.org_id": _ORG,
    "api_keys.org_id": _ORG,
    "sessions.org_id": _ORG,
    "web_sessions.org_id": _ORG,
    "audit_log.org_id": _ORG,
    "organisations.org_id": _ORG,
    "organisations.name": "label the operator gives an organisation (1-120 characters)",
    "alerted_identifiers.value_index": _DIGEST,
    "alerted_identifiers.source": _ENUM + " (payments, media, ...)",
    "alerted_identifiers.ref": "reference of the alert set by the detector (an id), cut to 80",
    "api_keys.key_id": _ID,
    "api_keys.secret_hash": _DIGEST,
    "api_keys.name": "label an admin gives a platform's key (1-120 characters), no report data",
    "api_keys.role": _ENUM,
    "api_keys.owner": _PRINCIPAL
    + " (the user the key belongs to, for revoking all of a user's keys)",
    "audit_head.hash": _DIGEST,
    "audit_head.mac": _DIGEST,
    "audit_log.actor": _PRINCIPAL,
    "audit_log.action": _ENUM,
    "audit_log.object_type": _ENUM,
    "audit_log.object_id": _ID + " (or a truncated blind index)",
    "audit_log.detail": "JSON of ids and counts written by the store, never content",
    "audit_log.prev_hash": _DIGEST,
    "audit_log.hash": _DIGEST,
    "cases.case_id": _ID,
    "cases.status": _ENUM + "; row MAC",
    "cases.outcome": _ENUM + "; row MAC",
    "cases.assignee": _PRINCIPAL + "; row MAC",
    "cases.country": _ROUTING + "; row MAC",
    "cases.routed_agency": _ROUTING + "; row MAC",
    "cases.row_mac": _DIGEST,
    "clusters.cluster_id": _ID,
    "clusters.merged_into": _ID + "; row MAC",
    "clusters.row_mac": _DIGEST,
    "idempotency_keys.principal": _PRINCIPAL,
    "idempotency_keys.key": "client's retry token, 1-200 printable ASCII, deleted after 24 h",
    "idempotency_keys.request_hash": _DIGEST,
    "idempotency_keys.report_id": _ID,
    "identifier_clusters.value_index": _DIGEST,
    "identifier_clusters.cluster_id": _ID,
    "reports.report_id": _ID,
    "reports.source": _ENUM + "; row MAC",
    "reports.submitted_by": _PRINCIPAL + "; row MAC",
    "reports.reporter_type": _ENUM + "; row MAC",
    "reports.incident_type": _ENUM + "; row MAC",
    "reports.reasons": "JSON list of triage reason codes written by the code; row MAC",
    "reports.country": _ROUTING + "; row MAC",
    "reports.route_basis": _ROUTING + "; row MAC",
    "reports.agency": _ROUTING + "; row MAC",
    "reports.cluster_id": _ID,
    "reports.row_mac": _DIGEST,
    "store_meta.name": _ENUM,
    "store_meta.value": "version numbers and audit sequence numbers",
    "users.username": _PRINCIPAL,
    "users.password_hash": _DIGEST + " (argon2id)",
    "users.role": _ENUM,
    "web_sessions.role": _ENUM,
    "case_events.case_id": _ID,
    "case_events.actor": _PRINCIPAL,
    "case_events.from_status": _ENUM,
    "case_events.to_status": _ENUM,
    "cases.team": "a team name an admin chose: 1-40 of a-z, 0-9 and -",
    "team_members.team": "a team name an admin chose: 1-40 of a-z, 0-9 and -",
    "team_members.username": _PRINCIPAL,
    "team_members.org_id": _ORG,
    "case_referrals.case_id": _ID,
    "case_referrals.org_id": _ORG,
    "case_referrals.agency": _ROUTING,
    "case_referrals.format": _ENUM + " (an export format's name)",
    "case_referrals.filename": "the export's file name, made by the code from the case id",
    "case_referrals.media_type": _ENUM,
    "case_referrals.digest": _DIGEST + " (SHA-256 of the export sent)",
    "case_referrals.actor": _PRINCIPAL,
    "case_referrals.reference_by": _PRINCIPAL,
    "case_links.case_id": _ID,
    "case_links.org_id": _ORG,
    "case_links.other_case_id": _ID,
    "case_links.kind": _ENUM,
    "case_links.actor": _PRINCIPAL,
    "case_tier_overrides.case_id": _ID,
    "case_tier_overrides.org_id": _ORG,
    "case_tier_overrides.actor": _PRINCIPAL,
    "case_search.case_id": _ID,
    "case_search.value_index": _DIGEST,
    "case_search.org_id": _ORG,
    "case_facets.case_id": _ID,
    "case_facets.facet": _ENUM,
    "case_facets.value": "a typology or signal family name written by the code",
    "case_facets.org_id": _ORG,
    "case_keys.case_id": _ID,
    "case_keys.value_index": _DIGEST,
    "case_notes.case_id": _ID,
    "case_notes.author": _PRINCIPAL,
    "case_reports.case_id": _ID,
    "case_reports.report_id": _ID,
    "report_identifiers.report_id": _ID,
    "report_identifiers.kind": _ENUM,
    "report_identifiers.role": _ENUM + " (a reporter's own wording stays encrypted)",
    "report_identifiers.value_index": _DIGEST,
    "sessions.token_hash": _DIGEST,
    "sessions.username": _PRINCIPAL,
    "web_sessions.token_hash": _DIGEST,
    "web_sessions.username": _PRINCIPAL,
    "subject_labels.case_id": _ID,
    "subject_labels.subject_type": _ENUM,
    "subject_labels.value_index": _DIGEST,
    "subject_labels.disposition": _ENUM,
    "subject_labels.actor": _PRINCIPAL,
    "cybertip_submissions.case_id": _ID,
    "cybertip_submissions.service_index": _DIGEST,
    "cybertip_submissions.org_id": _ORG,
    "cybertip_submissions.step": _ENUM,
    "cybertip_submissions.xml_digest": _DIGEST,
    "outbound_cursors.name": "relay name from stream.yaml (configuration)",
    "outbound_cursors.org_id": _ORG,
    "webhook_dead_letters.org_id": _ORG,
    "webhook_dead_letters.event_id": _ID,
    "webhook_dead_letters.url": "webhook URL from stream.yaml (configuration)",
    "webhook_dead_letters.action": _ENUM,
    "webhook_dead_letters.body": "an audit entry's fields as JSON: ids and counts only",
    "webhook_dead_letters.last_error": "HTTP status or connection error class, no content",
    "rate_buckets.bucket": _DIGEST,
}
