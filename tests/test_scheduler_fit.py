"""A scheduler fitted to each candidate (issue 20): the fit beats the defaults on a candidate who forgets
differently, the threshold, the fit process started for real and polled through the API, one fit at a time,
the rate limit, a failure recorded, and reviews scheduled by the fitted parameters afterwards."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import fsrs
import pytest
from api_helpers import bearer
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlmodel import Session, func, select

from app.db import make_engine, request_session, write_transaction
from app.main import create_app
from app.models import Attempt, ReviewCard, SchedulerFit, User
from app.practice import fit_job, fsrs_fit, scheduler_fits, scheduling
from app.practice.scheduling import RATINGS
from tests.conftest import REPO, T0, Clock, make_settings
from tests.test_web_pages import csrf_of

# A candidate who forgets much faster than FSRS's defaults assume: low initial stabilities, slow growth of
# stability after a success, a steeper forgetting curve.
FAST_FORGETTER = list(fsrs.Scheduler().parameters)
FAST_FORGETTER[0:4] = [0.05, 0.15, 0.4, 1.5]
FAST_FORGETTER[8], FAST_FORGETTER[10], FAST_FORGETTER[20] = 0.9, 0.4, 0.5
GOOD_OPEN = "训练时用当前 batch 的均值和方差，推理时用训练中累计的滑动平均（running mean / running var）。"


def simulated_log(cards: int, *, seed: int = 7, start: datetime = T0 - timedelta(days=240),
                  days: int = 200) -> list[fsrs_fit.Review]:
    """Reviews of a candidate whose memory follows FAST_FORGETTER, scheduled as Mianjing schedules them (the
    default parameters): each answer is recalled with the probability the candidate's true curve gives."""
    truth = fsrs.Scheduler(parameters=FAST_FORGETTER, enable_fuzzing=False)
    app = fsrs.Scheduler(enable_fuzzing=False)
    rng = random.Random(seed)
    log = []
    for c in range(cards):
        when = start + timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 12))
        seen, true = fsrs.Card(card_id=c, due=when), fsrs.Card(card_id=c, due=when)
        for _ in range(25):
            if when > start + timedelta(days=days):
                break
            p = truth.get_card_retrievability(true, when) if true.last_review else 0.5
            if rng.random() < p:
                rating = rng.choice([fsrs.Rating.Hard, fsrs.Rating.Good, fsrs.Rating.Good, fsrs.Rating.Good,
                                     fsrs.Rating.Easy])
            else:
                rating = fsrs.Rating.Again
            log.append(fsrs_fit.Review(f"q{c}", RATINGS[int(rating) - 1], when))
            seen, _ = app.review_card(seen, rating, when)
            true, _ = truth.review_card(true, rating, when)
            when = max(seen.due, when + timedelta(minutes=1))
    return log


def test_fitted_parameters_beat_the_defaults_on_log_loss():
    log = simulated_log(600)
    result = fsrs_fit.fit(log, UTC, holdout=0.2)
    assert result.reviews == len(log) > 5000
    assert result.evaluated > 500 and result.trained > 2000
    assert result.log_loss_after < result.log_loss_before - 0.03, result
    assert result.rmse_after < result.rmse_before, result
    assert result.parameters != fsrs_fit.default_parameters()
    assert result.parameters[3] < 4  # the Easy first stability learnt from a candidate at 1.5, defaults 8.3
    again = fsrs_fit.fit(log, UTC, holdout=0.2)  # one log, one fit (fsrs-rs sums in parallel: the last digits vary)
    assert again.parameters == pytest.approx(result.parameters, abs=1e-5)
    assert again.log_loss_after == pytest.approx(result.log_loss_after, abs=1e-6)


def test_a_short_log_is_not_measured_and_keeps_the_defaults():
    result = fsrs_fit.fit(simulated_log(2, days=20), UTC, holdout=0.2)
    assert result.log_loss_before is None and result.evaluated == 0
    assert result.parameters == fsrs_fit.default_parameters()  # fsrs-rs: under 8 long-term reviews, its defaults


