"""Limits for an open service, on SQLite and PostgreSQL, each set low in its test's settings.

Guests and registrations per client address (API and pages sharing one budget), one running interview per
account and round, abandoning it, interviews per account per day and per address per hour, the login
back-off per (account, address), the per-address limits of failed and of successful logins, logout ending whatever session carried
it, and the write quotas (answer-carrying writes per minute, answer text per hour, per account and per
address). Client addresses are
TestClient's `client`, the peer address uvicorn would hand over; tests/test_trusted_proxies.py checks what
uvicorn makes of X-Forwarded-For. Concurrency is tested on the service functions with threads over two
engines (two workers' worth of connection pools) on one database.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from api_helpers import bearer, guest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from app.auth import accounts
from app.auth.passwords import hash_password
from app.content.loader import load_content
from app.db import make_engine, request_session, write_transaction
from app.errors import AppError
from app.interviews import service
from app.main import create_app
from app.models import Attempt, AuthSession, Interview, InterviewAnswer, QuotaCounter, ReviewCard, User
from app.practice.service import record_attempt
from app.rate_limits import Limits, RateLimited
from app.write_quotas import WriteQuotas
from tests.conftest import T0, VALID, Clock, make_settings

PASSWORD = "correct horse battery"  # noqa: S105 - a test value
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no csrf_token field on the page"
    return m.group(1)


@pytest.fixture
def content_dir(tmp_path):
    """The fixture content plus a second round, `mini2`, so that "per round" can be told from "per account"."""
    folder = tmp_path / "content"
    shutil.copytree(VALID, folder)
    mini = (folder / "rounds" / "mini.md").read_text(encoding="utf-8")
    (folder / "rounds" / "mini2.md").write_text(mini.replace("id: mini", "id: mini2"), encoding="utf-8")
    return folder


@pytest.fixture
def make_app(db_url, content_dir) -> Iterator[Callable[..., tuple[FastAPI, Clock, TestClient]]]:
    """make_app(**limits) -> (app, clock, a client at 10.0.0.1), the app running until the test ends."""
    stack: list[tuple[FastAPI, TestClient]] = []

    def build(**limits: Any) -> tuple[FastAPI, Clock, TestClient]:
        app = create_app(make_settings(database_url=db_url, content_dir=content_dir, **limits))
        clock = Clock()
        app.state.clock = clock
        client = TestClient(app, client=("10.0.0.1", 50000))
        client.__enter__()
        stack.append((app, client))
        return app, clock, client

    yield build
    for app, client in stack:
        client.__exit__(None, None, None)
        app.state.engine.dispose()


def at(app: FastAPI, address: str) -> TestClient:
    """Another client, from `address`, of an app that is running already (no lifespan of its own)."""
    return TestClient(app, client=(address, 50000))


def start(client: TestClient, headers: dict[str, str], round_id: str = "mini"):
    return client.post("/api/v1/interviews", json={"round": round_id}, headers=headers)


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def count(app: FastAPI, table: type[SQLModel], *where: Any) -> int:
    with Session(app.state.engine) as db:
        return db.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def page_guest(client: TestClient):
    """Start as a guest from the practice page's form (POST /guest)."""
    home = client.get("/")
    return client.post("/guest", data={"next": "/practice", "csrf_token": csrf_of(home.text)}, follow_redirects=False)


def page_start(client: TestClient, round_id: str = "mini"):
    home = client.get("/")
    return client.post("/start", data={"round": round_id, "csrf_token": csrf_of(home.text)}, follow_redirects=False)


def assert_limited_page(r, retry_after: int) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(retry_after)
    assert r.headers["content-type"].startswith("text/html") and "<html" in r.text
    assert str(retry_after) in r.text  # the page says how long to wait


def assert_limited_json(r, retry_after: int) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(retry_after)
    assert set(r.json()) == {"detail"} and str(retry_after) in r.json()["detail"]


# --- guests and registrations per client address ----------------------------------------------------------


