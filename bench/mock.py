"""The benchmark's LLM: the project's mock wire format, answering by conversation.

``sagents.testing.MockLLMServer`` hands scripted turns out in script order.
That is right for tests, where one conversation runs at a time, but under
100 or 1,000 concurrent sessions the turns of different sessions would
interleave (one session would get another's tool call). So the benchmark
serves a stateless responder built from the same parts as the project's mock
(``render_turn``, ``stream_frames``, ``SSEStreamResponse``): a request whose
last message is a tool result, or that offers no tools, gets the streamed
answer; any other request gets one call of the first offered tool.
Requests from the multi-agent path's agents (told apart by Sage's role
header) get answers in their own shapes: three subtasks from the decomposer,
a judge that finishes one of them per call (the one piece of state, kept
per run key so runs never mix), text for the rest.

What to answer is read from the model name, e.g. ``bench:tokens=50:delay_ms=5``,
so each Sage runtime (in process or in a server subprocess) picks its
workload through plain settings, and the direct baseline through its own
``model=`` argument, with no shared state in the mock.

Run as ``python -m bench.mock``: it binds a free loopback port and prints
``BASE_URL <url>`` on stdout, then serves until killed.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sagents.llm.openai_model import ROLE_HEADER
from sagents.testing.mock_responses import SSEStreamResponse
from sagents.testing.mock_state import MockState
from sagents.testing.openai_wire import stream_frames
from sagents.testing.render import render_turn
from sagents.testing.script import Script, ScriptedToolCall, Turn

TOOL_ARGUMENTS = {"a": 2, "b": 3}
DEFAULT_TOKENS = 50


@dataclass(frozen=True, slots=True)
class Workload:
    """What the mock answers for one model name."""

    tokens: int = DEFAULT_TOKENS
    delay_ms: float = 0.0

    @classmethod
    def parse(cls, model: str) -> Workload:
        """``bench:tokens=50:delay_ms=5`` → ``Workload(50, 5.0)``; unknown keys are ignored."""
        values: dict[str, str] = {}
        for part in model.split(":")[1:]:
            key, _, value = part.partition("=")
            values[key] = value
        return cls(
            tokens=int(values.get("tokens", DEFAULT_TOKENS)),
            delay_ms=float(values.get("delay_ms", 0.0)),
        )

    def model(self) -> str:
        return f"bench:tokens={self.tokens}:delay_ms={self.delay_ms:g}"


def answer_text(tokens: int) -> str:
    """``tokens`` words; the mock streams one word per chunk."""
    return " ".join(f"w{i}" for i in range(tokens))


@lru_cache(maxsize=64)
def _answer_frames(model: str) -> list[bytes]:
    workload = Workload.parse(model)
    turn = Turn(text=answer_text(workload.tokens))
    return stream_frames(render_turn(turn, 1), model=model, finish_reason="stop", usage=(10, 50))


def _tool_frames(model: str, tool: str, call_number: int) -> list[bytes]:
    turn = Turn(tool_calls=[ScriptedToolCall(name=tool, arguments=TOOL_ARGUMENTS)])
    chunks = render_turn(turn, call_number)
    return stream_frames(chunks, model=model, finish_reason="tool_calls", usage=(10, 5))


def _first_tool(body: dict[str, Any]) -> str | None:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and messages[-1].get("role") == "tool":
        return None
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        name = tools[0].get("function", {}).get("name")
        return name if isinstance(name, str) else None
    return None


MULTI_ROLES = frozenset(
    {"decompose", "planning", "executor", "observation", "judge", "stage_summary", "summary"}
)
"""The agents of the multi-agent path; the mock answers each in its own shape."""
SUBTASKS = 3
RUN_KEY = re.compile(r"run-key-(\w+)")


def _multi_agent_turn(role: str, body: dict[str, Any], judged: dict[str, int]) -> Turn:
    """The multi-agent path's answers: three subtasks, text for the streaming
    agents, and a judge that finishes one subtask per call (counted per run
    key, a token the scenario puts in its message, so runs do not mix)."""
    if role == "decompose":
        return Turn(json={"tasks": [{"id": str(i), "title": f"Part {i}"} for i in (1, 2, 3)]})
    if role == "judge":
        match = RUN_KEY.search(json.dumps(body))
        key = match.group(1) if match else ""
        judged[key] = done = judged.get(key, 0) + 1
        return Turn(
            json={
                "tasks": [{"task_id": str(done), "status": "done", "result": f"part {done}"}],
                "all_done": done >= SUBTASKS,
            }
        )
    return Turn(text=f"{role}: " + answer_text(Workload.parse(str(body.get("model"))).tokens))


def create_bench_mock() -> Starlette:
    # SSEStreamResponse counts client disconnects in a MockState; nothing else
    # of the state is used.
    state = MockState(Script())
    call_numbers = itertools.count(1)
    judged: dict[str, int] = {}

    async def chat_completions(request: Request) -> Response:
        body = json.loads(await request.body())
        model = str(body.get("model") or "bench")
        delay = Workload.parse(model).delay_ms / 1000.0
        role = request.headers.get(ROLE_HEADER, "")
        if role in MULTI_ROLES:
            turn = _multi_agent_turn(role, body, judged)
            frames = stream_frames(
                render_turn(turn, next(call_numbers)),
                model=model,
                finish_reason="stop",
                usage=(10, 20),
            )
            return SSEStreamResponse(frames, state=state, first_delay_s=delay, token_delay_s=delay)
        tool = _first_tool(body)
        if tool is None:
            frames = _answer_frames(model)
        else:
            frames = _tool_frames(model, tool, next(call_numbers))
        return SSEStreamResponse(frames, state=state, first_delay_s=delay, token_delay_s=delay)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Idle keep-alive connections stay open across the pauses between
    # phases: at uvicorn's 5 s, the same as httpx2's pool expiry, a new phase
    # raced the mock closing a thousand idle connections, and the relay's
    # retries each found another closed one (its warm-up failed, run of
    # 2026-12-02).
    config = uvicorn.Config(
        create_bench_mock(),
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=300,
    )
    print(f"BASE_URL http://127.0.0.1:{port}/v1", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