def test_workload_rises_with_retention():
    cards, sched, now = [], fsrs.Scheduler(enable_fuzzing=False), T0
    for i in range(120):  # answered on one of the last 60 days, and again the day after
        first = now - timedelta(days=i % 60 + 1, hours=i % 7)
        card, _ = sched.review_card(fsrs.Card(card_id=i, due=first), fsrs.Rating.Good, first)
        card, _ = sched.review_card(card, fsrs.Rating.Good, first + timedelta(days=1))
        cards.append(card.to_dict())
    rows = fsrs_fit.workload(cards, None, [0.8, 0.9, 0.95], now)
    assert [r["retention"] for r in rows] == [0.8, 0.9, 0.95]
    assert 0 < rows[0]["per_day"] < rows[1]["per_day"] < rows[2]["per_day"]
    assert fsrs_fit.workload(cards, None, [0.9], now) == [rows[1]]  # seeded


# --- the service, the process and the API ---------------------------------------------------------------


def _app(db_url: str, tmp_path, **overrides):
    values = {"fsrs_fit_min_reviews": 400, "fsrs_fit_every": 200, "fsrs_fit_log": tmp_path / "fit.log", **overrides}
    settings = make_settings(database_url=db_url, **values)
    app = create_app(settings)
    app.state.clock = Clock()
    return app


def _guest(client: TestClient) -> tuple[dict[str, str], int]:
    r = client.post("/api/v1/auth/guest")
    assert r.status_code == 201, r.text
    return bearer(r.json()["access_token"]), r.json()["user_id"]


def _seed(db_url: str, user_id: int, log: list[fsrs_fit.Review]) -> None:
    """The review log written straight into the tables, with the cards it leaves (an engine of its own: no
    fit is started by it)."""
    cards: dict[str, scheduling.Reviewed] = {}
    for r in sorted(log, key=lambda r: r.at):
        before = cards.get(r.question_id)
        cards[r.question_id] = scheduling.review(before.card if before else None, scheduling.parse_rating(r.rating),
                                                 r.at, 0.9)
    engine = make_engine(db_url)
    with Session(engine) as db:
        db.add_all([Attempt(user_id=user_id, question_id=r.question_id, score=1.0, correct=r.rating != "again",
                            rating=r.rating, created_at=r.at) for r in log])
        db.add_all([ReviewCard(user_id=user_id, question_id=qid, card=c.card, due=c.due, last_review=c.last_review)
                    for qid, c in cards.items()])
        db.commit()
    engine.dispose()


