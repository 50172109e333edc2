"""casework indexes: the queue's indexes lead with the organisation and cover the counts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:00:00

At 100,000 cases SQLite answered every queue page, count and dashboard through
``ix_cases_org_id`` (one organisation: every row), reading each case's row, and with it
the overflow pages of its encrypted body, which comes before ``org_id`` in the row
(3-7 s per query, 35 s for the dashboards). The single-column indexes on
``org_id``, ``status``, ``assignee`` and ``country`` are replaced by composite ones that
lead with ``org_id`` and the filter's column, continue in the queue's order and end
with the columns the counts and groupings read (see ``daybreak.store.tables``). The
blind-index lookups (``case_keys``, ``case_search``) get ``(value_index, org_id,
case_id)``: with only ``value_index`` indexed the planner preferred the organisation's
index and scanned every row of it (a search's "in N other cases" took 22 s).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ORDER: list[str | sa.TextClause] = ["tier", sa.text("priority DESC"), "created_at", "case_id"]
REPLACED = ["ix_cases_org_id", "ix_cases_status", "ix_cases_assignee", "ix_cases_country"]


def upgrade() -> None:
    op.drop_index("ix_cases_queue_order", table_name="cases")
    for name in REPLACED:
        op.drop_index(name, table_name="cases")
    op.create_index(
        "ix_cases_queue_order",
        "cases",
        ["org_id", *ORDER, "status", "assignee", "country", "routed_agency"],
    )
    op.create_index("ix_cases_status_queue", "cases", ["org_id", "status", *ORDER])
    op.create_index("ix_cases_country_queue", "cases", ["org_id", "country", *ORDER, "status"])
    op.create_index("ix_cases_assignee_queue", "cases", ["org_id", "assignee", *ORDER, "status"])
    op.create_index(
        "ix_case_facets_org_facet_value", "case_facets", ["org_id", "facet", "value", "case_id"]
    )
    # Blind-index lookups: the value and the organisation, so that the planner does not
    # take the organisation's index (every row of it) for the selective one.
    op.drop_index("ix_case_keys_value_index", table_name="case_keys")
    op.create_index("ix_case_keys_value_org", "case_keys", ["value_index", "org_id", "case_id"])
    op.drop_index("ix_case_search_value_index", table_name="case_search")
    op.create_index("ix_case_search_value_org", "case_search", ["value_index", "org_id", "case_id"])
    if op.get_context().dialect.name == "postgresql":
        op.execute("ANALYZE cases")
        for table in ("case_facets", "case_keys", "case_search"):
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table in ("case_keys", "case_search"):
        op.drop_index(f"ix_{table}_value_org", table_name=table)
        op.create_index(f"ix_{table}_value_index", table, ["value_index"])
    op.drop_index("ix_case_facets_org_facet_value", table_name="case_facets")
    for name in ("ix_cases_assignee_queue", "ix_cases_country_queue", "ix_cases_status_queue"):
        op.drop_index(name, table_name="cases")
    op.drop_index("ix_cases_queue_order", table_name="cases")
    op.create_index("ix_cases_queue_order", "cases", ORDER)
    op.create_index("ix_cases_country", "cases", ["country"])
    for column in ("assignee", "status", "org_id"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
