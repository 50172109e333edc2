"""console scale: keyed search forms and facets of cases, indexes for queue and dashboards

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 20:00:00

``cases.summary_enc`` is what a queue row shows, encrypted; ``case_search`` holds blind indexes of every form a console search finds a case by;
``case_facets`` a case's typologies and signal families. Both are derived from the
encrypted case body, so the store fills them for existing cases when it opens
(:func:`daybreak.store.cases.upgrade_search`), not here: a migration has no keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _case_id() -> sa.Column[str]:
    return sa.Column("case_id", sa.String(length=80), nullable=False)


def _org() -> sa.Column[str]:
    return sa.Column("org_id", sa.String(length=40), server_default="default", nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_enc", sa.LargeBinary(), nullable=True))
    op.create_table(
        "case_search",
        _org(),
        _case_id(),
        sa.Column("value_index", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
            name=op.f("fk_case_search_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "value_index", name=op.f("pk_case_search")),
    )
    op.create_index("ix_case_search_value_index", "case_search", ["value_index"])
    op.create_index(op.f("ix_case_search_org_id"), "case_search", ["org_id"])
    op.create_table(
        "case_facets",
        _org(),
        _case_id(),
        sa.Column("facet", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
            name=op.f("fk_case_facets_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "facet", "value", name=op.f("pk_case_facets")),
    )
    op.create_index("ix_case_facets_facet_value", "case_facets", ["facet", "value"])
    op.create_index(op.f("ix_case_facets_org_id"), "case_facets", ["org_id"])
    op.create_index(
        "ix_cases_queue_order",
        "cases",
        ["tier", sa.text("priority DESC"), "created_at", "case_id"],
    )
    op.create_index("ix_cases_country", "cases", ["country"])
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])
    op.create_index("ix_case_events_to_status", "case_events", ["to_status", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_events_to_status", table_name="case_events")
    for name in ("ix_cases_updated_at", "ix_cases_created_at", "ix_cases_country"):
        op.drop_index(name, table_name="cases")
    op.drop_index("ix_cases_queue_order", table_name="cases")
    op.drop_index(op.f("ix_case_facets_org_id"), table_name="case_facets")
    op.drop_index("ix_case_facets_facet_value", table_name="case_facets")
    op.drop_table("case_facets")
    op.drop_index(op.f("ix_case_search_org_id"), table_name="case_search")
    op.drop_index("ix_case_search_value_index", table_name="case_search")
    op.drop_table("case_search")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("summary_enc")
