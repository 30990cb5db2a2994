"""Settings from the environment: the public names and both key formats."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sagents.settings import Settings


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
