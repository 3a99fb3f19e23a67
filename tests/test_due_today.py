"""One definition of "due" (app.practice.due), one count everywhere: the nav badge, the dashboard, today's
reviews, the API's due list and `due_now`, the forecast's today and practice's pick agree, on SQLite and
PostgreSQL, for cards due now, later today and tomorrow, and for cards of a removed or an unscored question.

Time moves only through the test clock; answers go through the real check endpoint.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.test_web_practice import HTMX, answer, as_guest, shown

LATE = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # half an hour before the end of the (UTC) day


@pytest.fixture
def env(clocked_env):
    client, clock, content_dir = clocked_env
    clock.now = LATE
    return client, clock, content_dir


def figures(client: TestClient, day: str) -> dict[str, object]:
    """Every place that counts or lists today's due cards, as the candidate sees them."""
    dashboard = client.get("/dashboard").text
    reviews = client.get("/reviews").text
    stats = client.get("/api/v1/me/stats").json()
    listed, cursor = [], None
    while True:  # one card a page: the cursor walks the same list
        page = client.get("/api/v1/me/reviews/due", params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        listed += [i["question_id"] for i in page.json()["items"]]
        if (cursor := page.json()["next"]) is None:
            break
    count = re.search(r'(\d+) 道到期，开始复习', dashboard)
    left = re.search(r"今天还剩 (\d+) 道到期", reviews)
    return {
        "badge": int(re.search(r'id="due-badge"[^>]*>(\d+)<', dashboard).group(1)),
        "dashboard": int(count.group(1)) if count else 0,
        "reviews": int(left.group(1)) if left else 0,
        "due_now": stats["due_now"],
        "forecast_today": stats["forecast"][day],
        "listed": len(listed),
    }, listed, stats, reviews


def edit_content(content_dir: Path) -> None:
    """A publish drops s-multiple and marks s-open `scored: false`; the cards of both stay in the database."""
    bank = content_dir / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    text = text[:text.index("## s-multiple ")] + text[text.index("## s-numeric "):]
    head = "## s-open 问答\n```yaml\n"
    assert text.count(head) == 1
    bank.write_text(text.replace(head, head + "scored: false\n"), encoding="utf-8")


def test_every_count_and_list_agree(env):
    client, clock, content_dir = env
    as_guest(client, "/reviews")
    answer(client, "s-numeric", "3")  # 23:30, again: due 23:31 — due now by 23:45
    clock.advance(minutes=14)
    answer(client, "s-multiple", ["C"])  # again at 23:44: due today, but its question goes
    answer(client, "s-open", "x", rating="again")  # due today, but it becomes unscored
    clock.advance(minutes=1)
    answer(client, "s-shape", "1,64,56,56")  # 23:45, good: due 23:55 — later today
    clock.advance(minutes=6)
    tomorrow = answer(client, "s-single", "B")["review"]["due"]  # 23:51, good: due 00:01 — tomorrow
    assert tomorrow == "2026-11-24T00:01:00+00:00"

    counts, listed, _, _ = figures(client, "2026-11-23")
    assert set(counts.values()) == {4} and listed == ["s-numeric", "s-multiple", "s-open", "s-shape"]

    edit_content(content_dir)
    client.app.state.store.reload_from(content_dir)
    counts, listed, stats, reviews = figures(client, "2026-11-23")
    assert set(counts.values()) == {2}, counts
    assert listed == ["s-numeric", "s-shape"]  # most overdue first; s-shape is not due by the clock yet
    assert stats["forecast"]["2026-11-24"] == 1 and sum(stats["forecast"].values()) == 3
    assert shown(reviews) == "s-numeric" and "跳过" not in reviews.split('class="card practice-q"')[0]
    practice = client.get("/api/v1/practice/next").json()
    assert (practice["id"], practice["practice"]["reason"]) == ("s-numeric", "due")

    # Working through today's reviews: an answered card leaves the count everywhere at once.
    clock.advance(minutes=5)  # 23:56: s-shape's step is due by the clock too
    answer(client, "s-numeric", "128")  # good: the next step is at 00:06, tomorrow
    counts, listed, _, reviews = figures(client, "2026-11-23")
    assert set(counts.values()) == {1} and listed == ["s-shape"] and "本轮跳过" not in reviews

    # At midnight the new day holds what was due tomorrow (s-single) and what was left over (s-shape).
    clock.now = datetime(2026, 11, 24, tzinfo=UTC)
    counts, listed, stats, reviews = figures(client, "2026-11-24")
    assert set(counts.values()) == {3} and listed == ["s-shape", "s-single", "s-numeric"]
    slot = client.get(re.search(r'hx-get="([^"]+)"', reviews).group(1), headers=HTMX).text
    assert shown(slot) == "s-single" and "本轮跳过 1 道" in slot


def test_the_forecast_counts_what_the_list_will_hold(env):
    """The forecast's day D holds the cards the due list holds on D (checked by moving the clock to D)."""
    client, clock, _ = env
    as_guest(client, "/reviews")
    for qid, value in (("s-single", "B"), ("s-numeric", "128"), ("s-shape", "1,64,56,56")):
        answer(client, qid, value)
    clock.advance(minutes=10)
    for qid, value in (("s-single", "B"), ("s-numeric", "128"), ("s-shape", "1,64,56,56")):
        answer(client, qid, value)  # graduated: each due some days from now
    answer(client, "s-open", "x", rating="easy")
    forecast = client.get("/api/v1/me/stats").json()["forecast"]
    assert sum(forecast.values()) == 4 and forecast["2026-11-23"] == 0
    listed_on = {}
    for day in forecast:
        clock.now = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=23)
        listed_on[day] = len(client.get("/api/v1/me/reviews/due").json()["items"])
        clock.now = datetime.fromisoformat(day).replace(tzinfo=UTC)  # the list of a day is whole at its start
        assert len(client.get("/api/v1/me/reviews/due").json()["items"]) == listed_on[day]
    assert {d: n for d, n in listed_on.items()} == {
        d: sum(m for e, m in forecast.items() if e <= d) for d in forecast}  # unreviewed cards stay due


