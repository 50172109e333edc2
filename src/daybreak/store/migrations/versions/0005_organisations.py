"""organisations: ``org_id`` on every tenant-owned row, an ``organisations`` table

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-20 10:00:00

Every tenant-owned table gets a NOT NULL, indexed ``org_id``; rows stored before are
the single organisation's, ``default``. Columns are added in place (SQLite's ALTER TABLE
ADD COLUMN with a constant default): batch mode would re-create tables, and dropping
the old copy with foreign keys on cascades into the tables that refer to it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_ORG = "default"
TENANT_TABLES = (
    "reports",
    "report_identifiers",
    "clusters",
    "identifier_clusters",
    "alerted_identifiers",
    "idempotency_keys",
    "cases",
    "case_keys",
    "case_reports",
    "case_notes",
    "case_events",
    "subject_labels",
    "users",
    "api_keys",
    "sessions",
    "audit_log",
)


def upgrade() -> None:
    organisations = op.create_table(
        "organisations",
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_organisations")),
    )
    op.bulk_insert(
        organisations,
        [{"org_id": DEFAULT_ORG, "name": "default", "created_at": datetime.now(UTC)}],
    )
    for table in TENANT_TABLES:
        op.add_column(
            table,
            sa.Column("org_id", sa.String(length=40), nullable=False, server_default=DEFAULT_ORG),
        )
        op.create_index(op.f(f"ix_{table}_org_id"), table, ["org_id"], unique=False)


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.drop_index(op.f(f"ix_{table}_org_id"), table_name=table)
        if op.get_bind().dialect.name == "sqlite":  # in place, as 0004 drops columns
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN "org_id"')
        else:
            op.drop_column(table, "org_id")
    op.drop_table("organisations")
