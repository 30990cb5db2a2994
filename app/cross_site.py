"""Refuse state-changing requests that a web page on another site could make.

Sage has no cookies, but without API keys it needs none: any request that
reaches the port acts as the local user, so a page the user visits could
drive it with a form or a ``fetch``. Browsers mark such requests, and a page
can send without a CORS preflight (which Sage never grants) only what a form
can: a POST whose body is ``text/plain``, ``application/x-www-form-urlencoded``,
``multipart/form-data`` or untyped, with no custom headers. So a request with
a method other than GET, HEAD or OPTIONS is refused (403) when

1. ``Sec-Fetch-Site`` says another site made it (anything but ``same-origin``
   or ``none``, which is the user typing or a non-browser), or
2. ``Origin`` is present and is not this server (``null`` never is), or
3. its body is of a type a form can send and nothing shows it is not from
   another site: no ``Sec-Fetch-Site: same-origin``, no matching ``Origin``,
   no ``Authorization`` and no ``X-Sage-Client`` header (headers a page on
   another site cannot add without a preflight). This covers old browsers
   that send neither header.

Same-origin requests from Sage's own page pass (they carry a matching
``Origin``), and so do the CLI, curl and SDKs, which send no ``Origin``: JSON
bodies need nothing more, and an upload (multipart) carries
``X-Sage-Client``. With API keys, 1 and 2 still hold (they cost a legitimate
client nothing), while 3 is the key's job: a request without one gets its 401
from the route, and one with a key is vouched for by it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import error_body
from app.host_guard import HostHeader, parse_host

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
"""The body types a cross-site form (or a no-preflight fetch) can send."""
CLIENT_HEADER = "x-sage-client"
"""A header any non-browser client may send to say "not a cross-site form"."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_authority(origin: str) -> tuple[str, HostHeader] | None:
    parts = urlsplit(origin)
    if parts.scheme not in _DEFAULT_PORTS or parts.path not in ("", "/"):
        return None
    parsed = parse_host(parts.netloc)
    return None if parsed is None else (parts.scheme, parsed)


def same_origin(origin: str, host: str | None) -> bool:
    """Whether ``Origin`` names the server the request was sent to (its ``Host``).

    The scheme is not compared: behind a TLS-terminating proxy the page is
    https while this server speaks http. A Host without a port matches the
    Origin's default port.
    """
    authority = _origin_authority(origin)
    target = parse_host(host)
    if authority is None or target is None:
        return False
    scheme, source = authority
    default = _DEFAULT_PORTS[scheme]
    return source.host == target.host and (source.port or default) == (target.port or default)


def refusal(method: str, headers: Headers, *, keys: bool) -> str | None:
    """Why this request could be another site's doing, or None if it cannot.
    ``keys``: API keys are configured (rule 3 is then the key's job)."""
    if method in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"the browser says another site sent it (Sec-Fetch-Site: {fetch_site[:40]})"
    origin = headers.get("origin")
    matching = origin is not None and same_origin(origin, headers.get("host"))
    if origin is not None and not matching:
        return f"it comes from the web page at {origin[:200]!r}, not from this server"
    content_type = headers.get("content-type")
    media = content_type.split(";", 1)[0].strip().lower() if content_type is not None else None
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    form_like = media in FORM_CONTENT_TYPES or (media is None and has_body)
    vouched = (
        matching
        or fetch_site == "same-origin"
        or "authorization" in headers
        or CLIENT_HEADER in headers
    )
    if form_like and not vouched and not keys:
        shown = media or "an untyped body"
        return (
            f"a request with {shown} and no Origin could be another site's form; "
            "send JSON (Content-Type: application/json), or the X-Sage-Client header "
            "(any value) with an upload"
        )
    return None


class CrossSiteGuardMiddleware:
    """Answer 403 to a state-changing request another site could have made."""

    def __init__(self, app: ASGIApp, *, keys: bool) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reason = refusal(scope["method"], Headers(scope=scope), keys=self.keys)
            if reason is not None:
                message = f"cross-site request refused: {reason}"
                response = JSONResponse(error_body("cross_site", message), status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
