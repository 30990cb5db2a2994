"""Media types for session files: what to call a file, and what is safe to
serve as what it is called.

A workspace file was written by a script or a model, so its content is
hostile. Served with a type a browser renders actively (HTML, SVG, XML,
JavaScript), it would run in the service's origin. Only types a browser
shows passively keep their name when downloaded; everything else is served
as ``application/octet-stream`` (always as an attachment, with ``nosniff``,
see ``app/routes/files.py``).
"""

from __future__ import annotations

import mimetypes

SAFE_TO_SERVE = frozenset(
    {
        "text/plain",
        "text/csv",
        "text/markdown",
        "application/json",
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/wav",
        "video/mp4",
        "application/zip",
        "application/gzip",
    }
)
_EXTRA = {".md": "text/markdown", ".csv": "text/csv", ".jsonl": "application/json"}


def guess(path: str) -> str:
    """The media type a file's name suggests (``application/octet-stream``
    when it suggests none); reported in listings and ``file.created``."""
    suffix = path[path.rfind(".") :].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if suffix in _EXTRA:
        return _EXTRA[suffix]
    guessed, _ = mimetypes.guess_type("x" + suffix, strict=False)
    return guessed or "application/octet-stream"


def served_as(path: str) -> str:
    """The Content-Type to send a file with: its type when passive, else bytes."""
    media = guess(path)
    if media not in SAFE_TO_SERVE:
        return "application/octet-stream"
    return f"{media}; charset=utf-8" if media.startswith("text/") else media
