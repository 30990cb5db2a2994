"""``remember``, ``recall``, ``forget``: the user's long-term memory, as tools.

The same memories the MemoryExtractor writes after a run and the API lists
(``sagents/memory/``), always the memories of the user the run acts for:
the user id comes from the call's scope, never from the model.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sagents.memory.manager import UserMemoryManager
from sagents.memory.records import MAX_MEMORY_CHARS, MemoryKind
from sagents.tools.builtin.scope import BuiltinToolError, session_and_user
from sagents.tools.decorator import tool
from sagents.tools.spec import ToolSpec


def memory_tools(memory: UserMemoryManager) -> list[ToolSpec]:
    @tool(name="remember")
    async def remember(
        text: Annotated[
            str,
            Field(
                description="One durable statement about the user, in the third person.",
                max_length=MAX_MEMORY_CHARS,
            ),
        ],
        kind: Annotated[
            MemoryKind, Field(description="preference, persona, fact or requirement.")
        ] = MemoryKind.FACT,
    ) -> str:
        """Remember something about the user for later conversations (a preference,
        who they are, a fact of their world, a standing requirement)."""
        _, user = session_and_user()
        try:
            saved = await memory.remember(user, text, kind, source="tool")
        except ValueError as error:
            raise BuiltinToolError(str(error)) from None
        return f"remembered ({saved.kind.value}), id {saved.id}"

    @tool(name="recall")
    async def recall(
        query: Annotated[str, Field(description="What to look for.")],
        k: Annotated[int, Field(ge=1, le=20, description="How many memories at most.")] = 5,
    ) -> str:
        """Search what is remembered about the user; the nearest memories first."""
        _, user = session_and_user()
        hits = await memory.recall(user, query, k)
        if not hits:
            return "(nothing remembered about that)"
        return "\n".join(f"[{h.memory.id}] ({h.memory.kind.value}) {h.memory.text}" for h in hits)

    @tool(name="forget")
    async def forget(
        memory_id: Annotated[str, Field(description="The id recall showed, e.g. mem_….")],
    ) -> str:
        """Forget one remembered statement about the user (when it is wrong or
        they ask you to)."""
        _, user = session_and_user()
        if not await memory.forget(user, memory_id):
            raise BuiltinToolError(f"no memory {memory_id!r}")
        return f"forgot {memory_id}"

    return [remember, recall, forget]
