"""Estimated usage counts the whole output while holding only its start."""

from __future__ import annotations

from sagents.context.tokens import TokenCounters
from sagents.llm.types import LLMChunk, ReasoningDelta, TextDelta, ToolCallDelta, UsageReport
from sagents.llm.usage import HELD_BATCHES, OutputSample, count_usage


def test_a_short_output_is_counted_exactly() -> None:
    counter = TokenCounters().for_model("gpt-4o")
    sample = OutputSample(limit=1000)
    for word in ["Paris ", "is ", "the ", "capital."]:
        sample.add(word)
    assert sample.tokens(counter.count) == counter.count("Paris is the capital.")


def test_a_long_output_is_held_only_up_to_the_sample_and_scaled() -> None:
    counter = TokenCounters().for_model("gpt-4o")
    sample = OutputSample(limit=10_000)
    piece = "lorem ipsum dolor sit amet " * 40  # 1,080 characters
    for _ in range(1_000):  # about 1 MB in all
        sample.add(piece)
    assert sample.kept == 10_000 and sum(len(p) for p in sample.parts) == 10_000
    assert sample.total == 1_080_000
    exact = counter.count(piece * 1_000)
    assert abs(sample.tokens(counter.count) - exact) < exact * 0.02


def test_the_report_is_marked_estimated() -> None:
    sample = OutputSample()
    sample.add("Hello there.")
    report = count_usage(
        TokenCounters(), "gpt-4o", [{"role": "user", "content": "hi"}], None, sample
    )
    assert report.estimated and report.output_tokens > 0 and report.input_tokens > 0


def test_held_batches_are_counted_and_never_pile_up() -> None:
    counter = TokenCounters().for_model("gpt-4o")
    sample = OutputSample(limit=1_000)
    batch: list[LLMChunk] = [
        TextDelta("Paris "),
        ReasoningDelta("hm "),
        ToolCallDelta(index=0, arguments='{"x":1}'),
        UsageReport("gpt-4o", 1, 2),
    ]
    sample.hold(batch)
    assert sample.tokens(counter.count) == counter.count('Paris hm {"x":1}')
    for _ in range(10 * HELD_BATCHES):
        sample.hold(batch)
    assert sample.kept <= 1_000 and sample.total == 16 * (1 + 10 * HELD_BATCHES)
