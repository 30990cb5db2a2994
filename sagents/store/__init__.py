"""Session persistence behind one protocol; SQLite is the embedded default."""

from sagents.store._recovery import INTERRUPTED_TOOL_RESULT, RECOVERED_KIND
from sagents.store._schema import SchemaTooNewError
from sagents.store.protocol import Store
from sagents.store.records import (
    MessageRecord,
    RunRecord,
    RunStatus,
    SessionRecord,
    SessionStatus,
    TaskRecord,
    new_id,
)
from sagents.store.sqlite import SQLiteStore

__all__ = [
    "INTERRUPTED_TOOL_RESULT",
    "RECOVERED_KIND",
    "MessageRecord",
    "RunRecord",
    "RunStatus",
    "SQLiteStore",
    "SchemaTooNewError",
    "SessionRecord",
    "SessionStatus",
    "Store",
    "TaskRecord",
    "new_id",
]
