"""Who grades open answers: the built-in grader, or a language model behind an OpenAI-compatible
chat-completions server (vLLM, llama.cpp's server, Ollama) when MIANJING_GRADER_URL is set.

The model grader never fails a request: any error, timeout, non-200, unreadable or invalid reply gives the
built-in grade with the reason (OpenGrade.fallback, the code grader_fallback). Each failure class is logged
once, then again only after a growing pause (with how many happened meanwhile), and its recovery is logged.
A failure to reach the server (timeout, connection, HTTP status) also stops asking it for a while: the pause
starts at a second and doubles up to MIANJING_GRADER_BACKOFF_MAX_S, so that in an outage only the request
that probes the server waits for its timeout, not every request.

It blocks the calling thread (each call runs its own event loop, for a deadline that covers the whole
exchange and for concurrent grading): call it from the thread pool, never from the event loop. Routes
that grade are plain `def`, or send the work to the pool; an interview's finish grades before its write.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import httpx

from app.content.model import Question
from app.scoring.check import JudgeCode
from app.scoring.model_verdicts import (
    InvalidReply,
    addresses_the_grader,
    combine,
    grading_messages,
    max_reply_tokens,
    parse_reply,
    response_schema,
)
from app.scoring.open_grader import GRADER, OpenGrade, grade_open
from app.settings import Settings

log = logging.getLogger("mianjing.grader")
ResponseFormat = Literal["json_schema", "json_object", "none"]
# Failure classes that say the server is down, slow or refusing: stop asking it for a while.
UNREACHABLE = frozenset({"timeout", "unreachable", "http_status"})
FIRST_PAUSE_S = 1.0


class OpenGrader(Protocol):
    """What grades open answers: practice checks, interview finishes, `mianjing grade-open`."""

    name: str  # "builtin" or "model:<model>": details.grader of what it grades
    remote: bool  # sends answers to another service (slow, and never to be called on the event loop)
    judge: JudgeCode | None  # code items' judge (app.judge), beside it for interview finishes; None: none here

    def grade(self, question: Question, text: str) -> OpenGrade: ...

    def grade_all(self, jobs: Sequence[tuple[Question, str]]) -> list[OpenGrade]:
        """Grade several answers at once (an interview's open items) within the finish budget."""
        ...

    def describe(self) -> dict[str, Any]:
        """What /readyz says about it."""
        ...


class BuiltinGrader:
    name = GRADER
    remote = False
    judge: JudgeCode | None = None

    def grade(self, question: Question, text: str) -> OpenGrade:
        return grade_open(question, text)

    def grade_all(self, jobs: Sequence[tuple[Question, str]]) -> list[OpenGrade]:
        return [grade_open(q, t) for q, t in jobs]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "model": None, "sends_open_answers": False}


BUILTIN = BuiltinGrader()


@dataclass
class _Class:
    """One failure class's log throttle."""

    next_log: float = 0.0
    pause: float = FIRST_PAUSE_S
    unlogged: int = 0


@dataclass
class _Health:
    """Failures seen, what was logged of them, and the pause in asking after the server failed."""

    backoff_max_s: float
    clock: Callable[[], float]
    lock: threading.Lock = field(default_factory=threading.Lock)
    classes: dict[str, _Class] = field(default_factory=dict)
    failures: int = 0  # since the last success
    ask_after: float = 0.0
    pause: float = FIRST_PAUSE_S

    def paused(self) -> bool:
        return self.clock() < self.ask_after

    def failed(self, reason: str, detail: str) -> None:
        now = self.clock()
        with self.lock:
            self.failures += 1
            if reason in UNREACHABLE:
                self.ask_after = now + self.pause
                self.pause = min(self.pause * 2, self.backoff_max_s)
            c = self.classes.setdefault(reason, _Class())
            if now < c.next_log:
                c.unlogged += 1
                return
            unlogged, c.unlogged = c.unlogged, 0
            c.next_log = now + c.pause
            c.pause = min(c.pause * 2, self.backoff_max_s)
        more = f" ({unlogged} more since the last message)" if unlogged else ""
        log.warning("model grader failed (%s)%s: %s; open answers get the built-in grade", reason, more, detail)

    def succeeded(self) -> None:
        with self.lock:
            if not self.failures:
                return
            failures, self.failures = self.failures, 0
            self.classes.clear()
            self.ask_after, self.pause = 0.0, FIRST_PAUSE_S
        log.info("model grader answers again after %d failure(s)", failures)


