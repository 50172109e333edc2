"""connectors: the state of CyberTipline submissions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 16:30:00

``cybertip_submissions`` holds, per case and service, the step a submission to the NCMEC
CyberTipline Reporting API reached and NCMEC's report id (daybreak.connectors.cybertip).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cybertip_submissions",
        sa.Column("case_id", sa.String(length=80), nullable=False),
        sa.Column("service_index", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("ncmec_report_id", sa.BigInteger(), nullable=True),
        sa.Column("xml_digest", sa.String(length=64), nullable=True),
        sa.Column("submits", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
            name=op.f("fk_cybertip_submissions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "service_index", name=op.f("pk_cybertip_submissions")),
    )
    with op.batch_alter_table("cybertip_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cybertip_submissions_org_id"), ["org_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cybertip_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cybertip_submissions_org_id"))
    op.drop_table("cybertip_submissions")
