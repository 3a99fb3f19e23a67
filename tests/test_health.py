"""Health that tells the truth: /readyz answers 503 with its reasons when the database's schema is not the
code's, and the content poller logs a failing database once, backs off, and keeps following."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from app.content.loader import load_content
from app.db import make_engine, migrations_dir, request_session
from app.main import create_app
from app.runtime.publishing import publish, publish_at_start
from app.runtime.store import ContentStore
from app.runtime.sync import follow_forever
from tests.conftest import VALID, make_settings


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_readyz_is_503_while_the_schema_is_behind_the_code(db_url):
    script = ScriptDirectory.from_config(alembic_config(db_url))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    with TestClient(create_app(make_settings(database_url=db_url)), raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["reasons"] == [] and ready.json()["schema_revision"] == head
        token = client.post("/api/v1/auth/guest").json()["access_token"]
        question = client.get("/api/v1/questions", params={"type": "single"}).json()["items"][0]
        # The database goes one migration back under the running service (a restore, another deploy).
        command.downgrade(alembic_config(db_url), "-1")
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["status"] == "unavailable" and body["database"] is True
        assert body["schema_revision"] == previous and body["schema_head"] == head
        assert any(f"revision {previous}" in r and head in r and "mianjing db upgrade" in r for r in body["reasons"])
        # ... which is the truth: requests that need the newest schema fail (the newest migration adds the
        # 纠错 reports' table, which deleting an account clears), while the others still work. A newer
        # migration must keep a practice check working one revision back, or this test says so.
        checked = client.post(f"/api/v1/questions/{question['id']}/check", json={"answer": question["options"][0]["key"]},
                              headers={"Authorization": f"Bearer {token}"})
        assert checked.status_code == 200
        deleted = client.request("DELETE", "/api/v1/me", json={"confirm": True},
                                 headers={"Authorization": f"Bearer {token}"})
        assert deleted.status_code == 500
        command.upgrade(alembic_config(db_url), "head")
        assert client.get("/readyz").status_code == 200


def test_readyz_is_503_without_a_schema_version(db_url):
    with TestClient(create_app(make_settings(database_url=db_url))) as client:
        execute(db_url, "DROP TABLE alembic_version")
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["schema_revision"] is None
        assert any("schema unknown" in r for r in ready.json()["reasons"]), ready.json()


def test_the_poller_logs_a_broken_database_once_backs_off_and_keeps_following(db_url, tmp_path, caplog):
    folder = tmp_path / "content"
    shutil.copytree(VALID, folder)
    engine = make_engine(db_url)
    store = ContentStore(load_content(folder))
    publish_at_start(engine, store, folder_is_truth=False)
    polls = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM contentstate" in statement:
            polls.append(time.monotonic())

    # Every engine of this process (the reader of a file database is an Engine of its own): count the polls.
    event.listen(Engine, "before_cursor_execute", count)

    async def scenario() -> None:
        caplog.set_level(logging.INFO, logger="mianjing")
        follower = asyncio.create_task(follow_forever(engine, store, folder, poll_s=0.01, backoff_max_s=0.1))
        await asyncio.sleep(0.3)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE contentstate"))
        polls.clear()
        await asyncio.sleep(1.5)
        assert not follower.done()
        failures = [r for r in caplog.records if "poll failed" in r.getMessage()]
        assert len(failures) == 1, [r.getMessage() for r in caplog.records]
        assert failures[0].exc_info is not None  # the one traceback, for whoever reads the log
        # It kept trying, at the capped pace: at least a few polls, far fewer than every 10 ms for 1.5 s.
        assert 4 <= len(polls) <= 1.5 / 0.1 + 8, len(polls)
        # The table comes back with a new publication: the poller logs its recovery and follows it.
        SQLModel.metadata.tables["contentstate"].create(engine)
        bank = folder / "banks" / "sample.md"
        bank.write_text(bank.read_text(encoding="utf-8").replace("BN 是怎么计算的？", "BN 怎么算？"), encoding="utf-8")
        with request_session(engine) as db:
            new = publish(db, folder, "test").content
        deadline = time.monotonic() + 10

        def recovered() -> list[logging.LogRecord]:
            return [r for r in caplog.records if "recovered" in r.getMessage()]

        # (The swap happens in the poll's thread; the recovery is logged once that poll has returned.)
        while store.current.version != new.version or not recovered():
            assert time.monotonic() < deadline, "the poller did not recover and follow the publication"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # more polls, all fine
        follower.cancel()
        assert len(recovered()) == 1
        assert len([r for r in caplog.records if "poll failed" in r.getMessage()]) == 1

    try:
        asyncio.run(scenario())
    finally:
        event.remove(Engine, "before_cursor_execute", count)
        engine.dispose()
