"""Publishing content: a worker serves exactly the published version or stays on its own.

Two app instances (two "workers", each with its own store and poller) over one database and one content
folder; the folder changes on disk without a publish, and a version another machine validated (through
`mianjing content publish` over another folder) is recorded. Then the start rule: a first start publishes
its folder, a later start with a folder that differs from the recorded version refuses unless the folder is
declared the source of truth.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.content.loader import load_content
from app.db import make_engine, request_session
from app.main import create_app
from app.models import ReloadLog
from app.runtime.publishing import ContentNotPublished, follow_published
from tests.conftest import REPO, VALID, make_settings

TOKEN = "admin-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROMPT = "BN 是怎么计算的？"


def edit(folder: Path, prompt: str) -> str:
    """Give s-open another prompt on disk; returns the folder's new version."""
    bank = folder / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    current = next(p for p in (PROMPT, "版本二", "版本三") if p in text)
    bank.write_text(text.replace(current, prompt), encoding="utf-8")
    return load_content(folder).version


def prompt_of(client: TestClient) -> str:
    return client.get("/api/v1/questions/s-open").json()["prompt"]


def wait_until(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def cli_publish(db_url: str, folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": db_url,
           "MIANJING_CONTENT_DIR": str(folder), "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "test-secret"}
    return subprocess.run([sys.executable, "-m", "app.cli", "content", "publish"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    shared, elsewhere = tmp_path / "content", tmp_path / "elsewhere"
    shutil.copytree(VALID, shared)
    shutil.copytree(VALID, elsewhere)
    return shared, elsewhere


def test_two_workers_serve_only_the_published_version(db_url, folders):
    shared, elsewhere = folders
    v1 = load_content(shared).version
    settings = make_settings(database_url=db_url, content_dir=shared, admin_token=TOKEN, content_poll_s=0.05)
    with ExitStack() as stack:
        a, b = (stack.enter_context(TestClient(create_app(settings))) for _ in range(2))
        for worker in (a, b):
            ready = worker.get("/readyz").json()
            assert ready["status"] == "ok" and ready["content_version"] == ready["published_version"] == v1

        # 1. The folder changes on disk; nobody publishes. Both keep serving v1, which is still the truth.
        v2 = edit(shared, "版本二")
        time.sleep(0.5)  # ten polls
        for worker in (a, b):
            assert prompt_of(worker) == PROMPT and worker.get("/readyz").status_code == 200

        # 2. Another machine validates and publishes v3 from its own folder. Neither worker can load v3 (their
        # folder holds v2): they stay on v1, say why on /readyz, and do not serve the unpublished v2.
        v3 = edit(elsewhere, "版本三")
        done = cli_publish(db_url, elsewhere)
        assert done.returncode == 0, done.stderr
        assert f"published version {v3} (was {v1})" in done.stdout
        for worker in (a, b):
            wait_until(lambda w=worker: w.get("/readyz").status_code == 503, "the mismatch never showed")
            body = worker.get("/readyz").json()
            assert body["content_version"] == v1 and body["published_version"] == v3
            assert any(f"the folder holds {v2}, which was not published" in r for r in body["reasons"]), body
            assert prompt_of(worker) == PROMPT
            assert worker.app.state.store.current.version == v1

        # 3. The admin publishes the shared folder (v2) on worker a: a serves it at once, b follows.
        r = a.post("/api/v1/admin/reload", headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == v2 and r.json()["previous_version"] == v1
        assert prompt_of(a) == "版本二"
        wait_until(lambda: b.app.state.store.current.version == v2, "b did not follow the publication")
        for worker in (a, b):
            wait_until(lambda w=worker: w.get("/readyz").status_code == 200, "not ready again")
            assert prompt_of(worker) == "版本二"


def test_a_publication_the_folder_changed_under_is_not_followed(db_url, folders):
    """The race of the issue: worker a validates and publishes v2, then the files change again (v3) before
    worker b loads them. b's poller runs by hand here (its own every hour), so that the order is certain."""
    shared, _ = folders
    v1 = load_content(shared).version
    with TestClient(create_app(make_settings(database_url=db_url, content_dir=shared, admin_token=TOKEN))) as a, \
            TestClient(create_app(make_settings(database_url=db_url, content_dir=shared, content_poll_s=3600))) as b:
        v2 = edit(shared, "版本二")
        assert a.post("/api/v1/admin/reload", headers=AUTH).json()["version"] == v2
        v3 = edit(shared, "版本三")
        store = b.app.state.store
        assert follow_published(b.app.state.engine, store, shared) is None
        assert store.current.version == v1 and prompt_of(b) == PROMPT
        assert store.held_back is not None and store.held_back.on_disk == v3
        body = b.get("/readyz").json()
        assert body["published_version"] == v2 and any(v3 in r for r in body["reasons"])
        # Polling again does not re-parse the folder for the same publication; a new publication is tried.
        assert follow_published(b.app.state.engine, store, shared) is None
        assert a.post("/api/v1/admin/reload", headers=AUTH).json()["version"] == v3
        assert follow_published(b.app.state.engine, store, shared).version == v3
        assert store.held_back is None and b.get("/readyz").status_code == 200 and prompt_of(b) == "版本三"
        # Restoring the published files and publishing that same hash again is news too.
        edit(shared, "版本二")
        assert a.post("/api/v1/admin/reload", headers=AUTH).json()["version"] == v2
        edit(shared, "版本三")
        follow_published(b.app.state.engine, store, shared)
        assert store.current.version == v3 and store.held_back is not None
        edit(shared, "版本二")
        assert a.post("/api/v1/admin/reload", headers=AUTH).json()["version"] == v2
        assert follow_published(b.app.state.engine, store, shared).version == v2


def reload_log(db_url: str) -> list[tuple[str, str | None, str | None]]:
    engine = make_engine(db_url)
    try:
        with request_session(engine) as db:
            return [(r.actor, r.version_before, r.version_after)
                    for r in db.exec(select(ReloadLog).order_by(ReloadLog.id))]
    finally:
        engine.dispose()


def test_the_start_rule(empty_db_url, folders):
    shared, _ = folders
    v1 = load_content(shared).version
    settings = make_settings(database_url=empty_db_url, content_dir=shared)
    with TestClient(create_app(settings)) as first:  # a first start publishes its folder
        assert first.get("/readyz").json()["published_version"] == v1
    assert reload_log(empty_db_url) == [("startup", None, v1)]
    with TestClient(create_app(settings)) as again:  # the same folder: nothing to publish, nothing logged
        assert again.get("/readyz").status_code == 200
    assert len(reload_log(empty_db_url)) == 1

    v2 = edit(shared, "版本二")  # the files change, nobody publishes, the service restarts
    with pytest.raises(ContentNotPublished, match=f"holds version {v2} but version {v1} is published"):
        with TestClient(create_app(settings)):
            pass
    assert len(reload_log(empty_db_url)) == 1

    # Declared the source of truth, the folder is published at start (and a running worker would follow).
    with TestClient(create_app(make_settings(database_url=empty_db_url, content_dir=shared,
                                             publish_on_start=True))) as declared:
        ready = declared.get("/readyz").json()
        assert ready["status"] == "ok" and ready["published_version"] == v2
    assert reload_log(empty_db_url)[-1] == ("startup", v1, v2)


def test_publish_refuses_broken_content(db_url, folders):
    shared, _ = folders
    (shared / "banks" / "sample.md").write_text("---\nid: broken\n---\n", encoding="utf-8")
    done = cli_publish(db_url, shared)
    assert done.returncode == 1 and "not published" in done.stderr and "sample.md:1" in done.stderr
    log = reload_log(db_url)
    assert log == [("cli", None, None)]
