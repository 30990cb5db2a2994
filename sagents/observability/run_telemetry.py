"""One run's telemetry: its span tree and its run metrics.

The run span (``invoke_workflow {flow}``) is the root; each agent node is an
``invoke_agent {agent}`` child, and the LLM calls, tool calls, history
preparation and memory recall made while an agent runs are its children.

Parents are passed explicitly (``parent``, an OpenTelemetry ``Context``)
rather than through the current context: agents are async generators, and a
context attached inside a generator leaks to whoever iterates it at each
``yield`` and cannot be detached safely if the generator is finalised
elsewhere. Only around a tool call (a plain coroutine) is the tool's span
made current, so what the tool does (an MCP request carrying
``traceparent``, a skill script) finds it.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import (
    NoOpTracer,
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    format_trace_id,
    get_current_span,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sagents.observability import semconv as sc
from sagents.observability.setup import Observability

_NO_TRACER = NoOpTracer()


class RunTelemetry:
    """Spans and metrics of one run; built by ``SAgent.start``."""

    __slots__ = (
        "_agents",
        "_cancel_at",
        "_ended",
        "_started",
        "obs",
        "parent",
        "redact",
        "root",
        "session_id",
        "span",
        "trace_id",
        "tracer",
    )

    def __init__(
        self,
        obs: Observability,
        *,
        flow: str,
        session_id: str,
        run_id: str,
        user_id: str,
        redact: Callable[[str], str] = str,
        caller: Context | None = None,
    ) -> None:
        """``caller``: the client's trace context (its ``traceparent``), whose
        child the run's span becomes."""
        self.obs = obs
        self.redact = redact
        """Applied to recorded content and error descriptions (``Redactor.text``)."""
        self.tracer: Tracer = obs.tracer or _NO_TRACER
        self.session_id = session_id
        self.span = self.tracer.start_span(
            f"{sc.OP_INVOKE_WORKFLOW} {flow}",
            context=caller,
            kind=SpanKind.INTERNAL,
            attributes={
                sc.OPERATION: sc.OP_INVOKE_WORKFLOW,
                sc.WORKFLOW_NAME: flow,
                sc.CONVERSATION_ID: session_id,
                sc.SESSION_ID: session_id,
                sc.RUN_ID: run_id,
                sc.USER_ID: user_id,
            },
        )
        self.root: Context = set_span_in_context(self.span)
        self.parent: Context = self.root
        """Where the next child span goes: the running agent's span, else the run's."""
        self.trace_id = new_trace_id(self.span)
        self._agents: list[tuple[Span, Context]] = []
        self._started = time.perf_counter()
        self._ended = False
        self._cancel_at: float | None = None

    def cancel_requested(self) -> None:
        """A cancel was asked for (the time ``sage.run.cancel.duration`` starts)."""
        if self._cancel_at is None:
            self._cancel_at = time.perf_counter()

    def started(self) -> None:
        """The run's body began (counted here, not for a refused request)."""
        self._started = time.perf_counter()
        self.obs.metrics.runs_started.add(1)
        self.obs.metrics.runs_active.add(1)

    def refused(self, error: BaseException) -> None:
        """The request never became a run (the session was busy)."""
        self._ended = True
        _fail(self.span, error)
        self.span.end()

    # -- agents ---------------------------------------------------------------

    def agent_started(self, agent: str, node: str, model: str | None) -> None:
        attributes: dict[str, Any] = {
            sc.OPERATION: sc.OP_INVOKE_AGENT,
            sc.AGENT_NAME: agent,
            sc.CONVERSATION_ID: self.session_id,
            sc.NODE: node,
        }
        if model:
            attributes[sc.REQUEST_MODEL] = model
            attributes[sc.PROVIDER] = self.obs.provider_name
        span = self.tracer.start_span(
            f"{sc.OP_INVOKE_AGENT} {agent}",
            context=self.parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )
        self._agents.append((span, self.parent))
        self.parent = set_span_in_context(span, self.parent)

    def agent_finished(self, error: BaseException | None = None) -> None:
        """End the innermost open agent span (``error`` marks how it failed)."""
        if not self._agents:
            return
        span, self.parent = self._agents.pop()
        if error is not None:
            _fail(span, error, self.redact)
        span.end()

    def sub_agent(self, agent: str, node: str, model: str | None) -> RunTelemetry:
        """The telemetry of an agent run as a tool (``AgentToolSpec``): a view
        of this run's whose ``invoke_agent`` span is a child of the *current*
        span (the calling tool's ``execute_tool``), so the sub-agent's LLM and
        tool calls nest under the call that made them. A copy, not this
        object with its parent moved: the caller may run other tools at the
        same time. End it with :meth:`agent_finished` on the view."""
        view = copy.copy(self)
        view._agents = []
        view.parent = otel_context.get_current()
        view.agent_started(agent, node, model)
        return view

    def close_agents(self, error: BaseException) -> None:
        """End every agent still open (the run stopped inside them)."""
        while self._agents:
            self.agent_finished(error)

    # -- other steps ----------------------------------------------------------

    def step(self, name: str, **attributes: Any) -> AbstractContextManager[Span]:
        """A span for one internal step (history preparation, memory recall)
        under the current parent; the code inside must not ``yield``."""
        return self._span(name, self.parent, attributes)

    def current_step(self, name: str, **attributes: Any) -> AbstractContextManager[Span]:
        """A span under the *current* span (inside a tool call: the
        ``execute_tool`` span), for work a tool does (a skill script)."""
        return self._span(name, None, attributes)

    @contextmanager
    def _span(
        self, name: str, parent: Context | None, attributes: dict[str, Any]
    ) -> Iterator[Span]:
        """A span ended on the way out, marked failed by what escaped it
        (``parent`` None: the current context's span)."""
        span = self.tracer.start_span(name, context=parent, attributes=attributes)
        try:
            yield span
        except BaseException as error:
            _fail(span, error, self.redact)
            raise
        finally:
            span.end()

    @contextmanager
    def tool(
        self, call_id: str, name: str, source: str, origin: str | None, arguments: str
    ) -> Iterator[Span]:
        """The ``execute_tool`` span, current while the tool runs (so an MCP
        request or a skill script below it finds it)."""
        attributes: dict[str, Any] = {
            sc.OPERATION: sc.OP_EXECUTE_TOOL,
            sc.TOOL_NAME: name,
            sc.TOOL_CALL_ID: call_id,
            sc.TOOL_TYPE: "extension" if source != "local" else "function",
            sc.TOOL_SOURCE: source,
        }
        if origin:
            attributes[sc.TOOL_ORIGIN] = origin
        if self.obs.capture_content:
            attributes[sc.TOOL_ARGUMENTS] = self.redact(arguments)
        span = self.tracer.start_span(
            f"{sc.OP_EXECUTE_TOOL} {name}",
            context=self.parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )
        token = otel_context.attach(set_span_in_context(span, self.parent))
        started = time.perf_counter()
        try:
            yield span
        except BaseException as error:
            _fail(span, error, self.redact)
            raise
        finally:
            otel_context.detach(token)
            span.end()
            metrics = self.obs.metrics
            labels = {sc.TOOL_NAME: name}
            metrics.tool_calls.add(1, labels)
            metrics.tool_duration.record(time.perf_counter() - started, labels)

    def tool_outcome(self, span: Span, name: str, ok: bool, content: str) -> None:
        """Record how a call ended: a tool error is a result, not an exception."""
        if self.obs.capture_content:
            span.set_attribute(sc.TOOL_RESULT, self.redact(content))
        if not ok:
            span.set_status(Status(StatusCode.ERROR, self.redact(content)[:200]))
            span.set_attribute(sc.ERROR_TYPE, "tool_error")
            self.obs.metrics.tool_errors.add(1, {sc.TOOL_NAME: name})

    # -- the end --------------------------------------------------------------

    def finish(self, status: str, error: BaseException | None = None) -> None:
        """End the run span (``status``: finished, failed, cancelled)."""
        if self._ended:
            return
        self._ended = True
        if error is not None:
            self.close_agents(error)
        self.span.set_attribute(sc.RUN_STATUS, status)
        if status == "failed" and error is not None:
            _fail(self.span, error, self.redact)
        elif status == "cancelled":
            self.span.set_attribute(sc.ERROR_TYPE, "cancelled")
        self.span.end()
        metrics = self.obs.metrics
        labels = {sc.RUN_STATUS: status}
        metrics.runs_active.add(-1)
        metrics.runs_ended.add(1, labels)
        ended = time.perf_counter()
        metrics.run_duration.record(ended - self._started, labels)
        if status == "cancelled" and self._cancel_at is not None:
            metrics.cancel_latency.record(ended - self._cancel_at)


