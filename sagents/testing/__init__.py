"""Test tools that ship with Sage, so users can test their own flows and tools:
an in-process scripted LLM and a mock OpenAI-compatible server driven by the
same scripts."""

from sagents.testing.cursor import ScriptExhausted
from sagents.testing.dialects import DIALECT_NAMES, DIALECTS, Dialect, get_dialect
from sagents.testing.mock_server import MockLLMServer, create_mock_app, run_mock_llm
from sagents.testing.script import Faults, Script, ScriptedToolCall, Turn, Usage
from sagents.testing.scripted_llm import ScriptedLLM
from sagents.testing.serve import ServerThread

__all__ = [
    "DIALECTS",
    "DIALECT_NAMES",
    "Dialect",
    "Faults",
    "MockLLMServer",
    "Script",
    "ScriptExhausted",
    "ScriptedLLM",
    "ScriptedToolCall",
    "ServerThread",
    "Turn",
    "Usage",
    "create_mock_app",
    "get_dialect",
    "run_mock_llm",
]
