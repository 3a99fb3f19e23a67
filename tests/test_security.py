"""Security properties of the API, on SQLite and PostgreSQL (the web pages have their own tests).

Tokens: at least 128 random bits, a new one at every login, revoked on the server at logout. Login: 429
after 5 failures of one account from one address (tests/test_limits.py: the rest of the limits). Objects: another user's interview is 404 on every route. Admin: 401 without or with a
wrong token, 403 when the admin API is off. Bodies over the limit: 413. GET never writes. Content and
answers containing HTML come back escaped in every *_html field. Passwords: argon2id, m>=19456, t>=2, p=1.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from api_helpers import bearer, guest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from app.main import create_app
from app.models import AuthSession, User
from tests.conftest import T0, VALID, Clock, make_settings

ADMIN_TOKEN = "security-test-admin-token-f00d"  # noqa: S105 - a test value
MAX_BODY = 8 * 1024
PASSWORD = "correct horse battery"  # noqa: S105 - a test value
HOSTILE = "<script>alert('x')</script> <img src=x onerror=alert(1)> [点我](javascript:alert(1)) $<script>1</script>$"


def _hostile_content(tmp_path) -> Any:
    """The fixture content with HTML and script in prompts, options, references, explanations, guidance."""
    content = tmp_path / "content"
    shutil.copytree(VALID, content)
    bank = content / "banks" / "sample.md"
    text = bank.read_text(encoding="utf-8")
    for old in ("推理阶段 BN 使用什么统计量？", "当前 batch 的均值和方差", "BN 是怎么计算的？",
                "对每个通道，在 N、H、W 上求均值和方差，标准化后再做可学习的缩放和平移。",
                "推理时使用训练阶段累计的 running mean / running var。"):
        assert old in text, old
        text = text.replace(old, f"{old} {HOSTILE}", 1)
    bank.write_text(text, encoding="utf-8")
    rnd = content / "rounds" / "mini.md"
    rnd.write_text(rnd.read_text(encoding="utf-8").replace("先答基础题。", f"先答基础题。 {HOSTILE}"), encoding="utf-8")
    return content


@pytest.fixture
def env(db_url, tmp_path) -> Iterator[tuple[TestClient, Any]]:
    app = create_app(make_settings(database_url=db_url, admin_token=ADMIN_TOKEN, max_body_bytes=MAX_BODY,
                                   content_dir=_hostile_content(tmp_path)))
    app.state.clock = Clock()
    with TestClient(app) as client:
        yield client, app
    app.state.engine.dispose()


def register(client: TestClient, username: str) -> str:
    r = client.post("/api/v1/auth/register", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return r.json()["access_token"]


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def row_counts(app) -> dict[str, int]:
    # The quota counts of earlier writes reach their table at the ledger's next sync (every 0.5 s): now,
    # so that a count taken before a probe and one after it differ only by what the probe wrote.
    app.state.write_quotas.ledger.sync(app.state.engine, app.state.clock().timestamp())
    with Session(app.state.engine) as db:
        return {t.name: db.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def start_interview(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


# --- tokens --------------------------------------------------------------------------------------------


def _random_bytes(token: str) -> bytes:
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_tokens_carry_at_least_128_random_bits_and_each_login_gets_a_new_one(env):
    client, app = env
    tokens = [register(client, "alice")]
    tokens += [login(client, "alice").json()["access_token"] for _ in range(3)]
    tokens += [client.post("/api/v1/auth/guest").json()["access_token"] for _ in range(3)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert len(_random_bytes(token)) * 8 >= 128
        assert client.get("/api/v1/interviews", headers=bearer(token)).status_code == 200
    # Every byte value position varies between tokens: they are not a counter or a timestamp.
    raw = [_random_bytes(t) for t in tokens]
    assert all(len({r[i] for r in raw}) > 1 for i in range(16))
    # Only a hash is stored: no token appears in the sessions table.
    with Session(app.state.engine) as db:
        stored = {row.token_hash for row in db.execute(select(AuthSession)).scalars()}
    assert len(stored) == len(tokens)
    assert not stored & set(tokens)


def test_logout_revokes_the_token_on_the_server(env):
    client, app = env
    register(client, "bob")
    first, second = login(client, "bob").json()["access_token"], login(client, "bob").json()["access_token"]
    before = row_counts(app)["authsession"]
    r = client.post("/api/v1/auth/logout", headers=bearer(first))
    assert r.status_code == 204
    assert row_counts(app)["authsession"] == before - 1
    for route in ("/api/v1/interviews", "/api/v1/me/settings"):
        assert client.get(route, headers=bearer(first)).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=bearer(first)).status_code == 401
    # the other session of the same user is untouched
    assert client.get("/api/v1/interviews", headers=bearer(second)).status_code == 200


def test_keeping_a_guest_account_replaces_its_token(env):
    client, _ = env
    h = guest(client)
    r = client.post("/api/v1/auth/keep", json={"username": "carol", "password": PASSWORD}, headers=h)
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/interviews", headers=h).status_code == 401
    assert client.get("/api/v1/interviews", headers=bearer(r.json()["access_token"])).status_code == 200


def test_brute_force_login_backs_off_after_five_failures(env):
    """Five wrong passwords of one account from one address, then a wait (tests/test_limits.py has the
    back-off, the per-address limit and the other addresses)."""
    client, _ = env
    register(client, "dave")
    for _ in range(5):
        assert login(client, "dave", "wrong password!").status_code == 401
    r = login(client, "dave", "wrong password!")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    # even the right password is refused from this address while it waits (else the 429 would be an oracle)
    assert login(client, "dave").status_code == 429
    # the wait is this account's from this address: another name from the same client is judged on its own
    assert login(client, "someone-else", "whatever1").status_code == 401


def test_login_limit_holds_across_workers_and_lifts_after_the_window(env, db_url):
    """Failures are counted in the database: a second app on the same database (another worker process,
    or the service after a restart) sees them too."""
    client, app = env
    register(client, "frank")
    # Another worker of the same service: the same database and the same (published) content folder.
    other_app = create_app(make_settings(database_url=db_url, content_dir=app.state.settings.content_dir))
    other_app.state.clock = app.state.clock
    with TestClient(other_app) as other:
        for c in (client, other, client, other, client):
            assert login(c, "frank", "wrong password!").status_code == 401
        assert login(other, "frank").status_code == 429
        assert login(client, "frank").status_code == 429
        app.state.clock.advance(seconds=61)
        assert login(other, "frank").status_code == 200
        # a success clears the name's failures; the address keeps its own count
        assert login(client, "frank", "wrong password!").status_code == 401
        assert login(client, "frank").status_code == 200
    other_app.state.engine.dispose()


@pytest.mark.parametrize("username", ["a\x00b", "\ud800x", "名" * 64])
def test_odd_usernames_count_as_failed_logins_not_errors(env, username):
    client, _ = env
    body = f'{{"username": {json.dumps(username)}, "password": "wrong password!"}}'  # lone surrogates too
    for _ in range(5):
        r = client.post("/api/v1/auth/token", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (401, 422), r.text
    assert client.post("/api/v1/auth/token", content=body,
                       headers={"Content-Type": "application/json"}).status_code in (429, 422)


def test_unknown_user_and_wrong_password_look_the_same(env):
    client, _ = env
    register(client, "erin")
    a, b = login(client, "erin", "wrong password!"), login(client, "nobody-here", "wrong password!")
    assert (a.status_code, a.json()) == (b.status_code, b.json())


# --- object-level access ----------------------------------------------------------------------------------


def test_another_users_interview_is_404_on_every_route(env):
    client, app = env
    owner, intruder = guest(client), guest(client)
    state = start_interview(client, owner)
    iid = state["id"]
    saved = client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "mine"}, headers=owner)
    assert saved.status_code == 200
    before = row_counts(app)
    routes = [(path, method) for path, ops in app.openapi()["paths"].items()
              if path.startswith("/api/v1/interviews/{interview_id}") for method in ops]
    assert len(routes) >= 6
    tried = 0
    for route_path, route_method in routes:
        path = route_path.replace("{interview_id}", iid).replace("{position}", "0")
        for method in (route_method.upper(),):
            body = {"answer": "theirs", "position": 1, "rating": "good"}
            r = client.request(method, path, json=body if method in ("PUT", "POST") else None, headers=intruder)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert r.json() == {"detail": "no such interview"}  # the same answer as for a missing one
            tried += 1
    assert tried >= 6
    assert row_counts(app) == before
    assert iid not in {i["id"] for i in client.get("/api/v1/interviews", headers=intruder).json()["items"]}
    mine = client.get(f"/api/v1/interviews/{iid}", headers=owner).json()
    assert mine["state"] == "active" and mine["questions"][0]["answer"] == "mine"
    missing = client.get("/api/v1/interviews/" + "0" * 32, headers=owner)
    assert missing.status_code == 404 and missing.json() == {"detail": "no such interview"}


def test_interview_routes_need_a_valid_token(env):
    client, _ = env
    state = start_interview(client, guest(client))
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic Zm9vOmJhcg=="}):
        r = client.get(f"/api/v1/interviews/{state['id']}", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"


# --- admin ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/admin/reload"), ("GET", "/api/v1/admin/reloads")])
def test_admin_endpoints_refuse_missing_and_wrong_tokens(env, method, path):
    client, _ = env
    user = guest(client)
    for headers in ({}, bearer("wrong"), bearer(ADMIN_TOKEN + "x"), bearer(ADMIN_TOKEN[:-1]), user):
        r = client.request(method, path, headers=headers)
        assert r.status_code == 401, (headers, r.text)
    assert client.request(method, path, headers=bearer(ADMIN_TOKEN)).status_code == 200


def test_admin_api_is_off_without_a_configured_token(db_url):
    app = create_app(make_settings(database_url=db_url))
    with TestClient(app) as client:
        for method, path in (("POST", "/api/v1/admin/reload"), ("GET", "/api/v1/admin/reloads")):
            for headers in ({}, bearer(""), bearer("anything"), bearer("None")):
                assert client.request(method, path, headers=headers).status_code == 403
    app.state.engine.dispose()


# --- request size -------------------------------------------------------------------------------------------


def test_oversized_bodies_are_refused_with_413_and_change_nothing(env):
    client, app = env
    h = guest(client)
    iid = start_interview(client, h)["id"]
    before = row_counts(app)
    big = {"answer": "x" * (MAX_BODY + 1)}
    for method, path in (("PUT", f"/api/v1/interviews/{iid}/answers/0"), ("POST", "/api/v1/questions/s-open/check"),
                         ("POST", "/api/v1/auth/register")):
        r = client.request(method, path, json=big, headers=h)
        assert r.status_code == 413, (path, r.status_code)
        assert "detail" in r.json()

    def chunks():  # no Content-Length: the limit must hold for a streamed body too
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"x" * 1024

    r = client.put(f"/api/v1/interviews/{iid}/answers/0", content=chunks(),
                   headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert row_counts(app) == before
    assert client.get(f"/api/v1/interviews/{iid}", headers=h).json()["questions"][0]["answer"] is None
    # just under the limit is fine
    ok = client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "y" * (MAX_BODY - 100)}, headers=h)
    assert ok.status_code == 200


# --- GET is safe ----------------------------------------------------------------------------------------


def test_get_routes_never_write(env):
    client, app = env
    h = guest(client)
    finished = start_interview(client, h)["id"]
    assert client.post(f"/api/v1/interviews/{finished}/finish", headers=h).status_code == 200
    iid = start_interview(client, h)["id"]  # one running interview per round: after the finish
    assert client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "a"}, headers=h).status_code == 200
    qid = "s-open"
    before = row_counts(app)
    tried = 0
    for path, ops in app.openapi()["paths"].items():
        if "get" not in ops:
            continue
        for interview in (iid, finished):
            url = path.replace("{interview_id}", interview).replace("{question_id}", qid).replace("{position}", "0")
            for headers in (h, {}):
                r = client.get(url, headers=headers)
                assert r.status_code < 500, (url, r.status_code, r.text)
                tried += 1
    assert tried >= 20
    assert row_counts(app) == before


# --- stored XSS ---------------------------------------------------------------------------------------------


def _html_fields(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k.endswith("_html") and isinstance(v, str):
                yield f"{where}.{k}", v
            else:
                yield from _html_fields(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _html_fields(v, f"{where}[{i}]")


def assert_escaped(body: Any) -> int:
    fields = list(_html_fields(body))
    hostile = 0
    for where, html in fields:
        lowered = html.lower()
        assert "<script" not in lowered and "<img" not in lowered, (where, html)
        assert 'href="javascript:' not in lowered, (where, html)
        if "alert(" in html:
            hostile += 1
            assert "&lt;script&gt;" in html, (where, html)
    return hostile


def test_html_in_content_and_answers_comes_back_escaped(env):
    client, _ = env
    h = guest(client)
    seen = 0
    seen += assert_escaped({"items": client.get("/api/v1/questions?limit=100").json()["items"]})
    for qid, answer in (("s-single", "A"), ("s-open", HOSTILE)):
        seen += assert_escaped(client.get(f"/api/v1/questions/{qid}").json())
        r = client.post(f"/api/v1/questions/{qid}/check", json={"answer": answer}, headers=h)
        assert r.status_code == 200, r.text
        seen += assert_escaped(r.json())
    # Markup for a choice is no option key: refused, with nothing rendered (the hint is plain JSON data).
    r = client.post("/api/v1/questions/s-single/check", json={"answer": HOSTILE}, headers=h)
    assert r.status_code == 422 and "html" not in "".join(r.json())
    seen += assert_escaped({"rounds": client.get("/api/v1/rounds").json()})
    state = start_interview(client, h)
    seen += assert_escaped(state)
    for item in state["questions"]:
        assert client.put(f"/api/v1/interviews/{state['id']}/answers/{item['position']}",
                          json={"answer": HOSTILE}, headers=h).status_code == 200
    assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
    report = client.get(f"/api/v1/interviews/{state['id']}/report", headers=h).json()
    seen += assert_escaped(report)
    assert any(q["answer"] == HOSTILE for q in report["questions"])  # the answer itself is data, kept verbatim
    assert seen >= 6  # the hostile text really went through the renderer


# --- passwords ----------------------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_with_owasp_parameters(env):
    client, app = env
    register(client, "frank")
    with Session(app.state.engine) as db:
        user = db.execute(select(User).where(User.username == "frank")).scalar_one()
    stored = user.password_hash
    assert PASSWORD not in stored
    m = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)", stored)
    assert m, stored
    memory, time_cost, parallelism = map(int, m.group(1, 2, 3))
    assert memory >= 19456 and time_cost >= 2 and parallelism == 1
    salt = base64.b64decode(m.group(4) + "=" * (-len(m.group(4)) % 4))
    assert len(salt) >= 16
    # the same password for another user gets another salt
    register(client, "grace")
    with Session(app.state.engine) as db:
        other = db.execute(select(User).where(User.username == "grace")).scalar_one().password_hash
    assert other != stored


def test_expired_tokens_are_refused(env):
    client, app = env
    token = register(client, "heidi")
    app.state.clock.now = T0 + timedelta(days=31)
    assert client.get("/api/v1/interviews", headers=bearer(token)).status_code == 401


def test_a_write_is_committed_before_its_response_starts(db_url):
    """A 2xx means stored: another connection sees the row the moment the response begins."""
    app = create_app(make_settings(database_url=db_url))
    seen: list[bool] = []

    async def probe(scope, receive, send):
        async def watching_send(message):
            if message["type"] == "http.response.start" and scope.get("path") == "/api/v1/auth/register":
                with Session(app.state.engine) as db:  # a separate connection sees committed rows only
                    seen.append(db.exec(select(User).where(User.username == "carol")).first() is not None)
            await send(message)

        await app(scope, receive, watching_send)

    with TestClient(probe) as client:
        r = client.post("/api/v1/auth/register", json={"username": "carol", "password": PASSWORD})
    assert r.status_code == 201 and seen == [True]
    app.state.engine.dispose()


def test_lone_surrogates_in_answers_are_refused_and_lose_nothing(env):
    """JSON's "\\ud800" escape is no text: it could be neither stored nor echoed back in UTF-8 (a 500 on both
    before); it is refused with 422, and the answer saved before stays."""
    client, _ = env
    h = {**guest(client), "content-type": "application/json"}
    for body in (b'{"answer":"\\ud800"}', b'{"answer":["A", {"k": "x\\udfff"}]}', b'{"answer":{"\\ud83d": 1}}'):
        for qid in ("s-single", "s-open"):
            for headers in (h, {"content-type": "application/json"}):  # a known caller, and anonymous
                r = client.post(f"/api/v1/questions/{qid}/check", content=body, headers=headers)
                assert r.status_code == 422 and "lone surrogate" in r.json()["detail"], r.text
    state = start_interview(client, h)
    url = f"/api/v1/interviews/{state['id']}/answers/0"
    assert client.put(url, json={"answer": "均值 😀"}, headers=h).status_code == 200  # a real pair is fine
    r = client.put(url, content=b'{"answer":"\\ud83d"}', headers=h)
    assert r.status_code == 422 and "lone surrogate" in r.json()["detail"], r.text
    answers = client.get(f"/api/v1/interviews/{state['id']}", headers=h).json()["questions"]
    assert answers[0]["answer"] == "均值 😀"
