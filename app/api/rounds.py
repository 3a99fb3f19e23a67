"""Interview rounds as the content defines them."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContentDep
from app.api.schemas import RoundPublic
from app.views import round_view

router = APIRouter(prefix="/api/v1", tags=["rounds"])


@router.get("/rounds", response_model=list[RoundPublic])
async def list_rounds(content: ContentDep) -> list[dict]:
    return [round_view(r) for r in content.rounds]
