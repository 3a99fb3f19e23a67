"""Item statistics from the running aggregates (app/item_stats): the numbers through the database equal the
marks CSV's on the same marks, concurrent finishes keep exact sums, a rebuild equals the running sums, and
only an admin reads them — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from api_helpers import bearer, guest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.db import db_session, request_session, write_transaction
from app.interviews import service
from app.item_stats.aggregates import rebuild
from app.main import create_app
from app.models import Interview, InterviewAnswer, ItemAggregate, User
from app.stats.items import ItemAccumulator, add_attempt, item_statistics
from app.stats.marks_csv import read_marks
from app.stats.running import ScoredItem, attempt_states, state_from_json, state_to_json
from tests.conftest import Clock, make_settings
from tests.test_unscored_items import write_content

TOKEN = "admin-token-for-tests"
ADMIN = bearer(TOKEN)
ITEMS = ("s-open", "s-single", "s-numeric", "s-shape", "s-generated")
OPEN_ANSWERS = ("", "每个通道求均值", "按通道求均值和方差，再用 gamma beta 缩放平移")
# (s-open answer, s-single, s-numeric, s-shape): s-generated is left unanswered (0) by everyone. Strong
# candidates pick A on s-single and weak ones B, so that its discrimination comes out negative.
PROFILES = [
    (2, "A", 128, [1, 64, 56, 56]),
    (2, "A", 128, [1, 64, 56, 56]),
    (1, "A", 128, [1, 64, 28, 28]),
    (1, "B", 127, [1, 64, 56, 56]),
    (0, "B", 127, [1, 64, 28, 28]),
    (0, "B", None, None),
]


@pytest.fixture
def env(db_url) -> Iterator[tuple[TestClient, Clock]]:
    app = create_app(make_settings(database_url=db_url, admin_token=TOKEN))
    clock = Clock()
    app.state.clock = clock
    with TestClient(app) as client:
        yield client, clock


def start(client: TestClient, headers: dict[str, str], round_id: str = "mini") -> dict:
    r = client.post("/api/v1/interviews", json={"round": round_id}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def answer_all(client: TestClient, headers: dict[str, str], state: dict, profile: tuple) -> None:
    open_i, single, numeric, shape = profile
    answers = {"s-open": OPEN_ANSWERS[open_i] or None, "s-single": single, "s-numeric": numeric, "s-shape": shape}
    for q in state["questions"]:
        value = answers.get(q["question"]["id"])
        if value is not None:
            r = client.put(f"/api/v1/interviews/{state['id']}/answers/{q['position']}", json={"answer": value},
                           headers=headers)
            assert r.status_code == 200, r.text


def finish_interviews(client: TestClient, profiles=PROFILES) -> list[dict[str, float]]:
    """Finish one interview per profile; each one's marks by question, from its report."""
    marks = []
    for profile in profiles:
        h = guest(client)
        state = start(client, h)
        answer_all(client, h, state, profile)
        assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
        report = client.get(f"/api/v1/interviews/{state['id']}/report", headers=h).json()
        marks.append({q["id"]: q["score"] for q in report["questions"]})
    return marks


