"""The OpenAPI document is good enough to generate a typed client from.

A live server (uvicorn on a free port, over a migrated SQLite file and the fixture content) serves its
/openapi.json; openapi-python-client turns it into a package, pip installs that (offline, into a folder of
the test's own), and the generated client runs a guest through a whole mock interview.
"""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from app.db import upgrade
from app.main import create_app
from tests.conftest import make_settings, migrated_database

PACKAGE = "mianjing_api_client"
MAX_CLASS_NAME = 40
OPERATIONS = {
    "get_health", "get_readiness",
    "list_banks", "list_topics", "list_questions", "get_question", "check_answer", "run_examples", "list_rounds",
    "register", "login", "create_guest", "keep_guest", "logout",
    "start_interview", "list_interviews", "get_interview", "save_answer", "move_to_question", "finish_interview",
    "abandon_interview", "get_report", "rate_answer", "share_report", "unshare_report",
    "get_reviews_due", "rate_review", "list_attempts", "list_mistakes", "export_mistakes", "export_revlog", "list_leeches", "resume_leech", "get_stats", "get_settings", "update_settings",
    "change_settings", "export_data", "change_password", "export_archive", "delete_account", "issue_reset_link",
    "get_next_question", "reload_content", "list_reloads", "get_scheduler", "fit_scheduler",
    "list_bookmarks", "star_question", "unstar_question", "get_note", "put_note",
    "get_item_statistics", "report_problem", "list_my_question_reports", "list_my_reports", "get_my_report",
    "list_problem_reports", "resolve_report", "preview_import", "publish_import", "export_bank",
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_server(request, tmp_path_factory) -> Iterator[str]:
    """The app under real uvicorn in a thread, on a free port, over each database kind; yields its base URL."""
    with migrated_database(request.param, tmp_path_factory.mktemp("live")) as url:
        yield from _serve(url)


def _serve(url: str) -> Iterator[str]:
    app = create_app(make_settings(database_url=url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def spec(live_server) -> dict:
    r = httpx.get(f"{live_server}/openapi.json", timeout=30)
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory) -> Iterator[tuple[ModuleType, Path]]:
    """The client package generated from the live /openapi.json and pip installed; (package, its source)."""
    work = tmp_path_factory.mktemp("client")
    spec_file = work / "spec.json"
    spec_file.write_bytes(httpx.get(f"{live_server}/openapi.json", timeout=30).content)
    config = work / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the test needs the generator only
    source = work / "client"
    run([sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec_file), "--meta", "setup",
         "--output-path", str(source), "--config", str(config), "--fail-on-warning"], cwd=work)
    assert (source / "setup.py").is_file() and (source / PACKAGE / "__init__.py").is_file()
    target = work / "site"
    # Installed offline with its dependencies (httpx, attrs) taken from this environment.
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(source)], cwd=work)
    assert (target / PACKAGE / "client.py").is_file()
    assert any(p.name.startswith("mianjing_api_client-1") for p in target.glob("*.dist-info"))
    sys.path.insert(0, str(target))
    try:
        yield importlib.import_module(PACKAGE), source / PACKAGE
    finally:
        sys.path.remove(str(target))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{cmd[:4]} failed:\n{done.stdout}\n{done.stderr}"


