"""New cards per day (MIANJING_NEW_CARDS_PER_DAY), as Anki caps them: a round that makes 30 new cards brings
20 due today and the rest on the days after, in every count, list and the forecast; held back in the lists,
not by rewriting due dates. On SQLite and PostgreSQL, plus the pure day assignment and the migration that
fills in `first_review_at`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, insert, select

from app.db import migrations_dir, upgrade
from app.main import create_app
from app.practice.due import DueCard, assign_days
from tests.conftest import T0, VALID, Clock, make_settings
from tests.test_web_practice import as_guest

TODAY = T0.date()
N = 30
CAP = 20
BEFORE = "6c0d2f1e9a57"  # the revision before first_review_at


def card(i: int, due: datetime, reps: int = 1) -> DueCard:
    return DueCard(i, f"q{i:02d}", due, None, reps)


def per_day(days: dict[int, date | None]) -> dict[date | None, int]:
    out: dict[date | None, int] = {}
    for d in days.values():
        out[d] = out.get(d, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (kv[0] is None, kv[0] or date.min)))


# --- the day each card is due on (pure) ---------------------------------------------------------------


def test_new_cards_beyond_the_cap_wait_for_the_next_days_with_room():
    new = [card(i, T0 + timedelta(minutes=i)) for i in range(N)]
    days = assign_days(new, TODAY, UTC, CAP)
    assert per_day(days) == {TODAY: 20, TODAY + timedelta(days=1): 10}
    assert [i for i, d in days.items() if d == TODAY] == list(range(20))  # first answered, first due
    assert per_day(assign_days(new, TODAY, UTC, 12)) == {
        TODAY: 12, TODAY + timedelta(days=1): 12, TODAY + timedelta(days=2): 6}
    assert per_day(assign_days(new, TODAY, UTC, None)) == {TODAY: 30}  # no cap
    assert per_day(assign_days(new, TODAY, UTC, 0)) == {None: 30}  # never due
    # New cards reviewed today used today's room already.
    assert per_day(assign_days(new, TODAY, UTC, CAP, introduced_today=15)) == {
        TODAY: 5, TODAY + timedelta(days=1): 20, TODAY + timedelta(days=2): 5}
    assert per_day(assign_days(new, TODAY, UTC, CAP, introduced_today=25)) == {
        TODAY + timedelta(days=1): 20, TODAY + timedelta(days=2): 10}


def test_reviewed_cards_are_never_held_and_new_ones_keep_their_own_day():
    old = [card(100 + i, T0 - timedelta(days=3), reps=3) for i in range(25)]  # overdue reviews: all today
    later = [card(200 + i, T0 + timedelta(days=2)) for i in range(15)]  # new, first due the day after tomorrow
    today = [card(i, T0) for i in range(25)]
    days = assign_days(old + later + today, TODAY, UTC, CAP)
    assert all(days[c.id] == TODAY for c in old)
    assert per_day({c.id: days[c.id] for c in today}) == {TODAY: 20, TODAY + timedelta(days=1): 5}
    # The day after tomorrow: its own 15, and nobody moved up before it.
    assert per_day({c.id: days[c.id] for c in later}) == {TODAY + timedelta(days=2): 15}
    crowded = [card(300 + i, T0 + timedelta(days=1)) for i in range(18)]
    days = assign_days(today + crowded, TODAY, UTC, CAP)  # tomorrow: 5 held from today + 18 of its own
    assert per_day(days) == {TODAY: 20, TODAY + timedelta(days=1): 20, TODAY + timedelta(days=2): 3}


# --- a round of 30 new cards, over the API and the pages ------------------------------------------------


def thirty_questions(folder: Path) -> Path:
    """The fixture content plus a bank of 30 single-choice questions (right answer B) and a round asking all."""
    shutil.copytree(VALID, folder)
    items = "".join(f"""
## t-{i:02d} 题{i:02d}
```yaml
type: single
difficulty: 1
topics: [测验]
source: 测试
```

第 {i} 题选哪个？

### 选项

- [ ] A. 不是这个
- [x] B. 这个
- [ ] C. 也不是

### 解析

