"""A real server in a subprocess for the tests that need real sockets: slow clients, timeouts, several
workers, forwarded headers. One way to start it, wait for /readyz and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import REPO, VALID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_url: str, **settings: str) -> dict[str, str]:
    """The test settings over `db_url` and these MIANJING_* settings, and nothing of ours from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANJING_")}
    env.update({"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                "MIANJING_DATABASE_URL": db_url, "MIANJING_CONTENT_DIR": str(VALID), "MIANJING_ENV": "test",
                "MIANJING_SECRET_KEY": "test-secret", "MIANJING_LOG_LEVEL": "warning", **settings})
    return env


@dataclass
class LiveServer:
    base: str
    port: int
    process: subprocess.Popen
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextmanager
def live_server(args: list[str], db_url: str, log: Path, *, ready_within: float = 60,
                **settings: str) -> Iterator[LiveServer]:
    """`python -m <args> --port P` (e.g. ["app.cli", "serve"] or ["uvicorn", "app.main:app"]) on a free port,
    once /readyz answers 200; stopped afterwards. Its output goes to `log`."""
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", *args, "--port", str(port)], cwd=REPO,
                                   env=server_env(db_url, **settings), stdout=out, stderr=subprocess.STDOUT)
    srv = LiveServer(f"http://127.0.0.1:{port}", port, process, log)
    try:
        deadline = time.monotonic() + ready_within
        while True:
            assert process.poll() is None, f"the server exited at startup:\n{srv.tail()}"
            try:
                if httpx.get(f"{srv.base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"/readyz never answered 200:\n{srv.tail()}"
            time.sleep(0.05)
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
