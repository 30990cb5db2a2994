"""Every list and set setting reads both ways an operator writes one: ``a,b``
in a shell and a JSON list in generated configuration, with the same result."""

from __future__ import annotations

import json

import pytest

from sagents.settings import Settings

LISTS = {
    "SAGE_TRUSTED_HOSTS": ("trusted_hosts", ["a.example", "*.b.example"]),
    "SAGE_TOOLS": ("tools", ["my_pkg.tools", "other"]),
    "SAGE_BUILTIN_TOOLS": ("builtin_tools", ["fetch_url", "read_file"]),
    "SAGE_FETCH_URL_HOSTS": ("fetch_url_hosts", ["example.org", "*.example.org"]),
    "SAGE_LLM_IMAGE_MODELS": ("llm_image_models", ["gpt-4o", "llava"]),
    "SAGE_SKILL_DEPS_FIND_LINKS": ("skill_deps_find_links", ["/wheels", "https://w.example/"]),
    "SAGE_ADMIN_USERS": ("admin_users", ["alice", "bob"]),
}


def from_env(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> Settings:
    monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("variable", sorted(LISTS))
def test_comma_separated_and_json_lists_read_alike(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    field, items = LISTS[variable]
    comma = getattr(from_env(monkeypatch, variable, " , ".join(items) + " ,"), field)
    as_json = getattr(from_env(monkeypatch, variable, json.dumps(items)), field)
    expected = set(items) if field == "admin_users" else items
    assert comma == as_json == expected
