"""Crash safety: no acknowledged answer is lost when the server is killed mid-load.

Starts `mianjing serve` on a free 127.0.0.1 port (temporary SQLite database, or a fresh database on the
PostgreSQL server you name, and the test fixture content), runs N client threads that each save answers in a
loop into their own interview (unique values "c{client}-{i}") and remember which saves got a 200, kills the
server with SIGKILL after a few seconds, starts it again on the same database and reads every interview
back. For each position the stored answer must be the last acknowledged one, or one sent after it whose
response was lost in the crash; anything else is a lost answer.

    python bench/crash_safety.py                                   # SQLite
    python bench/crash_safety.py --db postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Exits 1 if an acknowledged answer was lost. Traffic goes only to 127.0.0.1, bounded in time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
FIXTURE_CONTENT = REPO / "tests" / "fixtures" / "valid"


@dataclass
class ClientLog:
    token: str
    interview: str
    size: int
    sent: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # position -> [(i, value)] in order
    acked: dict[int, tuple[int, str]] = field(default_factory=dict)  # position -> last acknowledged (i, value)
    n_sent: int = 0
    n_acked: int = 0
    error: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    mianjing = Path(sys.executable).with_name("mianjing")
    cmd = [str(mianjing)] if mianjing.exists() else [sys.executable, "-m", "app.cli"]
    log = log_path.open("ab")
    proc = subprocess.Popen([*cmd, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not become ready; see {log_path}")


def setup_client(base: str) -> ClientLog:
    with httpx.Client(base_url=base, timeout=10) as http:
        token = http.post("/api/v1/auth/guest").raise_for_status().json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        state = http.post("/api/v1/interviews", json={"round": "mini"}, headers=headers).raise_for_status().json()
    return ClientLog(token=token, interview=state["id"], size=len(state["questions"]))


def hammer(base: str, k: int, log: ClientLog, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {log.token}"}
    with httpx.Client(base_url=base, timeout=5, headers=headers) as http:
        i = 0
        while not stop.is_set():
            i += 1
            position = i % log.size
            value = f"c{k}-{i}"
            log.sent.setdefault(position, []).append((i, value))  # recorded before it can reach the server
            log.n_sent += 1
            try:
                r = http.put(f"/api/v1/interviews/{log.interview}/answers/{position}", json={"answer": value})
            except httpx.HTTPError as exc:  # the server is gone
                log.error = type(exc).__name__
                return
            if r.status_code == 200 and r.json().get("answer") == value:
                log.acked[position] = (i, value)
                log.n_acked += 1
            elif r.status_code != 200:
                log.error = f"HTTP {r.status_code}: {r.text[:200]}"
                return


def verify(base: str, logs: list[ClientLog]) -> dict[str, int]:
    counts = {"positions_acked": 0, "verified": 0, "lost": 0, "stored_unacked_later": 0}
    with httpx.Client(base_url=base, timeout=10) as http:
        for k, log in enumerate(logs):
            r = http.get(f"/api/v1/interviews/{log.interview}", headers={"Authorization": f"Bearer {log.token}"})
            r.raise_for_status()
            stored = {q["position"]: q["answer"] for q in r.json()["questions"]}
            for position, sent in log.sent.items():
                value = stored.get(position)
                acked = log.acked.get(position)
                if acked is None:
                    if value is not None and value not in {v for _, v in sent}:
                        print(f"  client {k} position {position}: stored {value!r} was never sent")
                        counts["lost"] += 1
                    continue
                counts["positions_acked"] += 1
                allowed = {v for i, v in sent if i >= acked[0]}  # the last ack, or a later save cut off by the kill
                if value in allowed:
                    counts["verified"] += 1
                    counts["stored_unacked_later"] += value != acked[1]
                else:
                    counts["lost"] += 1
                    print(f"  LOST client {k} position {position}: acknowledged {acked[1]!r}, stored {value!r}")
    return counts


def run(db: list[str], clients: int, seconds: float) -> int:
    work = Path(tempfile.mkdtemp(prefix="mianjing-crash-"))
    drop_database = None
    if db[0] == "sqlite":
        url = f"sqlite:///{work / 'crash.db'}"
    elif db[0] == "postgres" and len(db) == 2:
        from sqlalchemy import create_engine, text

        admin = create_engine(db[1], isolation_level="AUTOCOMMIT")
        name = "crash_" + uuid.uuid4().hex[:10]
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = db[1].rsplit("/", 1)[0] + "/" + name

        def drop_database() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        raise SystemExit("--db sqlite | --db postgres URL")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(FIXTURE_CONTENT),
           "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "crash-safety", "MIANJING_LOG_LEVEL": "warning",
           "MIANJING_WORKERS": "1", "MIANJING_LIMIT_GUESTS_PER_HOUR": "100000",  # every client is 127.0.0.1
           "MIANJING_LIMIT_INTERVIEWS_PER_DAY": "100000"}
    env.pop("MIANJING_ADMIN_TOKEN", None)
    server_log = work / "server.log"
    print(f"database {db[0]}, {clients} clients, kill after {seconds:.1f} s, server log {server_log}")
    server = start_server(env, port, server_log)
    try:
        logs = [setup_client(base) for _ in range(clients)]
        stop = threading.Event()
        threads = [threading.Thread(target=hammer, args=(base, k, log, stop), daemon=True)
                   for k, log in enumerate(logs)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        os.kill(server.pid, signal.SIGKILL)  # mid-load, no shutdown of any kind
        server.wait()
        killed_at = time.monotonic()
        for t in threads:
            t.join(timeout=10)
        stop.set()
        print(f"killed pid {server.pid} (exit {server.returncode}); clients stopped "
              f"{time.monotonic() - killed_at:.2f} s later: {sorted({log.error for log in logs})}")
        server = start_server(env, port, server_log)
        counts = verify(base, logs)
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if drop_database is not None:
            drop_database()
    sent = sum(log.n_sent for log in logs)
    acked = sum(log.n_acked for log in logs)
    print(f"sent {sent}, acknowledged {acked} ({acked / seconds:.0f}/s), positions with an ack "
          f"{counts['positions_acked']}, verified {counts['verified']} "
          f"(of which a later unacknowledged save {counts['stored_unacked_later']}), lost {counts['lost']}")
    if counts["lost"]:
        print(f"kept {work} for inspection")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", nargs="+", default=["sqlite"], metavar="KIND [URL]",
                        help="sqlite (default) or: postgres postgresql+psycopg://user@host:port/db")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="load before the SIGKILL")
    parser.add_argument("--rounds", type=int, default=1, help="kill/restart cycles, each with fresh clients")
    args = parser.parse_args()
    failed = 0
    for _ in range(args.rounds):
        failed |= run(args.db, args.clients, args.seconds)
    sys.exit(failed)


if __name__ == "__main__":
    main()
