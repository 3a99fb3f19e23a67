"""What to practise next, and the check request that carries a self-rating."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from app.api.deps import ClearAfterDep, ContentDep, NewCardsDep, NowDep, OptionalCallerDep, SessionDep
from app.api.schemas import REQUEST_ERRORS, CheckRequest, PracticeQuestion, errors, links
from app.content.loader import one
from app.content.model import QUESTION_TYPES, QuestionType
from app.practice import due, service
from app.practice.scheduling import RatingName

router = APIRouter(prefix="/api/v1/practice", tags=["practice"])
ERRORS = {**REQUEST_ERRORS, **errors(e401="weak=true, mistakes=true or bookmarks=true without a user", e404="no question matches these filters")}


class PracticeCheckRequest(CheckRequest):
    rating: RatingName | None = Field(
        default=None, description="open questions: how well you think you answered (recorded for logged-in callers)")


@router.get("/next", response_model=PracticeQuestion, operation_id="get_next_question", responses={
    **ERRORS, **links(200, check=("check_answer", {"question_id": "$response.body#/id"}),
                      view=("get_question", {"question_id": "$response.body#/id"}))})
def next_question(
    content: ContentDep,
    caller: OptionalCallerDep,
    db: SessionDep,
    now: NowDep,
    new_cards: NewCardsDep,
    clear_after: ClearAfterDep,
    bank: str | None = None,
    topic: str | None = None,
    type: Annotated[QuestionType | None, Query(description=f"one of {', '.join(QUESTION_TYPES)}")] = None,
    difficulty: Annotated[int | None, Query(ge=1, le=5)] = None,
    weak: bool = False,
    mistakes: Annotated[bool, Query(description="only the questions in my 错题本 (GET /api/v1/me/mistakes)")] = False,
    bookmarks: Annotated[bool, Query(description="only the questions I starred (GET /api/v1/me/bookmarks)")] = False,
) -> dict[str, Any]:
    """A question's public view to practise: one of mine that is due, else a new one, else the one due
    soonest (anonymous: a random match). weak=true draws from my weakest topics, mistakes=true from my 错题本, bookmarks=true from my stars. Generated items come
    with a fresh seed; `practice` says why this one was chosen."""
    filters = service.PracticeFilters(banks=one(bank), topics=one(topic), types=one(type), weak=weak, mistakes=mistakes,
                                      bookmarks=bookmarks,
                                      difficulty=(difficulty, difficulty) if difficulty is not None else (1, 5))
    user = caller.optional_user(db)
    return service.next_question(db if user else None, content, user, now, filters, tz=due.candidate_zone(user),
                                 new_per_day=new_cards, clear_after=clear_after)