def api(name: str) -> ModuleType:
    """One generated operation module, e.g. api("interviews.start_interview")."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_a_guest_takes_an_interview_through_the_generated_client(live_server, generated):
    package, _ = generated
    models = importlib.import_module(f"{PACKAGE}.models")
    anonymous = package.Client(base_url=live_server, raise_on_unexpected_status=True)

    health = api("health.get_health").sync(client=anonymous)
    assert isinstance(health, models.Health) and health.status == "ok"
    rounds = api("rounds.list_rounds").sync(client=anonymous)
    assert rounds and all(isinstance(r, models.RoundPublic) for r in rounds)
    mini = next(r for r in rounds if r.id == "mini")
    assert isinstance(mini.duration, float) and mini.sections[0].question_count == 2

    guest = api("auth.create_guest").sync(client=anonymous)
    assert isinstance(guest, models.TokenResponse) and guest.is_guest and guest.username is None
    client = package.AuthenticatedClient(base_url=live_server, token=guest.access_token,
                                         raise_on_unexpected_status=True)

    state = api("interviews.start_interview").sync(client=client, body=models.StartRequest(round_=mini.id))
    assert isinstance(state, models.InterviewState), state
    assert state.state == models.InterviewStateName.ACTIVE
    assert state.round_ == "mini" and state.score is None and state.current_position == 0
    assert isinstance(state.deadline, datetime) and state.deadline.tzinfo is not None
    assert state.remaining_seconds == pytest.approx(600, abs=5)
    assert sum(s.count for s in state.sections) == len(state.questions) >= 4
    running = api("interviews.start_interview").sync(client=client, body=models.StartRequest(round_=mini.id))
    assert isinstance(running, models.InterviewRunningResponse) and running.active_interview_id == state.id  # a typed 409
    first = state.questions[0]
    assert isinstance(first, models.InterviewItem) and isinstance(first.question, models.QuestionPublic)
    assert first.question.id == "s-open" and first.answer is None and first.saved_at is None

    answer = "BN 对每个通道做归一化：减去均值、除以方差，再做缩放和平移。"
    saved = api("interviews.save_answer").sync(interview_id=state.id, position=0, client=client,
                                               body=models.AnswerRequest(answer=answer))
    assert isinstance(saved, models.AnswerSaved) and saved.answer == answer
    assert isinstance(saved.saved_at, datetime)
    single = next(q for q in state.questions if q.question.type_ == "single")
    api("interviews.save_answer").sync(interview_id=state.id, position=single.position, client=client,
                                       body=models.AnswerRequest(answer=single.question.options[0].key))
    moved = api("interviews.move_to_question").sync(interview_id=state.id, client=client,
                                                    body=models.MoveRequest(position=single.position))
    assert isinstance(moved, models.PositionMoved) and moved.current_position == single.position

    again = api("interviews.get_interview").sync(interview_id=state.id, client=client)
    assert isinstance(again, models.InterviewState) and again.questions[0].answer == answer
    assert isinstance(again.questions[0].saved_at, datetime)
    listed = api("interviews.list_interviews").sync(client=client)
    assert isinstance(listed, models.InterviewPage) and listed.next_ is None
    assert [i.id for i in listed.items] == [state.id] and isinstance(listed.items[0], models.InterviewSummary)

    not_yet = api("interviews.get_report").sync(interview_id=state.id, client=client)
    assert isinstance(not_yet, models.ErrorResponse) and "结束" in not_yet.detail  # a typed 409

    early = api("interviews.finish_interview").sync(interview_id=state.id, client=client,
                                                     body=models.FinishRequest(reason=models.FinishRequestReason("time_up")))
    assert isinstance(early, models.FinishConflictResponse) and 590 <= early.seconds_left <= 600  # a typed 409
    finished = api("interviews.finish_interview").sync(interview_id=state.id, client=client)
    assert isinstance(finished, models.InterviewFinished)
    assert finished.state == models.InterviewStateName.FINISHED and isinstance(finished.score, float)

    report = api("interviews.get_report").sync(interview_id=state.id, client=client)
    assert isinstance(report, models.InterviewReport), report
    assert isinstance(report.score, float) and 0 <= report.score <= 1 and report.score == finished.score
    assert isinstance(report.finished_at, datetime)
    assert len(report.questions) == len(state.questions)
    assert all(isinstance(q, models.ReportQuestion) and isinstance(q.score, float) for q in report.questions)
    open_item = report.questions[0]
    assert open_item.answer == answer and open_item.reference_html
    assert open_item.keypoints and all(isinstance(k, models.KeypointHit) for k in open_item.keypoints)
    assert all(isinstance(s, models.ReportSection) for s in report.sections)
    assert all(isinstance(t, models.TopicScore) and isinstance(t.count, int) for t in report.topics)

    rated = api("interviews.rate_answer").sync(interview_id=state.id, position=0, client=client,
                                               body=models.RateRequest(rating=models.RateRequestRating.GOOD))
    assert isinstance(rated, models.AnswerRated) and rated.rating == models.AnswerRatedRatingType0.GOOD
    link = api("interviews.share_report").sync(interview_id=state.id, client=client)
    assert isinstance(link, models.ShareLink) and link.url == f"/shared/{link.token}"
    assert httpx.get(live_server + link.url, timeout=30).status_code == 200

    stats = api("me.get_stats").sync(client=client)
    assert isinstance(stats, models.Dashboard) and stats.attempts == 2  # the two answered questions
    assert [i.id for i in stats.recent_interviews] == [state.id]
    assert len(stats.activity.additional_properties) == 365
    due = api("me.get_reviews_due").sync(client=client)
    assert isinstance(due, models.DueReviewPage) and due.next_ is None
    zone = models.SettingsChangeTimezone("Asia/Shanghai")  # the IANA names are an enum
    changed = api("me.change_settings").sync(client=client, body=models.SettingsChange(timezone=zone))
    assert isinstance(changed, models.AccountSettings) and changed.timezone == "Asia/Shanghai"
    newest = api("me.list_attempts").sync(client=client, limit=1)
    assert isinstance(newest, models.AttemptPage) and len(newest.items) == 1 and isinstance(newest.next_, str)
    older = api("me.list_attempts").sync(client=client, limit=1, cursor=newest.next_)
    assert isinstance(older, models.AttemptPage) and older.next_ is None
    assert {a.question_id for a in newest.items + older.items} == {"s-open", single.question.id}
    assert isinstance(older.items[0].created_at, datetime)

    missing = api("interviews.get_interview").sync(interview_id="0" * 32, client=client)
    assert isinstance(missing, models.ErrorResponse) and missing.detail == "no such interview"

    second = api("interviews.start_interview").sync(client=client, body=models.StartRequest(round_=mini.id))
    abandoned = api("interviews.abandon_interview").sync(interview_id=second.id, client=client)
    assert isinstance(abandoned, models.InterviewFinished) and abandoned.score is None
    assert abandoned.state == models.InterviewStateName.ABANDONED
    no_report = api("interviews.get_report").sync(interview_id=second.id, client=client)
    assert isinstance(no_report, models.ErrorResponse)  # a typed 409: nothing was scored
    too_late = api("interviews.abandon_interview").sync(interview_id=state.id, client=client)
    assert isinstance(too_late, models.ErrorResponse)  # a finished one cannot be abandoned


def test_generated_names_are_short_and_readable(generated, spec):
    package, source = generated
    models = importlib.import_module(f"{PACKAGE}.models")
    long = [name for name in models.__all__ if len(name) > MAX_CLASS_NAME]
    assert not long, long
    assert "HTTPValidationError" not in models.__all__  # the 422s are described as app.errors sends them
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert set(ids) == OPERATIONS
    modules = {p.stem for p in (source / "api").glob("*/*.py") if p.stem != "__init__"}
    assert modules == OPERATIONS
    assert spec["info"]["title"] == "Mianjing API" and "面经" in spec["info"]["description"]


USER_PATHS = ("/api/v1/interviews", "/api/v1/me/", "/api/v1/auth/keep", "/api/v1/auth/logout")
ERROR_SCHEMAS = {"#/components/schemas/ErrorResponse", "#/components/schemas/ValidationErrorResponse",
                 "#/components/schemas/InterviewRunningResponse",  # the start's 409 names the running interview
                 "#/components/schemas/FinishConflictResponse"}  # the finish's 409: abandoned, or seconds left


def test_every_operation_has_a_response_model_and_documents_its_errors(spec, tmp_path):
    url = f"sqlite:///{tmp_path / 'doc.db'}"
    upgrade(url)
    with TestClient(create_app(make_settings(database_url=url))) as anonymous:
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                where = f"{method.upper()} {path}"
                ok = [code for code in op["responses"] if code.startswith("2")]
                assert len(ok) == 1, where
                if set(op["responses"][ok[0]].get("content", {})) == {"text/csv"}:  # a download only
                    assert op["responses"][ok[0]]["content"]["text/csv"]["schema"] == {"type": "string"}, where
                elif "application/octet-stream" in op["responses"][ok[0]].get("content", {}):  # a file
                    assert all(c["schema"] == {"type": "string", "format": "binary"}
                               for c in op["responses"][ok[0]]["content"].values()), where
                elif ok[0] != "204":
                    described = op["responses"][ok[0]]["content"]["application/json"]["schema"]
                    assert "$ref" in described or "$ref" in described.get("items", {}), (where, described)
                codes = set(op["responses"])
                if path.startswith("/api/"):
                    assert "422" in codes, where  # any /api request with a repeated query parameter
                if method != "get":
                    assert "413" in codes, where  # any request body over the limit
                if path.startswith(USER_PATHS):
                    assert "401" in codes, where
                    if method != "get":
                        assert "403" in codes, where  # a cookie session without the CSRF header
                if "{interview_id}" in path or "{question_id}" in path:
                    assert "404" in codes, where
                for code, response in op["responses"].items():
                    if code[0] in "45":
                        schema = response["content"]["application/json"]["schema"]
                        assert schema.get("$ref") in ERROR_SCHEMAS | {"#/components/schemas/Readiness"}, (where, code)
                # What an anonymous caller with an empty body gets is documented too.
                concrete = path.replace("{interview_id}", "0" * 32).replace("{question_id}", "s-open")
                r = anonymous.request(method, concrete.replace("{position}", "0"),
                                      json={} if method != "get" else None)
                assert str(r.status_code) in codes, (where, r.status_code, r.text)
                if path.startswith(USER_PATHS):
                    assert r.status_code in (401, 422), (where, r.status_code)
