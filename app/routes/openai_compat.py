"""OpenAI-compatible endpoints: ``POST /v1/chat/completions``, ``GET /v1/models``.

Any OpenAI client (the SDKs, Open WebUI, LibreChat) can use Sage as a model.
The ``model`` names a profile (``app.openai_facade.profiles``); the answer
streams as ``delta.content`` and the agents' steps as ``reasoning_content``;
usage is the run's total. A client that disconnects cancels the run.

Errors here use OpenAI's body, not Sage's, since these clients parse that:
the handlers answer ``FacadeError`` themselves instead of raising into the
app's error handlers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sse_starlette import EventSourceResponse

from app.deps import runtime, sagent
from app.ephemeral import end_request
from app.errors import ApiError
from app.identity import BEARER, resolve_user
from app.openai_facade.completion import CompletionCollector, CompletionStream
from app.openai_facade.conversation import (
    SESSION_HEADER,
    open_ephemeral_session,
    read_turn,
    run_request,
)
from app.openai_facade.profiles import PROFILES
from app.openai_facade.wire import ChatCompletionRequest, FacadeError
from app.openapi_errors import error_responses
from sagents.flow.catalog import FlowError
from sagents.request import RunRequest
from sagents.runs.registry import RunInfo, SessionBusy
from sagents.runtime import Runtime
from sagents.sagent import SAgent, SessionNotFound, UnknownNames

log = logging.getLogger(__name__)

# The bearer scheme only marks the operations in the OpenAPI document (it
# never refuses): ``_user`` reads the key itself, to answer in OpenAI's shape.
router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Security(BEARER)])

Rt = Annotated[Runtime, Depends(runtime)]
Agent = Annotated[SAgent, Depends(sagent)]


def _user(rt: Runtime, request: Request) -> str:
    try:
        return resolve_user(rt.settings, request.headers.get("authorization"))
    except ApiError as exc:
        raise FacadeError(401, exc.message, code="invalid_api_key") from None


@router.get("/models", response_model=None)
async def list_models(request: Request, rt: Rt) -> Response:
    try:
        _user(rt, request)
    except FacadeError as exc:
        return exc.response()
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {
                    "id": p.name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "sage",
                    "description": p.description,
                }
                for p in PROFILES.values()
            ],
        }
    )


async def _parse(request: Request) -> ChatCompletionRequest:
    try:
        raw = json.loads(await request.body())
    except ValueError:
        raise FacadeError(400, "the request body is not valid JSON") from None
    try:
        body = ChatCompletionRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise FacadeError(400, f"{where}: {first['msg']}", param=where) from None
    body.check_supported()
    if body.model not in PROFILES:
        raise FacadeError(
            404,
            f"model '{body.model}' does not exist; Sage offers {', '.join(PROFILES)}",
            param="model",
            code="model_not_found",
        )
    return body


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The request model's JSON schema with its ``$defs`` written in place,
    so it stands alone inside the OpenAPI document (the body is parsed by
    hand, not by FastAPI, which would otherwise register the models)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline(ChatCompletionRequest.model_json_schema())}
        },
    }
}


@router.post(
    "/chat/completions",
    response_model=None,
    openapi_extra=_BODY,
    # OpenAI's error body has ErrorBody's two required fields (type, message)
    responses=error_responses(400, 404, 409),
)
async def chat_completions(request: Request, rt: Rt, agent: Agent) -> Response:
    """One turn of a conversation, streamed (``stream: true``) or whole."""
    ephemeral: str | None = None
    try:
        user = _user(rt, request)
        body = await _parse(request)
        turn = read_turn(body.messages, rt.settings.max_message_bytes)
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            session_id = ephemeral = await open_ephemeral_session(rt, user, turn)
        run = run_request(turn, PROFILES[body.model], session_id)
        info = await _start(agent, run, user, request.headers.get("traceparent"))
    except FacadeError as exc:
        if ephemeral is not None:
            await rt.store.delete_session(user, ephemeral)
        return exc.response()
    headers = {
        "X-Sage-Session-Id": info.session_id,
        "X-Sage-Run-Id": info.run_id,
        "X-Sage-Trace-Id": info.trace_id,
    }
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        stream = CompletionStream(info.run_id, body.model, include_usage)
        return EventSourceResponse(
            _frames(rt, info, stream, user, ephemeral),
            ping=rt.settings.sse_ping_s,
            headers={**headers, "Cache-Control": "no-cache"},
        )
    return await _whole(request, rt, info, body.model, user, ephemeral, headers)


async def _start(agent: SAgent, run: RunRequest, user: str, traceparent: str | None) -> RunInfo:
    try:
        return await agent.start(run, user, traceparent=traceparent)
    except SessionNotFound as exc:
        raise FacadeError(404, str(exc), param=SESSION_HEADER, code="session_not_found") from None
    except SessionBusy as exc:
        raise FacadeError(
            409, f"session '{exc.session_id}' is already running a run", code="session_busy"
        ) from None
    except (UnknownNames, FlowError) as exc:
        raise FacadeError(400, str(exc)) from None


async def _frames(
    rt: Runtime, info: RunInfo, stream: CompletionStream, user: str, ephemeral: str | None
) -> AsyncIterator[bytes]:
    completed = False
    try:
        async for batch in rt.runs.subscribe_batches(info.run_id):
            yield stream.encode(batch)
        completed = True
    finally:
        await end_request(rt, info, completed, user, ephemeral)


async def _whole(
    request: Request,
    rt: Runtime,
    info: RunInfo,
    model: str,
    user: str,
    ephemeral: str | None,
    headers: dict[str, str],
) -> Response:
    """Collect the run; a client that hangs up meanwhile cancels it."""
    collector = CompletionCollector()

    async def collect() -> None:
        async for event in rt.runs.subscribe(info.run_id):
            collector.add(event)

    async def client_gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    reading = asyncio.create_task(collect())
    watching = asyncio.create_task(client_gone())
    completed = False
    try:
        await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
        completed = reading.done()
    finally:
        for task in (reading, watching):
            task.cancel()
        await asyncio.gather(reading, watching, return_exceptions=True)
        await end_request(rt, info, completed, user, ephemeral)
    try:
        return JSONResponse(collector.completion(info.run_id, model), headers=headers)
    except FacadeError as exc:
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
