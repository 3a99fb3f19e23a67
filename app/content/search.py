"""Full-text search over questions that works for Chinese and English without a tokenizer at load time.

Chinese text is indexed by character (postings per CJK character) and confirmed by substring match, so
any Chinese phrase is found; English and numbers are indexed as lower-cased words. Building the index
costs one `set()` per question, which keeps a 10,000-question load well under a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

WORD_RE = re.compile(r"[a-z0-9_]+")
CJK_RUN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


class SearchIndex:
    def __init__(self, documents: Sequence[str]) -> None:
        self._docs = [normalize(d) for d in documents]
        chars: dict[str, list[int]] = defaultdict(list)
        words: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(self._docs):
            for ch in set(doc):
                if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff":
                    chars[ch].append(i)
            for word in set(WORD_RE.findall(doc)):
                words[word].append(i)
        self._chars = {k: frozenset(v) for k, v in chars.items()}
        self._words = {k: frozenset(v) for k, v in words.items()}

    def search(self, query: str) -> set[int] | None:
        """Indices of documents containing every term of the query; None for an empty query."""
        q = normalize(query)
        terms = CJK_RUN_RE.findall(q) + WORD_RE.findall(CJK_RUN_RE.sub(" ", q))
        if not terms:
            return None
        candidates: set[int] | None = None
        for term in sorted(terms, key=len, reverse=True):
            postings = [self._chars.get(c, frozenset()) for c in set(term)] if CJK_RUN_RE.fullmatch(term) else [
                self._words.get(term) or self._prefix(term)
            ]
            for p in sorted(postings, key=len):
                candidates = set(p) if candidates is None else candidates & p
                if not candidates:
                    return set()
        assert candidates is not None
        # Postings prove each character is present; substring match proves the phrase is.
        return {i for i in candidates if all(t in self._docs[i] for t in terms)}

    def _prefix(self, term: str) -> frozenset[int]:
        # English words may be typed partially ("normaliz"); fall back to a prefix scan of the vocabulary.
        hits: set[int] = set()
        for word, postings in self._words.items():
            if word.startswith(term):
                hits |= postings
        return frozenset(hits)
