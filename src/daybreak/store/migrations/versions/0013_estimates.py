"""estimates: the stored runs of ``daybreak estimate --db`` per organisation

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:30:00

The console's dashboards show an organisation's latest multiple-systems estimate
(docs/estimate.md); the body is sealed with the organisation's key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "estimates",
        sa.Column("estimate_id", sa.String(40), nullable=False),
        sa.Column("org_id", sa.String(40), server_default="default", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("estimate_id", name=op.f("pk_estimates")),
    )
    op.create_index("ix_estimates_org_created", "estimates", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_estimates_org_created", table_name="estimates")
    op.drop_table("estimates")
