"""My scheduler: the FSRS parameters fitted to my review log, and a fit on demand (app.practice.scheduler_fits).
The fit runs in a process of its own; these routes only read its row and claim a fit."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import CallerDep, LimitsDep, NowDep, SessionDep
from app.api.schemas import AUTH_WRITE_ERRORS, REQUEST_ERRORS, Timestamp, errors
from app.practice import scheduler_fits

router = APIRouter(prefix="/api/v1/me/scheduler", tags=["me"])


class FitMetrics(BaseModel):
    """Defaults (before) and fitted parameters (after) scored on the same held-out tail of my latest
    long-term reviews (fsrs-rs's evaluate: log loss, RMSE over retrievability bins); null when the log had no
    tail to measure. `trained`/`evaluated`: the long-term reviews fitted on and scored on."""

    learned: bool = Field(description="false: fsrs-rs found too little to learn from and kept the defaults")
    log_loss_before: float | None
    log_loss_after: float | None
    rmse_before: float | None
    rmse_after: float | None
    trained: int
    evaluated: int
    seconds: float | None = None


class Workload(BaseModel):
    retention: float
    per_day: float = Field(description="expected reviews per day over the next 30 days of the cards I have")


class SchedulerStatus(BaseModel):
    state: Literal["idle", "running", "failed"]
    error: str | None = Field(description="why the last fit failed")
    fitted: bool = Field(description="false: the default parameters schedule my reviews")
    parameters: list[float] = Field(description="the 21 FSRS-6 weights in use")
    fitted_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    reviews: int = Field(description="my reviews (rated answers) now")
    reviews_at_fit: int
    min_reviews: int = Field(description="reviews needed before a fit (MIANJING_FSRS_FIT_MIN_REVIEWS)")
    refit_every: int = Field(description="a new fit starts after this many more reviews (MIANJING_FSRS_FIT_EVERY)")
    metrics: FitMetrics | None
    forecast: list[Workload] | None = Field(description="simulated at the last fit, for a few desired retentions")
    desired_retention: float


@router.get("", response_model=SchedulerStatus, operation_id="get_scheduler",
            responses={**REQUEST_ERRORS, **errors(401)})
def get_scheduler(caller: CallerDep, db: SessionDep, now: NowDep, request: Request) -> dict[str, Any]:
    """My scheduler: the parameters in use (fitted or the defaults), the last fit's date, state and metrics,
    and how many reviews I have against the threshold."""
    return scheduler_fits.status(db, caller.user(db), now, request.app.state.fit_policy)


@router.post("/fit", response_model=SchedulerStatus, status_code=202, operation_id="fit_scheduler", responses={
    **REQUEST_ERRORS, **AUTH_WRITE_ERRORS,
    **errors(e409="fewer reviews than the threshold: the defaults stay",
             e429="this account has asked for its fits of the hour; see Retry-After")})
def fit_scheduler(caller: CallerDep, db: SessionDep, now: NowDep, limits: LimitsDep, request: Request) -> JSONResponse:
    """Fit my parameters to my review log now, in the background: 202 with the status (state running) to poll
    with GET /me/scheduler. While a fit runs, its status again (no second one starts)."""
    body = scheduler_fits.request_fit(db, limits, caller.user(db), now, request.app.state.fit_policy)
    return JSONResponse(SchedulerStatus.model_validate(body).model_dump(mode="json"), status_code=202)
