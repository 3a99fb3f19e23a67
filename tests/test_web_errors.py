"""One set of error handlers: JSON under /api, the error page elsewhere, a fragment for htmx (issue 13)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.db import upgrade
from app.errors import AppError
from app.main import create_app
from tests.conftest import make_settings
from tests.test_web_pages import csrf_of, start_guest

HTMX = {"HX-Request": "true"}


def test_unknown_page_is_the_404_page_and_unknown_api_path_json(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "找不到这个页面" in r.text and "<!doctype html>" in r.text and "返回首页" in r.text
    assert r.headers["cache-control"] == "no-store" and "content-security-policy" in r.headers
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert client.get("/static/no-such.css").status_code == 404


def test_error_page_speaks_the_visitors_language(client):
    r = client.get("/no-such-page?lang=en")
    assert r.status_code == 404 and "Page not found" in r.text and 'lang="en"' in r.text
    assert "Page not found" in client.get("/other-missing").text  # the cookie was set


def test_htmx_request_gets_a_fragment_aimed_at_the_error_area(client):
    r = client.get("/no-such-page", headers=HTMX)
    assert r.status_code == 404
    assert "<html" not in r.text and "找不到这个页面" in r.text and 'data-status="404"' in r.text
    assert r.headers["hx-retarget"] == "#htmx-error" and r.headers["hx-reswap"] == "innerHTML"
    assert 'id="htmx-error"' in client.get("/").text  # every page has the area
    client.get("/")
    r = client.post("/start", data={"round": "mini"}, headers=HTMX)
    assert r.status_code == 403 and "请求已过期" in r.text and "<html" not in r.text


def test_405_page_lists_the_allowed_methods(client):
    r = client.get("/logout")
    assert r.status_code == 405 and "不支持这种请求" in r.text and r.headers["allow"] == "POST"
    api = client.delete("/api/v1/rounds")
    assert api.status_code == 405 and "detail" in api.json() and "GET" in api.headers["allow"]


def test_signed_in_visitor_sees_their_nav_on_the_error_page(client):
    start_guest(client)
    r = client.get("/interviews/" + "0" * 32)
    assert r.status_code == 404 and "找不到这个页面" in r.text
    assert "游客" in r.text and 'action="/logout"' in r.text
    # the page's CSRF token is the session's, so the logout form on the error page works
    assert client.post("/logout", data={"csrf_token": csrf_of(r.text), "anyway": "1"},
                       follow_redirects=False).status_code == 303


def test_csrf_token_on_an_anonymous_error_page_works(client):
    page = client.get("/no-such-page")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    r = client.post("/start", data={"round": "mini", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_oversized_page_post_is_the_413_page(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url, max_body_bytes=4096))) as c:
        home = c.get("/")
        r = c.post("/start", data={"round": "mini", "csrf_token": csrf_of(home.text), "pad": "x" * 5000})
        assert r.status_code == 413 and "内容太大" in r.text
        api = c.post("/api/v1/auth/register", json={"username": "x" * 5000})
        assert api.status_code == 413 and "detail" in api.json()
        c.app.state.engine.dispose()


def test_unhandled_errors_are_a_500_without_a_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    upgrade(url)
    app = create_app(make_settings(database_url=url))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/api/v1/boom")
    def api_boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/teapot")
    def teapot() -> None:
        raise AppError("short and stout", status_code=418, headers={"Retry-After": "7"}, hint="tip")

    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/boom")
        assert page.status_code == 500 and "服务器出错了" in page.text and "secret" not in page.text
        assert "Traceback" not in page.text
        api = c.get("/api/v1/boom")
        assert api.status_code == 500 and api.json() == {"detail": "internal error"}
        fragment = c.get("/boom", headers=HTMX)
        assert fragment.status_code == 500 and "<html" not in fragment.text and "服务器出错了" in fragment.text
        other = c.get("/teapot")
        assert other.status_code == 418 and "请求无法完成" in other.text and other.headers["retry-after"] == "7"
    app.state.engine.dispose()


def test_api_errors_keep_every_key(client):
    r = client.get("/api/v1/interviews")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and "detail" in r.json()
    r = client.get("/api/v1/questions/s-open", params={"seed": "x"})
    assert r.status_code == 422 and set(r.json()) == {"detail", "errors"}
