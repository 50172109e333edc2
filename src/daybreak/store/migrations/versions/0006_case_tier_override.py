"""case tier override: an analyst's tier for a case, with the reason, kept across rebuilds

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 17:40:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_tier_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False),
        sa.Column("computed_tier", sa.Integer(), nullable=False),
        sa.Column("from_tier", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
            name=op.f("fk_case_tier_overrides_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tier_overrides")),
    )
    with op.batch_alter_table("case_tier_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_tier_overrides_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_case_tier_overrides_org_id"), ["org_id"])


def downgrade() -> None:
    with op.batch_alter_table("case_tier_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_tier_overrides_org_id"))
        batch_op.drop_index(batch_op.f("ix_case_tier_overrides_case_id"))
    op.drop_table("case_tier_overrides")
