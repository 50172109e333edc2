"""Privacy-preserving identifier sharing between organisations (keyed hashes)."""

from daybreak.sharing.keyed import (
    FORMAT,
    MIN_SECRET_BYTES,
    SharedSet,
    ShareError,
    export_lines,
    keyed_hash,
    match,
    parse_lines,
    secret_id,
)

__all__ = [
    "FORMAT",
    "MIN_SECRET_BYTES",
    "ShareError",
    "SharedSet",
    "export_lines",
    "keyed_hash",
    "match",
    "parse_lines",
    "secret_id",
]
