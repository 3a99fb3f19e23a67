"""GET /api/v1/questions/{id} and anonymous POST /api/v1/questions/{id}/check answered at the ASGI edge,
before FastAPI's router.

They are the hottest routes, and their work is small: a dict lookup plus cached bytes for a view, a few
microseconds of scoring for most checks. FastAPI's route matching over some sixty routes and its
parameter machinery cost several times that (in-process: a question view 11 µs here against about 60 µs
through the router; a check 15 µs against 115 µs; bench/attribute_overhead.py). The hot path answers only
requests whose meaning is plain and passes everything else on to the documented routes in
app/api/questions.py, so errors, validation, authentication and OpenAPI stay FastAPI's:

- a view: a known id, and no query string or a single in-range `seed=N`;
- a check: a known id, no credentials (no cookie, no Authorization header), `application/json`, and a
  body that parses and validates with the route's own request model, and nothing the route would refuse
  or send to the thread pool (it is asked: `check_problem`, `scores_inline`).

Both sides produce their bytes with the same functions (`question_json`, `check_payload`);
tests/test_api_questions.py checks that they give identical responses, for checks over arbitrary JSON.
"""

from __future__ import annotations

import orjson
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.practice import PracticeCheckRequest
from app.api.questions import check_payload, check_problem, scores_inline
from app.views import question_json

PREFIX = "/api/v1/questions/"
CHECK = "/check"
MAX_SEED = 2**31 - 1
JSON = (b"content-type", b"application/json")
CREDENTIALS = (b"cookie", b"authorization")


PASS_ON = -1


def _seed(query: bytes) -> int | None:
    """None for no query, the seed for a canonical `seed=N` in range, PASS_ON for anything else."""
    if not query:
        return None
    if not query.startswith(b"seed="):
        return PASS_ON
    digits = query[5:]
    if not digits.isdigit() or len(digits) > 10 or (len(digits) > 1 and digits[0] == 48):  # 48: b"0"
        return PASS_ON
    seed = int(digits)
    return seed if seed <= MAX_SEED else PASS_ON


class QuestionHotPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            method = scope["method"]
            if method == "GET":
                body = self._view(scope)
                if body is not None:
                    await _send_json(send, body)
                    return
            elif method == "POST" and scope["path"].endswith(CHECK):
                await self._check(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _view(scope: Scope) -> bytes | None:
        question_id = scope["path"][len(PREFIX):]
        if not question_id or "/" in question_id:
            return None
        seed = _seed(scope["query_string"])
        if seed == PASS_ON:
            return None
        content = scope["app"].state.store.current
        q = content.by_id.get(question_id)
        if q is None:
            return None
        return question_json(content, q, seed)

    async def _check(self, scope: Scope, receive: Receive, send: Send) -> None:
        question_id = scope["path"][len(PREFIX):-len(CHECK)]
        if not question_id or "/" in question_id or not _anonymous_json(scope):
            await self.app(scope, receive, send)
            return
        raw = await _read_body(receive)  # the body limit outside us still counts every chunk
        if raw is None:  # the client went away: nobody to answer
            return
        body = _checked(scope, question_id, raw)
        if body is None:  # the route decides, reading the same bytes
            await self.app(scope, _replay(raw, receive), send)
            return
        await _send_json(send, body)


def _anonymous_json(scope: Scope) -> bool:
    json = False
    for name, value in scope["headers"]:
        if name in CREDENTIALS:
            return False
        if name == b"content-type":
            json = value == b"application/json"
    return json


def _checked(scope: Scope, question_id: str, raw: bytes) -> bytes | None:
    """The response body of an anonymous check, or None to pass it on to the route.

    orjson accepts a subset of what the route's json.loads accepts (no NaN, no lone surrogates, integers
    within 64 bits) and reads that subset identically, so any body parsed here means the same to both."""
    content = scope["app"].state.store.current
    q = content.by_id.get(question_id)
    if q is None:
        return None
    try:
        body = PracticeCheckRequest.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        return None
    if check_problem(q, body) or not scores_inline(q, body):
        return None
    return orjson.dumps(check_payload(q, body)[1])


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replay


async def _send_json(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), JSON]})
    await send({"type": "http.response.body", "body": body})
