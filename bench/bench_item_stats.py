"""Item statistics over 100,000 finished interviews (issue 20: < 2 s, SQLite and PostgreSQL).

Seeds --interviews finished interviews of --round by SQL in bulk: each draws its questions as a real start
does (pick_round_questions + 追问), and its candidate, of a random ability, gets a mark per question from a
logistic model (open items in steps of a quarter, choice items with the key or a distractor chosen), so that
the rests of the test take as many distinct values as real ones. The clones carry an empty plan: the rebuild
reads the answers' question ids and scores, never the plans. Then:

1. `mianjing stats rebuild` computes the running aggregates (timed);
2. `mianjing serve` (1 worker) answers GET /api/v1/admin/stats/items?round=… --requests times (timed end to
   end over HTTP, after one warm-up);
3. --finishes interviews are started, answered and finished through the API, each adding to the aggregates
   in its write (the finish's latency with 100,000 interviews' states, and the statistics after them).

    python bench/bench_item_stats.py
    python bench/bench_item_stats.py --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness import start_serve  # noqa: E402 - bench/harness.py, beside this script

from app.content.loader import load_content, pick_round_questions, with_followups  # noqa: E402
from app.db import upgrade  # noqa: E402
from app.models import Interview, InterviewAnswer, User  # noqa: E402

TOKEN = "bench-admin-token"


def env_for(url: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": url,
            "MIANJING_CONTENT_DIR": str(REPO / "content"), "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "bench",
            "MIANJING_LOG_LEVEL": "warning", "MIANJING_ADMIN_TOKEN": TOKEN,
            # the bench's own limits: one address starts every interview of step 3
            "MIANJING_LIMIT_GUESTS_PER_HOUR": "100000", "MIANJING_LIMIT_INTERVIEWS_PER_ADDRESS_PER_HOUR": "100000",
            "MIANJING_LIMIT_WRITES_PER_ADDRESS_PER_MINUTE": "1000000"}


def mark_for(q, ability: float, rng: random.Random) -> tuple[float, object]:
    """A mark (0..1) and an answer: the logistic chance of knowing the item, its difficulty 1..3."""
    p = 1 / (1 + math.exp(-(ability - (q.difficulty - 2))))
    if q.type == "open":
        return sum(rng.random() < p for _ in range(4)) / 4, "…"
    right = rng.random() < p
    if q.type in ("single", "multiple") and q.options:
        keys = [o.key for o in q.options]
        correct = [o.key for o in q.options if o.correct]
        wrong = [k for k in keys if k not in correct] or keys
        chosen = correct if right else [rng.choice(wrong[:2] if len(wrong) > 2 else wrong)]  # a dead distractor
        return (1.0 if right else 0.0), chosen if q.type == "multiple" else chosen[0]
    return (1.0 if right else 0.0), "x"


def seed(url: str, round_id: str, count: int, rng: random.Random) -> float:
    content = load_content(REPO / "content")
    rnd = content.rounds_by_id[round_id]
    engine = create_engine(url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        user_id = conn.execute(insert(User).values(is_guest=True, is_admin=False, desired_retention=0.9,
                                                   created_at=now).returning(User.id)).scalar_one()
    batch = 2000
    for start in range(0, count, batch):
        interviews, answers = [], []
        for _ in range(min(batch, count - start)):
            iid = secrets.token_hex(16)
            ability = rng.gauss(0, 1)
            ids = [qid for section in pick_round_questions(content, rnd, rng.getrandbits(32))
                   for qid, _ in with_followups(content, section)]
            interviews.append({"id": iid, "user_id": user_id, "round_id": rnd.id, "round_title": rnd.title,
                               "content_version": content.version, "state": "finished", "started_at": now,
                               "deadline": now + timedelta(minutes=rnd.duration), "finished_at": now,
                               "score": 0.5, "current_position": 0, "question_count": len(ids),
                               "plan": {"sections": [], "items": []}})
            for pos, qid in enumerate(ids):
                q = content.by_id[qid]
                score, answer = mark_for(q, ability, rng) if q.scored else (None, "…")
                answers.append({"interview_id": iid, "position": pos, "question_id": qid, "answer": answer,
                                "answer_chars": 0, "saved_at": now, "time_spent_ms": 0, "score": score})
        with engine.begin() as conn:
            conn.execute(insert(Interview), interviews)
            conn.execute(insert(InterviewAnswer), answers)
    engine.dispose()
    return time.perf_counter() - started


def timed_get(client: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    r = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    return time.perf_counter() - t0, r


def finish_some(client: httpx.Client, round_id: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        h = {"Authorization": "Bearer " + client.post("/api/v1/auth/guest").json()["access_token"]}
        state = client.post("/api/v1/interviews", json={"round": round_id}, headers=h).json()
        for q in state["questions"][:3]:
            client.put(f"/api/v1/interviews/{state['id']}/answers/{q['position']}", json={"answer": "A"}, headers=h)
        t0 = time.perf_counter()
        r = client.post(f"/api/v1/interviews/{state['id']}/finish", headers=h)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return times


def run(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    rng = random.Random(20)
    print(f"seeding {args.interviews} finished interviews of {args.round} ...", flush=True)
    print(f"  seeded in {seed(url, args.round, args.interviews, rng):.1f} s", flush=True)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "app.cli", "stats", "rebuild"], cwd=REPO, env=env_for(url),
                         capture_output=True, text=True, check=True)
    print(f"  rebuild: {out.stdout.strip()} (the command, start to end: {time.perf_counter() - t0:.1f} s)")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows, size = conn.execute(text("SELECT count(*), sum(length(CAST(state AS TEXT))) FROM itemaggregate "
                                       "WHERE round_id = :r"), {"r": args.round}).one()
    engine.dispose()
    print(f"  {rows} aggregate rows for the round, {size / 1024:.0f} KiB of state in all")
    proc, base = start_serve(REPO, env_for(url), 1, ready_within=120)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            stats_url = f"/api/v1/admin/stats/items?round={args.round}"
            first, r = timed_get(client, stats_url)
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            attempts = sum(i["attempts"] for i in items)
            print(f"  first request {first * 1000:.0f} ms: {len(items)} items, {attempts} item attempts")
            times = [timed_get(client, stats_url)[0] for _ in range(args.requests)]
            print(f"  GET stats/items x{args.requests}: median {statistics.median(times) * 1000:.0f} ms, "
                  f"max {max(times) * 1000:.0f} ms")
            finishes = finish_some(client, args.round, args.finishes)
            print(f"  {args.finishes} finishes through the API (adding to the aggregates): median "
                  f"{statistics.median(finishes) * 1000:.0f} ms, max {max(finishes) * 1000:.0f} ms")
            after, r = timed_get(client, stats_url)
            assert sum(i["attempts"] for i in r.json()["items"]) > attempts
            print(f"  GET stats/items after them: {after * 1000:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interviews", type=int, default=100_000)
    parser.add_argument("--round", default="dl-basics")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--finishes", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is created and dropped there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.postgres:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)
            return
        name = "bench_" + uuid.uuid4().hex[:10]
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.postgres.rsplit("/", 1)[0] + "/" + name, args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
