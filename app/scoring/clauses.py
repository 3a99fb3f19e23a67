"""An answer cut into sentences and clauses, with what each clause asserts or denies.

Pure text analysis for the open grader (app.scoring.open_grader): where clauses begin and end, which
positions a negation cue covers, which clauses only report someone else's belief, and which sentences
are bare lists of names. Works on text already normalised by app.scoring.keypoints.normalize (half-width
punctuation, lower case), Chinese and English alike.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from app.scoring.keypoints import CJK, WORD_RE, get_tokenizer

# A clause ends at a comma, semicolon, full stop, question or exclamation mark or a line break; a
# sentence at all of these but the comma. The enumeration comma "、" joins items of one clause.
_CLAUSE_END_RE = re.compile(r"[,;!?\n。，；！？]+|\.(?!\d)|\s-\s")  # "0.5" is a number, not two clauses
# A colon introduces what it says of its topic ("训练时：用当前 batch 的统计量"): it does not end a clause.
_SENTENCE_END_RE = re.compile(r"[;!?\n。；！？]+|\.(?!\d)")

# Words that contain a negation character but deny nothing ("不同" = different, "非常" = very, "无论" =
# whatever, "不变" = invariant: "旋转不变", "尺度不变的特征", "不变量"): masked before cues are looked for.
# Longest first, so "并不是" is a cue but "不仅" is not.
_NOT_NEGATIONS = (
    "不仅", "不但", "不只", "不光", "不管", "不论", "无论", "不同", "不一样", "不断", "不少", "不久", "不错",
    "不止", "不过", "不了解", "非常", "无非", "除非", "是非", "未来", "无穷", "无限", "不确定性", "非线性",
    "非极大值", "非极大", "非最大", "无监督", "非负", "非零", "无偏", "不可导", "不可微", "不变",
    "不平衡", "不均衡", "不稳定", "无关", "不足", "不够", "没问题", "无数", "不定",
    "无标签", "无标注", "未标注", "未标记", "无标记",
    "not only", "no matter", "non-", "nonlinear", "non linear",
)
# ... unless the next character makes them a negation after all: "不同号" is 不 + 同号, "方差不变大" 不 + 变大.
_UNLESS_FOLLOWED_BY = {"不同": "[号向]", "不变": "[大小化形换成得为强弱多少高低长短宽窄快慢好坏差深浅亮暗粗细动更]"}
_NOT_NEGATION_RE = re.compile("|".join(
    re.escape(w) + (f"(?!{_UNLESS_FOLLOWED_BY[w]})" if w in _UNLESS_FOLLOWED_BY else "")
    for w in sorted(_NOT_NEGATIONS, key=len, reverse=True)))
# The negation characters and words a pattern or a span of text may hold ("非零中心", "not all").
NEG_CHARS_RE = re.compile(r"[不非无没未]|\bnot?\b|n't")
_CUE_RE = re.compile(
    r"而不是|并不是|并不|并非|并没有|不是|不会|不能|不用|不需要|不必|不再|不要|不应|没有|没|无法|未|非|无|不|"
    r"\b(?:not|no|never|cannot|can't|won't|doesn't|don't|isn't|aren't|wasn't|weren't|didn't|without|neither|"
    r"nor|instead of|rather than|hardly)\b|n't\b"
)
# A parenthetical is an aside with a scope of its own: "教师在不加噪声的情况下（不做增强）打伪标签" — the
# 不 inside the brackets denies only what is inside them.
_ASIDE_RE = re.compile(r"[（(][^（）()]*[）)]")
# A negation's scope runs to the end of its clause or to a contrast ("不是 A 而是 B": B is asserted).
_SCOPE_END_RE = re.compile(r"而是|但是|但|却|反而|相反|\b(?:but|instead|rather|however)\b")
_FORWARD_ONLY = ("而不是", "rather than", "instead of")
# A cue that names what it denies: "X 不随 Y 变化" says X is invariant; it denies only the change with Y
# ("AUC 不随阈值变化" is no "随阈值变化"), not X or the rest of the clause.
_ENCLOSING_CUE_RE = re.compile(r"并?不(?:会|再)?随着?(?!机)[^,;!?\n。，；！？]{0,16}?变[化动换]?")
# Words that undo a problem: a claim framed as a cure ("缓解梯度消失") is asserted by denying the problem.
REMEDY_RE = re.compile(r"缓解|解决|避免|防止|减轻|抑制|消除|克服|改善|规避|\b(?:prevents?|avoids?|mitigates?|"
                       r"alleviates?|solves?|fix(?:es)?|eliminates?|cures?)\b")
# A clause that judges the one before it false: "有人说 X，这是错的".
_REFUTES_BEFORE_RE = re.compile(
    r"^\s*(?:这|这个|这种|那|这样|其实|实际上|事实上)?(?:说法|理解|观点)?\s*(?:是)?(?:错的|错误的|不对|不成立|不正确|误解|误区)"
    r"|^\s*(?:that|this)(?:'s| is)\s+(?:wrong|false|a myth|incorrect|not true)"
)
_REFUTE_WORD_RE = re.compile(r"错|不对|不成立|不正确|误解|误区|wrong|false|myth|incorrect|not true")
# Words after a claim, in its clause, that judge it false: "梯度同号是错的".
_REFUTES_RE = re.compile(r"是错的|是错误的|不对|不成立|是误解|是误区|是个误区|\b(?:is|are) (?:wrong|false|a myth)\b")
# A clause that reports a belief instead of making a claim ("很多人以为…", "a common myth is…").
_REPORTED_RE = re.compile(
    r"误以为|以为|误认为|有人说|有人认为|很多人认为|常见的?误区|误区是|误解是|\b(?:people|some) (?:think|say|believe)\b|"
    r"\bmyth\b|\bmisconception\b"
)

# POS tags (jieba) of words that make a clause say something rather than name something: verbs,
# conjunctions, prepositions, adjectives, adverbs, structural particles, pronouns.
_PREDICATE_TAGS = {"v", "vd", "vi", "vg", "vl", "c", "p", "a", "ad", "an", "d", "uj", "ul", "uz", "uv", "ud",
                   "ug", "r", "y", "z", "zg", "df"}
_LIST_SEP_RE = re.compile(r"[、,/;]+|\b(?:and|or)\b|(?<=[\u3400-\u9fff])[和与及或](?=[\u3400-\u9fff])|"
                          r"(?<=[0-9a-z])\s+(?=[0-9a-z])")  # "l1 l2 dropout": spaces between Latin terms
_CONNECTIVE_RE = re.compile(r"因为|所以|导致|使得|从而|因此|如果|由于|为了|通过|用于")
_CJK_CHAR_RE = re.compile(CJK)
_ENGLISH_PREDICATE_RE = re.compile(
    r"\b(?:is|are|was|were|be|makes?|causes?|uses?|gets?|keeps?|helps?|reduces?|increases?|prevents?|means?|"
    r"because|so|if|when|which|that|can|will|would|should|by|to|of|than|more|less)\b"
)


@dataclass(frozen=True, slots=True)
class Clause:
    index: int
    start: int
    end: int
    sentence: int  # index of its sentence
    text: str
    refuted: bool  # judged false by itself ("…是错的") or by the clause after it ("这是错的")
    reported: bool  # someone else's belief, not the candidate's claim


class Analysis:
    """The clauses of one normalised answer. Every regular expression runs once over the whole text (C
    speed) and its matches are filed under clauses by position, so cost grows with the text, not with
    clauses × cues."""

    def __init__(self, norm: str) -> None:
        self.norm = norm
        self.sentence_starts = [0] + [m.end() for m in _SENTENCE_END_RE.finditer(norm)]
        starts, ends = [], []
        pos = 0
        for m in _CLAUSE_END_RE.finditer(norm):
            if norm[pos:m.start()].strip():
                starts.append(pos)
                ends.append(m.start())
            pos = m.end()
        if norm[pos:].strip():
            starts.append(pos)
            ends.append(len(norm))
        self.starts, self.ends = starts, ends
        # A judgement of falsehood ("…不成立") flips its clause once, as `refuted`: not also as a cue.
        refutes = [m.start() for m in _REFUTES_RE.finditer(norm)]
        masked = _NOT_NEGATION_RE.sub(_blank, norm)
        if refutes:
            masked = _REFUTES_RE.sub(_blank, masked)
        cues = [m.span() for m in _CUE_RE.finditer(masked)]
        self._cue_starts = [a for a, _ in cues]
        self._cue_ends = [b for _, b in cues]
        self._forward_only = [masked.startswith(_FORWARD_ONLY, a) for a, _ in cues]
        enclosing = {m.start(): m.end() for m in _ENCLOSING_CUE_RE.finditer(masked)}
        self._reach = [enclosing.get(a) for a, _ in cues]  # the end of what an enclosing cue denies, else None
        self._scope_ends = [m.start() for m in _SCOPE_END_RE.finditer(norm)]
        self._asides = [m.span() for m in _ASIDE_RE.finditer(norm)]
        self._aside_starts = [a for a, _ in self._asides]
        self._refuted = {i for p in refutes if (i := self.clause_at(p)) is not None}
        for m in _REFUTE_WORD_RE.finditer(norm):  # "有人说 X，这是错的": the clause before is judged
            i = self.clause_at(m.start())
            if i is not None and i > 0 and _REFUTES_BEFORE_RE.match(norm, starts[i]):
                self._refuted.add(i - 1)
        self._reported = {i for m in _REPORTED_RE.finditer(norm) if (i := self.clause_at(m.start())) is not None}
        self._clauses: dict[int, Clause] = {}
        self._bare: dict[int, bool] = {}

    def __len__(self) -> int:
        return len(self.starts)

    def clause(self, i: int) -> Clause:
        c = self._clauses.get(i)
        if c is None:
            a, b = self.starts[i], self.ends[i]
            c = self._clauses[i] = Clause(i, a, b, bisect_right(self.sentence_starts, a) - 1, self.norm[a:b],
                                          i in self._refuted, i in self._reported)
        return c

    def clause_at(self, pos: int) -> int | None:
        i = bisect_right(self.starts, pos) - 1
        if i >= 0 and pos < self.ends[i]:
            return i
        return None

    def negated(self, clause: Clause, start: int, end: int, own: Sequence[tuple[int, int]] = ()) -> bool:
        """Whether the words at [start, end) are denied in their clause (an odd number of cues, see
        negations, or the clause judged false)."""
        return (self.negations(clause, start, end, own=own) % 2 == 1) != clause.refuted

    def negations(self, clause: Clause, start: int, end: int, remedies: bool = False,
                  own: Sequence[tuple[int, int]] = ()) -> int:
        """The negation cues that bear on the words at [start, end). A Chinese clause negates its
        predicate wherever the cue stands ("不是 A 导致的", "A 并不小", "跟 A 没有关系"), so every cue of the
        words' part of the clause counts — parts are cut at contrasts ("不是 A 而是 B": B holds), "而不是 /
        rather than" reach forward only ("用 A 而不是 B"), "不随 Y 变化" only over what it encloses. Cues
        inside the words ("非零中心") are theirs, and so are cues inside the `own` spans (the other words of
        the same claim: "数据 … 帮助不大").
        With `remedies`, words that undo a problem ("缓解", "避免", "prevents") count too: for a claim about
        curing a problem, "不会梯度消失" and "缓解了梯度消失" say the same."""
        se = self._scope_ends
        j = bisect_right(se, start) - 1
        lo = se[j] if j >= 0 and se[j] >= clause.start else clause.start
        k = bisect_left(se, end)
        hi = se[k] if k < len(se) and se[k] < clause.end else clause.end
        words = _merged([(start, end), *own])
        aside = self._aside(start)
        count = 0
        for n in range(bisect_left(self._cue_starts, lo), bisect_left(self._cue_starts, hi)):
            a, b = self._cue_starts[n], self._cue_ends[n]
            if self._owned(a, b, words):
                continue
            if self._aside(a) != aside:  # one side of a bracket does not deny the other
                continue
            if a >= end and self._forward_only[n]:
                continue
            reach = self._reach[n]
            if reach is not None and not a <= start < end <= reach:
                continue
            count += 1
        if remedies:
            count += sum(1 for m in REMEDY_RE.finditer(self.norm, lo, hi) if not self._owned(*m.span(), words))
        return count

    def _aside(self, pos: int) -> int:
        """The index of the parenthetical holding `pos`, or -1 outside every one."""
        j = bisect_right(self._aside_starts, pos) - 1
        return j if j >= 0 and pos < self._asides[j][1] else -1

    def _owned(self, a: int, b: int, words: tuple[list[int], list[int]]) -> bool:
        """Whether the cue at [a, b) is part of the words (see _merged): inside them, or sharing their own
        negation ("并非" and "非零中心" share "非"). "没有" only touching "有帮助" adds a denial the words do
        not hold."""
        starts, ends = words
        j = bisect_right(ends, a)  # the first span ending after the cue starts; a cue overlaps few of them
        while j < len(starts) and starts[j] < b:
            s, e = starts[j], ends[j]
            if (s <= a and b <= e) or NEG_CHARS_RE.search(self.norm, max(a, s), min(b, e)):
                return True
            j += 1
        return False

    def bare(self, sentence: int) -> bool:
        """Whether a sentence only names things ("L1、L2、Dropout、BN"): no word of it predicates anything."""
        got = self._bare.get(sentence)
        if got is None:
            a = self.sentence_starts[sentence]
            b = self.sentence_starts[sentence + 1] if sentence + 1 < len(self.sentence_starts) else len(self.norm)
            text = self.norm[a:b]
            got = bool(text.strip()) and not _ENGLISH_PREDICATE_RE.search(text) and (
                _is_term_list(text)
                or not any(tag in _PREDICATE_TAGS for _, tag in get_tokenizer().tag(text, False)))
            self._bare[sentence] = got
        return got


def _merged(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Spans as the starts and ends of their sorted, disjoint union: a cue is then looked up by bisection,
    not against each of the thousands of matches one long clause may hold."""
    starts: list[int] = []
    ends: list[int] = []
    for a, b in sorted(spans):
        if starts and a < ends[-1]:
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return starts, ends


def _blank(m: re.Match[str]) -> str:
    return "\x00" * len(m.group())


def _is_term_list(text: str) -> bool:
    """Three or more items, each a term of a few characters or words: "全为正、同号、之字形、tanh". (The
    tagger calls "全为正" a predicate; as an item of such a list it names a point, it explains nothing.)"""
    if _CONNECTIVE_RE.search(text):
        return False
    items = [t for t in _LIST_SEP_RE.split(text) if t.strip()]
    return len(items) >= 3 and all(_short_term(t.strip()) for t in items)


def _short_term(item: str) -> bool:
    cjk = len(_CJK_CHAR_RE.findall(item))
    words = len(WORD_RE.findall(item))
    return cjk <= 4 and words <= 2 and (cjk > 0 or words > 0)
