"""How list-like settings are read from one environment variable.

Operators write ``a,b`` in a shell and ``["a", "b"]`` in generated
configuration; every list or set setting accepts both, the same way.
"""

from __future__ import annotations

import json
from typing import Any


def comma_or_json_list(value: Any) -> Any:
    """``a,b`` (items stripped, empty ones dropped) or a JSON list; other values as given."""
    if isinstance(value, str) and value.strip().startswith("["):
        return json.loads(value)
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def comma_or_json_set(value: Any) -> Any:
    """Like ``comma_or_json_list``, a set when given as ``a,b``."""
    if isinstance(value, str) and value.strip().startswith("["):
        return json.loads(value)
    if isinstance(value, str):
        return {item.strip() for item in value.split(",") if item.strip()}
    return value
