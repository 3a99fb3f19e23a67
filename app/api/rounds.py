"""Interview rounds as the content defines them."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContentDep
from app.api.schemas import REQUEST_ERRORS, RoundPublic
from app.views import round_view

router = APIRouter(prefix="/api/v1", tags=["rounds"], responses=REQUEST_ERRORS)


@router.get("/rounds", response_model=list[RoundPublic], operation_id="list_rounds")
async def list_rounds(content: ContentDep) -> list[dict]:
    return [round_view(content, r) for r in content.rounds]
