"""The 错题本 reads the account's attempts and folds them (app/practice/mistakes.py): what that costs a
candidate with a long history.

    python bench/bench_mistakes.py                       # SQLite in a temp dir, 100 calls each
    python bench/bench_mistakes.py --url postgresql+psycopg://u@127.0.0.1:5432/db --calls 100

Two guests in one database over the bundled content: one with --small (100) attempts, one with --large
(10,000), spread over the bundled questions and the past 90 days, about a third of them wrong, inserted
directly. In-process (TestClient: routing, auth, the read, the fold, JSON or HTML), side by side, it times
  GET /api/v1/me/mistakes     the first page (20)
  GET /mistakes               the page, HTML
  GET /api/v1/me/attempts     a page of attempts, for contrast (an index range read of one page)
and prints a markdown table of median and p99 per call and the ratio large/small.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from harness import timed  # noqa: E402 - bench/harness.py, beside this script
from sqlalchemy import insert  # noqa: E402

from app.db import db_session, upgrade  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Attempt  # noqa: E402
from app.settings import Settings  # noqa: E402

ROUTES = ("/api/v1/me/mistakes", "/mistakes", "/api/v1/me/attempts")


def seed(app, user_id: int, n: int, rng: random.Random) -> None:
    content = app.state.store.current
    questions = [q for q in content.questions if q.scored and q.type != "generated"]
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        q = rng.choice(questions)
        wrong = rng.random() < 0.33
        rows.append({"user_id": user_id, "question_id": q.id, "seed": None, "answer": "x" if wrong else "ok",
                     "score": 0.0 if wrong else 1.0, "correct": not wrong, "rating": "again" if wrong else "good",
                     "source": "practice", "interview_id": None,
                     "created_at": now - timedelta(days=90) + timedelta(seconds=i * 90 * 86400 / n)})
    with db_session(app.state.engine) as db:
        db.connection().execute(insert(Attempt), rows)
        db.commit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--large", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        settings = Settings(database_url=url, content_dir=ROOT / "content", env="test", secret_key="bench-secret",
                            limit_guests_per_hour=1000, limit_writes_per_minute=10**6)
        app = create_app(settings)
        rng = random.Random(7)
        with TestClient(app) as first, TestClient(app) as second:
            guests = {}
            for (name, n), client in zip((("small", args.small), ("large", args.large)), (first, second), strict=True):
                # A browser's guest: the cookie session of POST /guest, for the pages and the API alike.
                csrf = client.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
                client.post("/guest", data={"csrf_token": csrf, "next": "/practice"}).raise_for_status()
                uid = client.get("/api/v1/me/archive").json()["account"]["id"]
                seed(app, uid, n, rng)
                guests[name] = client
            print(f"| route | {args.small} attempts p50 / p99 | {args.large} attempts p50 / p99 | p50 ratio |")
            print("|---|---:|---:|---:|")
            for route in ROUTES:
                out = {name: timed(lambda c=c, r=route: c.get(r).raise_for_status(), args.calls)
                       for name, c in guests.items()}
                (s50, s99), (l50, l99) = out["small"], out["large"]
                print(f"| `GET {route}` | {s50:.1f} / {s99:.1f} ms | {l50:.1f} / {l99:.1f} ms | {l50 / s50:.1f}× |")


if __name__ == "__main__":
    main()
