"""History preparation for sessions of 100, 1,000 and 10,000 messages.

Measured per size, in process (no LLM): the first preparation of a session
(its messages tokenised, counted and indexed), then a request after one more
turn was added (the incremental path every later request takes). The
baseline is what preparing would cost without the per-session index: a
fresh ``HistoryPreparer`` for every request. Checks: the budget holds and
the relevant old message is brought back.

Run alone with ``python -m bench.scenarios.history [--quick]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.env import BenchEnv
from bench.result import Metric, ScenarioResult, median, ms
from bench.scenario import Scenario
from sagents.context.history import HistoryPreparer
from sagents.context.tokens import TokenCounters
from sagents.settings import Settings
from sagents.store.records import MessageRecord, new_id

TITLE = "History preparation (BM25 + token budget), per request"
SYSTEM = {"role": "system", "content": "You are Sage, a capable assistant."}
MODEL = "gpt-4o"
NEEDLE = "The staging database password rotates every Tuesday at 09:00 UTC."
QUESTION = "When does the staging database password rotate?"
TOPICS = ["sourdough baking", "marathon training", "tax forms", "garden irrigation"]


def session(size: int) -> list[MessageRecord]:
    def message(role: str, content: str) -> MessageRecord:
        return MessageRecord(id=new_id("msg"), session_id="bench", role=role, content=content)

    records = [message("user", NEEDLE), message("assistant", "Noted.")]
    i = 0
    while len(records) < size - 1:
        topic = TOPICS[i % len(TOPICS)]
        records.append(message("user", f"Question {i} about {topic}: what should I do next?"))
        records.append(message("assistant", f"Answer {i} on {topic}. " + "Some detail. " * 25))
        i += 1
    records = records[: size - 1]
    records.append(message("user", QUESTION))
    return records


def prepare(preparer: HistoryPreparer, records: list[MessageRecord]) -> tuple[float, bool, bool]:
    started = time.perf_counter()
    out = preparer.prepare(
        session_id="bench", records=records, query=QUESTION, system=SYSTEM, model=MODEL
    )
    elapsed = time.perf_counter() - started
    contents = [m["content"] for m in out.messages]
    return elapsed, out.tokens <= out.token_budget, NEEDLE in contents


async def run(env: BenchEnv) -> ScenarioResult:
    sizes = [100, 1_000, env.size(10_000, 2_000)]
    repeats = env.size(5, 2)
    settings = Settings(_env_file=None, data_dir=env.workdir)
    counters = TokenCounters()
    counters.for_model(MODEL)  # load the encoding outside the timings
    result = ScenarioResult(
        name="history", title=TITLE, params={"sizes": sizes, "repeats": repeats, "model": MODEL}
    )
    for size in sizes:
        records = session(size)
        cold, warm, fresh = [], [], []
        budget_ok = needle_ok = True
        for _ in range(repeats):
            preparer = HistoryPreparer(settings, counters)
            t, ok, found = prepare(preparer, records)
            cold.append(t)
            grown = list(records)
            for _ in range(repeats):
                # The next turn: the answer, then the same question again.
                grown.append(MessageRecord(new_id("msg"), "bench", "assistant", "More."))
                grown.append(MessageRecord(new_id("msg"), "bench", "user", QUESTION))
                t, ok2, found2 = prepare(preparer, grown)
                warm.append(t)
                t3, _, _ = prepare(HistoryPreparer(settings, counters), grown)
                fresh.append(t3)
                budget_ok &= ok and ok2
                needle_ok &= found and found2
        result.add(Metric(f"{size} msgs: first request", ms(median(cold)), "ms"))
        result.add(
            Metric(
                f"{size} msgs: next request (incremental)",
                ms(median(warm)),
                "ms",
                baseline=ms(median(fresh)),
            )
        )
        result.checks[f"{size}: budget held"] = budget_ok
        result.checks[f"{size}: relevant old message kept"] = needle_ok
    result.notes.append("baseline: a fresh preparer (no per-session index) for every request")
    return result


SCENARIO = Scenario(name="history", title=TITLE, run=run)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        env = BenchEnv(mock_url="", workdir=Path(tmp), quick="--quick" in sys.argv)
        print(json.dumps(asyncio.run(run(env)).to_json(), indent=1))
