"""The workflows a request offers, and which of them guide the planner."""

from __future__ import annotations

from sagents.request import Workflow

SELECT_THRESHOLD = 5
"""Above this many workflows, one is chosen; at or below, all guide the planner."""


class WorkflowManager:
    def __init__(self, workflows: list[Workflow] | None = None) -> None:
        self.available: list[Workflow] = list(workflows or [])
        self.selected: Workflow | None = None

    @property
    def needs_selection(self) -> bool:
        return len(self.available) > SELECT_THRESHOLD

    def get(self, name: str) -> Workflow | None:
        return next((w for w in self.available if w.name == name), None)

    def guidance(self) -> list[Workflow]:
        """What the planner is given: the chosen workflow, or all of a few."""
        if self.selected is not None:
            return [self.selected]
        return [] if self.needs_selection else self.available

    def render(self) -> str:
        parts = []
        for w in self.guidance():
            steps = "".join(f"\n  {i}. {s}" for i, s in enumerate(w.steps, 1))
            parts.append(f"- {w.name}: {w.description}{steps}")
        return "\n".join(parts)
