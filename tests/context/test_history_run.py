"""History preparation inside a real run: SimpleAgent sends the fitted
history and the run reports ``context.clamped``."""

from __future__ import annotations

from pathlib import Path

from sagents.events import ContextClamped
from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.store.records import MessageRecord, SessionRecord, new_id
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import RuntimeFactory, make_settings


async def test_long_session_is_clamped_and_keeps_the_relevant_message(
    tmp_path: Path, make_runtime: RuntimeFactory
) -> None:
    llm = ScriptedLLM([Turn(role="simple", text="It was Atlas.")])
    settings = make_settings(tmp_path, llm_context_window=1024, history_recent_turns=1)
    rt = await make_runtime(llm, settings=settings)
    session = SessionRecord(id=new_id("ses"), user_id="u1")
    await rt.store.create_session(session)
    old = "Our deployment server is nicknamed Atlas and runs in the Frankfurt region."
    history = [old, "Thanks."]
    for i in range(40):
        history += [f"Question {i} about pasta recipes and sauces?", "Answer: " + "tomato " * 30]
    await rt.store.add_messages(
        [
            MessageRecord(
                id=new_id("msg"),
                session_id=session.id,
                role="user" if n % 2 == 0 else "assistant",
                content=text,
            )
            for n, text in enumerate(history)
        ]
    )
    request = RunRequest.model_validate(
        {
            "deep_thinking": False,
            "multi_agent": False,
            "message": "What is our deployment server nicknamed?",
            "session_id": session.id,
        }
    )
    events = [e async for e in SAgent(rt).run_stream(request, "u1")]
    assert events[-1].type == "run.finished"
    [clamped] = [e for e in events if isinstance(e, ContextClamped)]
    assert clamped.agent == "simple"
    assert clamped.dropped > 0 and clamped.tokens <= clamped.token_budget == 1024 - 256
    sent = llm.requests_for("simple")[0].messages
    assert len(sent) == 1 + clamped.kept < len(history)
    contents = [m["content"] for m in sent]
    assert old in contents
    assert contents[-1] == "What is our deployment server nicknamed?"
