"""Who may change installation-wide things (MCP servers).

Registering an MCP server can run a command on the host, so it is not an
ordinary user's operation. Admins are listed in ``SAGE_ADMIN_USERS``; in the
single-user local mode (no API keys, loopback only) the local user is the
admin. This is the one place a 403 is right: the resource is not per-user, so
there is nothing to hide behind a 404.

Registering a server that runs a *command* needs more than being an admin:
the operator must also set ``SAGE_ALLOW_MCP_COMMANDS``, even locally. An API
that starts programs on the host is too strong a prize to leave on by
default for whatever reaches the port; ``mcp_setting.json``, which only the
operator can write, is always loaded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.errors import ApiError
from app.identity import current_user
from sagents.settings import Settings


def is_admin(settings: Settings, user: str) -> bool:
    return not settings.api_keys or user in settings.admin_users


async def admin_user(request: Request, user: Annotated[str, Depends(current_user)]) -> str:
    """FastAPI dependency: the caller, who must be an admin."""
    settings: Settings = request.app.state.runtime.settings
    if not is_admin(settings, user):
        raise ApiError(
            403,
            "forbidden",
            "changing MCP servers is an admin operation; "
            "an operator can add your user id to SAGE_ADMIN_USERS",
        )
    return user


def check_command_allowed(settings: Settings) -> None:
    """Refuse (403) registering an MCP server that runs a command, unless allowed."""
    if not settings.allow_mcp_commands:
        raise ApiError(
            403,
            "mcp_commands_disabled",
            "registering an MCP server that runs a command is turned off on this server; "
            "the operator can set SAGE_ALLOW_MCP_COMMANDS=true, or list the server in "
            "mcp_setting.json",
        )