def _wait_until_done(client: TestClient, headers: dict[str, str], timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/api/v1/me/scheduler", headers=headers).json()
        if body["state"] != "running":
            return body
        time.sleep(0.2)
    raise AssertionError(f"the fit did not finish in {timeout} s: {body}")


def test_fit_runs_in_its_own_process_and_schedules_the_reviews_after_it(db_url, tmp_path):
    app = _app(db_url, tmp_path)
    with TestClient(app) as client:
        h, uid = _guest(client)
        other, _ = _guest(client)
        _seed(db_url, uid, simulated_log(300))
        before = client.get("/api/v1/me/scheduler", headers=h).json()
        assert before["state"] == "idle" and not before["fitted"]
        assert before["parameters"] == fsrs_fit.default_parameters() and before["reviews"] > 2000

        r = client.post("/api/v1/me/scheduler/fit", headers=h)
        assert r.status_code == 202, r.text
        assert r.json()["state"] == "running"
        again = client.post("/api/v1/me/scheduler/fit", headers=h)  # while it runs: its status, nothing new
        assert again.status_code == 202 and again.json()["started_at"] == r.json()["started_at"]
        children = list(scheduler_fits._children)
        assert len(children) == 1  # one process for the two asks
        assert children[0].args[5:7] == ["app.practice.fit_job", str(uid)] and children[0].args[1:3] == ["-n", "19"]

        done = _wait_until_done(client, h)
        assert done["state"] == "idle" and done["error"] is None and done["fitted"], done
        assert children[0].wait(timeout=10) == 0  # a process of its own, finished
        assert f"fsrs fit user {uid}: fitted" in (tmp_path / "fit.log").read_text()
        m = done["metrics"]
        assert m["learned"] and m["log_loss_after"] < m["log_loss_before"] and m["evaluated"] > 0
        assert done["reviews_at_fit"] == before["reviews"] and done["fitted_at"] is not None
        assert [w["retention"] for w in done["forecast"]] == [0.8, 0.85, 0.9, 0.95]
        assert all(w["per_day"] > 0 for w in done["forecast"])

        # Someone else sees their own scheduler (defaults), nothing of mine; nobody sees it signed out.
        theirs = client.get("/api/v1/me/scheduler", headers=other).json()
        assert not theirs["fitted"] and theirs["reviews"] == 0 and theirs["metrics"] is None
        assert client.get("/api/v1/me/scheduler").status_code == 401
        assert client.post("/api/v1/me/scheduler/fit").status_code == 401
        assert client.post("/api/v1/me/scheduler/fit", headers=other).status_code == 409  # their own log: empty

        # A review now is scheduled by my parameters: an Easy first answer's interval is the fitted w[3].
        now = app.state.clock()
        body = client.post("/api/v1/questions/s-open/check", json={"answer": GOOD_OPEN, "rating": "easy"},
                           headers=h).json()
        due = datetime.fromisoformat(body["review"]["due"])
        fitted = scheduling.review(None, fsrs.Rating.Easy, now, 0.9, done["parameters"]).due
        default = scheduling.review(None, fsrs.Rating.Easy, now, 0.9).due
        assert abs((due - fitted).total_seconds()) < 1
        assert (default - due) > timedelta(days=2)  # the fast forgetter's cards come back much sooner


def test_the_threshold_and_the_review_that_crosses_it(db_url, tmp_path):
    app = _app(db_url, tmp_path, fsrs_fit_min_reviews=40)
    with TestClient(app) as client:
        h, uid = _guest(client)
        _seed(db_url, uid, simulated_log(8, days=60)[:38])
        r = client.post("/api/v1/me/scheduler/fit", headers=h)
        assert r.status_code == 409 and "40" in r.json()["detail"]
        client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=h)  # review 39
        with request_session(app.state.engine) as db:
            assert db.get(SchedulerFit, uid) is None  # below the threshold nothing started
        client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=h)  # review 40
        assert client.get("/api/v1/me/scheduler", headers=h).json()["state"] == "running"
        done = _wait_until_done(client, h)
        assert done["state"] == "idle" and done["reviews_at_fit"] == 40 and done["fitted_at"], done
        # 40 reviews teach fsrs-rs nothing: the defaults stay, and the page says so
        assert not done["metrics"]["learned"] and not done["fitted"]
        assert done["parameters"] == fsrs_fit.default_parameters()
        token = h["Authorization"].removeprefix("Bearer ")  # the page, with this guest's session as a cookie
        client.cookies.set("mj_session", URLSafeSerializer("test-secret", salt="session").dumps(token))
        assert "found too little to learn from and kept the defaults" in client.get("/dashboard?lang=en").text


def test_refits_after_every_n_reviews_and_rate_limits_asking(db_url, tmp_path):
    app = _app(db_url, tmp_path, fsrs_fit_min_reviews=20, fsrs_fit_every=3, limit_fsrs_fits_per_hour=1)
    clock = app.state.clock
    with TestClient(app) as client:
        h, uid = _guest(client)
        _seed(db_url, uid, simulated_log(10, days=60))
        assert client.post("/api/v1/me/scheduler/fit", headers=h).status_code == 202
        first = _wait_until_done(client, h)
        assert first["state"] == "idle", first
        refused = client.post("/api/v1/me/scheduler/fit", headers=h)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        for _ in range(2):  # two new reviews: not yet
            clock.advance(minutes=5)
            client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=h)
        assert client.get("/api/v1/me/scheduler", headers=h).json()["state"] == "idle"
        clock.advance(minutes=5)
        client.post("/api/v1/questions/s-single/check", json={"answer": "B"}, headers=h)  # the third
        assert client.get("/api/v1/me/scheduler", headers=h).json()["state"] == "running"
        second = _wait_until_done(client, h)
        assert second["state"] == "idle" and second["reviews_at_fit"] == first["reviews_at_fit"] + 3


