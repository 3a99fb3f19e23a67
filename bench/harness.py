"""What several bench scripts share: timing a call in-process, and a `mianjing serve` to drive with wrk."""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def timed(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Median and p99 milliseconds of `fn()` over `calls` calls, after a short warm-up."""
    for _ in range(min(10, calls)):
        fn()
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(tree: Path, env: dict[str, str], workers: int, *, ready_within: float = 60) -> tuple[subprocess.Popen, str]:
    """`mianjing serve` of the source tree `tree` on a free port, once /readyz answers 200: (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
                            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"mianjing serve in {tree} did not start")
