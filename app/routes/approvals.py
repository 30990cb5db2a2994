"""Approvals: decide on a tool call a run waits for (``approval.requested``).

``POST /api/v1/sessions/{id}/runs/{run_id}/approvals/{call_id}`` approves,
rejects (with a reason the model reads as the call's result) or edits (new
arguments, checked against the tool's JSON schema) one call; ``GET
…/runs/{run_id}/approvals`` lists the calls still waiting. Any replica may
take a decision: the store holds it (``sagents.runs.approvals``). A run
whose process stopped while it waited is resumed by the decision on the
server that receives it (``sagents.resume``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import jsonschema
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from app.deps import runtime, sagent
from app.errors import ApiError, not_found
from app.identity import current_user
from app.openapi_errors import error_responses
from app.schemas import RecordOut
from sagents.agents.decompose import PLAN_CALL, plan_problems
from sagents.resume import resume_waiting_run
from sagents.runtime import Runtime
from sagents.sagent import SAgent
from sagents.store.records import ApprovalRecord, RunRecord, RunStatus, SessionRecord, now
from sagents.tools.mcp.elicitation import INPUT_TOOL
from sagents.wire_types import Utf8Str

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

User = Annotated[str, Depends(current_user)]
Rt = Annotated[Runtime, Depends(runtime)]
Agent = Annotated[SAgent, Depends(sagent)]
MAX_EDIT_ERRORS = 20
"""Schema problems named in a 422; a wildly wrong edit is not listed whole."""


class ApprovalOut(RecordOut):
    call_id: str
    run_id: str
    session_id: str
    tool: str
    arguments: Any
    reason: str = Field(description="Why the call needs approval.")
    requested_at: float
    expires_at: float = Field(description="When the call is rejected unanswered (epoch s).")
    decision: Literal["approve", "reject", "edit"] | None = None
    decided_by: str | None = None
    decided_at: float | None = None
    edited_arguments: Any = None
    decision_reason: str | None = None


class _Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Utf8Str | None = Field(
        default=None,
        max_length=4000,
        description="Why; for 'reject', the model reads it as the call's result.",
    )


class Approve(_Decision):
    decision: Literal["approve"]


class Reject(_Decision):
    decision: Literal["reject"]


class Edit(_Decision):
    decision: Literal["edit"]
    arguments: dict[str, Any] = Field(
        description="The arguments the call runs with instead, checked against the "
        "tool's JSON schema (422 naming each problem when they do not fit)."
    )


ApprovalDecisionIn = Annotated[Approve | Reject | Edit, Field(discriminator="decision")]
"""One decision; its kind says which fields go with it."""


async def _waiting_run(rt: Runtime, user: str, session_id: str, run_id: str) -> RunRecord:
    session = await rt.store.get_session(user, session_id)
    if session is None:
        raise not_found("session", session_id)
    run = await rt.store.get_run(session_id, run_id)
    if run is None:
        raise not_found("run", run_id)
    return run


@router.get("/{session_id}/runs/{run_id}/approvals", responses=error_responses(404))
async def list_approvals(session_id: str, run_id: str, user: User, rt: Rt) -> list[ApprovalOut]:
    """The run's tool calls still waiting for a decision, oldest first."""
    await _waiting_run(rt, user, session_id, run_id)
    pending = await rt.store.list_approvals(run_id, pending_only=True)
    return [ApprovalOut.of(a) for a in pending]


