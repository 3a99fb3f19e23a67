"""Property-based API fuzzing with schemathesis against the app's own OpenAPI document.

Every operation in /openapi.json is called with generated (valid and invalid) inputs through the ASGI app
directly, on SQLite and on PostgreSQL, authenticated as a guest user (the admin routes with the admin
token, so nothing is excluded). All of schemathesis' default checks run: no 500, status codes, content
types, headers and bodies as declared, invalid input rejected, valid input accepted.

Generated path parameters are random strings, which would only ever reach the 404 branch; a flatmap
hook swaps in real ids (a question id, the user's interview, a real position) part of the time so the
scoring and interview code is fuzzed with arbitrary answers too.

The stateful test at the end follows the OpenAPI links between operations. The same checks against a live
server, by hand (logout, keep and deleting the account revoke the token, so they stay out; the admin routes
want the admin token):

    schemathesis run http://127.0.0.1:8000/openapi.json --checks all -H "Authorization: Bearer $GUEST_TOKEN" \
        --exclude-path /api/v1/auth/logout --exclude-path /api/v1/auth/keep --exclude-path /api/v1/me \
        --exclude-path-regex '/api/v1/admin/.*'
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.python import asgi as schemathesis_asgi

from app.db import upgrade
from app.main import create_app
from tests.conftest import VALID, make_settings, migrated_database

ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef"  # noqa: S105 - a test value
INTERVIEW = "__interview__"  # replaced by the real interview id of the app under test
MAX_EXAMPLES = 40

# The schema is the same for every app; it is read once, from an app over a throw-away SQLite file.
_LOADER_DIR = Path(tempfile.mkdtemp(prefix="mianjing-fuzz-"))
atexit.register(shutil.rmtree, _LOADER_DIR, True)  # also when this module is collected but not run
_LOADER_URL = f"sqlite:///{_LOADER_DIR / 'schema.db'}"
upgrade(_LOADER_URL)
_LOADER_APP = create_app(make_settings(database_url=_LOADER_URL))
schema = schemathesis.openapi.from_asgi("/openapi.json", _LOADER_APP)
QUESTION_IDS = sorted(_LOADER_APP.state.store.current.by_id)
ROUND_IDS = sorted(_LOADER_APP.state.store.current.rounds_by_id)


def _with_nul(value, keys=None):
    """The same strings with a NUL in place of their first character (length kept, so length limits still
    hold): PostgreSQL refuses NUL in text, a classic 500. In a dict, only the values under `keys`."""
    if isinstance(value, str):
        return "\x00" + value[1:] if value else value
    if isinstance(value, dict):
        return {k: _with_nul(v) if keys is None or k in keys else v for k, v in value.items()}
    if isinstance(value, list):
        return [_with_nul(v) for v in value]
    return value


# Body fields whose schema allows any text (no pattern, no enum), so a NUL keeps the request valid.
FREE_TEXT = {"answer", "round", "password", "current_password", "new_password"}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Keep the random value, or aim at a real object of this user, or put a NUL in it.
    params = dict(path_parameters or {})
    options = [st.just(params), st.just(_with_nul(params))]
    if "interview_id" in params:
        real = {**params, "interview_id": INTERVIEW}
        options.append(st.just(real))
        if "position" in params:
            options.append(st.integers(0, 6).map(lambda p: {**real, "position": p}))
    if "question_id" in params:
        options.append(st.sampled_from(QUESTION_IDS).map(lambda q: {**params, "question_id": q}))
    return st.one_of(*options)


@schema.hook
def flatmap_body(context, body):
    keys = FREE_TEXT | ({"username"} if context.operation.path == "/api/v1/auth/token" else set())
    return st.one_of(st.just(body), st.just(_with_nul(body, keys)))


@schema.hook
def flatmap_case(context, case):
    # A real round part of the time, so that interviews start and the links from them are followed. Set on
    # the case, not in flatmap_body: schemathesis then re-validates the body (a negative case missing its
    # round becomes a positive one).
    if (case.method, case.path) != ("POST", "/api/v1/interviews") or not isinstance(case.body, dict):
        return st.just(case)

    def with_round(round_id: str):
        case.body = {**case.body, "round": round_id}
        return case

    return st.one_of(st.just(case), st.sampled_from(ROUND_IDS).map(with_round))


# Rejections that depend on the content, which a JSON schema cannot express: schema-valid requests that
# are still 422, each for a documented reason (which question ids are generated items, and which answers
# each question can read, is the content's business, and it changes with a reload). Any other 422 for a schema-valid request fails the
# positive_data_acceptance check as usual: where the schema can say the rule, it does (the time zones of
# /me/stats are an enum, a cursor's pattern admits exactly the valid cursors), and a self-rating of a
# question that is not open is a 404 (no such rating), as for one never answered.
SEMANTIC_422 = (
    "this is a generated question: send the instance's seed",
    # What a question's scorer can read (a number, a shape, option keys, text) is its type's business.
    "the answer cannot be read for this question: ",
    # And what a question file holds is its format's (app/formats): schemathesis writes bytes, not GIFT.
    "the file does not import",
)
# The hooks above put a NUL into path parameters and free-text fields, where the schema allows any text;
# the service refuses it with a 422 that says so (no text it keeps may hold one: app/limits.py, Text and
# Answer), which is the refusal this fuzzing looks for, not a valid request rejected.
NUL_422 = "contains a NUL character"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_env(request, tmp_path_factory):
    """One app per database kind, shared by every operation: a guest user with one active interview."""
    folder = tmp_path_factory.mktemp("fuzz")
    # A private copy of the content: the admin import routes publish banks into it (into the repository's
    # fixture folder, before, where a fuzzed bank was once committed).
    content = shutil.copytree(VALID, folder / "content")
    with migrated_database(request.param, folder) as url:
        app = create_app(make_settings(database_url=url, admin_token=ADMIN_TOKEN, content_dir=content))
        try:
            with TestClient(app) as client:
                r = client.post("/api/v1/auth/guest")
                assert r.status_code == 201, r.text
                token = r.json()["access_token"]
                r = client.post("/api/v1/interviews", json={"round": "mini"},
                                headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 201, r.text
                yield {"app": app, "client": client, "token": token, "interview_id": r.json()["id"]}
        finally:
            # schemathesis keeps the lifespan of every app it called running; stop them with the app.
            schemathesis_asgi.shutdown_lifespans()
            app.state.engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _drop_loader():
    yield
    schemathesis_asgi.shutdown_lifespans()
    _LOADER_APP.state.engine.dispose()
    shutil.rmtree(_LOADER_DIR, ignore_errors=True)


def call_as_the_user(case, env):
    """The credentials a case is sent with (see the module docstring) and the response."""
    if case.path_parameters and case.path_parameters.get("interview_id") == INTERVIEW:
        case.path_parameters["interview_id"] = env["interview_id"]
    token = ADMIN_TOKEN if case.path.startswith("/api/v1/admin") else env["token"]
    if case.path in ("/api/v1/auth/logout", "/api/v1/auth/keep", "/api/v1/me"):
        # Each revokes the caller's token (DELETE /me the whole account), which would turn every later call
        # into a 401: use a fresh guest.
        token = env["client"].post("/api/v1/auth/guest").json()["access_token"]
    # Operations that declare the bearer scheme get the user's token in place of the generated one; a case
    # that leaves the header out on purpose (negative data) goes without it and must be refused.
    secured = bool(case.operation.definition.raw.get("security"))
    dropped = secured and "Authorization" not in (case.headers or {})
    return case.call(app=env["app"], headers={} if dropped else {"Authorization": f"Bearer {token}"})


def excluded_checks(response, case=None, env=None) -> list:
    detail = str(response.json().get("detail", "")) if response.status_code == 422 else ""
    if detail.startswith(SEMANTIC_422) or NUL_422 in detail:
        return [positive_data_acceptance]
    # The hooks aim path parameters at real objects and call_as_the_user sends the user's own token: a
    # negative case whose invalid parts were those (a question id over its maxLength, a malformed
    # Authorization) is a valid request by the time it is sent, and rightly answered 200.
    params = (case.path_parameters or {}) if case is not None else {}
    if params.get("question_id") in QUESTION_IDS or (env and params.get("interview_id") == env["interview_id"]):
        return [negative_data_rejection]
    # A question file is bytes: whatever schemathesis sends as a "non-binary" body is a file all the same, and
    # whether it imports is the format's business (a 422 when it does not).
    if case is not None and case.operation.path.startswith("/api/v1/admin/imports"):
        return [negative_data_rejection]
    return []


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_conforms_to_its_schema(case, fuzz_env):
    response = call_as_the_user(case, fuzz_env)
    case.validate_response(response, excluded_checks=excluded_checks(response, case, fuzz_env))


# --- stateful: sequences of calls along the OpenAPI links ------------------------------------------------
# Each scenario starts where a client would (a list, a started interview, a practice question) and follows
# the links the responses carry (an interview's id into its reads and writes, a page's `next` into the next
# page, a due review into its rating), every check run on every step. Bounded: STATEFUL_SCENARIOS of at most
# STATEFUL_STEPS calls, about 15 s per database kind on the 2-core machine.
STATEFUL_SCENARIOS = 100
STATEFUL_STEPS = 10


def test_api_workflows_conform_to_their_schema(fuzz_env):
    class Workflows(schema.as_state_machine()):
        def setup(self):
            # A guest of its own per scenario: a replayed scenario then meets the server as it first did (no
            # interview left running, no card reviewed by an earlier one), which Hypothesis requires.
            client = fuzz_env["client"]
            token = client.post("/api/v1/auth/guest").json()["access_token"]
            r = client.post("/api/v1/interviews", json={"round": "mini"}, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
            self.env = {**fuzz_env, "token": token, "interview_id": r.json()["id"]}

        def call(self, case, **kwargs):
            return call_as_the_user(case, self.env)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, additional_checks=additional_checks,
                                   excluded_checks=excluded_checks(response))

    Workflows.run(settings=settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
