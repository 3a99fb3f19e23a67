"""Load a content directory into an immutable, indexed, versioned Content, or report every error."""

from __future__ import annotations

import functools
import hashlib
import os
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from app.content.banks import parse_bank
from app.content.model import BankInfo, ContentError, PickRule, Question, Round
from app.content.rounds import parse_round
from app.content.search import SearchIndex, ShardedIndex, question_text
from app.content.synonyms import FILE_NAME as SYNONYMS_FILE
from app.content.synonyms import expand_question, parse_synonyms

MAX_FILE_BYTES = 8 * 1024 * 1024  # a bank is prose; anything bigger is a mistake, not content
MAX_FOLLOWUP_DEPTH = 3  # 追问 of 追问 of 追问, no deeper


def one(value: str | None) -> tuple[str, ...]:
    """A single optional filter value as the values Content.filter takes."""
    return () if value is None else (value,)


class ContentInvalid(Exception):
    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__(f"{len(errors)} content error(s)")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class SectionOutline:
    """What a round's section asks: its main questions and the follow-ups they bring. Picked questions are
    drawn when an interview starts, so their follow-ups are known as a range (fewest, most)."""

    main: int
    followups_min: int
    followups_max: int


@dataclass(frozen=True)
class Content:
    version: str
    questions: tuple[Question, ...]
    banks: tuple[BankInfo, ...]
    rounds: tuple[Round, ...]
    load_seconds: float = 0.0
    by_id: Mapping[str, Question] = field(default_factory=dict)
    # old id -> the id of the item it was merged into (`replaces`), for the data that follows it
    replaced_by: Mapping[str, str] = field(default_factory=dict)
    rounds_by_id: Mapping[str, Round] = field(default_factory=dict)
    unscored: frozenset[str] = frozenset()  # ids of the questions marked `scored: false`
    # follow-up id -> the questions that ask it as their 追问, in bank order
    parents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # index name -> value -> question positions (in bank order)
    indexes: Mapping[str, Mapping[str, tuple[int, ...]]] = field(default_factory=dict)
    search_index: ShardedIndex = field(default_factory=lambda: ShardedIndex(()))
    # Serialised public views, filled on first read; safe because this Content never changes.
    view_cache: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    # What each round asks (round_outline), by round id, filled on first read like view_cache.
    outline_cache: dict[str, tuple[SectionOutline, ...]] = field(default_factory=dict, compare=False, repr=False)

    def filter(
        self,
        *,
        banks: Iterable[str] = (),
        topics: Iterable[str] = (),
        tags: Iterable[str] = (),
        types: Iterable[str] = (),
        difficulty: tuple[int, int] = (1, 5),
        q: str | None = None,
    ) -> list[Question]:
        """The questions, in bank order, in one of `banks` and with one of `topics`, `tags` and `types`
        (no values: no restriction), a difficulty within the range, and matching the search `q`."""
        selected: set[int] | None = None
        lo, hi = difficulty
        if lo > hi:
            return []
        levels = () if (lo, hi) == (1, 5) else tuple(str(d) for d in range(lo, hi + 1))
        for name, values in (("bank", banks), ("topic", topics), ("tag", tags), ("type", types),
                             ("difficulty", levels)):
            values = tuple(values)
            if values:
                hits = set().union(*(self.indexes[name].get(v, ()) for v in values))
                selected = hits if selected is None else selected & hits
        if q:
            found = self.search_index.search(q, within=selected)
            if found is not None:
                selected = found
        return list(self.questions) if selected is None else [self.questions[i] for i in sorted(selected)]

    def matching(self, rule: PickRule) -> list[Question]:
        """What a round's pick rule may draw. Code items and descriptions only when the rule asks for them
        (`type: code`, `type: description`): a round of questions never turns into a coding round by chance, one
        without a sandbox skips none, and a text that asks nothing is never drawn in place of a question."""
        found = self.filter(banks=one(rule.bank), topics=one(rule.topic), tags=one(rule.tag), types=one(rule.type),
                            difficulty=rule.difficulty or (1, 5))
        return [q for q in found if q.type == rule.type or q.type not in ("code", "description")]

    def counts(self) -> dict[str, int]:
        return {"questions": len(self.questions), "banks": len(self.banks), "rounds": len(self.rounds)}


