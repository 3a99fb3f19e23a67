"""Storage: guest accounts nobody kept expire after MIANJING_GUEST_TTL_DAYS without a request, removed by
`mianjing db prune` with everything they left, in small batches while the service goes on serving."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlmodel import col

from app.auth.sessions import token_hash
from app.main import create_app
from app.models import Attempt, AuthSession, Interview, InterviewAnswer, ReviewCard, User
from tests.conftest import REPO, VALID, make_settings


def last_seen(url: str, user_id: int) -> datetime:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            value = conn.execute(select(User.last_seen_at).where(User.id == user_id)).scalar_one()
    finally:
        engine.dispose()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def user_id(url: str, headers: dict[str, str]) -> int:
    token = headers["Authorization"].split()[1]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(AuthSession.user_id)
                                .where(AuthSession.token_hash == token_hash(token))).scalar_one()
    finally:
        engine.dispose()


def test_activity_is_recorded_at_most_once_an_hour(clocked_env, db_url):
    client, clock, _ = clocked_env
    r = client.post("/api/v1/auth/guest")
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    uid = user_id(db_url, headers)
    assert last_seen(db_url, uid) == clock.now  # the sign-in itself
    signed_in = clock.now
    clock.advance(minutes=59)
    assert client.get("/api/v1/interviews", headers=headers).status_code == 200
    assert last_seen(db_url, uid) == signed_in  # within the hour: nothing written
    clock.advance(minutes=2)
    assert client.get("/api/v1/interviews", headers=headers).status_code == 200
    assert last_seen(db_url, uid) == clock.now
    clock.advance(minutes=30)
    assert client.get("/api/v1/interviews", headers=headers).status_code == 200
    assert last_seen(db_url, uid) == signed_in + timedelta(minutes=61)


@dataclass
class Account:
    headers: dict[str, str]
    user_id: int
    interview_id: str


def guest_with_data(client: TestClient, url: str) -> Account:
    """A guest with a finished interview (answers, attempts, review cards) and a practice attempt."""
    r = client.post("/api/v1/auth/guest")
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    interview = client.post("/api/v1/interviews", json={"round": "mini"}, headers=headers).json()
    iid = interview["id"]
    assert client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "均值方差"}, headers=headers).status_code == 200
    assert client.post(f"/api/v1/interviews/{iid}/finish", json={"reason": "manual"}, headers=headers).status_code == 200
    assert client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=headers).status_code == 200
    return Account(headers, user_id(url, headers), iid)


def keep(client: TestClient, account: Account, username: str) -> Account:
    r = client.post("/api/v1/auth/keep", json={"username": username, "password": "long password"},
                    headers=account.headers)
    assert r.status_code == 200, r.text
    return Account({"Authorization": f"Bearer {r.json()['access_token']}"}, account.user_id, account.interview_id)


def counts(url: str, user_ids: list[int]) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            def n(stmt) -> int:
                return conn.execute(stmt).scalar_one()

            interviews = select(Interview.id).where(col(Interview.user_id).in_(user_ids))
            return {
                "accounts": n(select(func.count()).select_from(User).where(col(User.id).in_(user_ids))),
                "sessions": n(select(func.count()).select_from(AuthSession).where(col(AuthSession.user_id).in_(user_ids))),
                "interviews": n(select(func.count()).select_from(Interview).where(col(Interview.user_id).in_(user_ids))),
                "answers": n(select(func.count()).select_from(InterviewAnswer)
                             .where(col(InterviewAnswer.interview_id).in_(interviews))),
                "attempts": n(select(func.count()).select_from(Attempt).where(col(Attempt.user_id).in_(user_ids))),
                "review_cards": n(select(func.count()).select_from(ReviewCard).where(col(ReviewCard.user_id).in_(user_ids))),
            }
    finally:
        engine.dispose()


def age(url: str, user_ids: list[int], days: int) -> None:
    """Make these accounts last seen `days` ago (what a month without requests leaves behind)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(User.__table__.update().where(User.__table__.c.id.in_(user_ids))
                         .values(last_seen_at=datetime.now(UTC) - timedelta(days=days)))
    finally:
        engine.dispose()


