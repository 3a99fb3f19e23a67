"""Practice history, FSRS reviews, the dashboard and the export (issue 7), on SQLite and PostgreSQL.

Time only moves through the injected clock (app.state.clock); nothing sleeps.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import check, guest
from fsrs import Rating
from itsdangerous import URLSafeSerializer

from app.practice import scheduling, stats
from app.practice.due import DueCard, DueDays, day_end
from tests.conftest import T0

CHECK_KEYS = {"score", "correct", "expected", "feedback", "reference_html", "explanation_html", "details", "codes",
              "option_feedback_html", "answer_feedback_html"}  # the author's feedback for what was given (issue 19)
GOOD_OPEN = "每个通道求均值方差，标准化后用 gamma beta 缩放平移"


@pytest.fixture
def env(clocked_env):
    client, clock, content_dir = clocked_env
    return client, clock


def due(client, h, **params) -> dict:
    r = client.get("/api/v1/me/reviews/due", params=params, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def at(s: str) -> datetime:
    return datetime.fromisoformat(s)


# --- pure functions ------------------------------------------------------------------------------


def test_rating_mapping():
    assert scheduling.rating_for("single", 1.0) == Rating.Good
    assert scheduling.rating_for("multiple", 2 / 3) == Rating.Hard
    assert scheduling.rating_for("multiple", 0.5) == Rating.Hard
    assert scheduling.rating_for("numeric", 0.0) == Rating.Again
    assert scheduling.rating_for("generated", 1.0, "easy") == Rating.Good  # objective: the score decides
    assert scheduling.rating_for("open", 0.2, "easy") == Rating.Easy
    assert scheduling.rating_for("open", 1.0, "again") == Rating.Again
    assert scheduling.rating_for("open", 0.75) == Rating.Good
    assert scheduling.rating_for("open", 0.4) == Rating.Hard
    assert scheduling.rating_for("open", 0.1) == Rating.Again
    with pytest.raises(ValueError):
        scheduling.parse_rating("meh")


def test_review_uses_fsrs_and_retention():
    good = scheduling.review(None, Rating.Good, T0, 0.9)
    again = scheduling.review(None, Rating.Again, T0, 0.9)
    assert again.due < good.due and good.last_review == T0
    lax = scheduling.review(None, Rating.Easy, T0, 0.8)
    strict = scheduling.review(None, Rating.Easy, T0, 0.97)
    assert strict.due < lax.due  # a higher desired retention reviews sooner
    # Naive (SQLite) times are UTC; a review never goes back before the last one.
    later = scheduling.review(good.card, Rating.Good, T0.replace(tzinfo=None) - timedelta(hours=1), 0.9)
    assert later.last_review == T0


def test_stats_pure_figures():
    rows = [
        stats.AttemptRow("a", 0.0, T0 - timedelta(days=2), 1),
        stats.AttemptRow("a", 1.0, T0 - timedelta(days=1), 2),
        stats.AttemptRow("b", 0.5, T0 - timedelta(days=1), 3),
        stats.AttemptRow("b", 0.0, T0 - timedelta(days=1), 4),  # same time, later id: the latest
        stats.AttemptRow("c", 1.0, T0 - timedelta(days=400), 5),  # outside the activity window
        stats.AttemptRow("gone", 0.0, T0, 6),  # no longer in the content
    ]
    topics = {"a": ("BN",), "b": ("BN", "卷积"), "c": ("卷积",)}
    assert stats.per_question(rows) == {"a": (1.0, 2), "b": (0.0, 2), "c": (1.0, 1), "gone": (0.0, 1)}
    m = {r["topic"]: r for r in stats.mastery(stats.per_question(rows), topics)}
    assert m["BN"] == {"topic": "BN", "mastery": 0.5, "questions": 2, "attempts": 4}
    assert m["卷积"] == {"topic": "卷积", "mastery": 0.5, "questions": 2, "attempts": 3}
    weak = stats.weakest([*m.values(), {"topic": "x", "mastery": 0.0, "questions": 1, "attempts": 1},
                          {"topic": "y", "mastery": 1.0, "questions": 2, "attempts": 9}])
    assert [w["topic"] for w in weak] == ["BN", "卷积"]  # x: one attempt; y: mastered; ties: more attempts first

    act = stats.activity([r.created_at for r in rows], T0)
    assert len(act) == 365 and list(act)[-1] == "2026-11-23" and list(act)[0] == "2025-11-24"
    assert act["2026-11-23"] == 1 and act["2026-11-22"] == 3 and act["2026-11-21"] == 1
    assert sum(act.values()) == 5

    dues = [T0 - timedelta(days=3), T0 + timedelta(hours=1), T0 + timedelta(days=13), T0 + timedelta(days=14)]
    days = DueDays([DueCard(i, f"q{i}", d, None, 2) for i, d in enumerate(dues)], T0.date(), UTC)
    fc = days.forecast()
    assert len(fc) == 14 and list(fc)[0] == "2026-11-23"
    assert fc["2026-11-23"] == 2 and fc["2026-12-06"] == 1 and sum(fc.values()) == 3
    assert [c.question_id for c in days.on(T0.date())] == ["q0", "q1"]  # overdue, and later today
    assert days.next_day() == date(2026, 12, 6)
    # The day ends at the candidate's midnight: 23:30 UTC on the 23rd is the 24th in Shanghai.
    late = DueDays([DueCard(1, "q", T0.replace(hour=23, minute=30), None, 2)], T0.date(), UTC)
    assert late.forecast(2) == {"2026-11-23": 1, "2026-11-24": 0}
    shanghai = ZoneInfo("Asia/Shanghai")
    late = DueDays(late.cards, T0.date(), shanghai)  # noon UTC is 20:00 on the 23rd there
    assert late.forecast(2) == {"2026-11-23": 0, "2026-11-24": 1} and late.on(T0.date()) == []
    assert day_end(T0.date(), shanghai) == datetime(2026, 11, 23, 16, tzinfo=UTC)

    # Day boundaries follow the caller's zone: 20:00 UTC is already tomorrow in Shanghai.
    late = T0.replace(hour=20)
    assert stats.activity([late], late, ZoneInfo("Asia/Shanghai"), days=2) == {"2026-11-23": 0, "2026-11-24": 1}
    # SQLite has no zones: the dashboard shifts UTC by the offsets in force, found here (DST included).
    berlin = stats.offset_segments(ZoneInfo("Europe/Berlin"), datetime(2026, 3, 1, tzinfo=UTC), T0)
    assert berlin == [(datetime(2026, 3, 1, tzinfo=UTC), timedelta(hours=1)),
                      (datetime(2026, 3, 29, 1, tzinfo=UTC), timedelta(hours=2)),
                      (datetime(2026, 10, 25, 1, tzinfo=UTC), timedelta(hours=1))]
    assert stats.activity_start(T0, ZoneInfo("Asia/Shanghai"), days=1) == datetime(2026, 11, 22, 16, tzinfo=UTC)
    # Half-hour zones stay exact: 18:29 UTC is 23:59 in Kolkata, 18:30 UTC is already the next day.
    kolkata = [T0.replace(hour=18, minute=29), T0.replace(hour=18, minute=30), T0.replace(hour=18, minute=44)]
    assert stats.activity(kolkata, kolkata[-1], ZoneInfo("Asia/Kolkata"), days=2) == {
        "2026-11-23": 1, "2026-11-24": 2}


# --- scheduling through the API ---------------------------------------------------------------------


def test_anonymous_check_is_unchanged_and_records_nothing(env):
    client, _ = env
    body = check(client, {}, "s-single", "B")
    assert set(body) == CHECK_KEYS and body["score"] == 1.0
    assert check(client, {"Authorization": "Bearer not-a-token"}, "s-single", "A")["score"] == 0.0
    h = guest(client)
    assert client.get("/api/v1/me/stats", headers=h).json()["attempts"] == 0


def test_card_answered_well_is_due_later_than_one_answered_badly(env):
    client, clock = env
    h = guest(client)
    right = check(client, h, "s-single", "B")
    wrong = check(client, h, "s-multiple", "C")
    partial = check(client, h, "s-multiple", "A,B")  # 2/3 of the options: hard
    assert set(right) == CHECK_KEYS | {"review"}
    assert right["review"]["rating"] == "good" and wrong["review"]["rating"] == "again"
    assert partial["review"]["rating"] == "hard"
    assert at(right["review"]["due"]) > at(partial["review"]["due"]) > T0
    # Answer s-single right and s-numeric wrong each time s-single falls due: the gap keeps growing.
    gaps = []
    clock.now = at(right["review"]["due"])
    for _ in range(3):  # (tokens last 30 days; three rounds stay inside that)
        r_good = check(client, h, "s-single", "B")["review"]
        r_bad = check(client, h, "s-numeric", "3")["review"]
        gaps.append((at(r_good["due"]) - clock.now, at(r_bad["due"]) - clock.now))
        clock.now = at(r_good["due"])
    good_gaps = [g for g, _ in gaps]
    assert good_gaps == sorted(good_gaps) and good_gaps[-1] > timedelta(days=1)
    assert all(bad <= timedelta(minutes=10) for _, bad in gaps)


def test_due_list_changes_as_time_passes(env):
    client, clock = env
    h = guest(client)
    check(client, h, "s-numeric", "1")  # again: due in a minute
    check(client, h, "s-single", "B")  # good: due in ten minutes (first learning step)
    # Due today means before the end of the day, not before now: both are due already.
    got = due(client, h)
    assert [i["question_id"] for i in got["items"]] == ["s-numeric", "s-single"] and got["next"] is None
    item = got["items"][0]
    assert item == {"question_id": "s-numeric", "title": "数值", "bank": "sample", "type": "numeric",
                    "topics": ["BN", "参数量"], "due": (T0 + timedelta(minutes=1)).isoformat(),
                    "last_rating": "again", "url": "/api/v1/questions/s-numeric"}
    assert client.get(item["url"]).json()["id"] == "s-numeric"
    first = due(client, h, limit=1)
    assert [i["question_id"] for i in first["items"]] == ["s-numeric"] and first["next"]
    second = due(client, h, limit=1, cursor=first["next"])
    assert [i["question_id"] for i in second["items"]] == ["s-single"] and second["next"] is None
    clock.advance(minutes=10)
    again = check(client, h, "s-numeric", "128")["review"]  # out of relearning's first step: 10 minutes more
    assert at(again["due"]) == clock.now + timedelta(minutes=10)
    graduated = at(check(client, h, "s-single", "B")["review"]["due"])  # past the last step: days away
    assert graduated.date() > T0.date()
    assert [i["question_id"] for i in due(client, h)["items"]] == ["s-numeric"]
    clock.now = datetime.combine(graduated.date(), time.min, UTC)  # the start of the day s-single is due on
    assert [i["question_id"] for i in due(client, h)["items"]] == ["s-numeric", "s-single"]
    clock.now -= timedelta(microseconds=1)  # the evening before: not yet
    assert [i["question_id"] for i in due(client, h)["items"]] == ["s-numeric"]


def test_the_openapi_of_the_check_names_everything_an_open_check_sends(env):
    """Per-point verdicts, misconceptions, codes and the review are in the schema, not an untyped object."""
    client, _ = env
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def props(name: str) -> dict:
        return schemas[name]["properties"]

    ok = spec["paths"]["/api/v1/questions/{question_id}/check"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CheckResponse"}
    body = check(client, guest(client), "s-open", "BN 不是按通道统计的，而是对整个 batch 所有元素一起算均值和方差。")
    assert set(body) == CHECK_KEYS | {"review"} == set(props("CheckResponse"))
    assert set(body["review"]) == set(props("CheckReview"))
    assert props("CheckResponse")["details"] == {"$ref": "#/components/schemas/CheckDetails"}
    assert set(body["details"]) == {"keypoints", "misconceptions", "coverage", "grader"}
    # judge: code items' verdicts; the rest: what the imported types' checks carry (issue 19)
    assert set(props("CheckDetails")) == set(body["details"]) | {
        "judge", "option_feedback", "answer_feedback", "fraction", "matched", "pairs", "self_rated"}
    assert {k for p in body["details"]["keypoints"] for k in p} == set(props("KeypointHit"))
    verdict = props("KeypointHit")["verdict"]["anyOf"][0]
    assert verdict["enum"] == ["covered", "named", "contradicted", "missing"]
    assert [p["verdict"] for p in body["details"]["keypoints"]] == ["contradicted", "covered", "missing"]
    assert set(props("MisconceptionFound")) == {"label", "statement", "evidence"}
    assert props("CheckResponse")["codes"]["items"] == {"$ref": "#/components/schemas/FeedbackCode"}
    assert props("ReportQuestion")["codes"]["items"] == {"$ref": "#/components/schemas/FeedbackCode"}
    assert [c["code"] for c in body["codes"]] == ["open_coverage", "open_contradicted", "open_missing"]
    assert schemas["FeedbackCode"]["additionalProperties"] is True and schemas["FeedbackCode"]["required"] == ["code"]


def test_open_self_rating_in_check_and_after_the_fact(env):
    client, clock = env
    h = guest(client)
    auto = check(client, h, "s-open", GOOD_OPEN)["review"]
    # Key-point coverage only proposes: the card waits for the candidate's own rating (DESIGN).
    assert (auto["rating"], auto["proposed"], auto["due"]) == (None, "good", None)
    assert due(client, h)["items"] == [] and client.get("/api/v1/me/stats", headers=h).json()["due_now"] == 0
    exported = client.get("/api/v1/me/export", headers=h).json()
    assert [(e["question_id"], e["rating"]) for e in exported] == [("s-open", None)]
    clock.advance(days=2)
    assert due(client, h)["items"] == []  # never scheduled without it
    # The rating schedules the card as of the answer; a second one replaces it (same time, same attempts).
    r = client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "easy"}, headers=h)
    assert r.status_code == 200 and r.json()["rating"] == "easy"
    assert at(r.json()["due"]) >= T0 + timedelta(days=5)
    r = client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "again"}, headers=h)
    assert at(r.json()["due"]) == T0 + timedelta(minutes=1)
    assert [i["question_id"] for i in due(client, h)["items"]] == ["s-open"]
    exported = client.get("/api/v1/me/export", headers=h).json()
    assert [(e["question_id"], e["rating"]) for e in exported] == [("s-open", "again")]
    # A rating sent with the check itself wins over key-point coverage.
    rated = check(client, h, "s-open", "不知道", rating="easy")["review"]
    assert rated["rating"] == "easy" and at(rated["due"]) >= clock.now + timedelta(days=1)
    # Objective questions are rated from their score; unanswered ones cannot be rated.
    check(client, h, "s-single", "B")
    r = client.post("/api/v1/me/reviews/s-single/rating", json={"rating": "easy"}, headers=h)
    assert r.status_code == 404 and r.json()["detail"].startswith("only open questions take a self-rating")
    h2 = guest(client)
    assert client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "easy"}, headers=h2).status_code == 404
    assert client.post("/api/v1/me/reviews/nope/rating", json={"rating": "easy"}, headers=h).status_code == 404
    # The rating has a path of its own: /me/reviews/due is only the list (a question id "due" is no clash).
    r = client.post("/api/v1/me/reviews/due", json={"rating": "easy"}, headers=h)
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert client.post("/api/v1/me/reviews/s-open", json={"rating": "easy"}, headers=h).status_code == 404


def test_retention_setting_changes_intervals(env):
    client, _ = env
    lax, strict = guest(client), guest(client)
    assert client.get("/api/v1/me/settings", headers=lax).json() == {"desired_retention": 0.9, "timezone": None, "leech_lapses": 8}
    assert client.put("/api/v1/me/settings", json={"desired_retention": 0.75}, headers=lax).json() == {
        "desired_retention": 0.75, "timezone": None, "leech_lapses": 8}
    client.put("/api/v1/me/settings", json={"desired_retention": 0.97}, headers=strict)
    a = check(client, lax, "s-open", "x", rating="easy")["review"]
    b = check(client, strict, "s-open", "x", rating="easy")["review"]
    assert at(b["due"]) < at(a["due"])
    assert client.get("/api/v1/me/stats", headers=strict).json()["desired_retention"] == 0.97


def test_session_cookie_user_is_recorded(env):
    client, _ = env
    token = client.post("/api/v1/auth/guest").json()["access_token"]
    # The browser's cookie is the same server-side token, signed (app.auth.cookies).
    client.cookies.set("mj_session", URLSafeSerializer("test-secret", salt="session").dumps(token))
    # A cookie alone is ambient authority: without the page's CSRF token the check is refused, unrecorded.
    refused = client.post("/api/v1/questions/s-single/check", json={"answer": "B"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert client.get("/api/v1/me/stats").json()["attempts"] == 0
    csrf = hmac.new(b"test-secret", f"session:{token}".encode(), hashlib.sha256).hexdigest()
    body = client.post("/api/v1/questions/s-single/check", json={"answer": "B"},
                       headers={"X-CSRF-Token": csrf}).json()
    assert body["review"]["rating"] == "good"
    assert client.get("/api/v1/me/stats").json()["attempts"] == 1
    client.cookies.clear()
    assert "review" not in client.post("/api/v1/questions/s-single/check", json={"answer": "B"}).json()


# --- interviews, stats, export, isolation --------------------------------------------------------


def test_finished_interview_records_answered_items(env):
    client, clock = env
    h = guest(client)
    state = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    url = f"/api/v1/interviews/{state['id']}/answers/0"
    client.put(url, json={"answer": GOOD_OPEN}, headers=h)
    clock.advance(minutes=2)
    client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h)
    attempts = [e for e in client.get("/api/v1/me/export", headers=h).json() if e["kind"] == "attempt"]
    assert len(attempts) == 1  # only the answered item
    a = attempts[0]
    assert (a["question_id"], a["source"], a["interview_id"], a["score"], a["rating"]) == (
        "s-open", "interview", state["id"], 1.0, None)  # an open item: no rating given, nothing scheduled
    assert a["created_at"] == T0.isoformat()  # when it was answered, not when the interview closed
    s = client.get("/api/v1/me/stats", headers=h).json()
    assert s["recent_interviews"][0]["id"] == state["id"] and s["recent_interviews"][0]["state"] == "finished"
    assert s["recent_interviews"][0]["score"] is not None and s["attempts"] == 1
    assert due(client, h)["items"] == []
    # Rated during the interview, the item is scheduled at the finish, as of its answer.
    state = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    client.put(f"/api/v1/interviews/{state['id']}/answers/0", json={"answer": "不知道"}, headers=h)
    assert client.put(f"/api/v1/interviews/{state['id']}/ratings/0", json={"rating": "again"},
                      headers=h).status_code == 200
    client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h)
    listed = due(client, h)["items"]
    assert [(i["question_id"], i["last_rating"]) for i in listed] == [("s-open", "again")]
    assert listed[0]["due"] == (clock.now + timedelta(minutes=1)).isoformat()


def test_self_rating_on_a_finished_report_re_rates_the_card(env):
    client, clock = env
    h = guest(client)
    state = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    client.put(f"/api/v1/interviews/{state['id']}/answers/0", json={"answer": GOOD_OPEN}, headers=h)
    client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h)
    assert due(client, h)["items"] == []  # coverage 1.0 proposes good; the candidate has not rated yet
    r = client.put(f"/api/v1/interviews/{state['id']}/ratings/0", json={"rating": "easy"}, headers=h)
    assert r.status_code == 200
    assert due(client, h)["items"] == []  # easy: days away
    r = client.put(f"/api/v1/interviews/{state['id']}/ratings/0", json={"rating": "again"}, headers=h)
    assert r.status_code == 200
    clock.advance(minutes=1)
    assert [i["question_id"] for i in due(client, h)["items"]] == ["s-open"]
    attempts = [e for e in client.get("/api/v1/me/export", headers=h).json() if e["kind"] == "attempt"]
    assert [(a["source"], a["rating"]) for a in attempts] == [("interview", "again")]
    # Once a practice answer has moved the card on, the old interview's rating no longer rewrites it.
    later = check(client, h, "s-open", GOOD_OPEN, rating="good")["review"]
    client.put(f"/api/v1/interviews/{state['id']}/ratings/0", json={"rating": "easy"}, headers=h)
    card_due = [i for i in client.get("/api/v1/me/export", headers=h).json() if i["kind"] == "attempt"]
    assert [(a["source"], a["rating"]) for a in card_due] == [("interview", "again"), ("practice", later["rating"])]
    clock.advance(minutes=10)
    assert [i["question_id"] for i in due(client, h)["items"]] == ["s-open"]


def test_stats_for_a_known_history(env):
    client, clock = env
    h = guest(client)
    # Day 0: BN single right, BN/参数量 numeric wrong; day 1: numeric right, shape wrong twice; day 3: shape right.
    dues = {}
    dues["s-single"] = check(client, h, "s-single", "B")["review"]["due"]
    check(client, h, "s-numeric", "1")
    clock.advance(days=1)
    dues["s-numeric"] = check(client, h, "s-numeric", "128")["review"]["due"]
    check(client, h, "s-shape", "1,3,56,56")
    check(client, h, "s-shape", "1,64,28,28")
    clock.advance(days=2)
    now = clock.now
    s = client.get("/api/v1/me/stats", headers=h).json()
    assert s["attempts"] == 5 and s["questions_attempted"] == 3
    assert s["mastery"] == [
        {"topic": "BN", "mastery": 1.0, "questions": 2, "attempts": 3},
        {"topic": "卷积计算", "mastery": 0.0, "questions": 1, "attempts": 2},
        {"topic": "参数量", "mastery": 1.0, "questions": 1, "attempts": 2},
    ]
    assert s["weakest_topics"] == [{"topic": "卷积计算", "mastery": 0.0, "questions": 1, "attempts": 2}]
    assert len(s["activity"]) == 365
    assert {d: n for d, n in s["activity"].items() if n} == {"2026-11-23": 2, "2026-11-24": 3}
    assert len(s["forecast"]) == 14 and list(s["forecast"])[0] == "2026-11-26"
    # Every card is overdue by now (learning steps are minutes), so all three count for today.
    assert s["forecast"]["2026-11-26"] == 3 and sum(s["forecast"].values()) == 3 and s["due_now"] == 3
    assert all(at(d) < now for d in dues.values())
    # Practise the weakest topic: weak=true picks s-shape (卷积计算) or s-generated; shape is due, so it comes first.
    nxt = client.get("/api/v1/practice/next", params={"weak": "true"}, headers=h).json()
    assert nxt["id"] == "s-shape" and nxt["practice"]["reason"] == "due"
    assert nxt["practice"]["weak_topics"][0] == "卷积计算" and "answer" not in nxt
    clock.advance(days=1)
    check(client, h, "s-shape", "1,64,56,56")
    s = client.get("/api/v1/me/stats", headers=h, params={"tz": "Asia/Shanghai"}).json()
    assert s["mastery"][1] == {"topic": "卷积计算", "mastery": 1.0, "questions": 1, "attempts": 3}
    assert s["activity"]["2026-11-27"] == 1  # 12:00 UTC is 20:00 in Shanghai, same day
    clock.advance(hours=5)  # 17:00 UTC: already the 28th in Shanghai, still the 27th in New York
    check(client, h, "s-single", "B")
    shanghai = client.get("/api/v1/me/stats", headers=h, params={"tz": "Asia/Shanghai"}).json()["activity"]
    new_york = client.get("/api/v1/me/stats", headers=h, params={"tz": "America/New_York"}).json()["activity"]
    assert (shanghai["2026-11-27"], shanghai["2026-11-28"]) == (1, 1) and list(shanghai)[-1] == "2026-11-28"
    assert new_york["2026-11-27"] == 2 and list(new_york)[-1] == "2026-11-27"
    assert new_york["2026-11-23"] == 2 and new_york["2026-11-24"] == 3
    assert client.get("/api/v1/me/stats", headers=h, params={"tz": "Mars/Olympus"}).status_code == 422
    assert client.get("/api/v1/me/stats", headers=h, params={"tz": ""}).status_code == 422  # not in the enum


def test_practice_next_prefers_due_then_new_and_seeds_generated(env):
    client, clock = env
    h = guest(client)
    first = client.get("/api/v1/practice/next", params={"type": "generated"}, headers=h).json()
    second = client.get("/api/v1/practice/next", params={"type": "generated"}, headers=h).json()
    assert first["id"] == "s-generated" and first["practice"]["reason"] == "new"
    assert isinstance(first["seed"], int) and first["seed"] != second["seed"]
    r = check(client, h, "s-generated", "0", seed=first["seed"])
    assert r["review"]["rating"] == "again"
    ex = client.get("/api/v1/me/export", headers=h).json()
    assert ex[0]["seed"] == first["seed"] and ex[0]["answer"] == "0"
    # Due today (in a minute) comes before a new one.
    nxt = client.get("/api/v1/practice/next", params={"topic": "卷积计算"}, headers=h).json()
    assert nxt["id"] == "s-generated"
    assert nxt["practice"] == {"reason": "due", "due": (T0 + timedelta(minutes=1)).isoformat(), "weak_topics": []}
    nxt = client.get("/api/v1/practice/next", params={"type": "shape"}, headers=h).json()
    assert nxt["id"] == "s-shape" and nxt["practice"]["reason"] == "new"
    check(client, h, "s-shape", "1,64,56,56")  # good: its next step is in ten minutes, today
    assert client.get("/api/v1/practice/next", params={"type": "shape"}, headers=h).json()["practice"][
        "reason"] == "due"
    clock.advance(minutes=10)
    later = at(check(client, h, "s-shape", "1,64,56,56")["review"]["due"])  # graduated: days away
    nxt = client.get("/api/v1/practice/next", params={"type": "shape"}, headers=h).json()
    assert nxt["practice"] == {"reason": "ahead", "due": later.isoformat(), "weak_topics": []}
    clock.now = datetime.combine(later.date(), time.min, UTC)
    assert client.get("/api/v1/practice/next", params={"type": "shape"}, headers=h).json()["practice"][
        "reason"] == "due"
    anon = client.get("/api/v1/practice/next", params={"bank": "sample", "difficulty": 1}).json()
    assert anon["id"] == "s-single" and anon["practice"]["reason"] == "random"


def test_export_csv_and_json(env):
    client, clock = env
    h = guest(client)
    check(client, h, "s-single", "B")
    clock.advance(hours=1)
    check(client, h, "s-open", "=HYPERLINK(\"x\") 通道")
    check(client, h, "s-multiple", ["A", "B"])
    state = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()

    r = client.get("/api/v1/me/export", params={"format": "json"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["content-disposition"] == 'attachment; filename="mianjing-export-20261123.json"'
    data = r.json()
    assert [(e["kind"], e["question_id"] or e["round_id"]) for e in data] == [
        ("attempt", "s-single"), ("attempt", "s-open"), ("attempt", "s-multiple"), ("interview", "mini")]
    assert data[0] | {"id": 0} == {
        "kind": "attempt", "id": 0, "created_at": T0.isoformat(), "question_id": "s-single",
        "question_title": "单选", "seed": None, "answer": "B", "score": 1.0, "correct": True, "rating": "good",
        "source": "practice", "interview_id": None, "round_id": None, "round_title": None, "state": None,
        "finished_at": None, "answer_unreadable": False}
    assert data[2]["answer"] == ["A", "B"] and data[2]["rating"] == "hard"
    assert data[3]["id"] == state["id"] and data[3]["state"] == "active" and data[3]["round_title"] == "迷你轮"

    r = client.get("/api/v1/me/export", params={"format": "csv"}, headers=h)
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="mianjing-export-20261123.csv"'
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["kind", "id", "created_at", "question_id", "question_title", "seed"]
    assert len(rows) == 5 and all(len(row) == len(rows[0]) for row in rows)
    by = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert by[0]["answer"] == "B" and by[0]["correct"] == "true" and by[0]["score"] == "1.0"
    assert by[1]["answer"].startswith("'=HYPERLINK")  # a formula stays text in a spreadsheet
    assert by[2]["answer"] == '["A","B"]'
    assert by[3]["kind"] == "interview" and by[3]["round_title"] == "迷你轮"


def test_another_user_never_sees_my_data(env):
    client, clock = env
    me, other = guest(client), guest(client)
    check(client, me, "s-numeric", "1")
    check(client, me, "s-open", GOOD_OPEN, rating="good")
    client.post("/api/v1/interviews", json={"round": "mini"}, headers=me)
    clock.advance(hours=1)
    assert len(due(client, me)["items"]) == 2
    assert due(client, other) == {"items": [], "next": None}
    s = client.get("/api/v1/me/stats", headers=other).json()
    assert s["attempts"] == 0 and s["mastery"] == [] and s["recent_interviews"] == [] and s["due_now"] == 0
    assert sum(s["forecast"].values()) == 0 and sum(s["activity"].values()) == 0
    assert client.get("/api/v1/me/export", headers=other).json() == []
    rows = client.get("/api/v1/me/export", params={"format": "csv"}, headers=other).content.decode("utf-8-sig")
    assert rows.strip().count("\n") == 0  # the header row only
    assert client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "again"}, headers=other).status_code == 404
    assert client.get("/api/v1/practice/next", params={"topic": "参数量"}, headers=other).json()["practice"][
        "reason"] == "new"
    client.put("/api/v1/me/settings", json={"desired_retention": 0.8}, headers=other)
    assert client.get("/api/v1/me/settings", headers=me).json() == {"desired_retention": 0.9, "timezone": None, "leech_lapses": 8}


def test_bad_input_is_refused(env):
    client, _ = env
    h = guest(client)
    bad = [
        client.post("/api/v1/questions/s-open/check", json={"answer": "x", "rating": "meh"}, headers=h),
        client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "great"}, headers=h),
        client.post("/api/v1/me/reviews/s-open/rating", json={}, headers=h),
        client.put("/api/v1/me/settings", json={"desired_retention": 0.5}, headers=h),
        client.put("/api/v1/me/settings", json={"desired_retention": 0.995}, headers=h),
        client.put("/api/v1/me/settings", json={"desired_retention": "high"}, headers=h),
        client.get("/api/v1/me/export", params={"format": "xml"}, headers=h),
        client.get("/api/v1/me/reviews/due", params={"limit": 0}, headers=h),
        client.get("/api/v1/me/reviews/due", params={"limit": 101}, headers=h),
        client.get("/api/v1/me/reviews/due", params={"cursor": "not-a-cursor"}, headers=h),
        client.get("/api/v1/me/attempts", params={"cursor": "A" * 17}, headers=h),
        client.get("/api/v1/me/attempts", params={"limit": 101}, headers=h),
        client.get("/api/v1/practice/next", params={"type": "essay"}, headers=h),
        client.get("/api/v1/practice/next", params={"difficulty": 9}, headers=h),
    ]
    assert [r.status_code for r in bad] == [422] * len(bad)
    assert all("detail" in r.json() for r in bad)
    for method, path in [("get", "/api/v1/me/reviews/due"), ("get", "/api/v1/me/stats"),
                         ("get", "/api/v1/me/export"), ("put", "/api/v1/me/settings"),
                         ("post", "/api/v1/me/reviews/s-open/rating"), ("get", "/api/v1/me/attempts")]:
        assert getattr(client, method)(path).status_code == 401
    assert client.get("/api/v1/practice/next", params={"weak": "true"}).status_code == 401
    assert client.get("/api/v1/practice/next", params={"bank": "nope"}, headers=h).status_code == 404
    assert client.get("/api/v1/me/settings", headers=h).json() == {"desired_retention": 0.9, "timezone": None, "leech_lapses": 8}
