"""Runs first inside the sandbox: unpack, run the script, stop everything, pack.

Executed as a file by the sandbox's own Python (``python -I -S -B
launcher.pyc KEY=VALUE... -- PROGRAM ARGS...``, compiled by the server, with
``wsstream.pyc`` and ``fdtree.pyc`` beside it), never imported by Sage, so it may only use the
standard library, and imports as little as it can: its start-up is part of
every call. The settings are listed in ``confinement.launcher_config``.

1. Unpack the skill into ``skills/<name>`` as the launcher's own user (root
   when Sage runs as root), so the script can read but not change it.
2. Unpack the workspace seed as the script's user, into the size-capped
   workspace.
3. Fork the script: its own session, the per-process limits (``RLIMIT_*``),
   ``oom_score_adj`` 1000 (the kernel's OOM killer takes a script process
   before the launcher), then drop to the run's uid and exec.
4. Wait for the script to end, or for the server to say ``stop`` on the
   control pipe (a limit; end of file means the server is gone: stop without
   saving).
5. Kill every remaining process: in the sandbox's PID namespace
   ``kill(-1)`` reaches exactly the script's processes; outside one
   (unsandboxed mode) the script's process group.
6. Pack the workspace (not ``.tmp``) as the script's user into the result
   file, then a status record. The server treats all of it as hostile.

The launcher is not dumpable, so a script running as the same user (Sage
not root) cannot read its memory or descriptors; it can only kill it, and
then nothing is saved.
"""

from __future__ import annotations

import os
import resource
import select
import struct
import sys
import time

TYPE_CHECKING = False  # not ``typing``'s: importing typing costs the start-up ~10 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from sagents.skills import wsstream

    Config = dict[str, Any]
else:  # inside the sandbox: the file beside this one
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wsstream
TEXT_KEYS = frozenset({"workspace", "skills_dir", "skill_name"})
FLAG_KEYS = frozenset({"pid_namespace"})
PR_SET_DUMPABLE = 4
_IDENTITY = struct.Struct(">QqH")  # inode, ctime_ns, path length
SIGKILL = 9  # Linux's number; the ``signal`` module would import ``enum`` at start-up


def parse(argv: list[str]) -> tuple[Config, list[str]]:
    """``KEY=VALUE... -- PROGRAM...``: numbers, ``-`` for none, flags 0/1."""
    split = argv.index("--")
    config: Config = {}
    for item in argv[1:split]:
        key, _, value = item.partition("=")
        if key in TEXT_KEYS:
            config[key] = value
        elif key in FLAG_KEYS:
            config[key] = value == "1"
        else:
            config[key] = None if value == "-" else int(value)
    return config, argv[split + 1 :]


def main(argv: list[str]) -> int:
    try:
        config, program = parse(argv)
    except ValueError:
        sys.stderr.write("launcher: bad arguments\n")
        return 2
    _not_dumpable()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    status: dict[str, object] = {"saved": False}
    result = os.fdopen(config["result_fd"], "wb", buffering=0)
    try:
        unpacked = _prepare(config)
    except (OSError, wsstream.StreamError) as error:
        status["error"] = f"the workspace could not be prepared: {error}"
        _finish(result, status)
        return 125
    pid = _start(config, program)
    stopped = _wait(pid, config["control_fd"])
    if stopped == "gone":
        _kill_all(config, pid)
        return 124
    status["stopped"] = stopped == "stop"
    code = _kill_all(config, pid)
    status["exit"] = code
    _save(config, result, status, unpacked)
    _finish(result, status)
    return code if code >= 0 else 128 - code


def _not_dumpable() -> None:
    """Only needed when the script runs as the launcher's own user (Sage not
    root); as root the uid already keeps the script out (and ctypes costs a
    noticeable part of the start-up)."""
    if os.getuid() == 0:
        return
    import ctypes

    try:  # noqa: SIM105 - contextlib costs start-up time
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # then the launcher is only as protected as the script's uid allows


def _prepare(config: Config) -> wsstream.Identities:
    """Unpack the skill, then the workspace; the workspace files' identities."""
    skills = config["skills_dir"]
    skill = os.path.join(skills, config["skill_name"])
    os.mkdir(skill, 0o755)
    limits = wsstream.Limits(config["skill_bytes"], config["skill_entries"])
    _unpack(config["skill_fd"], skill, limits, None)
    workspace = config["workspace"]

    def seed() -> bytes:
        unpacked: wsstream.Identities = {}
        limits = wsstream.Limits(config["max_bytes"], config["max_entries"])
        _unpack(config["seed_fd"], workspace, limits, unpacked)
        os.mkdir(os.path.join(workspace, ".tmp"), 0o700)
        return b"".join(
            _IDENTITY.pack(ino, ctime, len(raw)) + raw
            for path, (ino, ctime) in unpacked.items()
            for raw in (os.fsencode(path),)
        )

    packed = _as_user(config["uid"], seed)
    os.close(config["seed_fd"])  # the child read it; the script must not inherit it
    identities: wsstream.Identities = {}
    offset = 0
    while offset < len(packed):
        ino, ctime, length = _IDENTITY.unpack_from(packed, offset)
        offset += _IDENTITY.size
        identities[os.fsdecode(packed[offset : offset + length])] = (ino, ctime)
        offset += length
    return identities