def new_trace_id(span: Span | None = None, caller: Context | None = None) -> str:
    """The span's trace id as 32 hex digits; with no recorded span, the
    caller's trace id, else a fresh random one, so events and logs carry a
    correlation id even with tracing off."""
    for candidate in (span, get_current_span(caller) if caller is not None else None):
        if candidate is not None:
            span_context = candidate.get_span_context()
            if span_context.is_valid:
                return format_trace_id(span_context.trace_id)
    return os.urandom(16).hex()


def caller_context(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The client's W3C trace context, or None when absent or malformed
    (a bad header never fails a request; the run starts its own trace)."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    context = TraceContextTextMapPropagator().extract(carrier)
    return context if get_current_span(context).get_span_context().is_valid else None


def _fail(span: Span, error: BaseException, redact: Callable[[str], str] = str) -> None:
    name = type(error).__name__
    span.set_attribute(sc.ERROR_TYPE, "cancelled" if name == "CancelledError" else name)
    span.set_status(Status(StatusCode.ERROR, redact(str(error))[:200] or name))


def start_run_telemetry(
    obs: Observability,
    redact: Callable[[str], str],
    *,
    flow: str,
    session_id: str,
    run_id: str,
    user_id: str,
    traceparent: str | None,
) -> tuple[RunTelemetry | None, str]:
    """A new run's telemetry (None when telemetry is off) and its trace id."""
    caller = caller_context(traceparent)
    if not obs.enabled:
        return None, new_trace_id(caller=caller)
    telemetry = RunTelemetry(
        obs,
        flow=flow,
        session_id=session_id,
        run_id=run_id,
        user_id=user_id,
        redact=redact,
        caller=caller,
    )
    return telemetry, telemetry.trace_id


def step(
    telemetry: RunTelemetry | None, name: str, **attributes: Any
) -> AbstractContextManager[Any]:
    """``telemetry.step(...)``, or nothing when telemetry is off."""
    return nullcontext() if telemetry is None else telemetry.step(name, **attributes)
