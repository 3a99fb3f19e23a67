"""The server-rendered pages: rounds, guest start, CSRF, escaping, ownership, report, logout, headers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.db import upgrade
from app.main import create_app
from tests.conftest import make_settings

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no csrf_token field on the page"
    return m.group(1)


def start_guest(client: TestClient) -> str:
    home = client.get("/")
    r = client.post("/start", data={"round": "mini", "csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    return r.headers["location"]


def move(client: TestClient, loc: str, position: int, **kw):
    """Go to another question the way the page's forms do: POST .../position, then the page."""
    page = client.get(loc)
    r = client.post(f"{loc}/position", data={"position": str(position), "csrf_token": csrf_of(page.text)}, **kw)
    return r


def test_home_lists_rounds_with_start_form(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "迷你轮" in r.text
    assert 'action="/start"' in r.text and 'value="mini"' in r.text
    assert "10 分钟" in r.text and "2 环节" in r.text
    assert 'href="/practice"' in r.text
    assert "X-CSRF-Token" in r.text  # hx-headers on <body>


def test_security_headers(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split(
        "script-src")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in r.text.replace('<script src="', "")  # no inline scripts
    docs_csp = client.get("/docs").headers["content-security-policy"]  # its own: see tests/test_api_docs.py
    assert "'unsafe-inline'" not in docs_csp.split("script-src")[1].split(";")[0] and "http" not in docs_csp


def test_guest_start_sets_httponly_lax_cookie_and_redirects(client):
    home = client.get("/")
    r = client.post("/start", data={"round": "mini", "csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert re.fullmatch(r"/interviews/[0-9a-f]{32}", r.headers["location"])
    cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith("mj_session=")][0]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert 'data-deadline="' in page.text and 'data-server-now="' in page.text
    assert 'aria-live="assertive"' in page.text and 'aria-live="off"' in page.text
    assert "基础" in page.text and "先答基础题" in page.text


def test_interview_page_shows_each_type_and_followup(client):
    loc = start_guest(client)
    types = []
    for n in range(5):
        page = move(client, loc, n)
        assert page.status_code == 200
        types.append(re.search(r'class="card question" data-type="(\w+)"', page.text).group(1))
        if types[-1] == "numeric":
            assert "追问" in page.text
    assert sorted(types) == ["generated", "numeric", "open", "shape", "single"]


def test_post_without_csrf_is_403(client):
    client.get("/")
    assert client.post("/start", data={"round": "mini"}).status_code == 403
    assert client.post("/start", data={"round": "mini", "csrf_token": "forged"}).status_code == 403
    loc = start_guest(client)
    assert client.post(f"{loc}/finish", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "x" * 64}).status_code == 403


def test_answer_with_script_is_escaped_on_report(client):
    loc = start_guest(client)
    page = move(client, loc, 0)
    assert 'data-type="open"' in page.text
    r = client.put(f"/api/v1{loc}/answers/0", json={"answer": "<script>alert(1)</script>"},
                   headers={"X-CSRF-Token": csrf_of(page.text)})
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(loc).text
    r = client.post(f"{loc}/finish", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and r.url.path == f"{loc}/report"
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_report_has_svg_chart_scores_and_keypoint_note(client):
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    client.put(f"/api/v1{loc}/answers/0", json={"answer": "按通道求均值和方差，再用 gamma beta 缩放平移"},
               headers={"X-CSRF-Token": csrf})
    report = client.post(f"{loc}/finish", data={"csrf_token": csrf})
    assert "<svg" in report.text and 'role="img"' in report.text
    assert "总分" in report.text and "各主题得分" in report.text
    assert "要点由程序逐句自动判断：换一种说法它可能认不出来" in report.text
    assert "这是要点覆盖率" not in report.text
    assert 'data-rate="again"' in report.text and 'data-rate="easy"' in report.text
    assert "/practice?topic=" in report.text
    assert "@media print" in client.get("/static/app.css").text
    history = client.get("/history")
    assert history.status_code == 200 and "<svg" in history.text and "迷你轮" in history.text


def test_another_users_interview_is_404(client, tmp_path):
    loc = start_guest(client)
    other = TestClient(client.app)
    start_guest(other)
    r = other.get(loc)
    assert r.status_code == 404 and "找不到" in r.text and "text/html" in r.headers["content-type"]
    assert other.get(loc + "/report").status_code == 404
    assert TestClient(client.app).get(loc).status_code == 404  # no session at all


def test_logout_ends_session_on_server(client):
    loc = start_guest(client)
    page = client.get(loc)
    raw_cookie = client.cookies.get("mj_session")
    # A guest with an interview confirms first (tests/test_web_guest_logout.py): "anyway".
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text), "anyway": "1"}, follow_redirects=False)
    assert r.status_code == 303
    # Replaying the old cookie does not work: the token was revoked on the server.
    replay = TestClient(client.app)
    replay.cookies.set("mj_session", raw_cookie)
    assert replay.get(loc).status_code == 404
    assert replay.get("/api/v1/interviews").status_code == 401


