"""GET /api/v1/questions/{id} answered at the ASGI edge, before FastAPI's router.

It is the hottest route, and its work is a dict lookup plus cached bytes: FastAPI's route matching over
some sixty routes and its parameter machinery cost about as much again as the work itself (measured in
bench/attribute_overhead.py). The hot path answers only requests whose meaning is plain (a known id, no
query string or a single in-range `seed=N`) and passes everything else on to the documented route in
app/api/questions.py, so errors, validation and OpenAPI stay FastAPI's. Both produce their bytes with
`question_json`; tests/test_api_questions.py checks that the two give identical responses.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.views import question_json

PREFIX = "/api/v1/questions/"
MAX_SEED = 2**31 - 1
JSON = (b"content-type", b"application/json")


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
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            body = self._body(scope)
            if body is not None:
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-length", str(len(body)).encode()), JSON]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _body(scope: Scope) -> bytes | None:
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
