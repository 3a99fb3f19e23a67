"""Every start brings the schema to head, once, under a lock; a database that cannot be migrated stops the
start with a message naming it. On SQLite files and on the real PostgreSQL, through TestClient, the
migration function in several processes at once, and real uvicorn processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.db import MIGRATION_LOCK_KEY, MigrationFailed, migrations_dir, upgrade
from app.main import create_app
from tests.conftest import REPO, VALID, make_settings
from tests.live import free_port, live_server

PASSWORD = "s3cret-pw"


def script() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return ScriptDirectory.from_config(cfg)


def versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def unreachable_postgres_url() -> str:
    return f"postgresql+psycopg://mianjing:{PASSWORD}@127.0.0.1:{free_port()}/mianjing"  # nothing listens there


def child_env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(VALID),
            "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "test-secret", **extra}


def start_interview(client: TestClient) -> None:
    r = client.post("/api/v1/auth/guest")
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=headers)
    assert r.status_code == 201, r.text


# --- (a) a brand-new database works from the first request ---

def test_an_app_over_a_new_database_migrates_at_startup(empty_db_url):
    with TestClient(create_app(make_settings(database_url=empty_db_url))) as client:
        start_interview(client)
    assert versions(empty_db_url) == [script().get_current_head()]


def test_a_database_at_head_starts_without_migrating_again(db_url):
    before = versions(db_url)
    with TestClient(create_app(make_settings(database_url=db_url))) as client:
        start_interview(client)
    with TestClient(create_app(make_settings(database_url=db_url))) as client:  # a restart
        start_interview(client)
    assert versions(db_url) == before == [script().get_current_head()]


# --- (b) several processes starting together migrate once ---

CHILD = """
import logging, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
from app.db import migrate_under_lock
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start at the same moment
migrate_under_lock(sys.argv[1])
"""


def test_three_processes_migrating_a_new_database_at_once_apply_each_migration_once(empty_db_url):
    start_at = str(time.time() + 4)
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, empty_db_url, start_at], cwd=REPO,
                              env=child_env(empty_db_url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert [rc for rc, _ in results] == [0, 0, 0], [err for _, err in results]
    logs = "".join(err for _, err in results)
    # Every migration ran in exactly one of the processes; the others found the schema at head.
    assert logs.count("Running upgrade") == len(list(script().walk_revisions()))
    assert versions(empty_db_url) == [script().get_current_head()]


def test_uvicorn_with_three_workers_over_a_new_database_serves_writes(empty_db_url, tmp_path):
    with live_server(["uvicorn", "app.main:app", "--workers", "3"], empty_db_url, tmp_path / "log",
                     ready_within=90) as srv, httpx.Client(base_url=srv.base, timeout=10) as client:
        for _ in range(6):  # fresh connections, spread over the workers
            r = client.post("/api/v1/auth/guest", headers={"Connection": "close"})
            assert r.status_code == 201, r.text
            r = client.post("/api/v1/interviews", json={"round": "mini"}, headers={
                "Authorization": f"Bearer {r.json()['access_token']}", "Connection": "close"})
            assert r.status_code == 201, r.text
    assert versions(empty_db_url) == [script().get_current_head()]


# --- (c) a database that cannot be migrated stops the start with a clear message ---

def test_an_unreachable_postgres_stops_startup_naming_the_database_without_its_password():
    url = unreachable_postgres_url()
    with pytest.raises(MigrationFailed) as caught:
        with TestClient(create_app(make_settings(database_url=url))):
            pass
    message = str(caught.value)
    assert message.startswith(f"cannot migrate the database {url.replace(PASSWORD, '***')}: ")
    assert "Connection refused" in message or "connection failed" in message
    assert PASSWORD not in message


def test_uvicorn_exits_non_zero_when_postgres_is_unreachable():
    url = unreachable_postgres_url()
    run = subprocess.run([sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(free_port())],
                         cwd=REPO, env=child_env(url), capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert f"cannot migrate the database {url.replace(PASSWORD, '***')}: " in run.stderr
    assert PASSWORD not in run.stderr + run.stdout


def stamp_unknown_revision(url: str) -> None:
    execute(url, "UPDATE alembic_version SET version_num = 'feedfacecafe'")  # from a newer release


def test_a_database_newer_than_the_code_stops_startup(db_url):
    stamp_unknown_revision(db_url)
    with pytest.raises(MigrationFailed) as caught:
        with TestClient(create_app(make_settings(database_url=db_url))):
            pass
    message = str(caught.value)
    assert message.startswith(f"cannot migrate the database {db_url}: ")
    assert "feedfacecafe" in message
    assert versions(db_url) == ["feedfacecafe"]  # left alone


def test_uvicorn_exits_non_zero_on_a_database_newer_than_the_code(db_url):
    stamp_unknown_revision(db_url)
    run = subprocess.run([sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(free_port())],
                         cwd=REPO, env=child_env(db_url), capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert f"cannot migrate the database {db_url}: " in run.stderr
    assert "feedfacecafe" in run.stderr


def test_a_migration_that_raises_stops_startup_and_releases_the_lock(empty_db_url):
    # A table the first migration creates is already there, so that migration fails.
    execute(empty_db_url, "CREATE TABLE contentstate (id INTEGER PRIMARY KEY)")
    with pytest.raises(MigrationFailed) as caught:
        with TestClient(create_app(make_settings(database_url=empty_db_url))):
            pass
    message = str(caught.value)
    assert message.startswith(f"cannot migrate the database {empty_db_url}: ")
    assert "contentstate" in message and "already exists" in message
    if empty_db_url.startswith("postgresql"):  # the advisory lock went with the failure
        engine = create_engine(empty_db_url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY}).scalar()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        finally:
            engine.dispose()


# --- MIANJING_MIGRATE_ON_START=false and the command line ---

def test_with_migrate_on_start_off_an_unmigrated_database_is_refused_and_a_migrated_one_serves(empty_db_url):
    settings = make_settings(database_url=empty_db_url, migrate_on_start=False)
    with pytest.raises(MigrationFailed, match="run `mianjing db upgrade`"):
        with TestClient(create_app(settings)):
            pass
    upgrade(empty_db_url)
    with TestClient(create_app(settings)) as client:
        start_interview(client)


def test_cli_db_upgrade_migrates_a_new_database_and_reports_one_it_cannot_reach(empty_db_url):
    def cli(url: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", "db", "upgrade"], cwd=REPO, env=child_env(url),
                              capture_output=True, text=True, timeout=120)

    done = cli(empty_db_url)
    assert done.returncode == 0, done.stderr
    assert f"database at head: {empty_db_url}" in done.stdout
    assert versions(empty_db_url) == [script().get_current_head()]
    assert cli(empty_db_url).returncode == 0  # again: nothing to do
    url = unreachable_postgres_url()
    failed = cli(url)
    assert failed.returncode == 1
    assert f"cannot migrate the database {url.replace(PASSWORD, '***')}: " in failed.stderr
    assert "Traceback" not in failed.stderr and PASSWORD not in failed.stderr
