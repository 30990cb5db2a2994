"""``fetch_url``: read a web page from an operator's allow-list of hosts.

Off unless the operator turns it on (``SAGE_BUILTIN_TOOLS``) *and* lists the
hosts (``SAGE_FETCH_URL_HOSTS``): a model that can fetch any URL can reach
the server's own network (metadata services, admin ports). Only http(s) URLs
without credentials; every redirect is checked against the list again; the
body is read up to ``SAGE_FETCH_URL_MAX_BYTES`` and the whole call is bounded
by ``SAGE_FETCH_URL_TIMEOUT_S``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urljoin, urlsplit

import httpx2
from pydantic import Field

from sagents.settings import Settings
from sagents.tools.builtin.scope import BuiltinToolError
from sagents.tools.decorator import tool
from sagents.tools.spec import ToolSpec

MAX_REDIRECTS = 5
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def _check(url: str, allowed: list[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BuiltinToolError(f"only http and https URLs can be fetched, not {url[:200]!r}")
    if parts.username or parts.password:
        raise BuiltinToolError("URLs with credentials are not fetched")
    if not parts.hostname or not host_allowed(parts.hostname, allowed):
        listed = ", ".join(allowed) or "(none)"
        raise BuiltinToolError(f"host {parts.hostname!r} is not allowed; allowed hosts: {listed}")


def fetch_tool(settings: Settings) -> ToolSpec:
    allowed = list(settings.fetch_url_hosts)
    max_bytes = settings.fetch_url_max_bytes

    async def fetch_url(
        url: Annotated[str, Field(description="An http(s) URL on an allowed host.")],
    ) -> str:
        """Fetch a web page or file (text) from one of the hosts this server allows."""
        _check(url, allowed)
        async with httpx2.AsyncClient(follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                async with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        _check(url, allowed)
                        continue
                    body = bytearray()
                    cut = False
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            cut = True
                            del body[max_bytes:]
                            break
                    media = response.headers.get("content-type", "")
                    head = f"HTTP {response.status_code} {media}".strip()
                    if media and not media.startswith(TEXT_TYPES):
                        return f"{head}\n(binary content, {len(body)} bytes read; not shown)"
                    text = body.decode(response.encoding or "utf-8", errors="replace")
                    note = f"\n[cut at {max_bytes} bytes]" if cut else ""
                    return f"{head}\n\n{text}{note}"
        raise BuiltinToolError(f"more than {MAX_REDIRECTS} redirects")

    # The call's deadline (the spec's timeout, applied by ToolProxy) bounds the time.
    return tool(name="fetch_url", timeout_s=settings.fetch_url_timeout_s)(fetch_url)
