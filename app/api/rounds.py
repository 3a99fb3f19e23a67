"""Interview rounds as the content defines them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from app.api.deps import ContentDep, JudgeDep
from app.api.schemas import REQUEST_ERRORS, RoundPublic
from app.judge import client as judge_client
from app.views import mark_unavailable, round_view

router = APIRouter(prefix="/api/v1", tags=["rounds"], responses=REQUEST_ERRORS)


@router.get("/rounds", response_model=list[RoundPublic], operation_id="list_rounds")
async def list_rounds(content: ContentDep, judge: JudgeDep) -> list[dict]:
    """The rounds; one that asks code items says why it is unavailable where no sandbox can run."""
    rounds = [round_view(content, r) for r in content.rounds]
    if not any(r["needs_judge"] for r in rounds):
        return rounds
    seen = await run_in_threadpool(judge_client.availability, judge)  # may start the judge: not on the loop
    return mark_unavailable(rounds, lambda: seen)
