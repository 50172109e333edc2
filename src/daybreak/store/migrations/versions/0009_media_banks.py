"""media banks: hash-list metadata in the store

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:00:00

The settings, versions, history and flood-control quarantine of the hash lists
(daybreak.media.banks) move from each media folder's ``banks.json`` into
``media_banks``, ``media_bank_events`` and ``media_bank_quarantine``, per organisation.
A folder's ``banks.json`` is imported when the store first opens that folder
(``store.banks``), not here: the migration does not know where media folders are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _org() -> sa.Column[str]:
    return sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False)


def _index_org(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_org_id"), ["org_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "media_banks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _org(),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entries_version", sa.Integer(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_banks")),
        sa.UniqueConstraint("org_id", "name", name="uq_media_banks_org_name"),
    )
    op.create_table(
        "media_bank_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _org(),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_bank_events")),
    )
    op.create_table(
        "media_bank_quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _org(),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_bank_quarantine")),
        sa.UniqueConstraint("org_id", "bank", "hash", name="uq_media_bank_quarantine_hash"),
    )
    for table in ("media_banks", "media_bank_events", "media_bank_quarantine"):
        _index_org(table)


def downgrade() -> None:
    for table in ("media_bank_quarantine", "media_bank_events", "media_banks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_org_id"))
        op.drop_table(table)
