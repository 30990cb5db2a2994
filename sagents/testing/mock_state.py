"""The mock server's mutable state, shared between its event-loop thread and
the test thread that inspects it.

Everything goes through one lock: requests arrive on the server's loop while
the test reads ``requests`` or swaps the script from its own thread.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from sagents.testing.cursor import Pick, ScriptCursor
from sagents.testing.script import Script


class MockState:
    def __init__(self, script: Script) -> None:
        self._lock = threading.Lock()
        self._cursor = ScriptCursor(script)
        self._requests: list[dict[str, Any]] = []
        self._roles: list[str | None] = []
        self._times: list[float] = []
        self._paths: list[str] = []
        self._disconnects = 0

    @property
    def script(self) -> Script:
        with self._lock:
            return self._cursor.script

    def set_script(self, script: Script) -> None:
        with self._lock:
            self._cursor = ScriptCursor(script)

    def take(self, role: str | None) -> Pick:
        """The turn for one attempt; raises ``ScriptExhausted``."""
        with self._lock:
            return self._cursor.take(role)

    def record(self, body: dict[str, Any], role: str | None, path: str = "") -> None:
        with self._lock:
            self._requests.append(body)
            self._roles.append(role)
            self._times.append(time.time())
            self._paths.append(path)

    def note_disconnect(self) -> None:
        """A client went away before its response was complete."""
        with self._lock:
            self._disconnects += 1

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._roles.clear()
            self._times.clear()
            self._paths.clear()
            self._disconnects = 0

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Copies of the received request bodies, oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def roles(self) -> list[str | None]:
        """The ``X-Sage-Role`` header of each received request, in the same order."""
        with self._lock:
            return list(self._roles)

    @property
    def times(self) -> list[float]:
        """When each request arrived (``time.time()``), in the same order."""
        with self._lock:
            return list(self._times)

    @property
    def paths(self) -> list[str]:
        """The URL path (and query) of each request, in the same order."""
        with self._lock:
            return list(self._paths)

    @property
    def disconnects(self) -> int:
        with self._lock:
            return self._disconnects

    @property
    def remaining(self) -> int:
        with self._lock:
            return self._cursor.remaining
