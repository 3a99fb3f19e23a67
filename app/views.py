"""Public views of questions and rounds, shared by the API, the pages, interviews and practice: content and
scoring below, everything that serves a question above."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from app.calculators import Instance
from app.content.banks import fill_template
from app.content.loader import MAX_FOLLOWUP_DEPTH, Content, round_outline
from app.content.model import Question, Round
from app.content.render import render_markdown
from app.scoring.check import instance_for


def new_seed() -> int:
    return secrets.randbelow(2**31)


def option_views(q: Question) -> list[dict[str, Any]]:
    """A choice item's options as the public view has them (never whether they are right)."""
    return [{"key": o.key, "text": o.text, "text_html": render_markdown(o.text)} for o in q.options]


def matching_view(q: Question) -> dict[str, Any] | None:
    """A matching item's public part: the left items in bank order and the right texts to choose from (each
    once, distractors included) in an order fixed per question that never lines them up with their lefts."""
    if q.type != "matching":
        return None
    rights = list(dict.fromkeys(p.right for p in q.pairs))
    shuffled = sorted(rights, key=lambda r: hashlib.blake2b(f"{q.id}\0{r}".encode(), digest_size=8).digest())
    lined_up = [p.right for p in q.pairs if p.left]
    if shuffled[:len(lined_up)] == lined_up:  # the order would give the answer away: rotate it by one
        shuffled = shuffled[1:] + shuffled[:1]
    return {"left": [{"text": p.left, "text_html": render_markdown(p.left)} for p in q.pairs if p.left],
            "right": [{"text": r, "text_html": render_markdown(r)} for r in shuffled]}


def given_feedback_html(details: Mapping[str, Any]) -> dict[str, Any]:
    """The author's feedback for what the candidate gave, rendered as the prompt is: per chosen option
    (choice, true/false) and for the accepted answer a short or numeric answer matched."""
    options = details.get("option_feedback") or {}
    answer = details.get("answer_feedback")
    return {"option_feedback_html": {k: render_markdown(v) for k, v in options.items() if isinstance(v, str)},
            "answer_feedback_html": render_markdown(answer) if isinstance(answer, str) and answer else None}


def question_view(q: Question, seed: int | None = None, inst: Instance | None = None) -> dict[str, Any]:
    """The public view of a question; for a generated one, of its instance for `seed` (`inst`, if the caller
    has drawn it already)."""
    prompt = q.prompt
    view: dict[str, Any] = {
        "id": q.id, "bank": q.bank, "type": q.type, "title": q.title,
        "options": option_views(q),
        "topics": list(q.topics), "tags": list(q.tags), "difficulty": q.difficulty, "source": q.source,
        "followups": list(q.followups), "scored": q.scored, "unit": q.unit, "order": q.order, "batch_optional": q.batch_optional,
        "accepts_suffixes": q.suffixes, "seed": None, "generator": None, "params": None,
    }
    if q.type == "generated":
        seed = new_seed() if seed is None else seed
        inst = inst or instance_for(q, seed)
        prompt = fill_template(q.prompt, inst.params)
        view.update(seed=seed, generator=q.calculator, params=inst.params, order=inst.order)
    view["prompt"] = prompt
    view["prompt_html"] = render_markdown(prompt)
    view["code"] = None if q.code is None else {  # never the reference or the tests
        "entry": q.code.entry, "starter": q.code.starter, "time_limit_s": q.code.time_limit_s,
        "memory_mb": q.code.memory_mb}
    view["matching"] = matching_view(q)
    view["self_rated"] = q.self_rated
    return view


def followed_up(content: Content, question_id: str) -> list[dict[str, Any]]:
    """What a follow-up (追问) shown on its own follows up, outermost first, as public views: its parent, that
    one's parent and so on (the first parent of each, in bank order; as deep as a round asks). Empty for a
    main question."""
    chain: list[dict[str, Any]] = []
    seen = {question_id}
    qid = question_id
    while len(chain) < MAX_FOLLOWUP_DEPTH:
        parent = next((p for p in content.parents.get(qid, ()) if p not in seen), None)
        if parent is None:
            break
        seen.add(parent)
        chain.append(question_view(content.by_id[parent]))
        qid = parent
    return chain[::-1]


def question_json(content: Content, q: Question, seed: int | None = None) -> bytes:
    """The public view as JSON bytes. Fixed views (and seed 0 of a generated item, which listings show) are
    serialised once per content version; any other generated instance is drawn and rendered afresh."""
    if q.type == "generated" and seed != 0:
        return orjson.dumps(question_view(q, seed))
    cached = content.view_cache.get(q.id)
    if cached is None:
        cached = content.view_cache[q.id] = orjson.dumps(question_view(q, 0 if q.type == "generated" else None))
    return cached


def reference_html(q: Question) -> str | None:
    """An open item's reference answer rendered as its prompt is (markdown, math for KaTeX, no raw HTML);
    None for the other items, whose reference is a value (an option key, a number, a shape), and for a
    self-rated one that has none."""
    return render_markdown(q.reference) if q.type == "open" and q.reference else None


def explanation_html(q: Question, seed: int | None = None, inst: Instance | None = None) -> str:
    if q.type != "generated" or seed is None:
        return render_markdown(q.explanation)
    inst = inst or instance_for(q, seed)
    return render_markdown(fill_template(q.explanation, {**inst.params, "worked": inst.worked, "answer": inst.answer}))


def round_view(content: Content, rnd: Round) -> dict[str, Any]:
    """A round as its card shows it: what will be asked (main questions and the follow-ups they bring, a
    range where picks are drawn at the start), the time and the sections."""
    outline = round_outline(content, rnd)
    sections = [
        {"title": s.title, "minutes": s.minutes, "question_count": o.main, "followups_min": o.followups_min,
         "followups_max": o.followups_max, "guidance_html": render_markdown(s.guidance)}
        for s, o in zip(rnd.sections, outline, strict=True)
    ]
    return {
        "id": rnd.id, "title": rnd.title, "description": rnd.description, "duration": rnd.duration,
        "question_count": sum(o.main for o in outline),
        "followups_min": sum(o.followups_min for o in outline),
        "followups_max": sum(o.followups_max for o in outline),
        "sections": sections,
        "needs_judge": needs_judge(content, rnd),
    }


def mark_unavailable(rounds: list[dict[str, Any]], availability: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """Round views with `unavailable` (the judge's reason, or None) set; the judge is asked only when a round
    needs it."""
    if any(r["needs_judge"] for r in rounds):
        seen = availability()
        for r in rounds:
            r["unavailable"] = None if seen["available"] or not r["needs_judge"] else seen["reason"]
    return rounds


def needs_judge(content: Content, rnd: Round) -> bool:
    """Whether the round asks code items (listed, or drawn by a `type: code` pick)."""
    return any(content.by_id[qid].type == "code" for s in rnd.sections for qid in s.questions if qid in content.by_id) \
        or any(p.type == "code" for s in rnd.sections for p in s.picks)
