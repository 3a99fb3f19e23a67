"""Everywhere an open answer is graded, with a model grader configured against a real local server
(tests/fake_llm.py): practice checks, interview finishes and closes (SQLite and PostgreSQL), the pages and
/readyz that tell candidates, and `mianjing grade-open`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from api_helpers import guest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.main import create_app
from app.scoring.open_grader import grade_open
from tests.conftest import REPO, Clock, make_settings
from tests.fake_llm import Asked, FakeModel, Reply, fake_model, verdicts
from tests.graded_bank import ITEMS, graded_content
from tests.test_model_grader import MODEL, PARAPHRASE, PARAPHRASE_VERDICTS

GRADER = f"model:{MODEL}"


@pytest.fixture
def model_env(db_url, tmp_path) -> Iterator[tuple[TestClient, FakeModel, Clock]]:
    """An app on each database kind over the graded bank, its open answers graded by the fake model (a
    finish budget of one second)."""
    with fake_model() as fake:
        app = create_app(make_settings(
            database_url=db_url, content_dir=graded_content(tmp_path / "content"), grader_url=fake.url,
            grader_model=MODEL, grader_timeout_s=10, grader_finish_budget_s=1.0))
        clock = Clock()
        app.state.clock = clock
        with TestClient(app) as client:
            yield client, fake, clock


def all_missing(asked: Asked) -> str:
    return verdicts({p["label"]: ("missing", None) for p in asked.rubric["key_points"]})


def start_opens(client: TestClient, h: dict[str, str], answers: dict[str, str]) -> str:
    """Start the round of the four open items and save `answers` (by question id)."""
    r = client.post("/api/v1/interviews", json={"round": "opens"}, headers=h)
    assert r.status_code == 201, r.text
    state = r.json()
    assert [q["question"]["id"] for q in state["questions"]] == list(ITEMS)
    for q in state["questions"]:
        if q["question"]["id"] in answers:
            r = client.put(f"/api/v1/interviews/{state['id']}/answers/{q['position']}",
                           json={"answer": answers[q["question"]["id"]]}, headers=h)
            assert r.status_code == 200, r.text
    return state["id"]


def report(client: TestClient, h: dict[str, str], interview_id: str) -> dict[str, dict]:
    r = client.get(f"/api/v1/interviews/{interview_id}/report", headers=h)
    assert r.status_code == 200, r.text
    return {q["id"]: q for q in r.json()["questions"]}


def fallback(q: dict) -> str | None:
    return next((c["reason"] for c in q["codes"] if c["code"] == "grader_fallback"), None)


# --- practice ---------------------------------------------------------------------------------------------


def test_practice_checks_are_graded_by_the_model_and_recorded(model_env) -> None:
    client, fake, _ = model_env
    fake.replies(lambda asked: Reply(content=verdicts(PARAPHRASE_VERDICTS)))
    anonymous = client.post("/api/v1/questions/m-sigmoid/check", json={"answer": PARAPHRASE}).json()
    assert anonymous["score"] == 1.0 and anonymous["details"]["grader"] == GRADER
    assert [k["how"] for k in anonymous["details"]["keypoints"]] == ["model"] * 3
    h = guest(client)
    signed_in = client.post("/api/v1/questions/m-sigmoid/check", json={"answer": PARAPHRASE}, headers=h).json()
    assert signed_in["details"]["grader"] == GRADER and signed_in["review"]["attempt_id"]
    attempts = client.get("/api/v1/me/attempts", headers=h).json()["items"]
    assert [(a["question_id"], a["score"]) for a in attempts] == [("m-sigmoid", 1.0)]
    assert len(fake.asked) == 2
    # The server fails: the check still answers, with the built-in grade and why.
    fake.replies(lambda asked: Reply(status=500, body=b'{"error": "out of memory"}'))
    r = client.post("/api/v1/questions/m-sigmoid/check", json={"answer": PARAPHRASE}, headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["details"]["grader"] == "builtin" and body["score"] == grade_open(
        client.app.state.store.current.by_id["m-sigmoid"], PARAPHRASE).score
    assert {"code": "grader_fallback", "reason": "http_status"} in body["codes"]


def test_the_pages_and_readyz_say_that_open_answers_are_sent(model_env) -> None:
    client, _, _ = model_env
    assert client.get("/readyz").json()["grader"] == {"name": GRADER, "model": MODEL, "sends_open_answers": True}
    zh = "开放题的答案会发送到本站配置的评分服务（模型 fake-qwen）评分。"
    en = "Your answers to open questions are sent to the grading service this site is configured with (model fake-qwen)"
    assert zh in client.get("/practice").text
    assert zh in client.get("/").text  # where interviews start
    assert en in client.get("/practice?lang=en").text and en in client.get("/").text


def test_without_a_grading_service_nothing_is_sent_or_said(db_client) -> None:
    assert db_client.get("/readyz").json()["grader"] == {"name": "builtin", "model": None,
                                                         "sends_open_answers": False}
    for page in ("/", "/practice", "/?lang=en"):
        assert "grader-notice" not in db_client.get(page).text
    body = db_client.post("/api/v1/questions/s-open/check", json={"answer": "对每个通道求均值和方差"}).json()
    assert body["details"]["grader"] == "builtin"
    assert not [c for c in body["codes"] if c["code"] == "grader_fallback"]


# --- interviews -------------------------------------------------------------------------------------------


def test_a_finish_grades_its_open_items_at_once_within_the_budget_and_outside_its_write(model_env) -> None:
    """Two items' grading outlasts the budget (1 s): they get the built-in grade, the other two the model's.
    Meanwhile nothing is locked: the candidate's own save to the interview goes through at once (and, saved
    after its grading, that answer is graded again inside the write, by the built-in grader)."""
    client, fake, _ = model_env
    slow = {ITEMS["m-sigmoid"][0], ITEMS["m-dropout"][0]}  # the first two items: asked first, answer last
    fake.replies(lambda asked: Reply(content=all_missing(asked), delay=30 if asked.rubric["question"] in slow else 0))
    h = guest(client)
    answers = {qid: reference for qid, (_, reference, _) in ITEMS.items()}
    iid = start_opens(client, h, answers)
    outcome: dict[str, object] = {}

    def finish() -> None:
        t0 = time.monotonic()
        outcome["response"] = client.post(f"/api/v1/interviews/{iid}/finish", headers=h)
        outcome["seconds"] = time.monotonic() - t0

    thread = threading.Thread(target=finish)
    thread.start()
    deadline = time.monotonic() + 5
    while len(fake.asked) < 4:  # all four asked at once, the slow ones still out
        assert time.monotonic() < deadline, "the finish did not ask for every open item"
        time.sleep(0.01)
    if client.app.state.engine.dialect.name == "postgresql":  # no transaction held open meanwhile
        with client.app.state.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND state LIKE 'idle in transaction%'")) == 0
    t0 = time.monotonic()
    later = "损失里加权重的平方和，惩罚大权重"
    r = client.put(f"/api/v1/interviews/{iid}/answers/3", json={"answer": later}, headers=h)
    assert r.status_code == 200 and time.monotonic() - t0 < 0.5  # no lock held while the model grades
    thread.join(10)
    response = outcome["response"]
    assert response.status_code == 200 and response.json()["state"] == "finished", response.text
    assert 1.0 <= outcome["seconds"] < 3.0
    got = report(client, h, iid)
    content = client.app.state.store.current
    for qid in ("m-sigmoid", "m-dropout"):
        assert got[qid]["grader"] == "builtin" and fallback(got[qid]) == "budget"
        assert got[qid]["score"] == grade_open(content.by_id[qid], answers[qid]).score == 1.0
    assert got["m-resnet"]["grader"] == GRADER and got["m-resnet"]["score"] == 0.0
    assert fallback(got["m-resnet"]) is None
    assert got["m-l2"]["answer"] == later and fallback(got["m-l2"]) == "inside_write"
    assert got["m-l2"]["score"] == grade_open(content.by_id["m-l2"], later).score
    attempts = client.get("/api/v1/me/attempts", headers=h).json()["items"]
    assert sorted((a["question_id"], a["score"]) for a in attempts) == sorted(
        (qid, got[qid]["score"]) for qid in ITEMS)


def test_an_interview_closed_by_the_clock_is_graded_by_the_model_unless_a_write_closes_it(model_env) -> None:
    client, fake, clock = model_env
    fake.replies(lambda asked: Reply(content=all_missing(asked)))
    answers = {"m-resnet": ITEMS["m-resnet"][1]}
    h = guest(client)
    # Read after its time: closed by the read, graded by the model before the write.
    iid = start_opens(client, h, answers)
    clock.advance(minutes=11)
    assert client.get(f"/api/v1/interviews/{iid}", headers=h).json()["state"] == "finished"
    assert report(client, h, iid)["m-resnet"]["grader"] == GRADER
    # Found expired by the next start of its round: closed before the start's write, graded by the model.
    iid = start_opens(client, h, answers)
    clock.advance(minutes=11)
    again = start_opens(client, h, {})
    assert report(client, h, iid)["m-resnet"]["grader"] == GRADER
    # Found expired by a move (a write): graded inside it, by the built-in grader, and it says so.
    client.post(f"/api/v1/interviews/{again}/abandon", headers=h)
    iid = start_opens(client, h, answers)
    clock.advance(minutes=11)
    r = client.post(f"/api/v1/interviews/{iid}/position", json={"position": 1}, headers=h)
    assert r.json()["state"] == "finished"
    late = report(client, h, iid)["m-resnet"]
    assert late["grader"] == "builtin" and fallback(late) == "inside_write" and late["score"] == 1.0
    assert len(fake.asked) == 2


def test_the_web_finish_grades_with_the_model(model_env) -> None:
    import re

    client, fake, _ = model_env
    fake.replies(lambda asked: Reply(content=all_missing(asked)))
    home = client.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    r = client.post("/start", data={"round": "opens", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    iid = r.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/interviews/{iid}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.put(f"/api/v1/interviews/{iid}/answers/2", json={"answer": ITEMS["m-resnet"][1]},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    r = client.post(f"/interviews/{iid}/finish", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    got = {q["id"]: q for q in client.get(f"/api/v1/interviews/{iid}/report",
                                          headers={"X-CSRF-Token": token}).json()["questions"]}
    assert got["m-resnet"]["grader"] == GRADER and got["m-resnet"]["score"] == 0.0
    assert len(fake.asked) == 1


# --- the batch interface ----------------------------------------------------------------------------------


def test_grade_open_uses_the_model_grader_when_one_is_configured(tmp_path) -> None:
    root = graded_content(tmp_path / "content")
    answers = tmp_path / "answers.jsonl"
    bad = "输出恒正，梯度同号"
    answers.write_text("\n".join(json.dumps({"id": "m-sigmoid", "answer": a}, ensure_ascii=False)
                                 for a in (PARAPHRASE, bad)) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANJING_")}
    with fake_model() as fake:
        fake.replies(lambda asked: Reply(content=verdicts(PARAPHRASE_VERDICTS)) if asked.answer == PARAPHRASE
                     else Reply(content="[]"))
        env.update(MIANJING_GRADER_URL=fake.url, MIANJING_GRADER_MODEL=MODEL, MIANJING_GRADER_TIMEOUT_S="10")
        run = subprocess.run([sys.executable, "-m", "app.cli", "grade-open", str(answers), "--content", str(root)],
                             capture_output=True, text=True, cwd=REPO, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert first["grader"] == GRADER and first["score"] == 1.0
    assert second["grader"] == "builtin" and {"code": "grader_fallback", "reason": "invalid_output"} in second["codes"]
    assert "model grader failed (invalid_output)" in run.stderr
    assert [a.answer for a in fake.asked] == [PARAPHRASE, bad]
