"""The bench's sampling profiler counts the functions that use the CPU."""

from __future__ import annotations

import time
from pathlib import Path

from bench.sampler import Sampler


def _burn_cpu(seconds: float) -> int:
    total = 0
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        total += sum(range(200))
    return total


def test_the_function_that_burns_the_cpu_tops_the_report(tmp_path: Path) -> None:
    sampler = Sampler(tmp_path / "server.txt", write_every_s=0.1)
    sampler.start()
    try:
        _burn_cpu(0.4)
        time.sleep(0.3)  # no CPU: no samples
    finally:
        sampler.stop()
    assert sampler.samples > 20
    burning = [k for k in sampler.total_counts if k[2] == "_burn_cpu"]
    assert burning and sampler.total_counts[burning[0]] > 0.8 * sampler.samples
    report = (tmp_path / "server.txt").read_text()
    assert "_burn_cpu" in report
    stacks = (tmp_path / "server.stacks").read_text()
    assert "_burn_cpu" in stacks
