"""Mock interviews over the API with an injected clock, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import guest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import T0, make_settings


@pytest.fixture
def env(clocked_env):
    client, clock, content_dir = clocked_env
    return client, clock, content_dir


def start(client, headers) -> dict:
    r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_start_freezes_questions_with_followups_and_server_deadline(env):
    client, clock, _ = env
    h = guest(client)
    state = start(client, h)
    assert state["deadline"] == (T0 + timedelta(minutes=10)).isoformat()
    assert state["remaining_seconds"] == 600
    ids = [q["question"]["id"] for q in state["questions"]]
    # s-open first (fixed), then a single from the sample bank; s-single is followed by its 追问 s-numeric
    assert ids[0] == "s-open"
    if "s-single" in ids:
        assert ids[ids.index("s-single") + 1] == "s-numeric"
    for item in state["questions"]:
        assert "answer" not in item["question"] and "keypoints" not in item["question"]
    clock.advance(minutes=3)
    again = client.get(f"/api/v1/interviews/{state['id']}", headers=h).json()
    assert again["remaining_seconds"] == 420
    assert [q["question"]["id"] for q in again["questions"]] == ids


def test_answers_are_idempotent_and_last_one_counts(env):
    client, clock, _ = env
    h = guest(client)
    state = start(client, h)
    url = f"/api/v1/interviews/{state['id']}/answers/0"
    for _ in range(3):
        r = client.put(url, json={"answer": "每个通道的均值"}, headers=h)
        assert r.status_code == 200
    client.put(url, json={"answer": "每个通道求均值方差，gamma beta 缩放平移"}, headers=h)
    got = client.get(f"/api/v1/interviews/{state['id']}", headers=h).json()
    assert got["questions"][0]["answer"] == "每个通道求均值方差，gamma beta 缩放平移"
    r = client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h)
    assert r.json()["state"] == "finished"
    report = client.get(f"/api/v1/interviews/{state['id']}/report", headers=h).json()
    first = report["questions"][0]
    assert first["score"] == 1.0 and all(k["hit"] for k in first["keypoints"])


def test_deadline_refuses_late_answers_and_closes_automatically(env):
    client, clock, _ = env
    h = guest(client)
    state = start(client, h)
    url = f"/api/v1/interviews/{state['id']}/answers/0"
    clock.advance(minutes=10, seconds=20)  # past the deadline but inside the grace
    assert client.put(url, json={"answer": "均值"}, headers=h).status_code == 200
    clock.advance(seconds=11)
    r = client.put(url, json={"answer": "更晚的答案"}, headers=h)
    assert r.status_code == 409 and "时间已到" in r.json()["detail"]
    got = client.get(f"/api/v1/interviews/{state['id']}", headers=h).json()
    assert got["state"] == "finished" and got["questions"][0]["answer"] == "均值"
    assert client.get(f"/api/v1/interviews/{state['id']}/report", headers=h).status_code == 200


def test_unfinished_interview_closes_on_read_after_deadline(env):
    client, clock, _ = env
    h = guest(client)
    start(client, h)
    clock.advance(hours=2)
    history = client.get("/api/v1/interviews", headers=h).json()["items"]
    assert history[0]["state"] == "finished" and history[0]["score"] == 0.0


def test_resume_after_server_restart(env, db_url):
    client, clock, content_dir = env
    h = guest(client)
    state = start(client, h)
    client.put(f"/api/v1/interviews/{state['id']}/answers/1", json={"answer": "B"}, headers=h)
    client.post(f"/api/v1/interviews/{state['id']}/position", json={"position": 1}, headers=h)
    app2 = create_app(make_settings(database_url=db_url, content_dir=content_dir))
    app2.state.clock = clock
    with TestClient(app2) as client2:
        got = client2.get(f"/api/v1/interviews/{state['id']}", headers=h).json()
    assert got["current_position"] == 1 and got["questions"][1]["answer"] == "B"


def test_frozen_questions_survive_a_content_change(env):
    client, clock, content_dir = env
    h = guest(client)
    state = start(client, h)
    bank = content_dir / "banks" / "sample.md"
    bank.write_text(bank.read_text(encoding="utf-8").replace("BN 是怎么计算的？", "已修改的题干"), encoding="utf-8")
    client.app.state.store.reload_from(content_dir)
    got = client.get(f"/api/v1/interviews/{state['id']}", headers=h).json()
    assert "BN 是怎么计算的" in got["questions"][0]["question"]["prompt"]
    assert got["content_version"] == state["content_version"] != client.app.state.store.current.version


def test_another_users_interview_is_404(env):
    client, clock, _ = env
    alice, bob = guest(client), guest(client)
    state = start(client, alice)
    iid = state["id"]
    for method, url, body in [
        ("get", f"/api/v1/interviews/{iid}", None),
        ("put", f"/api/v1/interviews/{iid}/answers/0", {"answer": "x"}),
        ("post", f"/api/v1/interviews/{iid}/finish", None),
        ("get", f"/api/v1/interviews/{iid}/report", None),
        ("post", f"/api/v1/interviews/{iid}/position", {"position": 1}),
    ]:
        r = client.request(method, url, json=body, headers=bob)
        assert r.status_code == 404, (method, url, r.status_code)
    assert client.get("/api/v1/interviews", headers=bob).json() == {"items": [], "next": None}
    assert client.get(f"/api/v1/interviews/{iid}").status_code == 401


def test_register_login_logout_and_rate_limit(env):
    client, clock, _ = env
    r = client.post("/api/v1/auth/register", json={"username": "alice", "password": "correct horse"})
    assert r.status_code == 201
    assert client.post("/api/v1/auth/register", json={"username": "alice", "password": "x" * 9}).status_code == 409
    assert client.post("/api/v1/auth/register", json={"username": "al", "password": "short"}).status_code == 422
    tok = client.post("/api/v1/auth/token", json={"username": "alice", "password": "correct horse"}).json()
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    assert client.get("/api/v1/interviews", headers=h).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert client.get("/api/v1/interviews", headers=h).status_code == 401
    codes = [client.post("/api/v1/auth/token", json={"username": "alice", "password": "wrong!!"}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]


def test_guest_can_keep_account(env):
    client, clock, _ = env
    h = guest(client)
    iid = start(client, h)["id"]
    r = client.post("/api/v1/auth/keep", json={"username": "keeper", "password": "long enough"}, headers=h)
    assert r.status_code == 200 and r.json()["is_guest"] is False
    tok = client.post("/api/v1/auth/token", json={"username": "keeper", "password": "long enough"}).json()
    assert client.get(f"/api/v1/interviews/{iid}", headers={"Authorization": f"Bearer {tok['access_token']}"}
                      ).status_code == 200


def test_bad_input_is_4xx(env):
    client, clock, _ = env
    h = guest(client)
    assert client.post("/api/v1/interviews", json={"round": "nope"}, headers=h).status_code == 404
    assert client.post("/api/v1/interviews", json={}, headers=h).status_code == 422
    iid = start(client, h)["id"]
    assert client.put(f"/api/v1/interviews/{iid}/answers/99", json={"answer": 1}, headers=h).status_code == 404
    assert client.put(f"/api/v1/interviews/{iid}/ratings/0", json={"rating": "meh"}, headers=h).status_code == 422
    assert client.get(f"/api/v1/interviews/{iid}/report", headers=h).status_code == 409


def test_share_link_is_read_only_unguessable_and_revocable(env):
    client, clock, _ = env
    alice, bob = guest(client), guest(client)
    iid = start(client, alice)["id"]
    assert client.post(f"/api/v1/interviews/{iid}/share", headers=alice).status_code == 409  # not finished
    client.post(f"/api/v1/interviews/{iid}/finish", headers=alice)
    assert client.post(f"/api/v1/interviews/{iid}/share", headers=bob).status_code == 404
    link = client.post(f"/api/v1/interviews/{iid}/share", headers=alice).json()
    assert len(link["token"]) >= 32 and link["url"] == f"/shared/{link['token']}"
    assert client.post(f"/api/v1/interviews/{iid}/share", headers=alice).json() == link  # stable until revoked
    page = TestClient(client.app).get(link["url"])  # a stranger without any session
    assert page.status_code == 200 and "只读" in page.text and 'data-rate="again"' not in page.text
    assert client.delete(f"/api/v1/interviews/{iid}/share", headers=bob).status_code == 404
    assert client.delete(f"/api/v1/interviews/{iid}/share", headers=alice).status_code == 204
    assert TestClient(client.app).get(link["url"]).status_code == 404


# --- a request that read the interview before another one changed it -----------------------------------


@pytest.fixture
def pg_app(tmp_path):
    """PostgreSQL only, on purpose: on SQLite a write transaction holds the whole database from its first
    statement, so the interleavings below cannot happen there."""
    from tests.conftest import Clock, migrated_database

    with migrated_database("postgres", tmp_path) as url:
        app = create_app(make_settings(database_url=url))
        app.state.clock = Clock()
        with TestClient(app) as client:
            yield client, app
        app.state.engine.dispose()


def _read_then(app, interview_id: str, other):
    """Session A reads the interview (no lock); session B does `other` and commits; A goes on."""
    from sqlmodel import Session

    from app.models import Interview, User

    a = Session(app.state.engine)
    seen = a.get(Interview, interview_id)
    assert seen is not None and seen.state == "active"
    with Session(app.state.engine) as b:
        other(b, b.get(User, seen.user_id))
        b.commit()
    return a, seen, a.get(User, seen.user_id)


def test_a_stale_read_never_closes_an_interview_twice(pg_app):
    from sqlalchemy import func, select

    from app.interviews import service
    from app.models import Attempt

    client, app = pg_app
    h = guest(client)
    state = start(client, h)
    for item in state["questions"]:  # every item answered, so each one is recorded as an attempt
        r = client.put(f"/api/v1/interviews/{state['id']}/answers/{item['position']}", json={"answer": "B"}, headers=h)
        assert r.status_code == 200, r.text
    app.state.clock.advance(minutes=11)  # past the deadline and its grace
    now = app.state.clock()
    a, seen, user = _read_then(app, state["id"], lambda b, u: service.finish_owned(
        db=b, user=u, interview_id=state["id"], now=now))
    with a:
        assert service.close_if_expired(a, seen, now) is False  # B closed it: A sees that under its lock
        a.commit()
        attempts = a.scalar(select(func.count()).select_from(Attempt).where(Attempt.interview_id == state["id"]))
        assert attempts == len(state["questions"])


def test_a_locked_read_sees_what_another_request_committed(pg_app):
    from app.interviews import service

    client, app = pg_app
    state = start(client, guest(client))
    now = app.state.clock()
    a, _, user = _read_then(app, state["id"], lambda b, u: service.move_to(
        db=b, user=u, interview_id=state["id"], position=2, now=now))
    with a:
        assert service.get_owned(a, user, state["id"], lock=True).current_position == 2


def test_an_autosave_beside_a_finish_is_counted_or_refused(pg_app):
    """A saves an answer (not committed yet) while B finishes the interview: B must wait for A, so the
    acknowledged answer is in the score; it must never be acknowledged and left out."""
    import threading

    from sqlmodel import Session, select

    from app.interviews import service
    from app.models import Interview, InterviewAnswer, User

    client, app = pg_app
    h = guest(client)
    state = start(client, h)
    assert state["questions"][0]["question"]["id"] == "s-open"
    new = "训练时用小批量的均值和方差做标准化，推理时用滑动平均"
    score_new = client.post("/api/v1/questions/s-open/check", json={"answer": new}).json()["score"]
    assert score_new > 0
    # An earlier answer is stored, so A's save updates that row (no new row, no foreign-key check).
    assert client.put(f"/api/v1/interviews/{state['id']}/answers/0", json={"answer": "不知道"},
                      headers=h).status_code == 200
    now = app.state.clock()
    engine = app.state.engine
    with Session(engine) as a:
        user = a.get(User, a.get(Interview, state["id"]).user_id)
        service.save_answer(db=a, user=user, interview_id=state["id"], position=0, answer=new, now=now)

        def finish_in_b() -> None:
            with Session(engine) as b:
                service.finish_owned(db=b, user=b.get(User, user.id), interview_id=state["id"], now=now)
                b.commit()

        b_thread = threading.Thread(target=finish_in_b)
        b_thread.start()
        b_thread.join(timeout=1.0)  # with the lock B waits for A; without it, B is done by now
        a.commit()  # the save is acknowledged here
    b_thread.join(timeout=10)
    assert not b_thread.is_alive()
    with Session(engine) as check:
        row = check.exec(select(InterviewAnswer).where(InterviewAnswer.interview_id == state["id"],
                                                       InterviewAnswer.position == 0)).one()
        assert row.answer == new and row.score == score_new  # the acknowledged answer is the one scored


def test_late_saves_side_by_side_are_refused_without_a_deadlock(pg_app):
    """Two saves after the deadline, each holding the interview for share: each must let go before taking
    it for update to close it, or the two would deadlock (PostgreSQL aborts one with a 500)."""
    import threading

    from sqlmodel import Session, select

    from app.errors import AppError
    from app.interviews import service
    from app.models import Interview, User

    client, app = pg_app
    state = start(client, guest(client))
    app.state.clock.advance(minutes=11)
    now = app.state.clock()
    engine = app.state.engine
    outcomes: dict[str, object] = {}

    def save(name: str, db: Session, user: User) -> None:
        try:
            service.save_answer(db=db, user=user, interview_id=state["id"], position=0, answer=name, now=now)
            outcomes[name] = "saved"
        except Exception as exc:  # noqa: BLE001 - the test reports whatever came out
            outcomes[name] = exc
        db.rollback()

    with Session(engine) as b, Session(engine) as a:
        held = b.exec(select(Interview).where(Interview.id == state["id"]).with_for_update(read=True)).one()
        user_a, user_b = a.get(User, held.user_id), b.get(User, held.user_id)
        a_thread = threading.Thread(target=save, args=("a", a, user_a))
        a_thread.start()
        a_thread.join(timeout=1.0)  # A now waits to take the interview for update
        save("b", b, user_b)
        a_thread.join(timeout=10)
    for name in ("a", "b"):
        exc = outcomes[name]
        assert isinstance(exc, AppError) and exc.status_code == 409, (name, exc)
    with Session(engine) as check:
        assert check.get(Interview, state["id"]).state == "finished"