def prune(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(VALID),
           "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "test-secret", "MIANJING_GUEST_TTL_DAYS": "30"}
    return subprocess.run([sys.executable, "-m", "app.cli", "db", "prune", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_prune_removes_idle_guests_with_their_data_while_others_are_served(db_url):
    with TestClient(create_app(make_settings(database_url=db_url))) as client:
        idle = [guest_with_data(client, db_url) for _ in range(12)]
        fresh = guest_with_data(client, db_url)  # a guest seen today
        kept = guest_with_data(client, db_url)  # an idle guest that was kept: an account now, never pruned
        kept = keep(client, kept, "kept-one")
        active = guest_with_data(client, db_url)
        active = keep(client, active, "busy")
        idle_ids = [a.user_id for a in idle]
        before = counts(db_url, idle_ids)
        assert all(before[k] > 0 for k in before), before
        others = [fresh.user_id, kept.user_id, active.user_id]
        others_before = counts(db_url, others)
        age(db_url, [*idle_ids, kept.user_id], days=31)
        age(db_url, [fresh.user_id], days=29)

        dry = prune(db_url, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would remove 12 guest account(s)" in dry.stdout
        assert counts(db_url, idle_ids) == before

        # The kept account goes on working while prune runs, in batches of 5 (three write transactions).
        stop = threading.Event()
        statuses: list[tuple[str, int]] = []

        def keep_working() -> None:
            r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=active.headers)
            statuses.append(("start", r.status_code))
            iid = r.json()["id"]
            i = 0
            while not stop.is_set():
                i += 1
                for what, method, path, body in [
                    ("save", "PUT", f"/api/v1/interviews/{iid}/answers/0", {"answer": f"第 {i} 稿"}),
                    ("read", "GET", f"/api/v1/interviews/{iid}", None),
                    ("check", "POST", "/api/v1/questions/s-single/check", {"answer": "B"}),
                ]:
                    statuses.append((what, client.request(method, path, json=body, headers=active.headers).status_code))

        worker = threading.Thread(target=keep_working)
        worker.start()
        try:
            done = prune(db_url, "--batch-size", "5")
        finally:
            stop.set()
            worker.join(60)
        assert done.returncode == 0, done.stderr
        print(f"\n{len(statuses)} requests of another account while prune ran: {done.stdout.strip()}")
        assert len(statuses) > 3 and all(200 <= s < 300 for _, s in statuses), sorted(set(statuses))

        after = counts(db_url, idle_ids)
        assert after == dict.fromkeys(before, 0), after
        match = re.search(r"removed (\d+) guest account\(s\), (\d+) session\(s\), (\d+) interview\(s\), "
                          r"(\d+) interview answer\(s\), (\d+) attempt\(s\), (\d+) review card\(s\) in (\d+) batch",
                          done.stdout)
        assert match, done.stdout
        assert [int(g) for g in match.groups()] == [before[k] for k in
                                                     ("accounts", "sessions", "interviews", "answers", "attempts",
                                                      "review_cards")] + [3]
        # Nothing of anyone else went: the fresh guest, the kept account (idle too), the busy one.
        now_others = counts(db_url, others)
        assert {k: now_others[k] >= others_before[k] for k in now_others} == dict.fromkeys(now_others, True)
        assert client.get(f"/api/v1/interviews/{fresh.interview_id}", headers=fresh.headers).status_code == 200
        assert client.get(f"/api/v1/interviews/{kept.interview_id}", headers=kept.headers).status_code == 200
        # A pruned guest's token is gone with it.
        assert client.get("/api/v1/interviews", headers=idle[0].headers).status_code == 401

        again = prune(db_url)
        assert again.returncode == 0 and "removed 0 guest account(s)" in again.stdout


def test_prune_refuses_a_database_behind_the_code(empty_db_url):
    done = prune(empty_db_url)  # a cron job never migrates: that is the service's (or `db upgrade`'s) job
    assert done.returncode == 1 and "mianjing db upgrade" in done.stderr
