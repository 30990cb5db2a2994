"""Runs the registered scenarios against one mock LLM and records the results."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.env import BenchEnv
from bench.procs import Child
from bench.report import machine_info, write_docs
from bench.result import ScenarioResult
from bench.scenarios import SCENARIOS

log = logging.getLogger("bench")


def raise_fd_limit() -> None:
    """1,000 concurrent streams need ~3,000 descriptors across the processes;
    children inherit the raised soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 16384 if hard == resource.RLIM_INFINITY else min(hard, 16384)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def select(names: list[str] | None) -> list[Any]:
    if not names:
        return list(SCENARIOS)
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]


async def run_bench(
    *,
    names: list[str] | None = None,
    quick: bool = False,
    out_dir: Path,
    docs: Path | None,
    command: str,
) -> dict[str, Any]:
    """Run the scenarios; write ``<out_dir>/<stamp>.json`` and ``latest.json``,
    and the Markdown table into ``docs`` when given. Returns the JSON data.

    A scenario that raises is recorded as failed and the rest still run."""
    scenarios = select(names)
    raise_fd_limit()
    started = time.time()
    results: list[ScenarioResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="sage-bench-") as tmp,
        Child("bench.mock", "BASE_URL") as mock,
    ):
        mock_url = await mock.start("/healthz")
        env = BenchEnv(mock_url=mock_url, workdir=Path(tmp), quick=quick, mock_pid=mock.pid)
        for scenario in scenarios:
            log.info("running %s", scenario.name)
            t0 = time.perf_counter()
            try:
                result = await scenario.run(env)
            except Exception as exc:
                result = ScenarioResult(scenario.name, scenario.title, {})
                result.checks["completed without error"] = False
                result.notes.append(f"{type(exc).__name__}: {exc}")
                log.error("%s failed:\n%s", scenario.name, traceback.format_exc())
            result.seconds = time.perf_counter() - t0
            results.append(result)
            log.info("%s done in %.1f s", scenario.name, result.seconds)
    data = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "command": command,
        "quick": quick,
        "machine": machine_info(),
        "scenarios": [r.to_json() for r in results],
    }
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started))
    name = f"{stamp}{'-quick' if quick else ''}.json"
    await asyncio.to_thread(_save, data, out_dir, name, docs)
    return data


def _save(data: dict[str, Any], out_dir: Path, name: str, docs: Path | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    (out_dir / name).write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    if docs is not None:
        write_docs(docs, data)
