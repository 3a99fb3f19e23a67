"""Leeches (issue 20): a card forgotten as often as the candidate's threshold is suspended — out of the due
list, the forecast and practice — until it is resumed; again every half threshold after. SQLite and
PostgreSQL; time moves through the test clock."""

from __future__ import annotations

import pytest
from api_helpers import guest

from app.practice.leeches import turns_leech


@pytest.fixture
def env(clocked_env):
    client, clock, _ = clocked_env
    return client, clock


def check(client, h, answer: str) -> dict:
    r = client.post("/api/v1/questions/s-numeric/check", json={"answer": answer}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()["review"]


def due_ids(client, h) -> list[str]:
    r = client.get("/api/v1/me/reviews/due", headers=h)
    assert r.status_code == 200, r.text
    return [i["question_id"] for i in r.json()["items"]]


def forget_once(client, h, clock) -> dict:
    """From a learned card: a day later forgotten (a lapse), a day later right again (learned again); the
    lapse's review, with the next due time of the card after the second answer."""
    clock.advance(days=1)
    lapsed = check(client, h, "1")
    clock.advance(days=1)
    return {**lapsed, "next_due": check(client, h, "128")["due"]}


def test_the_rule_is_ankis():
    assert [n for n in range(1, 25) if turns_leech(n, 8)] == [8, 12, 16, 20, 24]
    assert [n for n in range(1, 6) if turns_leech(n, 2)] == [2, 3, 4, 5]
    assert [n for n in range(1, 12) if turns_leech(n, 5)] == [5, 7, 9, 11]


def test_a_leech_is_suspended_listed_resumed_and_suspended_again(env):
    client, clock = env
    h = guest(client)
    r = client.patch("/api/v1/me/settings", json={"leech_lapses": 4}, headers=h)
    assert r.status_code == 200 and r.json()["leech_lapses"] == 4
    check(client, h, "128")
    clock.advance(days=1)
    check(client, h, "128")  # learned (a review card)
    lapses = [forget_once(client, h, clock) for _ in range(3)]
    assert [x["lapses"] for x in lapses] == [1, 2, 3] and not any(x["suspended"] for x in lapses)
    fourth = forget_once(client, h, clock)
    assert fourth["lapses"] == 4 and fourth["suspended"]

    listed = client.get("/api/v1/me/leeches", headers=h).json()["items"]
    assert [(x["question_id"], x["lapses"]) for x in listed] == [("s-numeric", 4)]
    clock.advance(days=10)
    assert fourth["next_due"] < clock.now.isoformat()  # past its next review: due, were it not suspended
    assert "s-numeric" not in due_ids(client, h)  # never due while suspended
    forecast = client.get("/api/v1/me/stats", headers=h).json()
    assert forecast["due_now"] == 0
    drawn = {client.get("/api/v1/practice/next", params={"type": "numeric"}, headers=h).status_code for _ in range(3)}
    assert drawn == {404}  # the only numeric item is a suspended leech: nothing to draw

    r = client.post("/api/v1/me/leeches/s-numeric/resume", headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    assert "s-numeric" in due_ids(client, h)  # due at once
    assert client.post("/api/v1/me/leeches/s-numeric/resume", headers=h).status_code == 404
    check(client, h, "128")
    assert not forget_once(client, h, clock)["suspended"]  # lapse 5
    assert forget_once(client, h, clock)["suspended"]  # lapse 6: half the threshold more


def test_settings_are_checked_and_leeches_are_mine(env):
    client, _ = env
    alice, bob = guest(client), guest(client)
    for bad in (1, 100, None, "many", 4.5):
        assert client.patch("/api/v1/me/settings", json={"leech_lapses": bad}, headers=alice).status_code == 422
    assert client.get("/api/v1/me/settings", headers=alice).json()["leech_lapses"] == 8
    assert client.get("/api/v1/me/leeches").status_code == 401
    assert client.post("/api/v1/me/leeches/s-numeric/resume", headers=bob).status_code == 404
    assert client.get("/api/v1/me/leeches", headers=bob).json() == {"items": []}
