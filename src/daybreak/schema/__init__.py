"""The public file schemas (column names are fixed) and their validation on read."""

from daybreak.schema.columns import TABLES, Column, ColumnType, Table
from daybreak.schema.validate import (
    SchemaError,
    ValidationIssue,
    ValidationResult,
    read_table,
)
from daybreak.schema.world import world_file

__all__ = [
    "TABLES",
    "Column",
    "ColumnType",
    "SchemaError",
    "Table",
    "ValidationIssue",
    "ValidationResult",
    "read_table",
    "world_file",
]
