"""Grade a file of open answers: the `mianjing grade-open` batch interface, one JSON object per line.

    {"id": "act-sigmoid-zero-centered", "answer": "…"}   ->   the same object with "score", "keypoints",
                                                              "misconceptions", "codes" and "grader"

A line that cannot be graded (not JSON, no such question, not an open item, an unreadable answer) comes
back with an "error" and its line number instead, and the rest of the file is still graded: a teacher
grading a class loses nothing to one bad line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from app.content.loader import Content
from app.scoring.check import GradeOpen, check_answer
from app.scoring.open_grader import grade_open


def grade_lines(content: Content, lines: Iterable[str], grade: GradeOpen = grade_open) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield grade_line(content, line, number, grade)


def grade_line(content: Content, line: str, number: int, grade: GradeOpen = grade_open) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError as exc:
        return {"line": number, "error": f"not JSON: {exc}"}
    if not isinstance(item, dict):
        return {"line": number, "error": "expected an object with \"id\" and \"answer\""}
    qid, answer = item.get("id"), item.get("answer")
    q = content.by_id.get(qid) if isinstance(qid, str) else None
    if q is None:
        return {**item, "line": number, "error": f"no question with id {qid!r}"}
    if q.type != "open":
        return {**item, "line": number, "error": f"{qid} is a {q.type} item, not an open one"}
    if q.self_rated:
        return {**item, "line": number, "error": f"{qid} is self-rated: it has no key points to grade by"}
    if not isinstance(answer, str):
        return {**item, "line": number, "error": "\"answer\" must be a string"}
    result = check_answer(q, answer, grade=grade)
    if "error" in result.details:
        return {**item, "line": number, "error": result.details["error"]}
    d = result.details
    return {**item, "score": round(result.score, 4), "keypoints": d["keypoints"],
            "misconceptions": d["misconceptions"], "codes": list(result.codes), "grader": d["grader"]}
