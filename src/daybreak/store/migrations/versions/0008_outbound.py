"""outbound: relay cursors over the audit log and webhook dead letters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 20:45:00

``outbound_cursors`` holds how far each outbound relay (daybreak.connectors.stream_out)
has published the audit log; ``webhook_dead_letters`` the webhook deliveries that failed
every retry.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_cursors",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbound_cursors")),
    )
    with op.batch_alter_table("outbound_cursors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_cursors_org_id"), ["org_id"], unique=False)
    op.create_table(
        "webhook_dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(length=400), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_dead_letters")),
    )
    with op.batch_alter_table("webhook_dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_dead_letters_event_id"), ["event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_dead_letters_org_id"), ["org_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_dead_letters_org_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_dead_letters_event_id"))
    op.drop_table("webhook_dead_letters")
    with op.batch_alter_table("outbound_cursors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_cursors_org_id"))
    op.drop_table("outbound_cursors")
