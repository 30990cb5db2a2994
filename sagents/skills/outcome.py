"""A script call's result, and the words that say which limit stopped it.

The reason is decided from what the server itself observed first (its own
stop requests, the cgroup's OOM and pid counters) and only then from the
exit status the launcher reports, so a script cannot talk its way out of a
limit it hit.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from sagents.skills import wsstream
from sagents.skills.cgroups import CgroupStats
from sagents.skills.confinement import MIB, SandboxLimits
from sagents.skills.supervise import ProcessOutcome
from sagents.skills.workspace_store import SaveOutcome


@dataclass(frozen=True, slots=True)
class ScriptResult:
    ok: bool
    exit_code: int | None
    """The script's exit code; negative: the signal that ended it."""
    stdout: str
    stderr: str
    reason: str | None
    """Why ``ok`` is False, in words: the limit hit or the exit code."""
    duration_ms: float
    sandboxed: bool
    limit: str | None = None
    """The limit that stopped it: wall, cpu, memory, processes, output, workspace, file_size."""
    workspace_saved: bool = False
    """Whether the call's file changes were kept in the session's workspace."""
    notes: tuple[str, ...] = ()
    stats: CgroupStats | None = None
    files: tuple[tuple[str, int], ...] = ()
    """(path, size) of the files the call created or changed in the workspace (when saved)."""


def refused(message: str) -> ScriptResult:
    return ScriptResult(False, None, "", "", message, 0.0, sandboxed=False)


def compose(
    outcome: ProcessOutcome,
    stats: CgroupStats | None,
    save: SaveOutcome | None,
    limits: SandboxLimits,
    *,
    sandboxed: bool,
) -> ScriptResult:
    status = save.status if save is not None else {}
    raw_exit = status.get("exit")
    code = raw_exit if isinstance(raw_exit, int) else _from_returncode(outcome.returncode)
    limit, reason = _limit(outcome, stats, save, code, limits)
    notes = []
    if save is not None and save.skipped:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(save.skipped.items()))
        notes.append(
            "not kept in the workspace (only regular files and folders, at most "
            f"{wsstream.MAX_DEPTH} levels deep, are): {kinds}"
        )
    saved = save is not None and save.saved
    if not saved:
        why = save.reason if save is not None else "the call was stopped before it could save"
        if reason is None:
            reason = f"the script's file changes were not saved: {why}"
        elif not (save is not None and save.full):
            notes.append(f"its file changes were not saved: {why}")
    return ScriptResult(
        ok=reason is None,
        exit_code=code,
        stdout=outcome.stdout.decode(errors="replace"),
        stderr=outcome.stderr.decode(errors="replace"),
        reason=reason,
        duration_ms=outcome.duration_ms,
        sandboxed=sandboxed,
        limit=limit,
        workspace_saved=saved,
        notes=tuple(notes),
        stats=stats,
        files=save.written if save is not None and saved else (),
    )


def _from_returncode(returncode: int | None) -> int | None:
    """bubblewrap reports a signal as 128 + its number; the launcher does the same."""
    if returncode is not None and returncode > 128:
        return -(returncode - 128)
    return returncode


def _limit(
    outcome: ProcessOutcome,
    stats: CgroupStats | None,
    save: SaveOutcome | None,
    code: int | None,
    limits: SandboxLimits,
) -> tuple[str | None, str | None]:
    if outcome.stopped == "wall" or (outcome.killed and outcome.stopped is None):
        return "wall", f"stopped: wall time limit of {limits.wall_s:g} s reached"
    if outcome.stopped == "cpu":
        return "cpu", f"stopped: CPU time limit of {limits.cpu_s} s for the whole run reached"
    if outcome.stopped == "output":
        return "output", f"stopped: output limit of {limits.max_output_bytes} bytes reached"
    if outcome.stopped == "memory" or (stats is not None and stats.oom_kills):
        killed = stats.oom_kills if stats is not None else 1
        return "memory", (
            f"stopped: memory limit of {limits.memory_bytes // MIB} MB for the whole run "
            f"reached ({killed} process(es) killed by the kernel)"
        )
    if save is not None and save.full:
        return "workspace", (
            f"stopped: workspace limit of {limits.workspace_bytes // MIB} MB reached; "
            "none of this call's file changes were kept"
        )
    if save is not None and save.empty:
        return None, f"the sandbox failed before running the script (exit {outcome.returncode})"
    if save is not None and "exit" not in save.status and save.status.get("error"):
        return None, str(save.status["error"])  # the launcher could not prepare the workspace
    if code == 0 or code is None:
        return None, None
    number = -code if code < 0 else 0
    if number == signal.SIGXCPU:
        return "cpu", "stopped: CPU time limit (per process)"
    if number == signal.SIGXFSZ:
        return "file_size", f"stopped: file size limit of {limits.file_size_bytes // MIB} MB"
    pids = stats is not None and stats.pids_limit_hits > 0
    if number == signal.SIGKILL:
        return ("processes" if pids else None), "stopped: killed (a resource limit)"
    reason = (
        f"the script exited with code {code}" if code > 0 else f"the script died of signal {number}"
    )
    if pids:
        return "processes", f"{reason} (the process limit of {limits.max_procs} was reached)"
    return None, reason
