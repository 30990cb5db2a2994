"""The environment of the programs Sage starts: defaults, network variables,
the caller's own, never Sage's secrets."""

from __future__ import annotations

from sagents.child_env import NETWORK_VARIABLES, child_environment

HOST = {
    "PATH": "/usr/bin",
    "HOME": "/root",
    "SAGE_LLM_API_KEY": "sk-secret",
    "sage_lower": "also Sage's",
    "OPENAI_API_KEY": "sk-provider",
    "HTTPS_PROXY": "http://proxy:3128",
    "no_proxy": "localhost",
    "SSL_CERT_FILE": "/ca.pem",
    "PIP_INDEX_URL": "https://mirror/simple",
    "SAGE_PIP_LOOKALIKE": "x",
    "BASH_FUNC_x%%": "() { evil; }",
    "TERM": "() { evil; }",
}


def test_defaults_network_and_extra_but_no_secrets() -> None:
    env = child_environment({"GIVEN": "1"}, source=HOST)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "SSL_CERT_FILE": "/ca.pem",
        "GIVEN": "1",
    }


def test_sage_variables_never_pass_whatever_asks_for_them() -> None:
    env = child_environment(
        source=HOST, also=["SAGE_LLM_API_KEY", "sage_lower", "OPENAI_API_KEY"], prefixes=("PIP_",)
    )
    assert "SAGE_LLM_API_KEY" not in env and "sage_lower" not in env
    assert env["OPENAI_API_KEY"] == "sk-provider"  # named explicitly by the caller
    assert env["PIP_INDEX_URL"] == "https://mirror/simple"
    assert "SAGE_PIP_LOOKALIKE" not in env
    assert "TERM" not in env  # an exported shell function


def test_the_documented_list() -> None:
    proxies = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"]
    certificates = [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
    ]
    assert set(NETWORK_VARIABLES) == {*certificates, *proxies, *(p.lower() for p in proxies)}
