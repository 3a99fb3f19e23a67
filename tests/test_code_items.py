"""Code items over the API, on SQLite and PostgreSQL, with the real judge process and real sandboxes: a
check needs an account, waits for the verdict, records it like any answer; example runs record nothing; the
public view never carries the reference or the tests; limits and a missing sandbox answer clearly."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from api_helpers import guest
from fastapi.testclient import TestClient

from app.judge import client as judge_client
from app.main import create_app
from app.runtime.grader import BUILTIN, WithJudge
from tests.conftest import REPO, make_settings

WRONG_NMS = """import numpy as np

def nms(boxes, scores, iou_thr):
    print("debug", len(scores))
    return [int(i) for i in np.argsort(-scores)]
"""


@pytest.fixture
def db_client(db_url) -> Iterator[TestClient]:
    """The bundled banks (their code items) on each database kind."""
    with TestClient(create_app(make_settings(database_url=db_url, content_dir=REPO / "content"))) as c:
        yield c


def reference(client: TestClient, qid: str) -> str:
    return client.app.state.store.current.by_id[qid].code.reference


def test_a_correct_submission_is_accepted_and_recorded(db_client) -> None:
    headers = guest(db_client)
    r = db_client.post("/api/v1/questions/code-nms/check", json={"answer": reference(db_client, "code-nms")},
                       headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    verdict = body["details"]["judge"]
    assert body["score"] == 1.0 and body["correct"] and verdict["status"] == "accepted"
    assert verdict["passed"] == verdict["total"] >= 19
    assert {c["kind"] for c in verdict["cases"]} == {"example", "hidden", "random"}
    assert body["expected"] is None and body["review"]["rating"] == "good"
    attempts = db_client.get("/api/v1/me/attempts", headers=headers).json()["items"]
    assert attempts[0]["question_id"] == "code-nms" and attempts[0]["score"] == 1.0


def test_a_wrong_submission_shows_the_failing_example_and_hides_the_rest(db_client) -> None:
    headers = guest(db_client)
    r = db_client.post("/api/v1/questions/code-nms/check", json={"answer": WRONG_NMS}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    verdict = body["details"]["judge"]
    assert verdict["status"] == "wrong_answer" and 0 < body["score"] < 1 and not body["correct"]
    example = verdict["cases"][0]
    assert example["kind"] == "example" and example["status"] == "wrong_answer"
    assert example["expected"] == "[0, 2]" and example["actual"] == "[0, 1, 2]" and example["input"]
    for case in verdict["cases"][1:]:
        assert set(case) <= {"kind", "label", "status", "ms"}, case
    assert "stdout" not in verdict  # what the code printed on hidden inputs stays inside
    assert body["review"]["rating"] == ("hard" if body["score"] >= 0.5 else "again")  # as any objective item


def test_example_runs_are_not_scored_and_show_what_was_printed(db_client) -> None:
    headers = guest(db_client)
    r = db_client.post("/api/v1/questions/code-nms/run", json={"source": WRONG_NMS}, headers=headers)
    assert r.status_code == 200, r.text
    verdict = r.json()["verdict"]
    assert [c["kind"] for c in verdict["cases"]] == ["example"]
    assert verdict["stdout"] == "debug 3\n"
    assert db_client.get("/api/v1/me/attempts", headers=headers).json()["items"] == []


def test_a_syntax_error_points_at_its_line(db_client) -> None:
    headers = guest(db_client)
    source = "import numpy as np\n\ndef nms(boxes, scores, iou_thr)\n    return []\n"
    verdict = db_client.post("/api/v1/questions/code-nms/run", json={"source": source},
                             headers=headers).json()["verdict"]
    assert verdict["status"] == "compile_error" and verdict["error"]["line"] == 3
    assert verdict["error"]["type"] == "SyntaxError"


def test_code_needs_an_account_and_a_source(db_client) -> None:
    r = db_client.post("/api/v1/questions/code-nms/check", json={"answer": "def nms(a, b, c):\n    return []\n"})
    assert r.status_code == 401
    headers = guest(db_client)
    for bad in ("", "   ", 42, ["A"]):
        r = db_client.post("/api/v1/questions/code-nms/check", json={"answer": bad}, headers=headers)
        assert r.status_code == 422, (bad, r.text)
    r = db_client.post("/api/v1/questions/conv-params-basic/run", json={"source": "x = 1"}, headers=headers)
    assert r.status_code in (404, 422)


def test_the_public_view_never_carries_the_reference_or_the_tests(db_client) -> None:
    q = db_client.app.state.store.current.by_id["code-nms"]
    r = db_client.get("/api/v1/questions/code-nms")
    view = r.json()
    assert view["code"]["entry"] == "nms" and view["code"]["starter"] == q.code.starter
    text = json.dumps(view, ensure_ascii=False)
    assert "lexsort" not in text and "HIDDEN" not in text and "def generate" not in text


def test_code_runs_are_limited_per_account(tmp_path) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", limit_code_runs_per_minute=2,
                             content_dir=REPO / "content")
    with TestClient(create_app(settings)) as client:
        headers = guest(client)
        source = "def nms(a, b, c):\n    return []\n"
        codes = [client.post("/api/v1/questions/code-nms/run", json={"source": source}, headers=headers).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
        other = guest(client)
        assert client.post("/api/v1/questions/code-nms/run", json={"source": source}, headers=other).status_code == 200


def test_without_a_sandbox_code_items_say_so_and_nothing_runs(tmp_path) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", judge_socket=tmp_path / "j.sock",
                             judge_python="/nonexistent/python3", content_dir=REPO / "content")
    with TestClient(create_app(settings)) as client:
        headers = guest(client)
        r = client.post("/api/v1/questions/code-nms/check", json={"answer": "def nms(a, b, c):\n    return []\n"},
                        headers=headers)
        assert r.status_code == 503, r.text
        assert "unavailable" in r.json()["detail"]
        assert client.get("/api/v1/me/attempts", headers=headers).json()["items"] == []
        client.post("/api/v1/questions/code-nms/run", json={"source": "x"}, headers=headers)
        judge_client.request(client.app.state.judge, {"op": "shutdown"}, 5)


def test_a_coding_round_judges_the_last_saved_sources_at_its_finish(db_client) -> None:
    headers = guest(db_client)
    r = db_client.post("/api/v1/interviews", json={"round": "cv-coding"}, headers=headers)
    assert r.status_code == 201, r.text
    state = r.json()
    iid = state["id"]
    views = [q["question"] for q in state["questions"]]
    assert [v["type"] for v in views] == ["code"] * 3 and views[0]["id"] == "code-nms"
    assert views[1]["bank"] == "coding-layers" and views[2]["bank"] == "coding" and views[2]["id"] != "code-nms"
    assert views[0]["code"]["entry"] == "nms"
    assert "lexsort" not in json.dumps(state, ensure_ascii=False)  # the reference stays on the server
    db_client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": WRONG_NMS}, headers=headers)
    db_client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": reference(db_client, "code-nms")},
                  headers=headers)  # the last autosave counts
    entry = views[1]["code"]["entry"]
    db_client.put(f"/api/v1/interviews/{iid}/answers/1", json={"answer": f"def {entry}(*args):\n    return 0\n"},
                  headers=headers)
    r = db_client.post(f"/api/v1/interviews/{iid}/finish", headers=headers)
    assert r.status_code == 200, r.text
    report = db_client.get(f"/api/v1/interviews/{iid}/report", headers=headers).json()
    nms, layer, unanswered = report["questions"]
    assert nms["judge"]["status"] == "accepted" and nms["score"] == 1.0 and nms["expected"] is None
    assert layer["judge"]["status"] in ("wrong_answer", "runtime_error") and layer["score"] < 1 and layer["mistake"]
    assert unanswered["answer"] is None and unanswered["judge"] is None and unanswered["score"] == 0
    assert report["score"] == round((1.0 + layer["score"]) / 3, 4)
    text = json.dumps(report, ensure_ascii=False)
    assert "HIDDEN" not in text and "def generate" not in text  # the tests stay on the server (the answer is ours)


def test_a_finish_after_the_sandbox_went_away_still_finishes_and_says_the_code_was_not_judged(tmp_path) -> None:
    """The round started with a working judge; by the finish no sandbox can run (the machine's judge is now
    one whose Python is missing): the finish still finishes, the code item says it was not judged."""
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", content_dir=REPO / "content")
    with TestClient(create_app(settings)) as client:
        headers = guest(client)
        iid = client.post("/api/v1/interviews", json={"round": "cv-coding"}, headers=headers).json()["id"]
        client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "def nms(a, b, c):\n    return []\n"},
                   headers=headers)
        broken = dataclasses.replace(client.app.state.judge, socket=tmp_path / "j.sock", python="/nonexistent/py")
        client.app.state.judge = broken
        client.app.state.grader = WithJudge(BUILTIN, judge_client.scorer(broken, "submit"))
        assert client.post(f"/api/v1/interviews/{iid}/finish", headers=headers).status_code == 200
        nms = client.get(f"/api/v1/interviews/{iid}/report", headers=headers).json()["questions"][0]
        assert nms["judge"]["status"] == "not_judged" and nms["score"] == 0.0
        assert "unavailable" in nms["judge"]["error"]["message"]
        judge_client.request(broken, {"op": "shutdown"}, 5)


def test_without_a_sandbox_the_coding_round_is_listed_unavailable_and_does_not_start(tmp_path) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", judge_socket=tmp_path / "j.sock",
                             judge_python="/nonexistent/python3", content_dir=REPO / "content")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz").json()
        assert ready["status"] == "ok" and ready["judge"]["available"] is False and ready["judge"]["reason"]
        rounds = {r["id"]: r for r in client.get("/api/v1/rounds").json()}
        assert rounds["cv-coding"]["needs_judge"] and rounds["cv-coding"]["unavailable"]
        assert not rounds["tplink-cv-1"]["needs_judge"] and rounds["tplink-cv-1"]["unavailable"] is None
        headers = guest(client)
        r = client.post("/api/v1/interviews", json={"round": "cv-coding"}, headers=headers)
        assert r.status_code == 503 and "unavailable" in r.json()["detail"]
        assert client.post("/api/v1/interviews", json={"round": "tplink-cv-1"}, headers=headers).status_code == 201
        page = client.get("/").text
        card = page[page.index('data-round="cv-coding"'):]
        card = card[: card.index('data-round="', 20)] if 'data-round="' in card[20:] else card
        assert "round-unavailable" in card and 'name="round"' not in card
        judge_client.request(client.app.state.judge, {"op": "shutdown"}, 5)


def test_readiness_reports_a_working_judge(db_client) -> None:
    ready = db_client.get("/readyz").json()
    assert ready["judge"] == {"available": True, "reason": ""}
