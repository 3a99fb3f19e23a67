"""Score open answers by key-point coverage: which of the question's key points the text mentions.

This is a coverage measure, not a judgement of understanding: it cannot tell "用了 BN" from "没用 BN".
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal

import rjieba
from rapidfuzz import fuzz, process

from app.content.model import KeyPoint

TERMS_FILE = Path(__file__).with_name("terms.txt")
FUZZY_THRESHOLD = 85.0
FUZZY_MIN_LEN = 4
FUZZY_MAX_LEN = 32  # longer synonyms are phrases; fuzzy windows for them would cost more than they find
# ratio >= 85 needs min(len)/max(len) >= 0.85/1.15, so longer or shorter candidates cannot pass.
_LEN_RATIO = FUZZY_THRESHOLD / (200.0 - FUZZY_THRESHOLD)

How = Literal["exact", "substring", "fuzzy"]

_CJK = r"[\u3400-\u9fff\uf900-\ufaff]"
_LATIN = r"[0-9a-z\u00c0-\u024f\u0370-\u03ff]"  # Latin and Greek letters, digits
_CJK_RE = re.compile(_CJK)
_WORD_RE = re.compile(_LATIN + "+")
_MIXED_RE = re.compile(f"{_CJK}.*{_LATIN}|{_LATIN}.*{_CJK}")
_ALNUM_RE = re.compile(r"[^\W_]")  # what str.isalnum() accepts, as one C-level search
_JOINERS_RE = re.compile(r"[\s\-_]+")
_DASHES = ("\u2212", "\u2013", "\u2014")  # minus, en and em dash: typed for "-"
_FULL_WIDTH_RE = re.compile("[\u3000\uff01-\uff5e]")  # the ideographic space and full-width ASCII
_HALF_WIDTH = {c: unicodedata.normalize("NFKD", c) for c in map(chr, [0x3000, *range(0xFF01, 0xFF5F)])}

_tokenizer: rjieba.Jieba | None = None
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
    # Chinese text is NFKC-stable but for its full-width punctuation ("，", "："), and NFKC of a whole answer
    # costs ~70 ns a character. Putting each full-width form's own decomposition in first leaves the NFKC
    # result unchanged (the full decomposition is the same) and usually leaves nothing else to do: ~4× faster.
    text = _FULL_WIDTH_RE.sub(_half_width, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    for dash in _DASHES:  # str.replace per character is C-level; str.translate with a dict is not
        if dash in text:
            text = text.replace(dash, "-")
    return text.lower()


def _half_width(m: re.Match[str]) -> str:
    return _HALF_WIDTH[m.group()]


def get_tokenizer() -> rjieba.Jieba:
    """The shared jieba tokenizer with the field's terms (a jieba user dictionary), built once on first use.

    rjieba is jieba-rs: jieba's algorithm and dictionary in Rust, about 35 times faster than the Python
    package on a 300-character answer and token-for-token the same (tests/test_keypoints.py checks both
    on the bundled content)."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                tk = rjieba.Jieba()
                for word, freq in read_terms():
                    tk.add_word(word, freq, None)
                _tokenizer = tk
    return _tokenizer


def read_terms() -> list[tuple[str, int]]:
    """The field's terms as (word, frequency), from terms.txt in jieba's user-dictionary format."""
    out = []
    for line in TERMS_FILE.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts:
            out.append((parts[0], int(parts[1])))
    return out


def tokenize(text: str) -> list[str]:
    """Words of already normalised text in order: jieba tokens plus Latin/Greek words, no punctuation."""
    # HMM off: new-word discovery is slow and substring matching already covers unknown words.
    tokens = [t for t in get_tokenizer().cut(text, False) if t.isalnum() or _ALNUM_RE.search(t)]
    # jieba keeps "3x3" or "l2" whole, but a dictionary word may glue Latin to CJK ("x光"): such a token is
    # followed by its Latin words too. Such a token has a Latin run with a neighbour inside the token, so
    # when no run has one (nearly always), no token needs looking at one by one.
    joined = "\x00".join(tokens)
    if all(_alone(joined, *m.span()) for m in _WORD_RE.finditer(joined)):
        return tokens
    out: list[str] = []
    for t in tokens:
        out.append(t)
        if _MIXED_RE.search(t):
            out.extend(_WORD_RE.findall(t))
    return out


def _alone(joined: str, start: int, end: int) -> bool:
    """Whether joined[start:end] is a whole token of the NUL-joined tokens."""
    return (start == 0 or joined[start - 1] == "\x00") and (end == len(joined) or joined[end] == "\x00")


@dataclass(frozen=True, slots=True)
class _Synonym:
    text: str  # normalised
    squashed: str  # without spaces, dashes and underscores, for fuzzy comparison
    cjk: bool
    word_re: re.Pattern[str] | None  # whole-word pattern for non-CJK synonyms
    needle: str  # a part every match of word_re contains verbatim (the longest)
    counts: tuple[tuple[str, int], ...]  # characters of `squashed` and how often each occurs
    chars: re.Pattern[str]  # any one character of `squashed`


