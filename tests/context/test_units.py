"""The second line: whatever the store holds, the history sent to the LLM
pairs every tool call with a result right after it and sends no result
without its call, within the token budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagents.context.tokens import REPLY_PRIMING, message_tokens, tools_tokens
from sagents.context.units import MISSING_TOOL_RESULT, well_formed
from sagents.store.records import MessageRecord
from sagents.testing.strict import tool_pairing_violation
from tests.context.test_history import COUNTERS, SYSTEM, TOOLS, conversations, msg, preparer


def call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "lookup", "arguments": "{}"}}


def calling(*ids: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}


def result(call_id: str, content: str = "found") -> dict[str, Any]:
    return {"role": "tool", "content": content, "tool_call_id": call_id, "name": "lookup"}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def test_a_result_stored_late_is_sent_right_after_its_call() -> None:
    stored = [user("q"), calling("a"), user("next"), result("a")]
    assert well_formed(stored) == [user("q"), calling("a"), result("a"), user("next")]


def test_a_call_without_a_result_gets_a_synthetic_one_after_the_real_ones() -> None:
    stored = [user("q"), calling("a", "b"), result("b"), user("next")]
    sent = well_formed(stored)
    assert sent[:3] == [user("q"), calling("a", "b"), result("b")]
    assert sent[3] == {
        "role": "tool",
        "content": MISSING_TOOL_RESULT,
        "tool_call_id": "a",
        "name": "lookup",
    }
    assert sent[4] == user("next")
    assert tool_pairing_violation(sent) is None


def test_results_without_their_call_and_repeated_results_are_left_out() -> None:
    stored = [user("q"), result("ghost"), calling("a"), result("a"), result("a", "again")]
    assert well_formed(stored) == [user("q"), calling("a"), result("a")]


def test_a_well_formed_history_is_sent_as_stored() -> None:
    stored = [user("q"), calling("a", "b"), result("b"), result("a"), user("next")]
    assert well_formed(stored) == stored


def record(message: dict[str, Any]) -> MessageRecord:
    fields = {k: v for k, v in message.items() if k in ("tool_calls", "tool_call_id", "name")}
    return msg(message["role"], message["content"], **fields)


def test_results_of_a_call_cut_by_the_budget_are_not_sent(tmp_path: Path) -> None:
    """The old tool round does not fit: its call and its (late-stored)
    result go together, so no result is sent without its call."""
    big = "lookup result " * 200
    stored = [
        user("old question"),
        calling("old"),
        user("newer question " * 5),
        result("old", big),
        {"role": "assistant", "content": "newer answer"},
        user("the request"),
    ]
    out = preparer(tmp_path, history_recent_turns=2).prepare(
        session_id="s",
        records=[record(m) for m in stored],
        query="request",
        system=SYSTEM,
        model="gpt-4o",
        budget=300,
    )
    sent = out.messages[1:]
    assert all(m["role"] != "tool" for m in sent)
    assert all(not m.get("tool_calls") for m in sent)
    assert out.dropped == 2 and out.kept == 4 and out.tokens <= 300
    assert tool_pairing_violation(sent) is None


@st.composite
def damaged(draw: st.DrawFn) -> list[MessageRecord]:
    """A conversation as a crash, an older version or a bug might have left
    it: results lost, stored late, repeated, or answering nothing."""
    records = draw(conversations())
    history, request = records[:-1], records[-1]
    for _ in range(draw(st.integers(0, 4))):
        results = [i for i, r in enumerate(history) if r.role == "tool"]
        action = draw(st.sampled_from(["lose", "late", "repeat", "orphan"]))
        if action == "orphan" or not results:
            spot = draw(st.integers(0, len(history)))
            history.insert(spot, msg("tool", "stray", tool_call_id="nobody", name="lookup"))
            continue
        i = draw(st.sampled_from(results))
        if action == "lose":
            del history[i]
        elif action == "late":
            moved = history.pop(i)
            history.insert(draw(st.integers(i, len(history))), moved)
        else:
            copy = history[i]
            history.insert(i + 1, msg("tool", "again", tool_call_id=copy.tool_call_id, name="x"))
    return [*history, request]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=damaged(), slack=st.integers(0, 3000), recent=st.integers(1, 4))
def test_a_damaged_history_is_sent_well_formed_within_the_budget(
    tmp_path: Path, records: list[MessageRecord], slack: int, recent: int
) -> None:
    counter = COUNTERS.for_model("gpt-4o")
    fixed = message_tokens(counter, SYSTEM) + tools_tokens(counter, TOOLS) + REPLY_PRIMING
    budget = fixed + 160 + slack
    out = preparer(tmp_path, history_recent_turns=recent).prepare(
        session_id="s",
        records=records,
        query=records[-1].content or "",
        system=SYSTEM,
        model="gpt-4o",
        tools=TOOLS,
        budget=budget,
    )
    sent = out.messages[1:]
    assert tool_pairing_violation(sent) is None
    assert fixed + sum(message_tokens(counter, m) for m in sent) == out.tokens <= budget
    assert out.kept + out.dropped + out.discarded == len(records)
    assert out.kept + out.synthesized == len(sent)
    assert sum(m["content"] == MISSING_TOOL_RESULT for m in sent) == out.synthesized
    assert sent[-1]["role"] == "user"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=damaged(), budget=st.integers(150, 1500))
def test_a_grown_index_repairs_exactly_like_a_fresh_one(
    tmp_path: Path, records: list[MessageRecord], budget: int
) -> None:
    """Results arrive one by one as the index grows: placeholders must be
    swapped for them exactly as a fresh index would have it."""
    grown = preparer(tmp_path, history_recent_turns=1)
    kwargs: dict[str, Any] = {"system": SYSTEM, "model": "gpt-4o", "budget": budget, "query": "q"}
    for end in range(1, len(records) + 1):
        prefix = records[:end]
        incremental = grown.prepare(session_id="s", records=prefix, **kwargs)
        fresh = preparer(tmp_path, history_recent_turns=1).prepare(
            session_id="s", records=prefix, **kwargs
        )
        assert (incremental, incremental.tokens) == (fresh, fresh.tokens)
        assert tool_pairing_violation(incremental.messages[1:]) is None


def test_json_of_the_synthetic_result_is_what_a_stored_one_looks_like() -> None:
    """Same keys as ``MessageRecord.to_openai`` of a tool message, so token
    counts and providers treat both alike."""
    stored = msg("tool", "x", tool_call_id="a", name="lookup").to_openai()
    synthetic = well_formed([calling("a")])[1]
    assert list(synthetic) == list(stored)
    assert json.dumps(synthetic)  # plain JSON
