"""错题本 (issue 20): mistakes from practice and interviews collect in one list, leave it after correct answers
on two different days, come back with the next mistake; filters, order, pages; mine only. SQLite and
PostgreSQL; time moves through the test clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import check, guest

from app.practice.mistakes import AttemptFact, collect
from tests.conftest import T0

T0_MS = T0.timestamp() * 1000


@pytest.fixture
def env(clocked_env):
    client, clock, _ = clocked_env
    return client, clock


def mistakes(client, h, **params) -> dict:
    r = client.get("/api/v1/me/mistakes", params=params, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: dict) -> list[str]:
    return [m["question_id"] for m in page["items"]]


# --- the rule, pure --------------------------------------------------------------------------------

T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def fact(n: int, score: float, at: datetime, qid: str = "q", rating: str | None = None) -> AttemptFact:
    return AttemptFact(id=n, question_id=qid, score=score, rating=rating, created_at=at, source="practice")


def test_two_correct_days_clear_one_day_does_not_and_a_new_mistake_brings_it_back():
    types = {"q": "numeric"}
    history = [fact(1, 0.0, T), fact(2, 1.0, T + timedelta(minutes=1)), fact(3, 1.0, T + timedelta(hours=2))]
    e = collect(history, types, UTC, 2)["q"]
    assert (e.wrong, e.answered, e.correct_days, e.active) == (1, 3, 1, True)  # right twice, one day
    history.append(fact(4, 1.0, T + timedelta(days=1)))
    e = collect(history, types, UTC, 2)["q"]
    assert not e.active and e.cleared_at == T + timedelta(days=1) and e.correct_days == 2
    history.append(fact(5, 0.5, T + timedelta(days=2)))  # partial credit is a mistake too
    e = collect(history, types, UTC, 2)["q"]
    assert e.active and e.wrong == 2 and e.correct_days == 0 and e.last_wrong.id == 5 and e.answered == 5


def test_days_are_the_candidates_own():
    # 23:30 and 00:30 in Shanghai are two days there, one day in UTC (15:30 and 16:30).
    types = {"q": "single"}
    first = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    history = [fact(1, 0.0, first - timedelta(hours=1)), fact(2, 1.0, first), fact(3, 1.0, first + timedelta(hours=1))]
    assert not collect(history, types, ZoneInfo("Asia/Shanghai"), 2)["q"].active
    assert collect(history, types, UTC, 2)["q"].active


def test_open_items_follow_the_design_rule_and_removed_questions_are_left_out():
    types = {"o": "open"}
    assert collect([fact(1, 0.9, T, "o", rating="again")], types, UTC, 2)["o"].active  # rated Again
    assert collect([fact(1, 0.4, T, "o", rating="good")], types, UTC, 2)["o"].active  # covered < 0.6
    assert collect([fact(1, 0.7, T, "o", rating="hard")], types, UTC, 2) == {}
    assert collect([fact(1, 0.0, T, "gone")], types, UTC, 2) == {}


def test_a_correct_answer_before_any_mistake_makes_no_entry():
    types = {"q": "numeric"}
    e = collect([fact(1, 1.0, T), fact(2, 0.0, T + timedelta(days=1))], types, UTC, 2)["q"]
    assert (e.wrong, e.answered, e.first_wrong_at) == (1, 1, T + timedelta(days=1))


# --- through the API ---------------------------------------------------------------------------------


def test_practice_mistakes_collect_with_the_last_answer_and_leave_after_two_days(env):
    client, clock = env
    h = guest(client)
    check(client, h, "s-numeric", "64")
    clock.advance(minutes=5)
    check(client, h, "s-numeric", "32")
    check(client, h, "s-single", "B")  # right: no entry
    check(client, h, "s-shape", "(1, 64, 28, 28)")
    page = mistakes(client, h)
    assert ids(page) == ["s-numeric", "s-shape"]  # most often wrong first
    first = page["items"][0]
    assert first["wrong"] == 2 and first["answered"] == 2 and first["latest"]["answer"] == "32"
    assert first["expected"] == 128 and first["url"] == "/api/v1/questions/s-numeric"
    assert first["last_wrong"]["source"] == "practice" and first["cleared_at"] is None
    assert ids(mistakes(client, h, sort="recent")) == ["s-shape", "s-numeric"]

    check(client, h, "s-numeric", "128")
    check(client, h, "s-numeric", "128")
    assert "s-numeric" in ids(mistakes(client, h))  # right twice on one day: still there
    clock.advance(days=1)
    check(client, h, "s-numeric", "128")
    assert ids(mistakes(client, h)) == ["s-shape"]
    cleared = mistakes(client, h, state="cleared")["items"]
    assert [m["question_id"] for m in cleared] == ["s-numeric"] and cleared[0]["correct_days"] == 2
    assert cleared[0]["wrong"] == 2 and cleared[0]["answered"] == 5  # the history stays
    check(client, h, "s-numeric", "1")
    assert ids(mistakes(client, h)) == ["s-numeric", "s-shape"]  # back, with three mistakes now
    assert mistakes(client, h)["items"][0]["wrong"] == 3


def test_generated_mistakes_keep_their_instance_and_its_reference(env):
    client, _ = env
    h = guest(client)
    q = client.get("/api/v1/questions/s-generated", params={"seed": 7}).json()
    check(client, h, "s-generated", "(1, 1, 1, 1)", seed=7)
    item = mistakes(client, h)["items"][0]
    assert item["last_wrong"]["seed"] == 7
    right = check(client, h, "s-generated", "(1, 1, 1, 1)", seed=7)["expected"]
    assert item["expected"] == right and q["seed"] == 7


def test_interview_mistakes_carry_their_round_and_filters_narrow(env):
    client, clock = env
    h = guest(client)
    iv = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    # The mini round: s-open, then the single-choice pick s-single (position 1) and its follow-up.
    r = client.put(f"/api/v1/interviews/{iv['id']}/answers/1", json={"answer": "A"}, headers=h)
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/interviews/{iv['id']}/finish", json={"reason": "manual"}, headers=h).status_code == 200
    check(client, h, "s-numeric", "64")
    page = mistakes(client, h)
    single = next(m for m in page["items"] if m["type"] == "single")
    assert single["rounds"] == ["mini"] and single["last_wrong"]["interview_id"] == iv["id"]
    assert single["last_wrong"]["source"] == "interview"
    assert ids(mistakes(client, h, round="mini")) == [single["question_id"]]
    assert ids(mistakes(client, h, type="numeric")) == ["s-numeric"]
    assert set(ids(mistakes(client, h, topic="参数量"))) == {"s-numeric"}
    assert ids(mistakes(client, h, bank="nope")) == []


def test_pages_walk_the_whole_list_once(env):
    client, clock = env
    h = guest(client)
    for qid, wrong in (("s-numeric", "1"), ("s-shape", "(1,)"), ("s-single", "A"), ("s-multiple", ["A"])):
        check(client, h, qid, wrong)
        clock.advance(minutes=1)
    check(client, h, "s-shape", "(2,)")
    seen, cursor = [], None
    while True:
        page = mistakes(client, h, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next"]
        if cursor is None:
            break
    assert seen[0] == "s-shape" and sorted(seen) == sorted(set(seen)) and len(seen) == 4


def test_bad_queries_are_422_and_a_visitor_needs_an_account(env):
    client, _ = env
    h = guest(client)
    assert client.get("/api/v1/me/mistakes").status_code == 401
    for params in ({"state": "gone"}, {"sort": "best"}, {"type": "essay"}, {"cursor": "x"}, {"limit": 0}):
        r = client.get("/api/v1/me/mistakes", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)


def test_nobody_sees_anothers_mistakes(env):
    client, _ = env
    alice, bob = guest(client), guest(client)
    check(client, alice, "s-numeric", "64")
    assert ids(mistakes(client, alice)) == ["s-numeric"]
    assert mistakes(client, bob) == {"items": [], "next": None}


def test_practice_from_mistakes_draws_only_them_and_redo_comes_first(env):
    client, clock = env
    h = guest(client)
    assert client.get("/api/v1/practice/next", params={"mistakes": True}).status_code == 401
    assert client.get("/api/v1/practice/next", params={"mistakes": True}, headers=h).status_code == 404  # none yet
    check(client, h, "s-numeric", "64")
    check(client, h, "s-shape", "(1,)")
    drawn = {client.get("/api/v1/practice/next", params={"mistakes": True}, headers=h).json()["id"] for _ in range(8)}
    assert drawn <= {"s-numeric", "s-shape"}  # nothing but my mistakes
    assert client.get("/api/v1/practice/next", params={"mistakes": True, "type": "shape"}, headers=h).json()["id"] == "s-shape"


def test_the_page_lists_mine_marks_the_options_and_redo_links_to_practice(env):
    client, _ = env
    page = client.get("/mistakes")
    assert page.status_code == 200 and "login-prompt" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/guest", data={"csrf_token": csrf, "next": "/mistakes"}).status_code in (200, 303)
    token = client.get("/mistakes").text.split('name="csrf-token" content="')[1].split('"')[0]
    r = client.post("/practice/s-single/check", data={"csrf_token": token, "choice": "A"})
    assert r.status_code == 200, r.text
    html = client.get("/mistakes").text
    assert 'data-question="s-single"' in html and "option-row chosen wrong" in html and "option-row right" in html
    assert "/practice?mistakes=1&amp;first=s-single" in html
    redo = client.get("/practice?mistakes=1&first=s-single")
    assert redo.status_code == 200 and 'data-qid="s-single"' in redo.text
    assert client.get("/mistakes?cursor=nonsense").status_code == 422


def test_my_mistakes_and_review_log_download_as_csv(env):
    import csv
    import io

    client, clock = env
    h = guest(client)
    assert client.get("/api/v1/me/mistakes.csv").status_code == 401
    assert client.get("/api/v1/me/reviews/revlog.csv").status_code == 401
    check(client, h, "s-numeric", "64")
    clock.advance(minutes=1)
    check(client, h, "s-single", "B")
    check(client, h, "s-open", "不知道", rating="again")
    check(client, h, "s-open", "=SUM(A1)")  # waits for its rating: not a review yet
    r = client.get("/api/v1/me/mistakes.csv", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["question_id"] for row in rows} == {"s-numeric", "s-open"}
    numeric = next(row for row in rows if row["question_id"] == "s-numeric")
    assert numeric["last_wrong_answer"] == "64" and numeric["expected"] == "128" and numeric["state"] == "active"
    opened = next(row for row in rows if row["question_id"] == "s-open")
    assert opened["last_wrong_answer"] == "'=SUM(A1)" and opened["wrong"] == "2"  # a formula stays text
    assert numeric["topics"] == '["BN","参数量"]'

    log = client.get("/api/v1/me/reviews/revlog.csv", headers=h)
    assert log.status_code == 200 and not log.content.startswith(b"\xef\xbb\xbf")
    reviews = list(csv.DictReader(io.StringIO(log.text)))
    assert [(x["card_id"], x["review_rating"]) for x in reviews] == [("s-numeric", "1"), ("s-single", "3"),
                                                                      ("s-open", "1")]
    assert int(reviews[0]["review_time"]) == int(T0_MS) and int(reviews[1]["review_time"]) == int(T0_MS) + 60_000
    assert client.get("/api/v1/me/reviews/revlog.csv", headers=guest(client)).text == "card_id,review_time,review_rating\r\n"


def test_practice_from_bookmarks_draws_only_my_stars(env):
    client, _ = env
    h = guest(client)
    assert client.get("/api/v1/practice/next", params={"bookmarks": True}).status_code == 401
    assert client.get("/api/v1/practice/next", params={"bookmarks": True}, headers=h).status_code == 404
    assert client.put("/api/v1/me/bookmarks/s-shape", headers=h).status_code == 200
    drawn = {client.get("/api/v1/practice/next", params={"bookmarks": True}, headers=h).json()["id"] for _ in range(5)}
    assert drawn == {"s-shape"}
    other = guest(client)
    assert client.get("/api/v1/practice/next", params={"bookmarks": True}, headers=other).status_code == 404
