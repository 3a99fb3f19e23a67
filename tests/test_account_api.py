"""My account over the API (issue 15): change the password, the archive of everything, deleting the account,
and an admin's one-time reset link; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from api_helpers import bearer, guest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from app.auth.sessions import token_hash
from app.db import request_session, write_transaction
from app.main import create_app
from app.models import (
    Attempt,
    AuthSession,
    Interview,
    InterviewAnswer,
    PasswordResetToken,
    ProblemReport,
    QuestionMark,
    ReviewCard,
    SchedulerFit,
    User,
)
from app.practice.export import archive_chunks
from tests.conftest import REPO, VALID, Clock, make_settings

ADMIN = "admin-secret-token"
PASSWORD = "s3cret-pass"


@pytest.fixture
def env(db_url) -> Iterator[tuple[TestClient, Clock]]:
    """An app on each database kind with the admin API on and a test clock."""
    app = create_app(make_settings(database_url=db_url, content_dir=VALID, admin_token=ADMIN))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        yield client, clock


def register(client: TestClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/register", json={"username": name, "password": password})
    assert r.status_code == 201, r.text
    return bearer(r.json()["access_token"])


def login(client: TestClient, name: str, password: str) -> int:
    return client.post("/api/v1/auth/token", json={"username": name, "password": password}).status_code


def user_id(client: TestClient, headers: dict[str, str]) -> int:
    with request_session(client.app.state.engine) as db:
        return db.exec(select(AuthSession.user_id).where(
            AuthSession.token_hash == token_hash(headers["Authorization"].split()[1]))).one()[0]


def add_work(client: TestClient, h: dict[str, str]) -> str:
    """Two practice answers, a bookmark and a note, a finished interview with an answer and a fitted scheduler:
    rows in every per-user table."""
    for qid, answer in (("s-single", "B"), ("s-numeric", "64")):
        assert client.post(f"/api/v1/questions/{qid}/check", json={"answer": answer}, headers=h).status_code == 200
    assert client.put("/api/v1/me/bookmarks/s-single", headers=h).status_code == 200
    assert client.put("/api/v1/me/notes/s-numeric", json={"note": "γ 和 β"}, headers=h).status_code == 200
    assert client.post("/api/v1/questions/s-numeric/reports", json={"kind": "typo", "comment": "β 写错了"},
                       headers=h).status_code == 201
    state = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    assert client.put(f"/api/v1/interviews/{state['id']}/answers/0", json={"answer": "每个通道求均值方差"},
                      headers=h).status_code == 200
    assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
    # A fitted scheduler needs 1,000 reviews and a fit process: its row is written as the fit would write it.
    uid = client.get("/api/v1/me/archive", headers=h).json()["account"]["id"]  # h: a bearer or a cookie's CSRF
    with request_session(client.app.state.engine) as db, write_transaction(db):
        db.add(SchedulerFit(user_id=uid, state="idle", parameters=[0.5] * 21, reviews_at_fit=1000))
    return state["id"]


def rows_of(client: TestClient, uid: int) -> dict[str, int]:
    """How many rows of each per-user table belong to the account."""
    mine = select(Interview.id).where(Interview.user_id == uid)
    counts = {
        "user": select(func.count()).select_from(User).where(User.id == uid),
        "authsession": select(func.count()).select_from(AuthSession).where(AuthSession.user_id == uid),
        "interview": select(func.count()).select_from(Interview).where(Interview.user_id == uid),
        "interviewanswer": select(func.count()).select_from(InterviewAnswer)
        .where(col(InterviewAnswer.interview_id).in_(mine)),
        "attempt": select(func.count()).select_from(Attempt).where(Attempt.user_id == uid),
        "reviewcard": select(func.count()).select_from(ReviewCard).where(ReviewCard.user_id == uid),
        "questionmark": select(func.count()).select_from(QuestionMark).where(QuestionMark.user_id == uid),
        "schedulerfit": select(func.count()).select_from(SchedulerFit).where(SchedulerFit.user_id == uid),
        "problemreport": select(func.count()).select_from(ProblemReport).where(ProblemReport.user_id == uid),
        "passwordresettoken": select(func.count()).select_from(PasswordResetToken)
        .where(PasswordResetToken.user_id == uid),
    }
    with request_session(client.app.state.engine) as db:
        return {name: db.exec(stmt).one()[0] for name, stmt in counts.items()}


# --- changing the password -----------------------------------------------------------------------------------


def test_the_password_changes_with_the_current_one_and_other_sessions_end(env):
    client, _ = env
    here = register(client, "alice")
    elsewhere = bearer(client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
                       .json()["access_token"])
    bob = register(client, "bob")
    url = "/api/v1/me/password"

    wrong = client.post(url, json={"current_password": "not-my-pass", "new_password": "brand-new-pass"}, headers=here)
    assert wrong.status_code == 403 and wrong.json()["detail"] == "当前密码不对。"
    short = client.post(url, json={"current_password": PASSWORD, "new_password": "short"}, headers=here)
    assert short.status_code == 422 and "new_password" in short.json()["detail"]
    assert client.post(url, json={"current_password": PASSWORD}, headers=here).status_code == 422
    assert client.post(url, json={"current_password": PASSWORD, "new_password": "brand-new-pass"}).status_code == 401
    assert login(client, "alice", PASSWORD) == 200  # nothing changed so far

    r = client.post(url, json={"current_password": PASSWORD, "new_password": "brand-new-pass"}, headers=here)
    assert r.status_code == 200 and r.json() == {"sessions_ended": 2}  # `elsewhere` and the login just above
    assert client.get("/api/v1/me/settings", headers=here).status_code == 200  # this session stays
    assert client.get("/api/v1/me/settings", headers=elsewhere).status_code == 401
    assert client.get("/api/v1/me/settings", headers=bob).status_code == 200  # nobody else's
    assert login(client, "alice", PASSWORD) == 401
    assert login(client, "alice", "brand-new-pass") == 200
    assert login(client, "bob", PASSWORD) == 200


def test_a_guest_has_no_password_to_change(env):
    client, _ = env
    r = client.post("/api/v1/me/password", json={"current_password": "whatever-1", "new_password": "brand-new-pass"},
                    headers=guest(client))
    assert r.status_code == 409 and "/api/v1/auth/keep" not in r.json()["detail"] and "注册" in r.json()["detail"]


def test_guessing_the_current_password_backs_off_as_logins_do(env):
    client, clock = env
    h = register(client, "alice")
    body = {"current_password": "guess-0000", "new_password": "brand-new-pass"}
    for _ in range(5):  # the free failures (MIANJING_LIMIT_LOGIN_FREE_FAILURES in the tests: 5)
        assert client.post("/api/v1/me/password", json=body, headers=h).status_code == 403
    refused = client.post("/api/v1/me/password", json=body, headers=h)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    # The same back-off as a login of the account from this address: the guesses share it.
    assert login(client, "alice", PASSWORD) == 429
    right = {"current_password": PASSWORD, "new_password": "brand-new-pass"}
    assert client.post("/api/v1/me/password", json=right, headers=h).status_code == 429
    assert client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=h).status_code == 429
    clock.advance(seconds=1)
    assert client.post("/api/v1/me/password", json=right, headers=h).status_code == 200
    assert login(client, "alice", "brand-new-pass") == 200  # a right password ended the back-off


# --- the archive -------------------------------------------------------------------------------------------


def test_the_archive_holds_everything_of_mine_and_nothing_of_anyone_else(env):
    client, _ = env
    h = register(client, "alice")
    client.patch("/api/v1/me/settings", json={"timezone": "Asia/Shanghai", "desired_retention": 0.85}, headers=h)
    interview_id = add_work(client, h)
    other = register(client, "bob")
    add_work(client, other)

    r = client.get("/api/v1/me/archive", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == 'attachment; filename="mianjing-archive-20261123.json"'
    data = r.json()
    assert data["format"] == "mianjing-archive/1"
    assert data["account"]["username"] == "alice" and data["account"]["settings"] == {
        "desired_retention": 0.85, "timezone": "Asia/Shanghai", "leech_lapses": 8}
    assert "password_hash" not in r.text and "token" not in r.text  # no secrets
    [interview] = data["interviews"]
    assert interview["id"] == interview_id and interview["state"] == "finished"
    first = interview["answers"][0]
    assert first["position"] == 0 and first["question_id"] == "s-open" and first["answer"] == "每个通道求均值方差"
    assert first["score"] is not None and first["result"] is not None
    assert {a["question_id"] for a in data["attempts"]} >= {"s-single", "s-numeric"}
    assert all(a["interview_id"] in (None, interview_id) for a in data["attempts"])
    uid = user_id(client, h)
    counts = rows_of(client, uid)
    assert len(data["attempts"]) == counts["attempt"] and len(data["review_cards"]) == counts["reviewcard"]
    assert len(interview["answers"]) == counts["interviewanswer"]
    assert {c["question_id"] for c in data["review_cards"]} >= {"s-single", "s-numeric"}
    assert len(data["marks"]) == counts["questionmark"]
    assert {(m["question_id"], m["starred"], m["note"]) for m in data["marks"]} == {
        ("s-single", True, None), ("s-numeric", False, "γ 和 β")}

    # Read a row at a time, the archive is the same document.
    engine = client.app.state.engine
    small = b"".join(archive_chunks(lambda: request_session(engine), client.app.state.store.current, uid,
                                    client.app.state.clock(), batch=1, interview_batch=1))
    assert orjson.loads(small) == data
    assert client.get("/api/v1/me/archive").status_code == 401


def test_an_empty_account_archives_as_empty_lists(env):
    client, _ = env
    data = client.get("/api/v1/me/archive", headers=guest(client)).json()
    assert data["account"]["is_guest"] is True
    assert (data["interviews"], data["attempts"], data["review_cards"], data["marks"]) == ([], [], [], [])


# --- deleting the account ------------------------------------------------------------------------------


def test_deleting_the_account_removes_every_row_of_it_and_no_other(env):
    client, _ = env
    h = register(client, "alice")
    add_work(client, h)
    assert client.post("/api/v1/admin/users/alice/reset-link", headers=bearer(ADMIN)).status_code == 201
    other = register(client, "bob")
    add_work(client, other)
    uid, other_id = user_id(client, h), user_id(client, other)
    before, other_before = rows_of(client, uid), rows_of(client, other_id)
    assert all(before.values()), before  # something in every table, so that the test can fail
    assert all(n for table, n in other_before.items() if table != "passwordresettoken"), other_before

    unconfirmed = client.request("DELETE", "/api/v1/me", json={}, headers=h)
    assert unconfirmed.status_code == 403 and unconfirmed.json()["detail"] == "删除账号需要输入密码。"
    wrong = client.request("DELETE", "/api/v1/me", json={"password": "not-my-pass"}, headers=h)
    assert wrong.status_code == 403 and wrong.json()["detail"] == "当前密码不对。"
    assert rows_of(client, uid) == before

    r = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"interviews": before["interview"], "answers": before["interviewanswer"],
                        "attempts": before["attempt"], "review_cards": before["reviewcard"],
                        "marks": before["questionmark"],
                        "sessions": before["authsession"]}
    assert set(rows_of(client, uid).values()) == {0}
    assert rows_of(client, other_id) == other_before
    assert client.get("/api/v1/me/settings", headers=h).status_code == 401
    assert login(client, "alice", PASSWORD) == 401
    assert client.get("/api/v1/me/archive", headers=other).json()["account"]["username"] == "bob"


def test_every_table_that_holds_an_account_s_rows_is_counted(env):
    """A new per-user table must join the deletion, the archive and rows_of above: this fails until it does."""
    client, _ = env
    of_users = {t.name for t in SQLModel.metadata.tables.values()
                if any(fk.column.table.name == "user" for fk in t.foreign_keys)}
    assert of_users | {"user", "interviewanswer"} == set(rows_of(client, 0))


def test_a_guest_deletes_its_account_with_an_explicit_confirmation(env):
    client, _ = env
    h = guest(client)
    add_work(client, h)
    uid = user_id(client, h)
    r = client.request("DELETE", "/api/v1/me", json={"confirm": False}, headers=h)
    assert r.status_code == 403 and "confirm" in r.json()["detail"]
    assert client.request("DELETE", "/api/v1/me", json={"confirm": "maybe"}, headers=h).status_code == 422
    assert client.request("DELETE", "/api/v1/me", json={"confirm": True}, headers=h).status_code == 200
    assert set(rows_of(client, uid).values()) == {0}


# --- reset links ------------------------------------------------------------------------------------------


def test_an_admin_reset_link_sets_a_password_once_and_ends_every_session(env):
    client, clock = env
    h = register(client, "alice")
    url = "/api/v1/admin/users/alice/reset-link"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=h).status_code == 401  # a user's token is no admin token
    assert client.post("/api/v1/admin/users/nobody/reset-link", headers=bearer(ADMIN)).status_code == 404
    assert client.post("/api/v1/admin/users/" + "x" * 65 + "/reset-link", headers=bearer(ADMIN)).status_code == 422

    old = client.post(url, headers=bearer(ADMIN)).json()
    r = client.post(url, headers=bearer(ADMIN))
    assert r.status_code == 201
    link = r.json()
    assert link["expires_at"] == (clock.now + timedelta(minutes=60)).isoformat()
    path = link["url"].removeprefix("http://testserver")
    assert path.startswith("/account/reset/") and len(path) > len("/account/reset/") + 40
    with request_session(client.app.state.engine) as db:  # stored hashed only
        stored = db.exec(select(PasswordResetToken.token_hash)).all()
    assert [row[0] for row in stored] == [token_hash(path.rsplit("/", 1)[1])]
    assert client.get(old["url"].removeprefix("http://testserver")).status_code == 400  # replaced

    page = client.get(path)
    assert page.status_code == 200 and "alice" in page.text and page.headers["referrer-policy"] == "no-referrer"
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    short = client.post(path, data={"csrf_token": csrf, "new_password": "short"})
    assert short.status_code == 422 and "8-256" in short.text
    assert client.post(path, data={"new_password": "reset-password"}).status_code == 403  # no CSRF token
    done = client.post(path, data={"csrf_token": csrf, "new_password": "reset-password"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert client.get("/api/v1/me/settings", headers=h).status_code == 401  # every session ended
    assert login(client, "alice", PASSWORD) == 401 and login(client, "alice", "reset-password") == 200
    again = client.post(path, data={"csrf_token": csrf, "new_password": "another-pass"})
    assert again.status_code == 400 and login(client, "alice", "another-pass") == 401  # used up


def test_a_reset_link_expires(env):
    client, clock = env
    register(client, "alice")
    path = client.post("/api/v1/admin/users/alice/reset-link", headers=bearer(ADMIN)).json()["url"] \
        .removeprefix("http://testserver")
    clock.advance(minutes=60)
    assert client.get(path).status_code == 400
    assert client.get("/account/reset/" + "x" * 65).status_code == 422
    assert client.get("/account/reset/not-a-token").status_code == 400


def test_the_command_line_prints_a_reset_link(env, db_url):
    client, _ = env
    h = register(client, "alice")

    def reset_link(name: str) -> subprocess.CompletedProcess:
        environ = {**os.environ, "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": db_url, "MIANJING_ENV": "test",
                   "MIANJING_CONTENT_DIR": str(VALID), "MIANJING_SECRET_KEY": "test-secret"}
        return subprocess.run([sys.executable, "-m", "app.cli", "user", "reset-link", name,
                               "--base-url", "http://testserver/"], cwd=REPO, env=environ, capture_output=True,
                              text=True, timeout=120)

    missing = reset_link("nobody")
    assert missing.returncode == 1 and "no account named 'nobody'" in missing.stderr
    done = reset_link("alice")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("http://testserver/account/reset/") and "valid once" in done.stderr
    path = done.stdout.strip().removeprefix("http://testserver")
    # The service's clock is the test's (T0, in the past), the command's the real one: read the link by the
    # command's time.
    client.app.state.clock = lambda: datetime.now(UTC)
    page = client.get(path)
    assert page.status_code == 200 and "alice" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(path, data={"csrf_token": csrf, "new_password": "from-the-cli"}, follow_redirects=False)
    assert r.status_code == 303 and login(client, "alice", "from-the-cli") == 200
    assert client.get("/api/v1/me/settings", headers=h).status_code == 401
