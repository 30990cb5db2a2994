"""Every registered tool, by name and source, and which one wins a clash."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from sagents.tools.decorator import tool
from sagents.tools.proxy import ToolProxy
from sagents.tools.spec import ToolSource, ToolSpec


class ToolManager:
    """The process-wide tool registry, owned by the Runtime.

    Several sources may offer a tool under the same name (a local function and
    an MCP server both exposing ``search``). All of them are kept, so removing
    the winner (an MCP server going away) brings the next one back without
    re-registering anything; only the winner, by ``ToolSource.precedence``, is
    visible through ``get``/``list`` and to the model.

    Sessions never call the manager directly: they get a ``ToolProxy``, which
    reads the manager live, so tools added or removed later (an MCP server
    reconnecting) show up in running sessions too.
    """

    def __init__(self, *, max_result_chars: int | None = None) -> None:
        if max_result_chars is not None and max_result_chars <= 0:
            raise ValueError("max_result_chars must be positive")
        self.max_result_chars = max_result_chars
        """Cap on result text for tools whose spec sets none; None means no cap.
        ``Runtime.create`` fills it from ``Settings.tool_max_result_chars``."""
        self._by_name: dict[str, dict[ToolSource, ToolSpec]] = {}
        self._winners: dict[str, ToolSpec] = {}
        self._ordered: tuple[ToolSpec, ...] = ()
        self._version = 0

    @property
    def version(self) -> int:
        """Changes on every add or remove, so views can cache what they derive."""
        return self._version

    def add(
        self,
        spec_or_function: ToolSpec | Callable[..., Any],
        *,
        source: ToolSource | None = None,
        replace: bool = False,
    ) -> ToolSpec:
        """Register a tool and return its spec.

        A plain function is wrapped with ``tool`` first. ``source`` overrides
        the spec's own source (a built-in MCP server's tools are produced like
        any MCP tool, then registered as ``BUILTIN_MCP``). Registering the same
        name twice from the same source is refused unless ``replace`` is set:
        silently swapping a tool is how two plugins end up fighting unseen.
        """
        spec = (
            spec_or_function if isinstance(spec_or_function, ToolSpec) else tool(spec_or_function)
        )
        if source is not None and spec.source is not source:
            spec = dataclasses.replace(spec, source=source)
        by_source = self._by_name.setdefault(spec.name, {})
        if spec.source in by_source and not replace:
            raise ValueError(
                f"a {spec.source.value} tool named {spec.name!r} is already registered; "
                "remove it first or pass replace=True"
            )
        by_source[spec.source] = spec
        self._changed(spec.name)
        return spec

    def remove(self, name: str, source: ToolSource) -> ToolSpec | None:
        """Unregister one source's tool; returns it, or None if it was not there.

        Idempotent so that tearing down an MCP server after a partial start-up
        needs no bookkeeping of what did get registered.
        """
        by_source = self._by_name.get(name)
        if by_source is None or source not in by_source:
            return None
        removed = by_source.pop(source)
        if not by_source:
            del self._by_name[name]
        self._changed(name)
        return removed

    def get(self, name: str) -> ToolSpec | None:
        """The winning spec for ``name``."""
        return self._winners.get(name)

    def shadowed(self, name: str) -> builtins.list[ToolSpec]:
        """The specs that lose to ``get(name)``, strongest first.

        Lets the API show that, say, an MCP ``search`` hides the local one.
        """
        by_source = self._by_name.get(name, {})
        ranked = sorted(by_source.values(), key=lambda s: s.source.precedence, reverse=True)
        return ranked[1:]

    def proxy(self, allowed: Iterable[str] | None = None, hidden: Iterable[str] = ()) -> ToolProxy:
        """A session's view: only ``allowed`` names (None means every tool),
        never ``hidden`` ones."""
        return ToolProxy(self, allowed, hidden)

    def unknown(self, names: Iterable[str]) -> builtins.list[str]:
        """The names no source provides, in order and without repeats.

        For rejecting a request's allow-list up front (HTTP 422 naming them)
        instead of letting the model discover mid-run that a tool is missing.
        """
        missing = dict.fromkeys(name for name in names if name not in self._by_name)
        return builtins.list(missing)

    def __contains__(self, name: object) -> bool:
        return name in self._winners

    def __len__(self) -> int:
        return len(self._winners)

    def list(self) -> builtins.list[ToolSpec]:
        """The winning specs, sorted by name.

        Sorted, not in registration order: MCP servers connect concurrently,
        and a stable tool list keeps the prompt (and the provider's prompt
        cache) identical from one run to the next.
        """
        return builtins.list(self._ordered)

    def _changed(self, name: str) -> None:
        by_source = self._by_name.get(name)
        if by_source:
            self._winners[name] = max(by_source.values(), key=lambda s: s.source.precedence)
        else:
            self._winners.pop(name, None)
        self._ordered = tuple(sorted(self._winners.values(), key=lambda s: s.name))
        self._version += 1
