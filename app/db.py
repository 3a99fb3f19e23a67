"""Engine and sessions for SQLite (default) and PostgreSQL, and schema upgrades through Alembic."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, pool, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql import Select
from sqlmodel import Session, create_engine

import app

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select)
READ_ONLY = "mianjing_read_only"  # execution option: a plain (deferred) BEGIN on SQLite
_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
MIGRATIONS_DIR_CANDIDATES = (Path.cwd() / "migrations", Path(app.__file__).resolve().parent.parent / "migrations")
# The pg_advisory_lock key every process agrees on: "mianjing" in ASCII, a positive signed 64-bit integer.
MIGRATION_LOCK_KEY = 0x6D69616E6A696E67
# Alembic's `context` is a process-wide proxy, so two threads must not run env.py at once; re-entrant
# because migrate_under_lock holds it around upgrade().
_alembic_lock = threading.RLock()
log = logging.getLogger("mianjing")


def for_update(stmt: SelectT) -> SelectT:
    """SELECT ... FOR UPDATE that also refreshes rows this session has read before: without
    populate_existing the identity map hands back the old values, and a change another request committed
    in between would be overwritten (PostgreSQL; SQLite serialises writers and ignores FOR UPDATE)."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _make_sqlite_dir(url)
        # The driver's own transaction handling is off so that BEGIN IMMEDIATE below takes the write
        # lock up front: a writer then waits in busy_timeout instead of failing half-way (SQLAlchemy docs).
        engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across application crashes
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # Readers that never write (the content poll) opt out, so they do not take the write lock.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        # One writer at a time per process: threads queue on this lock instead of in SQLite's busy
        # handler, which sleeps in steps of up to 100 ms and would wreck the p99 under concurrent saves.
        _write_locks[engine] = threading.Lock()
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _make_sqlite_dir(url: str) -> None:
    """SQLite creates the file but not its folder (./var/ on a fresh clone)."""
    path = make_url(url).database
    if url.startswith("sqlite") and path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def session_scope(engine: Engine) -> Iterator[Session]:
    """One session per request: commit on success, roll back on error (services never commit)."""
    lock = _write_locks.get(engine)
    with lock or nullcontext(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def db_executor(engine: Engine) -> ThreadPoolExecutor:
    """Where hot-path database work runs: one thread for SQLite (one writer, FIFO), a pool otherwise."""
    return ThreadPoolExecutor(max_workers=1 if engine.dialect.name == "sqlite" else 16,
                              thread_name_prefix="mianjing-db")


db_session = contextmanager(session_scope)  # the same, for code outside a request's SessionDep


async def run_db(engine: Engine, executor: ThreadPoolExecutor, work: Callable[[Session], T]) -> T:
    """Run `work(session)` in the executor inside one committed-or-rolled-back transaction."""

    def call() -> T:
        with db_session(engine) as db:
            return work(db)

    return await asyncio.get_running_loop().run_in_executor(executor, call)


def migrations_dir() -> Path:
    for candidate in MIGRATIONS_DIR_CANDIDATES:
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations/ not found next to the app package or in the current directory")


class MigrationFailed(RuntimeError):
    """The database could not be brought to the code's schema; the message names it (password masked)."""


def masked_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _alembic_config(url: str, connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection  # migrations/env.py runs on it (Alembic cookbook)
    return cfg


def upgrade(url: str, *, connection: Connection | None = None) -> None:
    """Apply every Alembic migration to the database at `url` (on `connection` when given), without a
    cross-process lock: see migrate_under_lock for what a starting service calls."""
    from alembic import command

    _make_sqlite_dir(url)
    with _alembic_lock:
        command.upgrade(_alembic_config(url, connection), "head")


def migrate_under_lock(url: str) -> None:
    """Bring the database at `url` to head once, however many workers or replicas start together: on
    PostgreSQL under pg_advisory_lock(MIGRATION_LOCK_KEY) on the connection the migrations run on, on
    an SQLite file under an exclusive flock of `<file>.migrate.lock`; the others wait, then find the
    schema at head and do nothing. Any failure (unreachable database, a migration that raises, a
    revision this code does not know, i.e. a database newer than the code) raises MigrationFailed."""
    try:
        with _alembic_lock:
            if url.startswith("sqlite"):
                with _sqlite_migration_lock(url):
                    upgrade(url)
            else:
                _upgrade_postgres_locked(url)
    except Exception as exc:
        raise MigrationFailed(f"cannot migrate the database {masked_url(url)}: {_cause(url, exc)}") from exc


def require_head(url: str) -> None:
    """Raise MigrationFailed unless the database at `url` is at the code's head (startup without migrating)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(_alembic_config(url)).get_heads())
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        raise MigrationFailed(f"cannot read the schema version of {masked_url(url)}: {_cause(url, exc)}") from exc
    finally:
        engine.dispose()
    if current != heads:
        raise MigrationFailed(
            f"the database {masked_url(url)} is at revision {', '.join(sorted(current)) or '(none)'} but the code "
            f"needs {', '.join(sorted(heads))}: run `mianjing db upgrade` (MIANJING_MIGRATE_ON_START is off)")


def _cause(url: str, exc: BaseException) -> str:
    cause = f"{type(exc).__name__}: {exc}".strip()
    password = make_url(url).password
    return cause.replace(str(password), "***") if password else cause


@contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    import fcntl

    path = make_url(url).database
    if not path or path == ":memory:" or "mode=memory" in url:
        yield  # an in-memory database belongs to one connection: nobody to race with
        return
    _make_sqlite_dir(url)
    with open(f"{path}.migrate.lock", "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish migrating %s", path)
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _upgrade_postgres_locked(url: str) -> None:
    # A dedicated, unpooled connection: the session-level advisory lock lives exactly as long as it.
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            key = {"key": MIGRATION_LOCK_KEY}
            if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
                log.info("waiting for another process to finish migrating %s", masked_url(url))
                conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
            conn.commit()  # Alembic then begins and commits its own transaction on this connection
            try:
                upgrade(url, connection=conn)
                conn.commit()
            finally:
                _unlock(conn, key)
    finally:
        engine.dispose()


def _unlock(conn: Connection, key: dict[str, int]) -> None:
    try:
        conn.rollback()  # a migration that failed may leave the transaction aborted
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        conn.commit()
    except Exception:  # noqa: BLE001 - closing the connection ends the session, which releases the lock too
        log.warning("could not release the migration lock explicitly; it goes with the connection", exc_info=True)
