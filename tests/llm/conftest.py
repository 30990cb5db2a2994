"""Fixtures for LLM client tests: a real mock server on loopback per test and
a factory for clients pointed at it, closed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from sagents.llm.openai_model import OpenAIChatModel
from sagents.settings import Settings
from sagents.testing import MockLLMServer, Script


def make_settings(base_url: str, **overrides: Any) -> Settings:
    """Settings for tests: tiny retry delays and short timeouts, no .env."""
    values: dict[str, Any] = {
        "llm_base_url": base_url,
        "llm_model": "m",
        "llm_api_key": "k",
        "llm_retry_base_delay_s": 0.01,
        "llm_retry_max_delay_s": 0.05,
        "llm_first_chunk_timeout_s": 5.0,
        "llm_connect_timeout_s": 2.0,
        "llm_timeout_s": 10.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def mock() -> Iterator[MockLLMServer]:
    with MockLLMServer(Script()) as server:
        yield server


ModelFactory = Callable[..., OpenAIChatModel]


@pytest.fixture
async def make_model(mock: MockLLMServer) -> AsyncIterator[ModelFactory]:
    """``make_model(**settings_overrides)`` → a client for the mock server."""
    models: list[OpenAIChatModel] = []

    def factory(**overrides: Any) -> OpenAIChatModel:
        base_url = overrides.pop("llm_base_url", mock.base_url)
        model = OpenAIChatModel.from_settings(make_settings(base_url, **overrides))
        models.append(model)
        return model

    yield factory
    for model in models:
        await model.aclose()
