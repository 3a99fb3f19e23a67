"""Score open answers by key-point coverage: which of the question's key points the text mentions.

This is a coverage measure, not a judgement of understanding: it cannot tell "用了 BN" from "没用 BN".
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jieba
from rapidfuzz import fuzz, process

from app.content.model import KeyPoint

TERMS_FILE = Path(__file__).with_name("terms.txt")
FUZZY_THRESHOLD = 85.0
FUZZY_MIN_LEN = 4
FUZZY_MAX_LEN = 32  # longer synonyms are phrases; fuzzy windows for them would cost more than they find
# ratio >= 85 needs min(len)/max(len) >= 0.85/1.15, so longer or shorter candidates cannot pass.
_LEN_RATIO = FUZZY_THRESHOLD / (200.0 - FUZZY_THRESHOLD)

How = Literal["exact", "substring", "fuzzy"]

_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[0-9a-z\u00c0-\u024f\u0370-\u03ff]+")
_JOINERS_RE = re.compile(r"[\s\-_]+")
_TRANSLATE = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})

_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class KeypointHit:
    label: str
    hit: bool
    matched: str | None
    how: How | None
    weight: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "hit": self.hit, "matched": self.matched, "how": self.how}


@dataclass(frozen=True, slots=True)
class KeypointResult:
    score: float  # weighted share of key points hit, 0..1
    hits: tuple[KeypointHit, ...]

    @property
    def missed(self) -> tuple[str, ...]:
        return tuple(h.label for h in self.hits if not h.hit)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [h.as_dict() for h in self.hits]


def normalize(text: str) -> str:
    """NFKC (full-width to half-width) and lower case, so "ＢＮ" and "bn" compare equal."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE).lower()


