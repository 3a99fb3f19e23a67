"""The request-shape limits (app/limits.py): the time to refuse a hostile query string, side by side with a
normal request, on a real uvicorn server; and the edge check alone, in-process, against the check it
replaced (a list.count per parameter: O(n^2) on the event loop).

    python bench/bench_limits.py [--requests 1000] [--seconds 5]

One uvicorn worker (httptools), a throw-away SQLite database, the bundled content, 127.0.0.1 only. "64 KB"
is 64,000 bytes: uvicorn answers 400 by itself to a request head of 64 KiB or more. Each
scenario sends the same request over one keep-alive connection, one at a time, and reports the round trip
(p50 / p99 / max, ms). The last two rows are normal requests measured while a second connection sends
64 KB query strings without pause: a refusal that blocked the event loop would show there.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_MS = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Connection:
    """A keep-alive HTTP/1.1 connection that sends prepared bytes: no client-side URL parsing in the timings."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, target: bytes) -> int:
        self.sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        while b"\r\n\r\n" not in self.buf:
            self._read()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (line.partition(b":") for line in lines[1:])
                      if k.strip().lower() == b"content-length")
        while len(self.buf) < length:
            self._read()
        self.buf = self.buf[length:]
        return status

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def close(self) -> None:
        self.sock.close()


def timed(conn: Connection, target: bytes, n: int) -> tuple[list[float], set[int]]:
    samples, statuses = [], set()
    for _ in range(n):
        t = time.perf_counter()
        statuses.add(conn.get(target))
        samples.append((time.perf_counter() - t) * 1000)
    return samples, statuses


def summary(samples: list[float]) -> tuple[float, float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)], samples[-1]


def start_server(port: int, workdir: Path) -> subprocess.Popen:
    url = f"sqlite:///{workdir / 'limits.db'}"
    env = {**os.environ, "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(REPO / "content"),
           "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "bench-limits", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                             str(port), "--log-level", "warning", "--no-access-log"], cwd=REPO, env=env)
    for _ in range(300):
        try:
            conn = Connection(port)
            if conn.get(b"/healthz") == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


def old_repeated(query: bytes) -> list[str]:
    """The check before this change (app/limits.py at ea8e063), for the in-process comparison."""
    keys = [k for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    return sorted({k for k in keys if keys.count(k) > 1}) if len(keys) != len(set(keys)) else []


def in_process(queries: dict[str, bytes]) -> list[tuple[str, float, float]]:
    from app.limits import RequestLimits, RequestShapeLimits

    limits = RequestShapeLimits(None, RequestLimits())  # type: ignore[arg-type]
    rows = []
    for name, query in queries.items():
        scope = {"type": "http", "path": "/api/v1/banks", "query_string": query}
        new = min(_seconds(limits.refusal, scope) for _ in range(20)) * 1e6
        rows.append((name, new, _seconds(old_repeated, query)))
    return rows


def _seconds(fn, arg) -> float:
    t = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per scenario")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run beside the flood")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    from app.content.loader import load_content

    qid = next(q.id for q in load_content(REPO / "content").questions if q.type == "single").encode()
    # 64,000 bytes: uvicorn itself answers 400 to a request head of 64 KiB or more.
    big = b"&".join([b"a=1"] * 16_000)
    queries = {
        "64 KB of `a=1&a=1&…` (the report)": big,
        "64 KB of `ab=1&ab=1&…`": b"&".join([b"ab=1"] * 12_800),
        "64 KB of distinct keys `k0=1&k1=1&…`": b"&".join(b"k%d=1" % i for i in range(8_200)),
        "8 KB of `a=1&…` (under the byte limit: 2,048 parameters)": b"&".join([b"a=1"] * 2_048),
        "128 parameters, all `seed=1` (at the count limit: 422)": b"&".join([b"seed=1"] * 128),
    }
    scenarios = [
        ("normal: GET /api/v1/questions/{id}", b"/api/v1/questions/" + qid, 200),
        ("normal: GET /api/v1/questions?limit=5&offset=0&type=single", b"/api/v1/questions?limit=5&offset=0&type=single", 200),
        ("64 KB query string, API (414)", b"/api/v1/banks?" + big, 414),
        ("64 KB query string, a page (414 error page)", b"/practice?" + big, 414),
        ("8 KB, 2,048 parameters, API (414)", b"/api/v1/banks?" + queries["8 KB of `a=1&…` (under the byte limit: 2,048 parameters)"], 414),
        ("128 repeated parameters, API (422)", b"/api/v1/banks?" + queries["128 parameters, all `seed=1` (at the count limit: 422)"], 422),
    ]

    print("\nIn-process: the edge check alone (best of 20) against the check it replaced (one run)\n")
    print("| query string | now, µs | before, ms |")
    print("|---|---:|---:|")
    for name, new, old in in_process(queries):
        print(f"| {name} | {new:.1f} | {old * 1000:.1f} |")

    workdir = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    port = free_port()
    from app.db import upgrade

    upgrade(f"sqlite:///{workdir / 'limits.db'}")
    proc = start_server(port, workdir)
    try:
        conn = Connection(port)
        for _, target, _ in scenarios:  # warm up every path once
            conn.get(target)
        rows = []
        for name, target, expected in scenarios:
            samples, statuses = timed(conn, target, args.requests)
            assert statuses == {expected}, (name, statuses)
            rows.append((name, *summary(samples)))

        # Normal requests beside a flood of 64 KB query strings on a second connection.
        stop = threading.Event()
        flooded = [0]

        def flood() -> None:
            other = Connection(port)
            while not stop.is_set():
                other.get(b"/api/v1/banks?" + big)
                flooded[0] += 1
            other.close()

        normal = scenarios[0][1]
        for label, with_flood in (("normal GET, alone", False), ("normal GET, beside the flood", True)):
            thread = threading.Thread(target=flood, daemon=True) if with_flood else None
            if thread:
                thread.start()
            samples, deadline = [], time.perf_counter() + args.seconds
            while time.perf_counter() < deadline:
                samples += timed(conn, normal, 50)[0]
            if thread:
                stop.set()
                thread.join(timeout=10)
            rows.append((f"{label} ({len(samples)} requests)", *summary(samples)))
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    print(f"\nOver HTTP: one uvicorn worker, one keep-alive connection, {args.requests} requests per row (ms)\n")
    print("| request | p50 | p99 | max |")
    print("|---|---:|---:|---:|")
    for name, p50, p99, worst in rows:
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {worst:.2f} |")
    refused = rows[2][1]
    verdict = "met" if refused < TARGET_MS else "MISSED"
    print(f"\nrefusing a 64 KB query string: p50 {refused:.2f} ms (target < {TARGET_MS} ms): {verdict}; "
          f"{flooded[0]} refusals sent during the flood run; 1-minute load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
