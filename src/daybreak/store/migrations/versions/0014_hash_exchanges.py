"""hash exchanges: banks synced from NCMEC, ThreatExchange and StopNCII

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:30:00

``media_exchanges`` keeps each exchange an organisation syncs a bank from, with the
exchange client's checkpoint (a sync resumes where the last one stopped);
``media_exchange_items`` what each exchange item put in the bank (so that updates and
deletions from the exchange are applied); ``media_exchange_opinions`` the analysts'
opinions waiting to be sent back (queued, retried, dead-lettered). See
daybreak.connectors.hash_exchange.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _org() -> sa.Column[str]:
    return sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False)


def upgrade() -> None:
    op.create_table(
        "media_exchanges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _org(),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("api", sa.String(length=40), nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("credentials_env", sa.String(length=80), nullable=False),
        sa.Column("credentials_file", sa.String(length=400), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("bank_current", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_exchanges")),
        sa.UniqueConstraint("org_id", "name", name="uq_media_exchanges_org_name"),
    )
    with op.batch_alter_table("media_exchanges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_exchanges_org_id"), ["org_id"], unique=False)
    op.create_table(
        "media_exchange_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _org(),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("item_key", sa.String(length=400), nullable=False),
        sa.Column("hash_type", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.String(length=200), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_exchange_items")),
    )
    with op.batch_alter_table("media_exchange_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_media_exchange_items_key", ["org_id", "exchange", "item_key"], unique=False
        )
        batch_op.create_index(
            "ix_media_exchange_items_hash", ["org_id", "hash_type", "hash"], unique=False
        )
    op.create_table(
        "media_exchange_opinions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _org(),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column("hash_type", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.String(length=80), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_exchange_opinions")),
    )
    with op.batch_alter_table("media_exchange_opinions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_media_exchange_opinions_org_id"), ["org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_media_exchange_opinions_state"), ["state"], unique=False
        )


def downgrade() -> None:
    op.drop_table("media_exchange_opinions")
    op.drop_table("media_exchange_items")
    op.drop_table("media_exchanges")
