"""The account page (issue 15): the password changed with the current one, the archive, the account deleted,
a guest offered to keep the account instead; forms with the CSRF token, in zh and en, SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.test_account_api import PASSWORD, add_work, rows_of
from tests.test_web_pages import csrf_of, start_guest


def signed_up(client: TestClient, name: str) -> str:
    """Register `name` through the page; the CSRF token of the account page."""
    page = client.get("/register")
    r = client.post("/register", data={"username": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    return csrf_of(client.get("/account").text)


def my_id(client: TestClient) -> int:
    return client.get("/api/v1/me/archive").json()["account"]["id"]


def test_the_account_page_in_both_languages(db_client):
    client = db_client
    assert client.get("/account", follow_redirects=False).headers["location"] == "/login"
    signed_up(client, "alice")
    zh = client.get("/account")
    assert zh.status_code == 200 and "当前登录的账号：alice" in zh.text
    for text in ("修改密码", "下载全部数据（JSON）", "永久删除账号", 'href="/api/v1/me/archive"', 'href="/account"'):
        assert text in zh.text, text
    en = client.get("/account?lang=en")
    for text in ("Signed in as alice", "Change password", "Download everything (JSON)", "Delete my account for good"):
        assert text in en.text, text
    assert "修改密码" not in en.text


def test_the_password_changes_on_the_page_and_other_sessions_end(db_client):
    client = db_client
    csrf = signed_up(client, "alice")
    elsewhere = TestClient(client.app)
    login = elsewhere.get("/login")
    elsewhere.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(login.text)})
    assert elsewhere.get("/account").status_code == 200

    assert client.post("/account/password", data={"current_password": PASSWORD,
                                                  "new_password": "brand-new-pass"}).status_code == 403  # no CSRF
    wrong = client.post("/account/password", data={"csrf_token": csrf, "current_password": "wrong-guess-1",
                                                   "new_password": "brand-new-pass"})
    assert wrong.status_code == 403 and "当前密码不对。" in wrong.text
    assert "wrong-guess-1" not in wrong.text and "brand-new-pass" not in wrong.text  # nothing sensitive kept
    short = client.post("/account/password?lang=en", data={"csrf_token": csrf, "current_password": PASSWORD,
                                                           "new_password": "short"})
    assert short.status_code == 422 and "A new password is 8-256 characters." in short.text
    wrong_en = client.post("/account/password", data={"csrf_token": csrf, "current_password": "wrong-guess-2",
                                                      "new_password": "brand-new-pass"})
    assert wrong_en.status_code == 403 and "The current password is wrong." in wrong_en.text
    client.get("/?lang=zh")

    r = client.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD,
                                               "new_password": "brand-new-pass"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account?done=password#password"
    done = client.get("/account?done=password")
    assert done.status_code == 200 and "密码已修改" in done.text  # this session stays
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303  # that one ended
    fresh = TestClient(client.app)
    page = fresh.get("/login")
    assert fresh.post("/login", data={"username": "alice", "password": PASSWORD,
                                      "csrf_token": csrf_of(page.text)}).status_code == 401
    assert fresh.post("/login", data={"username": "alice", "password": "brand-new-pass",
                                      "csrf_token": csrf_of(page.text)}, follow_redirects=False).status_code == 303


def test_a_guest_is_offered_to_keep_the_account_instead(db_client):
    client = db_client
    start_guest(client)
    page = client.get("/account")
    assert page.status_code == 200 and 'id="keep-account" href="/account/keep"' in page.text
    assert "注册，保留这个账号" in page.text and 'name="current_password"' not in page.text
    assert "Keep this account by registering" in client.get("/account?lang=en").text
    r = client.post("/account/password", data={"csrf_token": csrf_of(page.text), "current_password": "x" * 8,
                                               "new_password": "brand-new-pass"})
    assert r.status_code == 409 and 'id="keep-account"' in r.text


def test_deleting_the_account_on_the_page(db_client):
    client = db_client
    csrf = signed_up(client, "alice")
    add_work(client, {"X-CSRF-Token": csrf})
    uid = my_id(client)
    other = TestClient(client.app)
    other_csrf = signed_up(other, "bob")
    add_work(other, {"X-CSRF-Token": other_csrf})
    before, other_before = rows_of(client, uid), rows_of(client, my_id(other))

    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 403  # no CSRF
    empty = client.post("/account/delete", data={"csrf_token": csrf})
    assert empty.status_code == 400 and "请输入密码。" in empty.text
    wrong = client.post("/account/delete", data={"csrf_token": csrf, "password": "not-my-pass"})
    assert wrong.status_code == 403 and "当前密码不对。" in wrong.text and "not-my-pass" not in wrong.text
    assert rows_of(client, uid) == before

    r = client.post("/account/delete", data={"csrf_token": csrf, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?deleted=1"
    assert "mj_session" in r.headers["set-cookie"]  # cleared
    home = client.get("/?deleted=1")
    assert "账号和它的全部数据已删除。" in home.text and "alice" not in home.text
    assert "Your account and all of its data have been deleted." in client.get("/?deleted=1&lang=en").text
    assert set(rows_of(client, uid).values()) == {0}
    assert rows_of(client, my_id(other)) == other_before


def test_a_guest_deletes_its_account_after_ticking_the_box(db_client):
    client = db_client
    start_guest(client)
    uid = my_id(client)
    page = client.get("/account")
    assert 'name="confirm" value="yes"' in page.text and 'name="password"' not in page.text
    unticked = client.post("/account/delete", data={"csrf_token": csrf_of(page.text)})
    assert unticked.status_code == 400 and "请先勾选确认框。" in unticked.text
    r = client.post("/account/delete", data={"csrf_token": csrf_of(page.text), "confirm": "yes"},
                    follow_redirects=False)
    assert r.status_code == 303 and set(rows_of(client, uid).values()) == {0}


def test_the_login_page_says_when_a_reset_link_set_the_password(client):
    assert "新密码已设置，请用它登录。" in client.get("/login?reset=1").text
    assert "Your new password is set: log in with it." in client.get("/login?reset=1&lang=en").text
    assert 'id="notice"' not in client.get("/login").text
