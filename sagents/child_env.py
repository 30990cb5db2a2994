"""The environment Sage gives the programs it starts on the host.

MCP stdio servers and ``pip`` (installing skill requirements) are started
with a made-up environment, never Sage's own: Sage's environment holds its
secrets (``SAGE_LLM_API_KEY``, provider keys), and a child that inherited
them could leak them anywhere. What a child gets:

1. the MCP SDK's default inherited variables (``HOME``, ``LOGNAME``,
   ``PATH``, ``SHELL``, ``TERM``, ``USER``), which launchers such as
   ``uvx`` and ``npx`` need to find themselves and their caches;
2. the network variables (``NETWORK_VARIABLES``): certificate bundles and
   proxies, in both the upper- and lower-case spellings tools read, so a
   launcher that downloads its server works behind the same proxy and TLS
   interception as Sage does;
3. what the caller adds (an MCP entry's own ``env``; pip's options).

A variable whose name starts with ``SAGE_`` is never inherited, whatever
list names it. Values that look like exported shell functions (``()…``)
are skipped, as the SDK does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS

NETWORK_VARIABLES: tuple[str, ...] = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
)
"""Certificate bundle paths and proxy settings, passed on when Sage has them."""


def child_environment(
    extra: Mapping[str, str] | None = None,
    *,
    also: Iterable[str] = (),
    prefixes: Iterable[str] = (),
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a child process (see the module's docstring).

    ``also`` names more variables to inherit and ``prefixes`` families of
    them (``PIP_`` for pip's own configuration); ``extra`` is set last and
    wins. ``source`` defaults to this process's environment.
    """
    environ = os.environ if source is None else source
    env: dict[str, str] = {}
    names = [*DEFAULT_INHERITED_ENV_VARS, *NETWORK_VARIABLES, *also]
    wanted_prefixes = tuple(prefixes)
    if wanted_prefixes:
        names += [name for name in environ if name.startswith(wanted_prefixes)]
    for name in names:
        value = environ.get(name)
        if value is not None and _inheritable(name, value):
            env[name] = value
    return env | dict(extra or {})


def _inheritable(name: str, value: str) -> bool:
    return not name.upper().startswith("SAGE_") and not value.startswith("()")
