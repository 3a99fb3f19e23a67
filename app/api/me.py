"""The caller's own practice data: due reviews, self-ratings, the dashboard, settings and the export."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.api.deps import CallerDep, ContentDep, NowDep, SessionDep
from app.api.schemas import (
    AUTH_WRITE_ERRORS,
    REQUEST_ERRORS,
    Dashboard,
    ExportRecord,
    RetentionSettings,
    ReviewRated,
    ReviewsDue,
    errors,
)
from app.db import write_transaction
from app.errors import AppError
from app.practice import scheduling, service
from app.practice.scheduling import RatingName, utc

router = APIRouter(prefix="/api/v1/me", tags=["me"])
READ = {**REQUEST_ERRORS, **errors(401)}
WRITE = {**REQUEST_ERRORS, **AUTH_WRITE_ERRORS}


class RatingRequest(BaseModel):
    rating: RatingName


class SettingsRequest(BaseModel):
    desired_retention: float = Field(ge=scheduling.MIN_RETENTION, le=scheduling.MAX_RETENTION,
                                     description="FSRS target probability of recall, 0.7 to 0.99")


def question_link(question_id: str) -> str:
    """Where the public API serves a question; the service returns ids, the API adds the links."""
    return f"/api/v1/questions/{question_id}"


def _zone(tz: str | None) -> Any:
    if not tz:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise AppError(f"unknown time zone {tz!r}; use an IANA name such as Asia/Shanghai", status_code=422) from None


@router.get("/reviews/due", response_model=ReviewsDue, operation_id="get_reviews_due", responses=READ)
def reviews_due(caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
                limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    """Questions whose review is due now, most overdue first, with a link to each public view."""
    due = service.due_reviews(db, content, caller.user(db), now, limit)
    due["items"] = [{**item, "url": question_link(item["question_id"])} for item in due["items"]]
    return due


@router.post("/reviews/{question_id}", response_model=ReviewRated, operation_id="rate_review",
             responses={**WRITE, **errors(e404="no such question, or not answered yet")})
def rate_review(question_id: str, body: RatingRequest, caller: CallerDep, db: SessionDep,
                content: ContentDep) -> dict[str, Any]:
    """Rate my latest answer to an open question myself; it replaces the rating from key-point coverage."""
    user = caller.user(db)
    with write_transaction(db):
        row = service.rerate(db, content, user, question_id, body.rating)
    return {"question_id": question_id, "rating": row.last_rating, "due": row.due.isoformat()}


@router.get("/stats", response_model=Dashboard, operation_id="get_stats", responses=READ)
def my_stats(caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
             tz: Annotated[str | None, Query(max_length=64, description="IANA zone for day boundaries")] = None,
             ) -> dict[str, Any]:
    """Mastery per topic, daily activity (365 days), the 14-day review forecast, recent interviews,
    weakest topics."""
    user = caller.user(db)  # 401 before any complaint about the query
    return service.dashboard(db, content, user, now, _zone(tz))


@router.get("/settings", response_model=RetentionSettings, operation_id="get_settings", responses=READ)
def get_settings(caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    return {"desired_retention": caller.user(db).desired_retention}


@router.put("/settings", response_model=RetentionSettings, operation_id="update_settings", responses=WRITE)
def put_settings(body: SettingsRequest, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        user = service.set_retention(db, user, body.desired_retention)
    return {"desired_retention": user.desired_retention}


@router.get("/export", response_model=list[ExportRecord], operation_id="export_data", responses={
    **READ, 200: {"description": "a download", "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export(caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
           format: Annotated[Literal["csv", "json"], Query()] = "json") -> Response:
    """My attempts and interviews as a download: CSV with a header row, or a JSON list."""
    records = service.export_records(db, content, caller.user(db))
    stamp = utc(now).strftime("%Y%m%d")
    if format == "csv":
        body = service.export_csv(records).encode()
        media = "text/csv; charset=utf-8"
    else:
        import orjson

        body = orjson.dumps(records)
        media = "application/json"
    filename = f"mianjing-export-{stamp}.{format}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
