"""``Last-Event-ID``: where a resumed event stream starts.

Parsed strictly, as the decimal event number Sage sends in ``id:``: ASCII
digits only (``str.isdigit`` also admits ``²`` and ``٣``, which ``int``
then refuses or reads as another number) and at most 18 of them, so a
5,000-digit value is a 400 rather than Python's integer-conversion limit.
The OpenAPI document states the same pattern.
"""

from __future__ import annotations

import re

from app.errors import ApiError

EVENT_ID_PATTERN = r"^[ \t]*[0-9]{0,18}[ \t]*$"
"""What is accepted, as the OpenAPI document states it; empty means 0."""
_EVENT_ID = re.compile(EVENT_ID_PATTERN)


def parse_last_event_id(raw: str) -> int:
    """The event number to resume after; 0 (from the start) when empty."""
    if not _EVENT_ID.fullmatch(raw):
        value = raw.strip()
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ApiError(
            400,
            "bad_last_event_id",
            f"Last-Event-ID must be an event number (up to 18 digits), got {shown!r}",
        )
    value = raw.strip(" \t")
    return int(value) if value else 0
