"""Token counters: the bound is never below the count, and the cache of
reused texts is shared per model kind and bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sagents.context.tokens import (
    REUSED_CHARS,
    REUSED_ENTRIES,
    EstimateCounter,
    TiktokenCounter,
    TokenCounter,
    TokenCounters,
)

COUNTERS = TokenCounters()
TRICKY = [
    "",
    "plain English prose, the kind cl100k packs four characters into a token",
    "😀🎉👩‍👩‍👧‍👦 emoji take several tokens per character",
    "日本語のテキストと中文文本",
    "lone surrogates \ud800 and \udfff, and a pair \ud83d\ude00",
    "<|endoftext|> typed by a user",
    "😀🎉" * 10,
    '{"a": [1, 2, 3], "b": {"c": null}}',
]


def tiktoken_counters() -> list[TiktokenCounter]:
    counters = [COUNTERS.for_model("gpt-4o"), COUNTERS.for_model("llama3")]
    assert all(isinstance(c, TiktokenCounter) for c in counters)
    return [c for c in counters if isinstance(c, TiktokenCounter)]


@settings(deadline=None)  # the first example loads the encoding
@given(text=st.text(alphabet=st.characters(exclude_categories=())) | st.sampled_from(TRICKY))
def test_the_bound_is_never_below_the_count(text: str) -> None:
    counters: list[TokenCounter] = [*tiktoken_counters(), EstimateCounter()]
    for counter in counters:
        assert counter.bound(text) >= counter.count(text)


def test_the_bound_holds_where_characters_would_not() -> None:
    """An emoji is one character and several tokens: a bound on characters
    would be too low, one on UTF-8 bytes is not. (The generated texts above
    include lone surrogates, which ``str.encode`` refuses without
    ``surrogatepass``.)"""
    for counter in tiktoken_counters():
        for text in TRICKY:
            assert counter.bound(text) >= counter.count(text)
        assert counter.count("😀🎉" * 10) > 20


def test_a_reused_text_is_counted_once_per_model_kind() -> None:
    counters = TokenCounters()
    text = "You are Sage, a capable assistant. " * 20
    first = counters.for_model("gpt-4o")
    assert isinstance(first, TiktokenCounter)
    first.count("warm up")
    n = first.count_reused(text)
    encoded = first.encoded_chars
    again = counters.for_model("gpt-4o-mini")  # the same counter, and its cache
    assert isinstance(again, TiktokenCounter)
    assert again.count_reused(text) == n == first.count(text)
    assert again.encoded_chars == first.encoded_chars == encoded + len(text)


def test_the_reused_cache_is_bounded_in_entries_and_characters() -> None:
    counter = TokenCounters().for_model("gpt-4o")
    assert isinstance(counter, TiktokenCounter)
    for i in range(REUSED_ENTRIES * 2):
        counter.count_reused(f"prompt number {i}")
    assert counter.reused == REUSED_ENTRIES
    big = "x" * (REUSED_CHARS // 3)
    for i in range(5):
        counter.count_reused(big + str(i))
    assert counter.reused <= 3
    assert sum(len(t) for t in counter._reused) <= REUSED_CHARS
