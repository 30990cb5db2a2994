"""``file.created``: telling the run's readers that a tool call left a file.

A tool that writes into the session's workspace (a skill script,
``execute_python``, ``write_file``) calls :func:`announce_files` with what it
wrote; the event goes out through the call's scope (``CallScope.emit``), so
clients can offer the artifact while the run goes on. Outside a run there is
no one to tell and nothing is emitted.
"""

from __future__ import annotations

from collections.abc import Iterable

from sagents.events import FileCreated
from sagents.files.media import guess
from sagents.tools.call_scope import current_call

MAX_ANNOUNCED = 100
"""Events per call at most: a script that writes 10,000 files is not 10,000 events."""


def announce_files(files: Iterable[tuple[str, int]]) -> int:
    """Emit ``file.created`` for each (path, size), at most MAX_ANNOUNCED; how many."""
    scope = current_call()
    if scope is None or scope.emit is None:
        return 0
    count = 0
    for path, size in files:
        if count >= MAX_ANNOUNCED:
            break
        scope.emit(
            FileCreated(
                path=path,
                size=size,
                media_type=guess(path),
                call_id=scope.call_id,
                agent=scope.agent,
            )
        )
        count += 1
    return count
