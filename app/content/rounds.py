"""Turn a round markdown file into a Round; references to questions are checked by the loader."""

from __future__ import annotations

from typing import Any

from app.content.banks import ID_RE
from app.content.markdown_doc import parse_document
from app.content.model import QUESTION_TYPES, ContentError, PickRule, Round, Section

SECTION_KEYS = {"minutes", "questions", "pick"}
PICK_KEYS = {"count", "topic", "bank", "tag", "type", "difficulty"}


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return None
    return float(value)


def parse_round(text: str, file: str) -> tuple[Round | None, list[ContentError], dict[str, int]]:
    """Returns the round, its errors, and for each referenced question id the line that names it."""
    doc = parse_document(text)
    errors = [ContentError(file, e.line, e.message) for e in doc.errors]
    refs: dict[str, int] = {}

    def err(line: int, message: str) -> None:
        errors.append(ContentError(file, line, message))

    front = doc.front
    rid, title, duration = front.get("id"), front.get("title"), _positive(front.get("duration"))
    if not isinstance(rid, str) or not ID_RE.match(rid):
        err(doc.front_line, "front matter 需要 id（小写字母、数字和连字符）")
    if not isinstance(title, str) or not title.strip():
        err(doc.front_line, "front matter 需要 title")
    if duration is None:
        err(doc.front_line, "front matter 需要 duration（分钟，正数）")

    sections: list[Section] = []
    for block in doc.blocks:
        meta = block.meta
        if meta is None:
            continue
        for key in meta:
            if key not in SECTION_KEYS:
                err(block.key_line(str(key)), f"未知字段「{key}」（可用: minutes, questions, pick）")
        minutes = _positive(meta.get("minutes"))
        if minutes is None:
            err(block.key_line("minutes"), "minutes 必须是正数（本环节的时间预算，分钟）")
            minutes = 0.0
        ids = meta.get("questions", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            err(block.key_line("questions"), "questions 应为题目 id 的列表")
            ids = []
        for qid in ids:
            refs.setdefault(qid, block.key_line("questions"))
        picks: list[PickRule] = []
        raw_picks = meta.get("pick", [])
        if not isinstance(raw_picks, list):
            err(block.key_line("pick"), "pick 应为规则列表")
            raw_picks = []
        for rule in raw_picks:
            pick = _pick_rule(rule, block.key_line("pick"), err)
            if pick is not None:
                picks.append(pick)
        if not ids and not picks:
            err(block.line, f"环节「{block.heading}」既没有 questions 也没有 pick")
        text_body = block.intro_text
        for section in block.sections:  # guidance may use ### headings of its own
            text_body += f"\n\n### {section.title}\n\n{section.text}"
        sections.append(Section(block.heading.strip(), minutes, text_body.strip(), tuple(ids), tuple(picks),
                                block.key_line("pick")))
    if not sections:
        err(doc.front_line, "轮次至少需要一个环节（## 标题 + yaml 块）")
    total = sum(s.minutes for s in sections)
    if duration is not None and total > duration + 1e-9:
        err(doc.front_line, f"各环节时间之和 {total:g} 分钟超过了 duration {duration:g} 分钟")
    if not isinstance(rid, str) or not isinstance(title, str) or duration is None:
        return None, errors, refs
    return (
        Round(rid, title.strip(), duration, str(front.get("description") or "").strip(), tuple(sections), file),
        errors,
        refs,
    )


def _pick_rule(rule: Any, line: int, err) -> PickRule | None:
    if not isinstance(rule, dict):
        err(line, "pick 的每一条应为映射，如 {topic: BN, count: 2}")
        return None
    unknown = [k for k in rule if k not in PICK_KEYS]
    if unknown:
        err(line, f"pick 规则里有未知字段: {', '.join(map(str, unknown))}")
        return None
    count = rule.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        err(line, "pick 的 count 必须是正整数")
        return None
    difficulty = rule.get("difficulty")
    if difficulty is not None:
        if isinstance(difficulty, int) and not isinstance(difficulty, bool):
            difficulty = (difficulty, difficulty)
        elif isinstance(difficulty, list) and len(difficulty) == 2 and all(isinstance(d, int) for d in difficulty):
            difficulty = (difficulty[0], difficulty[1])
        else:
            err(line, "pick 的 difficulty 应为整数或 [最低, 最高]")
            return None
    if rule.get("type") is not None and rule["type"] not in QUESTION_TYPES:
        err(line, f"pick 的 type「{rule['type']}」未知")
        return None
    if not any(rule.get(k) for k in ("topic", "bank", "tag", "type")):
        err(line, "pick 规则至少要有 topic、bank、tag、type 之一")
        return None
    return PickRule(
        count=count, topic=rule.get("topic"), bank=rule.get("bank"), tag=rule.get("tag"),
        type=rule.get("type"), difficulty=difficulty,
    )
