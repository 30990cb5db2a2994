"""An MCP server asks the person for input (elicitation) while a tool call
runs: the run emits ``input.requested`` and waits through the approvals
gate, so the answer takes the same path as an approval (the store, any
replica, the timeout, ``POST …/approvals/{call_id}``).

The answer: ``edit`` with the form's data as ``arguments`` (checked against
the server's requested schema) accepts with that data; ``approve`` accepts
with none (a URL-mode request: the person went to the URL); ``reject``
declines. A request that no run's call can be tied to (no call of this
server in flight, or several at once: MCP does not say which call asked) is
declined, so the server never waits on a question nobody sees.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import mcp_types
from mcp.client.session import ClientRequestContext, ElicitationFnT

from sagents.events import InputRequested
from sagents.tools.call_scope import CallScope

INPUT_TOOL = "sage:input"
"""The ``tool`` of an input request's approval row (no tool has this name)."""


def elicitation_callback(server: str, in_flight: Callable[[], list[CallScope]]) -> ElicitationFnT:
    """The client's elicitation handler for ``server``; ``in_flight`` gives
    the run calls now running on it."""
    numbers = itertools.count(1)

    async def answer(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult | mcp_types.ErrorData:
        scopes = in_flight()
        scope = scopes[0] if len(scopes) == 1 else None
        if scope is None or scope.approvals is None or scope.context is None:
            return mcp_types.ElicitResult(action="decline")
        fields: dict[str, Any] = params.model_dump(by_alias=True, exclude_none=True)
        schema = fields.get("requestedSchema") or {}
        url = fields.get("url")
        request_id = f"{scope.call_id}.input{next(numbers)}"

        def announce(expires_at: float) -> InputRequested:
            return InputRequested(
                call_id=request_id,
                tool=scope.tool,
                server=server,
                message=params.message,
                requested_schema=schema,
                url=url,
                expires_at=expires_at,
            )

        decided = await scope.approvals.wait(
            session_id=scope.context.session_id,
            run_id=scope.context.run_id,
            call_id=request_id,
            tool=INPUT_TOOL,
            arguments={
                "server": server,
                "tool": scope.tool,
                "message": params.message,
                "schema": schema,
                "url": url,
            },
            reason=f"MCP server {server!r} asks for input",
            emit=scope.emit,
            agent=scope.agent,
            announce=announce,
            parent_call_id=scope.call_id,
        )
        if decided.decision == "reject":
            return mcp_types.ElicitResult(action="decline")
        if decided.decision == "edit":
            return mcp_types.ElicitResult(action="accept", content=decided.edited_arguments)
        return mcp_types.ElicitResult(action="accept", content=None if url else {})

    return answer