def test_a_failed_fit_is_recorded_with_its_reason_and_a_dead_one_times_out(db_url, tmp_path):
    app = _app(db_url, tmp_path, fsrs_fit_min_reviews=20)
    clock = app.state.clock
    with TestClient(app) as client:
        h, uid = _guest(client)
        _seed(db_url, uid, simulated_log(10, days=60))
        policy = app.state.fit_policy
        with request_session(app.state.engine) as db, write_transaction(db):
            assert scheduler_fits.claim(db, uid, clock(), policy, start_process=False)  # run below, by hand
        assert fit_job.run(app.state.engine, uid, holdout=0.2, min_reviews=10**6) == "failed"
        failed = client.get("/api/v1/me/scheduler", headers=h).json()
        assert failed["state"] == "failed" and "at least 1000000 reviews" in failed["error"]
        assert not failed["fitted"]

        with request_session(app.state.engine) as db, write_transaction(db):  # a fit whose process died
            assert scheduler_fits.claim(db, uid, clock(), policy, start_process=False)
            assert not scheduler_fits.claim(db, uid, clock(), policy)  # one at a time
        clock.advance(seconds=policy.timeout.total_seconds() + 1)
        dead = client.get("/api/v1/me/scheduler", headers=h).json()
        assert dead["state"] == "failed" and "did not finish" in dead["error"]
        assert client.post("/api/v1/me/scheduler/fit", headers=h).status_code == 202  # may start again
        assert _wait_until_done(client, h)["state"] == "idle"


@pytest.mark.parametrize("path", ["/api/v1/me/scheduler", "/api/v1/me/scheduler/fit"])
def test_the_schema_lists_the_routes(client, path):
    assert path in client.get("/openapi.json").json()["paths"]


def test_the_dashboard_section_shows_the_fit_and_fits_on_a_form_post(db_url, tmp_path):
    app = _app(db_url, tmp_path, fsrs_fit_min_reviews=400)
    with TestClient(app) as client:
        client.post("/guest", data={"csrf_token": csrf_of(client.get("/practice").text), "next": "/dashboard"})
        with request_session(app.state.engine) as db:
            uid = db.exec(select(func.max(User.id))).one()
        page = client.get("/dashboard?lang=zh").text
        assert "复习算法" in page and "现在用的是默认参数（你已有 0 次复习，需要 400 次）" in page
        assert 'action="/dashboard/scheduler/fit"' not in page  # nothing to fit yet
        token = csrf_of(page)
        refused = client.post("/dashboard/scheduler/fit", data={"csrf_token": token})
        assert refused.status_code == 409 and "拟合至少需要 400 次复习，你现在有 0 次" in refused.text
        assert client.post("/dashboard/scheduler/fit", data={"csrf_token": "forged"}).status_code == 403

        _seed(db_url, uid, simulated_log(300))
        page = client.get("/dashboard?lang=en").text
        assert "Scheduler" in page and 'action="/dashboard/scheduler/fit"' in page
        r = client.post("/dashboard/scheduler/fit", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("/dashboard?fit=started#scheduler")
        assert "Fitting…" in client.get("/dashboard").text
        _wait_until_done(client, {})  # the cookie session polls as well
        page = client.get("/dashboard").text
        assert "Parameters fitted to your reviews are in use" in page and 'id="sched-metrics"' in page
        assert 'id="sched-forecast"' in page and "(your setting)" in page


def test_the_cli_fits_one_account_in_its_own_process(db_url, tmp_path):
    app = _app(db_url, tmp_path)
    with TestClient(app) as client:
        h, uid = _guest(client)
        _seed(db_url, uid, simulated_log(100))
        env = {**os.environ, "MIANJING_DATABASE_URL": db_url, "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-m", "app.cli", "fsrs", "fit", "--user", str(uid)], env=env,
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["outcome"].startswith("fitted") and out["state"] == "idle" and out["metrics"]["learned"]
        assert client.get("/api/v1/me/scheduler", headers=h).json()["fitted"]
        missing = subprocess.run([sys.executable, "-m", "app.cli", "fsrs", "fit", "--user", "999999"], env=env,
                                 cwd=REPO, capture_output=True, text=True, timeout=120)
        assert missing.returncode == 1 and "no account with id 999999" in missing.stderr
