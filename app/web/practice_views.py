"""Pure shaping for the practice, review and dashboard pages: filters from a query string and back, a
check's result as its fragment shows it, and the dashboard's figures as charts. No requests, no database."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any, Protocol
from urllib.parse import urlencode

from app.calculators import Instance
from app.content.loader import Content
from app.content.model import QUESTION_TYPES, Question
from app.content.render import render_markdown
from app.practice.service import PracticeFilters
from app.scoring.answers import AnswerFormatError, parse_choice, parse_truefalse
from app.scoring.check import CheckResult
from app.views import explanation_html, given_feedback_html, option_views, reference_html
from app.web.charts import bar_chart, calendar_heatmap, heatmap_start
from app.web.verdicts import open_verdicts

CHOICE_TYPES = ("single", "multiple", "truefalse")  # answered by ticking options (true/false: T and F)
MAX_VALUES = 64  # more checkboxes than the banks and topics there are: a hand-made URL, cut short
MAX_VALUE_LEN = 64
HEATMAP_WEEKS = 52
CARD_CHART_WIDTH = 420  # the dashboard's half-width cards: drawn near 1:1 so the labels stay readable


class QueryParams(Protocol):
    """What the pages read of a query string; Starlette's QueryParams fits."""

    def getlist(self, key: str) -> list[str]: ...

    def get(self, key: str, default: Any = None) -> Any: ...


