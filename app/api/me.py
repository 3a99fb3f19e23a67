"""The caller's own practice data: due reviews, self-ratings, the dashboard, settings and the export."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, WithJsonSchema, field_validator

from app.api.deps import (
    AddressDep,
    CallerDep,
    ClearAfterDep,
    ContentDep,
    NewCardsDep,
    NowDep,
    SessionDep,
    WriteQuotasDep,
)
from app.api.schemas import (
    AUTH_WRITE_ERRORS,
    REQUEST_ERRORS,
    AccountSettings,
    AttemptPage,
    CountCursor,
    Dashboard,
    DueReviewPage,
    ExportRecord,
    IntCursor,
    LeechList,
    MistakePage,
    PageLimit,
    ReviewRated,
    as_json,
    errors,
    links,
)
from app.content.loader import one
from app.content.model import QUESTION_TYPES, QuestionType
from app.db import request_session, write_transaction
from app.errors import AppError
from app.pagination import DEFAULT_LIMIT
from app.practice import due, leeches, listing, mistakes, scheduling, service
from app.practice.export import (
    MISTAKE_FIELDS,
    REVLOG_FIELDS,
    csv_chunks,
    export_batches,
    export_chunks,
    mistake_rows,
    revlog_batches,
)
from app.practice.scheduling import RatingName, utc

router = APIRouter(prefix="/api/v1/me", tags=["me"])
# The zones this server knows, as the schema's enum of `tz` and `timezone`: a client (and a fuzzer) can tell
# a valid name from the schema instead of from a 422.
ZONES = list(due.ZONES)


def _member_names(values: list[str]) -> list[str]:
    """Names for a generated client's enum members (x-enum-varnames, read by openapi-generator and
    openapi-python-client), one per value: + and - must differ, or Etc/GMT+8 and Etc/GMT-8 collide."""
    names: list[str] = []
    for value in values:
        name = re.sub(r"[^A-Za-z0-9]+", "_", value.replace("+", "_PLUS_")).strip("_").upper()
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


TZ_SCHEMA = {"type": "string", "enum": ZONES, "x-enum-varnames": _member_names(ZONES)}
READ = {**REQUEST_ERRORS, **errors(401)}
WRITE = {**REQUEST_ERRORS, **AUTH_WRITE_ERRORS}


class RatingRequest(BaseModel):
    rating: RatingName


class SettingsRequest(BaseModel):
    desired_retention: float = Field(ge=scheduling.MIN_RETENTION, le=scheduling.MAX_RETENTION,
                                     description="FSRS target probability of recall, 0.7 to 0.99")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # left out means unchanged; the schema says no null, so no default of null


class SettingsChange(BaseModel):
    """The settings to change; those left out stay as they are (none may be null)."""

    desired_retention: Annotated[float | None, WithJsonSchema({"type": "number", "minimum": scheduling.MIN_RETENTION,
                                                               "maximum": scheduling.MAX_RETENTION})] = Field(
        default=None, ge=scheduling.MIN_RETENTION, le=scheduling.MAX_RETENTION, json_schema_extra=_no_default,
        description="FSRS target probability of recall, 0.7 to 0.99")
    timezone: Annotated[str | None, WithJsonSchema(TZ_SCHEMA)] = Field(
        default=None, max_length=64, json_schema_extra=_no_default,
        description="the IANA zone my days are counted in, as the browser reports it "
                    "(Intl.DateTimeFormat().resolvedOptions().timeZone); 422 for one this server does not know")
    leech_lapses: Annotated[int | None, WithJsonSchema({"type": "integer", "minimum": leeches.MIN_LAPSES,
                                                        "maximum": leeches.MAX_LAPSES})] = Field(
        default=None, ge=leeches.MIN_LAPSES, le=leeches.MAX_LAPSES, json_schema_extra=_no_default,
        description="lapses that make a card a leech and suspend it (Anki's default, 8)")

    @field_validator("desired_retention", "timezone", "leech_lapses", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # left out is "unchanged"; null is no value for either
            raise ValueError("leave the field out to keep it; it cannot be null")
        return value


def question_link(question_id: str) -> str:
    """Where the public API serves a question; the service returns ids, the API adds the links."""
    return f"/api/v1/questions/{question_id}"


def _zone(tz: str) -> Any:
    try:
        return due.zone_named(tz)
    except ValueError as exc:
        raise AppError(str(exc), status_code=422) from None


def _settings(user: Any) -> dict[str, Any]:
    return {"desired_retention": user.desired_retention, "timezone": user.timezone, "leech_lapses": user.leech_lapses}


@router.get("/reviews/due", response_model=DueReviewPage, operation_id="get_reviews_due", responses={
    **READ, **links(200, next_page=("get_reviews_due", {"cursor": "$response.body#/next"}),
                    first=("rate_review", {"question_id": "$response.body#/items/0/question_id"}))})
def reviews_due(caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep, new_cards: NewCardsDep,
                limit: PageLimit = DEFAULT_LIMIT, cursor: IntCursor = None) -> dict[str, Any]:
    """Questions whose review is due today (before the end of my day), most overdue first, with a link to
    each public view; `limit` at a time (pass a page's `next` as `cursor`). New cards beyond the day's cap
    (MIANJING_NEW_CARDS_PER_DAY) wait for a later day. How many: `due_now` of GET /me/stats, the forecast's
    first day."""
    user = caller.user(db)
    page = listing.due_page(db, content, user, now, due.candidate_zone(user), new_cards, limit, cursor)
    return {"items": [{**item, "url": question_link(item["question_id"])} for item in page.items],
            "next": page.next}


# Its own path: as POST /me/reviews/{question_id} it also matched /me/reviews/due (a question id "due").
@router.post("/reviews/{question_id}/rating", response_model=ReviewRated, operation_id="rate_review",
             responses={**WRITE, **errors(e404="no such question, not an open question (only those take a "
                                               "self-rating), or not answered yet",
                                          e429="the account or the client address has used up its writes for the "
                                               "minute: nothing was changed; see Retry-After")})
def rate_review(question_id: str, body: RatingRequest, caller: CallerDep, db: SessionDep,
                content: ContentDep, now: NowDep, quotas: WriteQuotasDep, address: AddressDep) -> dict[str, Any]:
    """Rate my latest answer to an open question myself: it schedules the card that answer left waiting (open
    items are scheduled only from the candidate's own rating), or replaces the rating I gave it before."""
    user = caller.user(db)
    with quotas.charged_write(db, now, quotas.charges(user.id, address)):
        row = service.rerate(db, content, user, question_id, body.rating)
    return {"question_id": question_id, "rating": row.last_rating, "due": row.due.isoformat()}


@router.get("/attempts", response_model=AttemptPage, operation_id="list_attempts", responses={
    **READ, **links(200, next_page=("list_attempts", {"cursor": "$response.body#/next"}),
                    first=("get_question", {"question_id": "$response.body#/items/0/question_id"}))})
def attempts(caller: CallerDep, db: SessionDep, content: ContentDep, limit: PageLimit = DEFAULT_LIMIT,
             cursor: IntCursor = None) -> dict[str, Any]:
    """My answered questions, newest first, `limit` at a time (pass a page's `next` as `cursor`)."""
    page = listing.attempts_page(db, content, caller.user(db), limit, cursor)
    return {"items": page.items, "next": page.next}


@router.get("/mistakes", response_model=MistakePage, operation_id="list_mistakes", responses={
    **READ, **links(200, next_page=("list_mistakes", {"cursor": "$response.body#/next"}),
                    first=("get_question", {"question_id": "$response.body#/items/0/question_id"}))})
def my_mistakes(
    caller: CallerDep, db: SessionDep, content: ContentDep, clear_after: ClearAfterDep,
    bank: Annotated[str | None, Query(max_length=64, description="only this bank")] = None,
    topic: Annotated[str | None, Query(max_length=64, description="only this topic")] = None,
    type: Annotated[QuestionType | None, Query(description=f"only this type: one of {', '.join(QUESTION_TYPES)}")] = None,
    round: Annotated[str | None, Query(max_length=64, description="only those wrong in this round (an interview)")] = None,
    state: Annotated[mistakes.State, Query(description="active: in the list now; cleared: left it (correct on "
                                                       "enough different days since); all")] = "active",
    sort: Annotated[mistakes.Sort, Query(description="often: most often wrong first; recent: latest mistake first")] = "often",
    limit: PageLimit = DEFAULT_LIMIT, cursor: CountCursor = None,
) -> dict[str, Any]:
    """My 错题本: every question I got wrong, in practice or an interview, with my last mistake and my latest
    answer beside the reference. A question leaves it once the answers since its last mistake are all correct
    on MIANJING_MISTAKE_CLEAR_AFTER_DAYS different days of mine (state=cleared lists those), and comes back
    with the next mistake."""
    user = caller.user(db)
    entries = mistakes.select_entries(
        mistakes.mistakes_of(db, content, user, due.candidate_zone(user), clear_after).values(), content,
        state=state, banks=one(bank), topics=one(topic), types=one(type), rounds=one(round), sort=sort)
    page = listing.mistakes_page(db, entries, content, sort, limit, cursor)
    return {"items": [{**item, "url": question_link(item["question_id"])} for item in page.items],
            "next": page.next}


class CsvDownload(StreamingResponse):
    """A CSV file to download (its schema in OpenAPI: a string)."""

    media_type = "text/csv"


CSV_DOWNLOAD = {**as_json(READ), 200: {"description": "a download", "content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.get("/mistakes.csv", operation_id="export_mistakes", response_class=CsvDownload, responses=CSV_DOWNLOAD)
def export_mistakes(caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
                    clear_after: ClearAfterDep) -> Response:
    """My whole 错题本 (in it now and cleared) as CSV with a header row (UTF-8 with a BOM, for spreadsheets);
    lists and answers as JSON in their cells."""
    user = caller.user(db)
    entries = mistakes.select_entries(mistakes.mistakes_of(db, content, user, due.candidate_zone(user),
                                                           clear_after).values(), content, state="all")
    rows = mistake_rows(listing.mistake_record(content, e) for e in mistakes.with_answers(db, entries))
    return CsvDownload(csv_chunks(MISTAKE_FIELDS, [rows]), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="mianjing-mistakes-{utc(now).strftime("%Y%m%d")}.csv"'})


@router.get("/reviews/revlog.csv", operation_id="export_revlog", response_class=CsvDownload,
            responses=CSV_DOWNLOAD)
def export_revlog(request: Request, caller: CallerDep, db: SessionDep, now: NowDep) -> Response:
    """My review log as the FSRS optimizer reads it (card_id, review_time in ms, review_rating 1-4; no BOM),
    streamed a batch at a time: fit FSRS to it elsewhere, or bring it to Anki's tools."""
    user = caller.user(db)
    engine = request.app.state.engine
    chunks = csv_chunks(REVLOG_FIELDS, revlog_batches(lambda: request_session(engine), user.id), bom=False)
    return CsvDownload(chunks, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="mianjing-revlog-{utc(now).strftime("%Y%m%d")}.csv"'})


@router.get("/leeches", response_model=LeechList, operation_id="list_leeches", responses=READ)
def my_leeches(caller: CallerDep, db: SessionDep, content: ContentDep) -> dict[str, Any]:
    """My leeches: cards forgotten as often as my `leech_lapses` setting (8 unless changed), suspended — never
    due, never drawn by practice — until I resume them. Read the explanation or write a note first."""
    user = caller.user(db)
    return {"items": [listing.leech_record(content, row) | {"url": question_link(row.question_id)}
                      for row in leeches.leeches(db, content, user)]}


@router.post("/leeches/{question_id}/resume", response_model=LeechList, operation_id="resume_leech",
             responses={**WRITE, **errors(e404="no suspended card of mine for this question")})
def resume_leech(question_id: str, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep) -> dict[str, Any]:
    """Unsuspend my card for the question: due at once; it is suspended again after half as many lapses more.
    Answers the leeches left."""
    user = caller.user(db)
    with write_transaction(db):
        leeches.resume(db, user, question_id, now)
    return my_leeches(caller, db, content)


@router.get("/stats", response_model=Dashboard, operation_id="get_stats", responses=READ)
def my_stats(caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep, new_cards: NewCardsDep,
             tz: Annotated[str | None, Query(max_length=64, description="IANA zone for day boundaries; left "
                                                                         "out: my own (PATCH /me/settings), else UTC"),
                           WithJsonSchema(TZ_SCHEMA)] = None,
             ) -> dict[str, Any]:
    """Mastery per topic, daily activity (365 days), the 14-day review forecast, recent interviews,
    weakest topics; days are my days (my time zone), or those of `tz`."""
    user = caller.user(db)  # 401 before any complaint about the query
    zone = _zone(tz) if tz is not None else due.candidate_zone(user)
    return service.dashboard(db, content, user, now, zone, new_cards)


@router.get("/settings", response_model=AccountSettings, operation_id="get_settings", responses=READ)
def get_settings(caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    return _settings(caller.user(db))


@router.put("/settings", response_model=AccountSettings, operation_id="update_settings", responses=WRITE)
def put_settings(body: SettingsRequest, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    user = caller.user(db)
    with write_transaction(db):
        user = service.set_retention(db, user, body.desired_retention)
    return _settings(user)


@router.patch("/settings", response_model=AccountSettings, operation_id="change_settings", responses=WRITE)
def patch_settings(body: SettingsChange, caller: CallerDep, db: SessionDep) -> dict[str, Any]:
    """Change the settings sent, keep the others: the pages send `timezone` as the browser reports it, so my
    days (due reviews, the forecast, "today") are mine; 422 for a zone this server does not know."""
    user = caller.user(db)
    with write_transaction(db):
        if body.timezone is not None:
            user = service.set_timezone(db, user, body.timezone)
        if body.desired_retention is not None:
            user = service.set_retention(db, user, body.desired_retention)
        if body.leech_lapses is not None:
            user = service.set_leech_lapses(db, user, body.leech_lapses)
    return _settings(user)


@router.get("/export", response_model=list[ExportRecord], operation_id="export_data", responses={
    **READ, 200: {"description": "a download", "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export(request: Request, caller: CallerDep, db: SessionDep, content: ContentDep, now: NowDep,
           format: Annotated[Literal["csv", "json"], Query()] = "json") -> Response:
    """All my attempts and interviews as a download: CSV with a header row, or a JSON list. It is streamed,
    a batch at a time (app.practice.export), so its size is the account's but the server's memory is not."""
    user = caller.user(db)  # 401 before the 200 starts
    engine = request.app.state.engine
    chunks = export_chunks(export_batches(lambda: request_session(engine), content, user.id), format)
    filename = f"mianjing-export-{utc(now).strftime('%Y%m%d')}.{format}"
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return StreamingResponse(chunks, media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
