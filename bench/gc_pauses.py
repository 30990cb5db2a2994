"""How long a bench child's garbage collections stop its event loop.

``BENCH_GC=<dir>`` in the environment of ``bench.server`` or ``bench.relay``
records every collection through ``gc.callbacks`` (wall time from its start
to its stop, per generation) and rewrites ``<dir>/<name>-gc.txt`` every
``write_every_s`` with each generation's count, total, p99 and longest
pause. This is how the 0.4-0.7 s full collections of the 1,000-stream
bench were found (``app.serving_gc``): a CPU profile shows collections as
time spent wherever they interrupted, not as one pause every stream waits
out.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path
from typing import Any


class GcPauses:
    def __init__(self, path: Path, write_every_s: float = 5.0) -> None:
        self.path = path
        self.write_every_s = write_every_s
        self.pauses: list[tuple[int, float]] = []
        """(generation, seconds) of every collection so far."""
        self._started = 0.0
        self._stopped = threading.Event()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), time.perf_counter() - self._started))

    def report(self) -> str:
        lines = []
        for generation in (0, 1, 2):
            took = sorted(s for g, s in list(self.pauses) if g == generation)
            if took:
                lines.append(
                    f"gen{generation}: {len(took)} collections, total {sum(took) * 1e3:.0f} ms, "
                    f"p99 {took[int(len(took) * 0.99)] * 1e3:.1f} ms, "
                    f"longest {took[-1] * 1e3:.1f} ms"
                )
        return "\n".join(lines or ["no collections"]) + "\n"

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        threading.Thread(target=self._write_until_stopped, daemon=True).start()

    def stop(self) -> None:
        """Stop recording and write the report a last time."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        self._stopped.set()
        self.path.write_text(self.report())

    def _write_until_stopped(self) -> None:
        while not self._stopped.wait(self.write_every_s):
            self.path.write_text(self.report())


def record_from_env(name: str) -> GcPauses | None:
    """Start recording into ``$BENCH_GC/<name>-gc.txt`` if that is set."""
    folder = os.environ.get("BENCH_GC")
    if not folder:
        return None
    pauses = GcPauses(Path(folder) / f"{name}-gc.txt")
    pauses.start()
    return pauses
