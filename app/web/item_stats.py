"""The item statistics page for admins (/admin/items: the table, sortable, a chart per item, and the 纠错 queue)
and the candidate's 纠错 form post. Thin: the numbers are app.item_stats'."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ContentDep, LimitsDep, NowDep, SessionDep
from app.auth.rules import Text
from app.db import write_transaction
from app.item_stats import aggregates, problem_reports
from app.item_stats.aggregates import SORT_KEYS, ItemRow
from app.web.charts import bar_chart
from app.web.i18n import translator
from app.web.routes import VisitorDep, admin_user, redirect, render

router = APIRouter(include_in_schema=False)
QUEUE_PAGE = 50  # open reports shown on the page (the API pages through all of them)


def item_chart(row: ItemRow, t: Any) -> str:
    """A choice item's option shares, any other item's spread of marks (share of attempts per mark)."""
    if row.options is not None:
        return bar_chart([(o.option, o.share or 0.0) for o in row.options], title=t("items_chart_options"),
                         width=320, weak_below=None)
    attempts = sum(row.marks.values())
    return bar_chart([(f"{round(mark * 100)}%", count / attempts) for mark, count in row.marks.items()],
                     title=t("items_chart_marks"), width=320, weak_below=None) if attempts else ""


def _sort_links(round_id: str, sort: str) -> dict[str, str]:
    """Each column's link: ascending, or descending when the table is sorted by it ascending already."""
    return {key: "/admin/items?" + urlencode({"round": round_id, "sort": f"-{key}" if sort == key else key})
            for key in SORT_KEYS}


@router.get("/admin/items", response_class=HTMLResponse)
def items_page(visitor: VisitorDep, db: SessionDep, content: ContentDep) -> Response:
    """A round's item statistics (?round=, ?sort= a column, '-' for descending) and the open 纠错 reports."""
    admin_user(visitor)
    params = visitor.request.query_params
    round_id = params.get("round") or (content.rounds[0].id if content.rounds else "")
    sort = params.get("sort") or "question"
    if sort.lstrip("-") not in SORT_KEYS:
        sort = "question"
    t = translator(visitor.lang)
    rows = aggregates.round_statistics(db, content, round_id, problem_reports.counts_by_question(db)) \
        if round_id else []
    rows = aggregates.sort_rows(rows, sort.lstrip("-"), descending=sort.startswith("-"))
    queue = problem_reports.queue(db, "open", QUEUE_PAGE)
    return render(visitor, "admin_items.html", {
        "rounds": content.rounds, "round_id": round_id, "sort": sort, "sort_links": _sort_links(round_id, sort),
        "rows": [{"row": r, "chart": item_chart(r, t)} for r in rows], "reports": queue.items,
        "more_reports": queue.next is not None,
        "titles": {q.id: q.title for q in content.questions},
    })


@router.post("/admin/reports/{report_id}/resolve")
def resolve(report_id: Annotated[int, Path(ge=1, le=2**31 - 1)], visitor: VisitorDep, db: SessionDep, now: NowDep,
            note: Annotated[Text, Form(max_length=100_000)] = "",
            round: Annotated[Text, Form(max_length=64)] = "") -> Response:
    admin_user(visitor)
    with write_transaction(db):
        problem_reports.resolve(db=db, report_id=report_id, note=note, now=now,
                                max_chars=visitor.request.app.state.settings.problem_report_max_chars)
    return redirect(visitor, "/admin/items?" + urlencode({"round": round}) + "#reports")


def _safe_next(url: str) -> str:
    """Only a path on this site (never //host or a scheme): where the form returns without htmx."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


@router.post("/questions/{question_id}/report")
def report_problem(question_id: Annotated[str, Path(max_length=64)], visitor: VisitorDep, db: SessionDep,
                   content: ContentDep, now: NowDep, limits: LimitsDep,
                   kind: Annotated[Text, Form(max_length=32)] = "other",
                   comment: Annotated[Text, Form(max_length=100_000)] = "",
                   next: Annotated[Text, Form(max_length=2048)] = "/") -> Response:
    """纠错 from a page: the fragment that says it was sent (htmx), or back to the page it came from."""
    user = visitor.signed_in()
    with write_transaction(db):
        problem_reports.file_report(db=db, content=content, user=user, question_id=question_id, kind=kind,
                                    comment=comment, now=now, limits=limits,
                                    max_chars=visitor.request.app.state.settings.problem_report_max_chars)
    if visitor.request.headers.get("HX-Request") == "true":
        return render(visitor, "_report_problem.html", {"qid": question_id, "sent": True, "due_count": None})
    return redirect(visitor, _safe_next(next))
