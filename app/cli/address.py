"""One address for the server and the CLI.

``SAGE_URL`` (or ``url`` in ``.env``) names where Sage runs; ``sage serve``
binds its host and port and every client command connects to it. Without
it, both use ``SAGE_HOST`` and ``SAGE_PORT``, so ``SAGE_PORT=19080 sage
serve`` and ``SAGE_PORT=19080 sage chat hi`` meet. Flags (``--host``,
``--port``, ``--url``) win over both."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from rich.console import Console

from sagents.settings import Settings

WILDCARDS = {"0.0.0.0", "::", ""}
"""Bind-everything addresses: a client reaches such a server on loopback."""


def _url_host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def client_url(settings: Settings) -> str:
    """Where the CLI finds the server."""
    if settings.url:
        return settings.url
    host = "127.0.0.1" if settings.host in WILDCARDS else settings.host
    return f"http://{_url_host(host)}:{settings.port}"


def bind_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    """What ``sage serve`` binds: flags, else ``SAGE_URL``, else host/port settings."""
    url_host: str | None = None
    url_port: int | None = None
    if settings.url:
        parsed = urlsplit(settings.url)
        url_host = parsed.hostname
        url_port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return host or url_host or settings.host, port or url_port or settings.port


def resolve_url(url: str | None) -> str:
    """``--url`` if given, else the configured address; a bad setting exits 2."""
    if url:
        return url.rstrip("/")
    try:
        return client_url(Settings())
    except ValidationError as exc:
        Console(stderr=True).print(
            f"invalid configuration: {exc}", style="red", markup=False, highlight=False
        )
        raise typer.Exit(2) from None
