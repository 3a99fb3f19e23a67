"""Full-text search over questions that works for Chinese and English without a tokenizer at load time.

Chinese text is indexed by character (postings per CJK character) and confirmed by substring match, so
any Chinese phrase is found; English and numbers are indexed as lower-cased words. Building the index
is deferred (see SearchIndex) so that a 10,000-question load stays under a second.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence

WORD_RE = re.compile(r"[a-z0-9_]+")
CJK_RUN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
CJK_CHAR_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def query_terms(query: str) -> list[str]:
    """Chinese runs and English words of a query, normalised as the documents are."""
    q = normalize(query)
    return CJK_RUN_RE.findall(q) + WORD_RE.findall(CJK_RUN_RE.sub(" ", q))


class SearchIndex:
    """Postings are built on first use (or by `build()` in the background after a load), not at load time:
    loading must stay fast, and a filtered query can answer by scanning just its candidates."""

    SCAN_BELOW = 2000  # candidates from other filters: below this, a direct substring scan is cheaper

    def __init__(self, documents: Sequence[str]) -> None:
        self._raw = documents
        self._docs: list[str | None] = [None] * len(documents)
        self._chars: dict[str, frozenset[int]] | None = None
        self._words: dict[str, frozenset[int]] = {}
        self._lock = threading.Lock()

    def _doc(self, i: int) -> str:
        doc = self._docs[i]
        if doc is None:
            doc = self._docs[i] = normalize(self._raw[i])
        return doc

    def build(self) -> None:
        with self._lock:
            if self._chars is not None:
                return
            chars: dict[str, list[int]] = defaultdict(list)
            words: dict[str, list[int]] = defaultdict(list)
            for i in range(len(self._raw)):
                doc = self._doc(i)
                for ch in set(CJK_CHAR_RE.findall(doc)):
                    chars[ch].append(i)
                for word in set(WORD_RE.findall(doc)):
                    words[word].append(i)
            self._words = {k: frozenset(v) for k, v in words.items()}
            self._chars = {k: frozenset(v) for k, v in chars.items()}

    def search_terms(self, terms: Sequence[str], within: set[int] | None = None) -> set[int]:
        """Indices of documents containing every term (among `within` if given)."""
        if self._chars is None and within is not None and len(within) < self.SCAN_BELOW:
            # Not built yet (the warm-up thread builds it): scanning a few candidates beats building now.
            return {i for i in within if all(self._contains(i, t) for t in terms)}
        self.build()
        assert self._chars is not None
        candidates: set[int] | None = within
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
        return {i for i in candidates if all(self._contains(i, t) for t in terms)}

    def _contains(self, i: int, term: str) -> bool:
        return term in self._doc(i)

    def _prefix(self, term: str) -> frozenset[int]:
        # English words may be typed partially ("normaliz"); fall back to a prefix scan of the vocabulary.
        hits: set[int] = set()
        for word, postings in self._words.items():
            if word.startswith(term):
                hits |= postings
        return frozenset(hits)


def question_text(q) -> str:
    """What search looks at: never the answer, key points or explanation."""
    return " ".join((q.id, q.title, q.prompt, *q.topics, *q.tags, *(o.text for o in q.options)))


class ShardedIndex:
    """One SearchIndex per bank file, at its offset in the content's question list. A reload re-parses
    only the files that changed, and with them rebuilds only their shards."""

    def __init__(self, parts: Sequence[tuple[int, int, SearchIndex]]) -> None:
        self._parts = parts  # (offset, size, index)

    def build(self) -> None:
        for _, _, index in self._parts:
            index.build()

    def search(self, query: str, within: set[int] | None = None) -> set[int] | None:
        terms = query_terms(query)
        if not terms:
            return None
        ordered = None if within is None else sorted(within)
        found: set[int] = set()
        for offset, size, index in self._parts:
            local = None
            if ordered is not None:  # this shard's slice of the candidates, found by bisection
                part = ordered[bisect_left(ordered, offset):bisect_left(ordered, offset + size)]
                if not part:
                    continue
                local = {i - offset for i in part}
            found.update(i + offset for i in index.search_terms(terms, within=local))
        return found
