"""The synonym table (content/synonyms.md): groups of expressions that mean the same, kept as reviewable data.

    - 同号 | 符号相同 | 符号一致 | same sign

A key point's or misconception's pattern that equals a member of a group (after NFKC and lower case) is
matched through every member of that group, so paraphrases and English names are written once for all
items instead of in every key point.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping

from app.content.model import ContentError, Groups, Question

FILE_NAME = "synonyms.md"
_ITEM_RE = re.compile(r"^\s*[-*+]\s+(.*)$")

SynonymTable = Mapping[str, tuple[str, ...]]  # a member's key -> its whole group


def key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def parse_synonyms(text: str, file: str) -> tuple[dict[str, tuple[str, ...]], list[ContentError]]:
    """Every group keyed by each of its members; a member in two groups is an error (which would it mean?)."""
    table: dict[str, tuple[str, ...]] = {}
    where: dict[str, int] = {}
    errors: list[ContentError] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        m = _ITEM_RE.match(raw)
        if not m:
            if raw.strip() and not raw.lstrip().startswith("#"):
                errors.append(ContentError(file, lineno, "同义词表的每一行应写成 `- 词1 | 词2 | 词3`"))
            continue
        members = tuple(dict.fromkeys(s.strip() for s in m.group(1).split("|") if s.strip()))
        if len(members) < 2:
            errors.append(ContentError(file, lineno, "一组同义词至少要有两个词"))
            continue
        for member in members:
            k = key(member)
            if len(k) < 2:
                errors.append(ContentError(file, lineno, f"「{member}」太短：单个字符会到处匹配"))
            elif k in where:
                errors.append(ContentError(file, lineno, f"「{member}」已在第 {where[k]} 行的组里；合并这两组"))
            else:
                where[k] = lineno
                table[k] = members
    return table, errors


MAX_VARIANTS = 8  # per pattern, from members inside it: enough for "最大化损失" -> "最大化loss", bounded


def expand_groups(groups: Groups, table: SynonymTable) -> Groups:
    """Each group widened by the table: a pattern equal to a member brings its whole group, and a pattern
    that contains a member brings the same pattern with the other members in its place ("最大化损失" also
    as "最大化loss"), so terms written once in the table carry into the phrases that use them."""
    if not table:
        return groups
    inner = _inner_re(table)
    out = []
    for group in groups:
        seen = dict.fromkeys(group)
        for pattern in group:
            k = key(pattern)
            for member in table.get(k, ()):
                seen.setdefault(member)
            variants = 0
            for m in inner.finditer(k):
                if m.group() == k:
                    continue
                for member in table[m.group()]:
                    variant = k[:m.start()] + key(member) + k[m.end():]
                    if variant != k and variant not in seen and variants < MAX_VARIANTS:
                        seen.setdefault(variant)
                        variants += 1
        out.append(tuple(seen))
    return tuple(out)


_inner_cache: dict[int, tuple[SynonymTable, re.Pattern[str]]] = {}


def _inner_re(table: SynonymTable) -> re.Pattern[str]:
    """One alternation of every member, longest first, to find members inside patterns in one pass."""
    cached = _inner_cache.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    members = sorted((k for k in table if len(k) >= 2), key=len, reverse=True)
    # Latin members only as whole words: "ema" is not inside "schema".
    alts = [rf"(?<![0-9a-z]){re.escape(m)}(?![0-9a-z])" if m.isascii() else re.escape(m) for m in members]
    rx = re.compile("|".join(alts)) if alts else re.compile(r"(?!)")
    _inner_cache.clear()
    _inner_cache[id(table)] = (table, rx)
    return rx


def expand_question(q: Question, table: SynonymTable) -> Question:
    """The question with every open-item pattern group widened by the table (others unchanged)."""
    if q.type != "open" or not table:
        return q
    points = []
    for kp in q.keypoints:
        groups = expand_groups(kp.pattern_groups, table)
        flat = tuple(dict.fromkeys(s for g in groups for s in g))
        points.append(dataclasses.replace(kp, synonyms=flat, groups=groups if len(groups) > 1 else ()))
    wrong = [dataclasses.replace(m, groups=expand_groups(m.groups, table)) for m in q.misconceptions]
    return dataclasses.replace(q, keypoints=tuple(points), misconceptions=tuple(wrong))