def test_an_open_card_answered_in_review_without_its_rating_is_not_skipped_nor_scheduled(env):
    """DESIGN: an open item's card moves only with the candidate's own rating. Answered in 今日复习 without
    one, the card stays as it was (still due) but is not counted as skipped, and this run moves past it."""
    client, clock, _ = env
    as_guest(client, "/reviews")
    answer(client, "s-open", "不知道", rating="again")  # due in a minute
    answer(client, "s-single", "A")  # again: due in a minute too, answered after
    page = client.get("/reviews").text
    assert shown(page) == "s-open" and "今天还剩 2 道到期" in page
    nxt = re.search(r'hx-get="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    result = client.post("/practice/s-open/check", data={"text": "按通道求均值和方差"}, headers={"X-CSRF-Token": token})
    assert result.status_code == 200 and "作答已记录。自评之后安排下次复习。" in result.text
    assert 'aria-pressed="true"' not in result.text and 'class="rate proposed"' in result.text
    slot = client.get(nxt, headers=HTMX).text
    assert shown(slot) == "s-single" and "今天还剩 2 道到期" in slot and "本轮跳过" not in slot
    listed = client.get("/api/v1/me/reviews/due").json()["items"]
    assert [(i["question_id"], i["last_rating"]) for i in listed] == [("s-open", "again"), ("s-single", "again")]
    # Rated, it is scheduled as of that answer: easy takes it out of today.
    rated = client.post("/api/v1/me/reviews/s-open/rating", json={"rating": "easy"}, headers={"X-CSRF-Token": token})
    assert rated.status_code == 200 and datetime.fromisoformat(rated.json()["due"]).date() > clock.now.date()
    assert [i["question_id"] for i in client.get("/api/v1/me/reviews/due").json()["items"]] == ["s-single"]
    attempts = client.get("/api/v1/me/attempts").json()["items"]
    assert [(a["question_id"], a["rating"]) for a in attempts] == [("s-open", "easy"), ("s-single", "again"),
                                                                     ("s-open", "again")]
