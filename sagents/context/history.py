"""What of a session's history goes to the LLM: the recent turns always,
older messages by relevance, all within the model's context window.

The rules, in order:

1. The system prompt and the tool schemas are always sent.
2. Messages are grouped into units: an assistant message that calls tools
   forms one unit with the results of those calls, so a call and its result
   are never separated (a request with one but not the other is rejected by
   every OpenAI-compatible server). The units also repair what the store may
   hold: a call without a result gets a synthetic one, a result without its
   call is left out (see ``sagents.context.units``).
3. The last ``history_recent_turns`` turns (a turn starts at a user message)
   are kept, newest first, until one does not fit. The newest unit is always
   kept; if it alone is over the budget its text is shortened.
4. Older units are ranked by BM25 against the current request (ties and
   zero scores by recency) and added while they fit.
5. Everything kept is sent in its original order, each result right after
   its call.

When the whole history fits, nothing is ranked and everything is sent.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sagents.context.bm25 import IncrementalBM25, tokenize
from sagents.context.media_parts import accepts_images, with_media_parts
from sagents.context.tokens import (
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    TokenCounter,
    TokenCounters,
    message_tokens,
    tools_tokens,
)
from sagents.context.units import Message, Units, well_formed
from sagents.events import ContextClamped
from sagents.settings import Settings
from sagents.store.records import MessageRecord

if TYPE_CHECKING:
    from sagents.context.session_context import SessionContext

log = logging.getLogger(__name__)

MIN_NEWEST_TOKENS = 64
"""The newest message is never shortened below this many tokens."""
TRUNCATION_NOTE = "\n[… shortened to fit the model's context window]"


@dataclass(frozen=True, slots=True)
class PreparedHistory:
    messages: list[Message]
    """The system message first, then the history that fits."""
    kept: int
    """Stored messages sent."""
    dropped: int
    """Stored messages left out to fit the budget."""
    truncated: int
    tokens: int
    token_budget: int
    discarded: int = 0
    """Stored results that answer no call, never sent."""
    synthesized: int = 0
    """Synthetic results sent for calls that have none stored."""

    @property
    def clamped(self) -> bool:
        return self.dropped > 0 or self.truncated > 0


def shorten(counter: TokenCounter, text: str, max_tokens: int) -> str:
    """``text`` cut (keeping its start) so that it counts at most ``max_tokens``."""
    note_tokens = counter.count(TRUNCATION_NOTE)
    target = max(1, max_tokens - note_tokens)
    cut = min(len(text), target * 3)
    for _ in range(8):
        if counter.count(text[:cut]) <= target:
            return text[:cut] + TRUNCATION_NOTE
        cut = int(cut * 0.8)
    return text[: max(0, target // 4)] + TRUNCATION_NOTE


@dataclass(frozen=True, slots=True)
class Fitted:
    """What ``fit_history`` chose."""

    messages: list[Message]
    """The kept messages in the order to send them, synthetic results included."""
    truncated: int
    """How many of them were shortened."""
    tokens: int
    """What they cost."""
    synthesized: int
    """How many synthetic results for calls without one were added."""


def fit_history(
    messages: Sequence[Message],
    tokens: Sequence[int],
    scores: Callable[[], Mapping[int, float]],
    *,
    available: int,
    recent_turns: int,
    counter: TokenCounter,
    units: Units,
) -> Fitted:
    """Choose what of ``messages`` fits into ``available`` tokens.

    ``tokens[i]`` is what ``messages[i]`` costs; ``scores`` (message index →
    relevance, absent meaning 0) is called only when something has to be
    dropped; ``units`` is the grouping of ``messages`` the caller keeps
    up to date.
    """
    if units.total <= available:
        sent, synthesized = units.emit_all(messages)
        return Fitted(sent, 0, units.total, synthesized)
    members, cost, user_units = units.members, units.cost, units.user_units
    if recent_turns <= 0:
        recent_start = len(members) - 1
    else:
        recent_start = user_units[-recent_turns] if len(user_units) >= recent_turns else 0
    kept: set[int] = set()
    replaced: dict[int, Message] = {}
    left = available
    for u in range(len(members) - 1, recent_start - 1, -1):
        if cost[u] <= left:
            kept.add(u)
            left -= cost[u]
        elif not kept:
            spent = _shorten_unit(
                messages, members[u], cost[u], tokens, max(left, 0), counter, replaced
            )
            kept.add(u)
            left -= spent
        else:
            break
    if recent_start > 0 and left > 0:
        # Older units: the relevant ones by score, then the rest newest first.
        best: dict[int, float] = {}
        for i, score in scores().items():
            u = units.of_message[i]
            if 0 <= u < recent_start and score > best.get(u, 0.0):
                best[u] = score
        relevant = sorted(best, key=lambda u: (best[u], u), reverse=True)
        rest = (u for u in range(recent_start - 1, -1, -1) if u not in best)
        cheapest = MESSAGE_OVERHEAD
        for u in itertools.chain(relevant, rest):
            if left < cheapest:
                break
            if cost[u] <= left and u not in kept:
                kept.add(u)
                left -= cost[u]
    sent, synthesized = units.emit(messages, sorted(kept), replaced)
    return Fitted(sent, len(replaced), available - left, synthesized)


def _shorten_unit(
    messages: Sequence[Message],
    unit: list[int],
    total: int,
    tokens: Sequence[int],
    left: int,
    counter: TokenCounter,
    replaced: dict[int, Message],
) -> int:
    """Shorten the texts of the newest unit (which costs ``total``), largest
    first, until it fits; returns what the unit costs afterwards."""
    for i in sorted(unit, key=lambda i: tokens[i], reverse=True):
        if total <= left:
            break
        content = messages[i].get("content")
        if not isinstance(content, str) or not content:
            continue
        fixed = tokens[i] - counter.count(content)
        allowed = max(MIN_NEWEST_TOKENS, tokens[i] - (total - left) - fixed)
        message = {**messages[i], "content": shorten(counter, content, allowed)}
        new_cost = message_tokens(counter, message)
        if new_cost < tokens[i]:
            replaced[i] = message
            total += new_cost - tokens[i]
    if total > left:
        log.warning("the newest message does not fit the context window even when shortened")
    return total


@dataclass
class _SessionIndex:
    """What is kept per session between requests, extended as it grows."""

    counter_name: str
    ids: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    units: Units = field(default_factory=Units)
    bm25: IncrementalBM25 = field(default_factory=IncrementalBM25)
    repairs_logged: tuple[int, int] = (0, 0)

    def matches(self, records: Sequence[MessageRecord]) -> bool:
        n = len(self.ids)
        return n <= len(records) and (n == 0 or records[n - 1].id == self.ids[-1])

    def extend(self, records: Sequence[MessageRecord], counter: TokenCounter) -> None:
        for record in records[len(self.ids) :]:
            message = record.to_openai()
            cost = message_tokens(counter, message)
            self.ids.append(record.id)
            self.messages.append(message)
            self.tokens.append(cost)
            self.units.add(message, cost, counter)

    def scores(self, query: str) -> Mapping[int, float]:
        missing = self.messages[len(self.bm25) :]
        self.bm25.add([tokenize(_searchable(m)) for m in missing])
        return self.bm25.scores(tokenize(query))


def _searchable(message: Message) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    calls = message.get("tool_calls")
    if not calls:
        return text
    parts = [text] if text else []
    for call in calls:
        parts.append(f"{call['function']['name']} {call['function']['arguments']}")
    return " ".join(parts)


class HistoryPreparer:
    """One per Runtime: token counters and an LRU of per-session indexes."""

    def __init__(self, settings: Settings, counters: TokenCounters | None = None) -> None:
        self.settings = settings
        self.counters = counters or TokenCounters()
        self._sessions: OrderedDict[str, _SessionIndex] = OrderedDict()
        self._lock = threading.Lock()

    def context_window(self, model: str) -> int:
        windows = self.settings.llm_context_windows
        if model in windows:
            return windows[model]
        prefixes = [name for name in windows if model.startswith(name)]
        if prefixes:
            return windows[max(prefixes, key=len)]
        return self.settings.llm_context_window

    def budget_for(self, model: str) -> int:
        window = self.context_window(model)
        return window - min(self.settings.llm_output_reserve_tokens, window // 4)

    def indexed(self, session_id: str) -> int:
        """How many messages of the session are indexed (0 when not cached)."""
        index = self._sessions.get(session_id)
        return len(index.ids) if index else 0

    def _index(
        self, session_id: str, records: Sequence[MessageRecord], counter: TokenCounter
    ) -> _SessionIndex:
        with self._lock:  # warm() runs in a worker thread
            index = self._sessions.get(session_id)
            if index is None or index.counter_name != counter.name or not index.matches(records):
                index = _SessionIndex(counter_name=counter.name)
            self._sessions[session_id] = index
            self._sessions.move_to_end(session_id)
            while len(self._sessions) > self.settings.history_cache_sessions:
                self._sessions.popitem(last=False)
        # Outside the lock: one session is prepared by one run at a time.
        index.extend(records, counter)
        return index

    def warm(self, session_id: str, records: Sequence[MessageRecord], model: str) -> None:
        """Count and index a session's messages ahead of its first request.

        Blocking (about 0.8 s for 10,000 messages on one core): the run calls
        it through ``asyncio.to_thread`` so a long session loaded after a
        restart does not stall the event loop; later requests only add what
        is new.
        """
        index = self._index(session_id, records, self.counters.for_model(model))
        index.scores("")

    def prepare(
        self,
        *,
        session_id: str,
        records: Sequence[MessageRecord],
        query: str,
        system: Message,
        model: str,
        tools: list[Message] | None = None,
        budget: int | None = None,
    ) -> PreparedHistory:
        counter = self.counters.for_model(model)
        token_budget = self.budget_for(model) if budget is None else budget
        index = self._index(session_id, records, counter)
        fixed = message_tokens(counter, system) + tools_tokens(counter, tools) + REPLY_PRIMING
        fitted = fit_history(
            index.messages,
            index.tokens,
            lambda: index.scores(query),
            available=token_budget - fixed,
            recent_turns=self.settings.history_recent_turns,
            counter=counter,
            units=index.units,
        )
        kept = len(fitted.messages) - fitted.synthesized
        discarded = index.units.discarded
        repairs = (discarded, len(index.units.missing))
        if repairs != index.repairs_logged and any(repairs):
            # Once per change, not on every request of the session.
            index.repairs_logged = repairs
            log.warning(
                "session %s: its stored history has %d tool result(s) that answer no call"
                " (left out) and %d message(s) with calls lacking a result (sent with a"
                " synthetic one)",
                session_id,
                *repairs,
            )
        return PreparedHistory(
            messages=[system, *fitted.messages],
            kept=kept,
            dropped=len(index.messages) - kept - discarded,
            truncated=fitted.truncated,
            tokens=fixed + fitted.tokens,
            token_budget=token_budget,
            discarded=discarded,
            synthesized=fitted.synthesized,
        )


def llm_messages(ctx: SessionContext, system: Message, role: str | None = None) -> list[Message]:
    """The messages an agent of ``ctx``'s run sends: its system prompt (which
    carries the recalled memories), then the history fitted into the model's
    window.

    Emits ``context.clamped`` (through ``ctx.control.emit``) when something was
    dropped or shortened and the outcome differs from the last one reported
    in this run, so a tool loop does not repeat the same event every round.
    """
    model = ctx.llm.model_for(role or "simple")
    messages = _prepared(ctx, system, model)
    if ctx.prompt.tool_media and accepts_images(model, ctx.settings.llm_image_models):
        return with_media_parts(messages, ctx.prompt.tool_media)
    return messages


def _prepared(ctx: SessionContext, system: Message, model: str) -> list[Message]:
    if ctx.history is None:
        return [system, *well_formed(ctx.messages.to_openai())]
    prepared = ctx.history.prepare(
        session_id=ctx.session_id,
        records=ctx.messages.messages,
        query=ctx.user_input,
        system=system,
        model=model,
        tools=ctx.tools.openai_tools() or None,
    )
    outcome = (prepared.dropped, prepared.truncated)
    if prepared.clamped and outcome != ctx.control.clamp_reported and ctx.control.emit is not None:
        ctx.control.clamp_reported = outcome
        agent = ctx.control.open_agents[-1][0] if ctx.control.open_agents else None
        ctx.control.emit(
            ContextClamped(
                agent=agent,
                kept=prepared.kept,
                dropped=prepared.dropped,
                token_budget=prepared.token_budget,
                tokens=prepared.tokens,
            )
        )
    return prepared.messages