@lru_cache(maxsize=4096)
def _compile(synonym: str) -> _Synonym | None:
    text = normalize(synonym).strip()
    squashed = _JOINERS_RE.sub("", text)
    if not squashed:  # "" or "-" would match everywhere
        return None
    cjk = bool(_CJK_RE.search(text))
    word_re, needle = None, text
    if not cjk:
        # "batch norm" also matches "batch-norm", "batch_norm" and "batchnorm".
        parts = [p for p in _JOINERS_RE.split(text) if p]
        word_re = re.compile(r"(?<![0-9a-z])" + r"[\s\-_]*".join(map(re.escape, parts)) + r"(?![0-9a-z])")
        needle = max(parts, key=len)
    return _Synonym(text=text, squashed=squashed, cjk=cjk, word_re=word_re, needle=needle,
                    counts=tuple(Counter(squashed).items()),
                    chars=re.compile("[" + "".join(map(re.escape, sorted(set(squashed)))) + "]"))


class _Answer:
    """An answer prepared once and matched against every synonym."""

    def __init__(self, text: str) -> None:
        self.norm = normalize(text)
        self.tokens = tokenize(self.norm)
        self.token_set = set(self.tokens) | set(_WORD_RE.findall(self.norm))
        # Built lazily: answers that hit every key point exactly never need them.
        self._chars: Counter[str] | None = None
        self._joined = ""
        self._bounds: list[int] | None = None

    def spans(self, syn: _Synonym) -> list[str]:
        """Runs of consecutive tokens joined ("深度"+"可"+"分"+"卷积") that could reach the fuzzy threshold
        against `syn`: the right length, and enough of the synonym's characters (see could_match_fuzzy).

        Candidates start and end on token boundaries, so a fuzzy hit lines up with the answer's words. A run
        that starts or ends with a token sharing no character with the synonym is left out: dropping that
        token keeps the common subsequence and shortens the run, so the shorter run always scores higher.
        So only the tokens holding one of the synonym's characters are visited, not the whole answer.
        """
        if self._bounds is None:
            self._joined = "".join(self.tokens)
            self._bounds = list(accumulate((len(t) for t in self.tokens), initial=0))
        joined, bounds = self._joined, self._bounds
        size = len(syn.squashed)
        lo, hi = _len_window(size)
        need = _LEN_RATIO * size - 1e-9
        pos = [m.start() for m in syn.chars.finditer(joined)]  # where the synonym's characters occur
        if len(pos) < need:
            return []
        holding = list(dict.fromkeys(bisect_right(bounds, p) - 1 for p in pos))  # their tokens, in order
        seen: dict[str, None] = {}  # ordered, so that ties in the fuzzy score go to the earliest run
        for a, i in enumerate(holding):
            start = bounds[i]
            before = bisect_left(pos, start)  # synonym characters before the run
            j_lo = bisect_left(bounds, start + lo, i + 1)
            j_hi = bisect_right(bounds, start + hi, i + 1)
            for last in holding[a:]:
                j = last + 1  # the run is tokens i..last, joined[start:bounds[j]]
                if j >= j_hi:
                    break
                if j >= j_lo and bisect_left(pos, bounds[j]) - before >= need:
                    seen[joined[start:bounds[j]]] = None
        return list(seen)

    def match_strict(self, syn: _Synonym) -> tuple[str, How] | None:
        if syn.text in self.token_set:
            return syn.text, "exact"
        if syn.cjk:
            # A lone character ("均", "池") is too ambiguous inside other words: only whole tokens count.
            if len(syn.text) >= 2 and syn.text in self.norm:
                return syn.text, "substring"
            return None
        assert syn.word_re is not None
        if syn.needle not in self.norm:  # a substring test first: ~20 times cheaper than the regex
            return None
        m = syn.word_re.search(self.norm)
        if m:
            return m.group(0), "substring"
        return None

    def could_match_fuzzy(self, syn: _Synonym) -> bool:
        """False when no span of the answer can reach the fuzzy threshold, by counting characters alone.

        ratio = 200·LCS/(len(a)+len(b)) ≥ T·100 with LCS ≤ len(b) needs LCS ≥ T/(2-T)·len(a) = _LEN_RATIO·len(a),
        and every character of the LCS occurs in the answer. Exact, and far cheaper than building spans.
        """
        size = len(syn.squashed)
        if not FUZZY_MIN_LEN <= size <= FUZZY_MAX_LEN:
            return False
        if self._chars is None:
            self._chars = Counter(self.norm)
        chars = self._chars
        shared = sum(min(n, chars[c]) for c, n in syn.counts)
        return shared >= _LEN_RATIO * size - 1e-9

    def match_fuzzy(self, syn: _Synonym) -> tuple[str, How] | None:
        if not self.could_match_fuzzy(syn):
            return None
        candidates = self.spans(syn)
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