def _read_files(directory: Path, errors: list[ContentError]) -> list[tuple[str, str]]:
    """(relative path, text) of every .md under banks/ and rounds/, sorted; unreadable files become errors."""
    out: list[tuple[str, str]] = []
    for sub in ("banks", "rounds"):
        folder = directory / sub
        if not folder.is_dir():
            if sub == "banks":
                errors.append(ContentError(str(folder), 0, "找不到题库目录 banks/"))
            continue
        # os.walk without followlinks cannot loop on a symlink cycle
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if not name.endswith(".md"):
                    continue
                path = Path(root) / name
                rel = str(path)  # as the user named the directory, so they can open it
                try:
                    if path.stat().st_size > MAX_FILE_BYTES:
                        errors.append(ContentError(rel, 0, f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB"))
                        continue
                    raw = path.read_bytes()
                except OSError as exc:
                    errors.append(ContentError(rel, 0, f"无法读取: {exc.strerror or exc}"))
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = raw[: exc.start].count(b"\n") + 1
                    errors.append(ContentError(rel, line, "不是 UTF-8 编码的文本"))
                    continue
                out.append((rel, text.lstrip("\ufeff")))
    return out


def load_content(directory: str | os.PathLike[str]) -> Content:
    """Parse and validate everything; raise ContentInvalid with every error, or return the Content."""
    started = time.perf_counter()
    directory = Path(directory)
    errors: list[ContentError] = []
    if not directory.is_dir():
        raise ContentInvalid([ContentError(str(directory), 0, "内容目录不存在或不是目录")])
    files = _read_files(directory, errors)
    digest = hashlib.sha256()
    synonyms: dict[str, tuple[str, ...]] = {}
    table_path = directory / SYNONYMS_FILE
    if table_path.is_file():
        try:
            table_text = table_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ContentError(str(table_path), 0, f"无法读取同义词表: {exc}"))
        else:
            digest.update(SYNONYMS_FILE.encode() + b"\0" + table_text.encode() + b"\0")
            synonyms, errs = parse_synonyms(table_text, str(table_path))
            errors.extend(errs)
    questions: list[Question] = []
    banks: list[BankInfo] = []
    rounds: list[tuple[Round, dict[str, int]]] = []
    shards: list[tuple[int, int, SearchIndex]] = []
    for rel, text in files:
        inner = Path(rel).relative_to(directory).as_posix()  # the version must not depend on the cwd
        digest.update(inner.encode() + b"\0" + text.encode() + b"\0")
        if inner.startswith("rounds/"):
            rnd, errs, refs = _parse_round_cached(text, rel)
            errors.extend(errs)
            if rnd is not None:
                rounds.append((rnd, refs))
        else:
            bank, qs, errs, shard = _parse_bank_cached(text, rel)
            errors.extend(errs)
            if bank is not None:
                banks.append(bank)
            shards.append((len(questions), len(qs), shard))
            questions.extend(expand_question(q, synonyms) for q in qs)

    content = build_content(digest.hexdigest()[:16], questions, banks, [r for r, _ in rounds], started,
                            search=ShardedIndex(shards))
    errors.extend(_cross_check(content, rounds))
    if errors:
        raise ContentInvalid(sorted(errors, key=lambda e: (e.file, e.line)))
    return content


# Parsing is pure, so a file whose path and text are unchanged parses to the same records: a reload
# after editing one bank re-reads every file but re-parses only the edited one.
@functools.lru_cache(maxsize=512)
def _parse_bank_cached(
    text: str, rel: str
) -> tuple[BankInfo | None, tuple[Question, ...], tuple[ContentError, ...], SearchIndex]:
    bank, questions, errors = parse_bank(text, rel)
    return bank, tuple(questions), tuple(errors), SearchIndex([question_text(q) for q in questions])


@functools.lru_cache(maxsize=128)
def _parse_round_cached(text: str, rel: str) -> tuple[Round | None, tuple[ContentError, ...], Mapping[str, int]]:
    rnd, errors, refs = parse_round(text, rel)
    return rnd, tuple(errors), MappingProxyType(refs)


def _duplicates(items: Iterable[tuple[str, str, int]], what: str) -> list[ContentError]:
    seen: dict[str, tuple[str, int]] = {}
    errors = []
    for key, file, line in items:
        if key in seen:
            first_file, first_line = seen[key]
            errors.append(ContentError(file, line, f"{what}「{key}」重复（第一次出现在 {first_file}:{first_line}）"))
        else:
            seen[key] = (file, line)
    return errors


def _cross_check(content: Content, rounds: list[tuple[Round, Mapping[str, int]]]) -> list[ContentError]:
    questions, banks, probe = content.questions, content.banks, content
    errors = _duplicates(((q.id, q.file, q.line) for q in questions), "题目 id")
    errors += _duplicates(((b.id, b.file, 1) for b in banks), "题库 id")
    errors += _duplicates(((r.id, r.file, 1) for r, _ in rounds), "轮次 id")
    ids = {q.id for q in questions}
    replacing: dict[str, Question] = {}
    for q in questions:
        for old in q.replaces:
            if old in ids:
                errors.append(ContentError(q.file, q.line, f"replaces 里的「{old}」仍是一道题目：合并后删掉旧题"))
            elif old in replacing:
                first = replacing[old]
                errors.append(ContentError(q.file, q.line, f"「{old}」已由「{first.id}」取代（{first.file}:{first.line}）"
                                                           "，一道旧题只能合并进一道题"))
            else:
                replacing[old] = q
        for other in q.not_duplicate_of:
            if other not in ids or other == q.id:
                errors.append(ContentError(q.file, q.line, f"not_duplicate_of 里的「{other}」不是另一道题目"))

    def missing(qid: str) -> str:
        return f"（它已被「{replacing[qid].id}」取代）" if qid in replacing else ""

    for q in questions:
        for f in q.followups:
            if f not in ids:
                errors.append(ContentError(q.file, q.line, f"追问「{f}」指向不存在的题目{missing(f)}"))
            elif f == q.id:
                errors.append(ContentError(q.file, q.line, "题目不能追问自己"))
    for rnd, refs in rounds:
        for qid, line in refs.items():
            if qid not in ids:
                errors.append(ContentError(rnd.file, line, f"轮次引用了不存在的题目「{qid}」{missing(qid)}"))
        for section in rnd.sections:
            fixed = set(section.questions)
            for rule in section.picks:
                available = [q for q in probe.matching(rule) if q.id not in fixed]
                if len(available) < rule.count:
                    what = ", ".join(
                        f"{k}={v}" for k, v in (("bank", rule.bank), ("topic", rule.topic), ("tag", rule.tag),
                                                ("type", rule.type), ("difficulty", rule.difficulty)) if v
                    )
                    errors.append(ContentError(
                        rnd.file, section.line,
                        f"环节「{section.title}」的抽题规则（{what}）只匹配到 {len(available)} 题，需要 {rule.count} 题",
                    ))
    return errors


def build_content(
    version: str,
    questions: list[Question],
    banks: list[BankInfo],
    rounds: list[Round],
    started: float,
    *,
    search: ShardedIndex,
) -> Content:
    indexes: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in
                                                 ("bank", "topic", "tag", "type", "difficulty")}
    for i, q in enumerate(questions):
        indexes["bank"][q.bank].append(i)
        indexes["type"][q.type].append(i)
        indexes["difficulty"][str(q.difficulty)].append(i)
        for t in q.topics:
            indexes["topic"][t].append(i)
        for t in q.tags:
            indexes["tag"][t].append(i)
    parents: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        for f in q.followups:
            parents[f].append(q.id)
    frozen = MappingProxyType({
        name: MappingProxyType({k: tuple(v) for k, v in idx.items()}) for name, idx in indexes.items()
    })
    return Content(
        version=version,
        questions=tuple(questions),
        banks=tuple(banks),
        rounds=tuple(rounds),
        load_seconds=time.perf_counter() - started,
        by_id=MappingProxyType({q.id: q for q in questions}),
        replaced_by=MappingProxyType({old: q.id for q in questions for old in q.replaces}),
        rounds_by_id=MappingProxyType({r.id: r for r in rounds}),
        unscored=frozenset(q.id for q in questions if not q.scored),
        parents=MappingProxyType({k: tuple(v) for k, v in parents.items()}),
        indexes=frozen,
        search_index=search,
    )


