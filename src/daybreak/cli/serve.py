"""`daybreak serve`: the HTTP API (tipline intake, cases, media matching) and the console."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console


class RealtimeScoring(StrEnum):
    """How ``POST /v1/payments/score`` scores (``Settings.realtime_scoring``)."""

    memory = "memory"
    sql = "sql"


DATA_DIR_HELP = "Folder for the SQLite database and (with --dev) the generated field key."


def per_process_budget(per_minute: int, workers: int, db: str | None) -> int:
    """The hashing budget each server process enforces: the whole of it when the
    processes share it through the database (PostgreSQL), else (SQLite keeps the bucket
    in each process's memory) an equal part, so that together they keep to it."""
    shared = db is not None and not db.startswith("sqlite")
    if shared or per_minute == 0:
        return per_minute
    return max(1, -(-per_minute // workers))


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
    db: str | None = typer.Option(
        None,
        "--db",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/daybreak. "
        "Default: SQLite in --data-dir.",
    ),
    data_dir: Path = typer.Option(Path("daybreak-data"), help=DATA_DIR_HELP),
    dev: bool = typer.Option(
        False,
        "--dev",
        help="Generate a field key into --data-dir when DAYBREAK_FIELD_KEY is unset.",
    ),
    agencies: Path | None = typer.Option(None, help="YAML country -> agency routing table."),
    ncmec_xsd: Path | None = typer.Option(
        None, envvar="DAYBREAK_NCMEC_XSD", help="CyberTipline XSD for POST /v1/reports/ncmec."
    ),
    max_body: int = typer.Option(1_000_000, help="Largest accepted request body in bytes."),
    log_level: str = typer.Option("warning", help="uvicorn log level (info shows each request)."),
    login_rate: int = typer.Option(
        30,
        "--login-rate",
        min=0,
        help="Sign-in attempts a minute per client address (0 = no limit): per process "
        "on SQLite, for every server on the database together on PostgreSQL.",
    ),
    login_hashes: int = typer.Option(
        60,
        "--login-hashes-per-minute",
        min=0,
        help="The hashing budget: password checks a minute for all client addresses "
        "together (0 = none); over it sign-ins get 429 at once, without hashing, so a "
        "login flood from many addresses cannot take intake's CPU. For every server on "
        "the database together on PostgreSQL; on SQLite split between the --workers.",
    ),
    max_logins: int = typer.Option(
        2,
        "--max-concurrent-logins",
        min=1,
        help="Password checks (argon2) running at once per process; more get 429 at once.",
    ),
    insecure_cookies: bool = typer.Option(
        False,
        "--insecure-cookies",
        help="Development only: session cookies without the Secure flag, for plain HTTP "
        "on an address other than 127.0.0.1/localhost. Never behind a real deployment.",
    ),
    triage_sla: str = typer.Option(
        "",
        "--triage-sla",
        help="How long a new case may wait for triage per tier, e.g. '1=2h,2=12h,5=7d' "
        "(tiers not named keep the defaults: 1=4h, 2=24h, 3=3d, 4=7d, 5=14d, 6=30d).",
    ),
    hma_prefix: str = typer.Option(
        "/hma",
        "--hma-prefix",
        help="Path of the HMA-compatible API (HMA 2.0's /status, /h, /m, /c routes with "
        "Daybreak's authentication); an empty value turns it off. See docs/operations.md.",
    ),
    realtime_scoring: RealtimeScoring = typer.Option(
        RealtimeScoring.memory,
        "--realtime-scoring",
        help="How POST /v1/payments/score scores: 'memory' keeps each customer's history "
        "in memory (faster; about 22 KB a customer), 'sql' re-runs the compiled scan on "
        "the payment's neighbourhood (little memory). Both equal the batch scan.",
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=16,
        help="Server processes. >1 uses more cores for intake. Sessions and the account "
        "lockout are shared through the database; so are rate limits and the per-address "
        "sign-in limit on PostgreSQL (on SQLite they are per process).",
    ),
) -> None:
    import uvicorn

    from daybreak.api import Settings, open_store
    from daybreak.cli.server import SETTINGS_ENV, create_app
    from daybreak.store.keys import KeyError_

    settings = Settings(
        data_dir=data_dir,
        db_url=db,
        dev=dev,
        agencies_path=agencies,
        ncmec_xsd=ncmec_xsd,
        max_body_bytes=max_body,
        cookie_secure=not insecure_cookies,
        login_rate_per_minute=login_rate,
        login_hashes_per_minute=per_process_budget(login_hashes, workers, db),
        max_concurrent_logins=max_logins,
        hma_prefix=parse_hma_prefix(hma_prefix),
        triage_sla=_checked_sla(triage_sla),
        realtime_scoring=realtime_scoring.value,
    )
    err = Console(stderr=True)
    if insecure_cookies:
        err.print("[yellow]warning:[/yellow] session cookies without Secure (--insecure-cookies)")
    try:
        if workers == 1:
            app = create_app(settings, server=True)
        else:  # migrate once here; each worker process opens its own store
            open_store(settings).close()
    except KeyError_ as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    err.print(
        f"Daybreak API on http://{host}:{port}  (OpenAPI: /openapi.json, {workers} process(es))"
    )
    if workers == 1:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=log_level in ("info", "debug"),
        )
        return
    os.environ[SETTINGS_ENV] = json.dumps(settings.to_json())
    uvicorn.run(
        "daybreak.cli.server:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level in ("info", "debug"),
        # A worker importing the app on a busy machine can hold the GIL for seconds;
        # the default 5 s health check would kill and respawn it forever.
        timeout_worker_healthcheck=120,
    )


def _checked_sla(spec: str) -> str:
    """``--triage-sla`` as given, once it parses (a bad one stops serve with exit 2)."""
    from daybreak.model.cases import parse_triage_sla

    try:
        parse_triage_sla(spec)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--triage-sla") from None
    return spec


def parse_hma_prefix(value: str) -> str | None:
    """``--hma-prefix`` as a path: one leading '/', no trailing one; None when empty."""
    path = value.strip().strip("/")
    if not path:
        return None
    if not all(
        part and part.replace("-", "").replace("_", "").isalnum() for part in path.split("/")
    ):
        raise typer.BadParameter(
            f"{value!r}: use path segments of letters, digits, '-' or '_' (e.g. /hma)",
            param_hint="--hma-prefix",
        )
    return "/" + path
