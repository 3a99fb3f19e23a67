"""A small OpenAI-compatible chat-completions server for the model grader's tests: real HTTP on a free
port, each test scripting what it replies (a function of the request), how long it takes, and its status.

Not a mock of our code: the grader under test talks to it over a socket exactly as to vLLM or Ollama.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None  # the assistant message; None: `body` is sent as it is
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    body: bytes | None = None
    trickle: float = 0.0  # seconds between bytes of the body (a server that dribbles its answer)


@dataclass
class Asked:
    """One request the server received."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def system(self) -> str:
        return self.body["messages"][0]["content"]

    @property
    def answer(self) -> str:
        return json.loads(self.body["messages"][1]["content"])["answer"]

    @property
    def rubric(self) -> dict[str, Any]:
        return json.loads(self.system.split("Rubric:\n", 1)[1])


@dataclass
class FakeModel:
    url: str  # the base URL, as MIANJING_GRADER_URL
    script: Callable[[Asked], Reply] = field(default=lambda asked: Reply(content="{}"))
    asked: list[Asked] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends every delay at teardown

    def replies(self, script: Callable[[Asked], Reply]) -> None:
        self.script = script


def completion(content: str) -> bytes:
    return json.dumps({"id": "chatcmpl-test", "object": "chat.completion", "model": "fake", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]},
        ensure_ascii=False).encode()


def verdicts(points: dict[str, tuple[str, str | None]], misconceptions: list[str] | None = None) -> str:
    """A model's reply: {label: (verdict, evidence)} and misconception labels."""
    return json.dumps({"points": [{"label": k, "verdict": v, "evidence": e} for k, (v, e) in points.items()],
                       "misconceptions": misconceptions or []}, ensure_ascii=False)


@contextmanager
def fake_model() -> Iterator[FakeModel]:
    model: FakeModel

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path != "/v1/chat/completions":
                self._send(404, b'{"error": "not found"}')
                return
            asked = Asked(json.loads(raw), {k.lower(): v for k, v in self.headers.items()})
            model.asked.append(asked)
            reply = model.script(asked)
            if reply.delay:
                model.release.wait(reply.delay)
            body = reply.body if reply.body is not None else completion(reply.content or "")
            self._send(reply.status, body, reply.trickle)

        def _send(self, status: int, body: bytes, trickle: float = 0.0) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if trickle:
                    for i in range(len(body)):
                        if model.release.is_set():
                            return
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
                else:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the grader gave up on us: what a timeout test wants

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    model = FakeModel(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield model
    finally:
        model.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