def pick_round_questions(content: Content, rnd: Round, seed: int) -> list[list[str]]:
    """Question ids per section: fixed ids first, then the pick rules drawn with a seeded RNG. A pick is never
    a question the round asks already, as a main question or as a follow-up of one: each section asks as
    many main questions as it says (a pick inside another's 追问 chain would be asked as a follow-up)."""
    rng = random.Random(seed)
    asked: set[str] = set()
    out: list[list[str]] = []
    for section in rnd.sections:
        ids = [i for i in section.questions if i in content.by_id]
        asked.update(qid for qid, _ in with_followups(content, ids))
        for rule in section.picks:
            pool = [q.id for q in content.matching(rule)]
            for _ in range(rule.count):
                pool = [qid for qid in pool if qid not in asked]
                if not pool:
                    break
                chosen = rng.choice(pool)
                ids.append(chosen)
                asked.update(qid for qid, _ in with_followups(content, [chosen]))
        out.append(ids)
    return out


def with_followups(content: Content, ids: list[str]) -> list[tuple[str, str | None]]:
    """Each question followed by its 追问 chain, depth-first, each question at most once: (id, parent id or
    None for a main question)."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()

    def add(qid: str, parent: str | None, depth: int) -> None:
        if qid in seen or qid not in content.by_id:
            return
        seen.add(qid)
        out.append((qid, parent))
        if depth < MAX_FOLLOWUP_DEPTH:
            for f in content.by_id[qid].followups:
                add(f, qid, depth + 1)

    for qid in ids:
        add(qid, None, 0)
    return out


def round_outline(content: Content, rnd: Round) -> tuple[SectionOutline, ...]:
    """What an interview of `rnd` asks, per section, as start_interview builds it (pick_round_questions, then
    with_followups per section). Fixed questions: exact. A pick rule: its main questions, and between the
    follow-ups of its least-followed candidate (picks may share follow-ups) and the sum of those of its
    most-followed ones. Cached per content version."""
    cached = content.outline_cache.get(rnd.id)
    if cached is not None:
        return cached
    asked: set[str] = set()  # before this section, as pick_round_questions excludes them
    outline = []
    for section in rnd.sections:
        fixed = [i for i in section.questions if i in content.by_id]
        chain = with_followups(content, fixed)
        in_section = {qid for qid, _ in chain}
        main = sum(1 for _, parent in chain if parent is None)
        fixed_followups = len(chain) - main
        least, most = 0, 0
        for rule in section.picks:
            # A candidate's follow-ups that this section does not ask already (with_followups skips those).
            sizes = sorted(sum(1 for qid, _ in with_followups(content, [q.id])[1:] if qid not in in_section)
                           for q in content.matching(rule) if q.id not in asked and q.id not in in_section)
            n = min(rule.count, len(sizes))
            main += n
            least = max(least, sizes[0] if n else 0)
            most += sum(sizes[len(sizes) - n:])
        asked |= in_section
        outline.append(SectionOutline(main, fixed_followups + least, fixed_followups + most))
    content.outline_cache[rnd.id] = result = tuple(outline)
    return result
