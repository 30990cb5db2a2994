import json

from sagents.context.messages import CANCELLED_TOOL_RESULT, MessageManager


def test_completed_draft_with_tool_calls_is_openai_shaped() -> None:
    mm = MessageManager("s1")
    draft = mm.open_draft(run_id="r1", agent="simple", kind="answer")
    draft.parts.append("Let me add. ")
    draft.add_tool_delta(0, "call_a", "add", '{"a": 1,')
    draft.add_tool_delta(0, None, None, ' "b": 2}')
    record = mm.complete(draft)
    assert record.to_openai() == {
        "role": "assistant",
        "content": "Let me add. ",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
            }
        ],
    }
    assert mm.interrupt_open(run_id="r1")[0].tool_call_id == "call_a"


def test_interrupt_keeps_partial_text_and_pairs_every_open_tool_call() -> None:
    mm = MessageManager("s1")
    mm.add_user("hi", run_id="r1")
    first = mm.open_draft(run_id="r1", agent="simple", kind="answer")
    first.add_tool_delta(0, "c1", "slow", "{}")
    first.add_tool_delta(1, "c2", "fast", "{}")
    mm.complete(first)
    mm.add_tool_result("c2", "fast", "done", run_id="r1", agent="simple")
    partial = mm.open_draft(run_id="r1", agent="simple", kind="answer")
    partial.parts.append("The answer is")
    partial.add_tool_delta(0, "c3", "half", '{"x": ')  # arguments cut mid-stream

    saved = mm.interrupt_open(run_id="r1")

    assert [(m.role, m.interrupted) for m in saved] == [("assistant", True), ("tool", True)]
    assert saved[0].content == "The answer is"
    assert saved[0].tool_calls is None  # the half-streamed call was never made
    assert saved[1].tool_call_id == "c1" and saved[1].content == CANCELLED_TOOL_RESULT
    history = mm.to_openai()
    call_ids = {c["id"] for m in history for c in m.get("tool_calls") or []}
    result_ids = {m["tool_call_id"] for m in history if m["role"] == "tool"}
    assert call_ids == result_ids == {"c1", "c2"}
    assert mm.interrupt_open(run_id="r1") == []  # idempotent


def test_empty_draft_is_dropped_on_interrupt() -> None:
    mm = MessageManager("s1")
    mm.open_draft(run_id="r1", agent="simple", kind="answer")
    assert mm.interrupt_open(run_id="r1") == []
    assert len(mm) == 0


def test_tool_call_arguments_default_to_empty_object() -> None:
    mm = MessageManager("s1")
    draft = mm.open_draft(run_id="r1", agent="a", kind="answer")
    draft.add_tool_delta(0, "c1", "now", "")
    record = mm.complete(draft)
    assert record.tool_calls is not None
    assert json.loads(record.tool_calls[0]["function"]["arguments"]) == {}
