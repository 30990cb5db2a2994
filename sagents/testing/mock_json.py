"""Schema-valid answers for the unscripted mock LLM.

Without a script, ``sage mock-llm`` answers every request with the same
greeting. Sage's deciding agents ask for JSON, so a greeting would only make
them fall back; instead the mock answers such requests with the plainest value
that validates: ``false`` for booleans (so the router picks the simple path
and no skill is preloaded), except those whose name says the work is
finished (``all_done``, ``complete``…), which are ``true`` so that a
multi-agent demo ends after one round instead of looping to its limit; the
shortest lists allowed, the first enum value, ``null`` where allowed. The
schema comes from the ``json_schema`` response format or, when the client
fell back to JSON mode or plain prompting, from the ``Schema: {…}`` line
Sage puts in its instruction.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 8
"""Guards against self-referencing schemas: deeper values are ``null``."""

_FINISHED = re.compile(r"(^|_)(done|complete|completed|finished|success)$")
"""Boolean field names answered ``true``: "is the work finished?"."""

_SCHEMA_LINE = re.compile(r"^Schema: (\{.*\})\s*$", re.MULTILINE)


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a chat completion request asks its answer to follow."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        wrapper = fmt.get("json_schema")
        schema = wrapper.get("schema") if isinstance(wrapper, dict) else None
        if isinstance(schema, dict):
            return schema
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") == "system" and isinstance(content, str):
            found = _SCHEMA_LINE.search(content)
            if found:
                try:
                    schema = json.loads(found.group(1))
                except ValueError:
                    return None
                return schema if isinstance(schema, dict) else None
    return None


def instance_for(schema: dict[str, Any]) -> Any:
    """The plainest value that validates against ``schema`` (pydantic's subset)."""
    return _value(schema, schema.get("$defs", {}), 0)


def _value(schema: dict[str, Any], defs: dict[str, Any], depth: int, name: str = "") -> Any:
    if depth > MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"))
        return _value(target, defs, depth + 1, name) if isinstance(target, dict) else None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            if any(isinstance(o, dict) and o.get("type") == "null" for o in options):
                return None
            return _value(options[0], defs, depth + 1, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if "null" in kind else (kind[0] if kind else None)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {key: _value(sub, defs, depth + 1, key) for key, sub in properties.items()}
    if kind == "array":
        items = schema.get("items", {})
        count = int(schema.get("minItems", 0) or 0)
        return [_value(items, defs, depth + 1) for _ in range(count)]
    if kind == "boolean":
        return bool(_FINISHED.search(name))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1 if kind == "integer" else 0.0)
    if kind == "string":
        return "mock" + "x" * max(0, int(schema.get("minLength", 0) or 0) - 4)
    if kind == "null":
        return None
    if "default" in schema:
        return schema["default"]
    return None