def test_guest_creation_is_limited_per_address_across_the_api_start_and_guest(make_app):
    app, clock, api = make_app(limit_guests_per_hour=3)
    assert api.post("/api/v1/auth/guest").status_code == 201
    clock.advance(minutes=10)
    assert page_guest(at(app, "10.0.0.1")).status_code == 303
    clock.advance(minutes=10)
    assert page_start(at(app, "10.0.0.1")).status_code == 303
    clock.advance(minutes=10)
    users = count(app, User)
    # The fourth in the hour, by each route: the first leaves the window 30 minutes from now.
    assert_limited_json(api.post("/api/v1/auth/guest"), 1800)
    assert_limited_page(page_guest(at(app, "10.0.0.1")), 1800)
    assert_limited_page(page_start(at(app, "10.0.0.1")), 1800)
    assert count(app, User) == users and count(app, Interview) == 1  # refused: nothing created
    # Another address has its own hour.
    assert at(app, "10.0.0.2").post("/api/v1/auth/guest").status_code == 201
    # A sliding window: an hour after the first, one more; the next waits for the second to leave.
    clock.advance(minutes=30, seconds=1)
    assert api.post("/api/v1/auth/guest").status_code == 201
    assert_limited_json(api.post("/api/v1/auth/guest"), 599)


def test_registration_is_limited_per_address_on_the_api_and_the_page(make_app):
    app, clock, api = make_app(limit_registrations_per_hour=2)
    assert api.post("/api/v1/auth/register", json={"username": "alice", "password": PASSWORD}).status_code == 201
    # A refused registration (the name is taken) is not counted.
    assert api.post("/api/v1/auth/register", json={"username": "alice", "password": PASSWORD}).status_code == 409
    web = at(app, "10.0.0.1")
    form = web.get("/register")
    r = web.post("/register", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
                 follow_redirects=False)
    assert r.status_code == 303
    clock.advance(minutes=1)
    assert_limited_json(api.post("/api/v1/auth/register", json={"username": "carol", "password": PASSWORD}), 3540)
    again = at(app, "10.0.0.1")
    form = again.get("/register")
    assert_limited_page(again.post("/register", data={"username": "dave", "password": PASSWORD,
                                                      "csrf_token": csrf_of(form.text)}), 3540)
    assert count(app, User) == 2
    assert at(app, "10.0.0.2").post("/api/v1/auth/register",
                                    json={"username": "erin", "password": PASSWORD}).status_code == 201


def _threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(work, range(n)))


def test_concurrent_guests_on_two_workers_get_exactly_the_limit(db_url):
    """16 requests at once from one address, on two engines (as two workers would be), with the check and
    the commit held apart: exactly the limit gets through (PostgreSQL: the advisory lock on the key)."""
    limits = Limits.from_settings(make_settings(limit_guests_per_hour=5))
    engines = [make_engine(db_url) for _ in range(2)]
    barrier = threading.Barrier(16)

    def one(i: int) -> int:
        with request_session(engines[i % 2]) as db:
            barrier.wait()
            try:
                with write_transaction(db):
                    accounts.create_guest(db, limits, "10.9.9.9", T0)
                    time.sleep(0.02)  # a slow request between its check and its commit
                return 201
            except RateLimited:
                return 429

    try:
        results = _threads(16, one)
        with Session(engines[0]) as db:
            created = db.execute(select(func.count()).select_from(User)).scalar_one()
    finally:
        for engine in engines:
            engine.dispose()
    assert results.count(201) == 5 and created == 5


# --- interviews: one running per round, abandon, a daily cap -------------------------------------------------


def test_one_running_interview_per_account_and_round(make_app):
    app, clock, client = make_app()
    h = guest(client)
    first = start(client, h)
    assert first.status_code == 201
    r = start(client, h)
    assert r.status_code == 409
    assert r.json()["active_interview_id"] == first.json()["id"] and r.json()["detail"]
    assert start(client, h, "mini2").status_code == 201  # another round
    assert start(client, guest(client)).status_code == 201  # another account
    assert client.post(f"/api/v1/interviews/{first.json()['id']}/finish", headers=h).status_code == 200
    second = start(client, h)
    assert second.status_code == 201
    # Time up: the start closes (and scores) the one whose time ran out, then starts anew.
    clock.advance(minutes=11)
    third = start(client, h)
    assert third.status_code == 201
    old = client.get(f"/api/v1/interviews/{second.json()['id']}", headers=h).json()
    assert old["state"] == "finished" and old["score"] == 0.0
    assert count(app, Interview, Interview.state == "active") == 3  # mini (third), mini2, the other account's


