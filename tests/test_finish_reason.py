"""POST /api/v1/interviews/{id}/finish says why: "manual" (the default) or "time_up", which the server takes
only from its own deadline on; before it, a 409 with the seconds its clock has left, and nothing finished.
Time moves only through the injected clock. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from api_helpers import guest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import Attempt
from tests.conftest import make_settings
from tests.fake_llm import fake_model
from tests.graded_bank import graded_content
from tests.test_model_grader import MODEL


@pytest.fixture
def env(clocked_env):
    client, clock, _ = clocked_env
    return client, clock


def start(client: TestClient, h: dict[str, str], round_id: str = "mini") -> str:
    r = client.post("/api/v1/interviews", json={"round": round_id}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def finish(client: TestClient, h: dict[str, str], iid: str, **body):
    return client.post(f"/api/v1/interviews/{iid}/finish", headers=h, **({"json": body} if body else {}))


def state(client: TestClient, h: dict[str, str], iid: str) -> str:
    return client.get(f"/api/v1/interviews/{iid}", headers=h).json()["state"]


def attempts(client: TestClient) -> int:
    with Session(client.app.state.engine) as db:
        return len(db.exec(select(Attempt)).all())


def test_time_up_before_the_deadline_is_refused_with_the_seconds_left(env):
    client, clock = env
    h = guest(client)
    iid = start(client, h)  # the mini round: ten minutes
    assert client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "按通道求均值"}, headers=h).is_success
    r = finish(client, h, iid, reason="time_up")
    assert r.status_code == 409
    assert r.json() == {"detail": "按服务器的时钟还剩 600 秒：时间还没有到，面试没有结束。", "seconds_left": 600}
    assert state(client, h, iid) == "active" and attempts(client) == 0  # nothing finished, nothing recorded
    clock.advance(minutes=9, seconds=59, milliseconds=500)
    r = finish(client, h, iid, reason="time_up")
    assert r.status_code == 409 and r.json()["seconds_left"] == 1  # whole seconds, rounded up
    # The answer saved before the refusals is still taken, and the interview still runs.
    assert client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "按通道求均值和方差"},
                      headers=h).is_success
    clock.advance(milliseconds=500)  # the deadline itself
    r = finish(client, h, iid, reason="time_up")
    assert r.status_code == 200 and r.json()["state"] == "finished"
    assert finish(client, h, iid, reason="time_up").status_code == 200  # finished already: the same answer


def test_time_up_within_the_grace_after_the_deadline_is_taken(env):
    client, clock = env
    h = guest(client)
    iid = start(client, h)
    clock.advance(minutes=10, seconds=20)
    assert finish(client, h, iid, reason="time_up").json()["state"] == "finished"


def test_a_manual_finish_needs_no_deadline_and_no_body(env):
    client, _ = env
    h = guest(client)
    assert finish(client, h, start(client, h)).json()["state"] == "finished"  # no body: manual, as before
    client.post(f"/api/v1/interviews/{start(client, h)}/abandon", headers=h)  # the round may start again
    assert finish(client, h, start(client, h), reason="manual").json()["state"] == "finished"
    r = finish(client, h, start(client, h), reason="later")
    assert r.status_code == 422


def test_time_up_on_an_abandoned_interview_is_the_abandoned_409(env):
    client, _ = env
    h = guest(client)
    iid = start(client, h)
    assert client.post(f"/api/v1/interviews/{iid}/abandon", headers=h).status_code == 200
    r = finish(client, h, iid, reason="time_up")
    assert r.status_code == 409 and r.json()["state"] == "abandoned" and "seconds_left" not in r.json()


def test_the_openapi_documents_the_reason_and_the_409(env):
    client, _ = env
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/interviews/{interview_id}/finish"]["post"]
    conflict = op["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"detail", "state", "seconds_left"} <= set(doc["components"]["schemas"][conflict]["properties"])
    reason = doc["components"]["schemas"]["FinishRequest"]["properties"]["reason"]
    assert reason["enum"] == ["manual", "time_up"] and reason["default"] == "manual"


def test_an_early_time_up_is_refused_before_the_model_grades_anything(db_url, tmp_path):
    with fake_model() as fake:
        app = create_app(make_settings(database_url=db_url, content_dir=graded_content(tmp_path / "content"),
                                       grader_url=fake.url, grader_model=MODEL, grader_timeout_s=10))
        with TestClient(app) as client:
            h = guest(client)
            iid = start(client, h, "opens")
            assert client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "输出全为正"},
                              headers=h).is_success
            assert finish(client, h, iid, reason="time_up").status_code == 409
            assert fake.asked == []  # no answer sent to the grading service for a finish that is refused
            assert state(client, h, iid) == "active"
