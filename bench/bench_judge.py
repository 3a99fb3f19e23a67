"""The code judge as candidates meet it, through `mianjing serve` (1 worker) and its judge process:

1. latency: one signed-in guest submits a trivial correct solution of an item with 20 cases (2 examples,
   8 hidden, 10 random) N times, one after another — the API's check, end to end — beside the same guest's
   single-choice check for contrast (what the web path itself costs);
2. throughput: C guests submit as fast as the judge answers for D seconds (the pool saturated: concurrency
   cores - 1), counting verdicts and 429s;
3. the web for everyone else: U other signed-in users read questions and check single-choice answers, idle and
   then while (2) saturates the judge; their p50 and p99 side by side, and the ratio.

    python bench/bench_judge.py [--submissions 200] [--clients 4] [--seconds 20] [--users 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import start_serve  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BANK = '''---
id: bench
title: 判题基准
description: bench/bench_judge.py 用。
---

## bench-add 两数相加

```yaml
type: code
difficulty: 1
topics: [手撕代码]
source: bench
entry: add
compare: exact
random_cases: 10
seed: 1
```

返回 `a + b`。

### 代码模板

```python
def add(a, b):
    raise NotImplementedError
```

### 参考实现

```python
def add(a, b):
    return a + b
```

### 测试用例

```python
EXAMPLES = [("一加一", (1, 1)), ("负数", (-2, 5))]
HIDDEN = [(f"隐藏 {i}", (i, i * i)) for i in range(8)]


def generate(rng):
    return (int(rng.integers(-100, 100)), int(rng.integers(-100, 100)))
```

### 解析

加法。
'''
THINK_S = 0.5
SOLUTION = "def add(a, b):\n    return a + b\n"
LIMITS = {"MIANJING_LIMIT_GUESTS_PER_HOUR": "100000", "MIANJING_LIMIT_CODE_RUNS_PER_MINUTE": "1000000",
          "MIANJING_LIMIT_WRITES_PER_MINUTE": "1000000", "MIANJING_LIMIT_WRITES_PER_ADDRESS_PER_MINUTE": "1000000",
          "MIANJING_LIMIT_ANSWER_CHARS_PER_HOUR": "1000000000",
          "MIANJING_LIMIT_ANSWER_CHARS_PER_ADDRESS_PER_HOUR": "1000000000"}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def guest(base: str) -> dict[str, str]:
    token = httpx.post(f"{base}/api/v1/auth/guest", timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def submit(client: httpx.Client, headers: dict[str, str]) -> tuple[float, int, dict]:
    t = time.perf_counter()
    r = client.post("/api/v1/questions/bench-add/check", json={"answer": SOLUTION}, headers=headers)
    return (time.perf_counter() - t) * 1000, r.status_code, r.json() if r.status_code == 200 else {}


def web_user(base: str, stop: threading.Event, out: list[float], reads_only: bool = False) -> None:
    headers = guest(base)
    with httpx.Client(base_url=base, timeout=30) as client:
        qid = client.get("/api/v1/questions", params={"type": "single", "limit": 1}).json()["items"][0]["id"]
        while not stop.is_set():
            t = time.perf_counter()
            client.get(f"/api/v1/questions/{qid}", headers=headers)
            out.append((time.perf_counter() - t) * 1000)
            if not reads_only:
                t = time.perf_counter()
                client.post(f"/api/v1/questions/{qid}/check", json={"answer": "A"}, headers=headers)
                out.append((time.perf_counter() - t) * 1000)
            time.sleep(THINK_S)  # a person reads before the next request (fair turns tell people by it)


def web_phase(base: str, users: int, seconds: float, reads_only: bool = False) -> list[float]:
    stop, out = threading.Event(), []
    threads = [threading.Thread(target=web_user, args=(base, stop, out, reads_only)) for _ in range(users)]
    for th in threads:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join(30)
    return out


def saturate(base: str, clients: int, stop: threading.Event, counts: dict[str, int]) -> None:
    def one() -> None:
        headers = guest(base)
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                _, status, body = submit(client, headers)
                key = body.get("details", {}).get("judge", {}).get("status", str(status)) if body else str(status)
                counts[key] = counts.get(key, 0) + 1
                if status == 429:
                    time.sleep(0.2)
    threads = [threading.Thread(target=one) for _ in range(clients)]
    for th in threads:
        th.start()
    stop.wait()
    for th in threads:
        th.join(60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--reads-only", action="store_true", help="the other users only read questions")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mj-bench-judge-"))
    content = tmp / "content"
    shutil.copytree(REPO / "tests" / "fixtures" / "valid", content)
    (content / "banks" / "bench.md").write_text(BANK, encoding="utf-8")
    env = {**os.environ, **LIMITS, "MIANJING_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
           "MIANJING_CONTENT_DIR": str(content), "MIANJING_PUBLISH_ON_START": "true",
           "MIANJING_JUDGE_SOCKET": str(tmp / "judge.sock"), "MIANJING_ENV": "development"}
    proc, base = start_serve(REPO, env, 1)
    try:
        headers = guest(base)
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(5):  # the judge process starts, the reference runs once
                submit(client, headers)
            judged, internal = [], []
            for _ in range(args.submissions):
                ms, status, body = submit(client, headers)
                assert status == 200 and body["details"]["judge"]["status"] == "accepted", (status, body)
                assert body["details"]["judge"]["total"] == 20
                judged.append(ms)
                internal.append(body["details"]["judge"]["wall_ms"])
            choice = []
            qid = client.get("/api/v1/questions", params={"type": "single", "limit": 1}).json()["items"][0]["id"]
            for _ in range(args.submissions):
                t = time.perf_counter()
                client.post(f"/api/v1/questions/{qid}/check", json={"answer": "A"}, headers=headers)
                choice.append((time.perf_counter() - t) * 1000)
        print("\n1. one submission, 20 cases, signed-in guest (ms)")
        print("| request | n | p50 | p99 | max |\n|---|---:|---:|---:|---:|")
        for name, xs in (("code check (API, end to end)", judged), ("  of which the judge (wall_ms)", internal),
                         ("single-choice check (same guest)", choice)):
            print(f"| {name} | {len(xs)} | {statistics.median(xs):.0f} | {pct(xs, 0.99):.0f} | {max(xs):.0f} |")

        idle = web_phase(base, args.users, args.seconds, args.reads_only)
        stop, counts = threading.Event(), {}
        sat = threading.Thread(target=saturate, args=(base, args.clients, stop, counts))
        t0 = time.perf_counter()
        sat.start()
        time.sleep(2)  # the submitters are in
        loaded = web_phase(base, args.users, args.seconds, args.reads_only)
        stop.set()
        sat.join(90)
        elapsed = time.perf_counter() - t0
        done = sum(v for k, v in counts.items() if k not in ("429", "503", "500"))
        print(f"\n2. saturated: {args.clients} guests submitting for {elapsed:.0f} s: {done} verdicts "
              f"({done / elapsed:.1f}/s), {counts.get('429', 0)} answered 429; statuses {counts}")
        print(f"\n3. {args.users} other signed-in users (question reads and single-choice checks), ms")
        print("| phase | requests | p50 | p99 |\n|---|---:|---:|---:|")
        for name, xs in (("judge idle", idle), ("judge saturated", loaded)):
            print(f"| {name} | {len(xs)} | {statistics.median(xs):.1f} | {pct(xs, 0.99):.1f} |")
        print(f"\np99 ratio saturated / idle: {pct(loaded, 0.99) / pct(idle, 0.99):.2f} (goal <= 1.5)")
    finally:
        proc.terminate()
        proc.wait(30)
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
            s.connect(str(tmp / "judge.sock"))  # the judge leaves by itself after its idle time; ask it now
            s.sendall(b'{"op": "shutdown"}\n')
            s.recv(100)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
