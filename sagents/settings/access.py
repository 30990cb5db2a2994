"""Settings of who may use the server: API keys and their users, admins, and
the host names browsers may address it by.

A new setting about identity or about which requests are let in goes here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from sagents.settings.parsing import comma_or_json_list, comma_or_json_set


class AccessSettings(BaseModel):
    """Part of ``Settings``."""

    # identity: API key -> user id; empty means single local user, loopback only
    api_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    local_user: str = "local"
    admin_users: Annotated[set[str], NoDecode] = Field(
        default_factory=set,
        description="Users who may register or change MCP servers (the local user always may).",
    )

    # browsers (app/host_guard.py, app/cross_site.py): who may address the server
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names (no port; '*.example.org' for subdomains) accepted in the Host "
        "header besides loopback ones. Without API keys only loopback and these are served; "
        "with keys, any Host is unless this is set.",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: Any) -> Any:
        """Accept ``key1:alice,key2:bob`` as well as a JSON object."""
        if isinstance(value, str) and value.strip().startswith("{"):
            return json.loads(value)
        if isinstance(value, str):
            pairs = [p.strip() for p in value.split(",") if p.strip()]
            out: dict[str, str] = {}
            for pair in pairs:
                key, sep, user = pair.partition(":")
                if not sep or not key or not user:
                    raise ValueError("SAGE_API_KEYS entries must look like KEY:USER")
                out[key] = user
            return out
        return value

    @field_validator("admin_users", mode="before")
    @classmethod
    def _parse_admin_users(cls, value: Any) -> Any:
        """Accept ``alice,bob`` as well as a JSON list."""
        return comma_or_json_set(value)

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _parse_trusted_hosts(cls, value: Any) -> Any:
        """Accept ``a.example,b.example`` as well as a JSON list."""
        return comma_or_json_list(value)