def test_abandoning_ends_an_interview_unscored_unscheduled_and_kept(make_app):
    app, clock, client = make_app()
    h = guest(client)
    state = start(client, h).json()
    iid, url = state["id"], f"/api/v1/interviews/{state['id']}"
    assert client.put(f"{url}/answers/0", json={"answer": "每个通道求均值方差"}, headers=h).status_code == 200
    assert client.put(f"{url}/ratings/0", json={"rating": "good"}, headers=h).status_code == 200
    r = client.post(f"{url}/abandon", headers=h)
    assert r.status_code == 200 and r.json() == {"id": iid, "state": "abandoned", "score": None}
    # Nothing scored, nothing recorded for practice or reviews; the answers and the history stay.
    assert count(app, Attempt) == 0 and count(app, ReviewCard) == 0
    assert count(app, InterviewAnswer, InterviewAnswer.interview_id == iid) == 1
    got = client.get(url, headers=h).json()
    assert got["state"] == "abandoned" and got["score"] is None and got["questions"][0]["answer"] == "每个通道求均值方差"
    assert [(i["id"], i["state"]) for i in client.get("/api/v1/interviews", headers=h).json()["items"]] == [(iid, "abandoned")]
    # Frozen: no save, rating, finish, report or share link; abandoning again changes nothing.
    for method, path, body in (("PUT", "/answers/0", {"answer": "later"}), ("PUT", "/ratings/0", {"rating": "easy"}),
                               ("POST", "/finish", None), ("GET", "/report", None), ("POST", "/share", None)):
        r = client.request(method, url + path, json=body, headers=h)
        assert r.status_code == 409, (path, r.status_code, r.text)
    assert client.get(f"{url}/report", headers=h).json()["state"] == "abandoned"
    assert client.post(f"{url}/abandon", headers=h).json()["state"] == "abandoned"
    assert count(app, Attempt) == 0 and count(app, ReviewCard) == 0
    # The round is free again.
    fresh = start(client, h).json()
    assert client.put(f"/api/v1/interviews/{fresh['id']}/answers/0", json={"answer": "均值"}, headers=h).status_code == 200
    # One whose time ran out cannot be abandoned: it is closed and scored on the way, and that stays done.
    clock.advance(minutes=11)
    r = client.post(f"/api/v1/interviews/{fresh['id']}/abandon", headers=h)
    assert r.status_code == 409 and r.json()["state"] == "finished"
    assert count(app, Interview, Interview.id == fresh["id"], Interview.state == "finished") == 1
    assert count(app, Attempt, Attempt.interview_id == fresh["id"]) == 1
    # Somebody else's: the usual 404.
    assert client.post(f"/api/v1/interviews/{fresh['id']}/abandon", headers=guest(client)).status_code == 404


def test_interviews_started_per_account_per_day_are_capped(make_app):
    app, clock, client = make_app(limit_interviews_per_day=2)
    h = guest(client)
    first = start(client, h, "mini").json()["id"]
    clock.advance(minutes=1)
    assert start(client, h, "mini2").status_code == 201
    clock.advance(minutes=1)
    assert start(client, h, "mini").status_code == 409  # a running one is named first, and costs nothing
    client.post(f"/api/v1/interviews/{first}/abandon", headers=h)  # abandoned interviews count too
    assert_limited_json(start(client, h, "mini"), 24 * 3600 - 120)
    assert start(client, guest(client), "mini").status_code == 201  # another account's day
    assert count(app, Interview) == 3
    # A day after the first start it leaves the window: one more; the next waits for the second start.
    clock.advance(hours=24, seconds=-119)
    assert start(client, h, "mini").status_code == 201
    assert_limited_json(start(client, h, "mini2"), 59)
    assert count(app, Interview) == 4


