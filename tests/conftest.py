"""Shared fixtures: apps built by the factory over the real SQLite and a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.content.loader import load_content
from app.db import upgrade
from app.main import create_app
from app.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
REPO = Path(__file__).resolve().parent.parent


def postgres_admin_url() -> str:
    url = os.environ.get("MIANJING_TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError(
            "MIANJING_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL"
        )
    return url


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, unmigrated database of `kind` ("sqlite" in `folder`, or "postgres" on the test server)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'test.db'}"
        return
    admin_url = postgres_admin_url()
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database of `kind` ("sqlite" in `folder`, or "postgres" on the test server) at head."""
    with empty_database(kind, folder) as url:
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """A new database of each kind that nothing has migrated."""
    with empty_database(request.param, tmp_path) as url:
        yield url


# The limits every test runs under unless it sets its own (the limit tests set them low): far above what
# any test does from its one address ("testclient"), except the login back-off, which keeps its defaults.
TEST_LIMITS = {"limit_guests_per_hour": 100_000, "limit_registrations_per_hour": 100_000,
               "limit_interviews_per_day": 100_000, "limit_login_free_failures": 5,
               "limit_login_backoff_seconds": 1.0, "limit_login_backoff_max_seconds": 900.0,
               "limit_login_failures_per_address_per_hour": 100_000, "limit_interviews_per_address_per_hour": 100_000,
               "limit_logins_per_address_per_hour": 100_000,
               "limit_writes_per_minute": 1_000_000, "limit_writes_per_address_per_minute": 1_000_000,
               "limit_answer_chars_per_hour": 10**9, "limit_answer_chars_per_address_per_hour": 10**9,
               "trusted_proxies": "", "new_cards_per_day": 100_000}


def make_settings(**overrides) -> Settings:
    values = {"content_dir": VALID, "database_url": "sqlite://", "env": "test", "secret_key": "test-secret",
              **TEST_LIMITS}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def bundled_content():
    return load_content(REPO / "content")


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    """An app over the small fixture bank and a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url))) as c:
        yield c


@pytest.fixture
def db_client(db_url) -> Iterator[TestClient]:
    """An app over the fixture bank on each database kind."""
    with TestClient(create_app(make_settings(database_url=db_url))) as c:
        yield c


T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    """The server clock for tests: set app.state.clock to one and advance it instead of sleeping."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


# A misconception for the fixture bank's open item s-open (tests/fixtures/valid has none, and other tests
# count on its answers' scores): written into a private copy by content_with_misconception.
S_OPEN_MISCONCEPTION = """### 常见误区

- 推理也用batch统计: 推理|测试时|inference & 当前batch|当前 batch|这个batch|batch的均值|batch 的均值
  > 推理时也用当前 batch 的均值和方差（推理用的是训练时累计的滑动平均）

"""


def content_with_misconception(folder: Path) -> Path:
    """A copy of the fixture content in `folder` whose open item s-open also lists a misconception."""
    shutil.copytree(VALID, folder)
    bank = folder / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    anchor = "### 解析\n\n训练时用 batch 统计量"
    assert text.count(anchor) == 1
    bank.write_text(text.replace(anchor, S_OPEN_MISCONCEPTION + anchor), encoding="utf-8")
    return folder


TYPES = FIXTURES / "types"  # a bank of the imported types (issue 19) and a round that asks each


def content_with_types(folder: Path) -> Path:
    """A copy of the fixture content in `folder` plus the bank of the imported types and its round."""
    shutil.copytree(VALID, folder)
    shutil.copy(TYPES / "types.md", folder / "banks" / "types.md")
    shutil.copy(TYPES / "types-round.md", folder / "rounds" / "types-round.md")
    return folder


@pytest.fixture
def content_dir(tmp_path) -> Path:
    """A private copy of the fixture content, for tests that edit it (a module may override it)."""
    target = tmp_path / "content"
    shutil.copytree(VALID, target)
    return target


@pytest.fixture
def clocked_env(db_url, tmp_path) -> Iterator[tuple[TestClient, Clock, Path]]:
    """An app on each database kind over a private copy of the fixture content, with a test clock."""
    content_dir = tmp_path / "content"
    shutil.copytree(VALID, content_dir)
    app = create_app(make_settings(database_url=db_url, content_dir=content_dir))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        yield client, clock, content_dir
