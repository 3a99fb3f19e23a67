"""Engine and sessions for SQLite (default) and PostgreSQL, and schema upgrades through Alembic."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.sql import Select
from sqlmodel import Session, create_engine

import app

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select)
READ_ONLY = "mianjing_read_only"  # execution option: a plain (deferred) BEGIN on SQLite
_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
MIGRATIONS_DIR_CANDIDATES = (Path.cwd() / "migrations", Path(app.__file__).resolve().parent.parent / "migrations")


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


def upgrade(url: str) -> None:
    """Apply every Alembic migration to the database at `url`."""
    from alembic import command
    from alembic.config import Config

    _make_sqlite_dir(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")
