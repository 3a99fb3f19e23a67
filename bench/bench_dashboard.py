"""Server time of the learner's dashboard for a user with a long history.

    python bench/bench_dashboard.py                                   # SQLite in a temp dir, 200 calls each
    python bench/bench_dashboard.py --url postgresql+psycopg://u@127.0.0.1:5432/db --calls 500

A user gets 5,000 past attempts spread over the last year on the bundled banks, inserted directly, plus the
FSRS cards those attempts produce (replayed through app.practice.scheduling) and 20 finished interviews.
Then, in-process, it times
  (a) GET /api/v1/me/reviews/due and GET /api/v1/me/stats through the app (TestClient: routing,
      dependencies, auth lookup, the query, JSON) and
  (b) the pages /dashboard, /reviews and /practice with the browser's session cookie (HTML rendered),
  (c) the service functions alone on a real session,
and prints a markdown table of median and p99 per call. Target: p99 < 50 ms for (a).
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
from sqlmodel import Session, func, select  # noqa: E402

from app.db import db_session, upgrade  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Attempt, Interview, ReviewCard, User  # noqa: E402
from app.practice import due, scheduling, service  # noqa: E402
from app.settings import Settings  # noqa: E402

TARGET_P99_MS = 50.0
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def seed_history(engine, content, user_id: int, n: int, rng: random.Random) -> None:
    questions = list(content.questions)
    start = NOW - timedelta(days=365)
    times = sorted(start + timedelta(seconds=rng.uniform(0, 365 * 86400)) for _ in range(n))
    attempts, cards, reps, first_review = [], {}, {}, {}
    for when in times:
        q = rng.choice(questions)
        score = rng.choice((0.0, 0.5, 1.0, 1.0, 1.0)) if q.type != "open" else round(rng.random(), 2)
        rating = scheduling.rating_for(q.type, score)
        reviewed = scheduling.review(cards.get(q.id), rating, when, 0.9)
        cards[q.id] = reviewed.card
        reps[q.id] = reps.get(q.id, 0) + 1
        if reps[q.id] == 2:
            first_review[q.id] = when
        attempts.append({"user_id": user_id, "question_id": q.id, "seed": None, "answer": "x", "score": score,
                         "correct": score >= 0.999, "rating": scheduling.rating_name(rating), "source": "practice",
                         "interview_id": None, "created_at": when})
    rows = [{"user_id": user_id, "question_id": qid, "card": card, "previous": None,
             "due": datetime.fromisoformat(card["due"]), "last_review": datetime.fromisoformat(card["last_review"]),
             "last_rating": None, "last_attempt_id": None, "reps": reps[qid], "lapses": 0,
             "first_review_at": first_review.get(qid)} for qid, card in cards.items()]
    interviews = [{"id": f"bench{i:027d}", "user_id": user_id, "round_id": "r", "round_title": "bench",
                   "content_version": "x", "state": "finished", "started_at": NOW - timedelta(days=i),
                   "deadline": NOW - timedelta(days=i) + timedelta(hours=1),
                   "finished_at": NOW - timedelta(days=i) + timedelta(hours=1), "score": rng.random(),
                   "current_position": 0, "plan": {"items": [], "sections": []}} for i in range(20)]
    with Session(engine) as db:
        db.execute(insert(Attempt), attempts)
        db.execute(insert(ReviewCard), rows)
        db.execute(insert(Interview), interviews)
        db.commit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="database URL (default: a fresh SQLite file in a temp dir)")
    ap.add_argument("--attempts", type=int, default=5000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--content", default=str(ROOT / "content"), help="content folder (default: the bundled banks)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mj-bench-dash-")
    url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
    upgrade(url)
    app = create_app(Settings(content_dir=Path(args.content), database_url=url, env="test", secret_key="bench"))
    app.state.clock = lambda: NOW
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/guest").json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        content = app.state.store.current
        engine = app.state.engine
        with Session(engine) as db:
            user_id = db.exec(select(func.max(User.id))).one()
        seed_history(engine, content, user_id, args.attempts, random.Random(7))

        def api(path: str):
            def call():
                r = client.get(path, headers=headers)
                assert r.status_code == 200, r.text
            return call

        from itsdangerous import URLSafeSerializer  # the signed cookie, as app.auth.cookies writes it

        client.cookies.set("mj_session", URLSafeSerializer("bench", salt="session").dumps(token))

        def page(path: str):
            def call():
                r = client.get(path)
                assert r.status_code == 200 and "<html" in r.text, r.status_code
            return call

        def svc(fn):
            def call():
                with db_session(engine) as db:
                    fn(db, content, db.get(User, user_id))
            return call

        due_now = client.get("/api/v1/me/stats", headers=headers).json()["due_now"]
        results = [
            ("GET /api/v1/me/reviews/due (TestClient)", timed(api("/api/v1/me/reviews/due?limit=20"), args.calls)),
            ("GET /api/v1/me/stats (TestClient)", timed(api("/api/v1/me/stats"), args.calls)),
            ("GET /dashboard page (TestClient)", timed(page("/dashboard"), args.calls)),
            ("GET /reviews page (TestClient)", timed(page("/reviews"), args.calls)),
            ("GET /practice page (TestClient)", timed(page("/practice"), args.calls)),
            ("due.due_today", timed(svc(lambda db, c, u: due.due_today(db, c, u, NOW, UTC, 20)), args.calls)),
            ("service.dashboard", timed(svc(lambda db, c, u: service.dashboard(db, c, u, NOW, UTC, 20)), args.calls)),
        ]
    kind = url.split(":", 1)[0]
    print(f"\n{args.attempts} attempts, {len(content.questions)} questions (cards), {due_now} due today, "
          f"database {kind}, {args.calls} calls each\n")
    print("| what | median ms | p99 ms | target p99 |")
    print("|---|---:|---:|---:|")
    for name, (med, p99) in results:
        target = f"< {TARGET_P99_MS:.0f} ms" if "TestClient" in name else ""
        print(f"| {name} | {med:.2f} | {p99:.2f} | {target} |")


if __name__ == "__main__":
    main()