def _unpack(
    fd: int, folder: str, limits: wsstream.Limits, unpacked: wsstream.Identities | None
) -> None:
    root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with os.fdopen(fd, "rb") as stream:
            wsstream.read_stream(stream, root, limits, unpacked)
    finally:
        os.close(root)


def _as_user(uid: int | None, work: Callable[[], bytes]) -> bytes:
    """Run ``work`` in a child switched to ``uid``; its bytes, or its error as OSError."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            _drop(uid)
            reply = b"\0" + work()
            code = 0
        except BaseException as error:
            reply = b"\1" + f"{type(error).__name__}: {error}".encode()[:2000]
            code = 1
        view = memoryview(reply)
        while view:
            view = view[os.write(writer, view) :]
        os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        reply = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    if wait_status != 0 or not reply.startswith(b"\0"):
        message = reply[1:].decode(errors="replace")
        raise OSError(message or f"helper ended with status {wait_status}")
    return reply[1:]


def _drop(uid: int | None) -> None:
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _start(config: Config, program: list[str]) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        os.setsid()
        os.chdir(config["workspace"])
        _set_oom_first()
        _close_inherited()
        limits = (
            (resource.RLIMIT_CPU, config["cpu_s"]),
            (resource.RLIMIT_AS, config["memory_bytes"]),
            (resource.RLIMIT_FSIZE, config["file_size_bytes"]),
            (resource.RLIMIT_NPROC, config["max_procs"]),
            (resource.RLIMIT_NOFILE, 256),
        )
        for which, value in limits:
            # CPU: SIGXCPU at the soft limit (reported as such), SIGKILL a second later.
            hard = value + 1 if which == resource.RLIMIT_CPU else value
            resource.setrlimit(which, (value, hard))
        _drop(config["uid"])
        os.execv(program[0], program)
    except BaseException as error:
        os.write(2, f"cannot start {program[0]}: {error}\n".encode())
    os._exit(127)


def _close_inherited() -> None:
    """Close every descriptor but 0-2 (the result file and the control pipe above all)."""
    try:
        numbers = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        numbers = list(range(3, 1024))
    for number in numbers:
        if number > 2:
            try:  # noqa: SIM105
                os.close(number)
            except OSError:
                pass


def _set_oom_first() -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass


def _wait(pid: int, control: int) -> str:
    """'exit' when the script ended, 'stop' when the server asked, 'gone' on its EOF."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    while True:
        watched = [control] if pidfd is None else [control, pidfd]
        ready, _, _ = select.select(watched, [], [], 0.05 if pidfd is None else None)
        if control in ready:
            return "stop" if os.read(control, 16) else "gone"
        if pidfd is not None and pidfd in ready:
            os.close(pidfd)
            return "exit"
        if pidfd is None and os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            return "exit"


def _kill_all(config: Config, pid: int) -> int:
    """SIGKILL every process of the script; its exit code (negative: the signal)."""
    code: int | None = None
    for _ in range(2000):
        try:
            if config["pid_namespace"]:
                os.kill(-1, SIGKILL)
            else:
                os.killpg(pid, SIGKILL)
        except ProcessLookupError:
            if code is not None:
                break
        except PermissionError:
            break
        if code is None:
            code = _reap(pid)
        time.sleep(0.002)
    return code if code is not None else -SIGKILL


def _reap(pid: int) -> int | None:
    try:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -SIGKILL
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(wait_status)


def _save(
    config: Config, result: BinaryIO, status: dict[str, object], unpacked: wsstream.Identities
) -> None:
    statvfs = os.statvfs(config["workspace"])
    if statvfs.f_bavail * statvfs.f_frsize < wsstream.PAGE:
        status["full"] = True  # none of the call's changes are kept: nothing to pack
        return

    def pack() -> bytes:
        limits = wsstream.Limits(config["max_bytes"], config["max_entries"])
        cap = config["max_bytes"] + 1024 * (config["max_entries"] + 64) + wsstream.MAX_PATH_BYTES
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
        root = os.open(config["workspace"], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        with os.fdopen(os.dup(config["result_fd"]), "wb", buffering=1 << 16) as out:
            writer = wsstream.Writer(out, limits)
            listing = writer.add_tree(root, frozenset({".tmp"}), unpacked)
            writer.status({"skipped": listing.skipped})
            out.flush()
        return b""

    start = os.lseek(config["result_fd"], 0, os.SEEK_CUR)
    try:
        _as_user(config["uid"], pack)
        status["saved"] = True
    except OSError as error:
        os.ftruncate(config["result_fd"], start)
        os.lseek(config["result_fd"], start, os.SEEK_SET)
        status["error"] = f"the workspace was not saved: {error}"


def _finish(result: BinaryIO, status: dict[str, object]) -> None:
    """The launcher's own status; a stream without one is refused by the server."""
    if not status.get("saved"):
        result.write(wsstream.MAGIC)
    wsstream.write_status(result, status)
    wsstream.write_end(result)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
