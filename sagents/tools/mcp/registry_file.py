"""Servers registered over HTTP, kept in ``<data_dir>/mcp_servers.json``.

The same ``{"mcpServers": {...}}`` shape as ``mcp_setting.json`` (so an entry
can be copied from one to the other), plus ``disabled_overrides``: servers of
the user's file that were switched on or off through the API. The user's file
itself is never rewritten; it is theirs.

A JSON file rather than a table: the store's schema belongs to sessions, and
this is a handful of admin-edited entries. Writes go to a temporary file that
replaces the old one, so a crash mid-write leaves the previous version.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagents.tools.mcp.config import McpServerEntry, parse_mcp_settings

_log = logging.getLogger(__name__)


@dataclass
class Registrations:
    servers: dict[str, McpServerEntry] = field(default_factory=dict)
    disabled_overrides: dict[str, bool] = field(default_factory=dict)


def load_registrations(path: Path) -> Registrations:
    """Read the registry; a missing or unreadable one is empty (and logged).

    Blocking: call through ``asyncio.to_thread``.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Registrations()
    except (OSError, ValueError) as error:
        _log.error("ignoring unreadable MCP registry %s: %s", path, error)
        return Registrations()
    loaded = parse_mcp_settings(data, strict=True)
    for name, reason in loaded.errors.items():
        _log.error("MCP registry %s: dropping server %r: %s", path, name, reason)
    overrides_raw = data.get("disabled_overrides", {}) if isinstance(data, dict) else {}
    overrides = {
        str(name): value
        for name, value in (overrides_raw.items() if isinstance(overrides_raw, dict) else ())
        if isinstance(value, bool)
    }
    return Registrations(servers=loaded.servers, disabled_overrides=overrides)


def save_registrations(path: Path, registrations: Registrations) -> None:
    """Write atomically (temp file + rename). Blocking: use ``asyncio.to_thread``."""
    document: dict[str, Any] = {
        "mcpServers": {name: entry.to_json() for name, entry in registrations.servers.items()},
        "disabled_overrides": dict(registrations.disabled_overrides),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".mcp_servers.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
