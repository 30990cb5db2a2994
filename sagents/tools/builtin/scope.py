"""What a built-in tool needs from the call that runs it.

Built-in tools are registered once, in the Runtime's ToolManager, like any
other tool; the session and user they act for come from the call's
``CallScope``, which the run sets around every call. A call without one (a
program calling ``invoke`` directly) has no workspace and no memory to use.
"""

from __future__ import annotations

from sagents.tools.call_scope import current_call


class BuiltinToolError(RuntimeError):
    """A built-in tool refused; the message is written for the model."""


def session_and_user() -> tuple[str, str]:
    scope = current_call()
    if scope is None or scope.session_id is None or scope.user_id is None:
        raise BuiltinToolError("this tool works only inside a Sage run (no session here)")
    return scope.session_id, scope.user_id
