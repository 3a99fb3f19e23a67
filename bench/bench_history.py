"""A page of the history costs the same for a guest with 10 interviews as for one with 1,000.

    python bench/bench_history.py                                     # SQLite in a temp dir, 200 calls each
    python bench/bench_history.py --url postgresql+psycopg://u@127.0.0.1:5432/db --calls 300

Two guests in one database: one with --small (10) finished interviews, one with --large (1,000), each a
real plan of the bundled content (one interview started through the service, its plan copied), spread over
the past days and inserted directly. In-process (TestClient: routing, auth lookup, the query, JSON or
HTML), side by side for the two, it times
  GET /api/v1/interviews             the first page (20, newest first)
  GET /api/v1/interviews?cursor=     a deep page: the one that starts half way through the history
  GET /history, GET /history?cursor= the same two pages of the web history (HTML, with its score chart)
  GET /api/v1/me/export              the full download, for contrast: it grows with the account by design
and prints a markdown table of median and p99 per call, the ratio large/small, and the query plan of a
history page (an index range read of ix_interview_user_id_started_at, no sort).
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from harness import timed  # noqa: E402 - bench/harness.py, beside this script
from itsdangerous import URLSafeSerializer  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from app.auth.sessions import user_for_token  # noqa: E402
from app.db import db_session, upgrade  # noqa: E402
from app.interviews import service  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Interview, User  # noqa: E402
from app.pagination import HEX_ID  # noqa: E402
from app.rate_limits import Limits  # noqa: E402
from app.settings import Settings  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def seed_interviews(engine, content, limits: Limits, user_id: int, n: int, rng: random.Random) -> None:
    """n finished interviews of the first round, one every ~6 hours back from NOW, with a real plan."""
    rnd = content.rounds[0]
    with db_session(engine) as db:  # a real plan, from the service; the interview itself is not kept
        template = service.start_interview(db=db, content=content, user=db.get(User, user_id), round_id=rnd.id,
                                           now=NOW - timedelta(days=400), limits=limits, address="bench")
        plan, template_id = template.plan, template.id
        db.delete(template)
    rows = []
    for i in range(n):
        started = NOW - timedelta(hours=6 * i, seconds=rng.uniform(0, 3600))
        rows.append({"id": secrets.token_hex(16), "user_id": user_id, "round_id": rnd.id, "round_title": rnd.title,
                     "content_version": content.version, "state": "finished", "started_at": started,
                     "deadline": started + timedelta(minutes=rnd.duration), "score": round(rng.random(), 4),
                     "finished_at": started + timedelta(minutes=rnd.duration / 2), "current_position": 0,
                     "question_count": len(plan["items"]), "plan": plan})
    with Session(engine) as db:
        for start in range(0, len(rows), 200):
            db.execute(insert(Interview), rows[start:start + 200])
        db.commit()
    assert template_id not in {r["id"] for r in rows}


def middle_cursor(engine, user_id: int, n: int) -> str:
    """The cursor of the page that starts half way through the user's history (newest first)."""
    with Session(engine) as db:
        started_at, iid = db.exec(select(Interview.started_at, Interview.id).where(Interview.user_id == user_id)
                                  .order_by(col(Interview.started_at).desc(), col(Interview.id).desc())
                                  .offset(n // 2 - 1).limit(1)).one()
    return HEX_ID.encode(started_at, iid)


def query_plan(engine, user_id: int, cursor: str) -> str:
    """How the database reads a history page after `cursor` (the statement the service runs, plan deferred)."""
    when, iid = HEX_ID.decode(cursor)
    sql = ("SELECT id FROM interview WHERE user_id = :u AND (started_at, id) < (:t, :i) "
           "ORDER BY started_at DESC, id DESC LIMIT 21")
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"u": user_id, "t": when, "i": iid}).all()
            return "; ".join(r[-1] for r in rows)
        rows = conn.execute(text("EXPLAIN " + sql), {"u": user_id, "t": when, "i": iid}).all()
        return "; ".join(r[0].strip() for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="database URL (default: a fresh SQLite file in a temp dir)")
    ap.add_argument("--small", type=int, default=10)
    ap.add_argument("--large", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--export-calls", type=int, default=20, help="calls of the (growing) export")
    ap.add_argument("--content", default=str(ROOT / "content"), help="content folder (default: the bundled banks)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mj-bench-history-")
    url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
    upgrade(url)
    app = create_app(Settings(content_dir=Path(args.content), database_url=url, env="test", secret_key="bench"))
    app.state.clock = lambda: NOW
    signer = URLSafeSerializer("bench", salt="session")  # the signed cookie, as app.auth.cookies writes it
    with TestClient(app) as client:
        content, engine = app.state.store.current, app.state.engine
        guests = {}
        for label, n in (("small", args.small), ("large", args.large)):
            token = client.post("/api/v1/auth/guest").json()["access_token"]
            with Session(engine) as db:
                user_id = user_for_token(db, token, NOW).id
            t = time.perf_counter()
            seed_interviews(engine, content, app.state.limits, user_id, n, random.Random(n))
            print(f"seeded {n} interviews in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            guests[label] = (n, token, user_id, middle_cursor(engine, user_id, n))

        def api(token: str, path: str, **params):
            headers = {"Authorization": f"Bearer {token}"}

            def call():
                r = client.get(path, params=params, headers=headers)
                assert r.status_code == 200, r.text
                return len(r.json()["items"]) if "limit" in params or "interviews" in path else len(r.json())
            return call

        def page(token: str, path: str, **params):
            cookies = {"mj_session": signer.dumps(token)}

            def call():
                client.cookies.clear()
                client.cookies.update(cookies)
                r = client.get(path, params=params)
                assert r.status_code == 200 and "<html" in r.text, r.status_code
                return r.text.count('<tr><td>')  # the table's rows
            return call

        rows = []
        for name, make, path, params, calls in [
            ("GET /api/v1/interviews (first page)", api, "/api/v1/interviews", {}, args.calls),
            ("GET /api/v1/interviews?cursor= (the page at the middle)", api, "/api/v1/interviews", {"deep": 1},
             args.calls),
            ("GET /api/v1/interviews?limit=5 (first page, same size)", api, "/api/v1/interviews", {"limit": 5},
             args.calls),
            ("GET /api/v1/interviews?limit=5&cursor= (middle, same size)", api, "/api/v1/interviews",
             {"limit": 5, "deep": 1}, args.calls),
            ("GET /history (first page)", page, "/history", {}, args.calls),
            ("GET /history?cursor= (the page at the middle)", page, "/history", {"deep": 1}, args.calls),
            ("GET /api/v1/me/export (everything, JSON)", api, "/api/v1/me/export", {}, args.export_calls),
        ]:
            side = []
            for label in ("small", "large"):
                n, token, user_id, cursor = guests[label]
                query = {k: v for k, v in params.items() if k != "deep"} | ({"cursor": cursor} if params.get("deep")
                                                                             else {})
                call = make(token, path, **query)
                side.append((call(), *timed(call, calls)))
            rows.append((name, side))
        first = client.get("/api/v1/interviews", params={"cursor": guests["large"][3]},
                           headers={"Authorization": f"Bearer {guests['large'][1]}"}).json()
        assert len(first["items"]) == 20 and first["next"]
        plan = query_plan(engine, guests["large"][2], guests["large"][3])
    kind = url.split(":", 1)[0].split("+", 1)[0]
    small, large = args.small, args.large
    print(f"\nDatabase {kind}; a page is 20 interviews; {args.calls} calls each ({args.export_calls} of the export)\n")
    print(f"| what | {small} interviews: items | median ms | p99 ms | {large} interviews: items | median ms | "
          "p99 ms | large / small (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, ((i1, m1, p1), (i2, m2, p2)) in rows:
        print(f"| {name} | {i1} | {m1:.2f} | {p1:.2f} | {i2} | {m2:.2f} | {p2:.2f} | {m2 / m1:.2f} |")
    print(f"\nQuery plan of a history page ({kind}): {plan}")


if __name__ == "__main__":
    main()
