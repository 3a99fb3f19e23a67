"""Keyset pages (app.pagination) of the history, due reviews and attempts, the streamed export and the
paginated /history page, on SQLite and PostgreSQL.

Walking a list page by page must give every row once, in order, ties of the timestamp included (the test
clock stands still, so many rows share one); a cursor is opaque but every string of its pattern is valid.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

from api_helpers import guest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.auth.sessions import user_for_token
from app.db import db_session, request_session
from app.interviews import service
from app.main import create_app
from app.models import Interview, User
from app.pagination import HEX_ID, INT_ID
from app.practice.export import export_batches
from tests.conftest import T0, make_settings


def walk(client: TestClient, path: str, headers: dict[str, str], limit: int) -> list[list[dict]]:
    """Every page of a list, following `next` until it is null."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next"}
        pages.append(body["items"])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(body["items"]) == limit  # a page that says more follow is full


# --- the cursor codec ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.from_regex(HEX_ID.pattern, fullmatch=True), st.from_regex(INT_ID.pattern, fullmatch=True))
def test_every_string_of_the_pattern_is_a_cursor(hex_cursor, int_cursor):
    when, iid = HEX_ID.decode(hex_cursor)
    assert re.fullmatch(r"[0-9a-f]{32}", iid) and when.tzinfo is not None
    assert HEX_ID.decode(HEX_ID.encode(when, iid)) == (when, iid)
    when, card_id = INT_ID.decode(int_cursor)
    assert 0 <= card_id < 2**32
    assert INT_ID.decode(INT_ID.encode(when, card_id)) == (when, card_id)


def test_a_cursor_round_trips_to_the_microsecond():
    at = T0 + timedelta(microseconds=123_457)
    assert HEX_ID.decode(HEX_ID.encode(at, "ab" * 16)) == (at, "ab" * 16)
    assert INT_ID.decode(INT_ID.encode(at, 42)) == (at, 42)
    assert not HEX_ID.matches(HEX_ID.encode(at, "ab" * 16) + "\n")


# --- the API lists ---------------------------------------------------------------------------------------


