"""The retry policy: full-jitter exponential backoff and which errors retry."""

from __future__ import annotations

import random

import pytest

from sagents.llm.errors import (
    LLMError,
    LLMNotConfigured,
    LLMOutputInvalid,
    LLMRequestRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from sagents.llm.retry import backoff_delay, is_retryable


def test_the_ceiling_doubles_per_attempt_up_to_the_maximum() -> None:
    ceilings = [backoff_delay(attempt, 0.5, 8.0, rand=lambda: 1.0) for attempt in range(7)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_full_jitter_spans_zero_to_the_ceiling() -> None:
    assert backoff_delay(3, 0.5, 8.0, rand=lambda: 0.0) == 0.0
    assert backoff_delay(3, 0.5, 8.0, rand=lambda: 0.25) == 1.0


def test_real_jitter_stays_within_bounds_and_varies() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(2, 0.5, 8.0, rand=rng.random) for _ in range(200)]
    assert all(0.0 <= delay <= 2.0 for delay in delays)
    assert len(set(delays)) > 100  # jittered, not lockstep


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert backoff_delay(10_000, 0.5, 8.0, rand=lambda: 1.0) == 8.0


def test_zero_base_delay_means_no_wait() -> None:
    assert backoff_delay(5, 0.0, 8.0, rand=lambda: 1.0) == 0.0


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (LLMUnavailable("503", status_code=503), True),
        (LLMUnavailable("connection refused"), True),
        (LLMTimeout("first chunk"), True),
        (LLMRequestRejected("bad", status_code=400), False),
        (LLMStreamBroken("cut"), False),
        (LLMNotConfigured("no model"), False),
        (LLMOutputInvalid("bad json"), False),
    ],
)
def test_only_transient_errors_are_retryable(error: LLMError, retryable: bool) -> None:
    assert is_retryable(error) is retryable
