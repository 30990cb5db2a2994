"""Choosing what of a session's history fits a token budget: rules 3 to 5
of ``sagents.context.history``, on exact token counts."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sagents.context.tokens import MESSAGE_OVERHEAD, TokenCounter, message_tokens
from sagents.context.units import Message, Units

log = logging.getLogger(__name__)

MIN_NEWEST_TOKENS = 64
"""The newest message is never shortened below this many tokens."""
TRUNCATION_NOTE = "\n[… shortened to fit the model's context window]"


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
