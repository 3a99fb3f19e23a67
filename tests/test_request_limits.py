"""Limits for an open service: the request's shape, and the text that reaches the database.

Query strings: length and parameter count capped at the edge in O(n) (414), repeated API parameters 422.
Answers: nesting capped (MIANJING_MAX_JSON_DEPTH) and size capped (MIANJING_MAX_ANSWER_CHARS) with a 422
before anything is stored; answers stored deeper by older versions read as null with a flag, never a 500.
Text: NUL and lone surrogates refused with a 4xx wherever they come in (path, query, form, JSON), on both
databases; the username and password rules are the same on the pages, the API and the command line.
CSRF: a token that is not even ASCII is a 403 like any wrong one. The limit tests set the limits low.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from api_helpers import guest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.auth.rules import BadCredentials, new_credentials
from app.db import upgrade
from app.limits import RequestLimits, RequestShapeLimits
from app.main import create_app
from app.models import Attempt, InterviewAnswer, User
from app.scoring.answers import MAX_READABLE_DEPTH, answer_problem, readable_answer
from tests.conftest import make_settings

PASSWORD = "correct horse battery"  # noqa: S105 - a test value
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
META_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def nested(depth: int, leaf: Any = "x") -> Any:
    """`leaf` inside `depth` lists."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_body(depth: int) -> bytes:
    """{"answer": nested(depth)} as JSON, at any depth (orjson and json.dumps stop at 255 and ~1000)."""
    return b'{"answer":' + b"[" * depth + b'"x"' + b"]" * depth + b"}"


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no csrf_token field on the page"
    return m.group(1)


def start(client: TestClient, headers: dict[str, str]) -> str:
    r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def open_position(client: TestClient, headers: dict[str, str], interview_id: str) -> int:
    state = client.get(f"/api/v1/interviews/{interview_id}", headers=headers).json()
    return next(q["position"] for q in state["questions"] if q["question"]["type"] == "open")


@pytest.fixture
def limited(db_url) -> Iterator[TestClient]:
    """An app on each database with low limits, so that the tests stay small."""
    app = create_app(make_settings(database_url=db_url, max_query_bytes=1024, max_query_params=10,
                                   max_json_depth=4, max_answer_chars=200))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


# --- the query string -----------------------------------------------------------------------------------


def test_a_long_query_string_is_414_for_the_api_and_the_pages(limited):
    long = "q=" + "x" * 1100
    r = limited.get(f"/api/v1/questions?{long}")
    assert r.status_code == 414 and r.json() == {"detail": "query string longer than 1024 bytes"}
    page = limited.get(f"/practice?{long}")
    assert page.status_code == 414 and page.headers["content-type"].startswith("text/html")
    assert "URL 太长" in page.text
    assert limited.get("/api/v1/questions?q=" + "x" * 100).status_code == 200  # under the limit


def test_too_many_query_parameters_are_414(limited):
    many = "&".join(f"bank=b{i}" for i in range(11))
    assert limited.get(f"/practice?{many}").status_code == 414
    r = limited.get(f"/api/v1/questions?{many}")
    assert r.status_code == 414 and r.json() == {"detail": "more than 10 query parameters"}
    ten = "&".join(f"bank=b{i}" for i in range(10))
    assert limited.get(f"/practice?{ten}", follow_redirects=False).status_code in (200, 303)
    # Empty pieces are no parameters.
    assert limited.get("/api/v1/questions?limit=5" + "&" * 30).status_code == 200


def test_repeated_api_parameters_are_still_422_and_pages_still_take_them(limited):
    r = limited.get("/api/v1/questions?limit=1&limit=2&bank=a&%62ank=b")
    assert r.status_code == 422 and r.json()["detail"] == "query parameter given more than once: bank, limit"
    assert limited.get("/practice?bank=a&bank=b", follow_redirects=False).status_code in (200, 303)


