"""The words of an answer: normalisation, the field's jieba tokenizer, and patterns prepared for matching.

Reading claims out of those words (clauses, negation, relations) is app.scoring.clauses and
app.scoring.open_grader.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import rjieba

TERMS_FILE = Path(__file__).with_name("terms.txt")
FUZZY_THRESHOLD = 85.0
FUZZY_MIN_LEN = 4
FUZZY_MAX_LEN = 32  # longer patterns are phrases: fuzzy windows for them would cost more than they find
CJK = r"[\u3400-\u9fff\uf900-\ufaff]"  # the character classes every part of the open grader reads text by
LATIN = r"[0-9a-z\u00c0-\u024f\u0370-\u03ff]"  # Latin and Greek letters, digits
_CJK_RE = re.compile(CJK)
WORD_RE = re.compile(LATIN + "+")  # a Latin word of normalised text
_MIXED_RE = re.compile(f"{CJK}.*{LATIN}|{LATIN}.*{CJK}")
_ALNUM_RE = re.compile(r"[^\W_]")  # what str.isalnum() accepts, as one C-level search
_JOINERS_RE = re.compile(r"[\s\-_]+")
_DASHES = ("\u2212", "\u2013", "\u2014")  # minus, en and em dash: typed for "-"
_FULL_WIDTH_RE = re.compile("[\u3000\uff01-\uff5e]")  # the ideographic space and full-width ASCII
_HALF_WIDTH = {c: unicodedata.normalize("NFKD", c) for c in map(chr, [0x3000, *range(0xFF01, 0xFF5F)])}

_tokenizer: rjieba.Jieba | None = None
_tokenizer_lock = threading.Lock()


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


_CJK_SPACE_RE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+|\s+(?=[\u3400-\u9fff\uf900-\ufaff])")


def squeeze(text: str) -> str:
    """Normalised text without the spaces next to Chinese characters, which people type or not at will
    ("Z 字形" / "z字形", "batch 的均值"): what patterns and answers are compared as."""
    return _CJK_SPACE_RE.sub("", text)


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
    if all(_alone(joined, *m.span()) for m in WORD_RE.finditer(joined)):
        return tokens
    out: list[str] = []
    for t in tokens:
        out.append(t)
        if _MIXED_RE.search(t):
            out.extend(WORD_RE.findall(t))
    return out


def _alone(joined: str, start: int, end: int) -> bool:
    """Whether joined[start:end] is a whole token of the NUL-joined tokens."""
    return (start == 0 or joined[start - 1] == "\x00") and (end == len(joined) or joined[end] == "\x00")


@dataclass(frozen=True, slots=True)
class Synonym:
    """A pattern prepared for matching (app.scoring.open_grader)."""

    text: str  # normalised
    squashed: str  # without spaces, dashes and underscores: its length decides whether fuzzy matching applies
    cjk: bool
    word_re: re.Pattern[str] | None  # whole-word pattern for non-CJK synonyms
    needle: str  # a part every match of word_re contains verbatim (the longest)
    charset: frozenset[str]  # the characters of `squashed`: a cheap test before fuzzy matching


@lru_cache(maxsize=8192)
def compile_synonym(synonym: str) -> Synonym | None:
    text = squeeze(normalize(synonym).strip())
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
    return Synonym(text=text, squashed=squashed, cjk=cjk, word_re=word_re, needle=needle,
                   charset=frozenset(squashed))
