"""shared state of several servers: rate-limit token buckets, console sessions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:00:00

``rate_buckets`` holds the token buckets of the rate limits (per API key or analyst)
and of the sign-in attempts per client address, so that several ``daybreak serve``
processes on one PostgreSQL database enforce one limit (daybreak.store.repositories
.throttles). On PostgreSQL the table is UNLOGGED: no WAL for a write on every request,
and a crash only refills the buckets. ``web_sessions`` holds the console's sessions
(before: in each process's memory), so a session started through one server is used
through any other, and ended everywhere at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_buckets")),
    )
    with op.batch_alter_table("rate_buckets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_buckets_at"), ["at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_buckets SET UNLOGGED")
    op.create_table(
        "web_sessions",
        sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("seen", sa.Float(), nullable=False),
        sa.Column("state_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["users.username"],
            name=op.f("fk_web_sessions_username_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_seen"), ["seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_username"), ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_username"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_seen"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_org_id"))
    op.drop_table("web_sessions")
    with op.batch_alter_table("rate_buckets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_buckets_at"))
    op.drop_table("rate_buckets")
