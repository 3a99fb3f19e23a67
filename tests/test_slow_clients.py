"""Slow clients against a real uvicorn server, on SQLite and PostgreSQL.

Ten raw sockets send the headers of a request and then dribble its body a few bytes at a time for about
four seconds: first `POST /login` forms, then a bearer-authenticated autosave (`PUT .../answers/0`) with a
JSON body. While they dribble, other users read their interview, autosave and create guests over httpx;
each of those must be answered at once. A server that holds a lock while a body comes in fails: before
write_transaction (c9120a9) each request's session held SQLite's in-process write lock from its start, and
there the others' requests waited the whole dribble (a GET of an interview took 3.8 s).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import TEST_LIMITS, migrated_database
from tests.live import LiveServer, live_server

N_SLOW = 10
BODY_BYTES = 150
CHUNK = 4  # bytes per tick, every TICK seconds: ~38 ticks, about 4 s for the whole body
TICK = 0.1
SLOWEST_ALLOWED = 1.0  # seconds for any other client's request while the bodies dribble
FAST_USERS = 3
PASSWORD = "long password"


Server = LiveServer


@pytest.fixture(params=["sqlite", "postgres"])
def server(request, tmp_path) -> Iterator[Server]:
    # Every client is 127.0.0.1 and the fast users create guests in a loop: limits above that.
    limits = {f"MIANJING_{k.upper()}": str(v) for k, v in TEST_LIMITS.items()}
    with migrated_database(request.param, tmp_path) as url, live_server(
            ["uvicorn", "app.main:app", "--host", "127.0.0.1"], url, tmp_path / "server.log", **limits) as srv:
        yield srv


# --- the clients ----------------------------------------------------------------------------------------


@dataclass
class User:
    headers: dict[str, str]
    interview_id: str


def new_user(http: httpx.Client) -> User:
    r = http.post("/api/v1/auth/guest")
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = http.post("/api/v1/interviews", json={"round": "mini"}, headers=headers)
    assert r.status_code == 201, r.text
    return User(headers, r.json()["id"])


@dataclass
class Dribble:
    """Raw sockets that send their headers at once and their bodies CHUNK bytes every TICK seconds."""

    requests: list[bytes]  # each: the headers (with Content-Length and Connection: close), then the body
    bodies_started: float = 0.0  # every socket has sent its headers and the first bytes of its body
    bodies_sent: float = 0.0  # ... and the last byte of every body
    responses: list[bytes] = field(default_factory=list)
    error: BaseException | None = None

    def run(self, port: int, done: threading.Event) -> None:
        socks = []
        try:
            parts = [r.split(b"\r\n\r\n", 1) for r in self.requests]
            for head, _ in parts:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(head + b"\r\n\r\n")
                socks.append(s)
            offset = 0
            while offset < max(len(body) for _, body in parts):
                for s, (_, body) in zip(socks, parts, strict=True):
                    if offset < len(body):
                        s.sendall(body[offset:offset + CHUNK])
                offset += CHUNK
                if not self.bodies_started:
                    self.bodies_started = time.monotonic()
                if offset < max(len(body) for _, body in parts):
                    time.sleep(TICK)
            self.bodies_sent = time.monotonic()
            done.set()
            for s in socks:
                self.responses.append(_read_all(s))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            done.set()
            for s in socks:
                s.close()


def _read_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def _status(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", response)
    assert match, response[:200]
    return int(match.group(1))


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def padded(body: str, pad: str) -> bytes:
    """`body` followed by `pad` repeated up to BODY_BYTES bytes."""
    data = body.encode()
    assert len(data) < BODY_BYTES - len(pad)
    return data + (pad * BODY_BYTES).encode()[: BODY_BYTES - len(data)]


@dataclass
class Timed:
    what: str
    status: int
    seconds: float
    ended: float


def keep_busy(base: str, user: User, done: threading.Event, out: list[Timed], errors: list[BaseException]) -> None:
    """One other user, round after round until the dribble is over: read, autosave, a new guest."""
    try:
        with httpx.Client(base_url=base, timeout=15) as http:
            calls = [("GET interview", "GET", f"/api/v1/interviews/{user.interview_id}", None),
                     ("PUT answer", "PUT", f"/api/v1/interviews/{user.interview_id}/answers/0",
                      {"answer": "每个通道求均值方差"}),
                     ("POST guest", "POST", "/api/v1/auth/guest", None)]
            while not done.is_set():
                for what, method, path, body in calls:
                    t0 = time.monotonic()
                    r = http.request(method, path, json=body, headers=user.headers)
                    t1 = time.monotonic()
                    out.append(Timed(what, r.status_code, t1 - t0, t1))
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def while_dribbling(server: Server, others: list[User], requests: list[bytes]) -> tuple[Dribble, list[Timed]]:
    """Dribble `requests` while `others` keep the server busy; check the others were served at once."""
    dribble = Dribble(requests)
    done = threading.Event()
    timed: list[Timed] = []
    errors: list[BaseException] = []
    slow = threading.Thread(target=dribble.run, args=(server.port, done))
    slow.start()
    while not dribble.bodies_started and slow.is_alive():
        time.sleep(0.01)
    fast = [threading.Thread(target=keep_busy, args=(server.base, u, done, timed, errors)) for u in others]
    for t in fast:
        t.start()
    for t in [slow, *fast]:
        t.join(30)
    assert dribble.error is None, f"{dribble.error!r}\n{server.tail()}"
    assert not errors, f"{errors!r}\n{server.tail()}"
    assert dribble.bodies_sent - dribble.bodies_started > 3, "the bodies did not dribble"
    assert all(200 <= t.status < 300 for t in timed), sorted({(t.what, t.status) for t in timed})
    slowest = max(timed, key=lambda t: t.seconds)
    print(f"\n{len(timed)} requests of other users while {len(requests)} bodies dribbled for "
          f"{dribble.bodies_sent - dribble.bodies_started:.1f} s; slowest: {slowest.what} {slowest.seconds:.3f} s")
    assert slowest.seconds < SLOWEST_ALLOWED, (slowest, server.tail())
    # The others were served while every slow body was still coming, not only once they had all arrived.
    during = [t for t in timed if t.ended < dribble.bodies_sent - 0.5]
    for what in ("GET interview", "PUT answer", "POST guest"):
        assert sum(t.what == what for t in during) >= len(others), (what, len(during))
    assert len(dribble.responses) == len(requests)
    return dribble, timed


def assert_healthy(server: Server) -> None:
    assert server.process.poll() is None, server.tail()
    r = httpx.get(f"{server.base}/readyz", timeout=5)
    assert r.status_code == 200 and r.json()["database"] is True, r.text


# --- the test -------------------------------------------------------------------------------------------


def test_slow_bodies_hold_up_nobody_else(server):
    t0 = time.monotonic()
    with httpx.Client(base_url=server.base, timeout=10) as http:
        others = [new_user(http) for _ in range(FAST_USERS)]
        slow_savers = [new_user(http) for _ in range(N_SLOW)]
        assert http.post("/api/v1/auth/register",
                         json={"username": "slowpoke", "password": PASSWORD}).status_code == 201
        page = http.get("/login")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        anon = page.cookies["mj_anon"]

    # 1. Slow form posts to /login: every other one with the page's CSRF token and the right password
    # (a real login: a new session row in a write), the rest with no token at all (403).
    logins = []
    for i in range(N_SLOW):
        if i % 2 == 0:
            form = padded(f"csrf_token={csrf}&username=slowpoke&password={PASSWORD.replace(' ', '+')}&pad=", "x")
            headers = {"Cookie": f"mj_anon={anon}"}
        else:
            form, headers = padded("username=slowpoke&password=wrong&pad=", "x"), {}
        logins.append(raw_request("POST", "/login", {**headers,
                                                     "Content-Type": "application/x-www-form-urlencoded"}, form))
    dribble, _ = while_dribbling(server, others, logins)
    for i, response in enumerate(dribble.responses):
        if i % 2 == 0:
            assert _status(response) == 303, response[:300]
            assert b"set-cookie: mj_session=" in response.lower(), response[:500]
        else:
            assert _status(response) == 403, response[:300]
    assert_healthy(server)

    # 2. Slow JSON autosaves, each by its own guest with a bearer token.
    answers = [f"slow answer {i} ".ljust(BODY_BYTES - 20, ".") for i in range(N_SLOW)]
    saves = [raw_request("PUT", f"/api/v1/interviews/{u.interview_id}/answers/0",
                         {**u.headers, "Content-Type": "application/json"},
                         padded('{"answer": "' + answer + '"', " ")[:-1] + b"}")
             for u, answer in zip(slow_savers, answers, strict=True)]
    assert all(len(s.split(b"\r\n\r\n", 1)[1]) == BODY_BYTES for s in saves)
    dribble, _ = while_dribbling(server, others, saves)
    assert [_status(r) for r in dribble.responses] == [200] * N_SLOW, dribble.responses[0][:300]
    with httpx.Client(base_url=server.base, timeout=10) as http:
        for u, answer in zip(slow_savers, answers, strict=True):
            got = http.get(f"/api/v1/interviews/{u.interview_id}", headers=u.headers)
            assert got.status_code == 200 and got.json()["questions"][0]["answer"] == answer
    assert_healthy(server)
    assert time.monotonic() - t0 < 15
