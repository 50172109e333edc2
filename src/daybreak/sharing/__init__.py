"""Identifier sharing between organisations: keyed hashes within a trusted group, or a
private set intersection that members cannot test guesses against."""

from daybreak.sharing.canonical import SHAREABLE, ShareError, check_region, prepare
from daybreak.sharing.keyed import (
    FORMAT,
    MIN_SECRET_BYTES,
    SharedSet,
    export_lines,
    keyed_hash,
    match,
    parse_lines,
    secret_id,
)

__all__ = [
    "FORMAT",
    "MIN_SECRET_BYTES",
    "SHAREABLE",
    "ShareError",
    "SharedSet",
    "check_region",
    "export_lines",
    "keyed_hash",
    "match",
    "parse_lines",
    "prepare",
    "secret_id",
]
