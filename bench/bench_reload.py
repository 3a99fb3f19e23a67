"""Content reload: end-to-end time on the 10,000-question bank, and reads under a reload every second.

1. Reload time: a 2-worker server on the synthetic bank; change one question on disk, POST the reload to
   one worker and poll /readyz over fresh connections until every answer carries the new version.
2. Under load: wrk on GET /api/v1/questions/{id} (rotating ids) and the list endpoint, first with no
   reloads, then with a reload every second (two content versions alternate), same duration. Reports
   non-2xx responses and p99 side by side.

    python bench/bench_reload.py --duration 60
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-admin-token"
LUA = r"""
local ids = {%(ids)s}
local i = 0
request = function()
  i = i + 1
  if i %% 5 == 0 then
    return wrk.format("GET", "/api/v1/questions?limit=20&offset=" .. (i %% 200))
  end
  return wrk.format("GET", "/api/v1/questions/" .. ids[i %% #ids + 1])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready")


def toggle(bank: Path, flip: bool) -> None:
    """Two content versions that differ in one question's prompt."""
    text = bank.read_text(encoding="utf-8")
    a, b = "（版本A）", "（版本B）"
    if a not in text and b not in text:
        text = text.replace("\n### ", f"\n{a}\n\n### ", 1)
    bank.write_text(text.replace(a, b) if flip else text.replace(b, a), encoding="utf-8")


def wrk(base: str, script: Path, duration: int) -> dict:
    out = subprocess.run(["wrk", "-t2", "-c20", f"-d{duration}s", "--latency", "--timeout", "5s", "-s", str(script),
                          base], capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p99_ms": float(p99.group(1)) * scale,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "none"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mj-reload-"))
    content = tmp / "content"
    subprocess.run([sys.executable, str(REPO / "bench" / "make_synthetic_bank.py"), str(content), "--questions",
                    str(args.questions)], check=True, stdout=subprocess.DEVNULL)
    bank = sorted((content / "banks").glob("*.md"))[0]
    toggle(bank, False)
    db = f"sqlite:///{tmp / 'reload.db'}"
    port = free_port()
    env = {**os.environ, "MIANJING_DATABASE_URL": db, "MIANJING_CONTENT_DIR": str(content),
           "MIANJING_ADMIN_TOKEN": TOKEN, "MIANJING_LOG_LEVEL": "warning"}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers",
                               str(args.workers)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        wait_ready(base)
        # 1. End-to-end reload time, five times.
        e2e, server_side = [], []
        for n in range(5):
            toggle(bank, n % 2 == 0)
            t0 = time.perf_counter()
            r = httpx.post(f"{base}/api/v1/admin/reload", headers=auth, timeout=60)
            r.raise_for_status()
            new = r.json()["version"]
            server_side.append(r.json()["seconds"])
            streak, first_new = 0, 0.0
            while streak < 40:  # 40 fresh connections in a row on the new version: every worker has it
                asked = time.perf_counter()
                v = httpx.get(f"{base}/readyz", headers={"Connection": "close"}).json()["content_version"]
                if v == new and streak == 0:
                    first_new = asked  # the streak that proves it began with this request
                streak = streak + 1 if v == new else 0
            e2e.append(first_new - t0)
        ids = httpx.get(f"{base}/api/v1/questions?limit=100").json()["items"]
        script = tmp / "reads.lua"
        script.write_text(LUA % {"ids": ", ".join(f'"{q["id"]}"' for q in ids if q["type"] != "generated")})
        # 2. Reads without and with a reload every second, side by side.
        quiet = wrk(base, script, args.duration)
        stop = threading.Event()
        reloads = {"ok": 0, "failed": 0}

        def reloader() -> None:
            flip = True
            while not stop.is_set():
                toggle(bank, flip)
                flip = not flip
                ok = httpx.post(f"{base}/api/v1/admin/reload", headers=auth, timeout=30).status_code == 200
                reloads["ok" if ok else "failed"] += 1
                stop.wait(1.0)

        thread = threading.Thread(target=reloader, daemon=True)
        thread.start()
        busy = wrk(base, script, args.duration)
        stop.set()
        thread.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)

    e2e.sort()
    server_side.sort()
    print(f"\nReload of the {args.questions:,}-question bank, {args.workers} workers (SQLite)\n")
    print("| measure | median | max |")
    print("|---|---|---|")
    print(f"| parse + validate + swap in the worker asked (s) | {server_side[2]:.3f} | {server_side[-1]:.3f} |")
    print(f"| POST until every worker serves the new version (s) | {e2e[2]:.3f} | {e2e[-1]:.3f} |")
    print(f"\nReads (GET question by id, 1 in 5 the list), wrk -t2 -c20, {args.duration} s each\n")
    print("| run | requests/s | p99 ms | non-2xx | socket errors | reloads |")
    print("|---|---|---|---|---|---|")
    print(f"| no reloads | {quiet['rps']:.0f} | {quiet['p99_ms']:.1f} | {quiet['non2xx']} | {quiet['socket_errors']} | 0 |")
    print(f"| reload every second | {busy['rps']:.0f} | {busy['p99_ms']:.1f} | {busy['non2xx']} | "
          f"{busy['socket_errors']} | {reloads['ok']} ok, {reloads['failed']} failed |")
    print(f"\np99 ratio (with reloads / without): {busy['p99_ms'] / quiet['p99_ms']:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
