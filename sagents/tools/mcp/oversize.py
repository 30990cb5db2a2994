"""Refusing an MCP message that is too large, before it is buffered whole.

An MCP server answers a tool call with one JSON-RPC message: a line on
stdio, an SSE event or a JSON body over HTTP. The SDK reads each one whole
before looking at it (over stdio by re-joining its buffer on every read,
which made a 20 MB answer take 18 s and hold up every other call to that
server), so a server that answers 50 MB makes Sage hold 50 MB, and several
times that while it is parsed. The readers here count bytes as they arrive
and, past the cap, keep only the first few KB of the message: enough to find
which request it answers. They pass a small JSON-RPC error for that request
on instead, so exactly that call fails ("result too large") while the
session, and every other call on it, goes on.

The id is read from the start of the message, where the SDKs put it
(``{"jsonrpc":"2.0","id":…,"result":…}``). A message whose start names no id
(a server request or notification, or a server that writes ``id`` last) is
dropped; each reader then decides what the waiting call gets (see there).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

RESULT_TOO_LARGE = -32097
"""Our JSON-RPC error code (in the range JSON-RPC leaves to implementations)
for an answer refused for its size."""

HEAD_BYTES = 4096
"""How much of a refused message is kept to find its id."""

RequestId = int | str

_ID = re.compile(
    rb'^\s*(?:data: ?)?\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*'
    rb'(-?\d+|"(?:[^"\\]|\\.)*")',
    re.MULTILINE,
)


_METHOD = re.compile(
    rb'^\s*(?:data: ?)?\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?'
    rb'(?:"id"\s*:\s*(?:-?\d+|"(?:[^"\\]|\\.)*")\s*,\s*)?"method"',
    re.MULTILINE,
)


def from_server(head: bytes) -> bool:
    """Whether the message ``head`` starts is a request or notification from
    the server (it leads with ``method``), not an answer to one of ours."""
    return _METHOD.search(head) is not None


def message_id(head: bytes) -> RequestId | None:
    """The id of the JSON-RPC message ``head`` starts (an SSE event's
    ``event:``/``id:`` lines may come first), if it leads with one."""
    match = _ID.search(head)
    if match is None:
        return None
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return None
    return value if isinstance(value, int | str) else None


def too_large_message(request_id: RequestId, limit: int) -> bytes:
    """The JSON-RPC error that stands in for an answer over ``limit`` bytes."""
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": RESULT_TOO_LARGE, "message": too_large_text(limit)},
        }
    ).encode()


def too_large_text(limit: int) -> str:
    return f"the server's answer is over {limit} bytes (SAGE_MCP_MAX_RESULT_BYTES) and was not read"


@dataclass(slots=True)
class Refused:
    """A message that passed the cap: the start that was kept, and its id."""

    head: bytes
    request_id: RequestId | None


@dataclass(slots=True)
class BoundedSplitter:
    """Splits a byte stream into messages, refusing those over ``limit``.

    ``feed`` returns, in order, each complete message (``bytes``) and each
    refused one (``Refused``). A message ends at a newline (``events=False``,
    the stdio framing; the newline is not part of it) or at a blank line
    (``events=True``, SSE; the message is then the whole event, line breaks
    included). Memory: at most ``limit`` bytes of one pending message plus
    one read, whatever the stream sends.
    """

    limit: int
    events: bool = False
    _pending: bytearray = field(default_factory=bytearray)
    _skipping: bool = False
    _head: bytes = b""
    _line_chars: int = 0
    """While skipping: bytes of the current line seen so far."""
    _line_start: bytes = b""
    """While skipping: the current line's first two bytes (an SSE line of
    only ``\r`` is the blank line that ends the event)."""
    _refusing: Refused | None = None

    @property
    def refusing(self) -> Refused | None:
        """The refused message being discarded (its end not seen yet)."""
        if not self._skipping:
            return None
        if self._refusing is None:
            self._refusing = Refused(self._head, message_id(self._head))
        return self._refusing

    def feed(self, data: bytes) -> list[bytes | Refused]:
        out: list[bytes | Refused] = []
        start = 0
        size = len(data)
        while start < size:
            if self._skipping:
                start = self._skip(data, start, out)
                continue
            end = data.find(b"\n", start)
            stop = size if end < 0 else end + 1
            pending = self._pending
            pending += data[start:stop]
            start = stop
            complete = end >= 0 and (not self.events or _ends_with_blank_line(pending))
            if len(pending) > self.limit:
                head = bytes(pending[:HEAD_BYTES])
                if complete:
                    out.append(Refused(head, message_id(head)))
                else:
                    line = pending[pending.rfind(b"\n") + 1 :]
                    self._skipping = True
                    self._head = head
                    self._line_chars = len(line)
                    self._line_start = bytes(line[:2])
                self._pending = bytearray()
            elif complete:
                message = bytes(pending) if self.events else bytes(pending[:-1])
                pending.clear()
                if message.strip():
                    out.append(message)
        return out

    def _refused_whole(self) -> Refused:
        """The end of the refused message was reached: report it."""
        refused = self.refusing
        assert refused is not None
        self._skipping = False
        self._refusing = None
        self._head = b""
        return refused

    def _skip(self, data: bytes, start: int, out: list[bytes | Refused]) -> int:
        """Discard the refused message up to its end; returns where the rest starts."""
        while True:
            end = data.find(b"\n", start)
            segment_end = len(data) if end < 0 else end
            if len(self._line_start) < 2:
                self._line_start += data[
                    start : min(segment_end, start + 2 - len(self._line_start))
                ]
            self._line_chars += segment_end - start
            if end < 0:
                return len(data)
            blank = self._line_chars == 0 or (self._line_chars == 1 and self._line_start == b"\r")
            self._line_chars = 0
            self._line_start = b""
            start = end + 1
            if not self.events or blank:
                out.append(self._refused_whole())
                return start


def _ends_with_blank_line(pending: bytearray) -> bool:
    """Whether ``pending`` (ending with a newline) ends with an empty line."""
    return pending.endswith((b"\n\n", b"\n\r\n")) or not pending.strip(b"\r\n")
