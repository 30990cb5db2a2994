"""Hooks the fuzzing run loads (``SCHEMATHESIS_HOOKS``; see test_openapi_fuzz.py)."""

from __future__ import annotations

from typing import Any

import schemathesis

SAFE_MCP_URL = "http://127.0.0.1:9/mcp"
"""Where a generated remote MCP server is pointed: a closed loopback port, so
fuzzing never sends traffic off this machine."""


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
        case.body["url"] = SAFE_MCP_URL
