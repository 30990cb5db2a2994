"""The bench's collector log records each collection's pause by generation."""

from __future__ import annotations

import gc
from pathlib import Path

from bench.gc_pauses import GcPauses


def test_a_full_collection_is_recorded_with_its_pause(tmp_path: Path) -> None:
    pauses = GcPauses(tmp_path / "server-gc.txt", write_every_s=0.05)
    pauses.start()
    try:
        cycles = []
        for _ in range(50_000):
            node: list[object] = []
            node.append(node)
            cycles.append(node)
        del cycles, node
        gc.collect(2)
    finally:
        pauses.stop()
    full = [seconds for generation, seconds in pauses.pauses if generation == 2]
    assert full and full[-1] > 0
    report = (tmp_path / "server-gc.txt").read_text()
    assert report.startswith("gen") and "gen2: " in report and "longest" in report
    count = len(pauses.pauses)
    gc.collect()
    assert len(pauses.pauses) == count  # stopped: no longer recording
