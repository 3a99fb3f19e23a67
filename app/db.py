"""Engines and sessions for SQLite (default) and PostgreSQL, and schema upgrades through Alembic.

A request reads and writes in separate transactions (../shared/DESIGN.md, "Database"):
- reads run in the session the request starts with, in autocommit: each statement reads the latest
  committed snapshot, as under PostgreSQL's READ COMMITTED, and nothing holds a read transaction open, so
  closing the session at the end of a request (on the event loop) ends nothing: no ROLLBACK round trip on
  PostgreSQL, no ROLLBACK call into SQLite (which took a fifth of the event loop's time when reads were
  deferred transactions). Under WAL no reader waits for another reader or a writer;
- writes run inside `write_transaction(db)`: on SQLite behind one in-process lock and `BEGIN IMMEDIATE`,
  so SQLite's busy handler never sleeps and no transaction upgrades from read to write; a transaction on
  PostgreSQL. The block commits at its end, in the thread that wrote, so no lock is held across an
  `await` or while a client sends its body.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import event, pool, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.sql import Select
from sqlmodel import Session, create_engine

import app

SelectT = TypeVar("SelectT", bound=Select)
MIGRATIONS_DIR_CANDIDATES = (Path.cwd() / "migrations", Path(app.__file__).resolve().parent.parent / "migrations")
# The pg_advisory_lock key every process agrees on: "mianjing" in ASCII, a positive signed 64-bit integer.
MIGRATION_LOCK_KEY = 0x6D69616E6A696E67
# Alembic's `context` is a process-wide proxy, so two threads must not run env.py at once; re-entrant
# because migrate_under_lock holds it around upgrade().
_alembic_lock = threading.RLock()
log = logging.getLogger("mianjing")


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


def _json_loads(raw: str | bytes) -> Any:
    """orjson reads JSON columns ~4x faster than json (an interview's plan is ~90 KB, read on every page);
    what it refuses (NaN, which json.dumps writes) falls back to json."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=32, max_overflow=8, json_deserializer=_json_loads)
        _modes[engine] = _Modes(engine.execution_options(isolation_level="AUTOCOMMIT"), engine, None)
        return engine
    _make_sqlite_dir(url)
    if make_url(url).database in (None, "", ":memory:"):  # one private database per engine: one engine
        engine = _sqlite_engine(url, reader=False)
        _modes[engine] = _Modes(engine, engine, threading.Lock())
        return engine
    # Readers and writers get engines (and pools) of their own, so that a connection never switches
    # between the two modes: a reader is PRAGMA query_only from its first statement, and a write that
    # slipped outside write_transaction fails loudly instead of upgrading a read transaction (which can
    # fail with SQLITE_BUSY_SNAPSHOT under load).
    writer, reader = _sqlite_engine(url, reader=False), _sqlite_engine(url, reader=True)
    event.listen(writer, "engine_disposed", lambda _engine: reader.dispose())
    _modes[writer] = _Modes(reader, writer, threading.Lock())
    return writer


def _sqlite_engine(url: str, *, reader: bool) -> Engine:
    # The driver's own transaction handling is off so that the BEGIN below is ours (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
    # pool_size above any thread pool we run (settings.thread_pool_size): a connection returned beyond it is closed, and
    # opening one (with its PRAGMAs) costs more than the request it serves.
    engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None},
                           json_deserializer=_json_loads,
                           **({} if make_url(url).database in (None, "", ":memory:") else
                              {"pool_size": 48, "max_overflow": 16, "pool_use_lifo": True}))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")  # other processes' writers (a second worker, the CLI)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across application crashes
        if reader:
            cur.execute("PRAGMA query_only=1")
        cur.close()

    if not reader:
        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            # A writer takes the write lock up front, behind write_transaction's in-process lock, so SQLite's
            # busy handler (which sleeps in steps of up to 100 ms) never waits inside this process.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

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


def writing(db: Session) -> bool:
    """Whether the session is inside write_transaction (a plain Session(engine) always may be)."""
    modes: _Modes | None = db.info.get("modes")
    return modes is None or db.bind is modes.writer


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


def code_heads() -> frozenset[str]:
    """The revisions the code's migrations end in (one, unless two branches wait for a merge). Reading the
    migration scripts takes milliseconds: a process computes this once at startup, not per /readyz."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(_alembic_config("")).get_heads())


def schema_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database is stamped at, read as a plain read (the reader pool, no write lock).
    Raises when the database is unreachable or has no alembic_version table."""
    with _modes[engine].reader.connect() as conn:
        return frozenset(row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version")))


def require_head(url: str) -> None:
    """Raise MigrationFailed unless the database at `url` is at the code's head (startup without migrating)."""
    from alembic.runtime.migration import MigrationContext

    heads = set(code_heads())
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
