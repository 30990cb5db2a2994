"""Giving one run the skill tools on top of the tools it already had."""

from __future__ import annotations

from collections.abc import Iterable

from sagents.tools.manager import ToolManager
from sagents.tools.proxy import ToolProxy
from sagents.tools.spec import ToolSpec


def proxy_with(
    base: ToolProxy, extra: Iterable[ToolSpec], *, max_result_chars: int | None = None
) -> ToolProxy:
    """A proxy that sees what ``base`` sees plus ``extra`` (which win a clash).

    Skill tools are per user and per session, so they cannot live in the
    Runtime's shared ToolManager. The returned proxy sits on a private
    manager holding a snapshot of ``base``'s visible tools: a tool added to
    the shared manager later in this run is not seen. The request's
    allow-list is already applied by taking ``base``'s visible tools; the
    skill tools are always visible once a skill is in play.
    """
    manager = ToolManager(max_result_chars=max_result_chars)
    extras = list(extra)
    names = {spec.name for spec in extras}
    for name in base.names:
        spec = base.get(name)
        if spec is not None and name not in names:
            manager.add(spec)
    for spec in extras:
        manager.add(spec)
    return manager.proxy()
