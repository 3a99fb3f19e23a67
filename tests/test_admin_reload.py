"""Admin content reload: auth, validation off to the side, atomic swap, and every worker following."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app.db import upgrade
from app.main import create_app
from tests.conftest import REPO, make_settings

TOKEN = "admin-secret-token"


@pytest.fixture
def admin_client(db_url, content_dir):
    app = create_app(make_settings(database_url=db_url, content_dir=content_dir, admin_token=TOKEN))
    with TestClient(app) as client:
        yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_admin_needs_the_token(admin_client):
    assert admin_client.post("/api/v1/admin/reload").status_code == 401
    assert admin_client.post("/api/v1/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_admin_off_without_token(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url))) as client:
        r = client.post("/api/v1/admin/reload", headers=AUTH)
    assert r.status_code == 403 and "off" in r.json()["detail"]


def test_reload_reports_changes_and_logs(admin_client, content_dir):
    bank = content_dir / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8").replace("BN 是怎么计算的？", "BN 的计算过程？")
    text += "\n## s-extra 新题\n\n```yaml\ntype: numeric\ndifficulty: 1\ntopics: [BN]\nsource: x\nanswer: 2\n```\n\n题\n\n### 解析\n\n析\n"
    bank.write_text(text, encoding="utf-8")
    before = admin_client.get("/readyz").json()["content_version"]
    r = admin_client.post("/api/v1/admin/reload", headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["previous_version"] == before != body["version"]
    assert body["added"] == ["s-extra"] and body["changed"] == ["s-open"] and body["removed"] == []
    assert body["questions"] == 7 and body["seconds"] < 5
    assert admin_client.get("/api/v1/questions/s-extra").status_code == 200
    log = admin_client.get("/api/v1/admin/reloads", headers=AUTH).json()
    assert log[0]["ok"] and log[0]["version_after"] == body["version"]


def test_broken_content_is_422_and_live_banks_stay(admin_client, content_dir):
    (content_dir / "banks" / "bad.md").write_text("---\nid: bad\ntitle: 坏\n---\n\n## q1\n\n```yaml\ntype: essay\n```\n",
                                                  encoding="utf-8")
    version = admin_client.get("/readyz").json()["content_version"]
    r = admin_client.post("/api/v1/admin/reload", headers=AUTH)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert any(e["file"].endswith("bad.md") and e["line"] == 9 for e in errors)
    assert admin_client.get("/readyz").json()["content_version"] == version
    assert admin_client.get("/api/v1/questions/s-open").status_code == 200
    shutil.rmtree(content_dir / "banks")
    assert admin_client.post("/api/v1/admin/reload", headers=AUTH).status_code == 422
    assert admin_client.get("/readyz").json()["content_version"] == version


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reload_reaches_every_worker_within_two_seconds(db_url, content_dir):
    port = free_port()
    env = {**os.environ, "MIANJING_DATABASE_URL": db_url, "MIANJING_CONTENT_DIR": str(content_dir),
           "MIANJING_ADMIN_TOKEN": TOKEN, "MIANJING_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        pids = set()
        for _ in range(60):  # fresh connections spread over both workers
            pids.add(httpx.get(f"{base}/readyz", headers={"Connection": "close"}).json()["content_version"])
        assert len(pids) == 1
        bank = content_dir / "banks" / "sample.md"
        bank.write_text(bank.read_text(encoding="utf-8").replace("单选", "单选题"), encoding="utf-8")
        r = httpx.post(f"{base}/api/v1/admin/reload", headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        new = r.json()["version"]
        time.sleep(2.0)
        seen = {httpx.get(f"{base}/readyz", headers={"Connection": "close"}).json()["content_version"]
                for _ in range(60)}
        assert seen == {new}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_admin_page_and_user_create_cli(tmp_path, content_dir):
    import re

    url = f"sqlite:///{tmp_path / 'adm.db'}"
    env = {**os.environ, "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(content_dir)}
    made = subprocess.run([sys.executable, "-m", "app.cli", "user", "create", "boss", "--admin", "--password",
                           "long password"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    subprocess.run([sys.executable, "-m", "app.cli", "user", "create", "plain", "--password", "long password"],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=120)
    with TestClient(create_app(make_settings(database_url=url, content_dir=content_dir))) as client:
        def login(name: str) -> str:
            page = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            client.post("/login", data={"username": name, "password": "long password", "csrf_token": csrf})
            return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)

        login("plain")
        assert client.get("/admin").status_code == 404
        csrf = login("boss")
        page = client.get("/admin")
        assert page.status_code == 200 and client.app.state.store.current.version in page.text
        assert client.post("/admin/reload", data={}).status_code == 403  # CSRF
        bank = content_dir / "banks" / "sample.md"
        bank.write_text(bank.read_text(encoding="utf-8").replace("单选", "单选题"), encoding="utf-8")
        done = client.post("/admin/reload", data={"csrf_token": csrf})
        assert done.status_code == 200 and "已加载新版本" in done.text and "user:boss" in done.text
        bank.write_text("---\nid: broken\n---\n", encoding="utf-8")
        failed = client.post("/admin/reload", data={"csrf_token": csrf})
        assert failed.status_code == 422 and "sample.md:1" in failed.text
