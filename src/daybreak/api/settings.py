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
    # Session cookies carry Secure unless turned off for plain-HTTP development
    # (``serve --insecure-cookies``); browsers accept Secure cookies from
    # http://127.0.0.1 and http://localhost, so a loopback demo keeps them.
    cookie_secure: bool = True
    # Sign-in throttles (the account lockout is in the store): attempts per client
    # address a minute, password checks (argon2) a minute for all addresses together
    # (the hashing budget; 0 = none), and password checks running at once per process.
    login_rate_per_minute: int = 30
    login_hashes_per_minute: int = 60
    max_concurrent_logins: int = 2
    max_batch: int = 500
    # how long a new case may wait for triage per tier, "1=4h,2=24h" (the tiers not
    # named keep daybreak.model.cases.DEFAULT_TRIAGE_SLA)
    triage_sla: str = ""
    # where the HMA-compatible API is served ("" or None: not served); see hma_routes
    hma_prefix: str | None = "/hma"
    # How POST /v1/payments/score scores: "memory" keeps each customer's history in
    # memory (about 8x less CPU a payment, but about 22 KB a customer), "sql" re-runs
    # the compiled scan on the payment's neighbourhood from the DuckDB state (little
    # memory). Both give the batch scan's answer.
    realtime_scoring: str = "memory"

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
