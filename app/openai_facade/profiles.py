"""The "models" the facade offers: each is a way of running Sage's flow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    description: str
    deep_thinking: bool | None
    multi_agent: bool | None


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile("sage", "Sage's router decides the path for each message.", None, None),
        Profile("sage-deep", "Analyse the request first, then answer (single agent).", True, False),
        Profile("sage-multi", "Decompose into tasks and run them with several agents.", None, True),
    ]
}
"""By name. ``None`` leaves that choice to the router, as in ``POST /api/v1/chat``."""