class _Fallback(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class ModelGrader:
    """Grades with a model, checked and capped by the built-in grader (app/scoring/model_verdicts.py)."""

    remote = True
    judge: JudgeCode | None = None

    def __init__(self, *, url: str, model: str, api_key: str | None = None, timeout_s: float = 5.0,
                 finish_budget_s: float = 20.0, concurrency: int = 8, backoff_max_s: float = 60.0,
                 response_format: ResponseFormat = "json_schema", clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.name = f"model:{model}"
        self.timeout_s = timeout_s
        self.finish_budget_s = finish_budget_s
        self.concurrency = concurrency
        self.response_format = response_format
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._health = _Health(backoff_max_s, clock)
        self._tls: ssl.SSLContext | None = None  # built once: loading the CA bundle per client costs ~10 ms

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "sends_open_answers": True}

    def grade(self, question: Question, text: str) -> OpenGrade:
        return self._run([(question, text)], None)[0]  # bounded by the timeout of its one request

    def grade_all(self, jobs: Sequence[tuple[Question, str]]) -> list[OpenGrade]:
        return self._run(jobs, self.finish_budget_s)

    def _run(self, jobs: Sequence[tuple[Question, str]], budget_s: float | None) -> list[OpenGrade]:
        builtin = [grade_open(q, t) for q, t in jobs]  # the fallback, and the checks on top of the model
        if not jobs:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("the model grader blocks: call it from the thread pool, not the event loop")
        try:
            return asyncio.run(self._grade_all(jobs, builtin, budget_s))
        except Exception as exc:  # noqa: BLE001 - a bug of ours or httpx's must not fail the request either
            self._health.failed("error", f"{type(exc).__name__}: {exc}")
            return [replace(b, fallback="error") for b in builtin]

    async def _grade_all(self, jobs: Sequence[tuple[Question, str]], builtin: list[OpenGrade],
                         budget_s: float | None) -> list[OpenGrade]:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        gate = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(verify=self._tls, timeout=self.timeout_s) as client:
            tasks = [asyncio.create_task(self._grade_one(client, gate, q, t, b))
                     for (q, t), b in zip(jobs, builtin, strict=True)]
            done, pending = await asyncio.wait(tasks, timeout=budget_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            self._health.failed("budget", f"{len(pending)} of {len(jobs)} answer(s) not graded within "
                                          f"the finish budget of {budget_s:g} s")
        return [task.result() if task in done else replace(b, fallback="budget")
                for task, b in zip(tasks, builtin, strict=True)]

    async def _grade_one(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, question: Question, text: str,
                         builtin: OpenGrade) -> OpenGrade:
        if addresses_the_grader(text):  # not sent: what it tells the grader is not for a model to read
            return replace(builtin, fallback="instructions_in_answer")
        async with gate:
            if self._health.paused():
                return replace(builtin, fallback="backoff")
            try:
                async with asyncio.timeout(self.timeout_s):  # the whole exchange, however the bytes trickle
                    content = await self._ask(client, question, text)
                reply = parse_reply(content, question, text)
            except TimeoutError:
                self._health.failed("timeout", f"no reply within {self.timeout_s:g} s from {self.endpoint}")
                return replace(builtin, fallback="timeout")
            except _Fallback as exc:
                self._health.failed(exc.reason, exc.detail)
                return replace(builtin, fallback=exc.reason)
            except InvalidReply as exc:
                self._health.failed(exc.reason, f"{question.id}: {exc.detail}")
                return replace(builtin, fallback=exc.reason)
            except Exception as exc:  # noqa: BLE001 - anything else: the built-in grade all the same
                self._health.failed("error", f"{question.id}: {type(exc).__name__}: {exc}")
                return replace(builtin, fallback="error")
            self._health.succeeded()
            return combine(question, builtin, reply, grader=self.name)

    async def _ask(self, client: httpx.AsyncClient, question: Question, text: str) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": grading_messages(question, text),
                                "temperature": 0, "max_tokens": max_reply_tokens(question), "stream": False}
        if self.response_format == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "open_answer_verdicts", "strict": True, "schema": response_schema(question)}}
        elif self.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        try:
            r = await client.post(self.endpoint, json=body, headers=self._headers)
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            raise _Fallback("unreachable", f"{type(exc).__name__} from {self.endpoint}: {exc}") from None
        if r.status_code != 200:
            raise _Fallback("http_status", f"{self.endpoint} answered {r.status_code}: {r.text[:300]!r}")
        try:
            content = r.json()["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError):
            raise _Fallback("invalid_response", f"not a chat completion: {r.text[:300]!r}") from None
        if not isinstance(content, str):
            raise _Fallback("invalid_response", f"no message content: {r.text[:300]!r}")
        return content


class WithJudge:
    """An open grader and the code judge together: what marks an interview's answers beyond a comparison. It
    grades as its grader does; finishes find the judge beside it (app.interviews.service)."""

    def __init__(self, grader: OpenGrader, judge: JudgeCode) -> None:
        self.grader = grader
        self.judge = judge
        self.name = grader.name
        self.remote = grader.remote

    def grade(self, question: Question, text: str) -> OpenGrade:
        return self.grader.grade(question, text)

    def grade_all(self, jobs: Sequence[tuple[Question, str]]) -> list[OpenGrade]:
        return self.grader.grade_all(jobs)

    def describe(self) -> dict[str, Any]:
        return self.grader.describe()


def grader_from_settings(settings: Settings) -> OpenGrader:
    """The model grader when MIANJING_GRADER_URL is set, else the built-in one."""
    if not settings.grader_url:
        return BUILTIN
    key = settings.grader_api_key.get_secret_value() if settings.grader_api_key else None
    return ModelGrader(url=settings.grader_url, model=settings.grader_model.strip(), api_key=key,
                       timeout_s=settings.grader_timeout_s, finish_budget_s=settings.grader_finish_budget_s,
                       concurrency=settings.grader_concurrency, backoff_max_s=settings.grader_backoff_max_s,
                       response_format=settings.grader_response_format)
