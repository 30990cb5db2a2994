"""SessionContext and the managers agents use to read and write a session."""

from sagents.context.messages import CANCELLED_TOOL_RESULT, MessageDraft, MessageManager
from sagents.context.session_context import SessionContext

__all__ = ["CANCELLED_TOOL_RESULT", "MessageDraft", "MessageManager", "SessionContext"]
