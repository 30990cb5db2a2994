"""Who is asking. Every request has a user; every lookup is scoped to them.

With API keys configured, ``Authorization: Bearer <key>`` maps to a user.
Without keys, every request is the single local user, and ``sage serve``
refuses to bind anything but loopback (see ``app.cli.serve``), so an
unauthenticated server is never reachable from another machine.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import ApiError
from sagents.settings import Settings


def resolve_user(settings: Settings, authorization: str | None) -> str:
    if not settings.api_keys:
        return settings.local_user
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "missing 'Authorization: Bearer <api key>' header")
    for key, user in settings.api_keys.items():
        # constant-time comparison: the key is a secret
        if hmac.compare_digest(key.encode(), token.strip().encode()):
            return user
    raise ApiError(401, "unauthorized", "unknown API key")


BEARER = HTTPBearer(auto_error=False, description="An API key from SAGE_API_KEYS.")
"""Declares the bearer scheme, so the OpenAPI document marks every operation
that identifies its caller (``app.openapi_errors`` keeps the mark only when
keys are configured). ``resolve_user`` reads the header itself, to say what
is wrong with it."""


async def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> str:
    """FastAPI dependency: the authenticated user id."""
    settings: Settings = request.app.state.runtime.settings
    return resolve_user(settings, request.headers.get("authorization"))