def stats(client: TestClient, round_id: str = "mini", **params) -> dict:
    r = client.get("/api/v1/admin/stats/items", params={"round": round_id, **params}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_database_path_equals_the_marks_csv_path(env):
    client, _ = env
    marks = finish_interviews(client)
    assert {frozenset(m) for m in marks} == {frozenset(ITEMS)}
    assert len({m["s-open"] for m in marks}) == 3  # three different open marks, not just right and wrong
    # The same marks, once through the CSV reader and once added attempt by attempt.
    csv_text = "attempt," + ",".join(ITEMS) + "\n" + "".join(
        f"{i}," + ",".join(repr(m[item]) for item in ITEMS) + "\n" for i, m in enumerate(marks))
    from_csv = {s.item: s for s in item_statistics(read_marks(io.StringIO(csv_text, newline="")).accumulators)}
    accs = {item: ItemAccumulator() for item in ITEMS}
    for m in marks:
        add_attempt(accs, m)
    by_hand = {s.item: s for s in item_statistics(accs)}
    got = {row["question_id"]: row for row in stats(client)["items"]}
    assert set(got) == set(ITEMS)
    for item in ITEMS:
        for expected in (from_csv[item], by_hand[item]):
            row = got[item]
            assert row["attempts"] == expected.attempts == len(PROFILES)
            for name in ("facility", "sd", "discrimination_index", "discriminative_efficiency", "effective_weight"):
                assert row[name] == getattr(expected, name), (item, name)
    assert got["s-single"]["discrimination_index"] < 0
    assert "negative_discrimination" in got["s-single"]["flags"]
    assert "negative_discrimination" not in got["s-numeric"]["flags"]
    assert got["s-generated"]["facility"] == 0.0 and got["s-generated"]["discrimination_index"] is None
    shares = {o["option"]: (o["count"], o["share"]) for o in got["s-single"]["options"]}
    assert shares == {"A": (3, 0.5), "B": (3, 0.5), "C": (0, 0.0), "D": (0, 0.0)}
    assert got["s-single"]["never_chosen"] == ["C", "D"] and "never_chosen_options" in got["s-single"]["flags"]
    assert got["s-numeric"]["options"] is None and got["s-open"]["reports"] == 0


def test_sorting_by_a_column_either_way(env):
    client, _ = env
    finish_interviews(client)
    up = [r["facility"] for r in stats(client, sort="facility")["items"]]
    down = [r["facility"] for r in stats(client, sort="-facility")["items"]]
    assert up == sorted(up) and down == sorted(down, reverse=True)
    bad = client.get("/api/v1/admin/stats/items", params={"round": "mini", "sort": "nonsense"}, headers=ADMIN)
    assert bad.status_code == 422
    assert client.get("/api/v1/admin/stats/items", params={"round": "nope"}, headers=ADMIN).status_code == 404


def test_a_rebuild_equals_the_running_sums(env):
    client, _ = env
    finish_interviews(client)
    h = guest(client)
    state = start(client, h)  # running and abandoned interviews count in neither
    client.post(f"/api/v1/interviews/{state['id']}/abandon", headers=h)
    start(client, guest(client))
    engine = client.app.state.engine
    with request_session(engine) as db:
        running = {(r.round_id, r.question_id): r.state for r in db.exec(select(ItemAggregate)).all()}
        assert all(db.exec(select(InterviewAnswer.question_id).where(InterviewAnswer.score.is_not(None))).all())
    with db_session(engine) as db:
        assert rebuild(db, client.app.state.store.current, client.app.state.clock()) == len(PROFILES)
    with request_session(engine) as db:
        rebuilt = {(r.round_id, r.question_id): r.state for r in db.exec(select(ItemAggregate)).all()}
    assert rebuilt == running and len(running) == len(ITEMS)


def test_concurrent_finishes_keep_exact_sums(env):
    client, clock = env
    engine = client.app.state.engine
    started = []
    for i in range(12):
        h = guest(client)
        state = start(client, h)
        answer_all(client, h, state, PROFILES[i % len(PROFILES)])
        started.append(state["id"])
    barrier = threading.Barrier(len(started))
    failures: list[BaseException] = []

    def finish(interview_id: str) -> None:
        try:
            with request_session(engine) as db:
                owner = db.exec(select(User).join(Interview, Interview.user_id == User.id)
                                .where(Interview.id == interview_id)).one()
                barrier.wait()
                with write_transaction(db):
                    service.finish_owned(db=db, user=owner, interview_id=interview_id, now=clock())
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=finish, args=(iid,)) for iid in started]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    with request_session(engine) as db:
        running = {r.question_id: state_from_json(r.state) for r in db.exec(select(ItemAggregate)).all()}
    assert {qid: s.acc.n for qid, s in running.items()} == dict.fromkeys(ITEMS, len(started))
    with db_session(engine) as db:
        rebuild(db, client.app.state.store.current, clock())
    with request_session(engine) as db:
        rebuilt = {r.question_id: state_from_json(r.state) for r in db.exec(select(ItemAggregate)).all()}
    assert rebuilt == running


def test_only_an_admin_reads_the_statistics(env, db_url):
    client, _ = env
    url = "/api/v1/admin/stats/items?round=mini"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer("wrong")).status_code == 401
    assert client.get(url, headers=guest(client)).status_code == 401  # a candidate's token is no admin token
    assert client.get(url, headers=ADMIN).status_code == 200
    with TestClient(create_app(make_settings(database_url=db_url))) as off:  # no MIANJING_ADMIN_TOKEN
        assert off.get(url, headers=ADMIN).status_code == 403


