"""One file per agent; agents talk only through the SessionContext."""

from sagents.agents.agent_tool import AgentToolSpec
from sagents.agents.base import Agent
from sagents.agents.simple import SimpleAgent

__all__ = ["Agent", "AgentToolSpec", "SimpleAgent"]