def test_the_page_start_past_the_daily_cap_is_the_429_page(make_app):
    app, clock, client = make_app(limit_interviews_per_day=1)
    web = at(app, "10.0.0.1")
    loc = page_start(web).headers["location"]
    page = web.get(loc)
    abandoned = web.post(f"{loc}/abandon", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert abandoned.status_code == 303
    assert_limited_page(page_start(web), 86400)


def test_the_page_start_goes_to_the_running_interview_and_the_page_abandons_it(make_app):
    app, clock, client = make_app()
    web = at(app, "10.0.0.1")
    loc = page_start(web).headers["location"]
    again = page_start(web)  # not a second: the page that offers the running one (or to abandon it)
    assert again.status_code == 409 and f'id="resume" href="{loc}"' in again.text
    assert count(app, Interview) == 1
    page = web.get(loc)
    assert f'action="{loc}/abandon"' in page.text  # a POST form with the CSRF token
    assert web.post(f"{loc}/abandon").status_code == 403
    assert web.post(f"{loc}/abandon", data={"csrf_token": "forged"}).status_code == 403
    r = web.post(f"{loc}/abandon", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{loc}/report"
    report = web.get(f"{loc}/report")
    assert report.status_code == 200 and 'id="abandoned"' in report.text
    interview = web.get(loc, follow_redirects=False)  # no longer runs: to the page that says what became of it
    assert interview.status_code == 303 and interview.headers["location"] == f"{loc}/report"
    history = web.get("/history").text
    assert "已放弃" in history and f"{loc}/report" in history
    assert count(app, Attempt) == 0
    new = page_start(web).headers["location"]
    assert new != loc and count(app, Interview, Interview.state == "active") == 1


def test_concurrent_starts_of_one_round_on_two_workers_create_one_interview(db_url):
    content = load_content(VALID)
    limits = Limits.from_settings(make_settings())
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        with request_session(engines[0]) as db, write_transaction(db):
            user = accounts.create_guest(db, limits, "10.9.9.9", T0)
        barrier = threading.Barrier(8)

        def one(i: int) -> str:
            with request_session(engines[i % 2]) as db:
                barrier.wait()
                try:
                    with write_transaction(db):
                        service.start_interview(db=db, content=content, user=user, round_id="mini", now=T0,
                                                limits=limits, address="10.9.9.9")
                        time.sleep(0.02)
                    return "started"
                except service.InterviewRunning:
                    return "running"

        results = _threads(8, one)
        with Session(engines[0]) as db:
            stored = db.execute(select(func.count()).select_from(Interview)).scalar_one()
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(results) == ["running"] * 7 + ["started"] and stored == 1


# --- logins ---------------------------------------------------------------------------------------------------


def test_wrong_passwords_back_off_exponentially_per_account_and_address(make_app):
    app, clock, attacker = make_app(limit_login_free_failures=3, limit_login_backoff_seconds=1,
                                    limit_login_backoff_max_seconds=8)
    owner = at(app, "10.0.0.2")
    assert owner.post("/api/v1/auth/register", json={"username": "victim", "password": PASSWORD}).status_code == 201
    for _ in range(3):
        assert login(attacker, "victim", "guess-guess").status_code == 401
    waits = []
    for _ in range(6):
        r = login(attacker, "victim", "guess-guess")
        assert r.status_code == 429
        assert login(attacker, "victim").status_code == 429  # the right password too, from this address
        waits.append(int(r.headers["retry-after"]))
        clock.advance(seconds=waits[-1])
        assert login(attacker, "victim", "guess-guess").status_code == 401
    assert waits == [1, 2, 4, 8, 8, 8]  # doubling, up to the longest wait
    # The owner, from their own address, is not locked out, and their own typos count on their own.
    assert login(owner, "victim").status_code == 200
    assert login(owner, "victim", "typo-typo").status_code == 401
    assert login(owner, "victim").status_code == 200
    # The web login form answers the same: the 429 page for the attacker, a session for the owner.
    web = at(app, "10.0.0.1")
    form = web.get("/login")
    assert_limited_page(web.post("/login", data={"username": "victim", "password": PASSWORD,
                                                 "csrf_token": csrf_of(form.text)}), 8)
    # A correct password after the wait ends this address's back-off for the account.
    clock.advance(seconds=8)
    assert login(attacker, "victim").status_code == 200
    assert [login(attacker, "victim", "guess-guess").status_code for _ in range(4)] == [401, 401, 401, 429]


def test_failed_logins_per_address_are_limited_whatever_the_account(make_app):
    app, clock, sprayer = make_app(limit_login_failures_per_address_per_hour=4, limit_login_free_failures=100)
    for name in ("amy", "ben"):
        assert at(app, "10.0.0.9").post("/api/v1/auth/register",
                                        json={"username": name, "password": PASSWORD}).status_code == 201
    for name in ("amy", "ben", "cid", "dot"):
        assert login(sprayer, name, "Winter2026!").status_code == 401
    r = login(sprayer, "eve", "Winter2026!")
    assert r.status_code == 429 and r.headers["retry-after"] == "3600"
    assert login(sprayer, "amy").status_code == 429  # nothing from this address is tried for an hour
    # Another address is not affected, and correct logins use up nothing of an address's budget.
    other = at(app, "10.0.0.3")
    assert [login(other, "amy").status_code for _ in range(6)] == [200] * 6
    assert [login(other, "ben", "nope-nope").status_code for _ in range(5)] == [401] * 4 + [429]
    clock.advance(hours=1)
    assert login(sprayer, "amy").status_code == 200


def test_successful_logins_per_address_are_limited_as_each_stores_a_session(make_app):
    app, clock, client = make_app(limit_logins_per_address_per_hour=3)
    owner = at(app, "10.0.0.2")
    assert owner.post("/api/v1/auth/register", json={"username": "amy", "password": PASSWORD}).status_code == 201
    sessions = count(app, AuthSession)
    assert [login(client, "amy").status_code for _ in range(2)] == [200, 200]
    clock.advance(minutes=15)
    web = at(app, "10.0.0.1")
    form = web.get("/login")
    assert web.post("/login", data={"username": "amy", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
                    follow_redirects=False).status_code == 303
    assert count(app, AuthSession) == sessions + 3
    # The fourth in the hour from this address: 429 (API and page), no session; failures are not counted.
    assert_limited_json(login(client, "amy"), 45 * 60)
    form = web.get("/login")
    assert_limited_page(web.post("/login", data={"username": "amy", "password": PASSWORD,
                                                 "csrf_token": csrf_of(form.text)}), 45 * 60)
    assert count(app, AuthSession) == sessions + 3
    assert login(client, "amy", "wrong-wrong").status_code == 429  # refused before argon2, not a failure
    assert login(owner, "amy").status_code == 200  # another address
    clock.advance(minutes=45)
    assert login(client, "amy").status_code == 200


def test_concurrent_guesses_on_two_workers_get_only_the_free_failures(db_url):
    """12 guesses of one account from one address at once: each is recorded before its password is checked,
    so exactly the free failures are tried (argon2) and the rest wait."""
    limits = Limits.from_settings(make_settings(limit_login_free_failures=3))
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        with request_session(engines[0]) as db, write_transaction(db):
            accounts.register(db, limits, "10.0.0.9", "target", hash_password(PASSWORD), T0)
        barrier = threading.Barrier(12)

        def one(i: int) -> int:
            with request_session(engines[i % 2]) as db:
                barrier.wait()
                try:
                    accounts.authenticate(db, limits, "target", f"guess-{i}", "10.6.6.6", T0)
                except AppError as exc:
                    return exc.status_code
                return 200

        results = _threads(12, one)
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(results) == [401] * 3 + [429] * 9


# --- logout ---------------------------------------------------------------------------------------------------


def test_api_logout_with_the_session_cookie_ends_that_session(make_app):
    app, clock, _ = make_app()
    browser = at(app, "10.0.0.1")
    assert page_guest(browser).status_code == 303
    cookie = browser.cookies.get("mj_session")
    csrf = csrf_of(browser.get("/").text)  # the session's token
    assert browser.get("/api/v1/interviews").status_code == 200  # the cookie authenticates API calls
    assert browser.post("/api/v1/auth/logout").status_code == 403  # a cookie call needs the page's token
    r = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert any(c.startswith("mj_session=") and "Max-Age=0" in c for c in r.headers.get_list("set-cookie"))
    assert count(app, AuthSession) == 0
    replay = at(app, "10.0.0.1")
    replay.cookies.set("mj_session", cookie)
    assert replay.get("/api/v1/interviews").status_code == 401
    assert replay.get("/dashboard").status_code == 200 and "/logout" not in replay.get("/dashboard").text


def test_logout_ends_every_session_the_request_carries(make_app):
    app, clock, api = make_app()
    browser = at(app, "10.0.0.1")
    page_guest(browser)
    token = api.post("/api/v1/auth/guest").json()["access_token"]
    assert count(app, AuthSession) == 2
    # A bearer call needs no CSRF token; the cookie that came along is ended with it.
    assert browser.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert count(app, AuthSession) == 0
    # The page's logout with a bearer token and a cookie alike.
    browser = at(app, "10.0.0.1")
    page_guest(browser)
    csrf = csrf_of(browser.get("/").text)
    token = api.post("/api/v1/auth/guest").json()["access_token"]
    r = browser.post("/logout", data={"csrf_token": csrf}, headers=bearer(token), follow_redirects=False)
    assert r.status_code == 303 and count(app, AuthSession) == 0


# --- write quotas: answer-carrying writes per minute, answer text per hour (app/write_quotas.py) --------------


def save(client: TestClient, headers: dict[str, str], iid: str, position: int, answer: Any):
    return client.put(f"/api/v1/interviews/{iid}/answers/{position}", json={"answer": answer}, headers=headers)


def check(client: TestClient, headers: dict[str, str], answer: Any, question: str = "s-open"):
    return client.post(f"/api/v1/questions/{question}/check", json={"answer": answer}, headers=headers)


def stored_answer(app: FastAPI, iid: str, position: int) -> Any:
    with Session(app.state.engine) as db:
        row = db.exec(select(InterviewAnswer).where(InterviewAnswer.interview_id == iid,
                                                    InterviewAnswer.position == position)).first()
        return (row[0].answer, row[0].self_rating) if row else None


def test_answer_writes_past_the_per_minute_quota_are_429_and_store_nothing(make_app):
    app, clock, client = make_app(limit_writes_per_minute=4)
    h = guest(client)
    iid = start(client, h).json()["id"]
    clock.advance(seconds=15)  # 12:00:15: this minute's window ends in 45 s
    # Autosaves, self-ratings (of an interview answer and of a review) and signed-in checks are all writes.
    assert save(client, h, iid, 0, "第一版").status_code == 200
    assert save(client, h, iid, 0, "第二版").status_code == 200
    assert client.put(f"/api/v1/interviews/{iid}/ratings/0", json={"rating": "good"}, headers=h).status_code == 200
    assert check(client, h, "按通道求均值方差").status_code == 200
    attempts, cards = count(app, Attempt), count(app, ReviewCard, ReviewCard.last_rating == "again")
    # The fifth in the minute, by each route: 429 with the wait to the minute's end, and nothing is stored.
    for r in (save(client, h, iid, 0, "第三版"), check(client, h, "缩放和平移"),
              client.put(f"/api/v1/interviews/{iid}/ratings/0", json={"rating": "easy"}, headers=h),
              client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "easy"}, headers=h)):
        assert_limited_json(r, 45)
        assert "每分钟最多 4 次" in r.json()["detail"]
    assert stored_answer(app, iid, 0) == ("第二版", "good")
    assert count(app, Attempt) == attempts and count(app, ReviewCard, ReviewCard.last_rating == "again") == cards
    # An anonymous check stores nothing and is not counted; another account has its own minute.
    assert client.post("/api/v1/questions/s-open/check", json={"answer": "均值"}).status_code == 200
    other = guest(client)
    assert save(client, other, start(client, other).json()["id"], 0, "别人的").status_code == 200
    # The next minute opens a new window.
    clock.advance(seconds=45)
    assert save(client, h, iid, 0, "第三版").status_code == 200
    assert stored_answer(app, iid, 0) == ("第三版", "good")


def test_the_page_autosave_is_the_api_autosave_and_gets_the_same_429(make_app):
    """The interview page saves through PUT /api/v1/interviews/{id}/answers/{position} with its session cookie
    and X-CSRF-Token (static/app.js): the same route, the same quota."""
    app, clock, _ = make_app(limit_writes_per_minute=1)
    web = at(app, "10.0.0.1")
    loc = page_start(web).headers["location"]
    csrf = csrf_of(web.get(loc).text)
    iid = loc.rsplit("/", 1)[1]
    headers = {"X-CSRF-Token": csrf}
    assert save(web, headers, iid, 0, "网页保存").status_code == 200
    assert_limited_json(save(web, headers, iid, 0, "太快了"), 60)
    assert stored_answer(app, iid, 0) == ("网页保存", None)


def test_answer_text_per_hour_counts_what_autosaves_add_and_what_checks_store(make_app):
    app, clock, client = make_app(max_answer_chars=100, limit_answer_chars_per_hour=1000)
    h = guest(client)
    clock.advance(minutes=20)  # 12:20: this hour's window ends in 40 minutes
    iid = start(client, h).json()["id"]
    text = "均" * 100  # 102 characters as JSON
    # An autosave is charged what it adds to the stored answer: growing it, yes; saving it again or
    # shortening it, nothing. 102 + 0 + 0 + 52 = 154.
    for answer in (text, text, text[:50], text):
        assert save(client, h, iid, 0, answer).status_code == 200
    # A check stores its whole answer every time: 154 + 8 × 102 = 970.
    for _ in range(8):
        assert check(client, h, text).status_code == 200
    attempts = count(app, Attempt)
    r = check(client, h, text)  # 1072 > 1000
    assert_limited_json(r, 40 * 60)
    assert "1000 字" in r.json()["detail"]
    assert count(app, Attempt) == attempts
    # 30 characters fit (970 + 32), and then an autosave that adds to the answer at another position does not.
    assert check(client, h, "均" * 28, question="s-open").status_code == 200
    assert_limited_json(save(client, h, iid, 1, "均"), 40 * 60)
    assert stored_answer(app, iid, 1) is None
    # What adds nothing is still taken (a candidate may shorten an answer, or save it again).
    assert save(client, h, iid, 0, text[:10]).status_code == 200
    assert stored_answer(app, iid, 0) == (text[:10], None)
    # Another account's hour is its own; the next clock hour is a new window.
    other = guest(client)
    assert check(client, other, text).status_code == 200
    clock.advance(minutes=40)
    assert check(client, h, text).status_code == 200


def test_an_answer_larger_than_an_hour_of_quota_is_422_not_a_wait(make_app):
    """An answer with little text but much structure (a list of empty strings) is charged its JSON size; one
    that no window could hold is refused for what it is, not with a Retry-After that would never end."""
    app, clock, client = make_app(max_answer_chars=100, limit_answer_chars_per_hour=1000)
    h = guest(client)
    iid = start(client, h).json()["id"]
    r = save(client, h, iid, 0, [""] * 400)  # 1,201 characters as JSON, none of them text
    assert r.status_code == 422 and "1201" in r.json()["detail"] and "retry-after" not in r.headers
    assert stored_answer(app, iid, 0) is None


def test_the_address_quotas_span_accounts(make_app):
    app, clock, client = make_app(max_answer_chars=100, limit_answer_chars_per_address_per_hour=700,
                                  limit_writes_per_address_per_minute=8)
    text = "均" * 100  # 102
    guests = [guest(client) for _ in range(3)]
    # 102 × 6 = 612 from three accounts at one address; a seventh of any of them is past 700.
    for h in guests:
        assert check(client, h, text).status_code == 200
        assert check(client, h, text).status_code == 200
    attempts = count(app, Attempt)
    assert_limited_json(check(client, guests[0], text), 3600)
    r = check(client, guest(client), text)  # a new account at the same address
    assert_limited_json(r, 3600)
    assert "这个地址" in r.json()["detail"] and count(app, Attempt) == attempts
    # Another address is not bothered, even by the same account.
    elsewhere = at(app, "10.0.0.2")
    assert check(elsewhere, guests[0], text).status_code == 200
    # Writes per address per minute: six made at 10.0.0.1 this minute (the refused checks are not among
    # them); two more fit, from any account, with text or without, and then none.
    assert check(client, guests[1], "A", question="s-single").status_code == 200
    assert client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "good"},
                       headers=guests[2]).status_code == 200
    assert_limited_json(check(client, guests[2], "B", question="s-single"), 60)
    assert check(elsewhere, guests[2], "B", question="s-single").status_code == 200


