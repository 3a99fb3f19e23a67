"""Grade an open answer claim by claim: which key points a clause of the answer asserts, which it denies,
which misconceptions it asserts, and the score that follows.

A key point is *covered* by a clause that holds one pattern of each of its groups (a relation: "训练 &
batch 统计" in one clause), does not negate them, is the candidate's own claim (not "有人以为…") and
owes its match to more than words of the question. A clause that names the point inside a bare list of
names ("L1、L2、Dropout") earns half. A clause that denies it marks it *contradicted*. Without a pattern,
a clause that shares most of the point's statement (character bigrams, Latin words) covers it too. An
answer asserting a misconception is capped at MISCONCEPTION_CAP. Pure: the same answer and rubric give
the same grade everywhere (practice, interviews, the API, `mianjing grade-open`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from rapidfuzz import fuzz, process

from app.content.model import Groups, KeyPoint, Misconception, Question
from app.scoring.clauses import NEG_CHARS_RE, REMEDY_RE, Analysis, Clause
from app.scoring.keypoints import (
    CJK,
    FUZZY_MAX_LEN,
    FUZZY_MIN_LEN,
    FUZZY_THRESHOLD,
    LATIN,
    WORD_RE,
    Synonym,
    compile_synonym,
    get_tokenizer,
    normalize,
    squeeze,
)

Verdict = Literal["covered", "named", "contradicted", "missing"]
How = Literal["exact", "fuzzy", "statement", "model"]  # "model": the model grader's verdict (app/runtime/grader.py)

CREDIT: dict[str, float] = {"covered": 1.0, "named": 0.5, "contradicted": 0.0, "missing": 0.0}
# People give full marks to an answer that states nearly every point: the score is the weighted credit
# over this share (fitted on eval/tune.jsonl for the best kappa with false credit ≤ 10%; docs/grading.md).
FULL_MARKS_COVERAGE = 0.9
MISCONCEPTION_CAP = 0.3  # an answer asserting a wrong claim is at most "partial", whatever else it says
STATEMENT_THRESHOLD = 0.5  # share of a point's statement grams one clause must hold to cover it
GRADER = "builtin"
_FUZZY_MISSING = 0.26  # see could_match_fuzzy

_CJK_RUN_RE = re.compile(CJK + "+")
_GRAM_WORD_RE = re.compile(LATIN + "{2,}")  # a Latin word as paraphrase evidence: "x" or "1" says nothing
_POLAR_CHARS = frozenset("大小高低前后增减正负强弱多少上下长短快慢粗细深浅内外左右升降加乘除有无是否")


@dataclass(frozen=True, slots=True)
class PointVerdict:
    label: str
    statement: str
    weight: float
    verdict: Verdict
    evidence: str | None = None  # the clause that decided
    matched: str | None = None  # the words of it that matched
    how: How | None = None

    @property
    def credit(self) -> float:
        return CREDIT[self.verdict]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "statement": self.statement, "weight": self.weight, "verdict": self.verdict,
                "hit": self.verdict in ("covered", "named"), "evidence": self.evidence, "matched": self.matched,
                "how": self.how}


@dataclass(frozen=True, slots=True)
class MisconceptionHit:
    label: str
    statement: str
    evidence: str | None  # the clause that asserts it; None when the model grader found it (it names labels only)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "statement": self.statement, "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class OpenGrade:
    score: float  # 0..1, after the misconception cap
    coverage: float  # weighted credit of the key points, before the cap
    points: tuple[PointVerdict, ...]
    misconceptions: tuple[MisconceptionHit, ...]
    grader: str = GRADER  # who decided: "builtin" or "model:<name>"
    fallback: str | None = None  # why the model grader configured did not decide (then grader is "builtin")

    def codes(self) -> list[dict[str, Any]]:
        """The feedback as data (DESIGN: one schema for a scored answer); pages render it per language."""
        by: dict[str, list[str]] = {v: [] for v in CREDIT}
        for p in self.points:
            by[p.verdict].append(p.label)
        out: list[dict[str, Any]] = [{"code": "open_coverage", "covered": len(by["covered"]),
                                      "named": len(by["named"]), "total": len(self.points)}]
        for verdict in ("contradicted", "named", "missing"):
            if by[verdict]:
                out.append({"code": f"open_{verdict}", "points": by[verdict]})
        out.extend({"code": "misconception", "label": m.label, "statement": m.statement, "cap": MISCONCEPTION_CAP}
                   for m in self.misconceptions)
        if self.fallback is not None:
            out.append({"code": "grader_fallback", "reason": self.fallback})
        return out

    def details(self) -> dict[str, Any]:
        return {"keypoints": [p.as_dict() for p in self.points],
                "misconceptions": [m.as_dict() for m in self.misconceptions],
                "coverage": round(self.coverage, 4), "grader": self.grader}


# --- the rubric, prepared once per question ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pattern:
    syn: Synonym
    in_stem: bool  # words of the question: they place a relation but earn nothing alone
    polar: bool  # holds its own negation or cure ("不饱和", "缓解梯度消失"): a plain match asserts it


@dataclass(frozen=True, slots=True)
class _Claim:
    label: str
    statement: str
    weight: float
    groups: tuple[tuple[_Pattern, ...], ...]
    grams: frozenset[str]  # of the statement, less the question's own
    negated: bool  # the statement itself denies something ("不需要偏置")
    remedy: bool  # the statement is about curing a problem ("…从而缓解梯度消失"): see Analysis.negations


@dataclass(frozen=True, slots=True)
class _Rubric:
    points: tuple[_Claim, ...]
    misconceptions: tuple[_Claim, ...]


def grams(text: str) -> frozenset[str]:
    """Character bigrams of the Chinese runs and the Latin words of normalised text: paraphrase evidence
    that needs no word segmentation (character n-grams suit Chinese short answers; Ding et al., 2020)."""
    out = {run[i:i + 2] for run in _CJK_RUN_RE.findall(text) for i in range(max(1, len(run) - 1))}
    out.update(_GRAM_WORD_RE.findall(text))
    return frozenset(out)


@lru_cache(maxsize=2048)
def _rubric(prompt: str, keypoints: tuple[KeyPoint, ...], misconceptions: tuple[Misconception, ...]) -> _Rubric:
    stem = squeeze(normalize(prompt))
    stem_grams = grams(stem)

    def claim(label: str, statement: str, weight: float, groups: Groups) -> _Claim:
        compiled = []
        for group in groups:
            syns = [syn for syn in map(compile_synonym, group) if syn is not None]
            polar = [bool(REMEDY_RE.search(syn.text) or NEG_CHARS_RE.search(syn.text)) for syn in syns]
            if len(groups) > 1 and any(polar):
                # In a relation a group is one role: beside "解决" or "没用", "有帮助" and "有效" are that
                # role's words and hold its polarity, so "没有帮助" denies them. Only a word that a sibling
                # cures ("梯度消失" of "缓解梯度消失") names the problem, asserted when denied (see _denies).
                cures = [syn.text for syn, p in zip(syns, polar, strict=True) if p]
                polar = [p or not any(syn.text in c for c in cures) for syn, p in zip(syns, polar, strict=True)]
            compiled.append(tuple(_Pattern(syn, syn.text in stem, p) for syn, p in zip(syns, polar, strict=True)))
        norm = squeeze(normalize(statement))
        negated = bool(statement) and _statement_negated(norm)
        return _Claim(label, statement, weight, tuple(compiled), grams(norm) - stem_grams, negated,
                      bool(REMEDY_RE.search(norm)))

    return _Rubric(
        tuple(claim(k.label, k.statement, max(float(k.weight), 0.0), k.pattern_groups) for k in keypoints),
        tuple(claim(m.label, m.statement, 1.0, m.pattern_groups) for m in misconceptions),
    )


def _statement_negated(norm: str) -> bool:
    a = Analysis(norm)
    return any(a.negated(c, c.end, c.end) for c in map(a.clause, range(len(a))))


# --- the answer ----------------------------------------------------------------------------------


class _Answer:
    def __init__(self, text: str) -> None:
        self.norm = squeeze(normalize(text))
        self.analysis = Analysis(self.norm)
        self._chars = frozenset(self.norm)
        self._tokens: list[tuple[str, int, int]] | None = None
        self._occ: dict[str, list[tuple[int, int]]] = {}
        self._fuzzy: dict[str, tuple[int, int] | None] = {}
        self._latin_runs: tuple[list[str], list[tuple[int, int]]] | None = None

    def tokens(self) -> list[tuple[str, int, int]]:
        if self._tokens is None:
            self._tokens = [(w, a, b) for w, a, b in get_tokenizer().tokenize(self.norm, "default", False)]
        return self._tokens

    def occurrences(self, syn: Synonym) -> list[tuple[int, int]]:
        """Every strict match of the pattern, as positions in the normalised answer."""
        found = self._occ.get(syn.text)
        if found is not None:
            return found
        found = []
        if syn.cjk:
            if len(syn.text) < 2:  # a lone character ("均") only as a whole word
                if syn.text in self.norm:
                    found = [(a, b) for w, a, b in self.tokens() if w == syn.text]
            else:
                i = self.norm.find(syn.text)
                while i >= 0:
                    found.append((i, i + len(syn.text)))
                    i = self.norm.find(syn.text, i + 1)
        elif syn.needle in self.norm and syn.word_re is not None:
            found = [m.span() for m in syn.word_re.finditer(self.norm)]
        self._occ[syn.text] = found
        return found

    def fuzzy(self, syn: Synonym) -> tuple[int, int] | None:
        """The best near match of the pattern in the whole answer (one per pattern: typos are rare, and
        one call over the text runs in rapidfuzz's C++ instead of one per clause)."""
        if syn.text not in self._fuzzy:
            span = None
            if could_match_fuzzy(syn, self._chars):
                span = fuzzy_span(syn, self.norm, self.latin_runs if not syn.cjk else None)
            self._fuzzy[syn.text] = span
        return self._fuzzy[syn.text]

    @property
    def latin_runs(self) -> tuple[list[str], list[tuple[int, int]]]:
        if self._latin_runs is None:
            self._latin_runs = _latin_runs_of(self.norm)
        return self._latin_runs


def could_match_fuzzy(syn: Synonym, chars: Iterable[str]) -> bool:
    """False when `fuzzy_span` cannot find the pattern in text made of `chars`: partial_ratio ≥ 85 needs a
    common subsequence of ≥ 74% of the pattern (a window as short as 74% of it, at the text's edge,
    included), so at most 26% of its characters may be absent. A set test that skips most clauses and
    never one that could match (tests/test_keypoints.py)."""
    if not FUZZY_MIN_LEN + syn.cjk <= len(syn.squashed) <= FUZZY_MAX_LEN:
        return False
    return len(syn.charset.intersection(chars)) >= len(syn.charset) - _FUZZY_MISSING * len(syn.squashed)


def fuzzy_span(syn: Synonym, text: str, latin_runs: tuple[list[str], list[tuple[int, int]]] | None = None
               ) -> tuple[int, int] | None:
    """A near match of the pattern in `text`: Chinese anywhere ("深度可分卷积"), Latin only as whole words
    ("dropuot", "residaul connection"; never "mean" in "meaningful"); None when the near match adds or
    drops a negation ("零中心" for "非零中心" is the opposite, not a typo). A CJK pattern of four
    characters is one character from another word: only longer ones are matched fuzzily."""
    if not FUZZY_MIN_LEN + syn.cjk <= len(syn.squashed) <= FUZZY_MAX_LEN:
        return None
    span = None
    if syn.cjk:
        al = fuzz.partial_ratio_alignment(syn.text, text, score_cutoff=FUZZY_THRESHOLD)
        # partial_ratio also aligns a text shorter than the pattern inside it ("归一化" in "批归一化层"):
        # the span found must itself be near the whole pattern.
        if al is not None and al.dest_end > al.dest_start and fuzz.ratio(
                syn.text, text[al.dest_start:al.dest_end], score_cutoff=FUZZY_THRESHOLD):
            span = (al.dest_start, al.dest_end)
    else:
        texts, spans = latin_runs if latin_runs is not None else _latin_runs_of(text)
        best = process.extractOne(syn.squashed, texts, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
        if best is not None:
            span = spans[best[2]]
    if span is None or NEG_CHARS_RE.findall(syn.text) != NEG_CHARS_RE.findall(text[span[0]:span[1]]):
        return None
    # One character can be the opposite ("iou大于" / "iou小于", "之前" / "之后"): not a typo either.
    if syn.cjk and _POLAR_CHARS.intersection(set(syn.text) ^ set(text[span[0]:span[1]])):
        return None
    return span


def _latin_runs_of(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Runs of one to four consecutive Latin words, squashed, with their spans: the fuzzy candidates."""
    words = [m.span() for m in WORD_RE.finditer(text)]
    texts, spans = [], []
    for i in range(len(words)):
        run = ""
        for j in range(i, min(i + 4, len(words))):
            run += text[words[j][0]:words[j][1]]
            texts.append(run)
            spans.append((words[i][0], words[j][1]))
    return texts, spans


_Hit = tuple[int, int, bool, bool, bool]  # start, end, in_stem, fuzzy, polar


@dataclass(frozen=True, slots=True)
class _Evidence:
    verdict: Verdict
    clause: Clause
    matched: str
    how: How


_RANK = {"covered": 3, "named": 2, "contradicted": 1}


def _evidence(answer: _Answer, claim: _Claim, statement_threshold: float | None,
              near_misses: bool = True) -> _Evidence | None:
    """The strongest clause for or against the claim: covered > named > contradicted. Only clauses where
    every group of the claim has a match are visited (found from each pattern's positions), so the cost
    follows the matches, not the length of the answer. Without `near_misses` only exact patterns count."""
    an = answer.analysis
    n_groups = len(claim.groups)
    # clause -> per group the best match (start, end, in_stem, fuzzy, polar): one outside the stem preferred
    found: dict[int, list[_Hit | None]] = {}
    # clause -> every match of the claim's patterns in it: the claim's own wording (see _denies)
    wording: dict[int, list[tuple[int, int]]] = {}

    def add(g: int, start: int, end: int, in_stem: bool, fuzzy: bool, polar: bool) -> None:
        i = an.clause_at(start)
        if i is None or end > an.ends[i]:
            return
        wording.setdefault(i, []).append((start, end))
        slots = found.setdefault(i, [None] * n_groups)
        cur = slots[g]
        if cur is None or (cur[2] and not in_stem):
            slots[g] = (start, end, in_stem, fuzzy, polar)

    for g, group in enumerate(claim.groups):
        for pat in group:
            for a, b in answer.occurrences(pat.syn):
                add(g, a, b, pat.in_stem, False, pat.polar)
    best = _judge(answer, claim, found, wording)
    if not near_misses or (best is not None and best.verdict == "covered"):
        return best
    # Near misses (typos) only where the exact patterns found nothing better: the slower, less sure path.
    for g, group in enumerate(claim.groups):
        for pat in group:
            span = answer.fuzzy(pat.syn)
            if span is not None:
                add(g, span[0], span[1], pat.in_stem, True, pat.polar)
    fuzzy_best = _judge(answer, claim, found, wording)
    if fuzzy_best is not None and (best is None or _RANK[fuzzy_best.verdict] > _RANK[best.verdict]):
        best = fuzzy_best
    if (best is None or best.verdict != "covered") and statement_threshold is not None and claim.grams \
            and n_groups == 1:
        # Only for a plain claim: bigrams cannot tell which term holds which role in a relation.
        para = _paraphrase(answer, claim, statement_threshold)
        if para is not None and (best is None or _RANK[para.verdict] > _RANK[best.verdict]):
            best = para
    return best


def _judge(answer: _Answer, claim: _Claim, found: dict[int, list[_Hit | None]],
           wording: dict[int, list[tuple[int, int]]]) -> _Evidence | None:
    an = answer.analysis
    best: _Evidence | None = None
    for i in sorted(found):
        spans = found[i]
        if any(s is None for s in spans) or all(s[2] for s in spans if s is not None):
            continue  # a group unmatched, or nothing but words of the question
        clause = an.clause(i)
        if clause.reported:
            continue
        hits = [s for s in spans if s is not None]
        if any(_denies(an, clause, claim, h, wording[i]) for h in hits):
            verdict: Verdict = "contradicted"
        else:
            verdict = "named" if an.bare(clause.sentence) else "covered"
        if best is None or _RANK[verdict] > _RANK[best.verdict]:
            matched = " … ".join(answer.norm[h[0]:h[1]] for h in hits)
            best = _Evidence(verdict, clause, matched, "fuzzy" if any(h[3] for h in hits) else "exact")
            if verdict == "covered":
                break
    return best


def _denies(an: Analysis, clause: Clause, claim: _Claim, hit: _Hit, wording: Sequence[tuple[int, int]]) -> bool:
    """Whether the clause denies what the matched words claim. A cue inside any match of the claim's
    patterns in the clause is the claim's own wording, not a denial: in "加数据 & 没用|帮助不大" the
    "不" of "帮助不大" says what the point says, it does not deny "数据"."""
    start, end, _, _, polar = hit
    if claim.remedy and not polar:
        # "梯度消失" for a claim that ReLU cures it: "不会梯度消失" and "缓解了梯度消失" assert the claim,
        # "不能缓解梯度消失" denies it.
        n = an.negations(clause, start, end, remedies=True, own=wording)
        return (n > 0 and n % 2 == 0) != clause.refuted
    return an.negated(clause, start, end, own=wording)


def _paraphrase(answer: _Answer, claim: _Claim, threshold: float) -> _Evidence | None:
    """A clause holding at least `threshold` of the statement's grams (each gram's positions found with
    str.find, so only clauses sharing a gram are counted)."""
    an = answer.analysis
    norm = answer.norm
    shared: dict[int, set[str]] = {}
    for gram in claim.grams:
        if gram.isascii():
            positions = [m.start() for m in re.finditer(rf"(?<![0-9a-z]){re.escape(gram)}(?![0-9a-z])", norm)]
        else:
            positions, k = [], norm.find(gram)
            while k >= 0:
                positions.append(k)
                k = norm.find(gram, k + 1)
        for p in positions:
            i = an.clause_at(p)
            if i is not None:
                shared.setdefault(i, set()).add(gram)
    need = threshold * len(claim.grams)
    best: _Evidence | None = None
    for i in sorted(shared):
        if len(shared[i]) < need:
            continue
        clause = an.clause(i)
        if clause.reported or an.bare(clause.sentence):
            continue
        negated = an.negated(clause, clause.end, clause.end) != claim.negated
        ev = _Evidence("contradicted" if negated else "covered", clause, clause.text.strip(), "statement")
        if best is None or _RANK[ev.verdict] > _RANK[best.verdict]:
            best = ev
            if ev.verdict == "covered":
                break
    return best


def grade_answer(prompt: str, keypoints: Sequence[KeyPoint], misconceptions: Sequence[Misconception],
                 answer_text: str) -> OpenGrade:
    rubric = _rubric(prompt, tuple(keypoints), tuple(misconceptions))
    answer = _Answer(answer_text if isinstance(answer_text, str) else "")
    points = []
    for claim in rubric.points:
        ev = _evidence(answer, claim, STATEMENT_THRESHOLD)
        if ev is None:
            points.append(PointVerdict(claim.label, claim.statement, claim.weight, "missing"))
        else:
            points.append(PointVerdict(claim.label, claim.statement, claim.weight, ev.verdict,
                                       ev.clause.text.strip(), ev.matched, ev.how))
    wrong = []
    # A cap needs the misconception's own patterns, exactly: "softmax之前" is one character from "softmax之后".
    for claim in rubric.misconceptions:
        ev = _evidence(answer, claim, None, near_misses=False)
        if ev is not None and ev.verdict == "covered":
            wrong.append(MisconceptionHit(claim.label, claim.statement, ev.clause.text.strip()))
    return from_verdicts(points, wrong)


def from_verdicts(points: Sequence[PointVerdict], misconceptions: Sequence[MisconceptionHit], *,
                  grader: str = GRADER) -> OpenGrade:
    """The grade that per-point verdicts and asserted misconceptions earn, whoever reached them: the one
    scoring rule of the built-in grader and the model grader."""
    total = sum(p.weight for p in points)
    coverage = sum(p.weight * p.credit for p in points) / total if total > 0 else 0.0
    coverage = min(max(coverage, 0.0), 1.0)
    score = min(1.0, coverage / FULL_MARKS_COVERAGE)
    score = min(score, MISCONCEPTION_CAP) if misconceptions else score
    return OpenGrade(score, coverage, tuple(points), tuple(misconceptions), grader)


def grade_open(question: Question, answer_text: str) -> OpenGrade:
    return grade_answer(question.prompt, question.keypoints, question.misconceptions, answer_text)
