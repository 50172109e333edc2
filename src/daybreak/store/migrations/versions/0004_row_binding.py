"""row binding: row MACs, a keyed audit head, store_meta; no clear copy of ``service``

Revision ID: 0004
Revises: 0003
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

revision = "0004"
down_revision = "0003"
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
    _drop_column("reports", "service")


def _drop_column(table: str, column: str) -> None:
    """Drop in place. Batch mode would re-create the table on SQLite, and dropping the
    old copy with foreign keys on (the store's connections) cascades into the tables
    that refer to it: report_identifiers rows would be deleted with it."""
    if op.get_bind().dialect.name == "sqlite":  # 3.35+: ALTER TABLE ... DROP COLUMN
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(length=256), nullable=True))
    for table, column in (
        ("reports", "row_mac"),
        ("clusters", "row_mac"),
        ("cases", "row_mac"),
        ("audit_head", "mac"),
    ):
        _drop_column(table, column)
    op.drop_table("store_meta")
