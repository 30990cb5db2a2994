"""Skill script calls: what the sandbox costs per call.

Measured: a trivial script (``print``) run through ``Sandbox.run`` with an
empty workspace, then with a 10 MB workspace (ten 1 MB files, streamed into
the sandbox's tmpfs and back, digested and merged). The baseline is the
same script started directly with the same interpreter (``python -I -S``):
no bubblewrap, no cgroup, no launcher, no workspace. Checks: every call
printed what it should and the workspace was kept.

Run alone with ``python -m bench.scenarios.sandbox [--quick]``.
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
from bench.scenario import BenchError, Scenario
from sagents.skills.confinement import SandboxLimits, host_python
from sagents.skills.sandbox import Sandbox

TITLE = "Skill script call in the sandbox (bubblewrap, cgroup, workspace streams)"
SCRIPT = "print('hi')\n"


async def direct(script: Path) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        host_python(), "-I", "-S", str(script), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if out != b"hi\n":
        raise BenchError(f"direct run printed {out!r}")
    return time.perf_counter() - started


async def sandboxed(sandbox: Sandbox, workspace: Path, skill: Path) -> tuple[float, bool]:
    started = time.perf_counter()
    result = await sandbox.run(workspace, skill, "bench", ["python", "scripts/hi.py"])
    elapsed = time.perf_counter() - started
    return elapsed, result.ok and result.stdout == "hi\n" and result.workspace_saved


async def run(env: BenchEnv) -> ScenarioResult:
    repeats = env.size(20, 3)
    root = env.data_dir("sandbox")
    skill = root / "skills" / "bench"
    (skill / "scripts").mkdir(parents=True)
    (skill / "scripts" / "hi.py").write_text(SCRIPT)
    sandbox = Sandbox(SandboxLimits())
    status = await sandbox.probe()
    if not status.available:
        raise BenchError(f"the sandbox cannot run here: {status.detail}")
    result = ScenarioResult(
        name="sandbox", title=TITLE, params={"repeats": repeats, "sandbox": status.detail}
    )
    empty = root / "workspaces" / "ses_empty"
    full = root / "workspaces" / "ses_10mb"
    full.mkdir(parents=True)
    for index in range(10):
        (full / f"data-{index}.bin").write_bytes(bytes([index]) * (1024 * 1024))
    await sandboxed(sandbox, empty, skill)  # warm the page cache
    for label, workspace in (("empty workspace", empty), ("10 MB workspace", full)):
        timings, baseline, correct = [], [], True
        for _ in range(repeats):
            elapsed, ok = await sandboxed(sandbox, workspace, skill)
            timings.append(elapsed)
            correct &= ok
            baseline.append(await direct(skill / "scripts" / "hi.py"))
        result.add(
            Metric(f"{label}: call", ms(median(timings)), "ms", baseline=ms(median(baseline)))
        )
        result.add(Metric(f"{label}: slowest call", ms(max(timings)), "ms"))
        result.checks[f"{label}: output right and workspace kept"] = correct
    kept = sorted(p.name for p in full.iterdir())
    result.checks["10 MB workspace intact"] = kept == [f"data-{i}.bin" for i in range(10)]
    result.notes.append("baseline: the same script run directly, `python -I -S hi.py`")
    return result


SCENARIO = Scenario(name="sandbox", title=TITLE, run=run)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        env = BenchEnv(mock_url="", workdir=Path(tmp), quick="--quick" in sys.argv)
        print(json.dumps(asyncio.run(run(env)).to_json(), indent=1))