def test_register_login_rotate_session_and_keep_guest(client):
    loc = start_guest(client)
    keep = client.get("/account/keep")
    assert keep.status_code == 200
    guest_cookie = client.cookies.get("mj_session")
    r = client.post("/account/keep", data={"username": "alice", "password": "s3cret-pass",
                                           "csrf_token": csrf_of(keep.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.cookies.get("mj_session") != guest_cookie  # a new session id
    assert client.get(loc).status_code == 200  # the kept account still owns its interview
    old = TestClient(client.app)
    old.cookies.set("mj_session", guest_cookie)
    assert old.get(loc).status_code == 404

    fresh = TestClient(client.app)
    login_page = fresh.get("/login")
    bad = fresh.post("/login", data={"username": "alice", "password": "wrong-pass",
                                     "csrf_token": csrf_of(login_page.text)})
    assert bad.status_code == 401 and "用户名或密码不对" in bad.text
    ok = fresh.post("/login", data={"username": "alice", "password": "s3cret-pass",
                                    "csrf_token": csrf_of(login_page.text)}, follow_redirects=False)
    assert ok.status_code == 303
    assert fresh.get(loc).status_code == 200

    reg = TestClient(client.app)
    page = reg.get("/register")
    r = reg.post("/register", data={"username": "bob", "password": "another-pass",
                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert "bob" in reg.get("/").text


def test_language_switch_sets_cookie(client):
    r = client.get("/?lang=en")
    assert "Mock interviews" in r.text and 'lang="en"' in r.text
    assert "Mock interviews" in client.get("/").text
    assert "模拟面试" in client.get("/?lang=zh").text


def test_practice_page_shows_one_question_and_the_filters(client):
    r = client.get("/practice")
    assert r.status_code == 200 and "示例题库" in r.text and r.text.count('class="practice-form') == 1
    r = client.get("/practice?topic=BN")
    assert r.status_code == 200 and "BN" in r.text


def test_app_from_factory_serves_pages(tmp_path):

    url = f"sqlite:///{tmp_path / 'f.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url))) as c:
        assert c.get("/").status_code == 200


def test_guest_flow_on_each_database(db_client):
    """Start, answer, finish and read the report over SQLite and PostgreSQL."""
    loc = start_guest(db_client)
    page = move(db_client, loc, 2)
    assert page.status_code == 200 and 'data-type="numeric"' in page.text
    assert db_client.put(f"/api/v1{loc}/answers/2", json={"answer": "128"},
                         headers={"X-CSRF-Token": csrf_of(page.text)}).status_code == 200
    report = db_client.post(f"{loc}/finish", data={"csrf_token": csrf_of(page.text)})
    assert report.status_code == 200 and "<svg" in report.text
    assert TestClient(db_client.app).get(loc + "/report").status_code == 404


def test_i18n_tables_have_the_same_keys():
    from app.web.i18n import STRINGS

    assert set(STRINGS["zh"]) == set(STRINGS["en"])


def test_page_csrf_token_is_hmac_of_the_session_and_works_as_header(client):
    import hashlib
    import hmac

    from itsdangerous import URLSafeSerializer

    loc = start_guest(client)
    page = client.get(loc)
    token = csrf_of(page.text)
    assert f'<meta name="csrf-token" content="{token}">' in page.text

    raw = URLSafeSerializer("test-secret", salt="session").loads(client.cookies.get("mj_session"))
    assert token == hmac.new(b"test-secret", ("session:" + raw).encode(), hashlib.sha256).hexdigest()
    # htmx-style POST: the token in the X-CSRF-Token header instead of the form field.
    r = client.post(f"{loc}/finish", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_practice_with_unknown_topic_says_so(client):
    r = client.get("/practice?topic=没有这个主题")
    assert r.status_code == 200 and "没有符合条件的题目" in r.text


def test_cookie_authenticated_api_writes_need_the_csrf_header(client):
    loc = start_guest(client)
    iid = loc.rsplit("/", 1)[1]
    page = client.get(loc)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    url = f"/api/v1/interviews/{iid}/answers/0"
    assert client.put(url, json={"answer": "x"}).status_code == 403
    assert client.put(url, json={"answer": "x"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.put(url, json={"answer": "x"}, headers={"X-CSRF-Token": token}).status_code == 200
    assert client.get(f"/api/v1/interviews/{iid}").status_code == 200  # reads need no token


def test_share_link_from_the_report_page(client):
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    report = client.post(f"{loc}/finish", data={"csrf_token": csrf})
    assert "创建只读分享链接" in report.text
    assert client.post(f"{loc}/share", data={}).status_code == 403  # CSRF
    shared = client.post(f"{loc}/share", data={"csrf_token": csrf})
    url = re.search(r'id="share-url" type="text" readonly value="([^"]+)"', shared.text).group(1)
    path = "/" + url.split("/", 3)[3]
    assert TestClient(client.app).get(path).status_code == 200
    client.post(f"{loc}/share", data={"csrf_token": csrf, "action": "revoke"})
    assert TestClient(client.app).get(path).status_code == 404


def test_cookie_is_secure_and_host_prefixed_behind_https(tmp_path):
    url = f"sqlite:///{tmp_path / 'https.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url)), base_url="https://testserver") as c:
        home = c.get("/")
        r = c.post("/start", data={"round": "mini", "csrf_token": csrf_of(home.text)}, follow_redirects=False)
        cookie = [v for v in r.headers.get_list("set-cookie") if v.startswith("__Host-mj_session=")][0]
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert c.get(r.headers["location"]).status_code == 200


def _position(client: TestClient, loc: str) -> int:
    return int(re.search(r'id="interview"[^>]*data-position="(\d+)"', client.get(loc).text).group(1))


def test_get_with_q_does_not_move_the_interview(client):
    loc = start_guest(client)
    assert _position(client, loc) == 0
    page = client.get(loc + "?q=3")
    assert page.status_code == 200 and _position(client, loc) == 0
    # No link moves by ?q= (only the language switch repeats the page's own query).
    assert page.text.count("?q=") == page.text.count('href="?q=3&amp;lang=en"') == 1
    assert f'action="{loc}/position"' in page.text


def test_post_position_moves_and_redirects(client):
    loc = start_guest(client)
    r = move(client, loc, 3, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == loc
    assert _position(client, loc) == 3
    page = client.get(loc)
    assert 'name="position" value="2" data-move="prev"' in page.text
    assert 'name="position" value="4" data-move="next"' in page.text
    assert 'aria-current="step"' in page.text


def test_post_position_over_htmx_answers_the_interview_part(client):
    loc = start_guest(client)
    csrf = csrf_of(client.get(loc).text)
    r = client.post(f"{loc}/position", data={"position": "1"}, headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert r.status_code == 200 and "<html" not in r.text and r.text.lstrip().startswith('<div id="interview"')
    assert 'data-position="1"' in r.text and _position(client, loc) == 1


def test_post_position_needs_the_csrf_token(client):
    loc = start_guest(client)
    assert client.post(f"{loc}/position", data={"position": "2"}).status_code == 403
    assert client.post(f"{loc}/position", data={"position": "2", "csrf_token": "forged"}).status_code == 403
    assert _position(client, loc) == 0


def test_post_position_on_another_users_interview_is_404(client):
    loc = start_guest(client)
    other = TestClient(client.app)
    start_guest(other)
    page = other.get("/")
    r = other.post(f"{loc}/position", data={"position": "2", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 404 and "找不到" in r.text
    assert _position(client, loc) == 0
    nobody = TestClient(client.app)
    page = nobody.get("/")
    assert nobody.post(f"{loc}/position", data={"position": "2", "csrf_token": csrf_of(page.text)}).status_code == 404


def test_post_position_out_of_range_is_refused(client):
    loc = start_guest(client)
    assert move(client, loc, 99).status_code == 404
    page = client.get(loc)
    assert client.post(f"{loc}/position", data={"position": "x", "csrf_token": csrf_of(page.text)}).status_code == 422
    assert _position(client, loc) == 0


def test_the_language_switch_keeps_the_page_query(client):
    page = client.get("/practice?topic=BN&type=numeric").text
    assert 'href="?topic=BN&amp;type=numeric&amp;lang=en"' in page
    english = client.get("/practice?topic=BN&type=numeric&lang=en").text
    assert 'href="?topic=BN&amp;type=numeric&amp;lang=zh"' in english
