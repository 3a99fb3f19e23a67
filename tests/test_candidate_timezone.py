"""The candidate's day is their time zone: stored as the browser reports it (PATCH /api/v1/me/settings, sent
by static/app.js), validated against the IANA names, UTC until known; due cards, the forecast and "today"
follow it. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.test_web_practice import as_guest

ANSWERED = datetime(2026, 11, 23, 23, 20, tzinfo=UTC)  # s-single answered right: due 23:30 UTC
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 20:00 on the 23rd in Shanghai (UTC+8)
SHANGHAI_MIDNIGHT = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 00:00 on the 24th in Shanghai


@pytest.fixture
def env(clocked_env):
    client, clock, _ = clocked_env
    return client, clock


def guest(client: TestClient) -> dict[str, str]:
    r = client.post("/api/v1/auth/guest")
    assert r.status_code == 201
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_zone_is_an_iana_name_or_a_422(env):
    client, _ = env
    h = guest(client)
    assert client.get("/api/v1/me/settings", headers=h).json() == {"desired_retention": 0.9, "timezone": None, "leech_lapses": 8}
    for bad in ("Mars/Olympus", "", "asia/shanghai", "../../etc/passwd", "Asia/Shanghai\x00", "X" * 65):
        r = client.patch("/api/v1/me/settings", json={"timezone": bad}, headers=h)
        assert r.status_code == 422, bad
    assert client.patch("/api/v1/me/settings", json={"timezone": None}, headers=h).status_code == 422
    assert client.patch("/api/v1/me/settings", json={"desired_retention": 2}, headers=h).status_code == 422
    assert client.get("/api/v1/me/settings", headers=h).json()["timezone"] is None  # nothing half-changed
    r = client.patch("/api/v1/me/settings", json={"timezone": "Asia/Shanghai"}, headers=h)
    assert r.status_code == 200 and r.json() == {"desired_retention": 0.9, "timezone": "Asia/Shanghai", "leech_lapses": 8}
    r = client.patch("/api/v1/me/settings", json={"desired_retention": 0.8}, headers=h)  # the zone stays
    assert r.json() == {"desired_retention": 0.8, "timezone": "Asia/Shanghai", "leech_lapses": 8}
    assert client.patch("/api/v1/me/settings", json={}, headers=h).json()["timezone"] == "Asia/Shanghai"
    assert client.put("/api/v1/me/settings", json={"desired_retention": 0.85}, headers=h).json() == {
        "desired_retention": 0.85, "timezone": "Asia/Shanghai", "leech_lapses": 8}
    assert client.patch("/api/v1/me/settings", json={"timezone": "UTC"}).status_code == 401
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/me/settings"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    zone = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]["timezone"]
    assert "Asia/Shanghai" in zone["enum"] and "Mars/Olympus" not in zone["enum"]


def test_a_card_due_at_23_30_utc_is_tomorrow_at_utc_plus_8(env):
    client, clock = env
    as_guest(client, "/reviews")  # the candidate in Shanghai, in the browser
    page = client.get("/reviews").text
    token = {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)}
    assert client.patch("/api/v1/me/settings", json={"timezone": "Asia/Shanghai"}, headers=token).status_code == 200
    london = guest(TestClient(client.app))  # a candidate whose zone is not known (UTC), by the API
    clock.now = ANSWERED
    for h in (token, london):
        due = client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=h).json()["review"]["due"]
        assert due == "2026-11-23T23:30:00+00:00"

    clock.now = NOON  # the 23rd for both; 23:30 UTC is still the 23rd in UTC, the 24th in Shanghai
    stats = client.get("/api/v1/me/stats", headers=london).json()
    assert stats["due_now"] == 1 and list(stats["forecast"].items())[0] == ("2026-11-23", 1)
    assert [i["question_id"] for i in client.get("/api/v1/me/reviews/due", headers=london).json()["items"]] == [
        "s-single"]

    stats = client.get("/api/v1/me/stats").json()  # the Shanghai candidate, by the browser's session
    assert stats["due_now"] == 0 and list(stats["forecast"].items())[:2] == [("2026-11-23", 0), ("2026-11-24", 1)]
    assert client.get("/api/v1/me/reviews/due").json()["items"] == []
    reviews = client.get("/reviews").text
    assert "今天没有需要复习的题目了" in reviews and "下一道题 2026-11-24 到期" in reviews
    assert re.search(r'id="due-badge" hidden>0<', reviews)
    dashboard = client.get("/dashboard").text
    assert "道到期，开始复习" not in dashboard and "按你的时区 Asia/Shanghai 计算" in dashboard
    practice = client.get("/api/v1/practice/next", params={"type": "single"}).json()
    assert practice["practice"]["reason"] == "ahead"
    # An explicit `tz` still draws the dashboard in another zone, as before.
    assert client.get("/api/v1/me/stats", params={"tz": "UTC"}).json()["due_now"] == 1

    clock.now = SHANGHAI_MIDNIGHT  # the 24th has begun in Shanghai: the card is due there today
    stats = client.get("/api/v1/me/stats").json()
    assert stats["due_now"] == 1 and list(stats["forecast"].items())[0] == ("2026-11-24", 1)
    assert [i["question_id"] for i in client.get("/api/v1/me/reviews/due").json()["items"]] == ["s-single"]
    assert "今天还剩 1 道到期" in client.get("/reviews").text
    assert client.get("/api/v1/practice/next", params={"type": "single"}).json()["practice"]["reason"] == "due"
    assert client.get("/api/v1/me/stats", headers=london).json()["due_now"] == 1  # the 23rd in UTC, all along
