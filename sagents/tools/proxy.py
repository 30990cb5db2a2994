"""A session's view of the tools: what it may see and how its calls run."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sagents.tools.media import Media, RichResult
from sagents.tools.outcome import ToolOutcome
from sagents.tools.result_text import result_to_text, truncate
from sagents.tools.spec import ToolArgumentError, ToolSpec

if TYPE_CHECKING:
    from sagents.tools.manager import ToolManager

_log = logging.getLogger(__name__)


class ToolProxy:
    """The tools one session may use, over a live ToolManager.

    The allow-list is fixed for the session; the tools behind it are not: the
    proxy reads the manager on every use, so a tool that appears later (an MCP
    server finishing its start-up) becomes visible if allowed. Names in the
    allow-list that no source provides are simply not visible; rejecting them
    is the caller's job (``ToolManager.unknown``).
    """

    __slots__ = ("_allowed", "_hidden", "_manager", "_seen_version", "_specs", "_tools")

    def __init__(
        self,
        manager: ToolManager,
        allowed: Iterable[str] | None = None,
        hidden: Iterable[str] = (),
    ) -> None:
        if isinstance(allowed, str) or isinstance(hidden, str):
            # A lone string is iterable too, and would allow its characters.
            raise TypeError("tool names must be a collection of names, not a string")
        self._manager = manager
        self._allowed = None if allowed is None else frozenset(allowed)
        self._hidden = frozenset(hidden)
        """Names this session may not use even when allowed (built-in tools a
        request switched off)."""
        self._seen_version = -1
        self._specs: tuple[ToolSpec, ...] = ()
        self._tools: tuple[dict[str, Any], ...] = ()

    @property
    def allowed(self) -> frozenset[str] | None:
        """The allow-list as given; None means every tool."""
        return self._allowed

    @property
    def names(self) -> list[str]:
        """Visible tool names, sorted."""
        return [spec.name for spec in self._visible()]

    def openai_tools(self) -> list[dict[str, Any]]:
        """The ``tools`` list for a chat completion request.

        Requested on every LLM call, so it reuses each spec's cached dict and
        is only rebuilt when the manager changed. The dicts are shared: do not
        mutate them.
        """
        self._visible()
        return list(self._tools)

    def has(self, name: str) -> bool:
        """Whether this session may call ``name`` right now."""
        return self.get(name) is not None

    def get(self, name: str) -> ToolSpec | None:
        """The spec ``call`` would run for ``name``, if visible."""
        if (self._allowed is not None and name not in self._allowed) or name in self._hidden:
            return None
        return self._manager.get(name)

    async def call(
        self, name: str, arguments: str | dict[str, Any], *, timeout_s: float
    ) -> ToolOutcome:
        """Run one tool call; every failure comes back as ``ok=False``.

        ``arguments`` is the model's JSON text (an empty string counts as no
        arguments, which some servers send for parameterless tools) or an
        already decoded dict. The effective timeout is the smaller of
        ``timeout_s`` and the spec's own. Result text, and error text, longer
        than the spec's ``max_result_chars`` (or, if the spec sets none, the
        manager's ``max_result_chars``) is truncated with a note.

        A tool returning a ``RichResult`` (an MCP image, say) gives its text
        as the content and its media as ``ToolOutcome.media``.

        Never raises, except ``asyncio.CancelledError``: cancelling the run
        must reach the tool (an async tool is interrupted at its current
        await), and swallowing it here would leave the run unstoppable.
        """
        started = time.perf_counter()
        spec = self.get(name)
        if spec is None:
            available = ", ".join(self.names) or "(none)"
            return _failed(started, f"unknown tool {name!r}; available: {available}")
        if isinstance(arguments, str):
            try:
                decoded: Any = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as error:
                return _failed(started, f"invalid JSON arguments for tool {name!r}: {error}")
        else:
            decoded = arguments
        if not isinstance(decoded, dict):
            return _failed(
                started,
                f"arguments for tool {name!r} must be a JSON object, got {_json_type(decoded)}",
            )

        media: tuple[Media, ...] = ()
        limit = timeout_s if spec.timeout_s is None else min(timeout_s, spec.timeout_s)
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                raw = await spec.invoke(decoded)
            if isinstance(raw, RichResult):
                ok, content, media = True, raw.text, raw.media
            else:
                ok, content = True, result_to_text(raw)
        except ToolArgumentError as error:
            ok, content = False, str(error)
        except TimeoutError as error:
            # Only our deadline is a timeout; a TimeoutError raised by the tool
            # itself (a socket, an HTTP client) is an ordinary failure.
            ok = False
            if deadline.expired():
                content = f"tool {name!r} timed out after {limit:g} s"
            else:
                content = _error_text(name, error)
        except Exception as error:
            ok, content = False, _error_text(name, error)
        cap = spec.max_result_chars or self._manager.max_result_chars
        return ToolOutcome(ok, truncate(content, cap), _elapsed_ms(started), media)

    def _visible(self) -> tuple[ToolSpec, ...]:
        version = self._manager.version
        if version != self._seen_version:
            allowed, hidden = self._allowed, self._hidden
            self._specs = tuple(
                spec
                for spec in self._manager.list()
                if (allowed is None or spec.name in allowed) and spec.name not in hidden
            )
            self._tools = tuple(spec.openai_tool() for spec in self._specs)
            self._seen_version = version
        return self._specs


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _failed(started: float, content: str) -> ToolOutcome:
    return ToolOutcome(False, content, _elapsed_ms(started))


def _error_text(name: str, error: BaseException) -> str:
    """The exception as the model sees it: type and message, no traceback.

    The traceback is logged at debug level for whoever runs the service; the
    model only needs to know what went wrong to adjust or give up.
    """
    _log.debug("tool %r failed", name, exc_info=error)
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__