def get_tokenizer() -> jieba.Tokenizer:
    """The shared jieba tokenizer with the field's terms, built once on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                # jieba logs "Building prefix dict..." to stderr at DEBUG on every start.
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                tk.load_userdict(str(TERMS_FILE))
                _tokenizer = tk
    return _tokenizer


def tokenize(text: str) -> list[str]:
    """Words of already normalised text in order: jieba tokens plus Latin/Greek words, no punctuation."""
    # HMM off: new-word discovery is slow and substring matching already covers unknown words.
    tokens = [t for t in get_tokenizer().lcut(text, HMM=False) if t.strip() and _has_word_char(t)]
    out: list[str] = []
    for t in tokens:
        # jieba keeps "3x3" or "l2" whole but may glue Latin to CJK; split those into their words too.
        if _CJK_RE.search(t) and _WORD_RE.search(t):
            out.append(t)
            out.extend(_WORD_RE.findall(t))
        else:
            out.append(t)
    return out


def _has_word_char(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


@dataclass(frozen=True, slots=True)
class _Synonym:
    text: str  # normalised
    squashed: str  # without spaces, dashes and underscores, for fuzzy comparison
    cjk: bool
    word_re: re.Pattern[str] | None  # whole-word pattern for non-CJK synonyms


@lru_cache(maxsize=4096)
def _compile(synonym: str) -> _Synonym | None:
    text = normalize(synonym).strip()
    squashed = _JOINERS_RE.sub("", text)
    if not squashed:  # "" or "-" would match everywhere
        return None
    cjk = bool(_CJK_RE.search(text))
    word_re = None
    if not cjk:
        # "batch norm" also matches "batch-norm", "batch_norm" and "batchnorm".
        parts = [re.escape(p) for p in _JOINERS_RE.split(text) if p]
        word_re = re.compile(r"(?<![0-9a-z])" + r"[\s\-_]*".join(parts) + r"(?![0-9a-z])")
    return _Synonym(text=text, squashed=squashed, cjk=cjk, word_re=word_re)


class _Answer:
    """An answer prepared once and matched against every synonym."""

    def __init__(self, text: str) -> None:
        self.norm = normalize(text)
        self.tokens = tokenize(self.norm)
        self.token_set = set(self.tokens) | set(_WORD_RE.findall(self.norm))
        # Built lazily: answers that hit every key point exactly never need them.
        self._spans: dict[int, list[str]] | None = None
        self._spans_max = 0

    def spans_by_len(self, max_len: int) -> dict[int, list[str]]:
        """Runs of consecutive tokens joined ("深度"+"可"+"分"+"卷积"), grouped by length, up to max_len.

        Candidates start and end on token boundaries, so a fuzzy hit lines up with the answer's words.
        """
        if self._spans is None or max_len > self._spans_max:
            seen: set[str] = set()
            toks = self.tokens
            for i in range(len(toks)):
                joined = ""
                for j in range(i, len(toks)):
                    joined += toks[j]
                    if len(joined) > max_len:
                        break
                    seen.add(joined)
            by_len: dict[int, list[str]] = {}
            for g in seen:
                by_len.setdefault(len(g), []).append(g)
            self._spans, self._spans_max = by_len, max_len
        return self._spans

    def match_strict(self, syn: _Synonym) -> tuple[str, How] | None:
        if syn.text in self.token_set:
            return syn.text, "exact"
        if syn.cjk:
            # A lone character ("均", "池") is too ambiguous inside other words: only whole tokens count.
            if len(syn.text) >= 2 and syn.text in self.norm:
                return syn.text, "substring"
            return None
        assert syn.word_re is not None
        m = syn.word_re.search(self.norm)
        if m:
            return m.group(0), "substring"
        return None

    def match_fuzzy(self, syn: _Synonym) -> tuple[str, How] | None:
        size = len(syn.squashed)
        if not FUZZY_MIN_LEN <= size <= FUZZY_MAX_LEN:
            return None
        lo, hi = _len_window(size)
        by_len = self.spans_by_len(hi)
        candidates = [g for n in range(lo, hi + 1) for g in by_len.get(n, ())]
        if not candidates:
            return None
        best = process.extractOne(syn.squashed, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
        if best is None:
            return None
        return best[0], "fuzzy"


def _len_window(size: int) -> tuple[int, int]:
    return int(size * _LEN_RATIO), int(size / _LEN_RATIO) + 1


def _synonyms(kp: KeyPoint) -> list[_Synonym]:
    out = [_compile(s) for s in kp.synonyms]
    return [s for s in out if s is not None]


def score_keypoints(answer_text: str, keypoints: Iterable[KeyPoint]) -> KeypointResult:
    """Which key points the answer mentions, and the weighted share of them (0..1)."""
    kps = list(keypoints)
    answer = _Answer(answer_text if isinstance(answer_text, str) else "")
    compiled = [_synonyms(kp) for kp in kps]
    found: list[tuple[str, How] | None] = []
    for syns in compiled:
        found.append(next((m for s in syns if (m := answer.match_strict(s))), None))
    # Fuzzy only for key points no synonym hit exactly: it is the slow and less certain path.
    pending = [s for i, syns in enumerate(compiled) if found[i] is None for s in syns]
    longest = max(
        (len(s.squashed) for s in pending if FUZZY_MIN_LEN <= len(s.squashed) <= FUZZY_MAX_LEN), default=0
    )
    if longest:
        answer.spans_by_len(_len_window(longest)[1])  # one pass for every synonym's length window
    for i, syns in enumerate(compiled):
        if found[i] is None:
            found[i] = next((m for s in syns if (m := answer.match_fuzzy(s))), None)

    hits = tuple(
        KeypointHit(
            label=kp.label,
            hit=m is not None,
            matched=m[0] if m else None,
            how=m[1] if m else None,
            weight=max(float(kp.weight), 0.0),
        )
        for kp, m in zip(kps, found, strict=True)
    )
    total = sum(h.weight for h in hits)
    score = sum(h.weight for h in hits if h.hit) / total if total > 0 else 0.0
    return KeypointResult(score=min(max(score, 0.0), 1.0), hits=hits)
