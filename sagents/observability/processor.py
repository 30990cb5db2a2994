"""Hands finished spans to the exporter one run at a time.

The SDK's ``BatchSpanProcessor`` puts every finished span on a queue that
wakes its worker thread; under the GIL each wake-up cost the event loop
about 0.3 ms here (``put_nowait`` was the largest item of a traced tool
turn's profile, ~13 spans a turn), which is most of what tracing cost. A
run's spans all end on the loop within milliseconds of each other, so this
processor keeps them in a list and hands the whole list to one worker
thread when the run's root span ends (or the list is long): one wake-up per
run. Batches waiting for a slow or unreachable collector are bounded; past
the bound new batches are dropped and counted, never held without end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

MAX_BATCH = 512
"""Spans held before a batch is sent even though no run ended."""
MAX_WAITING = 64
"""Batches waiting for the exporter before new ones are dropped."""


class RunBatchProcessor(SpanProcessor):
    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter
        self._pending: list[ReadableSpan] = []
        self._lock = threading.Lock()
        self._waiting: set[Future[None]] = set()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sage-otlp")
        self._closed = False
        self.dropped = 0
        """Spans dropped because the exporter fell behind."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self._closed:
            return
        with self._lock:
            self._pending.append(span)
            if span.parent is not None and len(self._pending) < MAX_BATCH:
                return
            batch, self._pending = self._pending, []
        self._send(batch)

    def _send(self, batch: Sequence[ReadableSpan]) -> None:
        if not batch:
            return
        with self._lock:
            self._waiting = {f for f in self._waiting if not f.done()}
            if len(self._waiting) >= MAX_WAITING:
                if not self.dropped:
                    log.warning("the span exporter is behind; dropping spans")
                self.dropped += len(batch)
                return
            future = self._worker.submit(self._export, batch)
            self._waiting.add(future)

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        try:
            self._exporter.export(batch)
        except Exception:
            log.warning("exporting %d spans failed", len(batch), exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            batch, self._pending = self._pending, []
        self._send(batch)
        with self._lock:
            waiting = set(self._waiting)
        _, not_done = wait(waiting, timeout=timeout_millis / 1000)
        return not not_done

    def shutdown(self) -> None:
        if self._closed:
            return
        self.force_flush()
        self._closed = True
        self._worker.shutdown(wait=True)
        self._exporter.shutdown()
