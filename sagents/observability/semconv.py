"""Names from the OpenTelemetry GenAI semantic conventions, and Sage's own.

The GenAI conventions are still marked "development"; the names here are
the ones the current documents use (``gen_ai.provider.name`` rather than
the older ``gen_ai.system``, messages as ``gen_ai.input.messages`` /
``gen_ai.output.messages`` JSON). Sage's own attributes are under
``sage.``, so they never collide with a future convention.
"""

from __future__ import annotations

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
RESPONSE_MODEL = "gen_ai.response.model"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"
AGENT_NAME = "gen_ai.agent.name"
CONVERSATION_ID = "gen_ai.conversation.id"
WORKFLOW_NAME = "gen_ai.workflow.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

OP_CHAT = "chat"
OP_INVOKE_AGENT = "invoke_agent"
OP_INVOKE_WORKFLOW = "invoke_workflow"
OP_EXECUTE_TOOL = "execute_tool"

SESSION_ID = "sage.session.id"
RUN_ID = "sage.run.id"
USER_ID = "sage.user.id"
NODE = "sage.flow.node"
ROLE = "sage.llm.role"
TOKENS_ESTIMATED = "sage.usage.estimated"
TOOL_SOURCE = "sage.tool.source"
"""``local``, ``mcp``, ``builtin_mcp`` or ``skill``."""
TOOL_ORIGIN = "sage.tool.origin"
"""The MCP server's name, or the skill's name, when there is one."""
RUN_STATUS = "sage.run.status"

TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
"""The explicit bucket boundaries the conventions give ``gen_ai.client.token.usage``."""

DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
"""The explicit bucket boundaries (seconds) the conventions give
``gen_ai.client.operation.duration``; Sage uses them for its run and tool
durations too, so one dashboard scale fits all."""
