"""The result of one tool call, as the run and the event stream see it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sagents.tools.media import Media


@dataclass(slots=True)
class ToolOutcome:
    """What came back from a tool, success or not.

    Failures are data, not exceptions: a broken tool must become a tool message
    the model can read and react to, never a crashed run. ``content`` is the
    text that goes into the tool message either way.
    """

    ok: bool
    content: str
    duration_ms: float
    media: tuple[Media, ...] = field(default_factory=tuple)
    """Images and audio the tool returned beside its text (``media.py``);
    ``content`` describes each."""