def test_concurrent_writes_in_one_worker_never_pass_a_quota_together(db_url):
    """16 checks' worth of writes at once in one worker (its ledger; two engines, so that the database
    does not serialise them for it), each admitted before any has committed and held between its admission
    and its commit: exactly what the quota holds gets through, for one account's writes per minute and
    for one address's text across accounts."""
    settings = make_settings(limit_writes_per_minute=5, max_answer_chars=100,
                             limit_answer_chars_per_address_per_hour=1000)
    quotas, limits = WriteQuotas.from_settings(settings), Limits.from_settings(settings)
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        with request_session(engines[0]) as db, write_transaction(db):
            users = [accounts.create_guest(db, limits, "10.9.9.9", T0).id for _ in range(17)]
        barrier = threading.Barrier(16)

        def one(i: int, user_id: int, chars: int) -> int:
            with request_session(engines[i % 2]) as db:
                charges = quotas.charges(user_id, "10.9.9.9", chars)
                barrier.wait()
                try:
                    with quotas.charged_write(db, T0, charges):
                        record_attempt(db, user_id=user_id, question_id="s-open", qtype="open", score=0.5,
                                       correct=False, now=T0, answer="均" * 98)
                        time.sleep(0.02)  # a slow request between its admission and its commit
                    return 200
                except RateLimited:
                    return 429

        same_account = _threads(16, lambda i: one(i, users[0], 0))  # one account, 16 writes, 5 a minute
        # 16 accounts at one address, 200 characters each, 1000 an hour for the address.
        across_accounts = _threads(16, lambda i: one(i, users[1 + i], 200))
        with Session(engines[0]) as db:
            stored = [db.execute(select(func.count()).select_from(Attempt).where(Attempt.user_id == users[0]))
                      .scalar_one(),
                      db.execute(select(func.count()).select_from(Attempt).where(Attempt.user_id != users[0]))
                      .scalar_one()]
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(same_account) == [200] * 5 + [429] * 11
    assert sorted(across_accounts) == [200] * 5 + [429] * 11
    assert stored == [5, 5]


