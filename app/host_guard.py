"""Serve only requests addressed to a name this server answers to.

A DNS-rebinding page makes a browser send requests to 127.0.0.1 under the
page's own name: the browser believes it talks to ``evil.example``, so the
same-origin policy lets the page read every answer. The ``Host`` header still
says ``evil.example``, so refusing unknown Host values ends the attack.

Without API keys, whoever reaches the port acts as the local user, so only
loopback names (``localhost``, ``127.0.0.0/8``, ``[::1]``, any port) and
``SAGE_TRUSTED_HOSTS`` are served. With keys the bearer key is what protects
the data, not the Host, so Host is checked only when ``SAGE_TRUSTED_HOSTS``
is set (loopback names stay accepted, for health checks on the machine).

Written here rather than using Starlette's ``TrustedHostMiddleware``: that one
answers in plain text (every other error here is the JSON error body), has no
notion of "any loopback address", and may redirect to a ``www.`` name, which
an API should never do.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_body

_HOST = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[^\[\]:/@\s]+))(?::(?P<port>[0-9]{1,5}))?"
)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""How the error message spells the accepted loopback forms."""


@dataclass(frozen=True)
class HostHeader:
    host: str
    """Lower-cased; an IPv6 literal without its brackets."""
    port: int | None


def parse_host(value: str | None) -> HostHeader | None:
    """``Host`` (or an Origin's authority) as host and port; None if malformed."""
    if not value:
        return None
    match = _HOST.fullmatch(value.strip())
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and port > 65535:
        return None
    if match["ipv6"] is not None:
        try:
            return HostHeader(str(ipaddress.IPv6Address(match["ipv6"])), port)
        except ValueError:
            return None
    return HostHeader(match["name"].lower(), port)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Which Host values are served: loopback ones plus the trusted patterns.

    A pattern is a host name or IP (no port), ``*.example.org`` for any
    subdomain of example.org, or ``*`` for anything.
    """

    def __init__(self, trusted: Iterable[str]) -> None:
        self.any = False
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        for raw in trusted:
            pattern = raw.strip().lower()
            if pattern == "*":
                self.any = True
            elif pattern.startswith("*.") and "*" not in pattern[2:] and len(pattern) > 2:
                self.suffixes.append(pattern[1:])
            else:
                parsed = parse_host(pattern)
                if parsed is None or parsed.port is not None or "*" in pattern:
                    raise ValueError(
                        f"SAGE_TRUSTED_HOSTS entry {raw!r} must be a host name or IP without a "
                        "port, '*.domain' or '*'"
                    )
                self.exact.add(parsed.host)

    def allows(self, host: str) -> bool:
        return (
            self.any
            or is_loopback_host(host)
            or host in self.exact
            or any(host.endswith(suffix) for suffix in self.suffixes)
        )


class HostGuardMiddleware:
    """Answer 400 to a request whose ``Host`` the policy does not serve."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.policy.any:
            await self.app(scope, receive, send)
            return
        raw = Headers(scope=scope).get("host")
        parsed = parse_host(raw)
        if parsed is not None and self.policy.allows(parsed.host):
            await self.app(scope, receive, send)
            return
        shown = "no Host header" if raw is None else f"Host {raw[:200]!r}"
        message = (
            f"{shown} is not served here: this server answers loopback names "
            f"({', '.join(LOOPBACK_NAMES)}) and SAGE_TRUSTED_HOSTS; "
            "an operator can add the name there"
        )
        response = JSONResponse(error_body("untrusted_host", message), status_code=400)
        await response(scope, receive, send)
