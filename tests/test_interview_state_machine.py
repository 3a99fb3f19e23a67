"""Stateful property test of the interview API: two users, a clock the test moves, and a model of what
the server must have stored.

Hypothesis drives random sequences of: start an interview, save an answer (any JSON value, at a valid or
an invalid position), repeat a save, move, rate, advance the clock, finish, abandon, read, and try the
other user's interview. After every step the invariants are checked against the server, on SQLite and on
PostgreSQL:

* every acknowledged (200) save is what GET returns for that position; the last acknowledged one wins;
* a repeated save gives the same status and body;
* past deadline + 30 s grace a save is refused with 409 and the interview reads as finished;
* an account runs at most one interview of a round: a second start is a 409 naming the running one;
* an abandoned interview stays abandoned: no save, rating, finish or report (409), no score, and nothing
  recorded as practice (no attempts);
* one user can never read or write the other's interview: 404 on every route, and nothing changes.

States: active -> finished (finish, or the clock) | active -> abandoned (abandon).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlmodel import Session

from app.interviews.service import GRACE
from app.main import create_app
from app.models import Attempt
from tests.conftest import make_settings

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
USERS = ("alice", "bob")

# JSON-ish answers: what a client might autosave, including hostile text. Not NUL, which is no text and is
# refused with a 422 (tests/test_request_limits.py); 12 leaves nest far less than MIANJING_MAX_JSON_DEPTH.
text = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])  # JSON cannot carry lone surrogates
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(text, max_size=40))
answers = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(text, max_size=8), children,
                                                                         max_size=4),
    max_leaves=12,
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Model:
    id: str
    owner: str
    deadline: datetime
    size: int
    state: str = "active"  # active | finished | abandoned
    answers: dict[int, Any] = field(default_factory=dict)


@pytest.fixture
def app_client(db_url):
    # The runs share one app and database, and every run starts two guests: explicit limits well above that.
    app = create_app(make_settings(database_url=db_url, limit_guests_per_hour=10_000, limit_interviews_per_day=10_000))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        yield client, clock
    app.state.engine.dispose()


def make_machine(client: TestClient, clock: Clock) -> type[RuleBasedStateMachine]:
    class InterviewMachine(RuleBasedStateMachine):
        interviews = Bundle("interviews")

        @initialize()
        def users(self) -> None:
            # Fresh guests for every run: the app and its database are shared between runs.
            self.headers: dict[str, dict[str, str]] = {}
            for name in USERS:
                r = client.post("/api/v1/auth/guest")
                assert r.status_code == 201, r.text
                self.headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            self.models: dict[str, Model] = {}

        # --- helpers ------------------------------------------------------------------------------

        def expired(self, m: Model) -> bool:
            return clock.now > m.deadline + GRACE

        def settle(self, m: Model) -> None:
            """What the server does to an active interview whose time is up, on any request that touches it."""
            if m.state == "active" and self.expired(m):
                m.state = "finished"

        def other(self, user: str) -> str:
            return USERS[1 - USERS.index(user)]

        def url(self, m: Model, suffix: str = "") -> str:
            return f"/api/v1/interviews/{m.id}{suffix}"

        # --- rules ----------------------------------------------------------------------------------

        @rule(target=interviews, user=st.sampled_from(USERS))
        def start(self, user: str):
            mine = [m for m in self.models.values() if m.owner == user]
            for m in mine:
                self.settle(m)  # the start closes a running interview whose time is up
            running = [m for m in mine if m.state == "active"]
            r = client.post("/api/v1/interviews", json={"round": "mini"}, headers=self.headers[user])
            if running:  # one running interview per account and round
                assert r.status_code == 409, r.text
                assert r.json()["active_interview_id"] == running[0].id
                return multiple()
            assert r.status_code == 201, r.text
            body = r.json()
            assert body["state"] == "active"
            deadline = datetime.fromisoformat(body["deadline"])
            assert deadline == clock.now + timedelta(minutes=10)
            assert all(q["answer"] is None for q in body["questions"])
            m = Model(id=body["id"], owner=user, deadline=deadline, size=len(body["questions"]))
            self.models[m.id] = m
            return m

        @rule(m=interviews, data=st.data(), answer=answers)
        def save(self, m: Model, data, answer: Any) -> None:
            position = data.draw(st.integers(min_value=0, max_value=m.size + 1), label="position")
            self._save(m, position, answer)

        def _save(self, m: Model, position: int, answer: Any):
            r = client.put(self.url(m, f"/answers/{position}"), json={"answer": answer}, headers=self.headers[m.owner])
            self.settle(m)
            if position >= m.size:
                assert r.status_code == 404, r.text
            elif m.state != "active":
                assert r.status_code == 409, r.text
                assert r.json()["state"] == m.state
            else:
                assert r.status_code == 200, r.text
                assert r.json()["position"] == position
                assert r.json()["answer"] == answer
                m.answers[position] = answer
            return r

        @rule(m=interviews, data=st.data())
        def repeat_save(self, m: Model, data) -> None:
            # The same PUT twice (a retried autosave) answers the same and stores the same.
            position = data.draw(st.integers(min_value=0, max_value=m.size - 1), label="position")
            answer = m.answers.get(position, data.draw(answers, label="answer"))
            first = self._save(m, position, answer)
            second = self._save(m, position, answer)
            assert (second.status_code, second.json()) == (first.status_code, first.json())

        @rule(m=interviews, data=st.data())
        def move(self, m: Model, data) -> None:
            position = data.draw(st.integers(min_value=0, max_value=m.size - 1), label="position")
            r = client.post(self.url(m, "/position"), json={"position": position}, headers=self.headers[m.owner])
            assert r.status_code == 200, r.text
            self.settle(m)
            assert r.json()["state"] == m.state

        @rule(m=interviews, data=st.data(), rating=st.sampled_from(["again", "hard", "good", "easy"]))
        def rate(self, m: Model, data, rating: str) -> None:
            position = data.draw(st.integers(min_value=0, max_value=m.size - 1), label="position")
            r = client.put(self.url(m, f"/ratings/{position}"), json={"rating": rating}, headers=self.headers[m.owner])
            if m.state == "abandoned":
                assert r.status_code == 409 and r.json()["state"] == "abandoned", r.text
            else:
                assert r.status_code == 200, r.text

        @rule(seconds=st.one_of(st.integers(0, 60), st.integers(60, 900), st.sampled_from([29, 30, 31, 600, 630])))
        def advance(self, seconds: int) -> None:
            clock.now += timedelta(seconds=seconds)

        @rule(m=interviews)
        def finish(self, m: Model) -> None:
            r = client.post(self.url(m, "/finish"), headers=self.headers[m.owner])
            report = client.get(self.url(m, "/report"), headers=self.headers[m.owner])
            if m.state == "abandoned":  # nothing to score, nothing to report
                assert r.status_code == 409 and r.json()["state"] == "abandoned", r.text
                assert report.status_code == 409 and report.json()["state"] == "abandoned", report.text
                return
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "finished"
            assert isinstance(r.json()["score"], float)
            m.state = "finished"
            assert report.status_code == 200, report.text
            for q in report.json()["questions"]:
                assert q["answer"] == m.answers.get(q["position"])

        @rule(m=interviews)
        def abandon(self, m: Model) -> None:
            r = client.post(self.url(m, "/abandon"), headers=self.headers[m.owner])
            self.settle(m)  # time up: closed (and scored) first, so it can no longer be abandoned
            if m.state == "finished":
                assert r.status_code == 409 and r.json()["state"] == "finished", r.text
                return
            assert r.status_code == 200, r.text  # abandoning an abandoned one again is harmless
            assert r.json() == {"id": m.id, "state": "abandoned", "score": None}
            m.state = "abandoned"

        @rule(m=interviews)
        def read(self, m: Model) -> None:
            self._check(m)

        @rule(m=interviews, data=st.data(), answer=answers)
        def intrude(self, m: Model, data, answer: Any) -> None:
            """The other user tries every route on this interview: always 404, never a change."""
            h = self.headers[self.other(m.owner)]
            position = data.draw(st.integers(min_value=0, max_value=m.size - 1), label="position")
            attempts = [
                client.get(self.url(m), headers=h),
                client.put(self.url(m, f"/answers/{position}"), json={"answer": answer}, headers=h),
                client.post(self.url(m, "/position"), json={"position": position}, headers=h),
                client.put(self.url(m, f"/ratings/{position}"), json={"rating": "good"}, headers=h),
                client.post(self.url(m, "/finish"), headers=h),
                client.post(self.url(m, "/abandon"), headers=h),
                client.get(self.url(m, "/report"), headers=h),
            ]
            for r in attempts:
                assert r.status_code == 404, (r.request.method, r.request.url, r.status_code, r.text)
            listed = client.get("/api/v1/interviews", params={"limit": 100}, headers=h)
            assert listed.status_code == 200
            assert m.id not in {i["id"] for i in listed.json()["items"]}

        @rule(m=consumes(interviews))
        def forget(self, m: Model) -> None:
            """Keeps the bundle small so rules hit the same interviews often; the invariants still check it."""

        # --- invariants -------------------------------------------------------------------------------

        def _check(self, m: Model) -> None:
            r = client.get(self.url(m), headers=self.headers[m.owner])
            assert r.status_code == 200, r.text
            body = r.json()
            self.settle(m)  # reading past the grace period closes it
            assert body["state"] == m.state
            if m.state == "abandoned":
                assert body["score"] is None
            assert len(body["questions"]) == m.size
            for q in body["questions"]:
                assert q["answer"] == m.answers.get(q["position"]), (q["position"], q["answer"])
            assert body["remaining_seconds"] == max(0.0, (m.deadline - clock.now).total_seconds())

        @precondition(lambda self: hasattr(self, "models"))
        @invariant()
        def server_matches_model(self) -> None:
            for m in self.models.values():
                self._check(m)
            for user in USERS:
                listed = client.get("/api/v1/interviews", params={"limit": 100}, headers=self.headers[user])
                assert listed.status_code == 200 and listed.json()["next"] is None
                mine = {m.id for m in self.models.values() if m.owner == user}
                assert {i["id"] for i in listed.json()["items"]} == mine
                assert sum(i["state"] == "active" for i in listed.json()["items"]) <= 1  # one round: one running
            abandoned = [m.id for m in self.models.values() if m.state == "abandoned"]
            if abandoned:  # unscored and unscheduled: nothing of theirs reached practice
                with Session(client.app.state.engine) as db:
                    recorded = db.execute(select(func.count()).select_from(Attempt)
                                          .where(Attempt.interview_id.in_(abandoned))).scalar_one()
                assert recorded == 0

    return InterviewMachine


def test_interview_api_state_machine(app_client):
    client, clock = app_client
    machine = make_machine(client, clock)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
