"""Daybreak's own readers of non-tabular input, registered under ``daybreak.sources``.

A source turns a file in someone else's format into a frame in one of the public
schemas (:data:`daybreak.schema.TABLES`); CSV and Parquet files in those schemas are
read by :func:`daybreak.schema.read_table` itself.
"""

from __future__ import annotations

from daybreak.plugins import SourceInfo

PACS008 = SourceInfo(
    name="pacs008",
    label="ISO 20022 pacs.008 credit transfers (XML)",
    table="transactions",
    reader="daybreak.payments.pacs008:read_pacs008",
    suffixes=(".xml",),
    parquet_writer="daybreak.payments.pacs008:write_pacs008_parquet",
    description="FI-to-FI customer credit transfers, one transaction per CdtTrfTxInf.",
)
