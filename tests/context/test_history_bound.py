"""Preparing a request counts nothing while the history obviously fits (the
UTF-8 bound), and sends exactly what fitting on exact counts sends, whether
or not it fits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagents.context.fitting import fit_history
from sagents.context.history import HistoryPreparer
from sagents.context.tokens import (
    REPLY_PRIMING,
    TiktokenCounter,
    TokenCounters,
    message_tokens,
    tools_tokens,
)
from sagents.context.units import Units
from sagents.store.records import MessageRecord
from tests.conftest import make_settings
from tests.context.test_history import SYSTEM, TOOLS, conversations, filler, msg
from tests.context.test_units import damaged

MODEL = "gpt-4o"


def fresh(tmp_path: Path, **overrides: Any) -> tuple[HistoryPreparer, TiktokenCounter]:
    """A preparer with counters of its own, to read what they tokenized."""
    counters = TokenCounters()
    counter = counters.for_model(MODEL)
    assert isinstance(counter, TiktokenCounter)
    return HistoryPreparer(make_settings(tmp_path, **overrides), counters), counter


def exact_cost(counter: TiktokenCounter, records: list[MessageRecord]) -> int:
    fixed = message_tokens(counter, SYSTEM) + tools_tokens(counter, TOOLS) + REPLY_PRIMING
    return fixed + sum(message_tokens(counter, r.to_openai()) for r in records)


def test_a_history_that_obviously_fits_is_sent_without_counting(tmp_path: Path) -> None:
    records = [*filler(3), msg("user", "and now?")]
    prep, counter = fresh(tmp_path)
    out = prep.prepare(
        session_id="s", records=records, query="", system=SYSTEM, model=MODEL, tools=TOOLS
    )
    assert counter.encoded_chars == 0
    assert out.messages[1:] == [r.to_openai() for r in records] and not out.clamped
    assert out.tokens == exact_cost(counter, records)  # counted when read


def test_a_history_over_the_bound_but_within_the_budget_is_sent_whole(tmp_path: Path) -> None:
    """English packs ~4 bytes into a token: a budget between the exact count
    and the bound is met by counting, not by dropping."""
    records = [*filler(6), msg("user", "and now?")]
    prep, counter = fresh(tmp_path)
    exact = exact_cost(counter, records)
    counter.encoded_chars = 0
    out = prep.prepare(
        session_id="s",
        records=records,
        query="",
        system=SYSTEM,
        model=MODEL,
        tools=TOOLS,
        budget=exact,
    )
    assert counter.encoded_chars > 0  # the bound did not settle it
    assert out.messages[1:] == [r.to_openai() for r in records] and not out.clamped
    assert out.tokens == exact


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=conversations() | damaged(),
    budget=st.integers(100, 4000),
    recent=st.integers(1, 3),
)
def test_what_is_sent_is_what_fitting_on_exact_counts_sends(
    tmp_path: Path, records: list[MessageRecord], budget: int, recent: int
) -> None:
    """The rules applied to exact counts from scratch, as before the bound:
    same messages, same shortening, same figures, fitting or clamped."""
    prep, counter = fresh(tmp_path, history_recent_turns=recent)
    query = records[-1].content or ""
    out = prep.prepare(
        session_id="s",
        records=records,
        query=query,
        system=SYSTEM,
        model=MODEL,
        tools=TOOLS,
        budget=budget,
    )
    messages = [r.to_openai() for r in records]
    tokens = [message_tokens(counter, m) for m in messages]
    units = Units()
    for m, cost in zip(messages, tokens, strict=True):
        units.add(m, cost, lambda synthetic: message_tokens(counter, synthetic))
    fixed = message_tokens(counter, SYSTEM) + tools_tokens(counter, TOOLS) + REPLY_PRIMING
    fitted = fit_history(
        messages,
        tokens,
        lambda: prep._sessions["s"].scores(query),
        available=budget - fixed,
        recent_turns=recent,
        counter=counter,
        units=units,
    )
    assert out.messages == [SYSTEM, *fitted.messages]
    assert out.truncated == fitted.truncated and out.synthesized == fitted.synthesized
    assert out.tokens == fixed + fitted.tokens


def test_warming_counts_a_long_session_ahead_of_its_request(tmp_path: Path) -> None:
    """``warm`` runs in a worker thread so the request does not tokenize the
    history on the event loop: after it, a request that does not fit counts
    only its system prompt and tool schemas, and the next call of the run
    (a tool loop's) not even those."""
    records = [*filler(60), msg("user", "sourdough?")]
    prep, counter = fresh(tmp_path)
    prep.warm("s", records, MODEL)
    kwargs: dict[str, Any] = {"system": SYSTEM, "model": MODEL, "tools": TOOLS, "budget": 2000}
    for expected in (len(SYSTEM["content"]) + len(json.dumps(TOOLS)), 0):
        counter.encoded_chars = 0
        out = prep.prepare(session_id="s", records=records, query="sourdough", **kwargs)
        assert out.clamped
        assert counter.encoded_chars == expected
