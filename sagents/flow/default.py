"""The default flow (DESIGN.md §4) and the catalog that runs it.

This graph is the single source: ``sage flow`` and ``GET /api/v1/flow``
render this very object, and the executor walks it.
"""

from __future__ import annotations

from sagents.agents.analysis import TaskAnalysisAgent
from sagents.agents.decompose import TaskDecomposeAgent
from sagents.agents.executor import TaskExecutorAgent
from sagents.agents.judge import TaskCompletionJudgeAgent
from sagents.agents.observation import TaskObservationAgent
from sagents.agents.planning import TaskPlanningAgent
from sagents.agents.router import TaskRouterAgent
from sagents.agents.simple import SimpleAgent
from sagents.agents.skill_executor import SkillExecutorAgent
from sagents.agents.stage_summary import TaskStageSummaryAgent
from sagents.agents.suggest import QuerySuggestAgent
from sagents.agents.summary import TaskSummaryAgent
from sagents.agents.workflow_select import WorkflowSelectAgent
from sagents.flow.catalog import FlowCatalog
from sagents.flow.conditions import DEFAULT_CONDITIONS, TASK_LOOP_ID
from sagents.flow.nodes import AgentNode, Flow, IfNode, LoopNode, SequenceNode


def _agent(name: str) -> AgentNode:
    return AgentNode(agent=name)


def default_flow() -> Flow:
    task_loop = LoopNode(
        id=TASK_LOOP_ID,
        body=SequenceNode(
            steps=[
                _agent("planning"),
                _agent("executor"),
                _agent("observation"),
                _agent("judge"),
                _agent("stage_summary"),
            ]
        ),
        until="tasks_finished",
    )
    multi = SequenceNode(steps=[_agent("decompose"), task_loop, _agent("summary")])
    single = SequenceNode(
        steps=[
            IfNode(condition="skills_available", then=_agent("skill_executor")),
            _agent("simple"),
            IfNode(condition="force_summary", then=_agent("summary")),
        ]
    )
    return Flow(
        name="default",
        root=SequenceNode(
            steps=[
                IfNode(condition="many_workflows", then=_agent("workflow_select")),
                _agent("router"),
                IfNode(condition="deep_thinking", then=_agent("analysis")),
                IfNode(condition="multi_agent", then=multi, otherwise=single),
                IfNode(condition="more_suggest", then=_agent("suggest")),
            ]
        ),
    )


def default_catalog() -> FlowCatalog:
    catalog = FlowCatalog()
    for agent in (
        WorkflowSelectAgent(),
        TaskRouterAgent(),
        TaskAnalysisAgent(),
        TaskDecomposeAgent(),
        TaskPlanningAgent(),
        TaskExecutorAgent(),
        TaskObservationAgent(),
        TaskCompletionJudgeAgent(),
        TaskStageSummaryAgent(),
        TaskSummaryAgent(),
        QuerySuggestAgent(),
        SkillExecutorAgent(),
        SimpleAgent(),
    ):
        catalog.add_agent(agent)
    for name, condition in DEFAULT_CONDITIONS.items():
        catalog.add_condition(name, condition)
    return catalog
