"""Engines and migrations. SQLite (WAL) is the embedded default; PostgreSQL is supported.

SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` so two writers (the
server and a CLI command) serialise instead of failing on a stale snapshot — the audit
chain needs its head read and written in one transaction. ``synchronous=FULL`` makes a
commit durable before the API acknowledges a report. A second, read-only engine keeps
plain (deferred) transactions so readers never wait for the writer's lock.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{Path(path).resolve()}"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine) for ``url``."""
    if not is_sqlite(url):
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        return engine, engine
    db = make_url(url).database
    if db and db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    args = {"check_same_thread": False, "timeout": 30}
    write = create_engine(url, connect_args=args, poolclass=NullPool if not db else None)
    read = create_engine(url, connect_args=args)
    for eng, begin in ((write, "BEGIN IMMEDIATE"), (read, "BEGIN")):
        event.listen(eng, "connect", _sqlite_pragmas)

        def _begin(conn: Any, _sql: str = begin) -> None:
            conn.exec_driver_sql(_sql)

        event.listen(eng, "begin", _begin)
    return write, read


def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` for the migrations shipped in the package (alembic is
    imported here, on first use: it is slow to import and only needed at start-up)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("daybreak.store").joinpath("migrations"))
    )
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the migrations shipped in the package."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return str(row[0]) if row else None
