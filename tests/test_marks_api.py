"""Bookmarks (收藏) and notes over the API (issue 20): star, unstar, list with filters and pages, one note per
question rendered as content is; per user only; within the note cap and the write quotas; following a
content reload that merges ids. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from api_helpers import bearer, guest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import create_app
from app.models import QuestionMark
from tests.conftest import Clock, make_settings

ADMIN = "admin-secret-token"


@pytest.fixture
def make_app(db_url, content_dir) -> Iterator:
    """make_app(**settings) -> (client, clock), over a private copy of the fixture content, admin API on."""
    running: list[TestClient] = []

    def build(**overrides) -> tuple[TestClient, Clock]:
        app = create_app(make_settings(database_url=db_url, content_dir=content_dir, admin_token=ADMIN,
                                       **overrides))
        clock = Clock()
        app.state.clock = clock
        client = TestClient(app)
        client.__enter__()
        running.append(client)
        return client, clock

    yield build
    for client in running:
        client.__exit__(None, None, None)
        client.app.state.engine.dispose()


@pytest.fixture
def env(make_app):
    return make_app()


def star(client, h, qid):
    return client.put(f"/api/v1/me/bookmarks/{qid}", headers=h)


def note(client, h, qid, text):
    return client.put(f"/api/v1/me/notes/{qid}", json={"note": text}, headers=h)


def bookmarks(client, h, **params) -> dict:
    r = client.get("/api/v1/me/bookmarks", params=params, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: dict) -> list[str]:
    return [b["question_id"] for b in page["items"]]


def rows(client) -> list[tuple[int, str]]:
    with Session(client.app.state.engine) as db:
        return sorted((m.user_id, m.question_id) for m in db.exec(select(QuestionMark)).all())


# --- bookmarks ----------------------------------------------------------------------------------------


def test_star_list_unstar(env):
    client, clock = env
    h = guest(client)  # a guest has an account: it bookmarks too
    assert bookmarks(client, h) == {"items": [], "next": None}
    r = star(client, h, "s-single")
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["question_id"] == "s-single" and first["starred"] is True and first["note"] is None
    clock.advance(minutes=1)
    assert star(client, h, "s-open").status_code == 200
    clock.advance(minutes=1)
    again = star(client, h, "s-single").json()  # idempotent: the star keeps its date
    assert again["starred_at"] == first["starred_at"]
    page = bookmarks(client, h)
    assert ids(page) == ["s-open", "s-single"] and page["next"] is None  # most recently starred first
    item = page["items"][0]
    assert item["title"] and item["bank"] == "sample" and item["type"] == "open"
    assert item["url"] == "/api/v1/questions/s-open" and isinstance(item["topics"], list)

    r = client.delete("/api/v1/me/bookmarks/s-open", headers=h)
    assert r.status_code == 200 and r.json()["starred"] is False
    assert ids(bookmarks(client, h)) == ["s-single"]
    assert client.delete("/api/v1/me/bookmarks/s-open", headers=h).status_code == 200  # unstarred already: fine
    assert len(rows(client)) == 1  # an unstarred question without a note leaves no row


def test_filters_and_pages(env):
    client, clock = env
    h = guest(client)
    for qid in ("s-single", "s-multiple", "s-numeric", "s-open"):
        assert star(client, h, qid).status_code == 200
        clock.advance(seconds=1)
    assert ids(bookmarks(client, h, type="open")) == ["s-open"]
    assert ids(bookmarks(client, h, type="code")) == []
    assert ids(bookmarks(client, h, bank="nope")) == []
    topic = client.get("/api/v1/questions/s-numeric").json()["topics"][0]
    with_topic = {q["id"] for q in client.get("/api/v1/questions", params={"topic": topic}).json()["items"]}
    assert set(ids(bookmarks(client, h, topic=topic))) == with_topic & {"s-single", "s-multiple", "s-numeric",
                                                                         "s-open"}
    assert ids(bookmarks(client, h, bank="sample")) == ["s-open", "s-numeric", "s-multiple", "s-single"]

    first = bookmarks(client, h, limit=3)
    assert ids(first) == ["s-open", "s-numeric", "s-multiple"] and first["next"]
    rest = bookmarks(client, h, limit=3, cursor=first["next"])
    assert ids(rest) == ["s-single"] and rest["next"] is None
    assert client.get("/api/v1/me/bookmarks", params={"cursor": "not-a-cursor"}, headers=h).status_code == 422
    assert client.get("/api/v1/me/bookmarks", params={"type": "essay"}, headers=h).status_code == 422


def test_unknown_questions_are_404_and_nothing_needs_no_account(env):
    client, _ = env
    h = guest(client)
    for r in (star(client, h, "no-such"), client.delete("/api/v1/me/bookmarks/no-such", headers=h),
              note(client, h, "no-such", "x"), client.get("/api/v1/me/notes/no-such", headers=h)):
        assert r.status_code == 404, r.text
        assert "no-such" in r.json()["detail"]
    assert rows(client) == []
    for r in (client.put("/api/v1/me/bookmarks/s-single"), client.get("/api/v1/me/bookmarks"),
              client.put("/api/v1/me/notes/s-single", json={"note": "x"}), client.get("/api/v1/me/notes/s-single")):
        assert r.status_code == 401


# --- notes --------------------------------------------------------------------------------------------


def test_a_note_is_rendered_as_content_is_and_an_empty_one_deletes_it(env):
    client, _ = env
    h = guest(client)
    assert client.get("/api/v1/me/notes/s-open", headers=h).json()["note"] is None
    text = "记住 $\\gamma$ 和 $\\beta$\n\n<script>alert(1)</script> **要点**"
    r = note(client, h, "s-open", text)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["note"] == text and body["starred"] is False
    html = body["note_html"]
    assert '<span class="math inline">\\gamma</span>' in html and "<strong>要点</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert client.get("/api/v1/me/notes/s-open", headers=h).json() == body
    # A note does not make a bookmark; a star keeps the note, and the list shows it.
    assert bookmarks(client, h)["items"] == []
    assert star(client, h, "s-open").json()["note"] == text
    assert bookmarks(client, h)["items"][0]["note_html"] == html
    # Unstarred, the note stays; emptied, it goes, and so does the row.
    assert client.delete("/api/v1/me/bookmarks/s-open", headers=h).json()["note"] == text
    r = note(client, h, "s-open", "  \n ")
    assert r.status_code == 200 and r.json()["note"] is None and r.json()["note_html"] is None
    assert rows(client) == []


def test_the_note_cap_and_bad_text_are_422_and_store_nothing(make_app):
    client, _ = make_app(max_note_chars=50)
    h = guest(client)
    assert note(client, h, "s-open", "字" * 50).status_code == 200
    r = note(client, h, "s-open", "字" * 51)
    assert r.status_code == 422
    assert r.json()["detail"] == ("the note has 51 characters, more than the 50 a note may hold "
                                  "(MIANJING_MAX_NOTE_CHARS): shorten it")
    for raw in (b'{"note": "a\\u0000b"}', b'{"note": "\\ud800"}', b'{"note": null}', b'{}'):
        r = client.put("/api/v1/me/notes/s-open", content=raw, headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 422, (raw, r.text)
    assert client.get("/api/v1/me/notes/s-open", headers=h).json()["note"] == "字" * 50


def test_bookmark_and_note_writes_count_against_the_write_quotas(make_app):
    client, clock = make_app(limit_writes_per_minute=3, limit_answer_chars_per_hour=120_002, max_answer_chars=20_000)
    h = guest(client)
    clock.advance(seconds=15)  # the minute's window ends in 45 s
    assert star(client, h, "s-single").status_code == 200
    assert client.delete("/api/v1/me/bookmarks/s-single", headers=h).status_code == 200
    assert note(client, h, "s-open", "一条笔记").status_code == 200
    for r in (star(client, h, "s-numeric"), note(client, h, "s-open", "改了"),
              client.delete("/api/v1/me/bookmarks/s-single", headers=h)):
        assert r.status_code == 429, r.text
        assert r.headers["retry-after"] == "45" and "每分钟最多 3 次" in r.json()["detail"]
    assert client.get("/api/v1/me/notes/s-open", headers=h).json()["note"] == "一条笔记"
    assert ids(bookmarks(client, h)) == []  # reads are not writes
    other = guest(client)  # another account has its own minute
    assert star(client, other, "s-numeric").status_code == 200
    clock.advance(seconds=45)
    assert star(client, h, "s-numeric").status_code == 200


def test_note_text_counts_against_the_hourly_text_quota(make_app):
    client, clock = make_app(max_answer_chars=100, max_note_chars=602, limit_answer_chars_per_hour=1000,
                             limit_answer_chars_per_address_per_hour=10**9)
    h = guest(client)
    assert note(client, h, "s-open", "a" * 600).status_code == 200
    r = note(client, h, "s-single", "b" * 500)  # 1100 characters in the hour
    assert r.status_code == 429 and "这一小时保存的答案文字已达上限" in r.json()["detail"]
    assert client.get("/api/v1/me/notes/s-single", headers=h).json()["note"] is None
    clock.advance(hours=1)
    assert note(client, h, "s-single", "b" * 500).status_code == 200


# --- one user's marks are theirs alone ------------------------------------------------------------------


def test_another_user_can_neither_read_nor_change_my_marks(env):
    client, _ = env
    alice, bob = guest(client), guest(client)
    assert star(client, alice, "s-open").status_code == 200
    assert note(client, alice, "s-open", "alice 的秘密笔记").status_code == 200
    # Bob sees his own (empty) marks on the same question, never Alice's.
    assert bookmarks(client, bob) == {"items": [], "next": None}
    mine = client.get("/api/v1/me/notes/s-open", headers=bob).json()
    assert mine["note"] is None and mine["starred"] is False
    assert "秘密" not in client.get("/api/v1/me/bookmarks", headers=bob).text
    # What Bob writes or deletes is his: Alice's star and note stay as they were.
    assert client.delete("/api/v1/me/bookmarks/s-open", headers=bob).status_code == 200
    assert note(client, bob, "s-open", "").status_code == 200
    assert note(client, bob, "s-open", "bob 的").status_code == 200
    a = client.get("/api/v1/me/notes/s-open", headers=alice).json()
    assert a["note"] == "alice 的秘密笔记" and a["starred"] is True
    assert client.get("/api/v1/me/notes/s-open", headers=bob).json()["note"] == "bob 的"
    assert ids(bookmarks(client, alice)) == ["s-open"]
    # An unknown or expired token is nobody.
    assert client.get("/api/v1/me/bookmarks", headers=bearer("forged")).status_code == 401


def csrf_of(html: str) -> dict[str, str]:
    return {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)}


def test_a_session_cookie_needs_the_page_csrf_header(env):
    client, _ = env
    r = client.post("/guest", data={"next": "/practice", **{"csrf_token": csrf_of(client.get("/practice").text)[
        "X-CSRF-Token"]}}, follow_redirects=False)
    assert r.status_code == 303
    assert star(client, {}, "s-single").status_code == 403  # the browser's cookie alone is not enough
    assert note(client, {}, "s-single", "x").status_code == 403
    assert rows(client) == []
    token = csrf_of(client.get("/practice").text)
    assert star(client, token, "s-single").status_code == 200
    assert ids(bookmarks(client, {})) == ["s-single"]  # a read needs no token


# --- a content reload that merges ids -----------------------------------------------------------------


def test_a_bookmark_and_a_note_survive_a_reload_that_renames_and_merges_ids(env, content_dir):
    client, clock = env
    h = guest(client)
    first_star = star(client, h, "s-multiple").json()["starred_at"]
    assert note(client, h, "s-multiple", "旧 id 上的笔记").status_code == 200
    clock.advance(minutes=1)
    assert note(client, h, "s-single", "新 id 上的笔记").status_code == 200  # the item s-multiple merges into
    assert star(client, h, "s-single").status_code == 200  # starred later
    other = guest(client)
    assert note(client, other, "s-multiple", "别人的").status_code == 200

    bank = content_dir / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    start = text.index("## s-multiple")
    end = text.index("## s-numeric")
    single_meta = text.index("type: single")
    # s-multiple goes; s-single replaces it.
    text = text[:single_meta] + "replaces: [s-multiple]\n" + text[single_meta:start] + text[end:]
    bank.write_text(text, encoding="utf-8")
    r = client.post("/api/v1/admin/reload", headers=bearer(ADMIN))
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/questions/s-multiple").status_code == 404

    merged = client.get("/api/v1/me/notes/s-single", headers=h).json()
    assert merged["starred"] is True and merged["starred_at"] == first_star  # since the earlier star
    assert merged["note"] == "新 id 上的笔记\n\n---\n\n旧 id 上的笔记"  # both kept, the later one first
    assert ids(bookmarks(client, h)) == ["s-single"]
    # The old id still finds the mark (a report's frozen plan holds it), and writes land on the new one.
    assert client.get("/api/v1/me/notes/s-multiple", headers=h).json()["question_id"] == "s-single"
    assert note(client, h, "s-multiple", "改过").json()["question_id"] == "s-single"
    assert client.get("/api/v1/me/notes/s-single", headers=h).json()["note"] == "改过"
    assert client.get("/api/v1/me/notes/s-single", headers=other).json()["note"] == "别人的"
    assert sorted(qid for _, qid in rows(client)) == ["s-single", "s-single"]


# --- the contract ---------------------------------------------------------------------------------------


def test_every_status_is_in_the_openapi_responses(env):
    client, _ = env
    paths = client.get("/openapi.json").json()["paths"]
    writes = [paths["/api/v1/me/bookmarks/{question_id}"]["put"], paths["/api/v1/me/bookmarks/{question_id}"]["delete"],
              paths["/api/v1/me/notes/{question_id}"]["put"]]
    for op in writes:
        assert {"200", "401", "403", "404", "413", "422", "429"} <= set(op["responses"]), op["responses"].keys()
    assert {"200", "401", "404", "422"} <= set(paths["/api/v1/me/notes/{question_id}"]["get"]["responses"])
    listing = paths["/api/v1/me/bookmarks"]["get"]
    assert {"200", "401", "422"} <= set(listing["responses"])
    assert {p["name"] for p in listing["parameters"]} == {"bank", "topic", "type", "limit", "cursor"}