def test_refusing_a_64_kb_query_string_is_cheap():
    """The check that took 4.6 s on `a=1&a=1&…` (a count per key) is one pass of C code: under 5 ms for
    every shape of a hostile query string, at the default limits."""
    limits = RequestShapeLimits(None, RequestLimits())  # type: ignore[arg-type]
    worst = {  # query string -> the status it gets (None: passed on to the app)
        b"&".join([b"a=1"] * 16_384): 414,  # 64 KB
        b"&".join(b"k%d=1" % i for i in range(8_000)): 414,  # 64 KB of distinct keys
        b"&".join([b"a=1"] * 2_000): 414,  # 8 KB, under the byte limit: too many parameters
        b"&" * 8_000: None,  # empty pieces are no parameters
        b"&".join([b"seed=1"] * 128): 422,  # at the count limit, all repeated
        b"&".join(b"p%d=%d" % (i, i) for i in range(128)): None,
        b"q=" + b"%00" * 2_000: 422,
    }
    for query, status in worst.items():
        scope = {"type": "http", "path": "/api/v1/questions", "query_string": query}
        refusal = limits.refusal(scope)
        assert (refusal[0] if refusal else None) == status, (query[:40], refusal)
        best = min(_seconds(limits.refusal, scope) for _ in range(5))
        assert best < 0.005, (query[:40], best)
    assert limits.refusal({"type": "http", "path": "/api/v1/questions", "query_string": b"q=x&limit=3"}) is None


def _seconds(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


# --- NUL in the URL -----------------------------------------------------------------------------------


def test_nul_anywhere_in_the_url_is_422_never_a_500(db_client):
    """PostgreSQL refuses NUL in text: /shared/%00 was a 500 there. Path parameters and query values are
    refused at the edge, on every route, before anything looks them up."""
    h = guest(db_client)
    iid = start(db_client, h)
    api = [f"/api/v1/interviews/{iid}%00", "/api/v1/interviews/%00/report", "/api/v1/questions/%00",
           "/api/v1/questions?q=a%00", "/api/v1/questions?bank=%00", "/api/v1/me/stats?tz=UTC%00",
           "/api/v1/practice/next?topic=%00"]
    for url in api:
        r = db_client.get(url, headers=h)
        assert r.status_code == 422 and "NUL" in r.json()["detail"], (url, r.status_code, r.text)
    r = db_client.put("/api/v1/interviews/%00/answers/0", json={"answer": "x"}, headers=h)
    assert r.status_code == 422, r.text
    for url in ("/shared/%00", "/shared/abc%00def", f"/interviews/{iid}%00", "/practice?bank=%00",
                "/reviews?skip=%00", "/?lang=%00"):
        r = db_client.get(url)
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), (url, r.status_code)
        assert "\x00" not in r.text
    # Invalid UTF-8 in a URL is decoded to U+FFFD, which is text: an ordinary miss.
    assert db_client.get("/shared/%ED%A0%80").status_code == 404
    assert db_client.get("/api/v1/questions/%ED%A0%80").status_code == 404


# --- text in bodies and forms ----------------------------------------------------------------------------


def _page_csrf(client: TestClient, url: str = "/register") -> str:
    return csrf_of(client.get(url).text)


def test_nul_and_lone_surrogates_in_json_strings_are_422(db_client):
    h = {**guest(db_client), "content-type": "application/json"}
    bodies = {
        "/api/v1/interviews": [b'{"round":"mini\\u0000"}', b'{"round":"mini\\ud800"}'],
        "/api/v1/auth/token": [b'{"username":"a\\u0000","password":"12345678"}',
                               b'{"username":"abc","password":"1234567\\udfff"}'],
        "/api/v1/auth/register": [b'{"username":"a\\u0000bc","password":"12345678"}',
                                  b'{"username":"abcd","password":"1234567\\ud800"}',
                                  b'{"username":"abcd","password":"1234567\\u0000"}'],
        "/api/v1/questions/s-open/check": [b'{"answer":"\\u0000"}', b'{"answer":["A",{"k\\u0000":1}]}'],
    }
    for url, cases in bodies.items():
        for body in cases:
            r = db_client.post(url, content=body, headers=h)
            assert r.status_code == 422, (url, body, r.status_code, r.text)
            # (pydantic's own str validation refuses a lone surrogate: "unable to parse … as a unicode string")
            assert any(why in r.text for why in ("NUL", "surrogate", "unicode string", "pattern")), r.text
    iid = start(db_client, h)
    r = db_client.put(f"/api/v1/interviews/{iid}/answers/0", content=b'{"answer":"a\\u0000b"}', headers=h)
    assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text
    # An account that exists: a surrogate in the password is refused before argon2 sees it (a 500 before).
    assert db_client.post("/api/v1/auth/register", json={"username": "erin", "password": PASSWORD}).status_code == 201
    r = db_client.post("/api/v1/auth/token", content=b'{"username":"erin","password":"abc\\ud800defgh"}',
                       headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("mode", ["register", "keep", "login"])
def test_nul_and_lone_surrogates_in_form_fields_are_4xx_on_every_account_form(db_client, mode):
    """A NUL in a username on the register and keep forms was a 500 on PostgreSQL. A urlencoded form can
    carry NUL (%00); a multipart one decoded by a charset the client names (unicode_escape) can carry lone
    surrogates too: both are refused before anything is looked up."""
    client = db_client
    if mode == "keep":
        home = client.get("/")
        assert client.post("/start", data={"round": "mini", "csrf_token": csrf_of(home.text)}).status_code == 200
    url = "/account/keep" if mode == "keep" else f"/{mode}"
    csrf = _page_csrf(client, url)
    for username, password in (("ab\x00cd", PASSWORD), ("abcd", PASSWORD + "\x00")):
        r = client.post(url, data={"username": username, "password": password, "csrf_token": csrf})
        assert r.status_code == 422, (username, password, r.status_code)
    boundary = "b0undary"
    for field, escaped in (("username", "ab\\ud800cd"), ("password", "passw\\udfffrd"), ("username", "ab\\x00cd")):
        fields = {"username": "abcd", "password": PASSWORD, "csrf_token": csrf, field: escaped}
        body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                       for k, v in fields.items()) + f"--{boundary}--\r\n"
        r = client.post(url, content=body.encode(),
                        headers={"content-type": f"multipart/form-data; boundary={boundary}; charset=unicode_escape"})
        assert r.status_code == 422, (field, escaped, r.status_code, r.text[:200])
    with Session(client.app.state.engine) as db:
        assert db.exec(select(User).where(User.username == "abcd")).first() is None


