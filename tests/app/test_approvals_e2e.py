"""Approvals over real HTTP: a tool that requires approval waits for a
person's decision (approve, reject, edit), times out into a rejection, is
cancelled while it waits, and refuses other users, double decisions and
edits that do not fit the tool."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2

from sagents.events import (
    ApprovalRequested,
    ApprovalResolved,
    EventBase,
    RunCancelled,
    RunFinished,
    ToolResult,
)
from sagents.testing import MockLLMServer, ScriptedToolCall, Turn
from sagents.tools import ToolManager, tool
from tests.app.conftest import SIMPLE, StartServer, sse_events

KEYS = {"k-alice": "alice", "k-bob": "bob"}
ALICE = {"Authorization": "Bearer k-alice", "X-Sage-Client": "tests"}
BOB = {"Authorization": "Bearer k-bob", "X-Sage-Client": "tests"}


def send_tools(sent: list[tuple[str, int]]) -> ToolManager:
    @tool(requires_approval=True)
    def send_money(to: str, amount: int) -> str:
        """Send money to someone."""
        sent.append((to, amount))
        return f"sent {amount} to {to}"

    @tool
    def balance() -> int:
        """The account's balance (no approval needed)."""
        return 100

    tools = ToolManager()
    tools.add(send_money)
    tools.add(balance)
    return tools


def turns(answer: str = "Done.") -> list[Turn]:
    call = ScriptedToolCall(name="send_money", arguments={"to": "bob", "amount": 5}, id="call_1")
    return [Turn(tool_calls=[call]), Turn(text=answer)]


Decide = dict[str, Any] | None


async def chat_deciding(
    http: httpx2.AsyncClient, decision: Decide, message: str = "pay bob"
) -> tuple[list[EventBase], httpx2.Response | None]:
    """Chat; at ``approval.requested``, post ``decision`` (None: post nothing)."""
    events: list[EventBase] = []
    answer: httpx2.Response | None = None
    body = {**SIMPLE, "message": message}
    async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
        events.append(event)
        if isinstance(event, ApprovalRequested) and decision is not None:
            path = (
                f"/api/v1/sessions/{event.session_id}/runs/{event.run_id}/approvals/{event.call_id}"
            )
            answer = await http.post(path, json=decision)
    return events, answer


def tool_results(events: list[EventBase]) -> list[tuple[bool, str]]:
    return [(e.ok, e.content) for e in events if isinstance(e, ToolResult)]


