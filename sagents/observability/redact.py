"""Secret redaction for what leaves Sage as text: log lines, exports, and
error messages.

Two kinds of secret are replaced by ``[REDACTED]``: values Sage knows are
secret (the LLM key, the users' API keys, MCP servers' header and env
values, the configured default headers) wherever they appear, and text
that looks like a credential whatever its origin (bearer tokens, ``sk-``
style keys, cloud and forge tokens, ``api_key=...`` pairs). Known values are
matched literally, so a key of any shape is caught; the patterns catch keys
Sage was never told about (one a model or a tool echoed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

MARK = "[REDACTED]"
MIN_SECRET_CHARS = 6
"""Shorter configured values are not treated as secrets: replacing every
``test`` or ``1234`` in a log would hide more than it protects."""

_PATTERNS = (
    # Authorization values: "Bearer <token>", "Basic <b64>"
    r"(?i:\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,})",
    # Provider-style keys: sk-..., sk-proj-..., rk-..., pk-lf-...
    r"\b(?:sk|rk|pk|sk-proj|sk-ant)-[A-Za-z0-9_-]{16,}",
    # GitHub, Slack, Google, AWS access key ids, Hugging Face
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    r"\bAIza[0-9A-Za-z_-]{30,}",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bhf_[A-Za-z0-9]{30,}",
    # JWTs
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
)
_PAIR = re.compile(
    r"""(?ix)
    (?P<key>["']?[a-z0-9_.-]*(?:api[_-]?key|secret|token|password|passwd|authorization)
        [a-z0-9_.-]*["']?\s*[:=]\s*["']?)
    (?P<value>[^\s"',;&}]{6,})
    """
)
"""``name=value`` / ``"name": "value"`` where the name says it is a secret;
the name is kept, so the line still says what was there."""


class Redactor:
    """Replaces secrets in text; built once per Runtime (``from_settings``)."""

    def __init__(
        self, secrets: Iterable[str] = (), more: Callable[[], Iterable[str]] | None = None
    ) -> None:
        """``secrets`` are fixed; ``more`` is asked on each use (the MCP
        servers' values: servers are registered while Sage runs), and the
        pattern rebuilt when its answer changes."""
        self._fixed = _usable(secrets)
        self._more = more
        self._seen: frozenset[str] | None = None
        self._any = self._compile(self._fixed)

    @classmethod
    def from_settings(
        cls, settings: Any, more: Callable[[], Iterable[str]] | None = None
    ) -> Redactor:
        """The settings' secrets (``Settings``; ``Any`` to keep this module
        free of imports), plus what ``more`` gives (MCP header and env values)."""
        secrets: list[str] = []
        key = settings.llm_api_key
        if key is not None:
            secrets.append(key.get_secret_value())
        secrets.extend(settings.api_keys)
        secrets.extend(settings.llm_default_headers.values())
        return cls(secrets, more)

    def _pattern(self) -> re.Pattern[str]:
        if self._more is not None:
            current = _usable(self._more())
            if current != self._seen:
                self._seen = current
                self._any = self._compile(self._fixed | current)
        return self._any

    @staticmethod
    def _compile(values: frozenset[str]) -> re.Pattern[str]:
        # Longest first, so a secret containing another is replaced whole.
        literal = [re.escape(v) for v in sorted(values, key=len, reverse=True)]
        return re.compile("|".join(f"(?:{p})" for p in [*literal, *_PATTERNS]))

    def text(self, text: str) -> str:
        if not text:
            return text
        text = self._pattern().sub(MARK, text)
        return _PAIR.sub(lambda m: m.group("key") + MARK, text)

    def value(self, value: Any) -> Any:
        """``text`` applied to every string inside JSON-like data."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _usable(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS)
