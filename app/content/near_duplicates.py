"""Near-duplicate question stems across all banks: a warning of `mianjing content check`, not an error.

Two items that ask the same thing split a candidate's history (answers and review cards under two ids) and
waste an interview's minutes. The stem is the title and the prompt, normalised (NFKC, lower case, an
interviewer's framing such as 面试官：/追问： dropped, placeholders of generated items as one mark, only
letters and digits kept). Each stem becomes a vector of its character bigrams, weighted by TF-IDF
(1 + ln tf, smoothed idf ln((1 + n) / (1 + df)) + 1): a bigram many stems share (输出, 下列, 多少) weighs
little, so two stems are alike when they share what is particular to them. A pair whose cosine is at
least THRESHOLD is reported with the file:line of both items.

Bigrams, because most Chinese words have two characters: over trigrams the known duplicates of the banks
(conv-rf-dilated / seg-atrous-rf, the iv-* copies of the adversarial, project and `is`/`==` items) ranked
below some 30 pairs of different questions, over bigrams they scored 0.48-0.60 and ranked higher.
THRESHOLD sits just below them. What else scores that high is mostly generated templates of one family
(max / average pooling: 0.90) and a fixed item next to the template of its computation: pairs that look
alike and ask different things, which say so with `not_duplicate_of: {other-id: reason}` in either item's
metadata (the reason is for the next reader).

Pairs are found through an inverted index of the bigrams, so only stems that share one are compared:
60-110 ms for the 417 bundled items on the 2-core machine, where comparing every pair took 0.6 s.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.content.model import ContentError, Question

NGRAM = 2
THRESHOLD = 0.45
# An interviewer's framing at the start of a prompt says how the question is asked, not what it asks.
FRAMING_RE = re.compile(r"^\s*(?:面试官|再追问|继续追问|追问|interviewer)\s*[:：]\s*", re.IGNORECASE)
PLACEHOLDER_RE = re.compile(r"\{\{\s*\w+\s*\}\}")


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    first: Question  # in bank order, before `second`
    second: Question
    similarity: float

    def warning(self) -> ContentError:
        a, b = self.first, self.second
        return ContentError(a.file, a.line, (
            f"题干与「{b.id}」（{b.file}:{b.line}）相似（{self.similarity:.2f}），可能重复：合并（留下的一题写 "
            f"replaces: [旧 id]）、改写成不同的问题，或在 not_duplicate_of 里写明理由"))


def normalised_stem(q: Question) -> str:
    text = unicodedata.normalize("NFKC", f"{q.title}\n{FRAMING_RE.sub('', q.prompt)}").lower()
    text = PLACEHOLDER_RE.sub("#", text)
    return "".join(ch for ch in text if ch.isalnum() or ch == "#")


def ngrams(text: str, n: int = NGRAM) -> Counter[str]:
    if len(text) <= n:
        return Counter([text]) if text else Counter()
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def _vectors(grams: list[Counter[str]]) -> list[dict[str, float]]:
    """Unit TF-IDF vectors."""
    df: Counter[str] = Counter(g for counts in grams for g in counts)
    n = len(grams)
    out = []
    for counts in grams:
        vec = {g: (1 + math.log(tf)) * (math.log((1 + n) / (1 + df[g])) + 1) for g, tf in counts.items()}
        norm = math.sqrt(sum(w * w for w in vec.values())) or 1.0
        out.append({g: w / norm for g, w in vec.items()})
    return out


def _allowed(a: Question, b: Question) -> bool:
    return b.id in a.not_duplicate_of or a.id in b.not_duplicate_of


def near_duplicates(questions: Sequence[Question], threshold: float = THRESHOLD) -> list[NearDuplicate]:
    """Every pair of `questions` whose stems' cosine is at least `threshold` and that neither allows, most
    similar first."""
    vectors = _vectors([ngrams(normalised_stem(q)) for q in questions])
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    found = []
    for i, vec in enumerate(vectors):
        dots: dict[int, float] = defaultdict(float)
        for g, w in vec.items():
            for j, v in postings[g]:
                dots[j] += w * v
            postings[g].append((i, w))
        for j, dot in dots.items():
            if dot >= threshold - 1e-9 and not _allowed(questions[j], questions[i]):
                found.append(NearDuplicate(questions[j], questions[i], round(dot, 4)))
    return sorted(found, key=lambda d: (-d.similarity, d.first.id, d.second.id))


def near_duplicate_warnings(questions: Sequence[Question], threshold: float = THRESHOLD) -> list[ContentError]:
    return [d.warning() for d in near_duplicates(questions, threshold)]
