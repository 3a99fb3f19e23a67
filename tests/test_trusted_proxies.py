"""X-Forwarded-For counts only from MIANJING_TRUSTED_PROXIES, through `mianjing serve` (the Dockerfile's
command) and real uvicorn, on SQLite and PostgreSQL.

Uvicorn's own default believes the header from 127.0.0.1, so a local client could name any address and
slip every per-address limit; `mianjing serve` passes the setting (empty by default: nobody) as uvicorn's
forwarded_allow_ips.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.live import live_server


@contextmanager
def serve(db_url: str, **settings: str) -> Iterator[httpx.Client]:
    """`mianjing serve` on a free port with these MIANJING_* settings (and nothing of ours from the caller's
    environment); yields a client of it."""
    with tempfile.TemporaryDirectory() as folder, live_server(["app.cli", "serve"], db_url, Path(folder) / "log",
                                                              ready_within=90, **settings) as srv, \
            httpx.Client(base_url=srv.base, timeout=10) as client:
        yield client


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
