"""The export after a restart reads the run's events from the store's
durable event log."""

from __future__ import annotations

import json
from pathlib import Path

from sagents.observability.export import export_session
from sagents.request import RunRequest
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, Turn
from tests.conftest import make_settings


async def test_export_after_a_restart_has_the_stored_events(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    rt = await Runtime.create(settings, llm=ScriptedLLM([Turn(role="simple", text="Hi.")]))
    try:
        request = RunRequest(message="hello", deep_thinking=False, multi_agent=False)
        events = [e async for e in SAgent(rt).run_stream(request, "u1")]
    finally:
        await rt.aclose()
    rt = await Runtime.create(settings, llm=ScriptedLLM())
    try:
        session = await rt.store.get_session("u1", events[0].session_id)
        assert session is not None
        lines = [json.loads(chunk) async for chunk in export_session(rt, session)]
    finally:
        await rt.aclose()
    (run,) = [line for line in lines if line["record"] == "run"]
    assert run["trace_id"] == events[0].trace_id
    exported = [line for line in lines if line["record"] == "event"]
    assert [e["type"] for e in exported] == [e.type for e in events]
    assert not [line for line in lines if line["record"] == "events_unavailable"]
