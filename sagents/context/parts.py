"""The small typed parts a ``SessionContext`` is made of.

The context used to be one flat blackboard of some thirty fields; grouping
them says who writes what: the default flow's agents leave ``FlowNotes`` for
the agents after them, the executor and ``SAgent`` keep ``RunControl``, and
the prompt builders read ``PromptParts``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sagents.events import EventBase
from sagents.skills.view import SkillView
from sagents.tools.media import Media


@dataclass
class FlowNotes:
    """What the agents of the default flow leave for the ones after them."""

    deep_thinking: bool
    """The route: whether analysis runs (request or router decides)."""
    multi_agent: bool
    """The route: decompose and loop, or answer directly."""
    analysis: str = ""
    plan: str = ""
    execution: str = ""
    observation: str = ""
    stage_summaries: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    loop_cut_short: bool = False
    """The plan–execute loop hit ``max_loop_count`` with tasks still open."""


@dataclass
class RunControl:
    """How the run is stopped and reported while it is under way."""

    cancel_requested: bool = False
    """Set as soon as a cancel is asked for, before the task sees it, so the
    flow executor can stop between nodes even if an agent never awaits."""
    open_agents: list[tuple[str, str, float]] = field(default_factory=list)
    """(agent, node, start time) of agents currently running, innermost last;
    used to close them with ``agent.finished`` when a run stops early."""
    emit: Callable[[EventBase], None] | None = None
    """Publishes an event at once, for events raised outside an agent's
    generator (``context.clamped`` while messages are prepared)."""
    clamp_reported: tuple[int, int] = (0, 0)
    """The last clamp reported, so the same one is not reported per call."""


@dataclass
class PromptParts:
    """What goes into every agent's system prompt besides its own text."""

    skill_view: SkillView | None = None
    """The skills this run may use (the user's, within ``available_skills``)."""
    skill_prompt: str = ""
    """Skill list (level 1) and a preloaded skill body (level 2)."""
    memory_section: str = ""
    """Recalled user memories, appended to every agent's system prompt."""
    tool_media: dict[str, tuple[str, tuple[Media, ...]]] = field(default_factory=dict)
    """Images and audio this run's tool calls returned: call id → (tool,
    media). Held for the run only; shown to image-taking models
    (``context/media_parts.py``)."""
