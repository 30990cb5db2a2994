"""The JSON decision of the skill-selecting agent: does a skill fit, and which."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sagents.skills.view import SkillView


class SkillSelection(BaseModel):
    """What the LLM answers when asked whether one of the listed skills fits."""

    model_config = ConfigDict(extra="forbid")

    use_skill: bool = Field(description="True when one listed skill clearly fits the request.")
    skill: str | None = Field(
        default=None, description="The chosen skill's exact name; null when use_skill is false."
    )
    reason: str = Field(default="", description="One short sentence explaining the choice.")

    def chosen(self, view: SkillView) -> str | None:
        """The selected skill's name if the answer is usable against ``view``.

        A model can name a skill that does not exist; that counts as no
        selection rather than an error, so the flow falls back to the plain
        agent instead of failing the run.
        """
        if not self.use_skill or not self.skill:
            return None
        return self.skill if self.skill in view else None


def skill_selection_schema(view: SkillView | None = None) -> dict[str, Any]:
    """JSON schema for ``SkillSelection``; with a view, ``skill`` is an enum of its names."""
    schema = SkillSelection.model_json_schema()
    if view is not None and len(view):
        schema["properties"]["skill"] = {
            "anyOf": [{"type": "string", "enum": view.names}, {"type": "null"}],
            "default": None,
            "description": "The chosen skill's exact name; null when use_skill is false.",
        }
    return schema