def query_values(params: QueryParams, key: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in params.getlist(key)[:MAX_VALUES]:
        v = v.strip()
        if v and len(v) <= MAX_VALUE_LEN:
            seen[v] = None
    return tuple(seen)


def _level(raw: str | None, default: int) -> int:
    return min(5, max(1, int(raw))) if raw and raw.strip().isdecimal() else default


def parse_filters(params: QueryParams) -> PracticeFilters:
    """The practice form's GET parameters (bank, topic, type repeated; dmin, dmax; weak) as filters.
    Lenient: a page never fails on a hand-edited URL, unknown values simply match nothing."""
    lo, hi = _level(params.get("dmin"), 1), _level(params.get("dmax"), 5)
    return PracticeFilters(banks=query_values(params, "bank"), topics=query_values(params, "topic"),
                           types=query_values(params, "type"), difficulty=(min(lo, hi), max(lo, hi)),
                           weak=params.get("weak") in ("1", "on", "true"),
                           mistakes=params.get("mistakes") in ("1", "on", "true"),
                           bookmarks=params.get("bookmarks") in ("1", "on", "true"))


def filters_query(filters: PracticeFilters, **extra: str) -> str:
    """The canonical query string for `filters` (what a shared link carries), plus `extra` parameters."""
    pairs: list[tuple[str, str]] = [("bank", b) for b in filters.banks]
    pairs += [("topic", t) for t in filters.topics] + [("type", t) for t in filters.types]
    if filters.difficulty != (1, 5):
        pairs += [("dmin", str(filters.difficulty[0])), ("dmax", str(filters.difficulty[1]))]
    if filters.weak:
        pairs.append(("weak", "1"))
    if filters.mistakes:
        pairs.append(("mistakes", "1"))
    if filters.bookmarks:
        pairs.append(("bookmarks", "1"))
    pairs += [(k, v) for k, v in extra.items() if v]
    return urlencode(pairs)


def practice_url(filters: PracticeFilters, **extra: str) -> str:
    query = filters_query(filters, **extra)
    return "/practice?" + query if query else "/practice"


def filter_choices(content: Content) -> dict[str, Any]:
    """What the filter form offers: banks in content order, topics by size, the question types."""
    topics = sorted(content.indexes["topic"].items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {"banks": [(b.id, b.title) for b in content.banks],
            "topics": [(name, len(ids)) for name, ids in topics],
            "types": [t for t in QUESTION_TYPES if content.indexes["type"].get(t)]}


def filter_summary(filters: PracticeFilters, content: Content, t: Callable[..., str]) -> list[str]:
    """The filters in words, one phrase each, for the collapsed filter form's summary."""
    titles = {b.id: b.title for b in content.banks}
    parts = []
    for key, values in (("filter_banks", [titles.get(b, b) for b in filters.banks]),
                        ("filter_types", [t("type_" + ty) for ty in filters.types]),
                        ("filter_topics", list(filters.topics))):
        if values:
            parts.append(f"{t(key)}：{'、'.join(values)}")
    if filters.difficulty != (1, 5):
        parts.append(t("difficulty_range", lo=filters.difficulty[0], hi=filters.difficulty[1]))
    if filters.weak:
        parts.append(t("filter_weak_short"))
    if filters.mistakes:
        parts.append(t("filter_mistakes_short"))
    if filters.bookmarks:
        parts.append(t("filter_bookmarks_short"))
    return parts


def reason_topics(view: Mapping[str, Any]) -> list[str]:
    """The weak topics that brought this question up (empty unless it was a weak-topic drill)."""
    weak = view["practice"]["weak_topics"]
    return [t for t in view["topics"] if t in weak]


def form_answer(qtype: str, text: str | None, choices: Sequence[str], lefts: Sequence[str] = (),
                rights: Sequence[str] = ()) -> Any:
    """The answer a practice form sends (its `choice` boxes, its `text` field, or a matching item's `left` and
    `right` fields, one pair per row) in the shape the check of the API takes: an option key, a list of keys,
    the text, or {left: right} of the rows answered."""
    if qtype in ("single", "truefalse"):
        return choices[0] if len(choices) == 1 else list(choices)  # several: the scoring says "one only"
    if qtype == "multiple":
        return list(choices)
    if qtype == "matching":
        return {left: right for left, right in zip(lefts, rights, strict=False) if right}
    return text or ""


def answer_text(value: Any) -> str:
    """An answer or an expected value as one line of text ("A, C", "128", "(1, 64, 56, 56)")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # a matching answer
        return "；".join(f"{k} → {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def marked_options(options: Sequence[Mapping[str, Any]], chosen: Any, correct: Any,
                   feedback_html: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """A choice item's options, each with whether the candidate chose it and whether it is right: what the ✓
    and ✗ beside each option say after a check and in the report. `chosen` and `correct`: a key or keys (a
    true/false item's `correct` is its boolean); `feedback_html`: the author's feedback of the chosen ones."""
    if isinstance(correct, bool):
        correct = "T" if correct else "F"

    def keys(value: Any) -> set[str]:
        values = value if isinstance(value, list | tuple) else ([] if value is None else [value])
        return {str(v).strip().upper() for v in values}

    picked, right = keys(chosen), keys(correct)
    return [{**o, "chosen": o["key"].upper() in picked, "correct": o["key"].upper() in right,
             "feedback_html": (feedback_html or {}).get(o["key"].upper())} for o in options]


def shown_pairs(rows: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A matching item's per-left verdicts with their texts rendered, as the check result and the report show
    them."""
    if rows is None:
        return None
    return [{**r, "left_html": render_markdown(str(r.get("left", ""))),
             "given_html": render_markdown(r["given"]) if isinstance(r.get("given"), str) else None,
             "expected_html": render_markdown(str(r.get("expected", "")))} for r in rows]


def expected_words(qtype: str, expected: Any, t: Callable[..., str]) -> str:
    """The expected answer in words: a true/false item's in the reader's language, else answer_text."""
    if qtype == "truefalse" and isinstance(expected, bool):
        return t("tf_true") if expected else t("tf_false")
    return answer_text(expected)


def chosen_keys(answer: Any, qtype: str = "single") -> tuple[str, ...]:
    """The option keys a stored choice answer names, as the scoring reads them (a true/false answer as T or
    F); none if it reads none."""
    if answer is None:
        return ()
    try:
        return (parse_truefalse(answer),) if qtype == "truefalse" else parse_choice(answer)
    except AnswerFormatError:
        return ()


def check_view(question: Question, result: CheckResult, *, seed: int | None, inst: Instance | None,
               review: Mapping[str, Any] | None, t: Callable[..., str], tz: tzinfo) -> dict[str, Any]:
    """The context of templates/_check_result.html for one checked answer (review: what record_check said
    for a signed-in visitor)."""
    is_open = question.type == "open"
    given = given_feedback_html(result.details)
    return {
        "qid": question.id, "open": is_open, "score": result.score, "correct": result.correct,
        "feedback": result.feedback,
        # A self-rated item has no key points: no verdict table, only the reference and the rating.
        "verdicts": open_verdicts(result.details, result.codes, t) if is_open and not question.self_rated else None,
        "self_rated": question.self_rated,
        # A choice item's options marked in place, with the feedback of the chosen ones (static/app.js swaps
        # them for the form's own).
        "choices": {"type": question.type, "options": marked_options(
            option_views(question), result.details.get("chosen", ()), result.expected, given["option_feedback_html"])}
        if question.type in CHOICE_TYPES else None,
        "answer_feedback_html": given["answer_feedback_html"],
        "pairs": shown_pairs(result.details.get("pairs")) if question.type == "matching" else None,
        "reference_html": reference_html(question),
        "expected_text": expected_words(question.type, result.expected, t),
        "explanation_html": explanation_html(question, seed, inst),
        "review": {**review, "due_text": local_time(review["due"], tz)} if review else None,  # due: None while
        # an open answer waits for the candidate's rating
        "judge": result.details.get("judge") if question.type == "code" else None,
    }


def local_time(iso_or_dt: str | datetime | None, tz: tzinfo) -> str:
    if iso_or_dt is None:
        return ""
    dt = datetime.fromisoformat(iso_or_dt) if isinstance(iso_or_dt, str) else iso_or_dt
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --- the dashboard ------------------------------------------------------------------------------


def _short_day(iso: str, t: Callable[..., str], today: date) -> str:
    d = date.fromisoformat(iso)
    if d == today:
        return t("today")
    return f"{d.month:02d}-{d.day:02d} {t('weekday_short').split()[d.weekday()]}"


def dashboard_charts(figures: Mapping[str, Any], t: Callable[..., str], today: date) -> dict[str, str]:
    """The three SVG charts of the dashboard from service.dashboard's figures."""
    mastery = [(m["topic"], m["mastery"]) for m in figures["mastery"]]
    forecast = figures["forecast"]
    busiest = max(forecast.values(), default=0)
    return {
        "mastery": bar_chart(mastery, title=t("mastery_chart"), width=CARD_CHART_WIDTH) if mastery else "",
        "heatmap": calendar_heatmap(
            figures["activity"], today=today, weeks=HEATMAP_WEEKS, title=t("heatmap_chart", n=HEATMAP_WEEKS),
            day_title=lambda iso, n: t("heatmap_day", d=iso, n=n), month_names=t("month_short").split(),
            weekday_names=t("weekday_short").split(), less=t("less"), more=t("more")),
        "forecast": bar_chart([(_short_day(d, t, today), n) for d, n in forecast.items()],
                              title=t("forecast_chart"), width=CARD_CHART_WIDTH, scale=max(busiest, 1),
                              value_text=lambda n: str(int(n)), weak_below=None),
    }


def activity_summary(per_day: Mapping[str, int], today: date, weeks: int = HEATMAP_WEEKS) -> dict[str, int]:
    """Answers and active days over the heatmap's span, for the sentence under it."""
    first = heatmap_start(today, weeks).isoformat()
    shown = [n for d, n in per_day.items() if d >= first]
    return {"answers": sum(shown), "days": sum(1 for n in shown if n)}


def recent_rows(interviews: Sequence[Mapping[str, Any]], tz: tzinfo) -> list[dict[str, Any]]:
    return [{**i, "started": local_time(i["started_at"], tz),
             "url": f"/interviews/{i['id']}/report" if i["state"] != "active" else f"/interviews/{i['id']}"}
            for i in interviews]


def weak_rows(weakest: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The weakest topics, each with the link that drills it (that topic, weak-topic mode)."""
    return [{**w, "drill": practice_url(PracticeFilters(topics=(w["topic"],), weak=True))}
            for w in weakest]
