"""The API over the imported types (issue #19): what a client needs to answer each, nothing that gives an
answer away, the author's feedback after a check, descriptions never checked, and an interview that asks
each type scores them from its frozen snapshot."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.api_helpers import check, guest
from tests.conftest import content_with_types, make_settings


@pytest.fixture
def client(db_url, tmp_path) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url=db_url, content_dir=content_with_types(tmp_path / "content")))
    with TestClient(app) as c:
        yield c


def view(client: TestClient, qid: str) -> dict:
    r = client.get(f"/api/v1/questions/{qid}")
    assert r.status_code == 200, r.text
    return r.json()


SECRETS = ["*relu*", "sigmoid", "修正线性单元", "方向对", "三层 3×3", "少算了一层", "对：$v_t", "那是一阶矩", "滑动平均**",
           "tolerance", "fraction", "accepted", "weights", "correct"]


def test_views_say_how_to_answer_and_never_what_is_right(client):
    tf = view(client, "t-tf")
    assert [(o["key"], o["text"]) for o in tf["options"]] == [("T", "正确"), ("F", "错误")]
    match = view(client, "t-match")
    lefts = [x["text"] for x in match["matching"]["left"]]
    rights = [x["text"] for x in match["matching"]["right"]]
    assert lefts == ["BatchNorm", "LayerNorm", "InstanceNorm"]
    assert sorted(rights) == sorted(["N、H、W", "C、H、W", "H、W", "N、C"])  # the distractor too
    assert rights[:3] != ["N、H、W", "C、H、W", "H、W"]  # never lined up with the lefts
    assert view(client, "t-match")["matching"] == match["matching"]  # the same order every time
    assert view(client, "t-essay")["self_rated"] is True and view(client, "t-short")["self_rated"] is False
    for qid in ("t-tf", "t-short", "t-match", "t-num", "t-single", "t-essay", "t-desc"):
        raw = json.dumps(view(client, qid), ensure_ascii=False)
        leaked = [s for s in SECRETS if s in raw]
        assert not leaked, (qid, leaked)
    assert view(client, "t-desc")["scored"] is False


def test_checks_show_the_feedback_for_what_was_given(client):
    h = guest(client)
    tf = check(client, h, "t-tf", True)
    assert tf["score"] == 0.0 and tf["expected"] is False
    assert "<strong>滑动平均</strong>" in tf["option_feedback_html"]["T"]
    single = check(client, h, "t-single", "B")
    assert single["score"] == 0.5 and single["details"]["option_feedback"] == {"B": "那是一阶矩 $m_t$。"}
    assert "m_t" in single["option_feedback_html"]["B"]
    short = check(client, h, "t-short", "Leaky ReLU")
    assert short["score"] == 0.5 and short["expected"] == "ReLU"
    assert short["answer_feedback_html"] and "方向对" in short["answer_feedback_html"]
    num = check(client, h, "t-num", "5")
    assert (num["score"], num["details"]["fraction"], num["details"]["matched"]) == (0.5, 0.5, 1)
    match = check(client, h, "t-match", {"BatchNorm": "N、H、W", "LayerNorm": "N、C"})
    assert match["score"] == pytest.approx(1 / 3) and match["review"]["rating"] == "again"
    assert match["expected"] == {"BatchNorm": "N、H、W", "LayerNorm": "C、H、W", "InstanceNorm": "H、W"}
    assert [p["ok"] for p in match["details"]["pairs"]] == [True, False, False]


def test_a_self_rated_essay_waits_for_the_rating_and_proposes_none(client):
    h = guest(client)
    essay = check(client, h, "t-essay", "我们的标注有很多噪声，先抽样复核再清洗。")
    assert essay["details"]["self_rated"] is True and essay["details"]["keypoints"] == []
    assert essay["review"]["rating"] is None and essay["review"]["proposed"] is None
    assert essay["reference_html"] and "说清数据的问题" in essay["reference_html"]
    r = client.post("/api/v1/me/reviews/t-essay/rating", json={"rating": "good"}, headers=h)
    assert r.status_code == 200, r.text


def test_unreadable_answers_and_descriptions_are_refused(client):
    h = guest(client)
    r = client.post("/api/v1/questions/t-match/check", json={"answer": "BatchNorm -> N"}, headers=h)
    assert r.status_code == 422 and "写成" in r.json()["hint"]
    r = client.post("/api/v1/questions/t-tf/check", json={"answer": "也许"}, headers=h)
    assert r.status_code == 422 and "true 或 false" in r.json()["hint"]
    assert client.post("/api/v1/questions/t-desc/check", json={"answer": "x"}, headers=h).status_code == 409


def test_an_interview_asks_each_type_and_scores_it(client):
    h = guest(client)
    r = client.post("/api/v1/interviews", json={"round": "types-round"}, headers=h)
    assert r.status_code == 201, r.text
    state = r.json()
    ids = [q["question"]["id"] for q in state["questions"]]
    assert ids == ["t-desc", "t-essay", "t-tf", "t-short", "t-match", "t-num", "t-single"]
    assert state["questions"][4]["question"]["matching"]["left"][0]["text"] == "BatchNorm"
    answers = {2: False, 3: "relu", 4: {"BatchNorm": "N、H、W", "LayerNorm": "C、H、W", "InstanceNorm": "N、C"},
               5: "5.5", 6: "B", 1: "讲了一个数据清洗的项目"}
    for position, answer in answers.items():
        r = client.put(f"/api/v1/interviews/{state['id']}/answers/{position}", json={"answer": answer}, headers=h)
        assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/interviews/{state['id']}", headers=h).json()
    assert got["questions"][4]["answer"] == answers[4]
    assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
    report = client.get(f"/api/v1/interviews/{state['id']}/report", headers=h).json()
    scores = {q["id"]: q["score"] for q in report["questions"]}
    assert scores["t-desc"] is None and scores["t-tf"] == 1.0 and scores["t-short"] == 1.0
    assert scores["t-match"] == pytest.approx(2 / 3) and scores["t-num"] == 0.5 and scores["t-single"] == 0.5
    by = {q["id"]: q for q in report["questions"]}
    assert by["t-essay"]["mistake"] is False  # graded by the rating alone: none given yet
    assert by["t-match"]["mistake"] is True


def test_a_matching_answer_with_no_pair_chosen_is_unanswered(client):
    h = guest(client)
    state = client.post("/api/v1/interviews", json={"round": "types-round"}, headers=h).json()
    r = client.put(f"/api/v1/interviews/{state['id']}/answers/4", json={"answer": {}}, headers=h)
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
    report = client.get(f"/api/v1/interviews/{state['id']}/report", headers=h).json()
    match = next(q for q in report["questions"] if q["id"] == "t-match")
    assert match["score"] == 0.0 and match["feedback"] == "未作答。"
