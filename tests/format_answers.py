"""A right and a wrong answer for an objective item, as a client sends them: what the importer tests score
through app/scoring/check.check_answer on both sides of an import."""

from __future__ import annotations

from typing import Any

from app.content.model import Question
from app.scoring.check import expected_answer

OBJECTIVE = ("single", "multiple", "truefalse", "short", "numeric", "shape", "matching", "generated")


def right_and_wrong(q: Question, seed: int = 0) -> tuple[Any, Any]:
    right = expected_answer(q, seed=seed if q.type == "generated" else None)
    t = q.type
    if t == "single":
        return right, next(o.key for o in q.options if not o.correct)
    if t == "multiple":
        return right, [next(o.key for o in q.options if not o.correct)]
    if t == "truefalse":
        return right, not right
    if t == "short":
        return right, "\u0000surely-not-accepted\u0000"
    if t == "matching":
        lefts = list(right)
        return right, {left: right[lefts[(i + 1) % len(lefts)]] for i, left in enumerate(lefts)}
    if isinstance(right, list):  # shapes, also drawn ones
        return right, [d + 1 for d in right]
    return right, right * 3 + 1000
