"""`mianjing db prune` beside a serving process: how long each batch holds the write lock, and what a kept
user's autosaves see meanwhile.

Starts `mianjing serve` (1 worker) over the bundled content, makes one guest with a finished tplink-cv-1
interview (answers, attempts, review cards) and a few practice attempts through the API, clones it
--guests times by SQL (last seen 40 days ago), then autosaves as another (kept) user for --baseline
seconds, and again while app.retention.prune_guests runs here in batches of --batch-size. Prints the
batch durations and the autosave latencies before and during.

    python bench/bench_prune.py --guests 2000
    python bench/bench_prune.py --guests 2000 --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.db import make_engine, upgrade  # noqa: E402
from app.models import Attempt, AuthSession, Interview, InterviewAnswer, ReviewCard, User  # noqa: E402
from app.retention import prune_guests  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(REPO / "content"),
           "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "bench", "MIANJING_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()[-2000:]}")


def template_guest(http: httpx.Client) -> str:
    token = http.post("/api/v1/auth/guest").json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    iv = http.post("/api/v1/interviews", json={"round": "tplink-cv-1"}, headers=h).json()
    for pos in range(min(8, len(iv["questions"]))):
        http.put(f"/api/v1/interviews/{iv['id']}/answers/{pos}", json={"answer": f"答案 {pos}"}, headers=h)
    http.post(f"/api/v1/interviews/{iv['id']}/finish", json={"reason": "manual"}, headers=h)
    return token


def clone(url: str, template_user: int, n: int) -> None:
    """n copies of the template guest's rows, last seen 40 days ago."""
    engine = create_engine(url)
    old = datetime.now(UTC) - timedelta(days=40)
    with engine.begin() as conn:
        user = conn.execute(select(User.__table__).where(User.id == template_user)).mappings().one()
        ivs = conn.execute(select(Interview.__table__).where(Interview.user_id == template_user)).mappings().all()
        answers = conn.execute(select(InterviewAnswer.__table__).where(
            InterviewAnswer.interview_id.in_([i["id"] for i in ivs]))).mappings().all()
        attempts = conn.execute(select(Attempt.__table__).where(Attempt.user_id == template_user)).mappings().all()
        cards = conn.execute(select(ReviewCard.__table__).where(ReviewCard.user_id == template_user)).mappings().all()
        for start in range(0, n, 200):
            sessions, new_ivs, new_answers, new_attempts, new_cards = [], [], [], [], []
            ids = conn.execute(insert(User.__table__).returning(User.__table__.c.id), [
                {**{k: v for k, v in user.items() if k != "id"}, "last_seen_at": old}
                for _ in range(min(200, n - start))]).scalars().all()
            for uid in ids:
                sessions.append({"token_hash": secrets.token_hex(32), "user_id": uid, "kind": "bearer",
                                 "created_at": old, "expires_at": old + timedelta(days=30)})
                mapping = {}
                for iv in ivs:
                    mapping[iv["id"]] = uuid.uuid4().hex
                    new_ivs.append({**iv, "id": mapping[iv["id"]], "user_id": uid, "share_token": None})
                new_answers += [{**{k: v for k, v in a.items() if k != "id"}, "interview_id": mapping[a["interview_id"]]}
                                for a in answers]
                new_attempts += [{**{k: v for k, v in a.items() if k != "id"}, "user_id": uid,
                                  "interview_id": mapping.get(a["interview_id"])} for a in attempts]
                new_cards += [{**{k: v for k, v in c.items() if k != "id"}, "user_id": uid} for c in cards]
            for table, rows in ((AuthSession, sessions), (Interview, new_ivs), (InterviewAnswer, new_answers),
                                (Attempt, new_attempts), (ReviewCard, new_cards)):
                if rows:
                    conn.execute(insert(table.__table__), rows)
    engine.dispose()
    print(f"cloned {n} guests, each: {len(ivs)} interview(s), {len(answers)} answers, {len(attempts)} attempts, "
          f"{len(cards)} review cards")


def autosaves(base: str, headers: dict[str, str], iid: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        i = 0
        while not stop.is_set():
            i += 1
            t0 = time.perf_counter()
            r = http.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": f"稿 {i}"}, headers=headers)
            out.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text


def describe(name: str, values: list[float]) -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return (f"{name}: n={len(values)} median {statistics.median(values) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {values[-1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.1)
    parser.add_argument("--baseline", type=float, default=5.0)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a fresh database is made on it)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-prune-"))
    name = None
    if args.postgres:
        name = "bench_prune_" + uuid.uuid4().hex[:8]
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.postgres.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{tmp / 'prune.db'}"
    upgrade(url)
    port = free_port()
    proc = serve(url, port, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            token = template_guest(http)
            template = http.get("/api/v1/interviews", headers={"Authorization": f"Bearer {token}"})
            assert template.status_code == 200
            engine = create_engine(url)
            with engine.connect() as conn:
                from app.auth.sessions import token_hash

                template_user = conn.execute(select(AuthSession.user_id).where(
                    AuthSession.token_hash == token_hash(token))).scalar_one()
            engine.dispose()
            clone(url, template_user, args.guests)
            kept = http.post("/api/v1/auth/register", json={"username": "kept", "password": "long password"}).json()
            headers = {"Authorization": f"Bearer {kept['access_token']}"}
            iid = http.post("/api/v1/interviews", json={"round": "quick-15"}, headers=headers).json()["id"]

        before: list[float] = []
        stop = threading.Event()
        t = threading.Thread(target=autosaves, args=(base, headers, iid, stop, before))
        t.start()
        time.sleep(args.baseline)
        stop.set()
        t.join()

        during: list[float] = []
        stop = threading.Event()
        t = threading.Thread(target=autosaves, args=(base, headers, iid, stop, during))
        t.start()
        batches: list[float] = []
        engine = make_engine(url)
        last = [time.perf_counter()]

        def on_batch(_batch) -> None:
            now = time.perf_counter()
            batches.append(now - last[0] - (args.pause if batches else 0.0))
            last[0] = now

        started = time.perf_counter()
        done = prune_guests(engine, datetime.now(UTC) - timedelta(days=30), batch_size=args.batch_size,
                            pause_s=args.pause, on_batch=on_batch)
        wall = time.perf_counter() - started
        stop.set()
        t.join()
        engine.dispose()
        print(f"{'postgres' if args.postgres else 'sqlite'}: pruned {done.summary()} in {done.batches} batches, "
              f"{wall:.1f} s")
        print(describe("batch (one write transaction, chosen and deleted)", batches))
        print(describe("autosave before prune", before))
        print(describe("autosave during prune", during))
    finally:
        proc.terminate()
        proc.wait(30)
        if name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