async def test_approve_runs_the_call_and_the_answer_arrives(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    sent: list[tuple[str, int]] = []
    url = start_server(turns("Paid."), tools=send_tools(sent))
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events, answer = await chat_deciding(http, {"decision": "approve"})
    assert answer is not None and answer.status_code == 200, answer and answer.text
    assert answer.json()["decision"] == "approve" and answer.json()["decided_by"] == "local"
    requested = next(e for e in events if isinstance(e, ApprovalRequested))
    assert (requested.call_id, requested.tool) == ("call_1", "send_money")
    assert requested.arguments == {"to": "bob", "amount": 5}
    assert "requires approval" in requested.reason and requested.expires_at > requested.ts
    resolved = next(e for e in events if isinstance(e, ApprovalResolved))
    assert resolved.decision == "approve" and resolved.seq > requested.seq
    assert sent == [("bob", 5)]
    assert tool_results(events) == [(True, "sent 5 to bob")]
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "Paid."


async def test_the_run_shows_waiting_until_the_decision(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    url = start_server(turns(), tools=send_tools([]))
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        seen: dict[str, Any] = {}

        async def look(event: ApprovalRequested) -> None:
            sid, rid = event.session_id, event.run_id
            detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
            seen["session"] = detail["status"]
            seen["run"] = next(r["status"] for r in detail["runs"] if r["id"] == rid)
            pending = await http.get(f"/api/v1/sessions/{sid}/runs/{rid}/approvals")
            seen["pending"] = [(a["call_id"], a["tool"]) for a in pending.json()]
            await http.post(
                f"/api/v1/sessions/{sid}/runs/{rid}/approvals/call_1", json={"decision": "approve"}
            )
            after = await http.get(f"/api/v1/sessions/{sid}/runs/{rid}/approvals")
            seen["after"] = after.json()

        body = {**SIMPLE, "message": "pay"}
        async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
            if isinstance(event, ApprovalRequested):
                await look(event)
            last = event
        assert isinstance(last, RunFinished)
        detail = (await http.get(f"/api/v1/sessions/{last.session_id}")).json()
    assert seen == {
        "session": "waiting",
        "run": "waiting",
        "pending": [("call_1", "send_money")],
        "after": [],
    }
    assert detail["status"] == "completed" and detail["runs"][0]["status"] == "finished"


async def test_reject_gives_the_model_the_reason(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    sent: list[tuple[str, int]] = []
    url = start_server(turns("I did not pay."), tools=send_tools(sent))
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events, answer = await chat_deciding(
            http, {"decision": "reject", "reason": "bob was paid yesterday"}
        )
    assert answer is not None and answer.status_code == 200
    assert sent == []
    [(ok, content)] = tool_results(events)
    assert not ok and "rejected" in content and "bob was paid yesterday" in content
    tool_messages = [m for m in mock_llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_messages[-1]["content"] == content  # what the model read
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "I did not pay."


async def test_edit_runs_the_call_with_the_new_arguments(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    sent: list[tuple[str, int]] = []
    url = start_server(turns(), tools=send_tools(sent))
    new = {"to": "carol", "amount": 3}
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events, answer = await chat_deciding(http, {"decision": "edit", "arguments": new})
    assert answer is not None and answer.status_code == 200
    assert answer.json()["edited_arguments"] == new
    assert sent == [("carol", 3)]
    assert tool_results(events) == [(True, "sent 3 to carol")]
    resolved = next(e for e in events if isinstance(e, ApprovalResolved))
    assert resolved.decision == "edit" and resolved.arguments == new


async def test_bad_decisions_are_refused_and_the_run_still_waits(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    sent: list[tuple[str, int]] = []
    url = start_server(turns(), tools=send_tools(sent), api_keys=KEYS)
    answers: dict[str, httpx2.Response] = {}
    alice = httpx2.AsyncClient(base_url=url, timeout=30, headers=ALICE)
    bob = httpx2.AsyncClient(base_url=url, timeout=30, headers=BOB)
    async with alice, bob:
        body = {**SIMPLE, "message": "pay"}
        async for event in sse_events(alice, "POST", "/api/v1/chat", json=body):
            if not isinstance(event, ApprovalRequested):
                continue
            base = f"/api/v1/sessions/{event.session_id}/runs/{event.run_id}"
            path = f"{base}/approvals/call_1"
            answers["bob"] = await bob.post(path, json={"decision": "approve"})
            answers["bob_list"] = await bob.get(f"{base}/approvals")
            answers["unknown_call"] = await alice.post(
                f"{base}/approvals/nope", json={"decision": "approve"}
            )
            answers["unknown_run"] = await alice.post(
                f"/api/v1/sessions/{event.session_id}/runs/run_x/approvals/call_1",
                json={"decision": "approve"},
            )
            answers["bad_type"] = await alice.post(
                path, json={"decision": "edit", "arguments": {"to": "bob", "amount": "lots"}}
            )
            answers["extra_field"] = await alice.post(
                path, json={"decision": "edit", "arguments": {"to": "bob", "amount": 1, "x": 1}}
            )
            answers["edit_without_arguments"] = await alice.post(path, json={"decision": "edit"})
            answers["unknown_decision"] = await alice.post(path, json={"decision": "maybe"})
            answers["first"] = await alice.post(path, json={"decision": "approve"})
            answers["second"] = await alice.post(path, json={"decision": "reject"})
    for who in ("bob", "bob_list", "unknown_call", "unknown_run"):
        assert answers[who].status_code == 404, (who, answers[who].text)
        assert answers[who].json()["error"]["type"] == "not_found"
    bad = answers["bad_type"]
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "invalid_arguments"
    assert bad.json()["error"]["details"][0]["field"] == "arguments.amount"
    assert "'lots' is not of type 'integer'" in bad.json()["error"]["message"]
    assert answers["extra_field"].status_code == 422
    assert "'x' was unexpected" in answers["extra_field"].json()["error"]["message"]
    for name in ("edit_without_arguments", "unknown_decision"):
        assert answers[name].status_code == 422
        assert answers[name].json()["error"]["type"] == "validation_error"
    assert answers["first"].status_code == 200
    second = answers["second"]
    assert second.status_code == 409 and second.json()["error"]["type"] == "already_decided"
    assert sent == [("bob", 5)]


async def test_no_answer_in_time_rejects_the_call(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    sent: list[tuple[str, int]] = []
    url = start_server(turns("No one approved."), tools=send_tools(sent), approval_timeout_s=0.5)
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events, _ = await chat_deciding(http, None)
    assert sent == []
    resolved = next(e for e in events if isinstance(e, ApprovalResolved))
    assert (resolved.decision, resolved.by) == ("reject", "timeout")
    [(ok, content)] = tool_results(events)
    assert not ok and "No one approved this call within 0.5 s" in content
    assert isinstance(events[-1], RunFinished) and events[-1].answer == "No one approved."


async def test_cancel_while_waiting_ends_the_run_promptly(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    sent: list[tuple[str, int]] = []
    url = start_server(turns(), tools=send_tools(sent))
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        events: list[EventBase] = []
        body = {**SIMPLE, "message": "pay"}
        async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
            events.append(event)
            if isinstance(event, ApprovalRequested):
                await asyncio.sleep(0.2)
                cancelled = await http.post(f"/api/v1/sessions/{event.session_id}/cancel")
                assert cancelled.status_code == 202, cancelled.text
        sid, rid = events[0].session_id, events[0].run_id
        late = await http.post(
            f"/api/v1/sessions/{sid}/runs/{rid}/approvals/call_1", json={"decision": "approve"}
        )
        detail = (await http.get(f"/api/v1/sessions/{sid}")).json()
        messages = (await http.get(f"/api/v1/sessions/{sid}/messages")).json()
    assert isinstance(events[-1], RunCancelled)
    assert late.status_code == 409 and late.json()["error"]["type"] == "not_waiting"
    assert detail["runs"][0]["status"] == "cancelled"
    assert messages[-1]["role"] == "tool" and messages[-1]["tool_call_id"] == "call_1"
    assert sent == []


async def test_a_tool_without_the_flag_runs_unasked(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    call = ScriptedToolCall(name="balance", arguments={}, id="call_b")
    url = start_server([Turn(tool_calls=[call]), Turn(text="100.")], tools=send_tools([]))
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        listed = (await http.get("/api/v1/tools")).json()
        events, _ = await chat_deciding(http, {"decision": "approve"})
    assert {t["name"]: t["requires_approval"] for t in listed} == {
        "balance": False,
        "send_money": True,
    }
    assert not any(isinstance(e, ApprovalRequested) for e in events)
    assert tool_results(events) == [(True, "100")]


async def test_a_decision_taken_here_wakes_the_run_at_once(
    start_server: StartServer, mock_llm: MockLLMServer
) -> None:
    """The store is polled only for decisions taken on another replica; one
    taken by this process wakes the waiting run without waiting for a poll
    (here a poll would come only after 60 s)."""
    sent: list[tuple[str, int]] = []
    url = start_server(turns("Paid."), tools=send_tools(sent), approval_poll_s=60.0)
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        decided_at: list[float] = []
        events: list[EventBase] = []
        body = {**SIMPLE, "message": "pay bob"}
        loop = asyncio.get_running_loop()
        async for event in sse_events(http, "POST", "/api/v1/chat", json=body):
            events.append(event)
            if isinstance(event, ApprovalRequested):
                path = f"/api/v1/sessions/{event.session_id}/runs/{event.run_id}/approvals/call_1"
                assert (await http.post(path, json={"decision": "approve"})).status_code == 200
                decided_at.append(loop.time())
        ended_after = loop.time() - decided_at[0]
    assert isinstance(events[-1], RunFinished) and sent == [("bob", 5)]
    assert ended_after < 10, f"the run went on {ended_after:.1f} s after the decision"
