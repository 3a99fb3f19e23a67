"""An answer the scorer cannot read ("abc" for a number or a shape) is refused, not scored: the API answers 422
with the format it expects (the hint its feedback used to carry) and records nothing, reveals nothing; the
practice page keeps the input and shows the same hint. In an interview it stays a draft, and at the finish it
counts as wrong. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from api_helpers import guest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Attempt, ReviewCard
from tests.test_web_pages import csrf_of

NUMBER_HINT = "无法识别这个数字，请只填写一个数字，例如 32、0.5 或 1e-3。"
SHAPE_HINT = "形状的每一维都应是整数，无法识别“abc”。"
PREFIX = "the answer cannot be read for this question: "


def stats(client: TestClient, h: dict[str, str]) -> dict:
    body = client.get("/api/v1/me/stats", headers=h).json()
    del body["generated_at"]
    return body


def recorded(client: TestClient) -> tuple[int, int]:
    """All attempts and review cards in the database."""
    with Session(client.app.state.engine) as db:
        return len(db.exec(select(Attempt)).all()), len(db.exec(select(ReviewCard)).all())


def test_the_api_refuses_an_unreadable_answer_with_the_format_expected(db_client):
    for headers in ({}, guest(db_client)):  # anonymous (scored inline) and signed in (recorded)
        r = db_client.post("/api/v1/questions/s-numeric/check", json={"answer": "abc"}, headers=headers)
        assert r.status_code == 422
        assert r.json() == {"detail": PREFIX + NUMBER_HINT, "hint": NUMBER_HINT}  # no score, no expected answer
        r = db_client.post("/api/v1/questions/s-shape/check", json={"answer": "(1, abc)"}, headers=headers)
        assert r.status_code == 422 and r.json()["hint"] == SHAPE_HINT
        seed = db_client.get("/api/v1/questions/s-generated").json()["seed"]
        r = db_client.post("/api/v1/questions/s-generated/check", json={"answer": "abc", "seed": seed}, headers=headers)
        assert r.status_code == 422 and r.json()["hint"] == SHAPE_HINT
        r = db_client.post("/api/v1/questions/s-open/check", json={"answer": ["not", "text"]}, headers=headers)
        assert r.status_code == 422 and r.json()["hint"] == "请用文字作答。"
    assert recorded(db_client) == (0, 0)  # no attempt, no card


def test_a_refused_answer_changes_nothing_and_a_readable_one_is_recorded(db_client):
    h = guest(db_client)
    assert db_client.post("/api/v1/questions/s-numeric/check", json={"answer": "128"}, headers=h).status_code == 200
    card = db_client.get("/api/v1/me/reviews/due", headers=h)
    before = recorded(db_client), stats(db_client, h)
    r = db_client.post("/api/v1/questions/s-numeric/check", json={"answer": "一百二十八", "rating": "again"},
                       headers=h)
    assert r.status_code == 422
    assert (recorded(db_client), stats(db_client, h)) == before
    assert db_client.get("/api/v1/me/reviews/due", headers=h).json() == card.json()
    assert before[0] == (1, 1)
    # A wrong but readable answer is still scored and scheduled.
    r = db_client.post("/api/v1/questions/s-numeric/check", json={"answer": "64"}, headers=h)
    assert r.status_code == 200 and r.json()["score"] == 0.0 and r.json()["expected"] == 128
    assert recorded(db_client) == (2, 1)


def page_token(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', client.get("/practice").text).group(1)}


def test_the_practice_page_refuses_it_with_the_same_hint(db_client):
    r = db_client.post("/guest", data={"csrf_token": csrf_of(db_client.get("/practice").text), "next": "/practice"},
                       follow_redirects=False)
    assert r.status_code == 303
    r = db_client.post("/practice/s-numeric/check", data={"text": "abc"}, headers=page_token(db_client))
    assert r.status_code == 422
    assert r.text.strip() == f'<p class="check-refused" data-part="refusal">{NUMBER_HINT}</p>'  # a fragment
    assert "128" not in r.text and "参考答案" not in r.text
    r = db_client.post("/practice/s-shape/check", data={"text": "abc"}, headers=page_token(db_client))
    assert r.status_code == 422 and SHAPE_HINT in r.text
    assert recorded(db_client) == (0, 0)
    r = db_client.post("/practice/s-numeric/check", data={"text": "128"}, headers=page_token(db_client))
    assert r.status_code == 200 and "✓ 正确" in r.text and recorded(db_client) == (1, 1)


def test_in_an_interview_it_is_a_draft_and_counts_as_wrong_at_the_finish(db_client):
    h = guest(db_client)
    state = db_client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    numeric = next(q["position"] for q in state["questions"] if q["question"]["type"] == "numeric")
    shape = next(q["position"] for q in state["questions"] if q["question"]["type"] == "shape")
    iid = state["id"]
    for position, answer in ((numeric, "abc"), (shape, "abc")):  # autosaved as typed: a draft
        r = db_client.put(f"/api/v1/interviews/{iid}/answers/{position}", json={"answer": answer}, headers=h)
        assert r.status_code == 200 and r.json()["answer"] == "abc"
    assert db_client.post(f"/api/v1/interviews/{iid}/finish", headers=h).status_code == 200
    report = {q["position"]: q for q in db_client.get(f"/api/v1/interviews/{iid}/report", headers=h).json()["questions"]}
    for position, hint in ((numeric, NUMBER_HINT), (shape, SHAPE_HINT)):
        q = report[position]
        assert (q["answer"], q["score"], q["correct"], q["feedback"]) == ("abc", 0.0, False, hint)
    # Counted as a wrong answer: an attempt scored 0, and its card is due again.
    with Session(db_client.app.state.engine) as db:
        attempts = {a.question_id: a for a in db.exec(select(Attempt).where(Attempt.interview_id == iid)).all()}
    assert attempts["s-numeric"].score == 0.0 and attempts["s-numeric"].rating == "again"