def test_unscored_items_never_count(db_url, tmp_path):
    app = create_app(make_settings(database_url=db_url, admin_token=TOKEN,
                                   content_dir=write_content(tmp_path / "content", scored=False)))
    with TestClient(app) as client:
        for single in ("B", "A"):
            h = guest(client)
            state = start(client, h, "intro")
            for q in state["questions"]:
                value = "我是计算机专业的硕士" if q["question"]["id"] == "s-intro" else single
                client.put(f"/api/v1/interviews/{state['id']}/answers/{q['position']}", json={"answer": value},
                           headers=h)
            assert client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h).status_code == 200
        rows = {r["question_id"]: r for r in stats(client, "intro")["items"]}
        with request_session(client.app.state.engine) as db:
            single = state_from_json(db.get(ItemAggregate, ("intro", "s-single")).state)
    assert set(rows) == {"s-single", "s-numeric"}  # s-single's 追问; never the self-introduction
    assert rows["s-single"]["attempts"] == 2 and rows["s-single"]["facility"] == 0.5
    # The rest of the test is the 追问, unanswered (0): the self-introduction, covered, adds nothing to it.
    assert single.acc.sum_y == 0 and dict(single.acc.rests) == {0: 2}


def test_a_stored_state_keeps_sums_beyond_64_bits(env):
    client, _ = env
    big = attempt_states([ScoredItem("q", 1.0), ScoredItem("r", 1.0)])["q"]
    big.acc.sum_yy = 3 * 2**70 + 1  # what 100,000 long attempts reach
    engine = client.app.state.engine
    with db_session(engine) as db:
        db.add(ItemAggregate(round_id="mini", question_id="q", state=state_to_json(big),
                             updated_at=client.app.state.clock() - timedelta(days=1)))
    with request_session(engine) as db:
        row = db.exec(select(ItemAggregate).where(ItemAggregate.question_id == "q")).one()
    assert state_from_json(row.state).acc.sum_yy == 3 * 2**70 + 1


def test_the_migration_fills_the_question_ids_of_scored_interviews(empty_db_url):
    from alembic import command
    from sqlalchemy import create_engine, text

    from app.db import _alembic_config, upgrade

    command.upgrade(_alembic_config(empty_db_url), "a4c1d2e3f5b6")  # the revision before this one
    engine = create_engine(empty_db_url)
    plan = '{"sections": [], "items": [{"position": 0, "question": {"id": "s-open"}}, ' \
           '{"position": 1, "question": {"id": "s-single"}}]}'
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO \"user\" (id, is_guest, is_admin, desired_retention, created_at) "
                          "VALUES (1, true, false, 0.9, '2026-11-23 12:00:00')"))
        for iid, state in (("a" * 32, "finished"), ("b" * 32, "active")):
            conn.execute(text(
                "INSERT INTO interview (id, user_id, round_id, round_title, content_version, state, started_at, "
                "deadline, current_position, question_count, plan) VALUES (:id, 1, 'mini', 'm', 'v', :state, "
                "'2026-11-23 12:00:00', '2026-11-23 12:10:00', 0, 2, :plan)"), {"id": iid, "state": state, "plan": plan})
            for pos in (0, 1):
                conn.execute(text("INSERT INTO interviewanswer (interview_id, position, answer_chars, saved_at, "
                                  "time_spent_ms) VALUES (:id, :pos, 0, '2026-11-23 12:01:00', 0)"),
                             {"id": iid, "pos": pos})
    upgrade(empty_db_url)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT interview_id, position, question_id FROM interviewanswer "
                                "ORDER BY interview_id, position")).all()
    engine.dispose()
    assert [tuple(r) for r in got] == [("a" * 32, 0, "s-open"), ("a" * 32, 1, "s-single"),
                                       ("b" * 32, 0, None), ("b" * 32, 1, None)]


def test_one_attempt_adds_what_add_attempt_adds():
    marks = {"a": 1.0, "b": 0.25, "c": 0.0}
    accs = {k: ItemAccumulator() for k in marks}
    add_attempt(accs, marks)
    states = attempt_states([ScoredItem(k, v, ("B",) if k == "b" else None) for k, v in marks.items()])
    assert {k: s.acc for k, s in states.items()} == accs
    assert states["b"].choice and states["b"].chosen == {"B": 1} and not states["a"].choice
    assert state_from_json(state_to_json(states["b"])) == states["b"]
    with pytest.raises(ValueError):
        attempt_states([ScoredItem("a", 1.5)])
