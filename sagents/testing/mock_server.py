"""A mock OpenAI-compatible server driven by an LLM script.

End-to-end tests point the real openai SDK (through ``OpenAIChatModel``) at
it, so streaming, SSE parsing, retries and timeouts are exercised over real
HTTP on loopback. ``sage mock-llm`` serves it standalone for smoke tests and
for trying the web UI without an API key.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sagents.testing.cursor import ScriptExhausted
from sagents.testing.dialects import OPENAI, Dialect, Refusal, get_dialect
from sagents.testing.mock_json import instance_for, requested_schema
from sagents.testing.mock_responses import HangResponse, SSEStreamResponse, TruncatedJSONResponse
from sagents.testing.mock_state import MockState
from sagents.testing.openai_wire import completion_json, error_json, stream_frames
from sagents.testing.render import render_turn, turn_usage
from sagents.testing.script import Script, ScriptLike, default_script
from sagents.testing.serve import ServerThread
from sagents.testing.strict import tool_pairing_violation

ROLE_HEADER = "x-sage-role"
MOCK_MODEL = "sage-mock"


def create_mock_app(
    script: ScriptLike | MockState | None = None,
    *,
    dialect: str | Dialect = OPENAI,
    strict: bool = True,
) -> Starlette:
    """The ASGI app, speaking ``dialect`` (see ``sagents.testing.dialects``).

    Pass a ``MockState`` to inspect it from outside; the app also exposes it
    as ``app.state.mock``.

    ``strict`` (the default, as the real API is) answers 400 with OpenAI's
    error to a history whose tool calls and results do not pair up (see
    ``sagents.testing.strict``); such a request is recorded but takes no
    scripted turn.
    """
    if isinstance(script, MockState):
        state = script
    else:
        state = MockState(Script.coerce(script) if script is not None else default_script())
    speaks = get_dialect(dialect)

    async def chat_completions(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _refuse(speaks, Refusal(400, "The request body is not valid JSON."))
        if not isinstance(body, dict):
            return _refuse(speaks, Refusal(400, "The request body must be a JSON object."))
        role = request.headers.get(ROLE_HEADER)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        state.record(body, role, path)
        if strict and (violation := tool_pairing_violation(body.get("messages"))) is not None:
            return JSONResponse(violation.error_body(), status_code=400)
        return await _answer(state, speaks, body, role)

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": MOCK_MODEL, "object": "model", "created": 0, "owned_by": "sage"}],
            }
        )

    async def mock_requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_requests()
        return JSONResponse(
            {
                "requests": state.requests,
                "roles": state.roles,
                "times": state.times,
                "disconnects": state.disconnects,
            }
        )

    async def mock_script(request: Request) -> Response:
        try:
            script = Script.coerce(json.loads(await request.body()))
        except ValueError as exc:  # JSON and pydantic validation errors alike
            return _error(400, f"Invalid script: {exc}", "invalid_request_error")
        state.set_script(script)
        return JSONResponse({"ok": True, "turns": len(script.turns)})

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/chat/completions", chat_completions, methods=["POST"]),
            # Azure OpenAI: the deployment (Sage's model name) is in the path
            # and the API version in the query.
            Route(
                "/openai/deployments/{deployment}/chat/completions",
                chat_completions,
                methods=["POST"],
            ),
            Route("/v1/models", models, methods=["GET"]),
            Route("/models", models, methods=["GET"]),
            Route("/openai/models", models, methods=["GET"]),
            Route("/_mock/requests", mock_requests, methods=["GET", "DELETE"]),
            Route("/_mock/script", mock_script, methods=["POST"]),
        ]
    )
    app.state.mock = state
    app.state.dialect = speaks
    return app


async def _answer(
    state: MockState, dialect: Dialect, body: dict[str, Any], role: str | None
) -> Response:
    script = state.script
    refused = dialect.refusal(body)
    if refused is not None:
        return _refuse(dialect, refused)
    rejected = script.rejects(body.get("response_format"))
    if rejected is not None:
        return _refuse(
            dialect,
            Refusal(
                script.reject_status,
                f"response_format type '{rejected}' is not supported by this server",
                "response_format",
            ),
        )
    parameter = script.rejected_parameter(body)
    if parameter is not None:
        return _refuse(
            dialect,
            Refusal(script.reject_status, f"Unsupported parameter: '{parameter}'", parameter),
        )
    try:
        pick = state.take(role)
    except ScriptExhausted as exc:
        return _error(410, str(exc), "script_exhausted")
    turn = pick.turn
    faults = turn.faults
    if pick.failing and faults.http_status is not None:
        status = faults.http_status
        kind = "rate_limit_error" if status == 429 else "server_error"
        headers = {"Retry-After": faults.retry_after} if faults.retry_after else None
        return _error(status, f"Injected fault: HTTP {status}.", kind, headers=headers)
    if pick.failing and faults.hang:
        return HangResponse(state=state)
    if script.json_defaults and turn.json_ is None:
        schema = requested_schema(body)
        if schema is not None:
            turn = turn.model_copy(update={"text": "", "json_": instance_for(schema)})

    model = body.get("model") if isinstance(body.get("model"), str) else MOCK_MODEL
    chunks = render_turn(turn, pick.first_call_number)
    usage = turn_usage(turn, body.get("messages"))
    finish = turn.resolved_finish_reason()
    cut = faults.cut_after_chunks if pick.failing else None
    if body.get("stream"):
        options = body.get("stream_options")
        asked = isinstance(options, dict) and bool(options.get("include_usage"))
        sends_usage = dialect.usage == "always" or (dialect.usage == "on_request" and asked)
        frames = stream_frames(
            chunks,
            model=str(model),
            finish_reason=finish,
            usage=usage if sends_usage else None,
            dialect=dialect,
        )
        return SSEStreamResponse(
            frames,
            state=state,
            first_delay_s=faults.first_token_delay_s,
            token_delay_s=faults.token_delay_s,
            cut_after=cut,
        )
    if faults.first_token_delay_s:
        await asyncio.sleep(faults.first_token_delay_s)
    completion = completion_json(
        chunks, model=str(model), finish_reason=finish, usage=usage, dialect=dialect
    )
    if cut is not None:
        return TruncatedJSONResponse(json.dumps(completion).encode())
    return JSONResponse(completion)


def _refuse(dialect: Dialect, refusal: Refusal) -> Response:
    """The dialect's own error answer (status and body shape)."""
    return JSONResponse(
        dialect.error_body(refusal.status, refusal.message, refusal.param),
        status_code=refusal.status,
    )


