"""An incrementally updated BM25 index over one session's messages.

rank-bm25's ``BM25Okapi`` is right for a small corpus scored once (skill
disclosure uses it), but for a session's history it does two things per
request that grow with the session: it rebuilds its statistics in the
constructor, and ``get_scores`` walks every document for every query term in
Python. At 10,000 messages that was ~25 ms of a request. This index keeps
postings (term → the documents containing it), so adding a message touches
that message only and a query touches only the documents that share a term
with it. The scores are rank-bm25's Okapi scores, formula for formula
(including its floor for negative idf), which ``tests/context/test_bm25.py``
checks against ``BM25Okapi`` itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

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
    words = _WORD.findall(text.lower())
    if not _CJK.search(text):  # the common case: one check per text, not per word
        return [w for w in words if len(w) > 1 and w not in STOPWORDS]
    tokens: list[str] = []
    for word in words:
        if _CJK.search(word):
            tokens.extend(ch for ch in word if not ch.isspace())
        elif word not in STOPWORDS and len(word) > 1:
            tokens.append(word)
    return tokens


class IncrementalBM25:
    """BM25 (Okapi) over documents added one at a time, scored sparsely."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self.doc_len: list[int] = []
        self._postings: dict[str, list[tuple[int, int]]] = {}
        """term → (document, term frequency), in document order."""
        self._total_len = 0

    def __len__(self) -> int:
        return len(self.doc_len)

    def add(self, documents: Sequence[list[str]]) -> None:
        postings = self._postings
        for document in documents:
            doc = len(self.doc_len)
            self.doc_len.append(len(document))
            self._total_len += len(document)
            for term, tf in Counter(document).items():
                entry = postings.get(term)
                if entry is None:
                    postings[term] = [(doc, tf)]
                else:
                    entry.append((doc, tf))

    def idf(self, term: str) -> float:
        """rank-bm25's Okapi idf, including its floor: a term in more than
        half the documents gets ``epsilon`` × the corpus's average idf."""
        n_docs = len(self.doc_len)
        n = len(self._postings.get(term, ()))
        value = math.log(n_docs - n + 0.5) - math.log(n + 0.5)
        if value >= 0:
            return value
        return self.epsilon * self._average_idf()

    def _average_idf(self) -> float:
        # O(vocabulary); only reached for terms in most documents.
        n_docs = len(self.doc_len)
        total = sum(
            math.log(n_docs - len(p) + 0.5) - math.log(len(p) + 0.5)
            for p in self._postings.values()
        )
        return total / len(self._postings)

    def scores(self, query: list[str]) -> dict[int, float]:
        """Each document's score for ``query``; documents sharing no term
        with it score 0 and are left out."""
        out: dict[int, float] = {}
        if not self.doc_len or not self._total_len:
            return out
        k1, b = self.k1, self.b
        avgdl = self._total_len / len(self.doc_len)
        doc_len = self.doc_len
        for term in query:  # a repeated term counts again, as in rank-bm25
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = self.idf(term)
            for doc, tf in posting:
                norm = tf + k1 * (1 - b + b * doc_len[doc] / avgdl)
                out[doc] = out.get(doc, 0.0) + idf * (tf * (k1 + 1) / norm)
        return out
