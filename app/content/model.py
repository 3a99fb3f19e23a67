"""Immutable content records: what a parsed bank or round is, independent of markdown and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

QuestionType = Literal["single", "multiple", "numeric", "shape", "open", "generated", "code",
                       "truefalse", "short", "matching", "description"]
QUESTION_TYPES: tuple[str, ...] = get_args(QuestionType)


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    text: str
    correct: bool
    feedback: str = ""  # shown after a check to whoever chose this option (Moodle's per-answer feedback)


@dataclass(frozen=True, slots=True)
class Accepted:
    """One accepted answer of a short-answer or numeric item with its credit, as Moodle grades them: the first
    that matches (in order) gives its fraction and its feedback."""

    text: str = ""  # short: the answer, `*` matching any run of characters (`\\*` a literal star)
    value: float | None = None  # numeric: the value, accepted within `tolerance`…
    tolerance: float = 0.0
    low: float | None = None  # …or the range low..high, both ends included
    high: float | None = None
    fraction: float = 1.0  # 0 < fraction <= 1 earns credit; 0 carries feedback for a known wrong answer
    feedback: str = ""


@dataclass(frozen=True, slots=True)
class Pair:
    """A matching item's pair: the candidate matches each left text to one right text. An empty left is a
    distractor: a right text that matches nothing."""

    left: str
    right: str


Groups = tuple[tuple[str, ...], ...]  # a relation: one pattern of every group must hold in one clause


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """A claim the answer should make: found by its patterns in a clause that does not negate them."""

    label: str
    synonyms: tuple[str, ...]  # every pattern of every group, flattened (all that older snapshots hold)
    weight: float = 1.0
    statement: str = ""  # the claim in a sentence: what a person checks, and what paraphrases are compared to
    groups: Groups = ()  # () = one group, `synonyms`

    @property
    def pattern_groups(self) -> Groups:
        return self.groups or (self.synonyms,)


@dataclass(frozen=True, slots=True)
class Misconception:
    """A wrong claim people make; an answer asserting it is capped and told which one."""

    label: str
    groups: Groups
    statement: str = ""

    @property
    def pattern_groups(self) -> Groups:
        return self.groups


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """A 手撕代码 item: the function to write, how it is judged (app/judge), and what is never sent to a client
    (the reference implementation and the tests)."""

    entry: str  # the function's name
    starter: str  # the stub the editor opens with: the signature and a docstring
    reference: str  # the reference implementation (never sent)
    tests: str  # defines EXAMPLES and HIDDEN ([(label, args)]) and optionally generate(rng) -> args (never sent)
    wrapper: str = ""  # optional `def call(fn, *args)`: turns inputs into what fn takes and its result back
    compare: str = "allclose"  # exact | allclose | set | unordered | shape_dtype (app/scoring/code_compare.py)
    rtol: float = 1e-6
    atol: float = 1e-8
    random_cases: int = 10  # drawn by generate(rng) from `seed`: the same for every submission
    seed: int = 0
    time_limit_s: float = 2.0  # CPU seconds for the whole submission, every case together
    memory_mb: int = 256

    def fingerprint(self) -> str:
        """What the expected outputs depend on: a cache key for them."""
        import hashlib

        parts = (self.entry, self.reference, self.tests, self.wrapper, str(self.seed), str(self.random_cases))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    bank: str
    type: str
    title: str
    prompt: str  # markdown; for generated items a template with {{name}} placeholders
    explanation: str  # markdown (解析)
    difficulty: int
    topics: tuple[str, ...]
    tags: tuple[str, ...]
    source: str
    followups: tuple[str, ...] = ()
    # False for what is asked but never marked (a self-introduction, 反问, a description): never scored,
    # revealed or scheduled, and left out of every score and total.
    scored: bool = True
    file: str = ""
    line: int = 0
    # ids of the items this one was merged from: their answers and review cards follow it (app/runtime/replacements.py)
    replaces: tuple[str, ...] = ()
    # items whose stems look alike but ask another thing, each with the reason (app/content/near_duplicates.py)
    not_duplicate_of: dict[str, str] = field(default_factory=dict)
    # choice
    options: tuple[Option, ...] = ()
    weights: dict[str, float] | None = None
    # numeric
    answer: Any = None  # float for numeric, tuple[int, ...] for shape
    tolerance: float = 0.0
    rel_tolerance: float = 0.0
    unit: str | None = None
    suffixes: bool = False
    # shape
    order: str | None = None
    batch_optional: bool = False
    # open
    reference: str = ""
    keypoints: tuple[KeyPoint, ...] = ()
    misconceptions: tuple[Misconception, ...] = ()
    # short (accepted answers with credit) and numeric with several accepted values or ranges
    accepted: tuple[Accepted, ...] = ()
    case_sensitive: bool = False
    # matching
    pairs: tuple[Pair, ...] = ()
    # open without key points: the candidate's self-rating is its only grade (imported essays)
    self_rated: bool = False
    # where an imported item came from ("gift:algebra.gift"); an imported item may have no explanation
    imported_from: str = ""
    # generated
    calculator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # code
    code: CodeSpec | None = None

    @property
    def correct_keys(self) -> tuple[str, ...]:
        return tuple(o.key for o in self.options if o.correct)


@dataclass(frozen=True, slots=True)
class PickRule:
    count: int
    topic: str | None = None
    bank: str | None = None
    tag: str | None = None
    type: str | None = None
    difficulty: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    minutes: float
    guidance: str
    questions: tuple[str, ...] = ()
    picks: tuple[PickRule, ...] = ()
    line: int = 0  # of its pick rules, for error messages

    @property
    def question_count(self) -> int:
        return len(self.questions) + sum(p.count for p in self.picks)


@dataclass(frozen=True, slots=True)
class Round:
    id: str
    title: str
    duration: float  # minutes
    description: str
    sections: tuple[Section, ...]
    file: str = ""


@dataclass(frozen=True, slots=True)
class BankInfo:
    id: str
    title: str
    description: str
    file: str


@dataclass(frozen=True, slots=True)
class ContentError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"
