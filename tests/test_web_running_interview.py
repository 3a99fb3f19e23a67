"""Starting a round that already runs, in the pages: nothing starts silently; a page offers to continue the
running interview or to abandon it (explicitly) and start again. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Clock, make_settings
from tests.test_unscored_items import write_content
from tests.test_web_pages import csrf_of


@pytest.fixture
def client(db_url, tmp_path) -> Iterator[TestClient]:
    """The fixture content and a second round (`intro`), with a test clock."""
    app = create_app(make_settings(database_url=db_url, content_dir=write_content(tmp_path / "content", scored=False)))
    app.state.clock = Clock()
    with TestClient(app) as c:
        yield c


def start(client: TestClient, round_id: str = "mini", **fields: str):
    page = client.get("/")
    return client.post("/start", data={"round": round_id, "csrf_token": csrf_of(page.text), **fields},
                       follow_redirects=False)


def states(client: TestClient) -> dict[str, str]:
    return {i["id"]: i["state"] for i in client.get("/api/v1/interviews").json()["items"]}


def test_a_second_start_offers_to_continue_or_to_abandon_and_start_again(client):
    first = start(client)
    assert first.status_code == 303
    running_id = first.headers["location"].rsplit("/", 1)[1]
    csrf = csrf_of(client.get(first.headers["location"]).text)
    client.put(f"/api/v1/interviews/{running_id}/answers/0", json={"answer": "按通道求均值"},
               headers={"X-CSRF-Token": csrf})
    client.app.state.clock.advance(minutes=3)

    again = start(client)
    assert again.status_code == 409 and "text/html" in again.headers["content-type"]
    assert states(client) == {running_id: "active"}  # nothing started, nothing abandoned
    page = again.text
    assert "这一轮的面试还在进行" in page and "迷你轮" in page
    assert "剩余约 7 分钟" in page and "已作答 1 / " in page
    assert f'id="resume" href="/interviews/{running_id}"' in page
    form = re.search(r'<form method="post" action="/start" id="restart-form".*?</form>', page, re.S).group(0)
    assert 'class="confirm-first"' in form and "data-confirm=" in form and "放弃并重新开始" in form
    assert f'name="abandon" value="{running_id}"' in form and 'name="round" value="mini"' in form
    assert 'name="csrf_token"' in form
    english = client.post("/start?lang=en", data={"round": "mini", "csrf_token": csrf}, follow_redirects=False)
    assert english.status_code == 409 and "Abandon and start again" in english.text
    client.get("/?lang=zh")

    # Continue: the running interview, as it was.
    assert client.get(f"/interviews/{running_id}").status_code == 200

    # Abandon and start again: the running one is abandoned (kept in the history), a new one starts.
    restarted = start(client, abandon=running_id)
    assert restarted.status_code == 303
    new_id = restarted.headers["location"].rsplit("/", 1)[1]
    assert new_id != running_id
    assert states(client) == {running_id: "abandoned", new_id: "active"}
    assert "面试已放弃" in client.get(f"/interviews/{running_id}/report").text


def test_abandon_and_start_again_needs_the_csrf_token(client):
    running_id = start(client).headers["location"].rsplit("/", 1)[1]
    r = client.post("/start", data={"round": "mini", "abandon": running_id}, follow_redirects=False)
    assert r.status_code == 403
    assert states(client) == {running_id: "active"}


def test_abandon_names_only_the_running_interview_of_that_round(client):
    mini = start(client).headers["location"].rsplit("/", 1)[1]
    # Another round's interview is left alone: the start of `intro` goes ahead as any first start would.
    intro = start(client, "intro", abandon=mini)
    assert intro.status_code == 303
    intro_id = intro.headers["location"].rsplit("/", 1)[1]
    assert states(client) == {mini: "active", intro_id: "active"}
    # Someone else's interview: 404, and nothing changes for either of them.
    other = TestClient(client.app)
    theirs = start(other).headers["location"].rsplit("/", 1)[1]
    assert start(client, abandon=theirs).status_code == 404
    assert states(other) == {theirs: "active"} and states(client) == {mini: "active", intro_id: "active"}


def test_a_running_interview_whose_time_is_up_is_closed_and_a_new_one_starts(client):
    running_id = start(client).headers["location"].rsplit("/", 1)[1]
    client.app.state.clock.advance(minutes=20)
    r = start(client)
    assert r.status_code == 303
    new_id = r.headers["location"].rsplit("/", 1)[1]
    assert states(client) == {running_id: "finished", new_id: "active"}
