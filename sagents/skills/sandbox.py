"""Running one skill script confined, bounded and killable.

``Sandbox.run`` starts the script under bubblewrap (see ``confinement.py``)
in its own session, so the script and everything it forks share one process
group; wall time, output size and cancellation all end in ``os.killpg`` of
that group, and bubblewrap's PID namespace takes down anything that escaped
the group with ``setsid``. A failure of the script (non-zero exit, a limit)
is a ``ScriptResult`` with ``ok=False``, never an exception: the run goes on.

Where bubblewrap cannot run (checked once by really running it), scripts
are refused with ``SandboxUnavailable`` unless the operator opted into the
unsandboxed mode, which keeps the limits and the clean environment but not
the isolation, and says so in the log at every use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sagents.settings import Settings
from sagents.skills.confinement import (
    LAUNCHER,
    SANDBOX_WORKSPACE,
    SandboxLimits,
    bwrap_command,
    clean_env,
    host_python,
    launcher_args,
    sandbox_python,
    sandbox_uid,
)

log = logging.getLogger(__name__)

_READ_CHUNK = 65_536


class SandboxUnavailable(RuntimeError):
    """Scripts cannot run: no working bubblewrap and no opt-in to run without."""


@dataclass(frozen=True, slots=True)
class ScriptResult:
    ok: bool
    exit_code: int | None
    stdout: str
    stderr: str
    reason: str | None
    """Why ``ok`` is False, in words: the limit hit or the exit code."""
    duration_ms: float
    sandboxed: bool


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    available: bool
    detail: str


class Sandbox:
    """Runs scripts in workspaces; one per Runtime (it caches the probe)."""

    def __init__(
        self,
        limits: SandboxLimits,
        *,
        allow_unsandboxed: bool = False,
        bwrap: str | None = None,
    ) -> None:
        self.limits = limits
        self.allow_unsandboxed = allow_unsandboxed
        self.bwrap = bwrap if bwrap is not None else shutil.which("bwrap")
        self._status: SandboxStatus | None = None
        self._probe_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        return cls(
            SandboxLimits.from_settings(settings),
            allow_unsandboxed=settings.skills_allow_unsandboxed,
        )

    async def probe(self) -> SandboxStatus:
        """Whether bubblewrap really works here, found by running it once."""
        async with self._probe_lock:
            if self._status is None:
                self._status = await self._probe()
                if not self._status.available:
                    log.warning("skill sandbox unavailable: %s", self._status.detail)
            return self._status

    async def _probe(self) -> SandboxStatus:
        if not self.bwrap:
            return SandboxStatus(False, "bubblewrap (bwrap) is not installed")
        with tempfile.TemporaryDirectory(prefix="sage-probe-") as tmp:
            workspace = Path(tmp)
            uid = sandbox_uid(workspace)
            if uid is not None:
                os.chown(workspace, uid, uid)
            command = bwrap_command(
                self.bwrap, workspace, self.limits, uid, [sandbox_python(), "-I", "-S", "-c", ""]
            )
            try:
                proc = await asyncio.create_subprocess_exec(
                    *command,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env={"PATH": "/usr/bin:/bin"},
                    start_new_session=True,
                )
            except OSError as error:
                return SandboxStatus(False, f"bubblewrap failed to start: {error}")
            try:
                async with asyncio.timeout(20):
                    _, err = await proc.communicate()
            except TimeoutError:
                return SandboxStatus(False, "bubblewrap did not finish within 20 s")
            finally:
                # Also on cancellation (a Runtime closed during start-up): reap it,
                # so no process or pipe outlives the event loop.
                _kill_group(proc.pid)
                if proc.returncode is None:
                    await asyncio.shield(proc.wait())
        if proc.returncode != 0:
            text = err.decode(errors="replace").strip()[:300]
            return SandboxStatus(False, f"bubblewrap exited {proc.returncode}: {text}")
        return SandboxStatus(True, f"bubblewrap at {self.bwrap}")

    async def run(
        self, workspace: Path, program: list[str], *, stdin: bytes | None = None
    ) -> ScriptResult:
        """Run ``program`` (paths relative to the workspace root) in ``workspace``.

        ``program[0]`` is ``python`` (the sandbox's interpreter), ``sh``, or
        a path; the rest are arguments, passed as a list (never a shell).
        Raises ``SandboxUnavailable`` when scripts may not run at all.
        """
        status = await self.probe()
        limits = self.limits
        if stdin is not None and len(stdin) > limits.max_stdin_bytes:
            return _refused(f"stdin is larger than {limits.max_stdin_bytes} bytes")
        if status.available:
            assert self.bwrap is not None
            uid = sandbox_uid(workspace)
            if uid is not None:
                await asyncio.to_thread(_chown_tree, workspace, uid)
            argv = [_inside(program[0], sandboxed=True), *program[1:]]
            command = bwrap_command(self.bwrap, workspace, limits, uid, argv)
            cwd = None
        elif self.allow_unsandboxed:
            log.warning(
                "running a skill script WITHOUT a sandbox (skills_allow_unsandboxed is on; %s): %s",
                status.detail,
                " ".join(program),
            )
            argv = [_inside(program[0], sandboxed=False), *program[1:]]
            command = [host_python(), "-I", "-S", "-B", str(LAUNCHER)]
            command += launcher_args(limits, None) + argv
            cwd = workspace
        else:
            raise SandboxUnavailable(
                f"skill scripts are disabled: the sandbox cannot run ({status.detail}). "
                "Install bubblewrap, or set SAGE_SKILLS_ALLOW_UNSANDBOXED=true to run "
                "scripts without isolation (unsafe)."
            )
        env = clean_env(SANDBOX_WORKSPACE if status.available else str(workspace))
        return await self._execute(command, cwd, env, stdin, sandboxed=status.available)

    async def _execute(
        self,
        command: list[str],
        cwd: Path | None,
        env: dict[str, str],
        stdin: bytes | None,
        *,
        sandboxed: bool,
    ) -> ScriptResult:
        limits = self.limits
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        out, err = bytearray(), bytearray()
        overflow = asyncio.Event()
        timed_out = False
        try:
            try:
                async with asyncio.timeout(limits.wall_s):
                    await asyncio.gather(
                        _feed(proc, stdin),
                        _pump(proc.stdout, out, limits.max_output_bytes, overflow, proc.pid),
                        _pump(proc.stderr, err, limits.max_output_bytes, overflow, proc.pid),
                    )
                    await proc.wait()
            except TimeoutError:
                timed_out = True
        finally:
            # Runs on success, on a limit and on cancellation alike: nothing of
            # the script may outlive this call.
            _kill_group(proc.pid)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.shield(proc.wait())
        code = proc.returncode
        reason = _reason(code, timed_out, overflow.is_set(), limits)
        return ScriptResult(
            ok=reason is None,
            exit_code=code,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace"),
            reason=reason,
            duration_ms=(time.perf_counter() - started) * 1000,
            sandboxed=sandboxed,
        )


def _inside(program: str, *, sandboxed: bool) -> str:
    if program == "python":
        return sandbox_python() if sandboxed else host_python()
    if program == "sh":
        return "/bin/sh"
    return program


async def _feed(proc: asyncio.subprocess.Process, data: bytes | None) -> None:
    if data is None or proc.stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()


async def _pump(
    stream: asyncio.StreamReader | None,
    buffer: bytearray,
    cap: int,
    overflow: asyncio.Event,
    pgid: int,
) -> None:
    if stream is None:
        return
    while chunk := await stream.read(_READ_CHUNK):
        room = cap - len(buffer)
        if len(chunk) > room:
            buffer.extend(chunk[:room])
            overflow.set()
            _kill_group(pgid)
            # Read on (and drop) to the end of the pipe, which comes as soon
            # as the killed group's last writer is gone: a pipe left with
            # unread data keeps asyncio's subprocess transport from closing,
            # and it would be torn down later by the garbage collector,
            # possibly after its event loop has closed.
            while await stream.read(_READ_CHUNK):
                pass
            return
        buffer.extend(chunk)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _chown_tree(root: Path, uid: int) -> None:
    """Hand the workspace to the sandbox's uid (only when Sage runs as root)."""
    os.chown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def _reason(code: int | None, timed_out: bool, overflow: bool, limits: SandboxLimits) -> str | None:
    if timed_out:
        return f"stopped: wall time limit of {limits.wall_s:g} s reached"
    if overflow:
        return f"stopped: output limit of {limits.max_output_bytes} bytes reached"
    if code == 0:
        return None
    signals = {signal.SIGXCPU: "CPU time limit", signal.SIGKILL: "killed (a resource limit)"}
    if code is not None:
        number = -code if code < 0 else code - 128 if code > 128 else 0
        if number in signals:
            return f"stopped: {signals[signal.Signals(number)]}"
        if number == signal.SIGXFSZ:
            return "stopped: file size limit"
    return f"the script exited with code {code}"


def _refused(message: str) -> ScriptResult:
    return ScriptResult(False, None, "", "", message, 0.0, sandboxed=False)
