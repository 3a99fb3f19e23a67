"""Slow clients, part two: a body that has not arrived MIANJING_REQUEST_READ_TIMEOUT_S after its head is
answered 408 and its connection closed; and the limits only uvicorn can enforce (idle keep-alive
connections, the size of a request head) reach it through `mianjing serve`. A real server (the CLI, so the
uvicorn options are the ones it passes) over SQLite and PostgreSQL, with low limits, and raw sockets."""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import migrated_database
from tests.live import live_server
from tests.test_slow_clients import Server, _read_all, _status, raw_request

READ_TIMEOUT = 1.0
KEEP_ALIVE = 1
MAX_HEADER_BYTES = 4096


@pytest.fixture(params=["sqlite", "postgres"])
def server(request, tmp_path) -> Iterator[Server]:
    with migrated_database(request.param, tmp_path) as url:
        settings = {"MIANJING_REQUEST_READ_TIMEOUT_S": str(READ_TIMEOUT), "MIANJING_KEEP_ALIVE_TIMEOUT_S": str(KEEP_ALIVE),
                    "MIANJING_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES)}
        with live_server(["app.cli", "serve"], url, tmp_path / "server.log", **settings) as srv:
            yield srv


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=15)


def stall(server: Server, request: bytes, sent: int, *, dribble_s: float = 0.0) -> tuple[bytes, float]:
    """Send the head and `sent` bytes of the body, then nothing (or one byte every `dribble_s` seconds) until
    the server answers; returns everything it sent up to closing the connection, and when it started."""
    head, body = request.split(b"\r\n\r\n", 1)
    with connect(server) as s:
        s.sendall(head + b"\r\n\r\n" + body[:sent])
        started = time.monotonic()
        if dribble_s:
            # A selector, not select.select: in a long test session this socket's descriptor may be past 1024.
            with selectors.DefaultSelector() as sel:
                sel.register(s, selectors.EVENT_READ)
                for i in range(sent, len(body) - 1):
                    # Send the next byte only while no answer has come: a byte sent after the server closed
                    # would reset the connection, and could cost the answer already on its way.
                    if sel.select(dribble_s):
                        break
                    if time.monotonic() - started > READ_TIMEOUT - 0.15:
                        # Close to the deadline the server may be closing as the byte leaves (seen on CI):
                        # the bytes so far have kept coming; now only wait for the answer.
                        sel.select(READ_TIMEOUT + 5)
                        break
                    s.sendall(body[i:i + 1])
                else:
                    raise AssertionError("the whole body went out and no answer came")
        return _read_all(s), started


def test_a_body_that_does_not_arrive_in_time_is_408_and_closed(server):
    with httpx.Client(base_url=server.base, timeout=10) as http:
        token = http.post("/api/v1/auth/guest").json()["access_token"]
        iid = http.post("/api/v1/interviews", json={"round": "mini"},
                        headers={"Authorization": f"Bearer {token}"}).json()["id"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    save = raw_request("PUT", f"/api/v1/interviews/{iid}/answers/0", auth,
                       b'{"answer": "' + b"x" * 200 + b'"}').replace(b"Connection: close\r\n", b"")

    # A body that stops after 10 bytes: answered once the time is up (not before), in JSON, and the
    # connection is closed although the client never finished (and asked for keep-alive).
    response, started = stall(server, save, 10)
    # asyncio may fire a timer up to its clock's resolution early (seen: 0.9999 s of 1 s on CI)
    assert time.monotonic() - started >= READ_TIMEOUT - 0.01
    assert _status(response) == 408, response[:300]
    assert b"connection: close" in response.lower() and b"did not arrive within 1 s" in response

    # A body that keeps coming, a byte every 0.2 s, gets no more time: the deadline is for the whole body.
    response, _ = stall(server, save, 10, dribble_s=0.2)
    assert _status(response) == 408, response[:300]

    # A page's form gets the error page.
    form = raw_request("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"},
                       b"username=slowpoke&password=" + b"x" * 100)
    response, _ = stall(server, form, 5)
    assert _status(response) == 408 and b"<html" in response.lower(), response[:300]

    # A body that takes a while but arrives in time is served; the server is fine throughout.
    head, body = save.split(b"\r\n\r\n", 1)
    with connect(server) as s:
        s.sendall(head + b"\r\n\r\n" + body[:10])
        time.sleep(READ_TIMEOUT / 2)
        s.sendall(body[10:])
        assert _status(s.recv(65536)) == 200  # (the status line comes in the first write)
    with httpx.Client(base_url=server.base, timeout=10) as http:
        got = http.get(f"/api/v1/interviews/{iid}", headers={"Authorization": f"Bearer {token}"})
        assert got.json()["questions"][0]["answer"] == "x" * 200
        assert http.get("/readyz").status_code == 200


def test_uvicorn_closes_idle_connections_and_refuses_large_heads(server):
    # Keep-alive: an idle connection after a response is closed by uvicorn after MIANJING_KEEP_ALIVE_TIMEOUT_S.
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while not first.endswith(b'{"status":"ok"}'):
            first += s.recv(65536)
        assert _status(first) == 200
        idle_from = time.monotonic()
        assert s.recv(65536) == b""  # closed by the server (the socket would time out after 15 s otherwise)
        assert time.monotonic() - idle_from >= KEEP_ALIVE * 0.9
    # A head that grows past MIANJING_MAX_HEADER_BYTES before it is complete: 400 and closed, without the
    # app ever seeing it. (h11 bounds what it buffers of an incomplete head; a complete head that came in
    # one read of the socket is parsed whatever its size, so memory stays bounded by one read.)
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (MAX_HEADER_BYTES + 100))
        response = _read_all(s)  # (nothing more is sent: bytes after the close would reset the connection)
        assert _status(response) == 400, response[:300]
    # A head just under the limit is fine.
    with connect(server) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
                  + b"a" * (MAX_HEADER_BYTES - 200) + b"\r\n\r\n")
        assert _status(_read_all(s)) == 200
