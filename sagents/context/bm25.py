"""An incrementally updated BM25 index over one session's messages.

rank-bm25 builds its statistics in the constructor, so using it as is would
re-tokenise the whole session on every request. ``IncrementalBM25`` reuses its
scoring (``BM25Okapi.get_scores``) and its idf formula (``_calc_idf``) but
keeps the per-document statistics between requests: adding a message
tokenises that message only, and the idf table (which depends on the corpus
size, so it changes with every document) is recomputed from the kept
document frequencies once per query, which is O(vocabulary), not O(text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")

_STOPWORD_TEXT = (
    "a an and are as at be but by do does for from had has have he her his how i if in is "
    "it its me my no not of on or our she so that the their them then there these they this "
    "to was we were what when where which who why will with you your"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""Function words that match nearly every message; left out so that a shared
"the" never brings an unrelated old message back."""


def tokenize(text: str) -> list[str]:
    """Lower-cased words; CJK text (written without spaces) as single
    characters, so Chinese or Japanese requests can match too."""
    tokens: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _CJK.search(word):
            tokens.extend(ch for ch in word if not ch.isspace())
        elif word not in STOPWORDS and len(word) > 1:
            tokens.append(word)
    return tokens


class IncrementalBM25(BM25Okapi):  # type: ignore[misc]  # rank_bm25 ships no types
    """BM25Okapi that grows one document at a time."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        # BM25's constructor requires a non-empty corpus; set its state directly.
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self.corpus_size = 0
        self.avgdl = 0.0
        self.doc_freqs: list[dict[str, int]] = []
        self.idf: dict[str, float] = {}
        self.doc_len: list[int] = []
        self.tokenizer = None
        self._nd: dict[str, int] = {}
        self._total_len = 0
        self._idf_stale = False

    def __len__(self) -> int:
        return int(self.corpus_size)

    def add(self, documents: Sequence[list[str]]) -> None:
        if not documents:
            return
        new_nd: dict[str, int] = self._initialize(list(documents))
        for word, count in new_nd.items():
            self._nd[word] = self._nd.get(word, 0) + count
        self._total_len += sum(len(doc) for doc in documents)
        # _initialize sets avgdl from the new batch only; correct it.
        self.avgdl = self._total_len / self.corpus_size
        self._idf_stale = True

    def scores(self, query: list[str]) -> np.ndarray:
        """BM25 score of every document, in insertion order."""
        if not self.corpus_size or not query or not self._total_len:
            return np.zeros(self.corpus_size)
        if self._idf_stale:
            self.idf = {}
            if self._nd:
                self._calc_idf(self._nd)
            self._idf_stale = False
        result: np.ndarray = self.get_scores(query)
        return result
