"""The named conditions the default flow branches on."""

from __future__ import annotations

from sagents.context.session_context import SessionContext
from sagents.flow.catalog import Condition

TASK_LOOP_ID = "task_loop"


def tasks_finished(ctx: SessionContext) -> bool:
    """The loop ends when no task is open, or none can make progress."""
    return ctx.tasks.all_finished() or not ctx.tasks.ready()


DEFAULT_CONDITIONS: dict[str, Condition] = {
    "many_workflows": lambda ctx: ctx.workflows.needs_selection,
    "deep_thinking": lambda ctx: bool(ctx.notes.deep_thinking),
    "multi_agent": lambda ctx: bool(ctx.notes.multi_agent),
    "tasks_finished": tasks_finished,
    "skills_available": lambda ctx: (
        ctx.prompt.skill_view is not None and len(ctx.prompt.skill_view) > 0
    ),
    "force_summary": lambda ctx: bool(ctx.options.force_summary),
    "more_suggest": lambda ctx: bool(ctx.options.more_suggest),
}