def test_a_failed_write_gives_its_charges_back(make_app):
    app, clock, client = make_app(limit_writes_per_minute=2)
    quotas: WriteQuotas = app.state.write_quotas
    with request_session(app.state.engine) as db:
        for _ in range(3):
            with pytest.raises(AppError), quotas.charged_write(db, T0, quotas.charges(1, "10.1.1.1")):
                raise AppError("the write failed", status_code=409)
        for _ in range(2):
            with quotas.charged_write(db, T0, quotas.charges(1, "10.1.1.1")):
                pass
        with pytest.raises(RateLimited), quotas.charged_write(db, T0, quotas.charges(1, "10.1.1.1")):
            pass


def test_workers_share_their_counts_through_the_database(db_url):
    """Two workers (two ledgers, two engines): each counts the other's writes once they have synced, so that
    together they stay within the quota; unsynced, a key can pass it by what the other admitted meanwhile,
    and never by more (the bound docs/security.md states). The table keeps one row per key and window."""
    settings = make_settings(limit_writes_per_minute=5)
    limits = Limits.from_settings(settings)
    workers = [(WriteQuotas.from_settings(settings), make_engine(db_url)) for _ in range(2)]
    (a, engine_a), (b, engine_b) = workers
    try:
        with request_session(engine_a) as db, write_transaction(db):
            user = accounts.create_guest(db, limits, "10.9.9.8", T0).id

        def write(worker: tuple[WriteQuotas, Any]) -> int:
            quotas, engine = worker
            with request_session(engine) as db:
                try:
                    with quotas.charged_write(db, T0, quotas.charges(user, "10.9.9.8")):
                        pass
                    return 200
                except RateLimited:
                    return 429

        assert [write(workers[0]) for _ in range(3)] == [200] * 3
        a.ledger.sync(engine_a, T0.timestamp())
        # b reads the key at its first use: 3 used, 2 left.
        assert [write(workers[1]) for _ in range(3)] == [200, 200, 429]
        b.ledger.sync(engine_b, T0.timestamp())
        a.ledger.sync(engine_a, T0.timestamp())  # a follows the key: it learns b's two
        assert write(workers[0]) == 429
        with Session(engine_a) as db:
            rows = db.execute(select(QuotaCounter.key, QuotaCounter.used)).all()
        assert sorted(used for _key, used in rows) == [5, 5]  # the account's and the address's minute
        # The next minute, unsynced: each worker admits what it sees room for, 5 + 5 at most.
        later = T0 + timedelta(minutes=1)
        results = []
        for worker in (workers[0], workers[1]) * 6:
            quotas, engine = worker
            with request_session(engine) as db:
                try:
                    with quotas.charged_write(db, later, quotas.charges(user, "10.9.9.8")):
                        pass
                    results.append(200)
                except RateLimited:
                    results.append(429)
        assert results.count(200) == 10
        # Synced, both know the 10, and the table holds the sums of both.
        a.ledger.sync(engine_a, later.timestamp())
        b.ledger.sync(engine_b, later.timestamp())
        with Session(engine_a) as db:
            assert db.execute(select(func.max(QuotaCounter.used))).scalar_one() == 10
    finally:
        for _quotas, engine in workers:
            engine.dispose()


# --- interviews per address ---------------------------------------------------------------------------------


def test_interviews_started_per_address_per_hour_span_accounts(make_app):
    app, clock, client = make_app(limit_interviews_per_address_per_hour=3)
    first, second = guest(client), guest(client)
    assert start(client, first).status_code == 201
    assert start(client, first, "mini2").status_code == 201
    clock.advance(minutes=10)
    assert start(client, second).status_code == 201
    clock.advance(minutes=10)
    r = start(client, second, "mini2")
    assert_limited_json(r, 40 * 60)
    assert "这个地址" in r.json()["detail"]
    assert_limited_page(page_start(at(app, "10.0.0.1")), 40 * 60)  # the page's 开始, as a new guest too
    assert count(app, Interview) == 3
    assert start(at(app, "10.0.0.2"), second, "mini2").status_code == 201  # another address