def test_nul_in_the_other_form_fields_is_422(db_client):
    csrf = _page_csrf(db_client, "/")
    assert db_client.post("/start", data={"round": "mini\x00", "csrf_token": csrf}).status_code == 422
    assert db_client.post("/guest", data={"next": "/practice\x00", "csrf_token": csrf}).status_code == 422


# --- one set of username and password rules ------------------------------------------------------------


CANDIDATES = [
    ("alice", PASSWORD), ("  bob  ", PASSWORD), ("名字", PASSWORD), ("王小明", PASSWORD), ("李雷_01.x-y", PASSWORD), ("ab", PASSWORD),
    ("a" * 32, PASSWORD), ("a" * 33, PASSWORD), ("a b", PASSWORD), ("ann@example.com", PASSWORD),
    ("ab\x00cd", PASSWORD), ("zoë", PASSWORD), ("carol", "short"), ("dave", "x" * 256), ("erin", "x" * 257),
    ("frank", "pass\x00word"), ("😀😀😀", PASSWORD),
]


def test_the_register_page_and_the_api_apply_the_same_username_rules(client, tmp_path):
    """Before, the page took any 1-64 characters (spaces, @, NUL); now the pages, the API and
    `mianjing user create` share app.auth.rules. Each side registers every candidate in its own database."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url))) as pages:
        for username, password in CANDIDATES:
            try:
                expected = new_credentials(username, password)
            except BadCredentials:
                expected = None
            api = client.post("/api/v1/auth/register", json={"username": username, "password": password})
            web = TestClient(pages.app)
            page = web.post("/register", data={"username": username, "password": password,
                                               "csrf_token": _page_csrf(web)}, follow_redirects=False)
            assert api.status_code == (201 if expected else 422), (username, api.status_code, api.text)
            assert page.status_code == (303 if expected else 422), (username, page.status_code)
        for app in (client.app, pages.app):
            with Session(app.state.engine) as db:
                names = set(db.exec(select(User.username)).all())
            assert names == {"alice", "bob", "王小明", "李雷_01.x-y", "a" * 32, "dave"}


def test_the_register_page_says_which_rule_was_broken(client):
    web = TestClient(client.app)
    r = web.post("/register", data={"username": "a b", "password": PASSWORD, "csrf_token": _page_csrf(web)})
    assert r.status_code == 422 and "用户名要 3-32 个字符" in r.text and 'value="a b"' in r.text
    r = web.post("/register", data={"username": "abc", "password": "short", "csrf_token": _page_csrf(web)})
    assert r.status_code == 422 and "密码要 8-256 个字符" in r.text


# --- answers: nesting and size ------------------------------------------------------------------------


def test_answers_nested_deeper_than_the_limit_are_422_and_nothing_is_stored(limited):
    h = guest(limited)
    iid = start(limited, h)
    url = f"/api/v1/interviews/{iid}/answers/0"
    assert limited.put(url, json={"answer": nested(4)}, headers=h).status_code == 200  # at the limit
    bodies = [nested_body(5), nested_body(255), nested_body(500), orjson.dumps({"answer": {"a": nested(4)}}),
              orjson.dumps({"answer": [1, [2, {"k": [[3]]}]]})]
    for body in bodies:
        r = limited.put(url, content=body, headers={**h, "content-type": "application/json"})
        assert r.status_code == 422 and "nested more than 4 levels" in r.json()["detail"], r.text[:200]
        r = limited.post("/api/v1/questions/s-open/check", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422 and "nested more than 4 levels" in r.json()["detail"], r.text[:200]
    state = limited.get(f"/api/v1/interviews/{iid}", headers=h).json()
    assert state["questions"][0]["answer"] == nested(4)
    # Deeper than json.loads goes (its recursion limit) is a 400, never a 500.
    r = limited.put(url, content=b'{"answer":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                    headers={**h, "content-type": "application/json"})
    assert r.status_code == 400, r.text[:200]


def test_the_default_json_depth_is_32(db_client):
    h = guest(db_client)
    iid = start(db_client, h)
    url = f"/api/v1/interviews/{iid}/answers/0"
    assert db_client.put(url, json={"answer": nested(32)}, headers=h).status_code == 200
    r = db_client.put(url, content=nested_body(33), headers={**h, "content-type": "application/json"})
    assert r.status_code == 422 and "nested more than 32 levels" in r.json()["detail"]


def test_answers_longer_than_the_limit_are_422_on_autosave_and_check(limited):
    h = guest(limited)
    iid = start(limited, h)
    pos = open_position(limited, h, iid)
    url = f"/api/v1/interviews/{iid}/answers/{pos}"
    assert limited.put(url, json={"answer": "字" * 200}, headers=h).status_code == 200
    for answer in ("字" * 201, ["x" * 150, "y" * 51], {"k" * 150: "v" * 51}):
        r = limited.put(url, json={"answer": answer}, headers=h)
        assert r.status_code == 422 and "at most 200 are accepted" in r.json()["detail"], r.text
        r = limited.post("/api/v1/questions/s-open/check", json={"answer": answer}, headers=h)
        assert r.status_code == 422 and "at most 200 are accepted" in r.json()["detail"], r.text
    assert limited.get(f"/api/v1/interviews/{iid}", headers=h).json()["questions"][pos]["answer"] == "字" * 200


def test_the_default_answer_limit_is_20000_characters_and_open_answers_that_long_are_scored(client):
    ok = client.post("/api/v1/questions/s-open/check", json={"answer": "均值和方差" * 4000})
    assert ok.status_code == 200 and ok.json()["score"] > 0  # 20,000 characters: scored, not "too long"
    r = client.post("/api/v1/questions/s-open/check", json={"answer": "均值和方差" * 4000 + "x"})
    assert r.status_code == 422 and "20001 characters long; at most 20000" in r.json()["detail"]


def test_answer_problem_walks_without_recursion():
    assert answer_problem(nested(100_000), max_depth=32, max_chars=10) == \
        "is nested more than 32 levels deep (lists and objects)"
    assert answer_problem({"a": [1, 2.5, None, True, "é"]}, max_depth=2, max_chars=10) is None
    assert "surrogate" in answer_problem(["ok", "\ud800"], max_depth=2, max_chars=10)
    assert readable_answer(nested(MAX_READABLE_DEPTH)) and not readable_answer(nested(MAX_READABLE_DEPTH + 1))
    assert readable_answer("x" * 10) and readable_answer(None) and not readable_answer(nested(100_000))


# --- answers stored too deep by older versions ------------------------------------------------------------


def test_every_read_of_a_user_with_answers_stored_too_deep_answers_2xx(db_client):
    """Older versions stored any nesting; one past orjson's 255 levels made the user's interview, report
    and export a 500 for good. Stored directly here, as that code did: every read answers 2xx, the answer
    reads as null with answer_unreadable set, and a new save replaces it."""
    client = db_client
    r = client.post("/register", data={"username": "deepuser", "password": PASSWORD,
                                       "csrf_token": _page_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/")
    header = {"X-CSRF-Token": META_CSRF_RE.search(page.text).group(1)}
    iid = start(client, header)
    deep = nested(300)
    with Session(client.app.state.engine) as db:
        user = db.exec(select(User).where(User.username == "deepuser")).one()
        db.add(InterviewAnswer(interview_id=iid, position=0, answer=deep))
        db.add(Attempt(user_id=user.id, question_id="s-open", answer=nested(200), score=0.0, correct=False))
        db.commit()

    state = client.get(f"/api/v1/interviews/{iid}")
    assert state.status_code == 200, state.text
    first = state.json()["questions"][0]
    assert first["answer"] is None and first["answer_unreadable"] is True and first["saved_at"]
    assert state.json()["questions"][1]["answer_unreadable"] is False
    for url in ("/api/v1/interviews", "/api/v1/me/stats", "/api/v1/me/reviews/due", f"/interviews/{iid}",
                "/history", "/dashboard", "/reviews", "/practice"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
    export = client.get("/api/v1/me/export")
    assert export.status_code == 200
    attempt = next(rec for rec in export.json() if rec["kind"] == "attempt")
    assert attempt["answer"] is None and attempt["answer_unreadable"] is True
    csv = client.get("/api/v1/me/export?format=csv")
    assert csv.status_code == 200 and csv.text.splitlines()[0].endswith(",answer_unreadable")

    assert client.post(f"/api/v1/interviews/{iid}/finish", headers=header).status_code == 200  # scored as is
    report = client.get(f"/api/v1/interviews/{iid}/report")
    assert report.status_code == 200, report.text
    assert report.json()["questions"][0]["answer"] is None and report.json()["questions"][0]["answer_unreadable"]
    page = client.get(f"/interviews/{iid}/report")
    assert page.status_code == 200 and "嵌套太深" in page.text
    token = client.post(f"/api/v1/interviews/{iid}/share", headers=header).json()["token"]
    assert TestClient(client.app).get(f"/shared/{token}").status_code == 200
    export = client.get("/api/v1/me/export")  # the finish recorded the deep answer as an attempt too
    assert export.status_code == 200 and sum(rec["answer_unreadable"] is True for rec in export.json()) == 2
    assert client.get("/api/v1/me/export?format=csv").status_code == 200


def test_a_new_save_replaces_an_unreadable_answer(db_client):
    h = guest(db_client)
    iid = start(db_client, h)
    with Session(db_client.app.state.engine) as db:
        db.add(InterviewAnswer(interview_id=iid, position=0, answer=nested(300)))
        db.commit()
    assert db_client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "B"}, headers=h).status_code == 200
    first = db_client.get(f"/api/v1/interviews/{iid}", headers=h).json()["questions"][0]
    assert first["answer"] == "B" and first["answer_unreadable"] is False


# --- CSRF tokens that are not even ASCII -----------------------------------------------------------------


HOSTILE_TOKENS = [b"\xff\xfe", b"\xed\xa0\x80", b"\xc3\xa9" * 32, b"caf\xe9", b"\x80" * 64]


def test_non_ascii_csrf_headers_are_403(db_client):
    """Header bytes arrive as latin-1 text; the token is compared as bytes, so any of them is just wrong."""
    client = db_client
    r = client.post("/register", data={"username": "tokuser", "password": PASSWORD,
                                       "csrf_token": _page_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    iid = start(client, {"X-CSRF-Token": META_CSRF_RE.search(client.get("/").text).group(1)})
    for token in HOSTILE_TOKENS:
        h = {"X-CSRF-Token": token}
        assert client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "B"}, headers=h).status_code == 403
        assert client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=h).status_code == 403
        assert client.post("/logout", headers=h).status_code == 403
        assert client.post(f"/interviews/{iid}/finish", headers=h).status_code == 403


def test_non_ascii_form_csrf_tokens_are_403(db_client):
    """Form tokens: raw latin-1 bytes, percent-encoded invalid UTF-8, and, in multipart with a charset the
    client names, lone surrogates (unicode_escape decodes \\ud800 to one)."""
    client = db_client
    _page_csrf(client, "/")  # the anonymous cookie that anchors a token
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    for raw in (b"\xff\xfe", b"%ED%A0%80", b"%C3%A9" * 32, b"caf\xe9"):
        r = client.post("/start", content=b"round=mini&csrf_token=" + raw, headers=urlencoded)
        assert r.status_code == 403, (raw, r.status_code)
    for token in ("\\ud800", "\\udfff" * 32, "\\u00e9"):
        body = (f'--b\r\nContent-Disposition: form-data; name="round"\r\n\r\nmini\r\n'
                f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--b--\r\n')
        r = client.post("/start", content=body.encode(),
                        headers={"content-type": "multipart/form-data; boundary=b; charset=unicode_escape"})
        assert r.status_code == 403, (token, r.status_code)
