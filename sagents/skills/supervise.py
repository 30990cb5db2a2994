"""Running the sandbox's process tree: start it in its cgroup, feed it, read it, stop it.

The process is started in its own session (``start_new_session``) and,
when cgroups are available, inside the run's cgroup *before* it can fork:
it is started as ``sh -c 'echo $$ > …/cgroup.procs; exec bwrap …'``, so
every later process inherits the cgroup. (``preexec_fn`` would do the same
in the forked child, but it is unsafe in a process with threads, which the
server is; ``sh`` costs about a millisecond.)

Limits the kernel does not enforce are watched here, every 0.1 s: the wall
time, the CPU time of the whole tree (from the cgroup's accounting), the
output size, and the first process the kernel killed for the cgroup's
memory limit (the run stops as a whole). Hitting one *asks* the launcher
to stop (a byte on the control pipe): it kills the script's processes and
saves the workspace. If it has not finished ``limits.grace_s`` later, or
the call is cancelled, everything is killed at once (the process group
and the groups its children lead, which unsandboxed is the script's own
session; then every process of the cgroup; bubblewrap's PID namespace
takes the rest) and nothing is saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sagents.skills.cgroups import RunCgroup
from sagents.skills.confinement import SandboxLimits

Stop = Literal["wall", "cpu", "memory", "output"]
_READ_CHUNK = 65_536
_TICK_S = 0.1
ATTACH = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
"""``sh`` script: write its own pid into each ``cgroup.procs`` given, then exec the rest."""


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    returncode: int | None
    stdout: bytes
    stderr: bytes
    stopped: Stop | None
    """The limit the server stopped the run for, if any."""
    killed: bool
    """Killed outright (the launcher did not stop in time): nothing was saved."""
    duration_ms: float


def attached(command: list[str], cgroup: RunCgroup | None) -> list[str]:
    if cgroup is None:
        return command
    procs = [str(path) for path in cgroup.procs_files()]
    return ["/bin/sh", "-c", ATTACH, "sh", *procs, "--", *command]


class _Run:
    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        control: int,
        cgroup: RunCgroup | None,
        limits: SandboxLimits,
    ) -> None:
        self.proc = proc
        self.control = control
        self.cgroup = cgroup
        self.limits = limits
        self.started = time.monotonic()
        self.deadline = self.started + limits.deadline_s
        self.stopped: Stop | None = None
        self.killed = False

    def stop(self, reason: Stop) -> None:
        """Ask the launcher to stop and save; kill outright after the grace time."""
        if self.stopped is not None:
            return
        self.stopped = reason
        with contextlib.suppress(OSError):
            os.write(self.control, b"s")
        self.deadline = min(self.deadline, time.monotonic() + self.limits.grace_s)

    async def kill(self) -> None:
        """Kill every process of the run now (process groups, then the cgroup)."""
        self.killed = True
        _kill_tree(self.proc.pid)
        if self.cgroup is not None:
            await asyncio.to_thread(self.cgroup.kill)

    async def watch(self) -> None:
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                await self.kill()
                return
            if self.stopped is None:
                if now - self.started >= self.limits.wall_s:
                    self.stop("wall")
                elif self.cgroup is not None:
                    used = self.cgroup.cpu_usage_s()
                    if used is not None and used >= self.limits.cpu_s:
                        self.stop("cpu")
                    elif self.cgroup.oom_kills():
                        self.stop("memory")
            await asyncio.sleep(_TICK_S)

    async def pump(self, stream: asyncio.StreamReader | None, buffer: bytearray) -> None:
        if stream is None:
            return
        cap = self.limits.max_output_bytes
        while chunk := await stream.read(_READ_CHUNK):
            room = cap - len(buffer)
            if len(chunk) > room:
                buffer.extend(chunk[:room])
                self.stop("output")
                # Read on (and drop) to the end of the pipe, which comes when the
                # last writer is gone: a pipe left with unread data keeps asyncio's
                # transport open until the garbage collector, maybe after the loop.
                while await stream.read(_READ_CHUNK):
                    pass
                return
            buffer.extend(chunk)


async def supervise(
    command: list[str],
    *,
    cwd: Path | None,
    env: dict[str, str],
    stdin: bytes | None,
    pass_fds: Sequence[int],
    control: int,
    cgroup: RunCgroup | None,
    limits: SandboxLimits,
) -> ProcessOutcome:
    """Run ``command`` to its end under the limits (see the module doc).

    ``control`` is the server's end of the launcher's control pipe.
    Cancellation kills everything before it propagates.
    """
    proc = await asyncio.create_subprocess_exec(
        *attached(command, cgroup),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
    )
    run = _Run(proc, control, cgroup, limits)
    out, err = bytearray(), bytearray()
    watcher = asyncio.create_task(run.watch())
    try:
        await asyncio.gather(
            _feed(proc, stdin), run.pump(proc.stdout, out), run.pump(proc.stderr, err)
        )
        await proc.wait()
    finally:
        # Runs on success, on a limit and on cancellation alike: nothing of the
        # script may outlive this call.
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if proc.returncode is None:
            await asyncio.shield(run.kill())
        _kill_group(proc.pid)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
    return ProcessOutcome(
        proc.returncode,
        bytes(out),
        bytes(err),
        run.stopped,
        run.killed,
        (time.monotonic() - run.started) * 1000,
    )


async def _feed(proc: asyncio.subprocess.Process, data: bytes | None) -> None:
    if data is None or proc.stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill_tree(pid: int) -> None:
    """SIGKILL the process group of ``pid`` and those its children lead.

    Unsandboxed, the launcher starts the script in a session of its own, so
    that it can kill the script's group without killing itself; killing only
    the launcher's group would leave the script (and what it started) running
    when no cgroup is there to take it. In the sandbox the child is the PID
    namespace's first process, whose end takes the rest. ``pid`` is stopped
    first, so the children read here cannot be reaped (and their ids reused)
    before they are killed.
    """
    _kill_group(pid, signal.SIGSTOP)
    for child in _children(pid):
        _kill_group(child)
    _kill_group(pid)


def _children(pid: int) -> list[int]:
    """The children of ``pid`` (``/proc/<pid>/task/*/children``; a scan of
    ``/proc`` on kernels built without that file)."""
    found: list[int] = []
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with open(f"{task.path}/children") as handle:
                found += [int(word) for word in handle.read().split()]
        return found
    except FileNotFoundError:
        pass
    except OSError:
        return found
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"{entry.path}/stat") as handle:
                    ppid = handle.read().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if ppid == str(pid):
                found.append(int(entry.name))
    return found