def _error(
    status: int,
    message: str,
    kind: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = error_json(message, kind=kind, code=code)
    return JSONResponse(body, status_code=status, headers=headers)


class MockLLMServer:
    """The mock app under uvicorn on loopback, in a background thread.

    Usable from sync and async tests alike: the server has its own event loop,
    so a test's loop blocking on the client never starves the server.
    """

    def __init__(
        self,
        script: ScriptLike | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        dialect: str | Dialect = OPENAI,
        strict: bool = True,
    ) -> None:
        """``dialect`` picks which server the mock imitates (``openai``,
        ``vllm``, ``llamacpp``, ``ollama``, ``deepseek``); ``strict=False``
        accepts histories OpenAI would reject (see :func:`create_mock_app`)."""
        self.strict = strict
        self.state = MockState(Script.coerce(script) if script is not None else default_script())
        self.dialect = get_dialect(dialect)
        app = create_mock_app(self.state, dialect=self.dialect, strict=strict)
        self._thread = ServerThread(app, host=host, port=port)
        self._base_url: str | None = None

    def start(self) -> str:
        """Start serving; returns the OpenAI base URL (``http://127.0.0.1:<port>/v1``)."""
        self._base_url = self._thread.start() + "/v1"
        return self._base_url

    def stop(self) -> None:
        self._thread.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the mock LLM server is not started")
        return self._base_url

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The received request bodies (copies), oldest first."""
        return self.state.requests

    @property
    def roles(self) -> list[str | None]:
        return self.state.roles

    @property
    def times(self) -> list[float]:
        """When each request arrived (``time.time()``), in the same order."""
        return self.state.times

    @property
    def paths(self) -> list[str]:
        """Each request's URL path and query, in the same order."""
        return self.state.paths

    @property
    def disconnects(self) -> int:
        """How many clients went away before their slow or hanging response ended."""
        return self.state.disconnects

    def set_script(self, script: ScriptLike) -> None:
        self.state.set_script(Script.coerce(script))

    def clear_requests(self) -> None:
        self.state.clear_requests()

    def __enter__(self) -> MockLLMServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_mock_llm(
    script_path: Path | None, host: str, port: int, dialect: str | Dialect = OPENAI
) -> None:
    """Serve the mock LLM in the foreground until interrupted (``sage mock-llm``).

    Without a script every request gets a friendly canned answer (and a
    schema-valid one when it asks for JSON).
    """
    speaks = get_dialect(dialect)
    script = Script.load(script_path) if script_path is not None else default_script()
    print(
        f"Sage mock LLM: base URL http://{host}:{port}/v1 ({len(script.turns)} scripted "
        f"turn(s), speaking like {speaks.name}: {speaks.server})"
    )
    app = create_mock_app(script, dialect=speaks)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
