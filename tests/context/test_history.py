"""History preparation: the budget holds, tool pairs stay together, BM25
brings back what is relevant, and the per-session index grows incrementally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagents.context.history import HistoryPreparer
from sagents.context.tokens import REPLY_PRIMING, TokenCounters, message_tokens, tools_tokens
from sagents.store.records import MessageRecord, new_id
from tests.conftest import make_settings

SYSTEM = {"role": "system", "content": "You are Sage, a capable assistant."}
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "river",
    "mountain",
    "data",
    "engine",
    "parser",
    "token",
    "budget",
    "cloud",
]
COUNTERS = TokenCounters()  # loading the encoding once keeps the property test fast


def msg(role: str, content: str | None = None, **extra: Any) -> MessageRecord:
    return MessageRecord(id=new_id("msg"), session_id="s", role=role, content=content, **extra)


def preparer(tmp_path: Path, **overrides: Any) -> HistoryPreparer:
    return HistoryPreparer(make_settings(tmp_path, **overrides), counters=COUNTERS)


texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=60).map(" ".join)


@st.composite
def conversations(draw: st.DrawFn) -> list[MessageRecord]:
    """Turns of many shapes; the last message is the new user request, as at
    the start of a run."""
    records: list[MessageRecord] = []
    for _ in range(draw(st.integers(0, 12))):
        records.append(msg("user", draw(texts)))
        for _ in range(draw(st.integers(0, 2))):  # tool rounds
            calls = [
                {
                    "id": new_id("call"),
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"q": draw(texts)})},
                }
                for _ in range(draw(st.integers(1, 3)))
            ]
            records.append(msg("assistant", draw(st.none() | texts), tool_calls=calls))
            for call in calls:
                records.append(msg("tool", draw(texts), tool_call_id=call["id"], name="lookup"))
        if draw(st.booleans()):
            records.append(msg("assistant", draw(texts)))
    records.append(msg("user", draw(texts)))
    return records


def assert_pairs_intact(sent: list[dict[str, Any]]) -> None:
    calls = {c["id"] for m in sent for c in m.get("tool_calls") or []}
    results = {m["tool_call_id"] for m in sent if m["role"] == "tool"}
    assert calls == results


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=conversations(), slack=st.integers(0, 3000), recent=st.integers(1, 4))
def test_budget_never_exceeded_and_tool_pairs_intact(
    tmp_path: Path, records: list[MessageRecord], slack: int, recent: int
) -> None:
    prep = preparer(tmp_path, history_recent_turns=recent)
    counter = COUNTERS.for_model("gpt-4o")
    fixed = message_tokens(counter, SYSTEM) + tools_tokens(counter, TOOLS) + REPLY_PRIMING
    budget = fixed + 120 + slack
    out = prep.prepare(
        session_id=new_id("ses"),
        records=records,
        query=records[-1].content or "",
        system=SYSTEM,
        model="gpt-4o",
        tools=TOOLS,
        budget=budget,
    )
    sent = out.messages
    recount = fixed + sum(message_tokens(counter, m) for m in sent[1:])
    assert recount == out.tokens <= budget
    assert sent[0] == SYSTEM
    assert_pairs_intact(sent[1:])
    # The new request is always there, and the kept messages keep their order.
    assert sent[-1]["role"] == "user"
    originals = [r.to_openai() for r in records]
    unshortened = [m for m in sent[1:] if not m["content"] or "context window]" not in m["content"]]
    remaining = iter(originals)
    assert all(any(m == o for o in remaining) for m in unshortened)  # a subsequence
    assert out.kept + out.dropped == len(records)
    if fixed + sum(message_tokens(counter, m) for m in originals) <= budget:
        assert out.dropped == 0 and out.truncated == 0


def filler(n: int) -> list[MessageRecord]:
    topics = ["sourdough bread baking", "marathon training plans", "tax forms for freelancers"]
    out = []
    for i in range(n):
        topic = topics[i % len(topics)]
        out += [
            msg("user", f"Tell me more about {topic}, part {i}."),
            msg("assistant", f"Here is part {i} about {topic}: " + "details " * 40),
        ]
    return out


def test_bm25_brings_back_the_relevant_old_message_not_the_irrelevant_one(tmp_path: Path) -> None:
    relevant = msg("user", "My cat is called Whiskers and she is a grey Maine Coon.")
    irrelevant = msg("user", "The weather in Lisbon was sunny and warm last spring.")
    records = [
        relevant,
        msg("assistant", "Noted, a lovely name."),
        irrelevant,
        msg("assistant", "Sounds pleasant."),
        *filler(30),
        msg("user", "What breed is my cat Whiskers again?"),
    ]
    prep = preparer(tmp_path, history_recent_turns=2)
    counter = COUNTERS.for_model("gpt-4o")
    recent_cost = sum(message_tokens(counter, r.to_openai()) for r in records[-3:])
    budget = message_tokens(counter, SYSTEM) + REPLY_PRIMING + recent_cost + 40
    out = prep.prepare(
        session_id="s1",
        records=records,
        query=records[-1].content or "",
        system=SYSTEM,
        model="gpt-4o",
        budget=budget,
    )
    contents = [m["content"] for m in out.messages]
    assert relevant.content in contents
    assert irrelevant.content not in contents
    assert out.dropped > 0 and out.tokens <= budget
    assert contents[-1] == records[-1].content


def test_everything_is_sent_when_it_fits(tmp_path: Path) -> None:
    records = [*filler(3), msg("user", "and now?")]
    out = preparer(tmp_path).prepare(
        session_id="s", records=records, query="and now?", system=SYSTEM, model="m"
    )
    assert out.messages[1:] == [r.to_openai() for r in records]
    assert not out.clamped


def test_an_oversized_request_is_shortened_to_fit(tmp_path: Path) -> None:
    records = [msg("user", "word " * 5000)]
    out = preparer(tmp_path).prepare(
        session_id="s", records=records, query="word", system=SYSTEM, model="gpt-4o", budget=600
    )
    assert out.truncated == 1 and out.tokens <= 600
    assert out.messages[-1]["content"].endswith("context window]")


def test_index_grows_incrementally_per_session(tmp_path: Path) -> None:
    prep = preparer(tmp_path, history_recent_turns=1)
    records = [*filler(20), msg("user", "sourdough?")]
    kwargs: dict[str, Any] = {"system": SYSTEM, "model": "gpt-4o", "budget": 400}
    prep.prepare(session_id="s", records=records, query="sourdough", **kwargs)
    assert prep.indexed("s") == len(records)
    records += [msg("assistant", "Yes."), msg("user", "marathon?")]
    prep.prepare(session_id="s", records=records, query="marathon", **kwargs)
    assert prep.indexed("s") == len(records)
    # A history that does not extend the indexed one (another process wrote
    # it) is indexed afresh rather than mixed up.
    other = [*filler(2), msg("user", "x")]
    prep.prepare(session_id="s", records=other, query="x", **kwargs)
    assert prep.indexed("s") in (0, len(other))


def test_context_windows_per_model(tmp_path: Path) -> None:
    prep = preparer(
        tmp_path,
        llm_context_windows={"gpt-4o": 128_000, "llama3": 8192},
        llm_context_window=16_384,
        llm_output_reserve_tokens=4096,
    )
    assert prep.budget_for("gpt-4o-2024-08-06") == 128_000 - 4096
    assert prep.budget_for("llama3") == 8192 - 2048  # reserve capped at a quarter
    assert prep.budget_for("unknown") == 16_384 - 4096


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=conversations(), budget=st.integers(150, 1500), query=texts)
def test_a_grown_index_chooses_exactly_what_a_fresh_one_does(
    tmp_path: Path, records: list[MessageRecord], budget: int, query: str
) -> None:
    """Units, token costs and BM25 postings are extended message by message;
    at every length the choice must equal one made from scratch."""
    grown = preparer(tmp_path, history_recent_turns=1)
    kwargs: dict[str, Any] = {"system": SYSTEM, "model": "gpt-4o", "budget": budget}
    for end in range(1, len(records) + 1):
        prefix = records[:end]
        incremental = grown.prepare(session_id="s", records=prefix, query=query, **kwargs)
        fresh = preparer(tmp_path, history_recent_turns=1).prepare(
            session_id="s", records=prefix, query=query, **kwargs
        )
        assert (incremental, incremental.tokens) == (fresh, fresh.tokens)
