"""Memory recall and the background extraction are traced (real Chroma,
the shipped embedder)."""

from __future__ import annotations

from sagents.request import RunRequest
from sagents.sagent import SAgent
from sagents.testing import ScriptedLLM, Turn
from tests.observability.conftest import Traced, TracedFactory


async def test_recall_and_extraction_spans(traced: TracedFactory) -> None:
    llm = ScriptedLLM(
        [
            Turn(role="simple", text="Noted."),
            Turn(role="memory", json={"memories": [{"text": "Likes tea", "kind": "preference"}]}),
        ]
    )
    t: Traced = await traced(llm, memory_extract=True)
    request = RunRequest(message="I like tea.", deep_thinking=False, multi_agent=False)
    events = [e async for e in SAgent(t.rt).run_stream(request, "u1")]
    assert t.rt.memory_extractor is not None
    await t.rt.memory_extractor.wait_idle()

    (recall,) = t.named("memory.recall")
    (root,) = t.named("invoke_workflow default")
    assert recall.parent is not None and recall.parent.span_id == root.context.span_id
    (extract,) = t.named("memory.extract")
    attributes = extract.attributes or {}
    assert attributes["sage.run.id"] == events[0].run_id
    assert attributes["sage.run.trace_id"] == events[0].trace_id
    assert attributes["sage.memory.stored"] == 1
    # The job's LLM call is traced as a run's are, under the job's span.
    (ask,) = [
        s
        for s in t.spans()
        if s.name.startswith("chat ")
        and s.parent is not None
        and s.parent.span_id == extract.context.span_id
    ]
    assert (ask.attributes or {})["sage.llm.role"] == "memory"
