"""A guest who presses 退出 is told what signing out loses (no way leads back to a guest account) and offered
to keep it by registering, or to sign out anyway; registered users sign out at once. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.test_web_pages import csrf_of, start_guest


def logout(client: TestClient, csrf: str, **fields: str):
    return client.post("/logout", data={"csrf_token": csrf, **fields}, follow_redirects=False)


def test_a_guest_with_work_is_warned_with_counts_and_offered_to_keep_it(db_client):
    client = db_client
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    token = {"X-CSRF-Token": csrf}
    assert client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=token).status_code == 200
    assert client.post("/api/v1/questions/s-numeric/check", json={"answer": "64"}, headers=token).status_code == 200

    warned = logout(client, csrf)
    assert warned.status_code == 200 and "退出前请注意" in warned.text
    counts = dict(re.findall(r'<li data-count="(\w+)">([^<]+)</li>', warned.text))
    assert counts == {"interviews": "模拟面试：1 场", "cards": "复习卡片：2 张", "attempts": "作答记录：2 条"}
    assert 'id="keep-work" href="/account/keep"' in warned.text
    anyway = re.search(r'<form method="post" action="/logout" id="logout-anyway">.*?</form>', warned.text, re.S).group(0)
    assert 'name="anyway" value="1"' in anyway and 'name="csrf_token"' in anyway and "仍然退出" in anyway
    assert client.get(loc).status_code == 200  # still signed in: the warning signs nobody out

    english = client.post("/logout?lang=en", data={"csrf_token": csrf}, follow_redirects=False)
    assert english.status_code == 200 and "Mock interviews: 1" in english.text and "Log out anyway" in english.text
    client.get("/?lang=zh")

    r = logout(client, csrf, anyway="1")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert client.get(loc).status_code == 404  # signed out: the guest's interview is out of reach


def test_keeping_the_work_from_the_warning_then_logging_out_at_once(db_client):
    client = db_client
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    assert logout(client, csrf).status_code == 200
    keep = client.get("/account/keep")
    r = client.post("/account/keep", data={"username": "keeper", "password": "s3cret-pass",
                                           "csrf_token": csrf_of(keep.text)}, follow_redirects=False)
    assert r.status_code == 303
    csrf = csrf_of(client.get(loc).text)  # a new session, a new token
    r = logout(client, csrf)  # registered now: no warning
    assert r.status_code == 303 and client.get(loc).status_code == 404


def test_registered_users_and_guests_without_work_log_out_at_once(db_client):
    client = db_client
    page = client.get("/register")
    client.post("/register", data={"username": "alice", "password": "s3cret-pass", "csrf_token": csrf_of(page.text)})
    start_guest(client)  # alice's interview, not a guest's
    assert logout(client, csrf_of(client.get("/").text)).status_code == 303
    assert "alice" not in client.get("/").text

    fresh = TestClient(client.app)
    practice = fresh.get("/practice")
    fresh.post("/guest", data={"csrf_token": csrf_of(practice.text), "next": "/practice"})
    assert "游客" in fresh.get("/").text
    assert logout(fresh, csrf_of(fresh.get("/").text)).status_code == 303  # nothing to lose
    assert "游客" not in fresh.get("/").text


def test_the_warning_is_a_post_with_the_csrf_token(db_client):
    client = db_client
    start_guest(client)
    assert client.post("/logout", data={"anyway": "1"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
