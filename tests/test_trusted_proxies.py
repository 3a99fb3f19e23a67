"""X-Forwarded-For counts only from MIANJING_TRUSTED_PROXIES, through `mianjing serve` (the Dockerfile's
command) and real uvicorn, on SQLite and PostgreSQL.

Uvicorn's own default believes the header from 127.0.0.1, so a local client could name any address and
slip every per-address limit; `mianjing serve` passes the setting (empty by default: nobody) as uvicorn's
forwarded_allow_ips.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import REPO, VALID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(db_url: str, **settings: str) -> Iterator[httpx.Client]:
    """`mianjing serve` on a free port with these MIANJING_* settings (and nothing of ours from the caller's
    environment); yields a client of it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANJING_")}
    env.update({"PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": db_url, "MIANJING_CONTENT_DIR": str(VALID),
                "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "test-secret", "MIANJING_LOG_LEVEL": "warning",
                **settings})
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "mianjing serve did not become ready"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=10) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


def new_guest(client: httpx.Client, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/api/v1/auth/guest", headers=headers).status_code


def test_by_default_nobody_may_name_their_own_address(db_url):
    with serve(db_url, MIANJING_LIMIT_GUESTS_PER_HOUR="2") as client:
        # Three "different" addresses from 127.0.0.1 are three guests of one address: the third is refused.
        assert [new_guest(client, f"203.0.113.{i}") for i in (1, 2, 3)] == [201, 201, 429]
        # Nor is X-Forwarded-Proto believed: no Secure cookie on plain HTTP.
        home = client.get("/", headers={"X-Forwarded-Proto": "https"})
        cookie = next(c for c in home.headers.get_list("set-cookie") if c.startswith("mj_anon="))
        assert "secure" not in cookie.lower()


def test_a_trusted_proxy_names_the_client_address(db_url):
    with serve(db_url, MIANJING_LIMIT_GUESTS_PER_HOUR="2", MIANJING_TRUSTED_PROXIES="127.0.0.1") as client:
        assert [new_guest(client, "203.0.113.1") for _ in range(3)] == [201, 201, 429]
        assert new_guest(client, "203.0.113.2") == 201  # another client behind the proxy
        assert new_guest(client, "198.51.100.7, 203.0.113.3") == 201  # the address the proxy saw, not the claim
        assert new_guest(client, "198.51.100.8, 203.0.113.3") == 201
        assert new_guest(client, "198.51.100.9, 203.0.113.3") == 429
        assert new_guest(client) == 201  # the proxy's own requests count as its own address
        home = client.get("/", headers={"X-Forwarded-Proto": "https"})
        cookie = next(c for c in home.headers.get_list("set-cookie") if c.startswith("mj_anon="))
        assert "secure" in cookie.lower()
