"""When to retry an LLM call, and how long to wait first.

Kept free of I/O so the policy can be unit-tested without a server. The
client maps every transport or HTTP failure to an ``LLMError`` first; the
policy then only has to reason about Sage's own error vocabulary.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping

from sagents.llm.errors import LLMError, LLMUnavailable

_MAX_EXPONENT = 32
"""Caps ``2 ** attempt`` so a large attempt count cannot overflow a float."""


def backoff_delay(
    attempt: int,
    base_delay_s: float,
    max_delay_s: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0).

    Full jitter (a uniform draw below the exponential ceiling) rather than a
    fixed exponential: when a shared endpoint starts failing, hundreds of runs
    fail at the same moment, and un-jittered retries would hit it again in
    lockstep.
    """
    ceiling = min(max_delay_s, base_delay_s * (2.0 ** min(max(attempt, 0), _MAX_EXPONENT)))
    return max(0.0, ceiling) * rand()


def is_retryable(error: LLMError) -> bool:
    """Whether sending the same request again may succeed.

    ``LLMUnavailable`` (and its ``LLMTimeout``) covers 429, 5xx, connection
    failures and timeouts: all transient. A rejected request will be rejected
    again, a missing configuration stays missing, and a broken stream has
    already shown output to the user, so none of those is retried.
    """
    return isinstance(error, LLMUnavailable)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """How long a 429 or 503 answer asked the client to wait, in seconds.

    ``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110
    §10.2.3); OpenAI also sends ``retry-after-ms``. A date in the past means
    "now" (0). Anything unparsable, negative or not finite counts as absent.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        seconds = _number(millis)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 9110 dates are GMT
        when = when.replace(tzinfo=datetime.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None
