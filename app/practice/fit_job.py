"""The fit process: `python -m app.practice.fit_job USER_ID` fits the user's FSRS parameters to their review
log and records them, or records why it failed (app.practice.scheduler_fits starts it; MIANJING_DATABASE_URL
says where the log is). It acts only on a fit claimed for it (state running) and leaves the row idle or failed.
"""

from __future__ import annotations

import argparse
import time
import traceback
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.db import for_update, make_engine, request_session, write_transaction
from app.models import Attempt, ReviewCard, SchedulerFit, User
from app.practice import fsrs_fit
from app.practice.due import candidate_zone
from app.settings import get_settings


def _read(engine: Engine, user_id: int) -> tuple[User, list[fsrs_fit.Review], list[dict]] | None:
    with request_session(engine) as db:
        row, user = db.get(SchedulerFit, user_id), db.get(User, user_id)
        if row is None or row.state != "running" or user is None:
            return None
        conn = db.connection()
        reviews = [fsrs_fit.Review(q, r, at) for q, r, at in conn.execute(
            select(Attempt.question_id, Attempt.rating, Attempt.created_at)
            .where(Attempt.user_id == user_id, col(Attempt.rating).is_not(None))
            .order_by(col(Attempt.created_at), col(Attempt.id))).all()]
        cards = [card for (card,) in conn.execute(select(ReviewCard.card).where(ReviewCard.user_id == user_id)).all()]
        db.expunge(user)
        return user, reviews, cards


def _finish(engine: Engine, user_id: int, **values: object) -> None:
    with request_session(engine) as db, write_transaction(db):
        row = db.exec(for_update(select(SchedulerFit).where(SchedulerFit.user_id == user_id))).first()
        if row is None:  # the account was deleted meanwhile
            return
        for name, value in values.items():
            setattr(row, name, value)
        row.finished_at = datetime.now(UTC)
        db.add(row)


def run(engine: Engine, user_id: int, *, holdout: float, min_reviews: int) -> str:
    """Fit and record; what happened, in a word (for the log)."""
    read = _read(engine, user_id)
    if read is None:
        return "nothing to do: no fit claimed for this user"
    user, reviews, cards = read
    try:
        if len(reviews) < min_reviews:
            raise ValueError(f"a fit needs at least {min_reviews} reviews; the log has {len(reviews)}")
        started = time.perf_counter()
        result = fsrs_fit.fit(reviews, candidate_zone(user), holdout)
        took = time.perf_counter() - started
        retentions = sorted({*fsrs_fit.FORECAST_RETENTIONS, round(user.desired_retention, 4)})
        forecast = fsrs_fit.workload(cards, result.parameters, retentions, datetime.now(UTC), seed=user_id)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded with its reason, for the candidate to see
        traceback.print_exc()
        _finish(engine, user_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        return "failed"
    # Defaults learnt nothing: stored as none, so that the scheduler keeps following later default changes.
    parameters = result.parameters if result.learned else None
    _finish(engine, user_id, state="idle", error=None, parameters=parameters, fitted_at=datetime.now(UTC),
            reviews_at_fit=result.reviews, metrics={**result.metrics(), "seconds": round(took, 4)},
            forecast=forecast)
    return f"fitted {result.reviews} reviews in {took:.3f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user_id", type=int)
    parser.add_argument("--holdout", type=float, default=None)
    parser.add_argument("--min-reviews", type=int, default=None)
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        outcome = run(engine, args.user_id,
                      holdout=args.holdout if args.holdout is not None else settings.fsrs_fit_holdout,
                      min_reviews=args.min_reviews if args.min_reviews is not None else settings.fsrs_fit_min_reviews)
    finally:
        engine.dispose()
    print(f"{datetime.now(UTC).isoformat()} fsrs fit user {args.user_id}: {outcome}", flush=True)  # noqa: T201 - the log
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
