"""Settings from the environment: the public names and both key formats."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sagents.settings import Settings
from tests.conftest import make_settings


def from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_public_llm_names(monkeypatch: pytest.MonkeyPatch) -> None:
    s = from_env(
        monkeypatch,
        SAGE_LLM_BASE_URL="http://127.0.0.1:11434/v1",
        SAGE_LLM_MODEL="llama3.1",
        SAGE_LLM_API_KEY="secret-key-123",
        SAGE_DATA_DIR="/tmp/sage-x",
    )
    assert s.llm_configured and s.model_for("simple") == "llama3.1"
    assert str(s.db_path) == "/tmp/sage-x/sage.db"
    assert "secret-key-123" not in str(s.masked())


@pytest.mark.parametrize(
    "raw", ["k1:alice,k2:bob", " k1:alice , k2:bob ", '{"k1": "alice", "k2": "bob"}']
)
def test_api_keys_both_formats(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    assert from_env(monkeypatch, SAGE_API_KEYS=raw).api_keys == {"k1": "alice", "k2": "bob"}


def test_bad_api_keys_name_the_format(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="KEY:USER"):
        from_env(monkeypatch, SAGE_API_KEYS="just-a-key")


def test_fast_model_for_deciders(monkeypatch: pytest.MonkeyPatch) -> None:
    s = from_env(monkeypatch, SAGE_LLM_MODEL="big", SAGE_LLM_FAST_MODEL="small")
    assert (s.model_for("router"), s.model_for("judge"), s.model_for("simple")) == (
        "small",
        "small",
        "big",
    )


def test_llm_connection_and_run_default_names(monkeypatch: pytest.MonkeyPatch) -> None:
    s = from_env(
        monkeypatch,
        SAGE_LLM_API_VERSION="2024-10-21",
        SAGE_LLM_ORGANIZATION="org-1",
        SAGE_LLM_PROJECT="proj-1",
        SAGE_LLM_DEFAULT_HEADERS='{"X-Gateway-Token": "very-secret"}',
        SAGE_LLM_RETRY_AFTER_MAX_S="5",
        SAGE_DEFAULT_DEEP_THINKING="false",
        SAGE_DEFAULT_MULTI_AGENT="true",
        SAGE_SKILL_SELECTION="false",
        SAGE_SYSTEM_PROMPT="You are Ada.",
    )
    assert (s.llm_api_version, s.llm_organization, s.llm_project) == (
        "2024-10-21",
        "org-1",
        "proj-1",
    )
    assert s.llm_default_headers == {"X-Gateway-Token": "very-secret"}
    assert s.llm_retry_after_max_s == 5
    assert (s.default_deep_thinking, s.default_multi_agent, s.skill_selection) == (
        False,
        True,
        False,
    )
    assert s.system_prompt == "You are Ada."
    assert "very-secret" not in str(s.masked())


def test_route_defaults_are_unset_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    s = from_env(monkeypatch)
    assert s.default_deep_thinking is None and s.default_multi_agent is None
    assert s.skill_selection is True and s.system_prompt is None


def test_database_and_redis_urls_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        make_settings(tmp_path, database_url="mysql://db/sage")
    with pytest.raises(ValueError, match="redis://"):
        make_settings(tmp_path, redis_url="http://cache")
    unset = make_settings(tmp_path, database_url="", redis_url="")
    assert unset.database_url is None and unset.redis_url is None


def test_the_event_log_can_be_off_only_without_replicas(tmp_path: Path) -> None:
    assert make_settings(tmp_path).event_log_enabled is True
    assert make_settings(tmp_path, event_log_enabled=False).event_log_enabled is False
    with pytest.raises(ValueError, match="event_log_enabled=false cannot go with redis_url"):
        make_settings(tmp_path, event_log_enabled=False, redis_url="redis://127.0.0.1:6379/0")
