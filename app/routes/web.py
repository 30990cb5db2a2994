"""The web page: ``GET /`` and its static files under ``/web/``.

The page is plain HTML, CSS and ES modules shipped inside the package
(``app/web/``), so there is nothing to build at install time. The document is
served with a Content-Security-Policy that allows scripts, styles and
connections from this origin only: the page never inserts HTML it did not
write (model output becomes text nodes), and the policy is the second line
should that ever slip.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load, so an upgraded server never runs an old page.
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["web"], include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)


def static_files() -> StaticFiles:
    """The page's scripts and styles, mounted at ``/web``."""
    return StaticFiles(directory=WEB_DIR)
