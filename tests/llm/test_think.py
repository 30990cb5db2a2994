"""<think> blocks at the start of the content become reasoning, however the
network cuts the tags."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from sagents.llm.think import ThinkSplitter
from sagents.llm.types import LLMChunk, ReasoningDelta, TextDelta, UsageReport


def run(pieces: list[str]) -> tuple[str, str, list[LLMChunk]]:
    splitter = ThinkSplitter()
    out: list[LLMChunk] = []
    for piece in pieces:
        out += splitter.split([TextDelta(piece)])
    out += splitter.flush()
    reasoning = "".join(c.text for c in out if isinstance(c, ReasoningDelta))
    text = "".join(c.text for c in out if isinstance(c, TextDelta))
    return reasoning, text, out


def cuts(text: str, points: list[int]) -> list[str]:
    marks = sorted({p % (len(text) + 1) for p in points})
    bounds = [0, *marks, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


CONTENT = "<think>\nThe user greets me. </thinking> is not the end.\n</think>\n\nHello!"


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_cut_of_the_tags_gives_the_same_split(points: list[int]) -> None:
    reasoning, text, _ = run(cuts(CONTENT, points))
    assert reasoning == "\nThe user greets me. </thinking> is not the end.\n"
    assert text == "Hello!"


@given(st.lists(st.integers(min_value=0, max_value=80), max_size=8))
def test_content_without_a_leading_block_is_left_alone(points: list[int]) -> None:
    content = "  Use <think> tags </think> in HTML? No."
    reasoning, text, _ = run(cuts(content, points))
    assert (reasoning, text) == ("", content)


def test_the_tag_split_in_two_reads() -> None:
    reasoning, text, _ = run(["<thi", "nk>\nhmm", "</th", "ink>\n\nYes."])
    assert (reasoning, text) == ("\nhmm", "Yes.")


def test_an_unclosed_block_is_all_reasoning_and_a_lone_prefix_is_text() -> None:
    assert run(["<think>still thinking"])[:2] == ("still thinking", "")
    assert run(["<th"])[:2] == ("", "<th")
    assert run(["   "])[:2] == ("", "   ")


def test_other_parts_pass_through_and_text_after_the_block_is_not_held() -> None:
    splitter = ThinkSplitter()
    usage = UsageReport("m", 1, 2)
    assert splitter.split([TextDelta("<think>a</think>b"), usage]) == [
        ReasoningDelta("a"),
        TextDelta("b"),
        usage,
    ]
    assert splitter.done
    assert splitter.split([TextDelta("<think>c</think>")]) == [TextDelta("<think>c</think>")]
