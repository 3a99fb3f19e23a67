"""Engines and sessions for SQLite (default) and PostgreSQL, and schema upgrades through Alembic.

A request reads and writes in separate transactions (../shared/DESIGN.md, "Database"):
- reads run in the session the request starts with: a deferred `BEGIN` on SQLite under WAL (readers never
  wait for each other or for a writer), autocommit on PostgreSQL (READ COMMITTED gives every statement its
  own snapshot anyway, and autocommit saves the BEGIN/ROLLBACK round trips);
- writes run inside `write_transaction(db)`: on SQLite behind one in-process lock and `BEGIN IMMEDIATE`,
  so SQLite's busy handler never sleeps and no transaction upgrades from read to write; a transaction on
  PostgreSQL. The block commits at its end, in the thread that wrote, so no lock is held across an
  `await` or while a client sends its body.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.sql import Select
from sqlmodel import Session, create_engine

import app

SelectT = TypeVar("SelectT", bound=Select)
MODE = "mianjing_mode"  # execution option on SQLite connections: "read" or "write" (unset: a plain writer)
MIGRATIONS_DIR_CANDIDATES = (Path.cwd() / "migrations", Path(app.__file__).resolve().parent.parent / "migrations")


@dataclass(frozen=True)
class _Modes:
    reader: Engine
    writer: Engine
    lock: threading.Lock | None  # SQLite: one writer at a time per process


_modes: weakref.WeakKeyDictionary[Engine, _Modes] = weakref.WeakKeyDictionary()


def for_update(stmt: SelectT) -> SelectT:
    """SELECT ... FOR UPDATE that also refreshes rows this session has read before: without
    populate_existing the identity map hands back the old values, and a change another request committed
    in between would be overwritten (PostgreSQL; SQLite serialises writers and ignores FOR UPDATE)."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        _modes[engine] = _Modes(engine.execution_options(isolation_level="AUTOCOMMIT"), engine, None)
        return engine
    _make_sqlite_dir(url)
    # The driver's own transaction handling is off so that the BEGIN below is ours (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None},
                           **({} if make_url(url).database in (None, "", ":memory:") else
                              {"pool_size": 8, "max_overflow": 56}))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")  # other processes' writers (a second worker, the CLI)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across application crashes
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        mode = conn.get_execution_options().get(MODE)
        # A reader is query_only, so a write that slipped outside write_transaction fails loudly in tests
        # instead of upgrading a read transaction (which can fail with SQLITE_BUSY_SNAPSHOT under load).
        query_only = mode == "read"
        if conn.info.get("query_only", False) != query_only:
            conn.exec_driver_sql(f"PRAGMA query_only={int(query_only)}")
            conn.info["query_only"] = query_only
        conn.exec_driver_sql("BEGIN" if query_only else "BEGIN IMMEDIATE")

    _modes[engine] = _Modes(engine.execution_options(**{MODE: "read"}), engine.execution_options(**{MODE: "write"}),
                            threading.Lock())
    return engine


def _make_sqlite_dir(url: str) -> None:
    """SQLite creates the file but not its folder (./var/ on a fresh clone)."""
    path = make_url(url).database
    if url.startswith("sqlite") and path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def request_session(engine: Engine) -> Session:
    """A request's session: it reads (see the module docstring); writes go through write_transaction."""
    modes = _modes[engine]
    db = Session(modes.reader, expire_on_commit=False)
    db.info["modes"] = modes
    return db


@contextmanager
def write_transaction(db: Session) -> Iterator[Session]:
    """Run the block's writes in one transaction of their own, committed at the end (rolled back on error).

    Rows read before the block stay usable; re-read under the lock (for_update) what the writes depend on.
    Nested blocks join the outer one.
    """
    modes: _Modes | None = db.info.get("modes")
    if modes is None or db.bind is modes.writer:  # a plain Session(engine), or already writing
        yield db
        return
    if db.new or db.dirty or db.deleted:
        raise RuntimeError("changes made outside write_transaction")
    if db.in_transaction():
        db.commit()  # end the read snapshot: nothing is pending, so this writes nothing
    with modes.lock or nullcontext():
        db.bind = modes.writer
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.bind = modes.reader


@contextmanager
def db_session(engine: Engine) -> Iterator[Session]:
    """A unit of work outside a request (jobs, the CLI, tests): a session whose block is one write."""
    with request_session(engine) as db, write_transaction(db):
        yield db


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
