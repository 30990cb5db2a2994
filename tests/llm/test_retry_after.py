"""Retry-After from the LLM (429 and 503): honoured in seconds and as an
HTTP date, capped by SAGE_LLM_RETRY_AFTER_MAX_S and the call's deadline.
Delays are read from the mock's request timestamps, bounded in seconds."""

from __future__ import annotations

import email.utils
import time

import pytest

from sagents.llm import LLMRequest, LLMUnavailable, OpenAIChatModel, TextDelta
from sagents.llm.retry import retry_after_seconds
from sagents.testing import Faults, MockLLMServer, Turn
from tests.llm.conftest import ModelFactory

HELLO = LLMRequest(role="simple", messages=[{"role": "user", "content": "hi"}])


async def answer(model: OpenAIChatModel) -> str:
    return "".join([c.text async for c in model.stream(HELLO) if isinstance(c, TextDelta)])


def gap(mock: MockLLMServer) -> float:
    first, second = mock.times[:2]
    return second - first


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_is_honoured(
    mock: MockLLMServer, make_model: ModelFactory, status: int
) -> None:
    mock.set_script([Turn(text="ok", faults=Faults(http_status=status, retry_after="1"))])
    assert await answer(make_model()) == "ok"  # backoff alone would wait ≤ 0.05 s
    assert len(mock.requests) == 2
    assert 0.9 <= gap(mock) < 5


async def test_retry_after_as_an_http_date_is_honoured(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    date = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: ≥ 1 s away
    mock.set_script([Turn(text="ok", faults=Faults(http_status=429, retry_after=date))])
    assert await answer(make_model()) == "ok"
    assert 0.9 <= gap(mock) < 6


async def test_retry_after_beyond_the_deadline_fails_at_once(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="never", faults=Faults(http_status=429, retry_after="30"))])
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        await answer(make_model(llm_timeout_s=10, llm_retry_after_max_s=60))
    assert time.monotonic() - started < 4  # neither the 30 s asked nor the 10 s deadline
    assert caught.value.status_code == 429
    assert "asked to retry after 30 s" in str(caught.value)
    assert len(mock.requests) == 1


async def test_retry_after_is_capped_by_the_setting(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="ok", faults=Faults(http_status=503, retry_after="30"))])
    assert await answer(make_model(llm_retry_after_max_s=1)) == "ok"
    assert 0.9 <= gap(mock) < 5  # one second, not thirty


async def test_retry_after_on_other_statuses_is_not_waited_for(
    mock: MockLLMServer, make_model: ModelFactory
) -> None:
    mock.set_script([Turn(text="ok", faults=Faults(http_status=500, retry_after="5"))])
    assert await answer(make_model()) == "ok"
    assert gap(mock) < 3  # backoff (≤ 0.05 s here), not the 5 s asked


def test_parsing() -> None:
    now = 1_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert retry_after_seconds({"retry-after": "3"}) == 3
    assert retry_after_seconds({"retry-after": " 1.5 "}) == 1.5
    assert retry_after_seconds({"retry-after": date}, now=now) == 7
    assert retry_after_seconds({"retry-after": email.utils.formatdate(now - 9)}, now=now) == 0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after-ms": "x", "retry-after": "9"}) == 9
    for bad in ("-1", "nan", "inf", "soon", "", "Wed, 99 Foo 2020"):
        assert retry_after_seconds({"retry-after": bad}) is None
    assert retry_after_seconds({}) is None
