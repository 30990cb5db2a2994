"""MemoryExtractor: learns from finished runs in the background.

``schedule`` is called by the run right after ``run.finished`` has been
emitted; it only puts a job on a bounded queue, so an answer is never
delayed. One worker task takes jobs in order and, for each:

1. reads the last 10 turns of the session from the store;
2. asks the LLM (role ``memory``) for candidate memories as JSON;
3. drops repeats within the batch;
4. looks up the stored memories nearest to each candidate: an identical
   text is a duplicate outright; candidates with neighbours closer than
   ``NEAR_DISTANCE`` go to a second LLM question that sorts them into
   duplicate / replaces (contradicts or updates) / new;
5. stores the new ones and replaces the superseded ones.

Failures are logged and the job is dropped: memory is best effort and must
never surface in a run. A full queue drops the new job (logged). On
shutdown the worker is given ``drain_timeout_s`` to finish; jobs still
waiting (and the one interrupted) are written to ``pending_path`` and
picked up by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from opentelemetry.trace import set_span_in_context

from sagents.llm.types import ChatModel
from sagents.memory.extraction import (
    Candidate,
    dedupe,
    extract,
    last_turns,
    normalise,
    reconcile,
)
from sagents.memory.manager import UserMemoryManager
from sagents.memory.records import Memory, MemoryKind
from sagents.observability.logs import bind_run
from sagents.observability.setup import Observability
from sagents.observability.traced_llm import JobSpans, TracedChatModel
from sagents.store.protocol import Store

log = logging.getLogger(__name__)

NEAR_DISTANCE = 0.5
"""Cosine distance under which a stored memory may say the same thing or
contradict a candidate (paraphrases and "prefers French" vs "prefers
English" both land well under it with MiniLM); only those go to the LLM."""
NEIGHBOURS = 3


@dataclass(frozen=True, slots=True)
class ExtractionJob:
    user_id: str
    session_id: str
    run_id: str
    trace_id: str = ""
    """The run's trace id: the job's log lines and span carry it."""


class MemoryExtractor:
    def __init__(
        self,
        memory: UserMemoryManager,
        llm: ChatModel,
        store: Store,
        *,
        queue_size: int = 100,
        pending_path: Path | None = None,
        drain_timeout_s: float = 10.0,
    ) -> None:
        self.memory = memory
        self.llm = llm
        self.store = store
        self.pending_path = pending_path
        self.drain_timeout_s = drain_timeout_s
        self._queue: asyncio.Queue[ExtractionJob] = asyncio.Queue(maxsize=queue_size)
        self._worker: asyncio.Task[None] | None = None
        self._current: ExtractionJob | None = None
        self._closed = False
        self.completed = 0
        self.failed = 0
        self._obs: Observability | None = None
        self._redact: Callable[[str], str] = str

    def observe(self, obs: Observability, redact: Callable[[str], str]) -> None:
        """Trace each job (the Runtime calls this when tracing is on): a
        ``memory.extract`` span whose children are the job's LLM calls,
        recorded as a run's are (``redact`` applied to captured content)."""
        if obs.tracer is not None:
            self._obs = obs
            self._redact = redact

    async def start(self) -> None:
        """Resume jobs a previous process left pending, then start the worker."""
        for job in await asyncio.to_thread(self._load_pending):
            self._put(job)
        self._worker = asyncio.create_task(self._work(), name="memory-extractor")

    def schedule(self, user_id: str, session_id: str, run_id: str, trace_id: str = "") -> bool:
        """Queue a finished run for extraction; never blocks, never raises."""
        if self._closed:
            return False
        return self._put(ExtractionJob(user_id, session_id, run_id, trace_id))

    def _put(self, job: ExtractionJob) -> bool:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            log.warning("memory extraction queue full; skipping run %s", job.run_id)
            return False
        return True

    async def wait_idle(self) -> None:
        """Until every queued job has been processed (tests, shutdown)."""
        await self._queue.join()

    async def aclose(self) -> None:
        self._closed = True
        if self._worker is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._queue.join()), self.drain_timeout_s)
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        left = ([self._current] if self._current else []) + self._drain_queue()
        if left:
            await asyncio.to_thread(self._save_pending, left)

    # -- the worker ----------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self._current = job
            bind_run(job.session_id, job.run_id, job.trace_id)  # this job's log lines
            try:
                await self._traced(job)
                self.completed += 1
            except asyncio.CancelledError:
                # Shutdown: leave ``_current`` set so aclose keeps the job.
                self._queue.task_done()
                raise
            except Exception:
                self.failed += 1
                log.warning("memory extraction failed for run %s", job.run_id, exc_info=True)
            self._current = None
            self._queue.task_done()

    async def _traced(self, job: ExtractionJob) -> None:
        obs = self._obs
        if obs is None or obs.tracer is None:
            await self.process(job)
            return
        # Its own trace (the run's has ended); the attributes name the run.
        attributes = {"sage.run.id": job.run_id, "sage.session.id": job.session_id}
        if job.trace_id:
            attributes["sage.run.trace_id"] = job.trace_id
        with obs.tracer.start_as_current_span("memory.extract", attributes=attributes) as span:
            spans = JobSpans(obs, obs.tracer, set_span_in_context(span), self._redact)
            stored = await self.process(job, TracedChatModel(self.llm, spans))
            span.set_attribute("sage.memory.stored", len(stored))

    async def process(self, job: ExtractionJob, llm: ChatModel | None = None) -> list[Memory]:
        """One job, start to end; returns the memories it stored. ``llm``:
        the model to ask (the extractor's own, traced when tracing is on)."""
        llm = llm or self.llm
        transcript = last_turns(await self.store.list_messages(job.session_id))
        if not transcript:
            return []
        candidates = dedupe(await extract(llm, transcript))
        source = f"extracted:{job.run_id}"
        to_add: list[Candidate] = []
        to_check: list[tuple[Candidate, list[Memory]]] = []
        for candidate in candidates:
            hits = await self.memory.recall(job.user_id, candidate.text, NEIGHBOURS)
            near = [h.memory for h in hits if h.distance <= NEAR_DISTANCE]
            if any(normalise(m.text) == normalise(candidate.text) for m in near):
                continue
            (to_check.append((candidate, near)) if near else to_add.append(candidate))
        stored = [
            await self.memory.remember(job.user_id, c.text, MemoryKind(c.kind), source)
            for c in to_add
        ]
        if to_check:
            verdicts = await reconcile(llm, to_check)
            for index, (candidate, near) in enumerate(to_check):
                verdict = verdicts.get(index)
                if verdict is None or verdict.action == "duplicate":
                    continue
                if verdict.action == "replace":
                    allowed = {m.id for m in near}
                    for memory_id in verdict.replaces:
                        if memory_id in allowed:  # the LLM may only replace what it was shown
                            await self.memory.forget(job.user_id, memory_id)
                stored.append(
                    await self.memory.remember(
                        job.user_id, candidate.text, MemoryKind(candidate.kind), source
                    )
                )
        return stored

    # -- jobs kept across restarts ---------------------------------------------

    def _drain_queue(self) -> list[ExtractionJob]:
        jobs = []
        while not self._queue.empty():
            jobs.append(self._queue.get_nowait())
            self._queue.task_done()
        return jobs

    def _save_pending(self, jobs: list[ExtractionJob]) -> None:
        if self.pending_path is None:
            log.warning("dropping %d pending memory extraction jobs", len(jobs))
            return
        existing = self._load_pending() if self.pending_path.exists() else []
        self.pending_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.pending_path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(j) for j in existing + jobs]), encoding="utf-8")
        tmp.replace(self.pending_path)

    def _load_pending(self) -> list[ExtractionJob]:
        """Read and remove the pending file; a damaged file is logged and dropped."""
        if self.pending_path is None or not self.pending_path.exists():
            return []
        try:
            raw = json.loads(self.pending_path.read_text(encoding="utf-8"))
            jobs = [ExtractionJob(**item) for item in raw]
        except (ValueError, TypeError):
            log.warning("ignoring damaged %s", self.pending_path)
            jobs = []
        self.pending_path.unlink(missing_ok=True)
        return jobs
