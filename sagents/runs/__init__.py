"""The run registry: active runs, their cancel handles and event fan-out."""

from sagents.runs.channel import EventChannel, EventsDropped
from sagents.runs.local import LocalRunRegistry
from sagents.runs.registry import RunBody, RunInfo, RunRegistry, SessionBusy

__all__ = [
    "EventChannel",
    "EventsDropped",
    "LocalRunRegistry",
    "RunBody",
    "RunInfo",
    "RunRegistry",
    "SessionBusy",
]
