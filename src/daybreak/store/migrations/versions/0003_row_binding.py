"""row binding: row MACs, a keyed audit head, store_meta; no clear copy of ``service``

Revision ID: 0003_row_binding
Revises: 0002
Create Date: 2027-01-12 10:00:00

Schema only. Re-encrypting existing ciphertexts with their row bound into the associated
data, and writing the first row MACs and head MAC, needs the keys, which Alembic does
not have: the store does it when it opens (``daybreak.store.integrity.upgrade``,
recorded as ``row_binding`` in ``store_meta``). ``reports.service`` is dropped: the
service is in the encrypted payload, and nothing read the clear copy. A downgrade
restores the columns but not the ciphertexts' format: versions before 0003 cannot read
a store that was opened by this one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_row_binding"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_meta")),
    )
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_mac", sa.String(length=64), nullable=True))
        batch_op.drop_column("service")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(length=256), nullable=True))
        batch_op.drop_column("row_mac")
    with op.batch_alter_table("clusters", schema=None) as batch_op:
        batch_op.drop_column("row_mac")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("row_mac")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("mac")
    op.drop_table("store_meta")
