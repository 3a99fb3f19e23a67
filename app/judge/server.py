"""The judge process: one per machine (per socket), whatever the number of web workers.

Web workers send a job over a Unix socket (one JSON line: {"op": "judge", "spec", "source", "mode"}) and wait
for the verdict line. The process runs at nice 19, keeps `concurrency` warm sandboxes and at most `queue`
jobs admitted (running or waiting); past that it answers {"error": "busy", "retry_after"} at once, which the
API turns into a 429. Where bubblewrap cannot run, every job is answered {"error": "unavailable", "reason"}.
It holds an exclusive lock on `<socket>.lock` for its lifetime, so a second one started by a race exits, and it
exits after `idle_exit_s` without a job (the next job starts it again).

    python -m app.judge.server --socket var/judge.sock
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from app.content.model import CodeSpec
from app.judge.engine import Engine, ItemBroken
from app.judge.sandbox import SandboxConfig, SandboxUnavailable

REQUEST_CAP = 1 << 20  # a job line: the source (capped by the API far below this) and the item's code


class JudgeServer:
    def __init__(self, cfg: SandboxConfig, concurrency: int, queue: int, idle_exit_s: float) -> None:
        self.engine = Engine(cfg, concurrency)
        self.queue = queue
        self.idle_exit_s = idle_exit_s
        self.admitted = 0
        self.available = True
        self.reason = ""
        self.last_job = time.monotonic()
        self.judged = 0
        self.job_seconds = 1.0  # a running mean of one job's wall time, for Retry-After

    async def start(self) -> None:
        try:
            await self.engine.probe()
        except SandboxUnavailable as exc:
            self.available, self.reason = False, str(exc)[:500]

    def status(self) -> dict[str, Any]:
        return {"available": self.available, "reason": self.reason, "concurrency": self.engine.concurrency,
                "queue": self.queue, "admitted": self.admitted, "judged": self.judged, "pid": os.getpid()}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            reply = await self.answer(json.loads(line))
        except (ValueError, asyncio.LimitOverrunError, KeyError, TypeError) as exc:
            reply = {"error": "bad_request", "reason": str(exc)[:200]}
        with contextlib.suppress(ConnectionError):
            writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
            await writer.drain()
            writer.close()

    async def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "status":
            return self.status()
        if op == "shutdown":
            asyncio.get_running_loop().call_soon(self.stop.set)
            return {"ok": True}
        if op != "judge":
            return {"error": "bad_request", "reason": f"unknown op {op!r}"}
        if not self.available:
            return {"error": "unavailable", "reason": self.reason}
        if self.admitted >= self.queue:
            waiting = self.admitted - self.engine.concurrency + 1
            retry = math.ceil(max(1.0, waiting * self.job_seconds / self.engine.concurrency))
            return {"error": "busy", "retry_after": retry}
        self.admitted += 1
        self.last_job = time.monotonic()
        started = time.perf_counter()
        try:
            spec = CodeSpec(**req["spec"])
            verdict = await self.engine.judge(spec, str(req["source"]), str(req.get("mode", "submit")))
            return {"verdict": verdict}
        except ItemBroken as exc:
            return {"error": "item_broken", "reason": str(exc)[:1000]}
        finally:
            self.admitted -= 1
            self.judged += 1
            self.job_seconds = 0.8 * self.job_seconds + 0.2 * (time.perf_counter() - started)
            self.last_job = time.monotonic()

    async def serve(self, socket_path: Path) -> None:
        self.stop = asyncio.Event()
        await self.start()
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        server = await asyncio.start_unix_server(self.handle, path=str(socket_path), limit=REQUEST_CAP)
        os.chmod(socket_path, 0o600)  # only the service's own user talks to the judge
        async with server:
            while not self.stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), 5)
                if self.admitted == 0 and time.monotonic() - self.last_job > self.idle_exit_s:
                    break
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mianjing's code judge (one per machine)")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--concurrency", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--queue", type=int, default=16)
    parser.add_argument("--idle-exit", type=float, default=900.0)
    parser.add_argument("--python", default=SandboxConfig.python)
    parser.add_argument("--site", default=SandboxConfig.site)
    args = parser.parse_args(argv)
    args.socket.parent.mkdir(parents=True, exist_ok=True)
    lock = open(f"{args.socket}.lock", "w")  # noqa: SIM115 - held for the process's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another judge serves this socket
    os.nice(19)
    cfg = SandboxConfig(python=args.python, site=args.site)
    server = JudgeServer(cfg, max(1, args.concurrency), max(1, args.queue), args.idle_exit)
    asyncio.run(server.serve(args.socket))


if __name__ == "__main__":
    main()
