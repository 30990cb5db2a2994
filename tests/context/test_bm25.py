"""IncrementalBM25 scores exactly as rank-bm25's BM25Okapi, however it is grown."""

from __future__ import annotations

import pytest
from rank_bm25 import BM25Okapi

from sagents.context.bm25 import IncrementalBM25, tokenize

DOCS = [
    "The staging database password rotates every Tuesday",
    "Sourdough needs a long cold proof",
    "Marathon training: long runs on Sunday, tempo on Tuesday",
    "database backups run nightly; the staging database is smaller",
    "tax forms are due in April",
    "garden irrigation runs at dawn",
    "staging staging staging",
] * 3


@pytest.mark.parametrize(
    "query",
    [
        "When does the staging database password rotate?",
        "long runs Tuesday",
        "staging",  # in more than half the documents of a small corpus: the idf floor
        "nothing matches this",
        "database database",  # a repeated term counts twice
    ],
)
def test_scores_match_bm25okapi(query: str) -> None:
    corpus = [tokenize(d) for d in DOCS]
    expected = BM25Okapi(corpus).get_scores(tokenize(query))
    index = IncrementalBM25()
    for i in range(0, len(corpus), 4):  # grown in uneven batches
        index.add(corpus[i : i + 4])
    got = index.scores(tokenize(query))
    for doc, score in enumerate(expected):
        assert got.get(doc, 0.0) == pytest.approx(score, abs=1e-9)
    assert all(score != 0 for score in got.values())


def test_idf_floor_for_a_term_in_most_documents() -> None:
    index = IncrementalBM25()
    index.add([["common", "a1"], ["common", "b1"], ["common", "c1"], ["rare"]])
    assert index.idf("common") > 0  # floored to epsilon × average idf, not negative
    assert index.idf("rare") > index.idf("common")


def test_cjk_text_is_split_into_characters_and_stopwords_dropped() -> None:
    assert tokenize("The 数据库 password") == ["数", "据", "库", "password"]
    assert tokenize("What is the plan?") == ["plan"]
