"""The Markdown side of a run: machine facts and the results table.

``docs/benchmarks.md`` is part hand-written (method, profile findings) and
part generated: only the block between the two markers below is replaced,
so the analysis written next to the figures survives the next run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.procs import REPO

BEGIN = "<!-- bench:results -->"
END = "<!-- /bench:results -->"


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = 0.0
    with contextlib.suppress(ValueError, OSError):
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "commit": commit,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [
        f"Run: {data['started']} ({data['seconds']} s), commit `{m['commit']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"{m['os']}, Python {m['python']}  ",
        f"Command: `{data['command']}`",
        "",
        "| scenario | metric | Sage | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|:-:|",
    ]
    notes: list[str] = []
    for s in data["scenarios"]:
        first = True
        for metric in s["metrics"]:
            met = {True: "yes", False: "**no**", None: ""}[metric["met"]]
            ratio = f"{metric['ratio']:.2f}×" if metric["ratio"] is not None else ""
            unit = metric["unit"]
            lines.append(
                f"| {s['name'] if first else ''} | {metric['name']} ({unit}) "
                f"| {_fmt(metric['value'])} | {_fmt(metric['baseline'])} | {ratio} "
                f"| {metric['target']} | {met} |"
            )
            first = False
        failed = [name for name, ok in s["checks"].items() if not ok]
        if s.get("skipped"):
            lines.append(f"| {s['name']} | skipped: {s['skipped']} | | | | | |")
        elif failed or not s["metrics"]:
            lines.append(
                f"| {s['name']} | checks failed: {', '.join(failed) or 'no metrics'} "
                "| | | | | **no** |"
            )
        for note in s["notes"]:
            notes.append(f"- `{s['name']}`: {note}")
    lines.append("")
    lines.append("Scenarios and their parameters:")
    lines.append("")
    for s in data["scenarios"]:
        params = ", ".join(f"{k}={v}" for k, v in s["params"].items())
        checks = ", ".join(f"{k}: {'ok' if v else 'FAILED'}" for k, v in s["checks"].items())
        lines.append(
            f"- `{s['name']}` — {s['title']}; {params}. Checks: {checks}. ({s['seconds']} s)"
        )
    if notes:
        lines += ["", "Notes from the run:", "", *notes]
    return "\n".join(lines)


def write_docs(path: Path, data: dict[str, Any]) -> None:
    """Replace the generated block of ``path`` (or create the page around it)."""
    block = f"{BEGIN}\n{render(data)}\n{END}"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            path.write_text(head + block + tail, encoding="utf-8")
            return
    path.write_text(f"# Benchmarks\n\n{block}\n", encoding="utf-8")
