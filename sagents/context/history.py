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
Whether it fits is first checked on an upper bound of the tokens (a text's
UTF-8 bytes, ``TokenCounter.bound``), which tokenizes nothing; only when the
bound is over the budget are the session's messages counted exactly (once;
later messages as they come) and the rules above applied on the exact
counts, so what is sent never depends on the bound.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sagents.context.bm25 import IncrementalBM25, tokenize
from sagents.context.fitting import fit_history
from sagents.context.media_parts import accepts_images, with_media_parts
from sagents.context.tokens import (
    REPLY_PRIMING,
    TokenCounter,
    TokenCounters,
    message_cost,
    message_tokens,
    tools_cost,
)
from sagents.context.units import Message, Price, Units, well_formed
from sagents.events import ContextClamped
from sagents.settings import Settings
from sagents.store.records import MessageRecord

if TYPE_CHECKING:
    from sagents.context.session_context import SessionContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedHistory:
    messages: list[Message]
    """The system message first, then the history that fits."""
    kept: int
    """Stored messages sent."""
    dropped: int
    """Stored messages left out to fit the budget."""
    truncated: int
    """Messages shortened to fit."""
    token_budget: int
    cost: Callable[[], int] = field(compare=False, repr=False)
    """Gives ``tokens``."""
    discarded: int = 0
    """Stored results that answer no call, never sent."""
    synthesized: int = 0
    """Synthetic results sent for calls that have none stored."""

    @property
    def clamped(self) -> bool:
        return self.dropped > 0 or self.truncated > 0

    @property
    def tokens(self) -> int:
        """What the request costs: system prompt, tool schemas, messages and
        reply priming. Counted when read if preparing did not need it (the
        bound showed everything fits); a run reads it only for
        ``context.clamped``, that is when something was cut and it is known."""
        return self.cost()


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
    exact: bool = False
    """Whether ``tokens`` and the unit costs are exact counts; until a
    request might not fit, they are upper bounds (``TokenCounter.bound``)."""

    def matches(self, records: Sequence[MessageRecord]) -> bool:
        n = len(self.ids)
        return n <= len(records) and (n == 0 or records[n - 1].id == self.ids[-1])

    def price(self, counter: TokenCounter) -> Price:
        return functools.partial(message_cost, counter.count if self.exact else counter.bound)

    def extend(self, records: Sequence[MessageRecord], counter: TokenCounter) -> None:
        price = self.price(counter)
        for record in records[len(self.ids) :]:
            message = record.to_openai()
            cost = price(message)
            self.ids.append(record.id)
            self.messages.append(message)
            self.tokens.append(cost)
            self.units.add(message, cost, price)

    def count_exactly(self, counter: TokenCounter) -> None:
        """Replace the bounds by exact counts: once per session, as ``extend``
        counts the messages that come later."""
        if self.exact:
            return
        price: Price = functools.partial(message_cost, counter.count)
        tokens = [price(message) for message in self.messages]
        units = Units()
        for message, cost in zip(self.messages, tokens, strict=True):
            units.add(message, cost, price)
        # Switched only once complete: an exception above leaves the bounds.
        self.tokens, self.units, self.exact = tokens, units, True

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
        is new. It counts exactly, even if the bound would do: it is called
        for long sessions only (``sagents.memory.recall.WARM_AT``), which
        are the ones likely to need it, and off the loop it costs no latency.
        """
        counter = self.counters.for_model(model)
        index = self._index(session_id, records, counter)
        index.count_exactly(counter)
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
        bound = message_cost(counter.bound, system) + tools_cost(counter.bound, tools)
        if bound + REPLY_PRIMING + index.units.total <= token_budget:
            # Everything fits on the bound, so it fits on the exact count.
            sent, synthesized = index.units.emit_all(index.messages)
            return self._outcome(
                index,
                session_id,
                [system, *sent],
                synthesized,
                0,
                token_budget,
                lambda: (
                    _fixed(counter, system, tools) + sum(message_tokens(counter, m) for m in sent)
                ),
            )
        index.count_exactly(counter)
        fixed = _fixed(counter, system, tools)
        fitted = fit_history(
            index.messages,
            index.tokens,
            lambda: index.scores(query),
            available=token_budget - fixed,
            recent_turns=self.settings.history_recent_turns,
            counter=counter,
            units=index.units,
        )
        tokens = fixed + fitted.tokens
        return self._outcome(
            index,
            session_id,
            [system, *fitted.messages],
            fitted.synthesized,
            fitted.truncated,
            token_budget,
            lambda: tokens,
        )

    @staticmethod
    def _outcome(
        index: _SessionIndex,
        session_id: str,
        messages: list[Message],
        synthesized: int,
        truncated: int,
        token_budget: int,
        cost: Callable[[], int],
    ) -> PreparedHistory:
        kept = len(messages) - 1 - synthesized
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
            messages=messages,
            kept=kept,
            dropped=len(index.messages) - kept - discarded,
            truncated=truncated,
            token_budget=token_budget,
            cost=cost,
            discarded=discarded,
            synthesized=synthesized,
        )


def _fixed(counter: TokenCounter, system: Message, tools: list[Message] | None) -> int:
    """What the system prompt, the tool schemas and the reply priming cost:
    the same in every call of a run, so counted through the counter's LRU."""
    return (
        message_cost(counter.count_reused, system)
        + tools_cost(counter.count_reused, tools)
        + REPLY_PRIMING
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
