"""exchange fetch status: when a sync started, when the last one ended and how

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:30:00

HMA's ``GET /c/exchange/<name>/status`` answers python-threatexchange's ``FetchStatus``
(``running_fetch_start_ts``, ``last_fetch_complete_ts``, ``last_fetch_succeeded``, ...).
``media_exchanges`` kept only the last successful sync (``synced_at``): these columns
keep the start of the sync running now (None when none runs), the end of the last one
and whether it succeeded (``daybreak.store.repositories.exchanges``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_exchanges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fetch_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("fetch_ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("fetch_succeeded", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_exchanges", schema=None) as batch_op:
        batch_op.drop_column("fetch_succeeded")
        batch_op.drop_column("fetch_ended_at")
        batch_op.drop_column("fetch_started_at")
