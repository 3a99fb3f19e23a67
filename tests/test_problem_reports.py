"""纠错 problem reports: a candidate files one with their latest answer and the content version, sees only
their own, within a size cap and a per-account rate limit; the admins' queue and resolve — on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import bearer, guest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings

TOKEN = "admin-token-for-tests"
ADMIN = bearer(TOKEN)


@pytest.fixture
def client(db_url) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url=db_url, admin_token=TOKEN, limit_problem_reports_per_hour=3,
                                   problem_report_max_chars=50))
    with TestClient(app) as c:
        yield c


def report(client: TestClient, headers, question_id: str = "s-single", **body):
    return client.post(f"/api/v1/questions/{question_id}/reports",
                       json={"kind": "wrong_answer", "comment": "答案应该是 A", **body}, headers=headers)


def test_a_report_keeps_my_latest_answer_and_the_content_version(client):
    h = guest(client)
    assert client.post("/api/v1/questions/s-single/check", json={"answer": "C"},
                       headers=h).status_code == 200
    assert client.post("/api/v1/questions/s-single/check", json={"answer": "A"},
                       headers=h).status_code == 200
    r = report(client, h)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["state"] == "open" and mine["kind"] == "wrong_answer" and mine["comment"] == "答案应该是 A"
    assert mine["content_version"] == client.app.state.store.current.version
    assert "answer" not in mine and "user_id" not in mine
    queued = client.get("/api/v1/admin/reports?state=open", headers=ADMIN).json()["items"]
    assert [(q["id"], q["answer"], q["question_id"]) for q in queued] == [(mine["id"], "A", "s-single")]
    unanswered = report(client, h, "s-open", kind="unclear", comment="").json()
    assert client.get("/api/v1/admin/reports", headers=ADMIN).json()["items"][1]["answer"] is None
    listed = client.get("/api/v1/me/reports", headers=h).json()["items"]
    assert [x["id"] for x in listed] == [unanswered["id"], mine["id"]]


def test_bad_reports_are_refused_with_a_message(client):
    h = guest(client)
    assert report(client, h, kind="rude").status_code == 422
    long = report(client, h, comment="长" * 51)
    assert long.status_code == 422 and "50" in long.json()["detail"]
    assert report(client, h, "no-such-question").status_code == 404
    assert report(client, {}).status_code == 401
    assert client.get("/api/v1/admin/reports", headers=ADMIN).json()["items"] == []


def test_reports_are_rate_limited_per_account(client):
    h = guest(client)
    for _ in range(3):
        assert report(client, h).status_code == 201
    refused = report(client, h)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert report(client, guest(client)).status_code == 201  # another account has its own allowance


def test_a_candidate_sees_only_their_own_reports(client):
    me, other = guest(client), guest(client)
    mine = report(client, me).json()
    assert client.get(f"/api/v1/me/reports/{mine['id']}", headers=me).json()["id"] == mine["id"]
    assert client.get(f"/api/v1/me/reports/{mine['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/me/reports/999999", headers=me).status_code == 404
    assert client.get("/api/v1/me/reports", headers=other).json()["items"] == []
    assert client.get("/api/v1/questions/s-single/reports", headers=other).json()["items"] == []
    assert len(client.get("/api/v1/questions/s-single/reports", headers=me).json()["items"]) == 1
    assert client.get("/api/v1/admin/reports", headers=other).status_code == 401  # a candidate is no admin


def test_an_admin_resolves_a_report_with_a_note(client):
    h = guest(client)
    first, second = report(client, h).json(), report(client, h, "s-open", kind="typo").json()
    url = f"/api/v1/admin/reports/{first['id']}/resolve"
    assert client.post(url, json={"note": "已改"}).status_code == 401
    assert client.post(url, json={"note": "长" * 51}, headers=ADMIN).status_code == 422
    done = client.post(url, json={"note": "答案键已改"}, headers=ADMIN)
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    assert client.post(url, json={"note": "again"}, headers=ADMIN).status_code == 409
    assert client.post("/api/v1/admin/reports/999999/resolve", json={}, headers=ADMIN).status_code == 404
    assert [r["id"] for r in client.get("/api/v1/admin/reports?state=open", headers=ADMIN).json()["items"]] \
        == [second["id"]]
    assert [r["id"] for r in client.get("/api/v1/admin/reports?state=resolved", headers=ADMIN).json()["items"]] \
        == [first["id"]]
    mine = client.get(f"/api/v1/me/reports/{first['id']}", headers=h).json()
    assert mine["state"] == "resolved" and mine["resolution_note"] == "答案键已改"


def test_the_queue_pages_oldest_first(client):
    ids = [report(client, guest(client)).json()["id"] for _ in range(5)]
    page = client.get("/api/v1/admin/reports?limit=2", headers=ADMIN).json()
    seen = [r["id"] for r in page["items"]]
    while page["next"]:
        page = client.get(f"/api/v1/admin/reports?limit=2&cursor={page['next']}", headers=ADMIN).json()
        seen += [r["id"] for r in page["items"]]
    assert seen == ids


def test_report_counts_show_in_the_item_statistics(client):
    h = guest(client)
    state = client.post("/api/v1/interviews", json={"round": "mini"}, headers=h).json()
    assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
    first = report(client, h).json()
    report(client, h, kind="typo")
    client.post(f"/api/v1/admin/reports/{first['id']}/resolve", json={"note": "ok"}, headers=ADMIN)
    rows = {r["question_id"]: r for r in
            client.get("/api/v1/admin/stats/items?round=mini", headers=ADMIN).json()["items"]}
    assert (rows["s-single"]["open_reports"], rows["s-single"]["reports"]) == (1, 2)
    assert (rows["s-open"]["open_reports"], rows["s-open"]["reports"]) == (0, 0)


def test_deleting_the_account_deletes_its_reports(client):
    h, other = guest(client), guest(client)
    report(client, h)
    kept = report(client, other).json()
    gone = client.request("DELETE", "/api/v1/me", json={"confirm": True}, headers=h)
    assert gone.status_code == 200, gone.text
    assert [r["id"] for r in client.get("/api/v1/admin/reports", headers=ADMIN).json()["items"]] == [kept["id"]]
