"""The web side of the judge: send a job to the machine's judge process, starting it when none answers.

Blocking sockets, called from the request's worker thread (never the event loop): the thread waits while the
judge process works, the web process itself runs nothing of the submission.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.content.model import CodeSpec, Question
from app.errors import AppError
from app.settings import Settings

START_WAIT_S = 15.0  # a cold judge: its interpreter, then a first sandbox that imports numpy
PROJECT = Path(__file__).resolve().parents[2]


class JudgeBusy(RuntimeError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the judge is busy: retry after {retry_after} s")
        self.retry_after = retry_after


class JudgeUnavailable(RuntimeError):
    """No sandbox can run here (the reason says why): code items are off, never run unsandboxed."""


@dataclasses.dataclass(frozen=True, slots=True)
class JudgeConfig:
    socket: Path
    concurrency: int
    queue: int
    idle_exit_s: float
    python: str
    site: str
    enabled: bool = True

    @classmethod
    def from_settings(cls, s: Settings) -> JudgeConfig:
        return cls(socket=s.judge_socket.resolve(), concurrency=s.judge_concurrency, queue=s.judge_queue,
                   idle_exit_s=s.judge_idle_exit_s, python=s.judge_python, site=s.judge_site, enabled=s.judge_enabled)


def _ask(cfg: JudgeConfig, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(cfg.socket))
        s.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
        buf = bytearray()
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def _start(cfg: JudgeConfig) -> None:
    """Start the judge process (unless another worker is doing so: a lock file decides)."""
    cfg.socket.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{cfg.socket}.start", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):
            _ask(cfg, {"op": "status"}, 2.0)
            return  # someone started it while we waited for the lock
        env = dict(os.environ, PYTHONPATH=str(PROJECT))
        log = open(f"{cfg.socket}.log", "ab")  # noqa: SIM115 - handed to the child
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "app.judge.server", "--socket", str(cfg.socket),
             "--concurrency", str(cfg.concurrency), "--queue", str(cfg.queue), "--idle-exit", str(cfg.idle_exit_s),
             "--python", cfg.python, "--site", cfg.site],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env, cwd=str(PROJECT))
        log.close()
        deadline = time.monotonic() + START_WAIT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                _ask(cfg, {"op": "status"}, 2.0)
                return
            time.sleep(0.05)
        raise JudgeUnavailable(f"the judge process did not start (see {cfg.socket}.log)")


def request(cfg: JudgeConfig, req: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request, starting the judge process first when nothing listens on the socket."""
    if not cfg.enabled:
        raise JudgeUnavailable("code questions are switched off (MIANJING_JUDGE_ENABLED=false)")
    try:
        return _ask(cfg, req, timeout)
    except (FileNotFoundError, ConnectionRefusedError):
        _start(cfg)
        return _ask(cfg, req, timeout)


def judge(cfg: JudgeConfig, spec: CodeSpec, source: str, mode: str) -> dict[str, Any]:
    """The verdict of `source` (mode "examples": the shown cases only; "submit": all of them)."""
    timeout = spec.time_limit_s * 2 + 30  # its own run, a reference run at most, and a short queue
    reply = request(cfg, {"op": "judge", "spec": dataclasses.asdict(spec), "source": source, "mode": mode}, timeout)
    if "verdict" in reply:
        return reply["verdict"]
    if reply.get("error") == "busy":
        raise JudgeBusy(int(reply.get("retry_after", 1)))
    if reply.get("error") == "unavailable":
        raise JudgeUnavailable(str(reply.get("reason", "")))
    raise RuntimeError(f"the judge refused the job: {reply}")


def scorer(cfg: JudgeConfig, mode: str) -> Callable[[Question, str], dict[str, Any]]:
    """The judge as scoring calls it (app.scoring.check's JudgeCode), its refusals as the errors a request
    answers: the queue full, 429 with Retry-After; no sandbox here, 503 with the reason."""

    def run(q: Question, source: str) -> dict[str, Any]:
        if q.code is None:
            raise ValueError(f"{q.id} is not a code item")
        try:
            return judge(cfg, q.code, source, mode)
        except JudgeBusy as exc:
            raise AppError("the code judge is busy: try again shortly", status_code=429,
                           headers={"Retry-After": str(exc.retry_after)}) from exc
        except JudgeUnavailable as exc:
            raise AppError(f"code questions are unavailable here: {exc}", status_code=503) from exc

    return run


_seen: dict[Path, tuple[float, dict[str, Any]]] = {}
_seen_lock = threading.Lock()


def availability(cfg: JudgeConfig, max_age_s: float = 30.0) -> dict[str, Any]:
    """status(), remembered for max_age_s: pages and round lists ask it on every request."""
    now = time.monotonic()
    with _seen_lock:
        hit = _seen.get(cfg.socket)
        if hit is not None and now - hit[0] < max_age_s:
            return hit[1]
    value = status(cfg)
    with _seen_lock:
        _seen[cfg.socket] = (time.monotonic(), value)
    return value


def refuse_unless_available(cfg: JudgeConfig) -> None:
    """503 with the reason where code items cannot be judged (a coding round does not start there)."""
    seen = availability(cfg)
    if not seen["available"]:
        raise AppError(f"code questions are unavailable here: {seen['reason']}", status_code=503)


def status(cfg: JudgeConfig) -> dict[str, Any]:
    """What /readyz reports: whether code items can be judged here, and why not."""
    try:
        reply = request(cfg, {"op": "status"}, 5.0)
    except JudgeUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    except OSError as exc:
        return {"available": False, "reason": f"the judge process does not answer: {exc}"}
    return {"available": bool(reply.get("available")), "reason": reply.get("reason", ""),
            "concurrency": reply.get("concurrency"), "queue": reply.get("queue")}