def test_history_pages_give_every_interview_once_newest_first(clocked_env):
    client, clock, _ = clocked_env
    me, other = guest(client), guest(client)
    started = []
    for n in range(23):
        if n % 4 == 0:
            clock.advance(seconds=1)  # the others start at the same instant: ties broken by id
        r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=me)
        assert r.status_code == 201
        started.append((r.json()["started_at"], r.json()["id"]))
        assert client.post(f"/api/v1/interviews/{r.json()['id']}/finish", headers=me).status_code == 200
    client.post("/api/v1/interviews", json={"round": "mini"}, headers=other)

    pages = walk(client, "/api/v1/interviews", me, limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [(i["started_at"], i["id"]) for p in pages for i in p]
    assert listed == sorted(started, reverse=True)
    assert all(i["state"] == "finished" for p in pages for i in p)
    assert [i["id"] for i in client.get("/api/v1/interviews", headers=me).json()["items"]] == [
        iid for _, iid in listed[:20]]  # 20 by default

    # A cursor only positions a list: the other user's list from my cursor holds only theirs.
    mine = client.get("/api/v1/interviews", params={"limit": 1}, headers=me).json()["next"]
    theirs = client.get("/api/v1/interviews", params={"cursor": mine}, headers=other).json()["items"]
    assert {i["id"] for i in theirs}.isdisjoint(iid for _, iid in started)


def test_an_invalid_cursor_is_a_422_that_says_what_to_send(db_client):
    h = guest(db_client)
    for path, cursor in [("/api/v1/interviews", "x"), ("/api/v1/interviews", "A" * 31 + "="),
                         ("/api/v1/interviews", INT_ID.encode(T0, 1)), ("/api/v1/me/reviews/due", "A" * 15),
                         ("/api/v1/me/attempts", HEX_ID.encode(T0, "0" * 32))]:
        r = db_client.get(path, params={"cursor": cursor}, headers=h)
        assert r.status_code == 422, (path, cursor)
        assert r.json()["detail"].startswith("cursor: not a cursor of this list"), r.json()
    for path in ("/api/v1/interviews", "/api/v1/me/reviews/due", "/api/v1/me/attempts"):
        for limit in (0, 101):
            assert db_client.get(path, params={"limit": limit}, headers=h).status_code == 422
        assert db_client.get(path, params={"limit": 100}, headers=h).json() == {"items": [], "next": None}
    # Any string of the pattern is a position: far in the future, far in the past.
    assert db_client.get("/api/v1/interviews", params={"cursor": "_" * 32}, headers=h).status_code == 200
    assert db_client.get("/api/v1/me/attempts", params={"cursor": "A" * 16}, headers=h).json()["items"] == []


def answer_all(client: TestClient, h: dict[str, str]) -> None:
    for qid, answer in [("s-numeric", "1"), ("s-single", "A"), ("s-multiple", ["A"]), ("s-shape", "1,2"),
                        ("s-open", "不知道")]:
        rating = {"rating": "again"} if qid == "s-open" else {}  # an open item's card waits for its rating
        r = client.post(f"/api/v1/questions/{qid}/check", json={"answer": answer, **rating}, headers=h)
        assert r.status_code == 200, r.text


def test_due_reviews_and_attempts_page_through(clocked_env):
    client, clock, _ = clocked_env
    h = guest(client)
    answer_all(client, h)
    clock.advance(seconds=1)
    answer_all(client, h)  # ten attempts, five cards
    clock.advance(days=2)  # every card is due

    pages = walk(client, "/api/v1/me/reviews/due", h, limit=2)
    due = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(i["question_id"] for i in due) == ["s-multiple", "s-numeric", "s-open", "s-shape", "s-single"]
    assert [i["due"] for i in due] == sorted(i["due"] for i in due)  # most overdue first

    pages = walk(client, "/api/v1/me/attempts", h, limit=3)
    attempts = [a for p in pages for a in p]
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [(a["created_at"], a["id"]) for a in attempts] == sorted(
        ((a["created_at"], a["id"]) for a in attempts), reverse=True)
    assert len({a["id"] for a in attempts}) == 10
    assert attempts[0]["question_id"] == "s-open" and attempts[0]["source"] == "practice"
    assert attempts[0]["question_title"] == "问答" and attempts[0]["answer"] == "不知道"


def test_due_reviews_skip_questions_gone_from_the_content(db_url, tmp_path):
    content_dir = tmp_path / "content"
    shutil.copytree(make_settings().content_dir, content_dir)
    app = create_app(make_settings(database_url=db_url, content_dir=content_dir))
    app.state.clock = lambda: T0
    with TestClient(app) as client:
        h = guest(client)
        answer_all(client, h)
    # A publish drops one of the five questions answered (the only one no round needs); its card stays.
    bank = content_dir / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    bank.write_text(text[:text.index("## s-multiple ")] + text[text.index("## s-numeric "):], encoding="utf-8")
    # The folder is the source of truth here: the new start publishes what it holds (app.runtime.publishing).
    app = create_app(make_settings(database_url=db_url, content_dir=content_dir, publish_on_start=True))
    app.state.clock = lambda: T0 + timedelta(days=2)  # every card is due
    with TestClient(app) as client:
        for limit in (1, 2, 3, 4):
            pages = walk(client, "/api/v1/me/reviews/due", h, limit=limit)
            assert sorted(i["question_id"] for p in pages for i in p) == [
                "s-numeric", "s-open", "s-shape", "s-single"], limit
        first = client.get("/api/v1/me/reviews/due", params={"limit": 1}, headers=h).json()
        assert len(first["items"]) == 1 and first["next"]


# --- the export --------------------------------------------------------------------------------------------


def test_the_export_is_read_in_batches_and_sent_whole(clocked_env):
    client, clock, _ = clocked_env
    h = guest(client)
    for _ in range(3):
        answer_all(client, h)
        clock.advance(seconds=1)
        iid = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()["id"]
        client.post(f"/api/v1/interviews/{iid}/finish", headers=h)
    exported = client.get("/api/v1/me/export", headers=h).json()
    kinds = [r["kind"] for r in exported]
    attempts = kinds.count("attempt")
    assert kinds == ["attempt"] * attempts + ["interview"] * 3 and attempts >= 15
    assert [r["created_at"] for r in exported[:attempts]] == sorted(r["created_at"] for r in exported[:attempts])

    user_id = _user_id(client, h, clock.now)
    content = client.app.state.store.current
    engine = client.app.state.engine
    for batch in (1, 4, 1000):
        batches = list(export_batches(lambda: request_session(engine), content, user_id, batch=batch))
        assert all(len(b) <= batch for b in batches)
        assert [r for b in batches for r in b] == exported, batch

    rows = client.get("/api/v1/me/export", params={"format": "csv"}, headers=h).content.decode("utf-8-sig")
    assert rows.count("\r\n") == len(exported) + 1  # the header and one line per record


def _user_id(client: TestClient, h: dict[str, str], now) -> int:
    with request_session(client.app.state.engine) as db:
        user = user_for_token(db, h["Authorization"].removeprefix("Bearer "), now)
        assert user is not None
        return user.id


# --- the /history page ---------------------------------------------------------------------------------------


def test_history_page_is_paginated(clocked_env):
    client, clock, _ = clocked_env
    home = client.get("/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    r = client.post("/start", data={"round": "mini", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    app = client.app
    with db_session(app.state.engine) as db:
        user = db.get(User, _newest_user_id(db))
        running = db.exec(select(Interview).where(Interview.user_id == user.id)).one()
        # One running interview per round: each is over (finished or abandoned) before the next starts.
        service.abandon_owned(db=db, user=user, interview_id=running.id, now=clock.now)
        for n in range(24):  # 25 in all, with the one started from the page
            clock.advance(minutes=1)
            interview = service.start_interview(db=db, content=app.state.store.current, user=user,
                                                round_id="mini", now=clock.now, limits=app.state.limits,
                                                address="testclient")
            if n % 2:
                service.finish(db=db, interview=interview, now=clock.now)
            else:
                service.abandon_owned(db=db, user=user, interview_id=interview.id, now=clock.now)
    first = client.get("/history")
    assert first.status_code == 200
    assert first.text.count('href="/interviews/') == 20
    older = re.search(r'href="(/history\?cursor=[A-Za-z0-9_-]{32})" rel="next"', first.text)
    assert older and 'rel="first"' not in first.text and "<svg" in first.text
    second = client.get(older.group(1))
    assert second.status_code == 200 and second.text.count('href="/interviews/') == 5
    assert 'rel="next"' not in second.text and 'href="/history" rel="first"' in second.text
    shown = re.findall(r'href="/interviews/([0-9a-f]{32})', first.text + second.text)
    assert len(set(shown)) == 25
    bad = client.get("/history?cursor=nope")
    assert bad.status_code == 422 and "<html" in bad.text


def _newest_user_id(db) -> int:
    return db.exec(select(User.id).order_by(col(User.id).desc())).first()
