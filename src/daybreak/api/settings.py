"""Settings of the HTTP API and the store behind it."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs. ``db_url`` None means SQLite in ``data_dir``."""

    data_dir: Path = Path("daybreak-data")
    db_url: str | None = None
    dev: bool = False  # generate a field key into data_dir when DAYBREAK_FIELD_KEY is unset
    agencies_path: Path | None = None
    ncmec_xsd: Path | None = field(default_factory=lambda: _env_path("DAYBREAK_NCMEC_XSD"))
    max_body_bytes: int = 1_000_000
    session_rate_per_minute: int = 600
    cookie_secure: bool = False  # set True behind TLS
    api_key_cache_seconds: float = 30.0
    max_batch: int = 500

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        paths = {"data_dir", "agencies_path", "ncmec_xsd"}
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: (Path(v) if k in paths and v is not None else v)
            for k, v in data.items()
            if k in known
        }
        return cls(**values)
