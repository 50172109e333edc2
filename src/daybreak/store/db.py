"""Engines and migrations. SQLite (WAL) is the embedded default; PostgreSQL is supported.

SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` so two writers (the
server and a CLI command) serialise instead of failing on a stale snapshot — the audit
chain needs its head read and written in one transaction. ``synchronous=FULL`` makes a
commit durable before the API acknowledges a report. A second, read-only engine keeps
plain (deferred) transactions so readers never wait for the writer's lock. The
database file is created mode 0600 in a 0700 directory before SQLite opens it (SQLite
gives its -wal and -shm files the database file's mode).
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


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


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (its directory 0700) unless it exists; an
    existing file readable by group or others is narrowed to 0600, with a warning."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        _narrow(each)


def _narrow(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        try:
            os.chmod(path, 0o600)
            log.warning("%s was mode %o: narrowed to 600 (it holds case data)", path, mode)
        except OSError as exc:
            log.warning("%s is mode %o and cannot be narrowed to 600: %s", path, mode, exc)


# PostgreSQL connections a process keeps open, and how many more it opens at a peak.
# Every request being served holds one (and the group-commit writers one each): with 10
# analysts at once and 5 kept, every request past the fifth opened a connection (23-35
# ms: a new server backend) and closed it afterwards. A process opens them only as its
# concurrency needs them; mind max_connections (100 by default) with ``--workers``.
PG_POOL_SIZE = 20
PG_POOL_OVERFLOW = 20


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine) for ``url``."""
    if not is_sqlite(url):
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW
        )
        # Reads without a transaction (the same pool): no BEGIN and ROLLBACK round trips
        # around each read. Under READ COMMITTED, PostgreSQL's default, every statement
        # of a transaction takes its own snapshot anyway, so reads see the same.
        return engine, engine.execution_options(isolation_level="AUTOCOMMIT")
    db = make_url(url).database
    if db and db != ":memory:":
        private_file(Path(db))
    args = {"check_same_thread": False, "timeout": 30}
    write = create_engine(url, connect_args=args, poolclass=NullPool if not db else None)
    read = create_engine(url, connect_args=args)
    for eng, begin in ((write, "BEGIN IMMEDIATE"), (read, "BEGIN")):
        event.listen(eng, "connect", _sqlite_pragmas)

        def _begin(conn: Any, _sql: str = begin) -> None:
            conn.exec_driver_sql(_sql)

        event.listen(eng, "begin", _begin)
    return write, read


# pg_advisory_lock key of start-up work ("daybreak" as a number); any constant that no
# other application on the database uses.
STARTUP_LOCK_KEY = 0x646179627265616B


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Held while a store migrates and upgrades itself at start-up. On PostgreSQL a
    session advisory lock, so several server processes starting at once on one database
    (``serve`` on several machines) take turns: the first migrates, the others then find
    the schema current (Alembic itself does not lock). SQLite: nothing to do (its write
    transactions begin IMMEDIATE, which serialises them)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": STARTUP_LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": STARTUP_LOCK_KEY})
            conn.rollback()


class WriterLock:
    """An advisory lock (``flock``) on a file beside a SQLite database, held around each
    group-commit transaction. With several server processes (``serve --workers N``)
    their writers then take turns as soon as the lock is free; without it, a process
    that finds the database locked waits in SQLite's busy handler, which polls with
    sleeps of up to 100 ms (p99 latency of ~200-450 ms at 2 workers). SQLite's own
    locking remains the guarantee: other writers (CLI commands, the server's other
    transactions) do not take this lock and still wait through ``busy_timeout``.

    A no-op for PostgreSQL and in-memory SQLite: on PostgreSQL every write transaction
    that appends to the audit chain (each group-commit batch does, first) locks the
    chain's head row (``SELECT … FOR UPDATE``), which orders the writers of every
    process on every machine; what a batch then reads (idempotency keys, clusters) is
    what the previous holder committed. The kernel drops the lock when a process dies,
    so ``kill -9`` leaves nothing to clean up."""

    def __init__(self, url: str) -> None:
        self._fd: int | None = None
        self._thread = threading.Lock()  # flock does not exclude threads sharing the fd
        db = make_url(url).database if is_sqlite(url) else None
        if db and db != ":memory:":
            self._fd = os.open(f"{db}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._thread.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without holding the GIL
            except BaseException:
                self._thread.release()
                raise

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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


def head_revision() -> str:
    """The newest migration shipped in the package."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("no migrations shipped")
    return str(head)
