"""An MCP server written by hand over stdio, for what the SDK's servers never
send: a huge notification, a huge answer with its ``id`` last.

Run as ``python raw.py``. One tool, ``odd(mode, size)``:
``notify_then_answer`` sends a notification of ``size`` bytes, then answers;
``id_last`` answers with ``size`` bytes and the ``id`` written last;
``pid`` answers with this process's id.
"""

from __future__ import annotations

import json
import os
import sys

TOOL = {
    "name": "odd",
    "inputSchema": {
        "type": "object",
        "properties": {"mode": {"type": "string"}, "size": {"type": "integer"}},
    },
}


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def text(request_id: object, value: str) -> dict[str, object]:
    result = {"content": [{"type": "text", "text": value}], "isError": False}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def call(request_id: object, arguments: dict[str, object]) -> None:
    mode, size = arguments.get("mode"), int(str(arguments.get("size", 0)))
    if mode == "notify_then_answer":
        params = {"level": "info", "data": "n" * size}
        send({"jsonrpc": "2.0", "method": "notifications/message", "params": params})
        send(text(request_id, "answered"))
    elif mode == "id_last":
        result = {"content": [{"type": "text", "text": "i" * size}], "isError": False}
        sys.stdout.write(
            json.dumps({"jsonrpc": "2.0", "result": result})[:-1]
            + f', "id": {json.dumps(request_id)}}}\n'
        )
        sys.stdout.flush()
    else:
        send(text(request_id, str(os.getpid())))


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if method is None or request_id is None:
            continue  # notifications and answers need no reply
        if method == "initialize":
            version = message["params"]["protocolVersion"]
            info = {"name": "raw", "version": "1"}
            result = {"protocolVersion": version, "capabilities": {"tools": {}}, "serverInfo": info}
            send({"jsonrpc": "2.0", "id": request_id, "result": result})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": request_id, "result": {"tools": [TOOL]}})
        elif method == "tools/call":
            call(request_id, message["params"].get("arguments") or {})
        else:
            error = {"code": -32601, "message": f"no method {method}"}
            send({"jsonrpc": "2.0", "id": request_id, "error": error})


if __name__ == "__main__":
    main()