选 B。
""" for i in range(1, N + 1))
    (folder / "banks" / "thirty.md").write_text(
        f"---\nid: thirty\ntitle: 三十题\ndescription: 测试用。\n---\n\n# 三十题\n{items}", encoding="utf-8")
    ids = ", ".join(f"t-{i:02d}" for i in range(1, N + 1))
    (folder / "rounds" / "thirty.md").write_text(
        f"---\nid: thirty\ntitle: 三十题轮\nduration: 30\ndescription: 测试用。\n---\n\n## 全部\n\n```yaml\n"
        f"minutes: 30\nquestions: [{ids}]\n```\n\n一口气答完。\n", encoding="utf-8")
    return folder


@pytest.fixture
def env(db_url, tmp_path) -> Iterator[tuple[TestClient, Clock]]:
    app = create_app(make_settings(database_url=db_url, content_dir=thirty_questions(tmp_path / "content"),
                                   new_cards_per_day=CAP))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        yield client, clock


def csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', client.get("/reviews").text).group(1)}


def sit_the_round(client: TestClient, clock: Clock) -> None:
    h = csrf(client)
    state = client.post("/api/v1/interviews", json={"round": "thirty"}, headers=h).json()
    assert len(state["questions"]) == N
    for q in state["questions"]:  # a second apart: the order they were answered in is their due order
        r = client.put(f"/api/v1/interviews/{state['id']}/answers/{q['position']}", json={"answer": "B"}, headers=h)
        assert r.status_code == 200, r.text
        clock.advance(seconds=1)
    assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200


def due_ids(client: TestClient) -> list[str]:
    out, cursor = [], None
    while True:
        page = client.get("/api/v1/me/reviews/due", params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        out += [i["question_id"] for i in page.json()["items"]]
        if (cursor := page.json()["next"]) is None:
            return out


def seen_counts(client: TestClient) -> dict[str, int]:
    dashboard, reviews = client.get("/dashboard").text, client.get("/reviews").text
    count, left = re.search(r"(\d+) 道到期，开始复习", dashboard), re.search(r"今天还剩 (\d+) 道到期", reviews)
    return {"badge": int(re.search(r'id="due-badge"[^>]*>(\d+)<', dashboard).group(1)),
            "dashboard": int(count.group(1)) if count else 0, "reviews": int(left.group(1)) if left else 0,
            "due_now": client.get("/api/v1/me/stats").json()["due_now"], "listed": len(due_ids(client))}


def test_a_round_of_thirty_new_cards_brings_twenty_today_and_the_rest_tomorrow(env):
    client, clock = env
    as_guest(client, "/reviews")
    sit_the_round(client, clock)
    first = [f"t-{i:02d}" for i in range(1, N + 1)]

    assert due_ids(client) == first[:CAP]  # the first answered come first
    assert set(seen_counts(client).values()) == {CAP}
    forecast = client.get("/api/v1/me/stats").json()["forecast"]
    assert (forecast["2026-11-23"], forecast["2026-11-24"], sum(forecast.values())) == (CAP, N - CAP, N)
    nxt = client.get("/api/v1/practice/next", params={"bank": "thirty"}).json()
    assert (nxt["id"], nxt["practice"]["reason"]) == ("t-01", "due")

    # Reviewing today's twenty uses the day's room: no other new card comes due today.
    clock.advance(minutes=30)
    h = csrf(client)
    for qid in first[:CAP]:
        r = client.post(f"/api/v1/questions/{qid}/check", json={"answer": "B"}, headers=h)
        assert r.status_code == 200 and datetime.fromisoformat(r.json()["review"]["due"]) > clock.now + timedelta(days=1)
    assert due_ids(client) == [] and set(seen_counts(client).values()) == {0}
    forecast = client.get("/api/v1/me/stats").json()["forecast"]
    assert (forecast["2026-11-23"], forecast["2026-11-24"]) == (0, N - CAP)
    assert "下一道题 2026-11-24 到期" in client.get("/reviews").text
    # Held back, they are practised ahead of their day, which is where they count as due.
    ahead = client.get("/api/v1/practice/next", params={"bank": "thirty"}).json()
    assert ahead["practice"] == {"reason": "ahead", "due": "2026-11-24T00:00:00+00:00", "weak_topics": []}

    # Tomorrow they are due, and their due dates were never rewritten (10 minutes after each answer).
    clock.now = datetime(2026, 11, 24, tzinfo=UTC)
    listed = client.get("/api/v1/me/reviews/due").json()["items"]
    assert [i["question_id"] for i in listed] == first[CAP:]
    assert listed[0]["due"] == (T0 + timedelta(seconds=CAP, minutes=10)).isoformat()
    assert set(seen_counts(client).values()) == {N - CAP}


def test_a_lower_cap_spreads_them_over_more_days(db_url, tmp_path):
    app = create_app(make_settings(database_url=db_url, content_dir=thirty_questions(tmp_path / "content"),
                                   new_cards_per_day=8))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        as_guest(client, "/reviews")
        sit_the_round(client, clock)
        forecast = client.get("/api/v1/me/stats").json()["forecast"]
        assert list(forecast.values())[:5] == [8, 8, 8, 6, 0] and sum(forecast.values()) == N
        # Left unreviewed, new cards do not pile up: each day brings at most eight, the oldest first.
        for day in list(forecast)[:3]:
            clock.now = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=12)
            assert due_ids(client) == [f"t-{i:02d}" for i in range(1, 9)]
            assert client.get("/api/v1/me/stats").json()["forecast"][day] == 8


# --- the migration ------------------------------------------------------------------------------------------


def test_the_migration_fills_in_the_first_review_from_the_attempts(empty_db_url):
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", empty_db_url.replace("%", "%%"))
    command.upgrade(cfg, BEFORE)
    engine = create_engine(empty_db_url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        user, attempt, reviewcard = meta.tables["user"], meta.tables["attempt"], meta.tables["reviewcard"]
        with engine.begin() as conn:
            conn.execute(insert(user).values(id=1, is_guest=True, is_admin=False, desired_retention=0.9, created_at=T0))
            for i, (qid, minutes) in enumerate([("a", 0), ("a", 5), ("a", 9), ("b", 1), ("c", 2), ("c", 7)]):
                conn.execute(insert(attempt).values(id=i + 1, user_id=1, question_id=qid, score=1.0, correct=True,
                                                    source="practice", created_at=T0 + timedelta(minutes=minutes)))
            for i, (qid, reps) in enumerate([("a", 3), ("b", 1), ("c", 2), ("gone", 4)]):
                conn.execute(insert(reviewcard).values(id=i + 1, user_id=1, question_id=qid, card={}, due=T0,
                                                       reps=reps, lapses=0))
        upgrade(empty_db_url)
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(select(meta.tables["reviewcard"].c.question_id,
                                            meta.tables["reviewcard"].c.first_review_at)).all())
        got = {qid: (when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when)
               for qid, when in rows.items()}
        assert got == {"a": T0 + timedelta(minutes=5), "b": None, "c": T0 + timedelta(minutes=7), "gone": None}
    finally:
        engine.dispose()
