"""Settings of the server process: where it keeps its data, the address it
binds (and the CLI calls), and what one HTTP connection may hold or send.

A new setting about listening, connections or streaming responses goes
here; who may use the server is ``access.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/sage``, falling back to ``~/.local/share/sage``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sage"


class ServerSettings(BaseModel):
    """Part of ``Settings``."""

    data_dir: Path = Field(default_factory=default_data_dir)

    # the one address setting (app/cli/address.py): `sage serve` binds it,
    # the CLI talks to it; SAGE_HOST/SAGE_PORT are used when it is unset
    url: str | None = Field(
        default=None,
        description="The server's address, e.g. http://127.0.0.1:19080: `sage serve` binds its "
        "host and port (its --host/--port flags win) and the CLI connects to it.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    # connections (app/server.py, sage serve): what one client can hold or send
    http_max_header_bytes: int = Field(
        default=16_384, ge=1024, description="Request line plus headers; larger ones get 400."
    )
    http_max_connections: int = Field(
        default=1000, ge=1, description="Open connections (and requests); more get 503."
    )
    http_backlog: int = Field(default=2048, ge=1, description="Pending connections the OS queues.")
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's headers."
    )
    http_body_timeout_s: float = Field(
        default=60.0, gt=0, description="Time a client has to send a request's body (408)."
    )
    http_keepalive_s: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this."
    )
    http_graceful_shutdown_s: int = Field(
        default=10, ge=0, description="How long shutdown waits for open responses."
    )
    # event streams (app/sse.py)
    sse_ping_s: float = Field(default=15.0, gt=0)
    sse_send_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A stream whose client has read nothing for this long is closed "
        "(and its run cancelled, unless on_disconnect is 'continue').",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value)
        try:
            parsed.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError as exc:
            raise ValueError(f"SAGE_URL {value!r}: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"SAGE_URL {value!r} is not like http://127.0.0.1:8080")
        return value.rstrip("/")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sage.db"