@router.post("/{session_id}/runs/{run_id}/approvals/{call_id}", responses=error_responses(404, 409))
async def decide(
    session_id: str,
    run_id: str,
    call_id: str,
    body: ApprovalDecisionIn,
    user: User,
    rt: Rt,
    agent: Agent,
) -> ApprovalOut:
    """Approve, reject or edit a call the run waits for; the run goes on.

    409 when the call was decided already, or its run no longer waits
    (cancelled, ended); 422 when edited arguments do not fit the tool."""
    run = await _waiting_run(rt, user, session_id, run_id)
    approval = await rt.store.get_approval(run_id, call_id)
    if approval is None:
        raise not_found("approval", call_id)
    if not approval.pending:
        raise ApiError(
            409, "already_decided", f"call '{call_id}' was decided already ({approval.decision})"
        )
    if run.status is not RunStatus.WAITING:
        raise ApiError(
            409, "not_waiting", f"run '{run_id}' is {run.status.value}, not waiting for a decision"
        )
    if approval.expires_at <= now():
        # Its run's process would have rejected it by now; with none (it
        # stopped), the timeout is taken here, and the run goes on with it.
        expired = await rt.approvals.expire(approval)
        await _deliver(rt, agent, user, session_id, run)
        raise ApiError(
            409, "expired", f"call '{call_id}' waited past its time and was {expired.decision}ed"
        )
    arguments = body.arguments if isinstance(body, Edit) else None
    if arguments is not None:
        _check_arguments(rt, approval, arguments)
    decided = await rt.approvals.decide(
        run_id, call_id, body.decision, by=user, arguments=arguments, reason=body.reason
    )
    if decided is None:
        raise ApiError(409, "already_decided", f"call '{call_id}' was decided already")
    await _deliver(rt, agent, user, session_id, run)
    return ApprovalOut.of(decided)


async def _deliver(rt: Runtime, agent: SAgent, user: str, session_id: str, run: RunRecord) -> None:
    """A run waiting in this process was woken by the decision; otherwise
    make sure it goes on (``_adopt``)."""
    info = rt.runs.get(run.id)
    if info is None or info.finished:
        session = await rt.store.get_session(user, session_id)
        if session is not None:
            _adopt(rt, agent, session, run)


def _adopt(rt: Runtime, agent: SAgent, session: SessionRecord, run: RunRecord) -> None:
    """The run does not wait in this process: it waits on another replica
    (which sees the decision in the store), or in none (it was restarted or
    died), and then this process resumes it once nobody vouches for it."""

    async def resume() -> None:
        await resume_waiting_run(agent, session, run)

    def lease_until() -> float:
        if rt.journal is not None:
            return rt.journal.lease_until()
        return now() + rt.settings.run_lease_s

    rt.approvals.adopt(run, rt.instance_id, lease_until, resume, for_s=rt.settings.run_lease_s)


def _check_arguments(rt: Runtime, approval: ApprovalRecord, arguments: dict[str, Any]) -> None:
    """Edited arguments must fit the tool's schema, as the model's must (an
    edited plan: the decomposition's shape, with runnable dependencies)."""
    if approval.tool == PLAN_CALL:
        _refuse(approval, plan_problems(arguments))
        return
    if approval.tool == INPUT_TOOL:  # an answer to an MCP server's question
        schema = approval.arguments.get("schema") if isinstance(approval.arguments, dict) else None
        parameters: dict[str, Any] = schema if isinstance(schema, dict) else {}
    else:
        spec = rt.tools.get(approval.tool)
        if spec is None:
            raise ApiError(
                409,
                "tool_gone",
                f"tool '{approval.tool}' is no longer registered; approve or reject",
            )
        parameters = spec.parameters
    validator = jsonschema.Draft202012Validator(parameters)
    try:
        problems = [
            {
                "field": "arguments" + "".join(f".{p}" for p in error.absolute_path),
                "problem": error.message,
                "type": str(error.validator),
            }
            for error in validator.iter_errors(arguments)
        ]
    except Exception as exc:  # a schema jsonschema cannot apply (an MCP server's)
        log.warning("tool %r: its schema could not check an edit: %r", approval.tool, exc)
        problems = []  # the tool checks its arguments itself when called
    _refuse(approval, problems)


def _refuse(approval: ApprovalRecord, problems: list[dict[str, str]]) -> None:
    if problems:
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        raise ApiError(
            422,
            "invalid_arguments",
            f"the edited arguments do not fit tool '{approval.tool}': {summary}",
            problems[:MAX_EDIT_ERRORS],
        )
