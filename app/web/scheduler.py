"""The dashboard's 复习算法 / Scheduler section: "fit now" (a CSRF form post). The fit itself runs in a process
of its own (app.practice.scheduler_fits); this only claims it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import ContentDep, LimitsDep, SessionDep
from app.errors import AppError
from app.practice import scheduler_fits
from app.rate_limits import RateLimited
from app.web.i18n import translator
from app.web.practice import _dashboard
from app.web.routes import VisitorDep, redirect

router = APIRouter(include_in_schema=False)


@router.post("/dashboard/scheduler/fit")
def fit_now(request: Request, visitor: VisitorDep, db: SessionDep, content: ContentDep, limits: LimitsDep) -> Response:
    if visitor.user is None:
        return redirect(visitor, "/dashboard")
    policy = request.app.state.fit_policy
    t = translator(visitor.lang)
    try:
        scheduler_fits.request_fit(db, limits, visitor.user, visitor.now, policy)
    except RateLimited as exc:
        return _dashboard(visitor, content, status_code=429, fit_error=t("err_sched_rate", seconds=exc.retry_after))
    except AppError as exc:
        reviews = scheduler_fits.review_count(db, visitor.user.id)  # type: ignore[arg-type]
        message = t("err_sched_threshold", n=policy.min_reviews, reviews=reviews) if exc.status_code == 409 else exc.message
        return _dashboard(visitor, content, status_code=exc.status_code, fit_error=message)
    return redirect(visitor, "/dashboard?fit=started#scheduler")
